"""The test harness itself: backends are chosen on the command line, and a PostgreSQL that
cannot start fails the PostgreSQL tests loudly instead of skipping them."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from backends import PG_BIN_ENV, selected_backends

TESTS = Path(__file__).resolve().parent
PROBE = """
def test_probe(settings, backend):
    assert settings.db_url.startswith(backend)
"""


def run_probe_suite(
    tmp_path: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    """A one-test suite using this conftest, run as its own pytest session."""
    for name in ("conftest.py", "backends.py"):
        shutil.copy(TESTS / name, tmp_path / name)
    (tmp_path / "test_probe.py").write_text(PROBE)
    environment = {**os.environ, **(env or {})}
    environment.pop("PAPERFEED_TEST_BACKENDS", None)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist", "--rootdir", str(tmp_path),
         "-c", os.devnull, str(tmp_path), *args],
        cwd=tmp_path, env=environment, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("option", "expected"),
    [
        (None, ["sqlite", "postgresql"]),
        ("all", ["sqlite", "postgresql"]),
        ("sqlite", ["sqlite"]),
        ("postgresql", ["postgresql"]),
        ("postgresql,sqlite", ["sqlite", "postgresql"]),
    ],
)
def test_backends_are_chosen_by_option_or_all_by_default(option, expected, monkeypatch):
    monkeypatch.delenv("PAPERFEED_TEST_BACKENDS", raising=False)
    assert selected_backends(option) == expected


def test_the_environment_chooses_backends_when_the_option_does_not(monkeypatch):
    monkeypatch.setenv("PAPERFEED_TEST_BACKENDS", "sqlite")
    assert selected_backends(None) == ["sqlite"]
    assert selected_backends("postgresql") == ["postgresql"]


def test_an_unknown_backend_is_refused():
    with pytest.raises(ValueError, match="unknown backend"):
        selected_backends("oracle")


def test_postgresql_tests_fail_with_the_reason_when_postgresql_cannot_start(tmp_path):
    result = run_probe_suite(tmp_path, env={PG_BIN_ENV: str(tmp_path / "no-postgresql-here")})
    assert result.returncode != 0
    assert "PostgreSQL backend unavailable" in result.stdout, result.stdout
    assert "1 passed, 1 error" in result.stdout
    assert "skipped" not in result.stdout


def test_choosing_sqlite_alone_needs_no_postgresql(tmp_path):
    result = run_probe_suite(
        tmp_path, "--backend=sqlite", env={PG_BIN_ENV: str(tmp_path / "no-postgresql-here")}
    )
    assert result.returncode == 0, result.stdout
    assert "1 passed" in result.stdout
