"""Daily use in a real browser, at phone (390×844) and desktop (1280×900) sizes: the header and
the search filters fold away on a phone, and the digest forms (named saved searches that can be
run and deleted, the weekday only for weekly digests, the time zone from the browser) work with
and without JavaScript. Screenshots go to test-artifacts/screenshots/.

The server has an SMTP sink as its mail server, so subscribing goes through the real
confirmation mail."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from serving import demo_instance, serving
from smtp_sink import Mailbox
from test_browser import DESKTOP, PASSWORD, PHONE, SCREENSHOTS

pytestmark = pytest.mark.browser

HEADER_MAX_ON_A_PHONE_PX = 90
READERS = ("reader", "searcher")
KEY_PAGES = ["/", "/search", "/search?q=diffusion", "/trending", "/topics", "/subscribe", "/login",
             "/signup", "/account", "/settings/subscriptions", "/saved", "/collections", "/submit"]  # fmt: skip
# Every id used more than once, and every form field no <label> names (as the browser sees them).
FORM_PROBLEMS_JS = """() => {
  const ids = [...document.querySelectorAll("[id]")].map((e) => e.id);
  const twice = [...new Set(ids.filter((id, i) => ids.indexOf(id) !== i))];
  const fields = document.querySelectorAll(
    "input:not([type=hidden]):not([type=submit]):not([type=button]), select, textarea");
  const unlabelled = [...fields].filter((e) => e.labels.length === 0).map((e) => e.name || e.outerHTML);
  return {twice, unlabelled};
}"""


@pytest.fixture(scope="module")
def mailbox() -> Iterator[Mailbox]:
    box = Mailbox().start()
    yield box
    box.stop()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, models_dir: Path, mailbox: Mailbox) -> Iterator[str]:
    """`paperfeed serve` over the demo data, sending mail to the sink."""
    env, core = demo_instance(
        tmp_path_factory.mktemp("daily-use-data"),
        models_dir,
        smtp_host="127.0.0.1",
        smtp_port=str(mailbox.port),
        smtp_security="none",
        mail_from="paperfeed <digest@papers.example.org>",
    )
    for name in READERS:  # made here: sign-ups from one address are limited to a few an hour
        core.create_user(name, PASSWORD)
    core.close()
    with serving(env) as base:
        yield base



def _page(browser: object, viewport: dict, *, scheme: str = "light", script: bool = True, zone: str = "UTC"):
    context = browser.new_context(  # type: ignore[attr-defined]
        viewport=viewport, color_scheme=scheme, java_script_enabled=script, timezone_id=zone
    )
    return context.new_page()


def _log_in(page, base: str, name: str) -> None:
    page.goto(base + "/login")
    for field, value in (("name", name), ("password", PASSWORD)):
        page.locator(f"form.stack-form [name={field}]").fill(value)
    with page.expect_navigation():
        page.locator("form.stack-form button[type=submit]").click()


def _header_height(page) -> float:
    return page.locator(".site-header").bounding_box()["height"]


def _scroll_width(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth")


def _shot(page, name: str) -> None:
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


# --- the phone layout -------------------------------------------------------------------------------


@pytest.mark.parametrize("script", [True, False], ids=["with-script", "without-script"])
def test_on_a_phone_the_header_is_one_short_line_with_a_menu_that_opens(
    server: str, browser: object, script: bool
) -> None:
    from playwright.sync_api import expect

    page = _page(browser, PHONE, script=script)
    page.goto(server + "/")
    assert _header_height(page) <= HEADER_MAX_ON_A_PHONE_PX
    toggle = page.locator(".site-menu-toggle")
    expect(toggle).to_be_visible()
    nav = page.get_by_role("navigation", name="Main")
    expect(nav).to_be_hidden()

    toggle.click()
    expect(nav).to_be_visible()
    expect(page.get_by_role("searchbox", name="Search papers")).to_be_visible()
    expect(page.locator(".user-nav a", has_text="Log in")).to_be_visible()
    assert _scroll_width(page) <= PHONE["width"]
    with page.expect_navigation():
        nav.get_by_role("link", name="Trending").click()
    assert page.url.endswith("/trending")
    expect(nav).to_be_hidden()  # a new page starts with the menu folded
    page.context.close()


def test_logged_in_on_a_phone_the_account_links_open_inside_the_menu(server: str, browser: object) -> None:
    from playwright.sync_api import expect

    for scheme in ("light", "dark"):
        page = _page(browser, PHONE, scheme=scheme)
        _log_in(page, server, "reader")
        assert _header_height(page) <= HEADER_MAX_ON_A_PHONE_PX
        page.locator(".site-menu-toggle").click()
        page.locator(".account-menu summary").click()
        subscriptions = page.locator(".account-menu a", has_text="Subscriptions")
        expect(subscriptions).to_be_visible()
        box = subscriptions.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
        assert _scroll_width(page) <= PHONE["width"]
        page.screenshot(path=str(SCREENSHOTS / f"40-menu-phone-{scheme}.png"))
        page.context.close()


def test_on_a_desktop_the_header_keeps_its_one_line_without_a_menu_toggle(server: str, browser: object) -> None:
    from playwright.sync_api import expect

    page = _page(browser, DESKTOP)
    page.goto(server + "/")
    expect(page.locator(".site-menu-toggle")).to_be_hidden()
    nav = page.get_by_role("navigation", name="Main")
    expect(nav).to_be_visible()
    search = page.get_by_role("searchbox", name="Search papers")
    expect(search).to_be_visible()
    expect(page.locator(".user-nav a", has_text="Sign up")).to_be_visible()
    tops = {round(page.locator(selector).bounding_box()["y"]) for selector in (".logo", ".main-nav", ".user-nav")}
    assert max(tops) - min(tops) <= 10, tops  # one line
    assert _header_height(page) <= 70
    search.fill("diffusion")
    with page.expect_navigation():
        search.press("Enter")
    assert "/search?q=diffusion" in page.url
    page.context.close()


@pytest.mark.parametrize("script", [True, False], ids=["with-script", "without-script"])
def test_on_a_phone_the_search_filters_fold_until_opened_or_one_is_chosen(
    server: str, browser: object, script: bool
) -> None:
    from playwright.sync_api import expect

    page = _page(browser, PHONE, script=script)
    page.goto(server + "/search?q=diffusion")
    author = page.get_by_label("Author")
    expect(author).to_be_hidden()
    results_top = page.locator(".results-head").bounding_box()["y"]
    assert results_top < PHONE["height"] / 2  # the results start on the first screen
    page.locator(".filters-toggle", has_text="Filters").click()
    expect(author).to_be_visible()
    author.fill("Zhang")
    with page.expect_navigation():
        page.get_by_role("button", name="Search", exact=True).click()

    expect(author).to_be_visible()  # a filter is chosen: the fold stays open
    expect(page.locator(".filters-toggle")).to_have_text("Filters (1)")
    page.goto(server + "/search?q=diffusion&mode=keyword&sort=newest")
    expect(page.locator(".filters-toggle")).to_have_text("Filters (2)")
    expect(page.get_by_label("Mode")).to_have_value("keyword")
    assert _scroll_width(page) <= PHONE["width"]
    page.context.close()


def test_on_a_desktop_the_search_filters_are_always_shown(server: str, browser: object) -> None:
    from playwright.sync_api import expect

    page = _page(browser, DESKTOP)
    page.goto(server + "/search?q=diffusion")
    expect(page.locator(".filters-toggle")).to_be_hidden()
    for label in ("Author", "Category", "From", "To"):
        expect(page.get_by_role("textbox", name=label, exact=True)).to_be_visible()
    for label in ("Code", "Mode", "Sort"):
        expect(page.get_by_role("combobox", name=label, exact=True)).to_be_visible()
    page.context.close()


def test_the_changed_pages_at_phone_and_desktop_sizes_in_light_and_dark(server: str, browser: object) -> None:
    """Screenshots of each, and nothing wider than the screen."""
    for size, viewport in (("phone", PHONE), ("desktop", DESKTOP)):
        for scheme in ("light", "dark"):
            page = _page(browser, viewport, scheme=scheme)
            _log_in(page, server, "reader")
            for path, label in (("/", "daily"), ("/search?q=diffusion", "search"), ("/subscribe", "subscribe"),
                                ("/settings/subscriptions", "subscriptions")):  # fmt: skip
                page.goto(server + path)
                assert _scroll_width(page) <= viewport["width"], (path, size)
                page.screenshot(path=str(SCREENSHOTS / f"41-{label}-{size}-{scheme}.png"))
            page.context.close()


# --- the digest forms ---------------------------------------------------------------------------------


@pytest.mark.parametrize("script", [True, False], ids=["with-script", "without-script"])
def test_the_weekday_is_asked_only_for_weekly_digests(server: str, browser: object, script: bool) -> None:
    from playwright.sync_api import expect

    page = _page(browser, PHONE, script=script)
    page.goto(server + "/subscribe")
    weekday = page.get_by_label("Weekly on")
    expect(page.get_by_label("How often")).to_have_value("daily")
    expect(weekday).to_be_hidden()
    page.get_by_label("How often").select_option("weekly")
    expect(weekday).to_be_visible()
    page.get_by_label("How often").select_option("daily")
    expect(weekday).to_be_hidden()
    page.context.close()


def test_the_time_zone_starts_at_the_browsers_and_stays_a_plain_field_without_script(
    server: str, browser: object
) -> None:
    from playwright.sync_api import expect

    page = _page(browser, DESKTOP, zone="Asia/Tokyo")
    page.goto(server + "/subscribe")
    expect(page.get_by_label("Time zone")).to_have_value("Asia/Tokyo")
    page.context.close()

    page = _page(browser, DESKTOP, zone="Asia/Tokyo", script=False)
    page.goto(server + "/subscribe")
    zone = page.get_by_label("Time zone")
    expect(zone).to_have_value("UTC")
    zone.fill("Europe/Berlin")  # typed, with the zones offered as suggestions
    assert page.locator("datalist#time-zones option[value='Europe/Berlin']").count() == 1
    page.context.close()


def test_key_pages_use_each_id_once_and_label_every_field(server: str, browser: object) -> None:
    found = httpx.get(server + "/api/search", params={"q": "diffusion", "mode": "keyword"}, timeout=30).json()
    paper = f"/papers/{found['items'][0]['paper']['url_id']}"
    page = _page(browser, DESKTOP)
    _log_in(page, server, "reader")
    for path in [*KEY_PAGES, paper]:
        page.goto(server + path)
        problems = page.evaluate(FORM_PROBLEMS_JS)
        assert problems == {"twice": [], "unlabelled": []}, path
    page.context.close()


def _confirmation_link(mailbox: Mailbox, email: str) -> str:
    [mail] = mailbox.to(email)
    text = mail.get_body(("plain",)).get_content()
    return re.search(r"http://\S+/subscriptions/confirm\?\S+", text).group(0)


def test_a_reader_saves_a_named_search_runs_it_and_deletes_it(
    server: str, browser: object, mailbox: Mailbox
) -> None:
    from playwright.sync_api import expect

    page = _page(browser, PHONE, zone="Europe/Paris")
    _log_in(page, server, "searcher")
    page.goto(server + "/search?q=diffusion")
    with page.expect_navigation():
        page.get_by_role("link", name="Get new matches by e-mail").click()
    form = page.locator("main form.search-form")
    expect(form.get_by_label("Query")).to_have_value("diffusion")
    expect(form.get_by_label("Mode")).to_have_value("hybrid")  # the search page's default
    expect(form.get_by_label("Time zone")).to_have_value("Europe/Paris")
    form.get_by_label("E-mail address").fill("searcher@example.org")
    form.get_by_label("How often").select_option("weekly")
    form.get_by_label("Weekly on").select_option("Wednesday")
    form.get_by_label("Name").fill("Image generation")
    _shot(page, "42-subscribe-filled-phone")
    with page.expect_navigation():
        form.get_by_role("button", name="Subscribe").click()
    expect(page.locator("main")).to_contain_text("Check your inbox")
    page.goto(_confirmation_link(mailbox, "searcher@example.org"))
    expect(page.locator("main")).to_contain_text("You are subscribed")

    page.goto(server + "/settings/subscriptions")
    saved = page.locator("section.card fieldset.saved-search", has_text="Image generation")
    expect(saved.locator("legend")).to_have_text("Image generation")
    expect(saved.get_by_label("Name")).to_have_value("Image generation")
    expect(page.locator("section.card").get_by_label("Weekly on")).to_have_value("2")
    expect(page.locator("section.card").get_by_label("Time zone")).to_have_value("Europe/Paris")
    _shot(page, "43-saved-search-phone")
    with page.expect_navigation():
        saved.get_by_role("link", name="Run this search").click()
    assert re.search(r"/search\?q=diffusion&mode=hybrid$", page.url), page.url
    expect(page.get_by_role("searchbox", name="Search papers")).to_have_value("diffusion")

    page.goto(server + "/settings/subscriptions")
    with page.expect_navigation():
        saved.get_by_role("button", name="Delete Image generation").click()
    expect(page.locator(".notices")).to_have_text("The saved search was deleted.")
    expect(page.locator("section.card fieldset.saved-search legend")).to_have_text(["New saved search"])
    _shot(page, "44-saved-search-deleted-phone")
    page.context.close()
