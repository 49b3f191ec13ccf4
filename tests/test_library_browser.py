"""The library in a real browser: importing a reference manager's export into a collection, and
sharing a collection privately, by secret link or publicly, as another person sees it.
Playwright drives Debian's Chromium against `paperfeed serve` over the demo data; screenshots go
to test-artifacts/screenshots/."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from serving import demo_instance, serving
from test_browser import Tab

pytestmark = pytest.mark.browser

LIBRARY = Path(__file__).resolve().parent / "fixtures" / "library" / "zotero.bib"
PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="module")
def library_server(tmp_path_factory: pytest.TempPathFactory, models_dir: Path) -> Iterator[str]:
    env, core = demo_instance(tmp_path_factory.mktemp("library-data"), models_dir)
    core.close()
    with serving(env) as base:
        yield base



def signed_up(browser: object, base: str, name: str) -> Tab:
    tab = Tab(browser, base)
    tab.go("/signup")
    tab.fill_and_submit("form.stack-form", name=name, password=PASSWORD, password2=PASSWORD)
    return tab


def new_collection(tab: Tab, name: str) -> str:
    """Creates a collection from the library page; its address."""
    from playwright.sync_api import expect

    tab.go("/collections")
    tab.fill_and_submit("section.new-collection form", name=name)
    expect(tab.page.locator("h1")).to_have_text(name)
    return tab.page.url


def test_importing_a_reference_manager_export_reports_each_record_and_fills_the_collection(
    library_server: str, browser: object
) -> None:
    from playwright.sync_api import expect

    reader = signed_up(browser, library_server, "importer")
    collection = new_collection(reader, "From Zotero")
    reader.page.locator("details.collection-import summary").click()
    reader.page.locator("details.collection-import input[type=file]").set_input_files(str(LIBRARY))
    with reader.page.expect_navigation():
        reader.page.locator("details.collection-import button[type=submit]").click()
    assert "/collections/imports/" in reader.page.url

    # The report page refreshes itself until the import is done.
    summary = reader.page.locator(".import-summary")
    expect(summary).to_be_visible(timeout=60_000)
    counts = [int(n) for n in re.findall(r"\d+", summary.inner_text())]
    records, matched, added, rejected = counts
    assert records == matched + added + rejected and added >= 1 and rejected >= 1
    expect(reader.page.locator(".import-rejected td").first).to_have_text(re.compile(r"^\d+$"))
    reader.shot("50-library-import-report")

    # Every imported paper is in the collection.
    reader.page.locator("h1 a").click()
    reader.page.wait_for_url(collection)
    expect(reader.page.locator("article.card")).to_have_count(matched + added)
    expect(reader.page.locator("article.card .card-title", has_text="Mining Graphs at Scale")).to_be_visible()
    reader.shot("51-imported-collection")
    assert reader.errors == [], reader.errors
    reader.close()


def test_a_collection_is_seen_by_others_only_as_its_visibility_allows(library_server: str, browser: object) -> None:
    from playwright.sync_api import expect

    owner = signed_up(browser, library_server, "curator")
    address = new_collection(owner, "Reading group")
    path = address.removeprefix(library_server)
    owner.go("/search?q=diffusion")
    card = owner.page.locator("article.card").first
    title = card.locator(".card-title").inner_text()
    card.locator("form.collect select").select_option(label="Reading group")
    card.locator("form.collect button", has_text="Add to collection").click()
    expect(card.locator("form.collect .collected")).to_contain_text("Reading group")

    def set_visibility(visibility: str) -> None:
        owner.go(path)
        owner.page.locator("details.collection-edit summary").click()
        owner.page.locator("details.collection-edit select[name=visibility]").select_option(visibility)
        with owner.page.expect_navigation():
            owner.page.locator("details.collection-edit button", has_text="Save changes").click()
        expect(owner.page.locator(".eyebrow .badge")).to_have_text(visibility)

    stranger = Tab(browser, library_server)

    # private: nobody else sees it
    assert httpx.get(library_server + path).status_code == 404

    # unlisted: the secret link shows it, read-only; its plain address stays closed
    set_visibility("unlisted")
    secret = owner.page.locator(".notice a").get_attribute("href")
    assert secret and secret.startswith("/collections/shared/")
    owner.shot("52-unlisted-collection-owner")
    stranger.go(secret)
    expect(stranger.page.locator("h1")).to_have_text("Reading group")
    expect(stranger.page.locator("article.card .card-title")).to_have_text(title)
    expect(stranger.page.locator("details.collection-edit")).to_have_count(0)
    stranger.shot("53-unlisted-collection-by-secret-link")
    assert httpx.get(library_server + path).status_code == 404

    # public: its address shows it to anyone
    set_visibility("public")
    stranger.go(path)
    expect(stranger.page.locator("article.card .card-title")).to_have_text(title)
    expect(stranger.page.locator("details.collection-edit")).to_have_count(0)

    # private again: the old secret link is dead too
    set_visibility("private")
    assert httpx.get(library_server + secret).status_code == 404
    assert httpx.get(library_server + path).status_code == 404
    assert owner.errors == [] and stranger.errors == [], (owner.errors, stranger.errors)
    owner.close()
    stranger.close()
