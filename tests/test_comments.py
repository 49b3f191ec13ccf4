"""Comments: Markdown rendered through a sanitiser, threads, editing and deleting one's own."""

from __future__ import annotations

import re

import pytest

from community_helpers import Visitor, assert_inert, cheap_password_hashing, make_user
from helpers import add_papers, paper
from paperfeed.community.comments import render_markdown
from paperfeed.core import PaperFeed
from paperfeed.errors import InvalidInput, NotFound, PermissionDenied, TooManyRequests
from paperfeed.models import Comment, Paper


@pytest.fixture(autouse=True)
def _fast_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    cheap_password_hashing(monkeypatch)


@pytest.fixture
def two_papers(core: PaperFeed) -> tuple[Paper, Paper]:
    add_papers(
        core, paper("Sparse Attention at Scale", arxiv_id="2401.00001"), paper("Other", arxiv_id="2401.00002")
    )
    return core.paper("2401.00001"), core.paper("2401.00002")


def shape(thread: list[Comment]) -> list:
    """A thread as nested (body or placeholder, replies) pairs."""
    return [
        (c.body if c.shown else f"[{'deleted' if c.deleted else 'removed'}]", shape(c.replies))
        for c in thread
    ]


# --- rendering -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("markdown", "html"),
    [
        (
            "**bold** and *em* and `code`",
            "<p><strong>bold</strong> and <em>em</em> and <code>code</code></p>",
        ),
        ("- one\n- two", "<ul>\n<li>one</li>\n<li>two</li>\n</ul>"),
        ("> quoted", "<blockquote>\n<p>quoted</p>\n</blockquote>"),
        ("~~gone~~", "<p><s>gone</s></p>"),
        (
            "[the paper](https://arxiv.org/abs/1706.03762)",
            '<p><a href="https://arxiv.org/abs/1706.03762" rel="nofollow noopener ugc">the paper</a></p>',
        ),
        (
            "<mailto:a@example.org>",
            '<p><a href="mailto:a@example.org" rel="nofollow noopener ugc">mailto:a@example.org</a></p>',
        ),
    ],
)
def test_markdown_renders_to_formatted_html(markdown: str, html: str) -> None:
    assert render_markdown(markdown).strip() == html


@pytest.mark.parametrize(
    "hostile",
    [
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        '<a href="javascript:alert(1)">x</a>',
        "[x](javascript:alert(1))",
        "[x](JaVaScRiPt:alert(1))",
        "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
        "[x](vbscript:msgbox(1))",
        "![pixel](https://tracker.example/p.gif)",
        '<div onmouseover="alert(1)">hover</div>',
        "<iframe src=https://evil.example></iframe>",
        "<svg><script>alert(1)</script></svg>",
        "[x](/relative/path)",
        "<style>body{display:none}</style>",
    ],
)
def test_hostile_markup_comes_out_inert(hostile: str) -> None:
    html = render_markdown(hostile)
    assert not re.search(r"<(script|img|iframe|svg|style|div)\b", html, re.IGNORECASE)
    assert not re.search(r"<[a-z][^>]*\son[a-z]+\s*=", html, re.IGNORECASE)
    assert not re.search(r'<a\s[^>]*href="(?!https?:|mailto:)', html)


def test_every_link_is_nofollow_noopener_ugc_and_keeps_no_other_attribute() -> None:
    html = render_markdown('[a](https://a.example "title") and <https://b.example>')
    links = re.findall(r"<a [^>]*>", html)
    assert links == [
        '<a href="https://a.example" title="title" rel="nofollow noopener ugc">',
        '<a href="https://b.example" rel="nofollow noopener ugc">',
    ]


# --- threads ------------------------------------------------------------------------------------


def test_replies_nest_under_their_parents_oldest_first(
    core: PaperFeed, two_papers: tuple[Paper, Paper]
) -> None:
    alice, bob = make_user(core, "alice"), make_user(core, "bob")
    first = core.add_comment(alice, "2401.00001", "first")
    second = core.add_comment(bob, "2401.00001", "second")
    reply = core.add_comment(bob, "2401.00001", "reply to first", parent_id=first.id)
    core.add_comment(alice, "2401.00001", "reply to reply", parent_id=reply.id)
    core.add_comment(alice, "2401.00001", "reply to second", parent_id=second.id)
    thread = core.comments(two_papers[0], None)
    assert shape(thread) == [
        ("first", [("reply to first", [("reply to reply", [])])]),
        ("second", [("reply to second", [])]),
    ]
    assert thread[0].author == "alice" and thread[0].replies[0].author == "bob"
    assert core.comments(two_papers[1], None) == []


def test_a_reply_must_be_on_the_same_paper(core: PaperFeed, two_papers: tuple[Paper, Paper]) -> None:
    alice = make_user(core, "alice")
    elsewhere = core.add_comment(alice, "2401.00002", "on the other paper")
    with pytest.raises(InvalidInput, match="not on this paper"):
        core.add_comment(alice, "2401.00001", "reply", parent_id=elsewhere.id)
    with pytest.raises(InvalidInput, match="not on this paper"):
        core.add_comment(alice, "2401.00001", "reply", parent_id=99_999)


@pytest.mark.parametrize(
    ("body", "message"), [("", "empty"), ("   \n ", "empty"), ("x" * 10_001, "at most 10,000")]
)
def test_empty_and_oversized_comments_are_refused(
    core: PaperFeed, two_papers: tuple, body: str, message: str
) -> None:
    with pytest.raises(InvalidInput, match=message):
        core.add_comment(make_user(core, "alice"), "2401.00001", body)


def test_comments_on_hidden_papers_are_refused(core: PaperFeed, two_papers: tuple[Paper, Paper]) -> None:
    core.hide_paper(make_user(core, "root", admin=True), "2401.00001")
    with pytest.raises(NotFound):
        core.add_comment(make_user(core, "alice"), "2401.00001", "hello")


def test_commenting_is_rate_limited(core: PaperFeed, two_papers: tuple[Paper, Paper]) -> None:
    alice = make_user(core, "alice")
    for number in range(20):
        core.add_comment(alice, "2401.00001", f"comment {number}")
    with pytest.raises(TooManyRequests, match="Too many comments in a short time"):
        core.add_comment(alice, "2401.00001", "one too many")


# --- editing, deleting, hiding -----------------------------------------------------------------------


def test_authors_edit_their_comments_which_then_say_edited(core: PaperFeed, two_papers: tuple) -> None:
    alice = make_user(core, "alice")
    comment = core.add_comment(alice, "2401.00001", "frist")
    edited = core.edit_comment(alice, comment.id, "first *indeed*")
    assert edited.body == "first *indeed*" and edited.html.strip() == "<p>first <em>indeed</em></p>"
    assert edited.edited_at is not None and comment.edited_at is None


def test_nobody_edits_or_deletes_a_comment_of_someone_else(core: PaperFeed, two_papers: tuple) -> None:
    alice, bob = make_user(core, "alice"), make_user(core, "bob")
    admin = make_user(core, "root", admin=True)
    comment = core.add_comment(alice, "2401.00001", "mine")
    for intruder in (bob, admin):
        with pytest.raises(PermissionDenied, match="only edit your own"):
            core.edit_comment(intruder, comment.id, "not yours")
        with pytest.raises(PermissionDenied, match="only delete your own"):
            core.delete_comment(intruder, comment.id)
    assert core.comment(comment.id, None).body == "mine"


def test_a_deleted_comment_keeps_its_place_while_replies_hang_on_it(
    core: PaperFeed, two_papers: tuple
) -> None:
    alice, bob = make_user(core, "alice"), make_user(core, "bob")
    parent = core.add_comment(alice, "2401.00001", "parent")
    lonely = core.add_comment(alice, "2401.00001", "lonely")
    core.add_comment(bob, "2401.00001", "reply", parent_id=parent.id)
    core.delete_comment(alice, parent.id)
    core.delete_comment(alice, lonely.id)
    thread = core.comments(two_papers[0], bob)
    assert shape(thread) == [("[deleted]", [("reply", [])])]
    assert thread[0].body == "" and thread[0].html == ""  # the deleted text is not handed out
    with pytest.raises(NotFound):
        core.edit_comment(alice, parent.id, "back again")


def test_hidden_comments_vanish_for_everyone_but_admins(core: PaperFeed, two_papers: tuple) -> None:
    alice, bob = make_user(core, "alice"), make_user(core, "bob")
    admin = make_user(core, "root", admin=True)
    spam = core.add_comment(alice, "2401.00001", "buy now")
    core.add_comment(bob, "2401.00001", "fine")
    with pytest.raises(PermissionDenied, match="only administrators"):
        core.hide_comment(bob, spam.id)
    core.hide_comment(admin, spam.id)
    for viewer in (None, alice, bob):
        assert shape(core.comments(two_papers[0], viewer)) == [("fine", [])]
        with pytest.raises(NotFound):
            core.comment(spam.id, viewer)
    seen_by_admin = core.comments(two_papers[0], admin)
    assert shape(seen_by_admin) == [("buy now", []), ("fine", [])] and seen_by_admin[0].hidden
    with pytest.raises(PermissionDenied, match="can no longer be edited"):
        core.edit_comment(alice, spam.id, "now hidden")
    assert [c.id for c in core.moderation(admin).hidden_comments] == [spam.id]
    core.hide_comment(admin, spam.id, hidden=False)
    assert shape(core.comments(two_papers[0], None)) == [("buy now", []), ("fine", [])]


# --- the pages and the API ----------------------------------------------------------------------------


def test_comment_reply_edit_and_delete_through_the_paper_page(core: PaperFeed, two_papers: tuple) -> None:
    browser = Visitor(core).log_in_as(make_user(core, "alice"))
    posted = browser.post("/papers/2401.00001/comments", {"body": "Nice **result**"}, follow_redirects=False)
    assert posted.status_code == 303 and re.fullmatch(
        r"/papers/2401\.00001#comment-\d+", posted.headers["location"]
    )
    comment_id = int(posted.headers["location"].rsplit("-", 1)[1])
    browser.post("/papers/2401.00001/comments", {"body": "agreed", "parent_id": str(comment_id)})
    page = browser.get("/papers/2401.00001").text
    assert "<strong>result</strong>" in page and f'id="comment-{comment_id}"' in page
    assert re.search(rf'id="comment-{comment_id}".*class="comment-replies".*agreed', page, re.DOTALL)
    assert_inert(page)

    form = browser.get(f"/comments/{comment_id}/edit?next=/papers/2401.00001")
    assert form.status_code == 200 and "Nice **result**</textarea>" in form.text
    saved = browser.post(
        f"/comments/{comment_id}/edit",
        {"body": "Nice *result*", "next": "/papers/2401.00001"},
        follow_redirects=False,
    )
    assert saved.headers["location"] == f"/papers/2401.00001#comment-{comment_id}"
    assert "<em>result</em>" in browser.get("/papers/2401.00001").text
    browser.post(f"/comments/{comment_id}/delete", {"next": "/papers/2401.00001#comments"})
    page = browser.get("/papers/2401.00001").text
    assert "[deleted]" in page and "Nice *result*" not in page and "agreed" in page


def test_logged_out_readers_see_the_discussion_and_a_prompt_to_log_in(
    core: PaperFeed, two_papers: tuple
) -> None:
    core.add_comment(make_user(core, "alice"), "2401.00001", "hello there")
    page = Visitor(core).get("/papers/2401.00001").text
    assert "hello there" in page and "to comment." in page and 'name="body"' not in page


def test_the_api_lists_adds_edits_and_deletes_comments(core: PaperFeed, two_papers: tuple) -> None:
    browser = Visitor(core).log_in_as(make_user(core, "alice"))
    added = browser.api("POST", "/api/papers/2401.00001/comments", {"body": "via *API*"})
    assert added.status_code == 201
    body = added.json()
    assert body["author"] == "alice" and body["html"].strip() == "<p>via <em>API</em></p>"
    reply = browser.api(
        "POST", "/api/papers/2401.00001/comments", {"body": "reply", "parent_id": body["id"]}
    ).json()
    edited = browser.api("PATCH", f"/api/comments/{reply['id']}", {"body": "edited reply"})
    assert edited.status_code == 200 and edited.json()["edited_at"] is not None
    listed = Visitor(core).get("/api/papers/2401.00001/comments").json()
    assert [(c["body"], [r["body"] for r in c["replies"]]) for c in listed] == [
        ("via *API*", ["edited reply"])
    ]
    assert browser.api("DELETE", f"/api/comments/{body['id']}").status_code == 204
    assert Visitor(core).get("/api/papers/2401.00001/comments").json()[0]["deleted"] is True
    empty = browser.api("POST", "/api/papers/2401.00001/comments", {"body": " "})
    assert empty.status_code == 400 and empty.json()["error"]["message"] == "the comment is empty"
