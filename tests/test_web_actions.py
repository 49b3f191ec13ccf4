"""Quick and destructive actions on the pages: what happens after a click.

A destructive action (deleting a comment, hiding a paper, suspending a user; unsubscribing, in
test_subscriptions) asks first; every moderation action leaves a one-time message on the next page, with an Undo
button where the action can be taken back; a suspended user is not offered for suspension again.
"""

from __future__ import annotations

import re

import pytest

from community_helpers import Visitor, cheap_password_hashing, make_user
from helpers import add_papers, paper
from paperfeed.core import PaperFeed
from paperfeed.web.flash import FLASH_COOKIE


@pytest.fixture(autouse=True)
def _fast_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    cheap_password_hashing(monkeypatch)


@pytest.fixture
def site(core: PaperFeed) -> PaperFeed:
    add_papers(core, paper("Sparse Attention at Scale", arxiv_id="2401.00001"))
    return core


def flash_of(page: str) -> str | None:
    match = re.search(r'<div class="flash notice" role="status">\s*<span>([^<]*)</span>', page)
    return match.group(1) if match else None


def test_hiding_a_paper_asks_first_then_says_so_once_with_an_undo(site: PaperFeed) -> None:
    admin = Visitor(site).log_in_as(make_user(site, "root", admin=True))
    page = admin.get("/papers/2401.00001").text
    confirm = re.search(
        r'<details class="confirm"><summary[^>]*>Hide paper</summary>(.*?)</details>', page, re.S
    )
    assert confirm and "Yes, hide it" in confirm.group(1)

    moderation = admin.post("/papers/2401.00001/hide".replace("/papers", "/admin/papers"), {"hidden": "1"})
    assert moderation.url.path == "/admin"
    assert flash_of(moderation.text) == "“Sparse Attention at Scale” is hidden from every page."
    undo = re.search(
        r'<form class="inline-form" method="post" action="([^"]+)">(.*?)</form>',
        moderation.text.split('class="flash notice"')[1],
        re.S,
    )
    assert (
        undo
        and undo.group(1) == "/admin/papers/2401.00001/hide"
        and 'name="hidden" value="0"' in undo.group(2)
    )
    assert flash_of(admin.get("/admin").text) is None  # shown once

    back = admin.post(undo.group(1), {"hidden": "0"})
    assert back.url.path == "/papers/2401.00001"
    assert flash_of(back.text) == "“Sparse Attention at Scale” is shown again."


def test_a_forged_message_is_not_shown(site: PaperFeed) -> None:
    visitor = Visitor(site)
    visitor.client.cookies.set(FLASH_COOKIE, "eyJ0ZXh0IjogIllvdSB3b24hIn0=.0123456789abcdef0123456789abcdef")
    assert flash_of(visitor.get("/").text) is None


def test_suspending_says_so_offers_undo_and_no_second_suspend(site: PaperFeed) -> None:
    alice = make_user(site, "alice")
    site.add_comment(alice, "2401.00001", "A comment to moderate.")
    admin = Visitor(site).log_in_as(make_user(site, "root", admin=True))
    page = admin.get("/papers/2401.00001").text
    assert "<summary>Suspend alice</summary>" in page and "Yes, suspend" in page

    done = admin.post("/admin/users/suspend", {"name": "alice", "next": "/papers/2401.00001"})
    assert flash_of(done.text) == "alice is suspended: they cannot log in or post."
    assert 'name="suspended" value="0"' in done.text.split('class="flash notice"')[1].split("</div>")[0]
    assert "Suspend alice" not in done.text  # already suspended: not offered again

    again = admin.post("/admin/users/suspend", {"name": "alice"})
    assert flash_of(again.text) == "alice was already suspended."
    reinstated = admin.post(
        "/admin/users/suspend", {"name": "alice", "suspended": "0", "next": "/papers/2401.00001"}
    )
    assert flash_of(reinstated.text) == "alice is reinstated: they can log in and post again."
    assert "Suspend alice" in reinstated.text


def test_hiding_a_comment_says_so_with_an_undo(site: PaperFeed) -> None:
    comment = site.add_comment(make_user(site, "alice"), "2401.00001", "Off topic.")
    admin = Visitor(site).log_in_as(make_user(site, "root", admin=True))
    done = admin.post(f"/admin/comments/{comment.id}/hide", {"hidden": "1", "next": "/papers/2401.00001"})
    assert flash_of(done.text) == "The comment by alice is hidden from others."
    assert f'action="/admin/comments/{comment.id}/hide"' in done.text.split('class="flash notice"')[1]


def test_deleting_a_comment_asks_first_and_says_so(site: PaperFeed) -> None:
    alice = make_user(site, "alice")
    comment = site.add_comment(alice, "2401.00001", "Second thoughts.")
    visitor = Visitor(site).log_in_as(alice)
    page = visitor.get("/papers/2401.00001").text
    assert re.search(r'<details class="confirm"><summary>Delete</summary>.*?Yes, delete', page, re.S)
    done = visitor.post(f"/comments/{comment.id}/delete", {"next": "/papers/2401.00001"})
    assert flash_of(done.text) == "Your comment was deleted."


def test_a_comment_posted_in_place_reloads_the_page_at_it(site: PaperFeed) -> None:
    visitor = Visitor(site).log_in_as(make_user(site, "alice"))
    answer = visitor.post(
        "/papers/2401.00001/comments", {"body": "In place."}, headers={"HX-Request": "true"}
    )
    assert answer.status_code == 204
    assert re.fullmatch(r"/papers/2401\.00001#comment-\d+", answer.headers["HX-Redirect"])
    assert answer.headers["HX-Refresh"] == "true"  # same page, new anchor: a plain redirect would only scroll


def test_cards_show_the_comment_count_and_link_the_code(core: PaperFeed) -> None:
    add_papers(
        core,
        paper(
            "Sparse Attention at Scale",
            "We make attention sparse. Code at https://github.com/example/sparse-attention.",
            arxiv_id="2401.00001",
        ),
        paper("Dense Attention", "No code here.", arxiv_id="2401.00002"),
    )
    alice = make_user(core, "alice")
    core.add_comment(alice, "2401.00001", "One.")
    core.add_comment(alice, "2401.00001", "Two.")
    core.delete_comment(alice, core.add_comment(alice, "2401.00001", "Gone.").id)
    day = core.paper("2401.00001").listed_on.isoformat()
    page = Visitor(core).get(f"/day/{day}").text
    sparse, dense = (
        page.split('id="paper-' + ref + '"')[1].split("</article>")[0] for ref in ("2401.00001", "2401.00002")
    )
    assert '<a class="card-comments" href="/papers/2401.00001#comments">2 comments</a>' in sparse
    assert (
        '<a class="badge badge-code" href="https://github.com/example/sparse-attention" rel="nofollow noopener">code</a>'
        in sparse
    )
    assert ">0 comments</a>" in dense and "badge-code" not in dense
