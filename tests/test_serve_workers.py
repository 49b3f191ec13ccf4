"""`paperfeed serve --workers N`: N processes answer on one port, on either backend."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil
import pytest

from helpers import add_papers, paper

WORKERS = 2


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for_answer(server: subprocess.Popen, url: str, timeout: float = 60) -> httpx.Response:
    deadline = time.monotonic() + timeout
    while True:
        try:
            return httpx.get(url, timeout=5)
        except httpx.TransportError:
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                output = server.communicate()[0].decode(errors="replace")
                pytest.fail(f"paperfeed serve did not answer:\n{output}")
            time.sleep(0.2)


def test_serve_with_workers_answers_from_several_processes(core, settings):
    add_papers(core, paper("Many Hands Make Light Work", listed_on=None))
    port = _free_port()
    command = [str(Path(sys.executable).with_name("paperfeed")), "serve", "--workers", str(WORKERS)]
    # The settings fixture points the environment at this test's instance; the port comes from there too.
    env = {**os.environ, "PAPERFEED_PORT": str(port)}
    server = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        response = _wait_for_answer(server, f"http://127.0.0.1:{port}/")
        assert response.status_code == 200
        assert "Many Hands Make Light Work" in response.text
        paper_url = f"http://127.0.0.1:{port}/api/papers/{core.store.papers.get(1).url_id}"
        answers = [httpx.get(paper_url, timeout=10) for _ in range(10)]
        assert all(answer.status_code == 200 for answer in answers)
        workers = [
            child for child in psutil.Process(server.pid).children() if child.name().startswith("python")
        ]
        assert len(workers) >= WORKERS
    finally:
        server.send_signal(signal.SIGINT)  # uvicorn's supervisor stops its workers, then itself
        try:
            server.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.communicate()
    assert server.returncode == 0
