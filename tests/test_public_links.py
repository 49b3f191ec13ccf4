"""Links in mails and feeds reach the server: without a configured `base_url` they are derived
from where `paperfeed serve` listens and from each request (a trusted proxy's X-Forwarded-Host
and -Proto included); a configured `base_url` that cannot be this server is warned about."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import feedparser
import httpx
import pytest
from fastapi.testclient import TestClient

from helpers import add_papers, paper
from paperfeed.cli.serve_cmd import base_url_mismatch
from paperfeed.config import Settings
from paperfeed.core import PaperFeed
from paperfeed.web.app import create_app
from smtp_sink import Mailbox

_CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    box = Mailbox().start()
    yield box
    box.stop()


def _serve(port: int, env: dict[str, str]) -> subprocess.Popen:
    command = [str(Path(sys.executable).with_name("paperfeed")), "serve", "--port", str(port)]
    server = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while True:
        try:
            httpx.get(f"http://127.0.0.1:{port}/", timeout=5)
            return server
        except httpx.TransportError:
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                pytest.fail(
                    f"paperfeed serve did not start:\n{server.communicate()[0].decode(errors='replace')}"
                )
            time.sleep(0.2)


def _stop(server: subprocess.Popen) -> str:
    server.terminate()
    return server.communicate(timeout=30)[0].decode(errors="replace")


def test_a_confirmation_link_mailed_by_a_server_on_another_port_confirms(core, mailbox: Mailbox):
    add_papers(core, paper("Diffusion Models for Protein Design"))
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k != "PAPERFEED_BASE_URL"}
    env.update(
        PAPERFEED_SMTP_HOST="127.0.0.1", PAPERFEED_SMTP_PORT=str(mailbox.port), PAPERFEED_SMTP_SECURITY="none"
    )
    server = _serve(port, env)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as browser:
            form = browser.get("/subscribe")
            token = _CSRF_RE.search(form.text).group(1)
            sent = browser.post(
                "/subscribe",
                data={"csrf_token": token, "email": "ada@example.org", "include_trending": "1", "top_n": "5"},
            )
            assert sent.status_code == 202, sent.text
        (mail,) = mailbox.to("ada@example.org")
        text = mail.get_body(("plain",)).get_content()
        (link,) = re.findall(r"http://\S+/subscriptions/confirm\?\S+", text)
        assert link.startswith(f"http://127.0.0.1:{port}/")
        confirmed = httpx.get(link, timeout=30)  # what the reader's mail client opens: no cookies
        assert confirmed.status_code == 200
        assert "confirmed" in confirmed.text.lower()
    finally:
        output = _stop(server)
    assert "warning" not in output


def test_serve_warns_when_the_configured_base_url_names_another_port(core):
    port = _free_port()
    server = _serve(port, {**os.environ, "PAPERFEED_BASE_URL": "http://127.0.0.1:8000"})
    output = " ".join(_stop(server).split())  # the console wraps long lines
    assert f"base_url http://127.0.0.1:8000 names port 8000 but this server listens on port {port}" in output


@pytest.mark.parametrize(
    ("base_url", "port", "warned"),
    [
        (None, 8031, False),
        ("http://127.0.0.1:8031", 8031, False),
        ("http://localhost:8000/", 8031, True),
        ("https://papers.example.org", 8031, False),  # a proxy in front: cannot be checked
        ("papers.example.org", 8031, True),
    ],
)
def test_base_url_mismatch(base_url: str | None, port: int, warned: bool):
    assert (base_url_mismatch(base_url, "127.0.0.1", port) is not None) == warned


def test_without_base_url_links_follow_where_the_server_listens():
    assert Settings(port=8031).public_url == "http://127.0.0.1:8031"
    assert Settings(host="0.0.0.0", port=9000).public_url == "http://127.0.0.1:9000"
    assert (
        Settings(port=8031, base_url="https://papers.example.org/").public_url == "https://papers.example.org"
    )


def _feed_links(core: PaperFeed, **headers: str) -> list[str]:
    client = TestClient(create_app(core), base_url="http://10.0.0.5:8031")
    response = client.get("/feeds/search.atom?q=protein", headers=headers)
    assert response.status_code == 200
    return [entry.link for entry in feedparser.parse(response.text).entries]


def test_feed_links_name_the_host_the_request_came_to(core):
    add_papers(core, paper("Diffusion Models for Protein Design", arxiv_id="2611.00001"))
    assert _feed_links(core) == ["http://10.0.0.5:8031/papers/2611.00001"]


def test_feed_links_behind_a_trusted_proxy_name_the_public_host(settings):
    trusting = PaperFeed(settings.model_copy(update={"forwarded_allow_ips": "testclient"}))
    try:
        add_papers(trusting, paper("Diffusion Models for Protein Design", arxiv_id="2611.00001"))
        forwarded = {"X-Forwarded-Host": "papers.example.org", "X-Forwarded-Proto": "https"}
        assert _feed_links(trusting, **forwarded) == ["https://papers.example.org/papers/2611.00001"]
    finally:
        trusting.close()


def test_forwarded_headers_from_an_untrusted_client_are_ignored(core):
    add_papers(core, paper("Diffusion Models for Protein Design", arxiv_id="2611.00001"))
    forwarded = {"X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "https"}
    assert _feed_links(core, **forwarded) == ["http://10.0.0.5:8031/papers/2611.00001"]
