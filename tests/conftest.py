"""Shared fixtures: a fresh paperfeed per test on a throwaway data directory."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from paperfeed.config import Settings
from paperfeed.core import PaperFeed

DEMO_DIR = Path(__file__).resolve().parents[1] / "src" / "paperfeed" / "demo" / "hf-daily-papers"
FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data")


@pytest.fixture
def core(settings: Settings) -> Iterator[PaperFeed]:
    feed = PaperFeed(settings)
    yield feed
    feed.close()


@pytest.fixture(scope="session")
def demo_dir() -> Path:
    return DEMO_DIR


@pytest.fixture
def demo_core(core: PaperFeed, demo_dir: Path) -> PaperFeed:
    """A paperfeed holding the bundled Daily Papers demo data."""
    core.import_path(demo_dir)
    return core
