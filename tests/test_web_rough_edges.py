"""Small things a new user trips over: a page number past the end, an unknown trending period,
uncompressed pages and static files without cache headers."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from paperfeed.models import SearchRequest


@pytest.fixture(scope="module")
def client(site) -> TestClient:
    return site[1]


def test_a_page_past_the_last_shows_the_last_page_and_says_so(client: TestClient):
    page = client.get("/search", params={"q": "diffusion", "page": "999"})
    assert page.status_code == 200
    assert "showing page 500" not in page.text and "No results on page" not in page.text
    assert "of results; showing page" in page.text
    assert 'class="card"' in page.text


def test_an_unknown_trending_period_is_a_400_naming_the_allowed_ones(client: TestClient):
    page = client.get("/trending", params={"period": "year"})
    assert page.status_code == 400
    assert "use one of: day, week, month" in page.text


def test_pages_and_feeds_are_compressed(client: TestClient):
    for path in ("/", "/search?q=diffusion", "/feeds/daily.atom", "/api/days/latest"):
        answer = client.get(path, headers={"Accept-Encoding": "gzip"})
        assert answer.status_code == 200 and answer.headers.get("content-encoding") == "gzip", path
        assert answer.headers["content-security-policy"], path  # headers survive compression


def test_static_files_may_be_cached(client: TestClient):
    assert client.get("/static/style.css").headers["cache-control"] == "public, max-age=3600"
    vendored = client.get("/static/vendor/katex/katex.min.js").headers["cache-control"]
    assert vendored == "public, max-age=604800"


def test_a_paper_without_arxiv_id_is_not_headed_by_its_internal_key(site):
    core, client = site
    found = core.search(SearchRequest(query="LightHGNN", mode="keyword")).items[0].paper
    assert found.arxiv_id is None and found.url_id.startswith("pf-")
    page = client.get(f"/papers/{found.url_id}").text
    assert 'class="paper-id"' not in page
