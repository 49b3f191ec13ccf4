"""Security of the community features: stored XSS comes back escaped, CSRF tokens are required,
nobody changes what another user owns, log-ins are throttled, and moderation takes effect."""

from __future__ import annotations

import datetime as dt
import html

import pytest

from community_helpers import (
    PASSWORD,
    Visitor,
    assert_inert,
    cheap_password_hashing,
    make_user,
    use_recorded_arxiv,
)
from helpers import add_papers, paper
from paperfeed.community import accounts
from paperfeed.core import PaperFeed
from paperfeed.models import User
from paperfeed.store.papers import utcnow
from paperfeed.web.security import CSRF_REFUSED

HOSTILE_TITLE = 'Hostile <script>alert("title")</script> Transformers'
HOSTILE_ABSTRACT = '<img src=x onerror=alert("abstract")>'
HOSTILE_AUTHOR = 'Mallory <svg onload=alert("author")>'
HOSTILE_NAME = '<svg onload=alert("name")>'  # within the 32 characters a name column holds
HOSTILE_COMMENT = (
    '<script>alert("comment")</script> <img src=x onerror=alert(2)> [click](javascript:alert(3))'
)


@pytest.fixture(autouse=True)
def _fast_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    cheap_password_hashing(monkeypatch)


def shown_escaped(text: str, page: str) -> bool:
    """Whether the page shows `text` as text: its markup escaped (quotes in any escaped form)."""
    for entity, quote in (("&#34;", '"'), ("&quot;", '"'), ("&#39;", "'"), ("&#x27;", "'")):
        page = page.replace(entity, quote)
    return html.escape(text, quote=False) in page


def today() -> str:
    return dt.datetime.now(dt.UTC).date().isoformat()


def hostile_user(core: PaperFeed) -> User:
    """A user whose name is markup: sign-up refuses such names, so it is written to the store
    directly, as an older or altered database might hold it."""
    password_hash = accounts.PASSWORD_HASHER.hash(PASSWORD)
    return core.store.users.create(HOSTILE_NAME, password_hash, is_admin=False, now=utcnow())


@pytest.fixture
def hostile_site(core: PaperFeed) -> PaperFeed:
    """A paper with markup in its title, abstract and authors, submitted, upvoted and discussed
    by a user whose name is markup; one of the comments hidden by an admin."""
    use_recorded_arxiv(core)
    mallory = hostile_user(core)
    admin = make_user(core, "root", admin=True)
    core.submit_paper(mallory, "2401.99999")
    core.toggle_vote(mallory, "2401.99999")
    comment = core.add_comment(mallory, "2401.99999", HOSTILE_COMMENT)
    core.add_comment(mallory, "2401.99999", "a reply", parent_id=comment.id)
    hidden = core.add_comment(mallory, "2401.99999", HOSTILE_COMMENT + " (hidden)")
    core.hide_comment(admin, hidden.id)
    return core


# --- stored XSS ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("viewer", ["anonymous", "mallory", "root"])
def test_stored_markup_comes_back_escaped_on_every_page(hostile_site: PaperFeed, viewer: str) -> None:
    browser = Visitor(hostile_site)
    if viewer != "anonymous":
        browser.log_in_as(hostile_site.store.users.by_name(HOSTILE_NAME if viewer == "mallory" else viewer))
    pages = [
        "/",
        f"/day/{today()}",
        "/papers/2401.99999",
        "/search?q=hostile",
        "/trending?period=day",
        f"/top/{today()}",
    ]
    for path in pages:
        answer = browser.get(path)
        assert answer.status_code == 200, path
        assert_inert(answer.text)
        # (search marks the matched words, so only the markup part is compared everywhere)
        assert shown_escaped('<script>alert("title")</script>', answer.text), path
    if viewer == "mallory":
        account = browser.get("/account").text
        assert_inert(account)
        assert shown_escaped(HOSTILE_NAME, account)
    if viewer == "root":
        moderation = browser.get("/admin").text
        assert_inert(moderation)
        assert shown_escaped(HOSTILE_NAME, moderation) and shown_escaped(
            "<img src=x onerror=alert(2)>", moderation
        )
    paper_page = browser.get("/papers/2401.99999").text
    for text in (
        HOSTILE_TITLE,
        HOSTILE_ABSTRACT,
        HOSTILE_AUTHOR,
        HOSTILE_NAME,
        '<script>alert("comment")</script>',
    ):
        assert shown_escaped(text, paper_page), text
    assert 'href="javascript:' not in paper_page


def test_markup_in_a_new_user_name_is_refused_and_shown_back_escaped(core: PaperFeed) -> None:
    answer = Visitor(core).post(
        "/signup", {"name": HOSTILE_NAME, "password": PASSWORD, "password2": PASSWORD}
    )
    assert answer.status_code == 400 and "user names are 2 to 32 characters" in answer.text
    assert shown_escaped(HOSTILE_NAME, answer.text)
    assert_inert(answer.text)


def test_the_json_api_hands_out_comment_html_only_after_sanitising(hostile_site: PaperFeed) -> None:
    thread = Visitor(hostile_site).get("/api/papers/2401.99999/comments").json()
    assert [c["author"] for c in thread] == [HOSTILE_NAME]  # data, not HTML: clients escape it
    scripts = '<script src="/static/htmx.min.js" defer></script><script src="/static/math.js" defer></script>'
    scripts += '<script src="/static/ui.js" defer></script>'
    assert_inert(scripts + thread[0]["html"])
    assert "&lt;script&gt;" in thread[0]["html"]


# --- CSRF ---------------------------------------------------------------------------------------------


STATE_CHANGING = [
    ("POST", "/signup", {"name": "eve", "password": PASSWORD, "password2": PASSWORD}),
    ("POST", "/login", {"name": "alice", "password": PASSWORD}),
    ("POST", "/logout", {}),
    ("POST", "/account/password", {"current": PASSWORD, "password": "x" * 12, "password2": "x" * 12}),
    ("POST", "/submit", {"ref": "1706.03762"}),
    ("POST", "/papers/2401.00001/vote", {}),
    ("POST", "/papers/2401.00001/comments", {"body": "hello"}),
    ("POST", "/comments/1/edit", {"body": "changed"}),
    ("POST", "/comments/1/delete", {}),
    ("POST", "/admin/papers/2401.00001/hide", {"hidden": "1"}),
    ("POST", "/admin/comments/1/hide", {"hidden": "1"}),
    ("POST", "/admin/users/suspend", {"name": "bob"}),
    ("POST", "/api/papers/2401.00001/vote", None),
    ("POST", "/api/papers/2401.00001/comments", {"body": "hello"}),
    ("PATCH", "/api/comments/1", {"body": "changed"}),
    ("DELETE", "/api/comments/1", None),
    ("POST", "/api/submissions", {"arxiv": "1706.03762"}),
]


@pytest.fixture
def site(core: PaperFeed) -> PaperFeed:
    add_papers(core, paper("Sparse Attention at Scale", arxiv_id="2401.00001"))
    use_recorded_arxiv(core)
    root = make_user(core, "root", admin=True)
    make_user(core, "alice")
    make_user(core, "bob")
    core.add_comment(root, "2401.00001", "the admin's own comment")
    return core


def snapshot(core: PaperFeed) -> tuple:
    """Everything the requests above could change."""
    comment = core.store.community.comment(1)
    papers = core.store.papers.count()
    return (
        papers,
        core.vote_states([1], None)[1].votes,
        [c.body for c in core.store.community.comments_of(1)],
        comment.deleted,
        comment.hidden,
        core.paper("2401.00001").hidden,
        core.store.users.by_name("bob").suspended,
        core.store.users.by_name("eve"),
    )


def send(browser: Visitor, method: str, path: str, data: dict | None, headers: dict[str, str]):
    if path.startswith("/api/"):
        return browser.client.request(method, path, json=data, headers=headers)
    return browser.client.request(method, path, data=data, headers=headers, follow_redirects=False)


@pytest.mark.parametrize(
    ("method", "path", "data"), STATE_CHANGING, ids=[f"{m} {p}" for m, p, _ in STATE_CHANGING]
)
def test_requests_without_the_session_token_are_refused(
    site: PaperFeed, method: str, path: str, data: dict
) -> None:
    admin = Visitor(site).log_in_as(site.store.users.by_name("root"))
    other = Visitor(site).log_in_as(site.store.users.by_name("bob"))
    before = snapshot(site)
    for token in (None, "", "0" * 64, other.token()):
        headers = {} if token is None else {"X-CSRF-Token": token}
        fields = data
        if token is not None and not path.startswith("/api/"):
            headers, fields = {}, {**(data or {}), "csrf_token": token}
        answer = send(admin, method, path, fields, headers)
        assert answer.status_code == 403, (token, answer.text[:200])
        message = answer.json()["error"]["message"] if path.startswith("/api/") else answer.text
        assert CSRF_REFUSED in message
    assert snapshot(site) == before
    assert admin.get("/api/session").json()["user"] == "root"  # not even logged out


def test_a_visitor_without_any_cookie_cannot_post(site: PaperFeed) -> None:
    assert (
        Visitor(site).client.post("/login", data={"name": "alice", "password": PASSWORD}).status_code == 403
    )


def test_the_token_changes_when_logging_in_and_out(site: PaperFeed) -> None:
    browser = Visitor(site)
    anonymous = browser.token()
    browser.log_in("alice")
    logged_in = browser.token()
    assert logged_in != anonymous
    refused = browser.client.post(
        "/papers/2401.00001/vote", data={"csrf_token": anonymous}, follow_redirects=False
    )
    assert refused.status_code == 403
    browser.post("/logout")
    assert browser.token() == anonymous  # the browser's own token again; the session's is dead
    stale = browser.client.post(
        "/papers/2401.00001/vote", data={"csrf_token": logged_in}, follow_redirects=False
    )
    assert stale.status_code == 403


def test_pages_carry_the_token_in_forms_and_for_htmx(site: PaperFeed) -> None:
    browser = Visitor(site).log_in_as(site.store.users.by_name("alice"))
    page = browser.get("/papers/2401.00001").text
    token = browser.token()
    assert f'<body hx-headers=\'{{"X-CSRF-Token": "{token}"}}\'>' in page
    assert page.count(f'name="csrf_token" value="{token}"') >= 3  # vote, comment, log out


# --- ownership ----------------------------------------------------------------------------------------


def test_nobody_edits_or_deletes_a_comment_of_another_user(site: PaperFeed) -> None:
    alice = site.store.users.by_name("alice")
    comment = site.add_comment(alice, "2401.00001", "alice wrote this")
    bob = Visitor(site).log_in_as(site.store.users.by_name("bob"))
    assert bob.get(f"/comments/{comment.id}/edit").status_code == 403
    assert bob.post(f"/comments/{comment.id}/edit", {"body": "bob wrote this"}).status_code == 403
    assert bob.post(f"/comments/{comment.id}/delete").status_code == 403
    assert bob.api("PATCH", f"/api/comments/{comment.id}", {"body": "bob wrote this"}).status_code == 403
    denied = bob.api("DELETE", f"/api/comments/{comment.id}")
    assert (
        denied.status_code == 403
        and denied.json()["error"]["message"] == "you can only delete your own comments"
    )
    assert site.comment(comment.id, None).body == "alice wrote this"
    page = bob.get("/papers/2401.00001").text
    assert f'href="/comments/{comment.id}/edit' not in page


def test_only_admins_moderate(site: PaperFeed) -> None:
    alice = Visitor(site).log_in_as(site.store.users.by_name("alice"))
    assert alice.get("/admin").status_code == 403
    assert alice.post("/admin/papers/2401.00001/hide", {"hidden": "1"}).status_code == 403
    assert alice.post("/admin/comments/1/hide", {"hidden": "1"}).status_code == 403
    assert alice.post("/admin/users/suspend", {"name": "bob"}).status_code == 403
    assert not site.paper("2401.00001").hidden and not site.store.users.by_name("bob").suspended
    assert "Hide paper" not in alice.get("/papers/2401.00001").text


# --- throttling ---------------------------------------------------------------------------------------


def test_repeated_bad_log_ins_are_answered_429_with_when_to_retry(site: PaperFeed) -> None:
    browser = Visitor(site)
    for _ in range(3):
        assert browser.log_in("alice", "wrong password").status_code == 401
    throttled = browser.log_in("alice", PASSWORD)  # even the right password waits now
    assert throttled.status_code == 429
    assert "Too many failed log-ins for this account. Try again in " in throttled.text
    assert 1 <= int(throttled.headers["Retry-After"]) <= 2  # the first delay, less the time gone by


# --- suspension and hiding ----------------------------------------------------------------------------


def test_a_suspended_user_is_logged_out_and_can_neither_log_in_nor_post(site: PaperFeed) -> None:
    alice = Visitor(site).log_in_as(site.store.users.by_name("alice"))
    admin = Visitor(site).log_in_as(site.store.users.by_name("root"))
    assert admin.post("/admin/users/suspend", {"name": "alice"}, follow_redirects=False).status_code == 303
    assert alice.get("/api/session").json()["user"] is None
    assert alice.api("POST", "/api/papers/2401.00001/comments", {"body": "still here?"}).status_code == 401
    assert (
        alice.post("/papers/2401.00001/vote", follow_redirects=False).headers["location"].startswith("/login")
    )
    refused = alice.log_in("alice")
    assert refused.status_code == 403 and "this account is suspended" in refused.text
    assert "alice" in admin.get("/admin").text
    admin.post("/admin/users/suspend", {"name": "alice", "suspended": "0"})
    assert alice.log_in("alice").status_code == 303


def test_hidden_papers_disappear_for_everyone_but_admins(site: PaperFeed) -> None:
    reader = Visitor(site).log_in_as(site.store.users.by_name("alice"))
    admin = Visitor(site).log_in_as(site.store.users.by_name("root"))
    site.toggle_vote(site.store.users.by_name("alice"), "2401.00001")
    day = site.paper("2401.00001").listed_on.isoformat()
    hidden = admin.post("/admin/papers/2401.00001/hide", {"hidden": "1"}, follow_redirects=False)
    assert hidden.headers["location"] == "/admin"
    for browser in (reader, Visitor(site)):
        assert browser.get("/papers/2401.00001").status_code == 404
        assert browser.get("/api/papers/2401.00001").status_code == 404
        for path in (f"/day/{day}", "/search?q=sparse", "/trending?period=day", f"/top/{day}"):
            assert "Sparse Attention at Scale" not in browser.get(path).text, path
    assert "Sparse Attention at Scale" in admin.get("/admin").text
    admin.post("/admin/papers/2401.00001/hide", {"hidden": "0"})
    assert reader.get("/papers/2401.00001").status_code == 200


def test_hidden_comments_disappear_for_everyone_but_admins(site: PaperFeed) -> None:
    alice = site.store.users.by_name("alice")
    comment = site.add_comment(alice, "2401.00001", "an unkind remark")
    admin = Visitor(site).log_in_as(site.store.users.by_name("root"))
    admin.post(f"/admin/comments/{comment.id}/hide", {"hidden": "1", "next": "/papers/2401.00001"})
    for browser in (Visitor(site), Visitor(site).log_in_as(alice)):
        assert "an unkind remark" not in browser.get("/papers/2401.00001").text
        assert "an unkind remark" not in browser.get("/api/papers/2401.00001/comments").text
    assert "an unkind remark" in admin.get("/papers/2401.00001").text
    assert "an unkind remark" in admin.get("/admin").text
