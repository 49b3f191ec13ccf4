"""`paperfeed serve` as a real process for the tests that drive it over HTTP (browser tests)."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from paperfeed.config import Settings
from paperfeed.core import PaperFeed

DEMO_DIR = Path(__file__).resolve().parents[1] / "src" / "paperfeed" / "demo" / "hf-daily-papers"

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


def demo_instance(data_dir: Path, models_dir: Path, **settings: str) -> tuple[dict[str, str], PaperFeed]:
    """An instance over `data_dir` holding the demo data, embedded with the tests' fast model:
    the environment that `serving` starts it with (`settings` as PAPERFEED_* variables, e.g.
    SMTP_PORT="2525") and an open core for further set-up, which the caller closes."""
    from conftest import TEST_EMBEDDER

    env = {k: v for k, v in os.environ.items() if not k.startswith("PAPERFEED_")}
    env.update(
        PAPERFEED_DATA_DIR=str(data_dir),
        PAPERFEED_EMBEDDER=TEST_EMBEDDER,
        PAPERFEED_MODELS_DIR=str(models_dir),
        **{f"PAPERFEED_{name.upper()}": value for name, value in settings.items()},
    )
    core = PaperFeed(Settings(data_dir=data_dir, embedder=TEST_EMBEDDER, models_dir=models_dir))
    core.import_path(DEMO_DIR)
    return env, core
