"""What the community tests share: fast password hashing, recorded arXiv API answers, and a
TestClient used the way a browser uses the pages (logged in by cookie, sending CSRF tokens)."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest
from argon2 import PasswordHasher, profiles
from fastapi.testclient import TestClient

from paperfeed.community import accounts
from paperfeed.core import PaperFeed
from paperfeed.ingest.arxiv_api import ArxivClient
from paperfeed.models import User
from paperfeed.text import parse_arxiv_id
from paperfeed.web.app import create_app
from paperfeed.web.security import CSRF_HEADER, SESSION_COOKIE

ARXIV = Path(__file__).resolve().parent / "fixtures" / "arxiv"
PASSWORD = "correct horse battery"
# Which recorded answer the arXiv API gives for which requested paper.
RECORDED = {"1706.03762": "id_list.xml", "hep-th/9711200": "id_list.xml", "2401.99999": "hostile.xml"}
_TOKEN_RE = re.compile(r'name="csrf_token" value="([^"]*)"')


def cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Argon2id itself, with its smallest parameters: hundreds of times faster for tests."""
    monkeypatch.setattr(accounts, "PASSWORD_HASHER", PasswordHasher.from_parameters(profiles.CHEAPEST))


class RecordedArxiv:
    """An httpx transport handler answering id_list requests with recorded responses."""

    def __init__(self, answers: dict[str, str] | None = None, *, status: int = 200) -> None:
        self.answers = RECORDED if answers is None else answers
        self.status = status
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        wanted = parse_arxiv_id(request.url.params.get("id_list", ""))
        name = self.answers.get(wanted[0], "id_list_empty.xml") if wanted else "id_list_empty.xml"
        return httpx.Response(
            self.status, content=(ARXIV / name).read_bytes(), headers={"Content-Type": "application/atom+xml"}
        )


def use_recorded_arxiv(
    core: PaperFeed, answers: dict[str, str] | None = None, *, status: int = 200
) -> RecordedArxiv:
    """Point the core's arXiv client at recorded answers (no pauses, no retries)."""
    recorder = RecordedArxiv(answers, status=status)
    http = httpx.Client(transport=httpx.MockTransport(recorder))
    core.arxiv_client = ArxivClient(http, delay=0, attempts=1, sleep=lambda _: None)
    return recorder


def page_token(page: str) -> str:
    """The CSRF token a page's forms carry."""
    match = _TOKEN_RE.search(page)
    assert match, "the page has no form with a CSRF token"
    return match.group(1)


class Visitor:
    """One browser: its own cookies, and the CSRF token of its session on every post."""

    def __init__(self, core: PaperFeed, *, base_url: str = "http://testserver") -> None:
        self.core = core
        self.client = TestClient(create_app(core), base_url=base_url)

    def token(self) -> str:
        return self.client.get("/api/session").json()["csrf_token"]

    def get(self, path: str, **kwargs) -> httpx.Response:
        return self.client.get(path, **kwargs)

    def post(self, path: str, data: dict | None = None, **kwargs) -> httpx.Response:
        return self.client.post(path, data={**(data or {}), "csrf_token": self.token()}, **kwargs)

    def api(self, method: str, path: str, json: object = None) -> httpx.Response:
        return self.client.request(method, path, json=json, headers={CSRF_HEADER: self.token()})

    def sign_up(self, name: str, password: str = PASSWORD) -> httpx.Response:
        return self.post("/signup", {"name": name, "password": password, "password2": password})

    def log_in(self, name: str, password: str = PASSWORD) -> httpx.Response:
        return self.post("/login", {"name": name, "password": password}, follow_redirects=False)

    def log_in_as(self, user: User) -> Visitor:
        """Logged in without the form (the session a log-in would make)."""
        _, token = self.core.log_in(user.name, PASSWORD, address="203.0.113.9")
        self.client.cookies.set(SESSION_COOKIE, token)
        return self


def make_user(core: PaperFeed, name: str, *, admin: bool = False) -> User:
    return core.create_user(name, PASSWORD, admin=admin)


class _Markup(HTMLParser):
    """Every tag and attribute of a page, as a browser's parser sees them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


class _Fields(HTMLParser):
    """The ids of a page, its form fields and the labels around them or pointing at them."""

    UNLABELLED_TYPES = {"hidden", "submit", "button", "reset", "image"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.ids: list[str] = []
        self.label_targets: set[str] = set()
        self.fields: list[tuple[str, dict[str, str | None], bool]] = []  # (tag, attributes, wrapped)
        self._open_labels = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if attributes.get("id"):
            self.ids.append(attributes["id"] or "")
        if tag == "label":
            self._open_labels += 1
            if attributes.get("for"):
                self.label_targets.add(attributes["for"] or "")
        elif tag in {"select", "textarea"} or (
            tag == "input" and (attributes.get("type") or "text") not in self.UNLABELLED_TYPES
        ):
            self.fields.append((tag, attributes, self._open_labels > 0))

    def handle_endtag(self, tag: str) -> None:
        if tag == "label" and self._open_labels:
            self._open_labels -= 1


def assert_ids_unique_and_fields_labelled(page: str) -> None:
    """No id is used twice, and every form field has a `<label>`: around it or naming its id."""
    parser = _Fields()
    parser.feed(page)
    parser.close()
    twice = sorted({name for name in parser.ids if parser.ids.count(name) > 1})
    assert not twice, f"ids used more than once: {twice}"
    unlabelled = [
        (tag, attributes.get("name"))
        for tag, attributes, wrapped in parser.fields
        if not wrapped and attributes.get("id") not in parser.label_targets
    ]
    assert not unlabelled, f"fields without a label: {unlabelled}"


def assert_inert(page: str) -> None:
    """The page runs no script but htmx and the math typesetter, has no event-handler attribute
    and no javascript: URL."""
    parser = _Markup()
    parser.feed(page)
    parser.close()
    scripts = [attrs for tag, attrs in parser.tags if tag == "script"]
    assert scripts == [
        {"src": "/static/htmx.min.js", "defer": None},
        {"src": "/static/math.js", "defer": None},
        {"src": "/static/ui.js", "defer": None},
    ], scripts
    for tag, attrs in parser.tags:
        assert tag not in {"iframe", "object", "embed", "svg", "math", "base"}, tag
        for name, value in attrs.items():
            assert not name.startswith("on"), (tag, name, value)
            if name in {"href", "src", "action", "formaction", "hx-post", "hx-get"} and value:
                assert not value.strip().lower().startswith(("javascript:", "data:", "vbscript:")), (
                    tag,
                    value,
                )
