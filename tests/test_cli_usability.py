"""The command line as a person meets it in an 80-column terminal or a log: tables that fit,
one-line errors without internal names, --version and -h, no empty database made by a typo,
and progress lines when the output is not a terminal."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import add_papers, paper

ROOT = Path(__file__).resolve().parents[1]


def paperfeed(*args: str, columns: int = 80) -> subprocess.CompletedProcess:
    command = [str(Path(sys.executable).with_name("paperfeed")), *args]
    env = {**os.environ, "COLUMNS": str(columns), "NO_COLOR": "1", "TERM": "dumb"}
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)


def test_version_and_short_help():
    version = paperfeed("--version")
    assert version.returncode == 0 and version.stdout.startswith("paperfeed ")
    short = paperfeed("-h")
    assert short.returncode == 0 and "search" in short.stdout
    assert paperfeed("search", "-h").returncode == 0


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["search", "--bogus"], "No such option: --bogus"),
        (["search", "x", "--since", "notadate"], "Invalid value for '--since'"),
    ],
)
def test_usage_errors_are_one_plain_line(args: list[str], said: str):
    result = paperfeed(*args, columns=200)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and said in lines[0]
    assert "see: paperfeed search --help" in lines[0]
    for internal in ("NoSuchOption", "BadParameter", "Value error", "Traceback"):
        assert internal not in result.stderr


def test_a_mistyped_database_url_is_an_error_not_a_new_database(tmp_path: Path):
    typo = tmp_path / "paperfed.db"
    for command in (["stats"], ["search", "x"], ["reindex"], ["digest", "status"]):
        result = paperfeed(*command, "--database-url", f"sqlite:///{typo}", columns=200)
        assert result.returncode == 1, command
        assert f"there is no database at {typo}" in result.stderr, command
    assert not typo.exists()
    created = paperfeed(
        "import", str(ROOT / "tests" / "fixtures" / "bibtex"), "--database-url", f"sqlite:///{typo}"
    )
    assert created.returncode == 0, created.stderr
    assert typo.exists()


def test_import_reports_fit_80_columns_and_progress_shows_in_logs(settings, demo_dir: Path):
    result = paperfeed("import", str(demo_dir))
    assert result.returncode == 0, result.stderr
    assert all(len(line) <= 80 for line in result.stdout.splitlines()), result.stdout
    assert "000_cd249e3c553a7053.txt" in result.stdout and str(demo_dir) not in result.stdout
    progress = result.stderr.splitlines()
    assert any(line.startswith("importing: ") and " done " in line for line in progress), result.stderr
    assert "papers await embedding" in " ".join(result.stdout.split()), result.stdout

    embedded = paperfeed("embed")
    assert embedded.returncode == 0, embedded.stderr
    assert any(line.startswith("embedding: ") and " done " in line for line in embedded.stderr.splitlines())
    assert "covers 100% of the searchable papers" in " ".join(embedded.stdout.split()), embedded.stdout


def test_search_results_fit_80_columns_with_titles_cut_and_addresses_shown(core):
    long_title = "Diffusion " + "and very long words " * 12 + "at the end"
    add_papers(core, paper(long_title, arxiv_id="2611.00001", authors=["Ada Lovelace"]))
    result = paperfeed("search", "diffusion", "--mode", "keyword")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert all(len(line) <= 80 for line in lines), result.stdout
    assert any("Diffusion and very long words" in line and "…" in line for line in lines)
    assert "at the end" not in result.stdout
    assert "https://arxiv.org/abs/2611.00001" in result.stdout and "Ada Lovelace" in result.stdout


def test_an_authors_papers_fit_80_columns_newest_first_with_co_authors_and_variants(core):
    long_title = "Engines " + "and very long words " * 12 + "at the end"
    add_papers(
        core,
        paper("The first note", arxiv_id="2611.00001", published=dt.date(2024, 1, 5),
              authors=["Ada Lovelace", "Charles Babbage"], categories=["math.HO"]),
        paper(long_title, arxiv_id="2611.00002", published=dt.date(2024, 3, 5),
              authors=["Lovelace, Ada"], categories=["cs.GL"]),
        paper("A namesake", arxiv_id="2611.00003", published=dt.date(2024, 2, 5), authors=["A. Lovelace"]),
    )  # fmt: skip
    result = paperfeed("author", "Ada Lovelace")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert all(len(line) <= 80 for line in lines), result.stdout
    assert lines[0] == "Ada Lovelace · 2 papers"
    assert "co-authors: Charles Babbage (1)" in lines
    assert "also written as A. Lovelace (1) — not joined: no co-author in common" in lines
    assert result.stdout.index("Engines and very long words") < result.stdout.index("The first note")
    assert "https://arxiv.org/abs/2611.00001" in result.stdout and "at the end" not in result.stdout
