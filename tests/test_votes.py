"""Upvotes: one per user and paper, toggled, correct under concurrent clicks, shown on every listing."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable

import pytest
import sqlalchemy as sa

from community_helpers import Visitor, cheap_password_hashing, make_user
from helpers import add_papers, paper
from paperfeed.core import PaperFeed
from paperfeed.errors import NotFound, PermissionDenied
from paperfeed.models import Paper
from paperfeed.store.papers import utcnow
from paperfeed.store.schema import votes


@pytest.fixture(autouse=True)
def _fast_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    cheap_password_hashing(monkeypatch)


@pytest.fixture
def papers(core: PaperFeed) -> list[Paper]:
    add_papers(
        core,
        paper("Sparse Attention at Scale", arxiv_id="2401.00001"),
        paper("Diffusion for Proteins", arxiv_id="2401.00002"),
        paper("Retrieval with Late Interaction", arxiv_id="2401.00003"),
    )
    return [core.paper(ref) for ref in ("2401.00001", "2401.00002", "2401.00003")]


def run_together(actions: list[Callable[[], object]]) -> list[object]:
    """Run the actions on threads released at the same moment; their results in order."""
    barrier = threading.Barrier(len(actions))
    results: list[object] = [None] * len(actions)
    errors: list[BaseException] = []

    def run(index: int) -> None:
        barrier.wait()
        try:
            results[index] = actions[index]()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(actions))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    return results


def count_votes(core: PaperFeed, paper_id: int) -> int:
    with core.store.engine.connect() as conn:
        return conn.execute(
            sa.select(sa.func.count()).select_from(votes).where(votes.c.paper_id == paper_id)
        ).scalar()


def test_a_second_click_takes_the_upvote_back(core: PaperFeed, papers: list[Paper]) -> None:
    alice = make_user(core, "alice")
    first = core.toggle_vote(alice, "2401.00001")
    assert (first.votes, first.voted) == (1, True)
    second = core.toggle_vote(alice, "2401.00001")
    assert (second.votes, second.voted) == (0, False)


def test_the_store_refuses_a_second_vote_of_the_same_user(core: PaperFeed, papers: list[Paper]) -> None:
    alice = make_user(core, "alice")
    core.toggle_vote(alice, "2401.00001")
    with pytest.raises(sa.exc.IntegrityError), core.store.engine.begin() as conn:
        conn.execute(sa.insert(votes).values(user_id=alice.id, paper_id=papers[0].id, created_at=utcnow()))


def test_many_concurrent_voters_lose_no_vote(core: PaperFeed, papers: list[Paper]) -> None:
    voters = [make_user(core, f"voter{number}") for number in range(16)]
    states = run_together([lambda user=user: core.toggle_vote(user, "2401.00002") for user in voters])
    assert all(state.voted and 1 <= state.votes <= 16 for state in states)
    assert core.vote_states([papers[1].id], None)[papers[1].id].votes == 16 == count_votes(core, papers[1].id)


def test_concurrent_clicks_of_one_user_alternate_like_clicks_in_a_row(
    core: PaperFeed, papers: list[Paper]
) -> None:
    alice = make_user(core, "alice")
    states = run_together([lambda: core.toggle_vote(alice, "2401.00003") for _ in range(10)])
    assert sum(state.voted for state in states) == 5  # every click sees the one before it
    assert count_votes(core, papers[2].id) == 0
    # with other voters clicking at the same time, the outcome is still exact
    others = [make_user(core, f"other{number}") for number in range(6)]
    actions = [lambda: core.toggle_vote(alice, "2401.00003") for _ in range(3)]
    actions += [lambda user=user: core.toggle_vote(user, "2401.00003") for user in others]
    run_together(actions)
    state = core.vote_states([papers[2].id], alice)[papers[2].id]
    assert (state.votes, state.voted) == (7, True)


def test_counts_and_my_votes_for_a_listing_come_from_one_query(core: PaperFeed, papers: list[Paper]) -> None:
    alice, bob = make_user(core, "alice"), make_user(core, "bob")
    core.toggle_vote(alice, "2401.00001")
    core.toggle_vote(bob, "2401.00001")
    core.toggle_vote(bob, "2401.00002")
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args) -> None:
        statements.append(statement)

    sa.event.listen(core.store.engine, "before_cursor_execute", count)
    try:
        states = core.vote_states([p.id for p in papers], alice)
    finally:
        sa.event.remove(core.store.engine, "before_cursor_execute", count)
    assert len(statements) == 1
    assert [(states[p.id].votes, states[p.id].voted) for p in papers] == [(2, True), (1, False), (0, False)]


def test_hidden_and_unknown_papers_cannot_be_upvoted(core: PaperFeed, papers: list[Paper]) -> None:
    alice = make_user(core, "alice")
    core.hide_paper(make_user(core, "root", admin=True), "2401.00001")
    with pytest.raises(NotFound):
        core.toggle_vote(alice, "2401.00001")
    with pytest.raises(NotFound):
        core.toggle_vote(alice, "2499.99999")


def test_a_suspended_user_cannot_vote_even_with_a_user_object_in_hand(
    core: PaperFeed, papers: list[Paper]
) -> None:
    alice = make_user(core, "alice")
    core.set_suspended("alice", True)
    with pytest.raises(PermissionDenied, match="suspended"):
        core.toggle_vote(alice, "2401.00001")
    assert count_votes(core, papers[0].id) == 0


# --- the pages and the API ----------------------------------------------------------------------------


def vote_count(page: str, paper: Paper) -> int:
    match = re.search(
        rf'action="/papers/{re.escape(paper.url_id)}/vote".*?<span class="vote-count">(\d+)</span>',
        page,
        re.DOTALL,
    )
    assert match, f"no upvote button for {paper.url_id}"
    return int(match.group(1))


def test_htmx_clicks_get_the_new_button_back_in_place(core: PaperFeed, papers: list[Paper]) -> None:
    browser = Visitor(core).log_in_as(make_user(core, "alice"))
    answer = browser.post(
        "/papers/2401.00001/vote", {"next": "/search?q=sparse"}, headers={"HX-Request": "true"}
    )
    assert answer.status_code == 200
    fragment = answer.text.strip()
    assert fragment.startswith('<form class="vote"') and fragment.endswith("</form>")
    assert 'aria-pressed="true"' in fragment and vote_count(fragment, papers[0]) == 1
    assert '<input type="hidden" name="next" value="/search?q=sparse">' in fragment
    again = browser.post("/papers/2401.00001/vote", {"next": "/"}, headers={"HX-Request": "true"})
    assert 'aria-pressed="false"' in again.text and vote_count(again.text, papers[0]) == 0


def test_without_javascript_a_vote_is_a_form_post_that_comes_back(
    core: PaperFeed, papers: list[Paper]
) -> None:
    browser = Visitor(core).log_in_as(make_user(core, "alice"))
    answer = browser.post("/papers/2401.00002/vote", {"next": "/search?q=proteins"}, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/search?q=proteins"
    assert vote_count(browser.get("/search?q=proteins").text, papers[1]) == 1


def test_logged_out_voters_are_sent_to_log_in(core: PaperFeed, papers: list[Paper]) -> None:
    browser = Visitor(core)
    plain = browser.post(
        "/papers/2401.00001/vote", {"next": "/"}, headers={"Referer": "http://testserver/day/2026-01-01"},
        follow_redirects=False,
    )  # fmt: skip
    assert plain.status_code == 303 and plain.headers["location"] == "/login?next=%2Fday%2F2026-01-01"
    htmx = browser.post(
        "/papers/2401.00001/vote", {"next": "/"},
        headers={"HX-Request": "true", "HX-Current-URL": "http://testserver/search?q=x"},
    )  # fmt: skip
    assert htmx.status_code == 401 and htmx.headers["HX-Redirect"] == "/login?next=%2Fsearch%3Fq%3Dx"


def test_every_listing_and_the_paper_page_show_counts(core: PaperFeed, papers: list[Paper]) -> None:
    alice = make_user(core, "alice")
    core.toggle_vote(alice, "2401.00001")
    core.toggle_vote(make_user(core, "bob"), "2401.00001")
    browser = Visitor(core).log_in_as(alice)
    day = papers[0].listed_on.isoformat()
    for path in (
        f"/day/{day}",
        "/search?q=attention",
        "/trending?period=day",
        f"/top/{day}",
        "/papers/2401.00001",
    ):
        page = browser.get(path)
        assert page.status_code == 200, path
        assert vote_count(page.text, papers[0]) == 2, path
    assert 'class="vote-button voted" aria-pressed="true"' in browser.get("/papers/2401.00001").text


def test_the_api_toggles_votes(core: PaperFeed, papers: list[Paper]) -> None:
    browser = Visitor(core).log_in_as(make_user(core, "alice"))
    assert browser.api("POST", "/api/papers/2401.00003/vote").json() == {
        "paper_id": "2401.00003",
        "votes": 1,
        "voted": True,
    }
    assert browser.api("POST", "/api/papers/2401.00003/vote").json()["voted"] is False
    assert Visitor(core).api("POST", "/api/papers/2401.00003/vote").status_code == 401
