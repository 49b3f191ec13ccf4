"""Property-based fuzzing of the JSON API against its own OpenAPI schema (schemathesis, in
process): for every operation, anonymous and logged in, generated requests never get a 5xx and
every response matches what the schema documents. Bounded and derandomised, so a run is the
same few hundred cases every time."""

from __future__ import annotations

from collections import Counter

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from community_helpers import PASSWORD, cheap_password_hashing, use_recorded_arxiv
from paperfeed.core import PaperFeed
from paperfeed.web.security import CSRF_HEADER, SESSION_COOKIE

EXAMPLES_PER_OPERATION = 12
CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance, content_type_conformance]


@pytest.fixture(scope="module")
def fuzzed(site: tuple[PaperFeed, TestClient]) -> tuple[PaperFeed, TestClient, dict[str, str]]:
    """The demo site with a user, whose session and CSRF token the logged-in cases send."""
    core, client = site
    with pytest.MonkeyPatch.context() as patch:
        cheap_password_hashing(patch)
        core.create_user("fuzzer", PASSWORD)
        _, session = core.log_in("fuzzer", PASSWORD, address="127.0.0.1")
    use_recorded_arxiv(core)  # submissions fetch from arXiv: answer from recordings, offline
    client.cookies.set(SESSION_COOKIE, session)
    token = client.get("/api/session").json()["csrf_token"]
    client.cookies.clear()
    return core, client, {"Cookie": f"{SESSION_COOKIE}={session}", CSRF_HEADER: token}


def test_no_request_gets_a_server_error_or_an_undocumented_answer(fuzzed) -> None:
    _, client, logged_in = fuzzed
    schema = schemathesis.openapi.from_asgi("/api/openapi.json", client.app)
    cases: Counter[str] = Counter()
    failures: dict[str, str] = {}
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            derandomize=True,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def fuzz(case) -> None:
            for who, headers in (("anonymous", {}), ("logged in", logged_in)):
                cases[who] += 1
                case.call_and_validate(headers=headers, checks=CHECKS)

        try:
            fuzz()
        except (
            Exception,
            BaseExceptionGroup,
        ) as exc:  # every operation is fuzzed; all failures are reported together
            failures[operation.label] = str(exc)[:1500]
    print(
        f"\nAPI fuzzing: {sum(cases.values())} cases over {len(list(schema.get_all_operations()))} operations"
    )
    assert not failures, "\n\n".join(f"{label}: {message}" for label, message in failures.items())
    assert sum(cases.values()) >= 200
