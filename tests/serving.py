"""`paperfeed serve` as a real process for the tests that drive it over HTTP (browser tests)."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

START_TIMEOUT_S = 60


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def serving(env: dict[str, str]) -> Iterator[str]:
    """The base URL of `paperfeed serve` on a free port with `env`, once it answers; stopped after."""
    port = free_port()
    process = subprocess.Popen(
        [str(Path(sys.executable).with_name("paperfeed")), "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            try:
                httpx.get(base + "/", timeout=5)
                break
            except httpx.TransportError:
                if process.poll() is not None or time.monotonic() > deadline:
                    process.kill()
                    pytest.fail(
                        f"paperfeed serve did not start:\n{process.communicate()[0].decode(errors='replace')}"
                    )
                time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        process.communicate(timeout=15)
