"""The OpenAPI schema is the truth: what it allows is answered, what it forbids is refused with
a 4xx it documents, and every path says which methods it has."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from paperfeed.core import PaperFeed


@pytest.fixture
def client(site: tuple[PaperFeed, TestClient]) -> TestClient:
    _, client = site
    client.cookies.clear()
    return client


@pytest.mark.parametrize(
    "path", ["/api/days/0", "/api/top/0", "/api/search?to=0", "/api/search?from=20240501", "/api/days/1e3"]
)
def test_a_day_is_a_calendar_date_never_a_number_of_seconds(client: TestClient, path: str) -> None:
    answer = client.get(path)

    assert answer.status_code == 422
    assert answer.json()["error"]["message"].endswith("a day is written YYYY-MM-DD, e.g. 2024-05-01")


def test_a_day_written_as_a_date_is_answered(client: TestClient) -> None:
    assert client.get("/api/days/2024-05-01").json()["day"] == "2024-05-01"
    assert client.get("/api/search", params={"from": "2024-05-01", "to": "2024-05-31"}).status_code == 200


@pytest.mark.parametrize(
    ("path", "methods"),
    [
        ("/api/comments/1", {"PATCH", "DELETE", "OPTIONS"}),
        ("/api/papers/2401.00001/comments", {"GET", "POST", "OPTIONS"}),
        ("/api/search", {"GET", "OPTIONS"}),
        ("/settings/subscriptions/1", {"POST", "OPTIONS"}),
    ],
)
def test_options_lists_every_method_of_the_path(client: TestClient, path: str, methods: set[str]) -> None:
    answer = client.options(path)

    assert answer.status_code == 204
    assert set(answer.headers["Allow"].split(", ")) == methods


@pytest.mark.parametrize(
    ("method", "path"), [("PATCH", "/api/search"), ("DELETE", "/api/days/latest"), ("PUT", "/")]
)
def test_a_method_the_path_lacks_is_405_not_a_csrf_refusal(
    client: TestClient, method: str, path: str
) -> None:
    answer = client.request(method, path)  # no CSRF token: the method is wrong before anything else

    assert answer.status_code == 405
    assert "GET" in answer.headers["Allow"]


def test_a_token_the_schema_requires_is_refused_as_invalid_when_empty(client: TestClient) -> None:
    answer = client.get("/api/subscriptions/confirm", params={"token": ""})

    assert answer.status_code == 422


def _allows_empty(schema: dict) -> bool:
    options = [schema, *schema.get("anyOf", [])]
    return any(
        option.get("type") == "string"
        and not option.get("minLength")
        and not {"enum", "format"} & set(option)
        for option in options
    )


def test_no_query_parameter_refuses_an_empty_string_the_schema_allows(client: TestClient) -> None:
    """Each string parameter of each operation, sent empty and alone, as the schema allows."""
    refused = []
    for path, operations in client.get("/api/openapi.json").json()["paths"].items():
        url = path.replace("{paper_id}", "2401.00001").replace("{ref}", "2401.00001")
        for method, operation in operations.items():
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "query" and _allows_empty(parameter.get("schema", {})):
                    answer = client.request(method, url, params={parameter["name"]: ""})
                    if answer.status_code == 400 or answer.status_code >= 500:
                        refused.append(f"{method.upper()} {path}?{parameter['name']}= → {answer.status_code}")
    assert refused == []
