"""The HTML pages: daily papers, search and paper pages over the demo data, as a reader sees them."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from paperfeed.core import PaperFeed
from paperfeed.models import SearchRequest
from paperfeed.web.app import create_app
from web_site import HOSTILE_DAY, HOSTILE_QUERIES


@pytest.fixture(scope="module")
def web(site: tuple[PaperFeed, TestClient]) -> TestClient:
    return site[1]


def card_links(page: str) -> list[str]:
    return re.findall(r'<h2 class="card-title">\s*<a href="(/papers/[^"]+)"', page)


# --- daily pages ----------------------------------------------------------------------------


def test_home_shows_the_latest_day_with_its_papers_and_links_to_the_previous_day(client, demo_core):
    latest = demo_core.day()
    assert latest.papers and latest.prev_day is not None

    page = client.get("/")

    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert f"{latest.day:%A, %B} {latest.day.day}, {latest.day.year}" in page.text
    assert f"{latest.total} papers" in page.text
    links = card_links(page.text)
    assert links == [f"/papers/{p.url_id}" for p in latest.papers]
    assert f'href="/day/{latest.prev_day.isoformat()}"' in page.text
    assert 'rel="next" href="/day/' not in page.text  # no newer day


def test_a_long_day_is_listed_page_by_page_without_gaps_or_repeats(client, demo_core):
    latest = demo_core.day()
    assert latest.total > latest.per_page  # the demo's import day holds more than one page
    seen: list[str] = []
    for number in range(1, latest.pages + 1):
        page = client.get(f"/?page={number}")
        assert page.status_code == 200
        seen.extend(card_links(page.text))
    assert len(seen) == len(set(seen)) == latest.total
    assert client.get("/?page=abc").status_code == 200
    assert client.get("/?page=99999").status_code == 200


def test_a_day_page_lists_that_days_papers_and_links_both_ways(web, site_core):
    latest = site_core.day()
    earlier = site_core.day(latest.prev_day)

    page = web.get(f"/day/{earlier.day.isoformat()}")

    assert page.status_code == 200
    assert card_links(page.text) == [f"/papers/{p.url_id}" for p in earlier.papers]
    assert f'rel="next" href="/day/{latest.day.isoformat()}"' in page.text
    assert f'rel="prev" href="/day/{earlier.prev_day.isoformat()}"' in page.text


@pytest.mark.parametrize(
    "bad_day", ["2024-13-01", "2024-02-30", "yesterday", "2024-1-1", "20240101", "9" * 300]
)
def test_a_malformed_day_is_a_404_page(web, bad_day):
    page = web.get(f"/day/{bad_day}")

    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    assert "Not found" in page.text
    assert "Traceback" not in page.text


def test_a_day_without_papers_is_an_empty_page_that_links_to_the_next_day(web):
    page = web.get("/day/1999-12-31")

    assert page.status_code == 200
    assert "No papers are listed on this day" in page.text
    assert f'href="/day/{HOSTILE_DAY.isoformat()}"' in page.text


def test_an_empty_store_shows_how_to_import(core):
    page = TestClient(create_app(core)).get("/")

    assert page.status_code == 200
    assert "paperfeed import" in page.text


# --- search ---------------------------------------------------------------------------------


def test_search_highlights_matches_and_counts_as_many_as_the_api(client):
    page = client.get("/search", params={"q": "diffusion"})
    api_total = client.get("/api/search", params={"q": "diffusion"}).json()["total"]

    assert page.status_code == 200
    assert api_total > 20
    assert f"{api_total} results for" in page.text
    assert len(card_links(page.text)) == 20
    assert re.search(r'<a href="/papers/[^"]+">[^<]*<mark>Diffusion</mark>', page.text)  # a highlighted title
    assert re.search(r'<p class="card-text">[^<]*<mark>diffusion</mark>', page.text)  # a highlighted snippet
    assert 'value="diffusion"' in page.text  # the query stays in the form


def test_search_pages_through_results_and_keeps_the_query(web):
    total = web.get("/api/search", params={"q": "diffusion", "per_page": 1}).json()["total"]

    first = web.get("/search", params={"q": "diffusion"})
    second = web.get("/search", params={"q": "diffusion", "page": 2})

    assert 'rel="next" href="/search?q=diffusion&amp;page=2"' in first.text
    assert 'rel="prev" href="/search?q=diffusion"' in second.text
    assert 'start="21"' in second.text  # numbering continues
    assert len(card_links(second.text)) == min(20, total - 20)
    assert set(card_links(first.text)).isdisjoint(card_links(second.text))


def test_search_filters_by_author_category_code_and_date(web):
    def page(**params) -> str:
        response = web.get("/search", params=params)
        assert response.status_code == 200
        return response.text

    by_author = page(q="diffusion", author="Ada Lovelace")
    assert "1 result for" in by_author
    assert "Sparse <mark>Diffusion</mark> Transformers" in by_author

    by_category = page(category="q-bio.BM")
    assert "1 paper matching the filters" in by_category
    assert "Diffusion Models for Protein Folding" in by_category

    with_code = card_links(page(q="protein folding sparse experts", has_code="1"))
    assert "/papers/2101.00001" in with_code and "/papers/1901.00002" not in with_code
    without_code = card_links(page(q="protein folding sparse experts", has_code="0"))
    assert "/papers/1901.00002" in without_code and "/papers/2101.00001" not in without_code

    in_2019 = card_links(page(q="diffusion", **{"from": "2019-01-01", "to": "2019-12-31"}))
    assert in_2019 == ["/papers/1901.00002"]


def test_search_can_sort_by_newest(web):
    params = {"q": "protein folding sparse", "from": "2010-01-01", "to": "2022-12-31"}

    by_relevance = card_links(web.get("/search", params=params).text)
    newest = web.get("/search", params={**params, "sort": "newest"}).text

    assert sorted(by_relevance) == ["/papers/1901.00002", "/papers/2101.00001"]
    assert card_links(newest) == ["/papers/2101.00001", "/papers/1901.00002"]
    assert '<option value="newest" selected>' in newest


@pytest.mark.parametrize(
    ("params", "summary"),
    [
        ({"q": "diffusion"}, None),
        ({"q": "diffusion", "mode": "hybrid", "sort": "relevance"}, None),  # the defaults, spelt out
        ({"q": "diffusion", "category": "cs.LG"}, "Filters (1)"),
        ({"author": "Ada", "from": "2019-01-01", "has_code": "1"}, "Filters (3)"),
        ({"q": "diffusion", "mode": "keyword", "sort": "newest"}, "Filters (2)"),
        ({"q": "diffusion", "has_code": "maybe"}, None),  # ignored, so not chosen
    ],
)
def test_the_search_filters_fold_is_open_when_something_is_chosen_and_counts_it(web, params, summary):
    page = web.get("/search", params=params).text
    fold = re.search(r'<details class="filters-fold"( open)?>\s*<summary class="filters-toggle">([^<]*)</summary>', page)
    assert fold, "the filters sit in a fold"
    assert (fold.group(1) is not None, fold.group(2)) == (summary is not None, summary or "Filters")


@pytest.mark.parametrize(
    ("params", "notice"),
    [
        ({"from": "last week"}, "Ignored the from date"),
        ({"to": "2024-02-30"}, "Ignored the to date"),
        ({"page": "0"}, "Pages start at 1"),
        ({"page": "-3"}, "Pages start at 1"),
        ({"page": "abc"}, "is not a page number"),
        ({"page": "99999"}, "of results; showing page"),
        ({"has_code": "maybe"}, "Ignored has_code"),
        ({"sort": "best"}, "Ignored sort"),
        ({"from": "2024-05-01", "to": "2024-01-01"}, "The from date is after the to date"),
    ],
)
def test_invalid_filter_values_give_a_normal_page_with_a_note(web, params, notice):
    page = web.get("/search", params={"q": "diffusion", **params})

    assert page.status_code == 200
    assert notice in page.text


def test_any_query_a_user_can_type_gives_a_normal_page(web):
    for query in HOSTILE_QUERIES:
        for params in ({"q": query}, {"q": query, "author": query, "category": query, "sort": "newest"}):
            page = web.get("/search", params=params)
            assert page.status_code == 200, query[:40]
            assert '<form class="search-form"' in page.text
            assert "<script>alert" not in page.text


def test_an_empty_search_lists_all_papers_newest_first(web, site_core):
    page = web.get("/search?q=")

    assert page.status_code == 200
    assert f"All {site_core.stats().papers} papers, newest first" in page.text


# --- paper pages ----------------------------------------------------------------------------


def test_a_paper_page_shows_abstract_authors_dates_and_grouped_links(web):
    page = web.get("/papers/2101.00001")

    assert page.status_code == 200
    text = page.text
    assert "<h1>Sparse Diffusion Transformers for Long Video</h1>" in text
    assert "We scale diffusion transformers with sparse experts." in text
    for author in ("Ada Lovelace", "Alan Turing", "Grace Hopper", "Barbara Liskov"):
        assert f'<a href="/authors/{author.replace(" ", "%20")}">{author}</a>' in text  # author pages
    assert "Jan 4, 2021" in text and "Feb 1, 2021" in text  # published, updated
    assert 'href="/day/' in text  # the day it is listed on
    assert "12 pages, 3 figures" in text and "Journal of Examples 7 (2021)" in text
    assert 'href="https://arxiv.org/abs/2101.00001"' in text
    assert 'href="https://arxiv.org/pdf/2101.00001"' in text
    assert 'href="https://doi.org/10.1234/sparse.5678"' in text
    code, project = text.index("<h2>Code</h2>"), text.index("<h2>Project pages</h2>")
    assert code < text.index("github.com/example/sparse-dit</a>", code) < project
    assert project < text.index("example.org/sparse-dit</a>", project)
    assert 'class="chip" href="/search?category=cs.CV"' in text


@pytest.mark.parametrize(
    "ref", ["2101.00001", "2101.00001v2", "2101.00001v1", "arXiv:2101.00001", "10.1234/sparse.5678"]
)
def test_a_paper_page_is_reached_by_any_of_its_ids(web, ref):
    page = web.get(f"/papers/{ref}")

    assert page.status_code == 200
    assert "<h1>Sparse Diffusion Transformers for Long Video</h1>" in page.text


def test_the_cards_on_the_home_page_link_to_working_paper_pages(web):
    links = card_links(web.get("/").text)

    assert links
    for link in links[:5]:
        assert web.get(link).status_code == 200


def test_an_unknown_paper_is_a_404_page(web):
    page = web.get("/papers/9999.99999")

    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    assert "No paper" in page.text


def test_an_unknown_address_is_a_404_page(web):
    page = web.get("/no/such/page")

    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    assert "Not found" in page.text


def test_an_unexpected_failure_is_a_500_page_without_details(site_core, monkeypatch):
    def broken(day=None):
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr(site_core, "day", broken)
    page = TestClient(create_app(site_core), raise_server_exceptions=False).get("/")

    assert page.status_code == 500
    assert page.headers["content-type"].startswith("text/html")
    assert "Something went wrong" in page.text
    assert "secret internal detail" not in page.text and "Traceback" not in page.text
    assert page.headers["x-frame-options"] == "DENY"


# --- safety ---------------------------------------------------------------------------------


def test_stored_markup_comes_back_escaped_on_every_page(web, site_core):
    hostile = next(p for p in site_core.day(HOSTILE_DAY).papers if p.authors)
    assert "<script>" in hostile.title and "<img src=x" in hostile.abstract

    pages = {
        "day": web.get(f"/day/{HOSTILE_DAY.isoformat()}").text,
        "search": web.get("/search", params={"q": "diffusion alert"}).text,
        "search by author": web.get("/search", params={"author": "Mallory"}).text,
        "paper": web.get(f"/papers/{hostile.url_id}").text,
    }
    for name, text in pages.items():
        assert f"/papers/{hostile.url_id}" in text, name
        assert "<script>alert" not in text, name
        assert "<img src=x" not in text, name
        assert "&lt;script&gt;" in text, name
    assert "Mallory &lt;img src=x onerror=alert(1)&gt;" in pages["paper"]
    assert "&lt;script&gt;<mark>alert</mark>(1)&lt;/script&gt;" in pages["search"]  # title and snippet


def test_only_web_links_become_links(web, site_core):
    paper = next(p for p in site_core.day(HOSTILE_DAY).papers if p.title == "Links of all kinds")

    text = web.get(f"/papers/{paper.url_id}").text

    assert "javascript:" not in text
    assert 'href="https://ok.example"' in text


def test_pages_carry_security_headers(web):
    for url in ("/", "/search?q=x", "/papers/unknown", "/static/style.css", "/day/nope"):
        headers = web.get(url).headers
        csp = headers["content-security-policy"]
        assert "default-src 'self'" in csp and "script-src 'self'" in csp, url
        assert "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp, url
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["x-frame-options"] == "DENY"
        assert headers["referrer-policy"] == "strict-origin-when-cross-origin"


def test_pages_use_no_inline_script_or_style(web):
    for url in ("/", "/search?q=diffusion", "/papers/2101.00001", "/nope"):
        text = web.get(url).text
        assert not re.search(r"<script(?![^>]*\bsrc=)", text), url
        assert not re.search(r"<style|<[a-z][^>]*\s(?:style|on[a-z]+)=", text), url


def test_static_files_are_served_with_htmx_included(web):
    assert '<script src="/static/htmx.min.js" defer></script>' in web.get("/").text
    htmx = web.get("/static/htmx.min.js")
    assert htmx.status_code == 200 and 'version:"2.' in htmx.text
    assert web.get("/static/style.css").headers["content-type"].startswith("text/css")
    assert web.get("/static/favicon.svg").status_code == 200


# --- the real server ------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_paperfeed_serve_answers_over_http(demo_core, settings):
    port = _free_port()
    command = [str(Path(sys.executable).with_name("paperfeed")), "serve", "--port", str(port)]
    # The settings fixture points the environment at the demo instance.
    server = subprocess.Popen(command, env=dict(os.environ), stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60  # generous: start-up imports are slow on a busy machine
        while True:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/", timeout=5)
                break
            except httpx.TransportError:
                if server.poll() is not None or time.monotonic() > deadline:
                    server.kill()
                    output = server.communicate()[0].decode(errors="replace")
                    pytest.fail(f"paperfeed serve did not answer:\n{output}")
                time.sleep(0.1)
        assert response.status_code == 200
        assert f"{demo_core.day().total} papers" in response.text
        assert response.headers["x-frame-options"] == "DENY"
    finally:
        server.terminate()
        server.communicate(timeout=10)


def test_search_offers_every_mode_and_keeps_the_chosen_one(web):
    client = web
    for mode in ("keyword", "semantic", "hybrid"):
        page = client.get("/search", params={"q": "diffusion model caching", "mode": mode})
        assert page.status_code == 200
        assert f'<option value="{mode}" selected>' in page.text
        assert card_links(page.text)
    ignored = client.get("/search", params={"q": "diffusion", "mode": "telepathy"})
    assert ignored.status_code == 200 and "Ignored mode" in ignored.text


def test_a_paper_page_lists_related_papers_but_not_itself(web, site_core):
    client = web
    paper = site_core.search(SearchRequest(query="Adams-Bashforth cached feature reuse")).items[0].paper
    page = client.get(f"/papers/{paper.url_id}")
    assert page.status_code == 200 and "Related papers" in page.text
    related = page.text.split("Related papers", 1)[1]
    assert f'href="/papers/{paper.url_id}"' not in related
    assert related.count('<li><a href="/papers/') >= 3


def test_pages_do_not_look_at_template_files_again_on_every_render(client, monkeypatch):
    client.get("/")  # the templates are loaded once
    looked_at: list[str] = []
    real_getmtime = os.path.getmtime

    def getmtime(path):
        looked_at.append(str(path))
        return real_getmtime(path)

    monkeypatch.setattr(os.path, "getmtime", getmtime)
    assert client.get("/").status_code == 200
    assert not [path for path in looked_at if path.endswith(".html")]
