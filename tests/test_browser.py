"""The community features in a real browser: Playwright drives Debian's Chromium against
`paperfeed serve` through sign-up, log-in, submitting, upvoting, commenting and moderation,
saving a screenshot of every step into test-artifacts/screenshots/.

The server runs as a subprocess on a free port over a data directory holding the demo data.
It cannot reach arXiv, so its arXiv API address points at a small local server that answers
with a recorded response.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import http.server
import os
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from helpers import add_papers, paper
from paperfeed.config import Settings
from paperfeed.core import PaperFeed
from paperfeed.ingest.hf_daily import HFDailyTextSource
from paperfeed.models import PaperRecord, SourceItem
from serving import serving

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
DEMO_DIR = ROOT / "src" / "paperfeed" / "demo" / "hf-daily-papers"
RECORDED_ATOM = Path(__file__).resolve().parent / "fixtures" / "arxiv" / "id_list.xml"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]
PASSWORD = "correct horse battery"
DEMO_IMPORTED_ON = dt.date(2025, 12, 31)
ADMIN_PASSWORD = "admin password 123"
PREMADE_READERS = ("foryou-reader", "author-reader")
OVERLOADED_ID = "9912.00001"
LONG_WORD_TITLE = "Pneumonoultramicroscopicsilicovolcanoconiosis" * 6
AUTHORED_DAY = DEMO_IMPORTED_ON - dt.timedelta(days=30)
AUTHORED_PAPERS = [("2511.09001", "Notes on the Analytical Engine"), ("2511.09002", "Bernoulli Numbers by Machine")]


class _RecordedArxiv(http.server.BaseHTTPRequestHandler):
    """arXiv's API as the server sees it: every query answered with the recorded response."""

    requests: list[str] = []

    def do_GET(self) -> None:
        type(self).requests.append(self.path)
        if OVERLOADED_ID in self.path:  # arXiv down for this one
            self.send_response(503)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = RECORDED_ATOM.read_bytes()
        self.send_response(200)
        self.send_header("Content-Type", "application/atom+xml; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def arxiv_stub() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _RecordedArxiv)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/api/query"
    server.shutdown()
    server.server_close()


def _paperfeed(*args: str, env: dict[str, str], stdin: str = "") -> subprocess.CompletedProcess:
    command = [str(Path(sys.executable).with_name("paperfeed")), *args]
    return subprocess.run(command, env=env, input=stdin, capture_output=True, text=True, timeout=120)


class DemoAsOf(HFDailyTextSource):
    """A demo page imported as of a past day, papers without a day included, so that today's
    daily page holds only what the test submits."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, today=DEMO_IMPORTED_ON)

    def items(self) -> Iterator[SourceItem]:
        for source_item in super().items():
            if isinstance(source_item.item, PaperRecord) and source_item.item.listed_on is None:
                source_item.item.listed_on = DEMO_IMPORTED_ON
            yield source_item


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, arxiv_stub: str) -> Iterator[str]:
    """`paperfeed serve` over a fresh data directory with the demo data and an admin named root."""
    data_dir = tmp_path_factory.mktemp("browser-data")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAPERFEED_")}
    env.update(PAPERFEED_DATA_DIR=str(data_dir), PAPERFEED_ARXIV_API_URL=arxiv_stub)
    core = PaperFeed(Settings(data_dir=data_dir))
    core.import_sources([DemoAsOf(path) for path in sorted(DEMO_DIR.iterdir())])
    add_papers(
        core,
        paper(LONG_WORD_TITLE, "An abstract with " + "unbroken" * 40 + " in it.", listed_on=DEMO_IMPORTED_ON),
        # The demo papers name no authors; these do (a month earlier, off the demo day's page).
        *(
            paper(title, arxiv_id=arxiv_id, listed_on=AUTHORED_DAY, authors=["Ada Lovelace", "Charles Babbage"])
            for arxiv_id, title in AUTHORED_PAPERS
        ),
    )
    # Accounts made here: sign-ups from one address are limited to a few an hour, and the tests
    # that sign up through the form use them all.
    for name in PREMADE_READERS:
        core.create_user(name, PASSWORD)
    core.close()
    created = _paperfeed(
        "admin", "create-user", "root", "--admin", "--password-stdin", env=env, stdin=ADMIN_PASSWORD
    )
    assert created.returncode == 0, created.stderr
    # A second admin for the tests that do not go through log-in throttling (which locks out root).
    created = _paperfeed(
        "admin", "create-user", "editor", "--admin", "--password-stdin", env=env, stdin=ADMIN_PASSWORD
    )
    assert created.returncode == 0, created.stderr

    with serving(env) as base:
        yield base


@contextlib.contextmanager
def launched_chromium() -> Iterator[object]:
    """Debian's Chromium under Playwright, with the screenshots folder there to write into."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing; install Debian's chromium (scripts/test does)", pytrace=False)
    from playwright.sync_api import sync_playwright

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def chromium() -> Iterator[object]:
    shutil.rmtree(SCREENSHOTS, ignore_errors=True)  # this module's run starts the screenshots afresh
    with launched_chromium() as browser:
        yield browser


class Tab:
    """One person's browser tab, recording what a person would notice: navigations, dialogs,
    console errors (a Content-Security-Policy violation is one)."""

    def __init__(self, browser: object, base: str) -> None:
        self.base = base
        self.context = browser.new_context(viewport={"width": 1100, "height": 900})  # type: ignore[attr-defined]
        self.page = self.context.new_page()
        self.navigations: list[str] = []
        self.dialogs: list[str] = []
        self.errors: list[str] = []
        self.page.on(
            "framenavigated",
            lambda frame: frame == self.page.main_frame and self.navigations.append(frame.url),
        )
        self.page.on("dialog", lambda dialog: (self.dialogs.append(dialog.message), dialog.dismiss()))
        self.page.on("console", lambda message: message.type == "error" and self.errors.append(message.text))
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))

    def go(self, path: str) -> None:
        self.page.goto(self.base + path)

    def shot(self, name: str) -> None:
        self.page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)

    def fill_and_submit(self, form: str, **fields: str) -> None:
        for name, value in fields.items():
            self.page.locator(f"{form} [name={name}]").fill(value)
        with self.page.expect_navigation():
            self.page.locator(f"{form} button[type=submit]").click()

    def log_in(self, name: str, password: str) -> None:
        self.go("/login")
        self.fill_and_submit("form.stack-form", name=name, password=password)

    def close(self) -> None:
        self.context.close()


def test_a_reader_signs_up_submits_upvotes_and_comments_and_an_admin_moderates(
    server: str, chromium: object
) -> None:
    from playwright.sync_api import expect

    today = dt.datetime.now(dt.UTC).date().isoformat()
    alice = Tab(chromium, server)
    alice.go("/")
    expect(alice.page.locator(".user-nav")).to_contain_text("Sign up")
    alice.shot("01-home")

    # sign up
    alice.page.locator(".user-nav a", has_text="Sign up").click()
    alice.fill_and_submit("form.stack-form", name="alice", password=PASSWORD, password2=PASSWORD)
    expect(alice.page.locator(".user-nav .user-name")).to_have_text("alice")
    alice.shot("02-signed-up")

    # log out, then log in again
    alice.page.locator(".account-menu summary").click()
    with alice.page.expect_navigation():
        alice.page.locator(".user-nav button", has_text="Log out").click()
    expect(alice.page.locator(".user-nav")).to_contain_text("Log in")
    alice.log_in("alice", "not my password")
    expect(alice.page.locator(".form-error")).to_have_text("wrong user name or password")
    alice.shot("03-wrong-password")
    alice.fill_and_submit("form.stack-form", name="alice", password=PASSWORD)
    expect(alice.page.locator(".user-nav .user-name")).to_have_text("alice")
    alice.shot("04-logged-in")

    # submit a paper (the server fetches it from the recorded arXiv)
    alice.page.locator(".user-nav a", has_text="Submit").click()
    alice.page.wait_for_url("**/submit")
    alice.shot("05-submit-form")
    alice.fill_and_submit("form.stack-form", ref="https://arxiv.org/abs/1706.03762")
    assert alice.page.url.endswith("/papers/1706.03762?submitted=1")
    expect(alice.page.locator("h1")).to_have_text("Attention Is All You Need")
    expect(alice.page.locator(".paper-actions .submitted-by")).to_contain_text("Submitted by alice")
    alice.shot("06-submitted-paper")
    assert any("id_list=1706.03762" in path for path in _RecordedArxiv.requests)

    # it is on today's page with "submitted by"; upvote it there without a page load
    alice.go(f"/day/{today}")
    card = alice.page.locator("article.card", has_text="Attention Is All You Need")
    expect(card).to_contain_text("submitted by alice")
    expect(card.locator(".vote-count")).to_have_text("0")
    navigations = len(alice.navigations)
    card.locator(".vote-button").click()
    expect(card.locator(".vote-count")).to_have_text("1")
    expect(card.locator(".vote-button")).to_have_attribute("aria-pressed", "true")
    card.locator(".vote-button").click()
    expect(card.locator(".vote-count")).to_have_text("0")
    card.locator(".vote-button").click()
    expect(card.locator(".vote-count")).to_have_text("1")
    assert len(alice.navigations) == navigations, "the upvote reloaded the page"
    alice.shot("07-upvoted-in-place")
    alice.page.reload()
    expect(
        alice.page.locator("article.card", has_text="Attention Is All You Need").locator(".vote-count")
    ).to_have_text("1")

    # comment in Markdown, with a script that must stay text
    alice.go("/papers/1706.03762")
    alice.fill_and_submit(
        "form.comment-form",
        body="Great **paper**. <script>alert('xss')</script> See [the code](https://example.org).",
    )
    comment = alice.page.locator("li.comment").first
    expect(comment.locator(".comment-body strong")).to_have_text("paper")
    expect(comment.locator(".comment-body")).to_contain_text("<script>alert('xss')</script>")
    expect(comment.locator(".comment-body a")).to_have_attribute("rel", "nofollow noopener ugc")
    comment.locator("summary", has_text="Reply").click()
    alice.fill_and_submit("li.comment form.comment-form", body="And a *reply*.")
    expect(alice.page.locator(".comment-replies .comment-body em")).to_have_text("reply")
    alice.shot("08-commented")

    # an admin created on the command line hides the comment, then the paper, then suspends alice
    admin = Tab(chromium, server)
    admin.log_in("root", ADMIN_PASSWORD)
    expect(admin.page.locator(".user-nav")).to_contain_text("Moderation")
    admin.go("/papers/1706.03762")
    first = admin.page.locator("li.comment").first
    with admin.page.expect_navigation():
        first.locator(".comment-actions > form button", has_text="Hide").first.click()
    expect(admin.page.locator("li.comment").first.locator(".badge-hidden")).to_have_text("hidden from others")
    admin.shot("09-admin-hid-comment")

    alice.page.reload()
    expect(alice.page.locator("li.comment").first.locator("> .comment-body")).to_have_text(
        "[removed by a moderator]"
    )
    expect(alice.page.locator(".comment-replies")).to_contain_text("And a reply.")
    alice.shot("10-reader-sees-comment-removed")

    admin.page.locator(".paper-actions summary", has_text="Hide paper").click()  # it asks first
    with admin.page.expect_navigation():
        admin.page.locator(".paper-actions button", has_text="Yes, hide it").click()
    assert admin.page.url.endswith("/admin")
    expect(admin.page.locator(".flash")).to_contain_text("is hidden from every page")
    expect(admin.page.locator(".flash button", has_text="Undo")).to_be_visible()
    expect(admin.page.locator("#hidden-papers")).to_contain_text("Attention Is All You Need")
    admin.shot("11-admin-moderation")

    alice.page.reload()
    expect(alice.page.locator("h1")).to_have_text("Not found")
    alice.go(f"/day/{today}")
    expect(alice.page.locator("main")).not_to_contain_text("Attention Is All You Need")
    alice.shot("12-reader-sees-paper-gone")

    admin.fill_and_submit("#suspended-users form.stack-form", name="alice")
    expect(admin.page.locator(".flash")).to_have_text(re.compile("alice is suspended: they cannot log in or post"))
    expect(admin.page.locator("#suspended-users")).to_contain_text("alice")
    alice.page.reload()
    expect(alice.page.locator(".user-nav")).to_contain_text("Log in")
    alice.log_in("alice", PASSWORD)
    expect(alice.page.locator(".form-error")).to_contain_text("suspended")
    alice.shot("13-suspended-user-cannot-log-in")

    admin.go("/trending?period=week")
    admin.shot("14-trending")

    for tab in (alice, admin):
        assert tab.dialogs == [], "a script ran"
        assert not [e for e in tab.errors if "Content Security Policy" in e or "Refused" in e], tab.errors
        tab.close()
    assert sorted(p.name for p in SCREENSHOTS.glob("*.png"))[:2] == ["01-home.png", "02-signed-up.png"]


def test_repeated_bad_log_ins_are_throttled_in_the_browser(server: str, chromium: object) -> None:
    from playwright.sync_api import expect

    tab = Tab(chromium, server)
    error = tab.page.locator(".form-error")
    for _ in range(3):  # the misses one address gets at one account before it has to wait
        tab.log_in("root", "guessing wrong")
        expect(error).to_have_text("wrong user name or password")
    # Each further miss doubles the wait (2 s, 4 s, 8 s, ...); a guess inside the wait is refused
    # unchecked. Wait out the waits until two more misses count, so that the wait left (8 s) is
    # long enough for even a slow browser to bring the owner's password inside it.
    throttled = re.compile(r"Too many failed log-ins for this account\. Try again in (\d+) seconds?\.")
    misses, seen = 3, []
    for _ in range(10):
        if misses == 5:
            break
        tab.log_in("root", "guessing wrong")
        expect(error).to_have_count(1)
        seen.append(error.inner_text().strip())
        wait = throttled.fullmatch(seen[-1])
        if wait:
            tab.page.wait_for_timeout(int(wait.group(1)) * 1000 + 300)
        else:
            assert seen[-1] == "wrong user name or password"
            misses += 1
    assert misses == 5, seen
    assert any(throttled.fullmatch(text) for text in seen), seen  # the guesser was made to wait
    tab.log_in("root", ADMIN_PASSWORD)
    expect(error).to_have_text(throttled)
    tab.shot("15-log-in-throttled")
    tab.close()


def _feed_answers(base: str, href: str) -> bool:
    answer = httpx.get(base + href, timeout=30)
    return answer.status_code == 200 and answer.headers["content-type"].startswith(
        ("application/atom+xml", "application/rss+xml")
    )


def test_subscriptions_settings_and_feeds_are_linked_from_the_pages(server: str, chromium: object) -> None:
    from playwright.sync_api import expect

    tab = Tab(chromium, server)
    tab.go("/")
    box = tab.page.locator(".subscribe-box")
    expect(box.locator("input[type=email]")).to_be_visible()
    expect(box.locator("button", has_text="Subscribe")).to_be_visible()
    for path in ("/", "/trending?period=week", "/search?q=diffusion"):
        tab.go(path)
        links = tab.page.locator(".feed-links a.chip", has_text="Atom")
        expect(links.first).to_be_visible()
        assert _feed_answers(server, links.first.get_attribute("href")), path
        rss = tab.page.locator(".feed-links a.chip", has_text="RSS").first.get_attribute("href")
        assert _feed_answers(server, rss), path
    expect(tab.page.locator("a", has_text="Get new matches by e-mail")).to_be_visible()
    expect(tab.page.locator(".site-footer a", has_text="Subscribe by e-mail")).to_be_visible()

    tab.go("/signup")
    tab.fill_and_submit("form.stack-form", name="menu-reader", password=PASSWORD, password2=PASSWORD)
    tab.page.locator(".account-menu summary").click()
    menu = tab.page.locator(".account-menu ul")
    for label in ("Account settings", "Subscriptions", "For you", "Library", "Saved papers", "Log out"):
        expect(menu.get_by_text(label)).to_be_visible()
    tab.shot("20-account-menu")
    with tab.page.expect_navigation():
        menu.get_by_text("Subscriptions").click()
    expect(tab.page.locator("h1")).to_have_text("Your subscriptions")
    tab.go("/account")
    expect(tab.page.locator("main a", has_text="Saved papers")).to_be_visible()
    with tab.page.expect_navigation():
        tab.page.locator("main a", has_text="Saved papers").click()
    expect(tab.page.locator("h1")).to_have_text("Saved")  # the default collection's page
    tab.close()

    admin = Tab(chromium, server)
    admin.log_in("editor", ADMIN_PASSWORD)
    admin.go("/admin")
    with admin.page.expect_navigation():
        admin.page.locator("main a", has_text="Digest deliveries").click()
    assert admin.page.url.endswith("/admin/digests")
    admin.close()


def test_formulas_are_typeset_by_the_vendored_katex(server: str, chromium: object) -> None:
    from playwright.sync_api import expect

    found = httpx.get(server + "/api/search", params={"q": "LightHGNN", "mode": "keyword"}, timeout=30).json()
    url_id = found["items"][0]["paper"]["url_id"]
    tab = Tab(chromium, server)
    requests: list[str] = []
    tab.page.on("request", lambda request: requests.append(request.url))
    tab.go(f"/papers/{url_id}")
    title = tab.page.locator("h1")
    expect(title.locator(".math .katex")).to_have_count(1)
    expect(title).to_contain_text("Faster Inference")
    assert "$" not in title.inner_text()
    tab.shot("21-math-typeset")
    assert all(url.startswith(server) for url in requests), [u for u in requests if not u.startswith(server)]
    assert any("/static/vendor/katex/katex.min.js" in url for url in requests)
    assert not tab.errors, tab.errors

    tab.go("/")  # a page without formulas does not fetch KaTeX
    requests.clear()
    tab.page.reload()
    assert not any("katex" in url for url in requests)
    tab.close()


def test_the_api_docs_render_offline(server: str, chromium: object) -> None:
    from playwright.sync_api import expect

    tab = Tab(chromium, server)
    requests: list[str] = []
    tab.page.on("request", lambda request: requests.append(request.url))
    tab.go("/api/docs")
    expect(tab.page.locator(".swagger-ui .info .title")).to_contain_text("paperfeed")
    expect(tab.page.locator(".opblock-summary-path", has_text="/api/search").first).to_be_visible()
    assert tab.page.locator("html").get_attribute("lang") == "en"
    assert all(url.startswith(server) for url in requests), [u for u in requests if not u.startswith(server)]
    assert not tab.errors, tab.errors
    tab.shot("22-api-docs")
    tab.close()


def test_submitting_while_arxiv_is_down_shows_progress_then_one_sentence(
    server: str, chromium: object
) -> None:
    from playwright.sync_api import expect

    tab = Tab(chromium, server)
    tab.go("/signup")
    tab.fill_and_submit("form.stack-form", name="offline-reader", password=PASSWORD, password2=PASSWORD)
    tab.go("/submit")
    tab.page.locator("input[name=ref]").fill(OVERLOADED_ID)
    progress = tab.page.locator("#submit-progress")
    expect(progress).to_be_hidden()
    tab.page.locator("form.stack-form button[type=submit]").click()
    expect(progress).to_be_visible()  # while the server asks arXiv
    expect(tab.page.locator("form.stack-form button[type=submit]")).to_be_disabled()
    error = tab.page.locator(".form-error")
    expect(error).to_have_text(
        f"arXiv cannot be reached right now, so arXiv:{OVERLOADED_ID} could not be fetched. Try again in a few minutes."
    )
    expect(tab.page.locator("input[name=ref]")).to_have_value(OVERLOADED_ID)
    expect(progress).to_be_hidden()
    tab.shot("23-submit-arxiv-down")
    assert not tab.errors, tab.errors
    tab.close()


PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


def test_no_page_scrolls_sideways_on_a_phone_or_a_desktop(server: str, chromium: object) -> None:
    """Every page at phone and desktop width, light and dark: nothing wider than the screen, even
    with a paper whose title and abstract are one unbroken word. Screenshots of each."""
    found = httpx.get(server + "/api/search", params={"q": "LightHGNN", "mode": "keyword"}, timeout=30).json()
    math_paper = found["items"][0]["paper"]["url_id"]
    long_id = None
    for number in range(1, 20):  # the day's list, most upvoted first: the new paper is near the end
        listed = httpx.get(
            server + f"/api/days/{DEMO_IMPORTED_ON.isoformat()}",
            params={"page": number, "per_page": 100},
            timeout=30,
        ).json()
        long_id = next((p["url_id"] for p in listed["papers"] if p["title"] == LONG_WORD_TITLE), None)
        if long_id or number >= listed["pages"]:
            break
    assert long_id is not None
    anonymous = ["/", f"/day/{DEMO_IMPORTED_ON.isoformat()}", f"/week/{DEMO_IMPORTED_ON.isoformat()}",
                 f"/month/{DEMO_IMPORTED_ON:%Y-%m}", "/trending?period=week", "/search",
                 "/search?q=diffusion", f"/search?q={LONG_WORD_TITLE[:60]}", f"/papers/{math_paper}",
                 f"/papers/{long_id}", "/subscribe", "/login", "/signup", "/no/such/page",
                 "/authors/Ada%20Lovelace"]  # fmt: skip
    logged_in = ["/submit", "/account", "/settings/subscriptions", "/saved", "/collections", "/admin",
                 "/admin/digests", "/for-you?window=all"]  # fmt: skip
    for name, viewport in (("phone", PHONE), ("desktop", DESKTOP)):
        for scheme in ("light", "dark"):
            context = chromium.new_context(viewport=viewport, color_scheme=scheme)  # type: ignore[attr-defined]
            page = context.new_page()
            page.goto(server + "/login")
            page.locator("form.stack-form [name=name]").fill("editor")
            page.locator("form.stack-form [name=password]").fill(ADMIN_PASSWORD)
            with page.expect_navigation():
                page.locator("form.stack-form button[type=submit]").click()
            for path in anonymous + logged_in:
                page.goto(server + path)
                width = page.evaluate("document.documentElement.scrollWidth")
                assert width <= viewport["width"], (
                    f"{path} is {width} px wide on a {viewport['width']} px {name}"
                )
            for path, label in (
                ("/", "daily"),
                (f"/papers/{math_paper}", "paper"),
                ("/search?q=diffusion", "search"),
            ):
                page.goto(server + path)
                page.screenshot(path=str(SCREENSHOTS / f"30-{label}-{name}-{scheme}.png"), full_page=False)
            context.close()


def test_a_reader_keeps_a_library_collections_notes_citations_and_similar_papers(
    server: str, chromium: object
) -> None:
    from playwright.sync_api import expect

    reader = Tab(chromium, server)
    reader.go("/signup")
    reader.fill_and_submit("form.stack-form", name="librarian", password=PASSWORD, password2=PASSWORD)

    # a new collection, from the library page
    reader.page.locator(".account-menu summary").click()
    with reader.page.expect_navigation():
        reader.page.locator(".account-menu a", has_text="Library").click()
    assert reader.page.url.endswith("/collections")
    reader.fill_and_submit("section.new-collection form", name="To read")
    expect(reader.page.locator("h1")).to_have_text("To read")
    reader.shot("24-new-collection")

    # add a paper from a listing, in place (htmx): no page load
    reader.go("/search?q=diffusion")
    card = reader.page.locator("article.card").first
    title = card.locator(".card-title").inner_text()
    navigations = len(reader.navigations)
    card.locator("form.collect select").select_option(label="To read")
    card.locator("form.collect button", has_text="Add to collection").click()
    expect(card.locator("form.collect .collected")).to_contain_text("To read")
    assert len(reader.navigations) == navigations, "adding to a collection reloaded the page"
    reader.shot("25-added-in-place")

    # a private note on the paper page, and its citation
    card.locator(".card-title a").click()
    reader.page.wait_for_url("**/papers/**")
    reader.page.locator("#note-body").fill("Compare with **our baseline**")
    with reader.page.expect_navigation():
        reader.page.locator("form.note-form button").click()
    expect(reader.page.locator(".note-body strong")).to_have_text("our baseline")
    reader.page.locator("details.cite summary").click()
    expect(reader.page.locator("details.cite pre.bibtex")).to_contain_text("@")
    reader.shot("26-note-and-cite")

    # the collection shows the paper with the note; "More like this" finds others
    reader.page.locator(".account-menu summary").click()
    with reader.page.expect_navigation():
        reader.page.locator(".account-menu a", has_text="Library").click()
    reader.page.locator(".collection-list a", has_text="To read").click()
    expect(reader.page.locator("article.card .card-title")).to_have_text(title)
    expect(reader.page.locator(".card-note")).to_contain_text("our baseline")
    reader.page.locator("a.button", has_text="More like this").click()
    expect(reader.page.locator("h1")).to_contain_text("More like the collection")
    expect(reader.page.locator("article.card").first).to_be_visible()
    expect(reader.page.locator(".card-reason").first).to_contain_text("like “")
    reader.shot("27-more-like-this")

    # library search finds the paper by the note's words
    reader.go("/collections?q=baseline")
    expect(reader.page.locator(".library-results article.card .card-title")).to_have_text(title)
    assert reader.errors == [], reader.errors
    reader.close()


def test_quick_actions_say_why_they_failed_and_keep_focus_and_typed_text(server: str, chromium: object) -> None:
    """An upvote keeps keyboard focus on its button; an upvote or a comment sent after the session
    ended says so in one sentence, and the typed comment is still there, even after logging in."""
    from playwright.sync_api import expect

    tab = Tab(chromium, server)
    tab.go("/signup")
    tab.fill_and_submit("form.stack-form", name="stale-reader", password=PASSWORD, password2=PASSWORD)
    tab.go(f"/day/{DEMO_IMPORTED_ON.isoformat()}")
    card = tab.page.locator("article.card").first
    count = card.locator(".vote-count")
    before = int(count.inner_text())
    card.locator(".vote-button").focus()
    tab.page.keyboard.press("Enter")
    expect(count).to_have_text(str(before + 1))
    assert tab.page.evaluate("document.activeElement.classList.contains('vote-button')")
    tab.page.keyboard.press("Enter")  # still on the button: a second press takes the vote back
    expect(count).to_have_text(str(before))

    message = tab.page.locator("#client-message")
    expect(message).to_be_hidden()
    tab.context.clear_cookies(name="paperfeed_session")  # logged out elsewhere
    card.locator(".vote-button").click()
    expect(message).to_be_visible()
    expect(message).to_contain_text("This form has expired")
    expect(count).to_have_text(str(before))
    assert tab.page.evaluate("document.activeElement.classList.contains('vote-button')")
    tab.shot("28-vote-with-expired-session")

    tab.log_in("stale-reader", PASSWORD)
    href = card.locator(".card-title a").get_attribute("href")
    tab.go(href)
    text = "A thought worth keeping: the ablation in section 4 is missing."
    field = tab.page.locator("#comment-body-new")
    field.fill(text)
    tab.context.clear_cookies(name="paperfeed_session")
    field.locator("xpath=..").locator("button[type=submit]").click()
    expect(message).to_be_visible()
    expect(message).to_contain_text("This form has expired")
    expect(field).to_have_value(text)
    tab.shot("29-comment-with-expired-session")

    tab.log_in("stale-reader", PASSWORD)
    tab.go(href)
    expect(field).to_have_value(text)  # the draft came back with the form
    with tab.page.expect_navigation():
        field.locator("xpath=..").locator("button[type=submit]").click()
    expect(tab.page.locator("li.comment .comment-body", has_text="ablation in section 4")).to_be_visible()
    tab.page.reload()
    expect(field).to_have_value("")  # posted: no draft left
    assert not [e for e in tab.errors if "Content Security Policy" in e], tab.errors
    tab.close()


def test_a_reader_saves_a_paper_and_for_you_recommends_others_with_reasons(server: str, chromium: object) -> None:
    from playwright.sync_api import expect

    reader = Tab(chromium, server)
    reader.go("/for-you")
    assert "/login?next=%2Ffor-you" in reader.page.url  # anonymous: log in first
    reader.log_in("foryou-reader", PASSWORD)

    # a new account is told what to do
    reader.page.locator(".account-menu summary").click()
    with reader.page.expect_navigation():
        reader.page.locator(".account-menu a", has_text="For you").click()
    expect(reader.page.locator(".empty")).to_contain_text("Nothing to recommend yet")
    reader.shot("40-for-you-empty")

    # save a paper from its page
    reader.go("/search?q=speculative+decoding")
    saved_title = reader.page.locator("article.card .card-title").first.inner_text()
    with reader.page.expect_navigation():
        reader.page.locator("article.card .card-title a").first.click()
    with reader.page.expect_navigation():
        reader.page.locator(".paper-actions button", has_text="☆ Save").click()
    expect(reader.page.locator(".paper-actions button", has_text="★ Saved")).to_be_visible()

    # For you now recommends papers, each saying which saved paper it is like
    reader.page.locator(".account-menu summary").click()
    with reader.page.expect_navigation():
        reader.page.locator(".account-menu a", has_text="For you").click()
    with reader.page.expect_navigation():
        reader.page.locator("nav.tabs a", has_text="All time").click()
    cards = reader.page.locator("ol.cards article.card")
    expect(cards.first).to_be_visible()
    expect(cards.first.locator(".card-reason")).to_have_text(f"because you liked “{saved_title}”")
    assert saved_title not in cards.locator(".card-title").all_inner_texts()
    reader.shot("41-for-you")

    # "Not interested" takes the card away in place (htmx): no page load, and an Undo
    first_title = cards.first.locator(".card-title").inner_text()
    count = cards.count()
    navigations = len(reader.navigations)
    cards.first.locator("form.dismiss button").click()
    notice = reader.page.locator(".card-dismissed")
    expect(notice).to_contain_text(f"“{first_title}” will not be recommended again.")
    expect(cards).to_have_count(count - 1)
    assert len(reader.navigations) == navigations, "Not interested reloaded the page"
    reader.shot("42-not-interested")

    # Undo brings it back; dismissed again, it stays away on reload
    with reader.page.expect_navigation():
        reader.page.locator(".card-dismissed button", has_text="Undo").click()
    expect(reader.page.locator(".flash")).to_contain_text("may be recommended again")
    assert first_title in cards.locator(".card-title").all_inner_texts()
    cards.filter(has_text=first_title).locator("form.dismiss button").click()
    expect(reader.page.locator(".card-dismissed")).to_be_visible()
    reader.page.reload()
    expect(cards.first).to_be_visible()
    assert first_title not in cards.locator(".card-title").all_inner_texts()
    assert reader.errors == [], reader.errors
    reader.close()


def test_a_reader_goes_from_a_paper_to_its_author_and_follows_them_into_the_digest(
    server: str, chromium: object
) -> None:
    from playwright.sync_api import expect

    tab = Tab(chromium, server)
    tab.log_in("author-reader", PASSWORD)
    tab.go(f"/papers/{AUTHORED_PAPERS[0][0]}")
    author_link = tab.page.locator(".paper-authors a").first
    name = author_link.inner_text()
    with tab.page.expect_navigation():
        author_link.click()
    expect(tab.page.locator("h1.author-name")).to_have_text(name)
    expect(tab.page.locator("ol.cards article.card")).to_have_count(len(AUTHORED_PAPERS))
    expect(tab.page.locator(".author-coauthors a", has_text="Charles Babbage")).to_be_visible()
    feed = tab.page.locator(".topic-actions a", has_text="Atom feed").get_attribute("href")
    assert _feed_answers(server, feed)

    button = tab.page.locator("#follow-author")
    expect(button).to_have_text("Follow in your digest")
    address = tab.page.url
    button.click()  # htmx swaps the button in place: no navigation
    expect(tab.page.locator("#follow-author")).to_have_text("✓ Following in your digest")
    assert tab.page.url == address
    tab.shot("40-author-followed")

    tab.go("/settings/subscriptions")
    followed = tab.page.locator("#authors a", has_text=name)
    expect(followed).to_be_visible()
    with tab.page.expect_navigation():
        followed.click()
    expect(tab.page.locator("#follow-author")).to_have_text("✓ Following in your digest")
    tab.page.locator("#follow-author").click()
    expect(tab.page.locator("#follow-author")).to_have_text("Follow in your digest")
    tab.go("/settings/subscriptions")
    expect(tab.page.locator("#authors")).to_contain_text("None yet")
    assert tab.errors == []
    tab.close()
