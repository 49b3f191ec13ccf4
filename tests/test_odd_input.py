"""Odd input never makes the server fail: ids too big for the database, digits that are not ASCII,
bodies that cannot be parsed all get a 4xx answer with a one-line message, logged in or not."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from community_helpers import Visitor, cheap_password_hashing, make_user
from helpers import add_papers, paper
from paperfeed.core import PaperFeed
from paperfeed.web.security import CSRF_HEADER

HUGE = str(2**63)  # one past the largest id a database integer column holds
HUGER = "9" * 40


@pytest.fixture(autouse=True)
def _fast_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    cheap_password_hashing(monkeypatch)


@pytest.fixture
def alice(core: PaperFeed) -> Visitor:
    add_papers(core, paper("Sparse Attention at Scale", arxiv_id="2401.00001"))
    browser = Visitor(core)
    browser.client = TestClient(browser.client.app, raise_server_exceptions=False)
    return browser.log_in_as(make_user(core, "alice", admin=True))


def assert_client_error(response, *allowed: int) -> None:
    assert response.status_code in allowed, (response.status_code, response.text[:300])
    assert "Traceback" not in response.text and "Error:" not in response.text


@pytest.mark.parametrize("number", [HUGE, HUGER, "-1", "0", "²", "1e3"])
def test_ids_out_of_range_in_paths_are_not_found_or_invalid(alice: Visitor, number: str) -> None:
    for method, path in [
        ("PATCH", f"/api/comments/{number}"),
        ("DELETE", f"/api/comments/{number}"),
    ]:
        assert_client_error(alice.api(method, path, {"body": "edited"}), 404, 422)
    assert_client_error(alice.get(f"/comments/{number}/edit"), 404, 422)
    for path in (f"/comments/{number}/edit", f"/comments/{number}/delete", f"/admin/comments/{number}/hide"):
        assert_client_error(alice.post(path, {"body": "edited"}), 404, 422)
    assert_client_error(alice.post(f"/settings/subscriptions/{number}", {"frequency": "daily"}), 404, 422)


@pytest.mark.parametrize("parent", [HUGE, HUGER, "²", "-5"])
def test_replies_to_impossible_parents_are_refused(alice: Visitor, parent: str) -> None:
    form = alice.post("/papers/2401.00001/comments", {"body": "a reply", "parent_id": parent})
    assert_client_error(form, 400, 404, 422)
    as_json = int(parent) if parent.lstrip("-").isascii() else parent  # a JSON number where it is one
    api = alice.api("POST", "/api/papers/2401.00001/comments", {"body": "a reply", "parent_id": as_json})
    assert_client_error(api, 404, 422)


@pytest.mark.parametrize("page", ["²", "١٢", HUGER, "-3", "1.5", "%00"])
def test_unusual_page_numbers_show_a_normal_page(core: PaperFeed, page: str) -> None:
    add_papers(core, paper("Sparse Attention at Scale", arxiv_id="2401.00001"))
    anonymous = TestClient(Visitor(core).client.app, raise_server_exceptions=False)
    day = core.day().day.isoformat()
    for path in ("/", f"/day/{day}", "/trending", f"/top/{day}", "/search"):
        assert anonymous.get(path, params={"page": page}).status_code == 200, path


@pytest.mark.parametrize(
    "content_type",
    ["multipart/form-data", "multipart/form-data; boundary=", "multipart/form-data; boundary=x"],
)
def test_malformed_form_bodies_are_bad_requests_on_every_state_changing_route(
    alice: Visitor, content_type: str
) -> None:
    body = b"--x\r\nContent-Disposition: form-data; name=csrf_token\r\n\r\n"  # cut off mid-part
    for path in ("/login", "/signup", "/subscribe", "/papers/2401.00001/comments", "/api/unsubscribe"):
        without_token = alice.client.post(path, content=body, headers={"Content-Type": content_type})
        assert_client_error(without_token, 400, 403)
        with_token = alice.client.post(
            path, content=body, headers={"Content-Type": content_type, CSRF_HEADER: alice.token()}
        )
        assert with_token.status_code < 500, (path, with_token.text[:300])


def test_the_instance_secret_exists_as_soon_as_the_app_is_made(core: PaperFeed) -> None:
    from paperfeed.digest.links import SECRET_FILE
    from paperfeed.web.app import create_app

    secret = core.settings.data_dir / SECRET_FILE
    secret.unlink(missing_ok=True)
    create_app(core)
    # Not at the first visit, which may come when the disk is full and fail every page.
    assert secret.read_text().strip()
