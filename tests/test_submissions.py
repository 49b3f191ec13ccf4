"""Submitting papers by arXiv id or URL, against recorded arXiv API answers."""

from __future__ import annotations

import datetime as dt
import http.server
import re
import socket
import threading

import pytest

from community_helpers import Visitor, cheap_password_hashing, make_user, use_recorded_arxiv
from helpers import add_papers, day, paper
from paperfeed.config import Settings
from paperfeed.core import PaperFeed
from paperfeed.errors import InvalidInput, NotFound, PermissionDenied, SourceUnavailable, TooManyRequests
from paperfeed.models import SearchRequest
from test_votes import run_together


@pytest.fixture(autouse=True)
def _fast_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    cheap_password_hashing(monkeypatch)


def today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def test_a_submitted_paper_is_fetched_from_arxiv_and_listed_today_with_its_submitter(core: PaperFeed) -> None:
    arxiv = use_recorded_arxiv(core)
    alice = make_user(core, "alice")
    outcome = core.submit_paper(alice, "https://arxiv.org/abs/1706.03762v7")
    assert outcome.created and outcome.fetched
    assert [r.url.params["id_list"] for r in arxiv.requests] == ["1706.03762v7"]
    paper_ = outcome.paper
    assert (paper_.title, paper_.arxiv_id, paper_.version) == ("Attention Is All You Need", "1706.03762", 7)
    assert paper_.authors[0] == "Ashish Vaswani" and paper_.listed_on == today()
    assert (outcome.submission.user_name, outcome.submission.submitted_on) == ("alice", today())
    assert paper_.id in [p.id for p in core.day(today()).papers]
    assert core.submissions_for([paper_.id])[paper_.id].user_name == "alice"
    found = core.search(SearchRequest(query="attention transduction"))  # the search index knows it at once
    assert [item.paper.id for item in found.items] == [paper_.id]


@pytest.mark.parametrize(
    "ref", ["1706.03762", "arXiv:1706.03762", "https://arxiv.org/pdf/1706.03762v2", " 1706.03762 "]
)
def test_ids_and_urls_of_every_usual_shape_are_accepted(core: PaperFeed, ref: str) -> None:
    use_recorded_arxiv(core)
    assert core.submit_paper(make_user(core, "alice"), ref).paper.arxiv_id == "1706.03762"


def test_old_style_ids_work_too(core: PaperFeed) -> None:
    use_recorded_arxiv(core)
    outcome = core.submit_paper(make_user(core, "alice"), "hep-th/9711200")
    assert outcome.paper.arxiv_id == "hep-th/9711200" and outcome.paper.doi == "10.1023/a:1026654312961"


def test_a_paper_already_submitted_is_neither_duplicated_nor_fetched_again(core: PaperFeed) -> None:
    arxiv = use_recorded_arxiv(core)
    first = core.submit_paper(make_user(core, "alice"), "1706.03762")
    again = core.submit_paper(make_user(core, "bob"), "https://arxiv.org/abs/1706.03762v3")
    assert not again.created and not again.fetched
    assert again.paper.id == first.paper.id and again.submission.user_name == "alice"
    assert len(arxiv.requests) == 1
    assert core.store.papers.count() == 1


def test_a_known_paper_gets_its_submitter_without_asking_arxiv(core: PaperFeed) -> None:
    add_papers(core, paper("Attention Is All You Need", arxiv_id="1706.03762", listed_on=day("2017-06-12")))
    arxiv = use_recorded_arxiv(core)
    outcome = core.submit_paper(make_user(core, "alice"), "1706.03762")
    assert outcome.created and not outcome.fetched and arxiv.requests == []
    assert core.store.papers.count() == 1
    assert outcome.paper.listed_on == today()  # it moves to the daily page of its submission


def test_a_paper_from_the_daily_pages_stays_on_its_day_when_submitted(core: PaperFeed) -> None:
    add_papers(
        core, paper("Daily Pick", arxiv_id="2401.00042", listed_on=day("2024-01-05"), source="hf-daily")
    )
    outcome = core.submit_paper(make_user(core, "alice"), "2401.00042")
    assert outcome.created and outcome.paper.listed_on == day("2024-01-05")


def test_each_user_may_submit_a_few_papers_a_day(settings: Settings) -> None:
    core = PaperFeed(settings.model_copy(update={"submissions_per_day": 1}))
    try:
        use_recorded_arxiv(core)
        alice = make_user(core, "alice")
        core.submit_paper(alice, "1706.03762")
        with pytest.raises(
            TooManyRequests, match=r"You can submit 1 papers a day\. Try again in \d+ (minutes|hours)"
        ):
            core.submit_paper(alice, "hep-th/9711200")
        assert core.submit_paper(make_user(core, "bob"), "hep-th/9711200").created
    finally:
        core.close()


def test_unknown_papers_and_non_ids_get_a_clear_answer(core: PaperFeed) -> None:
    arxiv = use_recorded_arxiv(core)
    alice = make_user(core, "alice")
    with pytest.raises(NotFound, match=re.escape("arXiv has no paper 2401.00000")):
        core.submit_paper(alice, "2401.00000")
    with pytest.raises(
        InvalidInput, match=re.escape("not an arXiv id or arxiv.org URL: 'attention is all you need'")
    ):
        core.submit_paper(alice, "attention is all you need")
    assert len(arxiv.requests) == 1  # the non-id was refused without asking arXiv
    assert core.store.papers.count() == 0


def test_an_unreachable_arxiv_is_reported_and_changes_nothing(core: PaperFeed) -> None:
    use_recorded_arxiv(core, status=503)
    with pytest.raises(SourceUnavailable, match=r"^arXiv cannot be reached right now, so arXiv:1706\.03762"):
        core.submit_paper(make_user(core, "alice"), "1706.03762")
    assert core.store.papers.count() == 0


def test_suspended_users_cannot_submit(core: PaperFeed) -> None:
    use_recorded_arxiv(core)
    alice = make_user(core, "alice")
    core.set_suspended("alice", True)
    with pytest.raises(PermissionDenied, match="suspended"):
        core.submit_paper(alice, "1706.03762")
    assert core.store.community.submission_of(1) is None


def test_concurrent_submissions_of_one_paper_make_one_paper_and_one_submission(core: PaperFeed) -> None:
    use_recorded_arxiv(core)
    users = [make_user(core, f"user{number}") for number in range(6)]
    outcomes = run_together([lambda user=user: core.submit_paper(user, "1706.03762") for user in users])
    assert sum(outcome.created for outcome in outcomes) == 1
    assert len({outcome.paper.id for outcome in outcomes}) == 1
    assert len({outcome.submission.user_name for outcome in outcomes}) == 1
    assert core.store.papers.count() == 1


def test_the_arxiv_address_comes_from_the_settings(tmp_path) -> None:
    settings = Settings(data_dir=tmp_path, arxiv_api_url="http://127.0.0.1:9/api/query")
    core = PaperFeed(settings)
    try:
        assert core.arxiv_client.base_url == "http://127.0.0.1:9/api/query"
    finally:
        core.close()


# --- the pages and the API ----------------------------------------------------------------------------


def test_submitting_through_the_page_shows_the_submitter_on_the_daily_page(core: PaperFeed) -> None:
    use_recorded_arxiv(core)
    browser = Visitor(core).log_in_as(make_user(core, "alice"))
    assert 'action="/submit"' in browser.get("/submit").text
    answer = browser.post("/submit", {"ref": "1706.03762"}, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/papers/1706.03762?submitted=1"
    paper_page = browser.get(answer.headers["location"]).text
    assert "Submitted by <strong>alice</strong>" in paper_page and "Thanks!" in paper_page
    daily = browser.get(f"/day/{today().isoformat()}").text
    assert "Attention Is All You Need" in daily and "submitted by alice" in daily


def test_the_submit_page_explains_what_went_wrong(core: PaperFeed) -> None:
    use_recorded_arxiv(core)
    browser = Visitor(core).log_in_as(make_user(core, "alice"))
    missing = browser.post("/submit", {"ref": "2401.00000"})
    assert missing.status_code == 404 and "arXiv has no paper 2401.00000" in missing.text
    assert 'value="2401.00000"' in missing.text
    wrong = browser.post("/submit", {"ref": "hello"})
    assert wrong.status_code == 400 and "not an arXiv id" in wrong.text
    assert Visitor(core).get("/submit", follow_redirects=False).headers["location"] == "/login?next=%2Fsubmit"


class _Overloaded(http.server.BaseHTTPRequestHandler):
    requests = 0

    def do_GET(self) -> None:
        type(self).requests += 1
        self.send_response(503)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


def test_an_overloaded_arxiv_is_asked_twice_at_most_while_someone_waits(settings: Settings) -> None:
    _Overloaded.requests = 0  # the class is shared by this test's runs on each backend
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Overloaded)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/api/query"
    core = PaperFeed(settings.model_copy(update={"arxiv_api_url": url}))
    try:
        with pytest.raises(SourceUnavailable, match="Try again in a few minutes"):
            core.submit_paper(make_user(core, "alice"), "1706.03762")
        assert _Overloaded.requests == 2
    finally:
        core.close()
        server.shutdown()
        server.server_close()


def test_an_unreachable_arxiv_gets_one_plain_sentence_on_the_page(settings: Settings) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}/api/query"
    core = PaperFeed(settings.model_copy(update={"arxiv_api_url": url}))
    try:
        browser = Visitor(core).log_in_as(make_user(core, "alice"))
        answer = browser.post("/submit", {"ref": "1706.03762"})
        assert answer.status_code == 503
        error = re.search(r'<p class="form-error"[^>]*>(.*?)</p>', answer.text, flags=re.DOTALL).group(1)
        assert error.strip() == (
            "arXiv cannot be reached right now, so arXiv:1706.03762 could not be fetched. Try again in a few minutes."
        )
        assert "Error" not in answer.text.replace("form-error", "")
        assert 'value="1706.03762"' in answer.text  # what was typed stays
    finally:
        core.close()


def test_after_submitting_the_paper_page_links_to_where_it_is_listed(core: PaperFeed) -> None:
    add_papers(core, *[paper(f"Earlier paper {n}", listed_on=today()) for n in range(55)])
    use_recorded_arxiv(core)
    browser = Visitor(core).log_in_as(make_user(core, "alice"))
    answer = browser.post("/submit", {"ref": "1706.03762"})
    assert f'href="/day/{today().isoformat()}?page=2#paper-1706.03762"' in answer.text
    daily = browser.get(f"/day/{today().isoformat()}?page=2").text
    assert 'id="paper-1706.03762"' in daily


def test_htmx_submissions_are_sent_to_the_paper_page(core: PaperFeed) -> None:
    use_recorded_arxiv(core)
    browser = Visitor(core).log_in_as(make_user(core, "alice"))
    answer = browser.post("/submit", {"ref": "1706.03762"}, headers={"HX-Request": "true"})
    assert answer.headers["HX-Redirect"] == "/papers/1706.03762?submitted=1"
    wrong = browser.post("/submit", {"ref": "hello"}, headers={"HX-Request": "true"})
    assert wrong.status_code == 200 and "not an arXiv id" in wrong.text  # swapped in by htmx


def test_the_api_submits_papers(core: PaperFeed) -> None:
    use_recorded_arxiv(core)
    browser = Visitor(core).log_in_as(make_user(core, "alice"))
    created = browser.api("POST", "/api/submissions", {"arxiv": "1706.03762"})
    assert created.status_code == 201
    body = created.json()
    assert body["created"] and body["submitted_by"] == "alice" and body["paper"]["arxiv_id"] == "1706.03762"
    again = (
        Visitor(core)
        .log_in_as(make_user(core, "bob"))
        .api("POST", "/api/submissions", {"arxiv": "1706.03762"})
    )
    assert again.status_code == 200 and again.json()["submitted_by"] == "alice"
    unavailable = use_recorded_arxiv(core, status=503)
    down = browser.api("POST", "/api/submissions", {"arxiv": "hep-th/9711200"})
    assert down.status_code == 503 and "cannot be reached" in down.json()["error"]["message"]
    assert len(unavailable.requests) == 1
