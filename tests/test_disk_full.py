"""A full disk: one clear line instead of the SQL and rows being written, read-only commands
still work, and the web answers 503 instead of 500.

The disk is real: a tmpfs of a few megabytes mounted for the test (as root), holding the data
directory, filled to the last byte with a file of zeros. Where mounting is not permitted the
tests skip and say so. The SQLite backend only: a PostgreSQL server's disk is the server's.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from community_helpers import Visitor, cheap_password_hashing
from conftest import DEMO_DIR, FIXTURES, TEST_EMBEDDER
from paperfeed.config import Settings
from paperfeed.core import PaperFeed

DISK_SIZE = "24m"  # the demo instance takes about 5 MB; a full disk fails well before 24


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={DISK_SIZE}", "tmpfs", str(mount_point)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        pytest.skip(f"a small disk needs `mount -t tmpfs` (root): {mounted.stderr.strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def fill(disk: Path) -> None:
    """Write zeros until the disk refuses another byte."""
    with open(disk / "filler", "wb", buffering=0) as filler:
        for size in (1 << 16, 1):  # big blocks, then the last few bytes
            try:
                while True:
                    filler.write(b"\0" * size)
            except OSError:
                pass


@pytest.fixture
def cli_env(small_disk: Path, models_dir: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("PAPERFEED_")}
    env.update(
        PAPERFEED_DATA_DIR=str(small_disk / "data"),
        PAPERFEED_EMBEDDER=TEST_EMBEDDER,
        PAPERFEED_MODELS_DIR=str(models_dir),
        COLUMNS="200",
    )
    return env


def paperfeed(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "paperfeed.cli", *args], env=env, capture_output=True, text=True, timeout=600
    )


def test_on_a_full_disk_an_import_fails_in_one_line_and_search_and_stats_still_answer(
    small_disk: Path, cli_env: dict[str, str]
) -> None:
    assert paperfeed(cli_env, "import", str(DEMO_DIR)).returncode == 0
    fill(small_disk)

    failed = paperfeed(cli_env, "import", str(FIXTURES / "snapshot" / "arxiv-metadata-sample.jsonl"))

    assert failed.returncode == 1
    lines = failed.stderr.strip().splitlines()
    assert lines == ["error: cannot write to the database or index: the disk is full or failing "
                     "(free some space and try again)"]  # fmt: skip
    # No SQL and no paper data, no exception class.
    assert not any(word in failed.stderr for word in ("INSERT", "SELECT", "parameters", "Error"))

    stats = paperfeed(cli_env, "stats")
    assert stats.returncode == 0, stats.stderr
    assert "707" in stats.stdout  # the demo's papers, read from the full disk

    found = paperfeed(cli_env, "search", "attention", "--mode", "keyword")
    assert found.returncode == 0, found.stderr
    assert "Attention" in found.stdout


def test_a_running_server_answers_503_in_one_sentence_when_the_disk_fills(
    small_disk: Path, models_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cheap_password_hashing(monkeypatch)
    settings = Settings(data_dir=small_disk / "data", embedder=TEST_EMBEDDER, models_dir=models_dir)
    core = PaperFeed(settings)
    try:
        visitor = Visitor(core)
        assert visitor.get("/").status_code == 200
        fill(small_disk)

        signed_up = visitor.sign_up("alice")

        assert signed_up.status_code == 503
        assert "disk is full" in signed_up.text
        assert "sqlite" not in signed_up.text.lower() and "INSERT" not in signed_up.text
        assert visitor.get("/").status_code == 200  # reading still works
    finally:
        core.close()
