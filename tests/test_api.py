"""The JSON API under /api: typed answers from the core, validated parameters, errors as JSON."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from helpers import add_papers, paper
from paperfeed.core import PaperFeed
from paperfeed.errors import InvalidInput
from paperfeed.models import SearchRequest
from paperfeed.web.app import create_app
from web_site import HOSTILE_DAY, HOSTILE_QUERIES, IMG, SCRIPT


@pytest.fixture(scope="module")
def api(site: tuple[PaperFeed, TestClient]) -> TestClient:
    return site[1]


def assert_error(response, status: int) -> str:
    assert response.status_code == status
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == {"error"} and body["error"]["status"] == status
    assert body["error"]["message"]
    return body["error"]["message"]


# --- papers ---------------------------------------------------------------------------------


@pytest.mark.parametrize("ref", ["2101.00001", "2101.00001v2", "arXiv:2101.00001", "10.1234/sparse.5678"])
def test_a_paper_is_found_by_any_of_its_ids(api, ref):
    response = api.get(f"/api/papers/{ref}")

    assert response.status_code == 200
    paper = response.json()
    assert paper["paper_id"] == "2101.00001v2"
    assert paper["url_id"] == "2101.00001"
    assert paper["title"] == "Sparse Diffusion Transformers for Long Video"
    assert paper["authors"] == ["Ada Lovelace", "Alan Turing", "Grace Hopper", "Barbara Liskov"]
    assert paper["categories"] == ["cs.CV", "cs.LG"]
    assert (paper["arxiv_id"], paper["version"], paper["doi"]) == ("2101.00001", 2, "10.1234/sparse.5678")
    assert (paper["published"], paper["updated"]) == ("2021-01-04", "2021-02-01")
    assert paper["has_code"] is True
    assert {"kind": "code", "url": "https://github.com/example/sparse-dit"} in paper["links"]
    assert {"kind": "pdf", "url": "https://arxiv.org/pdf/2101.00001"} in paper["links"]
    assert paper["sources"] == ["test"]


def test_a_demo_paper_is_found_by_its_key(client, demo_core):
    listed = demo_core.day().papers[0]

    paper = client.get(f"/api/papers/{listed.url_id}").json()

    assert paper["paper_id"] == listed.key and paper["title"] == listed.title
    assert paper["arxiv_id"] is None and paper["listed_on"] == listed.listed_on.isoformat()


def test_an_unknown_paper_is_a_404_in_json(api):
    assert "no paper" in assert_error(api.get("/api/papers/9999.99999"), 404)
    assert_error(api.get("/api/papers/10.9999/none"), 404)


# --- days -----------------------------------------------------------------------------------


def test_the_latest_day_lists_its_papers_with_the_previous_day(client, demo_core):
    latest = demo_core.day()

    body = client.get("/api/days/latest").json()

    assert body["day"] == latest.day.isoformat()
    assert body["prev_day"] == latest.prev_day.isoformat() and body["next_day"] is None
    assert [p["paper_id"] for p in body["papers"]] == [p.paper_id for p in latest.papers]


def test_a_day_lists_its_papers_and_neighbours(api, site_core):
    latest = site_core.day()

    body = api.get(f"/api/days/{latest.prev_day.isoformat()}").json()

    assert body["day"] == latest.prev_day.isoformat()
    assert body["next_day"] == latest.day.isoformat()
    assert len(body["papers"]) == len(site_core.day(latest.prev_day).papers) > 0


def test_a_day_without_papers_is_an_empty_list_with_neighbours(api):
    body = api.get("/api/days/1999-12-31").json()

    assert body == {
        "day": "1999-12-31",
        "prev_day": None,
        "next_day": HOSTILE_DAY.isoformat(),
        "total": 0,
        "page": 1,
        "per_page": 50,
        "pages": 1,
        "papers": [],
    }


@pytest.mark.parametrize("bad_day", ["2024-13-01", "2024-02-30", "yesterday", "2024-1-1x"])
def test_a_malformed_day_is_a_422_in_json(api, bad_day):
    assert "day" in assert_error(api.get(f"/api/days/{bad_day}"), 422)


# --- search ---------------------------------------------------------------------------------


def test_search_answers_a_page_of_ranked_papers_with_marked_snippets(client):
    body = client.get("/api/search", params={"q": "diffusion", "per_page": 5, "mode": "keyword"}).json()

    assert body["total"] > 5 and body["pages"] == -(-body["total"] // 5)
    assert (body["page"], body["per_page"], body["ranking"]) == (1, 5, "keyword")
    assert len(body["items"]) == 5
    scores = [item["score"] for item in body["items"]]
    assert scores == sorted(scores, reverse=True)
    assert all(
        "<mark>" in (item["snippet_html"] or "") + item["paper"]["title"].lower() for item in body["items"]
    )
    assert body["took_ms"] >= 0


def test_search_ranks_as_the_rest_of_paperfeed_does_unless_told(api):
    default = api.get("/api/search", params={"q": "diffusion"}).json()
    keyword = api.get("/api/search", params={"q": "diffusion", "mode": "keyword"}).json()

    assert default["ranking"] == SearchRequest().mode
    assert keyword["ranking"] == "keyword"


def test_search_pages_do_not_overlap(api):
    first = api.get("/api/search", params={"q": "diffusion", "per_page": 10}).json()
    second = api.get("/api/search", params={"q": "diffusion", "per_page": 10, "page": 2}).json()

    ids = lambda body: {item["paper"]["paper_id"] for item in body["items"]}  # noqa: E731
    assert first["total"] == second["total"] and len(ids(second)) > 0
    assert ids(first).isdisjoint(ids(second))


def test_search_filters_and_sorts(api):
    def ids(**params) -> list[str]:
        response = api.get("/api/search", params={"mode": "keyword", **params})
        assert response.status_code == 200
        return [item["paper"]["url_id"] for item in response.json()["items"]]

    assert ids(q="diffusion", author="Ada Lovelace") == ["2101.00001"]
    assert ids(category="q-bio.BM") == ["1901.00002"]
    assert ids(q="diffusion", **{"from": "2019-01-01", "to": "2019-12-31"}) == ["1901.00002"]
    window = {
        "q": "protein folding sparse",
        "from": "2010-01-01",
        "to": "2022-12-31",
    }  # demo papers are later
    assert ids(**window, has_code="true") == ["2101.00001"]
    assert ids(**window, has_code="false") == ["1901.00002"]
    assert ids(**window) == ["1901.00002", "2101.00001"]
    assert ids(**window, sort="newest") == ["2101.00001", "1901.00002"]


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"per_page": 0}, "per_page"),
        ({"per_page": 101}, "per_page"),
        ({"page": 0}, "page"),
        ({"page": 501}, "page"),
        ({"page": "abc"}, "page"),
        ({"from": "last week"}, "from"),
        ({"to": "2024-02-30"}, "to"),
        ({"sort": "best"}, "sort"),
        ({"mode": "psychic"}, "mode"),
        ({"has_code": "maybe"}, "has_code"),
    ],
)
def test_invalid_search_parameters_are_a_422_naming_the_parameter(api, params, named):
    assert named in assert_error(api.get("/api/search", params={"q": "diffusion", **params}), 422)


def test_input_the_core_refuses_is_a_400_with_its_message(site_core, monkeypatch):
    def refuse(request):
        raise InvalidInput("that cannot be searched")

    monkeypatch.setattr(site_core, "search", refuse)
    response = TestClient(create_app(site_core)).get("/api/search", params={"q": "x"})

    assert assert_error(response, 400) == "that cannot be searched"


def test_any_query_gives_a_normal_answer(api):
    for query in HOSTILE_QUERIES:
        response = api.get("/api/search", params={"q": query, "author": query, "category": query})
        assert response.status_code == 200, query[:40]
        response = api.get("/api/search", params={"q": query})
        assert response.status_code == 200, query[:40]
        assert response.json()["total"] >= 0


def test_snippets_escape_stored_markup(api):
    body = api.get("/api/search", params={"q": "alert"}).json()

    hostile = next(item for item in body["items"] if item["paper"]["authors"])
    assert SCRIPT in hostile["paper"]["title"]  # JSON carries the text as stored ...
    assert IMG in hostile["paper"]["abstract"]
    snippet = hostile["snippet_html"]  # ... and the one HTML field escapes it
    assert "<script>" not in snippet and "<img" not in snippet
    assert "&lt;script&gt;<mark>alert</mark>(1)&lt;/script&gt;" in snippet


# --- stats, schema, errors, headers ---------------------------------------------------------


def test_stats_count_the_papers_without_revealing_server_paths(client, demo_core):
    body = client.get("/api/stats").json()

    assert body["papers"] == demo_core.stats().papers == 707
    assert body["days"] == demo_core.stats().days and body["by_source"] == {"hf-daily": 707}
    assert body["last_day"] == demo_core.day().day.isoformat()
    assert "database" not in body
    assert str(demo_core.settings.data_dir) not in client.get("/api/stats").text


def test_the_api_serves_stats_up_to_a_minute_old_and_the_core_counts_afresh(core):
    add_papers(core, paper("First of two"))
    client = TestClient(create_app(core))
    assert client.get("/api/stats").json()["papers"] == 1

    add_papers(core, paper("Second of two"))
    assert client.get("/api/stats").json()["papers"] == 1  # the summary of a moment ago
    assert core.stats().papers == 2  # the command line and other callers count now
    assert client.get("/api/stats").json()["papers"] == 2  # and the API serves that count since


def test_the_openapi_schema_lists_the_api_endpoints_and_no_pages(api):
    schema = api.get("/api/openapi.json").json()

    paths = set(schema["paths"])
    assert {
        "/api/papers/{paper_id}",
        "/api/days/latest",
        "/api/days/{day}",
        "/api/search",
        "/api/stats",
    } <= paths
    assert not paths & {"/", "/search", "/day/{day}", "/papers/{paper_id}", "/api/docs"}  # pages are not API
    search = schema["paths"]["/api/search"]["get"]
    params = {p["name"]: p for p in search["parameters"]}
    assert set(params) == {
        "q",
        "author",
        "category",
        "from",
        "to",
        "has_code",
        "sort",
        "mode",
        "page",
        "per_page",
    }
    assert params["per_page"]["schema"]["maximum"] == 100 and params["page"]["schema"]["maximum"] == 500
    assert search["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/ResultPageOut"
    )
    assert search["responses"]["422"]["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorOut")
    assert {"PaperOut", "ResultPageOut", "DayOut", "StatsOut"} <= set(schema["components"]["schemas"])


def test_the_docs_live_under_api_only(api):
    docs = api.get("/api/docs")

    assert docs.status_code == 200 and "/api/openapi.json" in docs.text
    assert api.get("/docs").status_code == 404
    assert api.get("/redoc").status_code == 404
    assert api.get("/openapi.json").status_code == 404


def test_the_docs_work_offline_from_the_package_own_files(api):
    docs = api.get("/api/docs")
    assert '<html lang="en">' in docs.text
    assert "http://" not in docs.text.replace("http://testserver", "") and "https://" not in docs.text
    assets = re.findall(r'(?:src|href)="(/static/[^"]+)"', docs.text)
    assert "/static/vendor/swagger-ui/swagger-ui-bundle.js" in assets
    for asset in assets:
        assert api.get(asset).status_code == 200, asset
    policy = docs.headers["content-security-policy"]
    assert "script-src 'self';" in policy and "cdn" not in policy


def test_unknown_api_addresses_are_errors_in_json(api):
    assert_error(api.get("/api/nothing/here"), 404)
    assert_error(api.get("/api"), 404)


def test_api_answers_carry_security_headers(api):
    for url in ("/api/stats", "/api/papers/unknown", "/api/search?page=0"):
        headers = api.get(url).headers
        assert headers["content-security-policy"].startswith("default-src 'self'")
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["x-frame-options"] == "DENY"
        assert headers["referrer-policy"]


def test_an_unexpected_failure_is_a_500_in_json_without_details(site_core, monkeypatch):
    def broken():
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr(site_core, "stats", broken)
    response = TestClient(create_app(site_core), raise_server_exceptions=False).get("/api/stats")

    assert "secret" not in assert_error(response, 500)


def test_related_papers_answer_as_a_ranking_without_the_paper_itself(client, demo_core):
    paper = demo_core.day().papers[0]
    body = client.get(f"/api/papers/{paper.url_id}/related", params={"limit": 5}).json()
    assert body["ranking"] == "related" and len(body["items"]) == 5
    assert paper.url_id not in {item["paper"]["url_id"] for item in body["items"]}
    assert client.get("/api/papers/pf-000000000000/related").status_code == 404
