"""Shared fixtures: a fresh paperfeed per test on a throwaway data directory.

Every test that uses `settings` (and so `core`, `demo_core`) runs once per database backend:
SQLite, and PostgreSQL on a server the session starts itself. Pick backends with
`--backend=sqlite|postgresql|all` or $PAPERFEED_TEST_BACKENDS (default: all). A test that only
makes sense on some backends says so with `@pytest.mark.backends("postgresql")`.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from backends import (
    BACKENDS,
    BACKENDS_ENV,
    INSTALL_COMMAND,
    PostgresServer,
    PostgresUnavailable,
    selected_backends,
)
from paperfeed.config import Settings
from paperfeed.core import PaperFeed
from paperfeed.store import Store
from paperfeed.web.app import create_app

DEMO_DIR = Path(__file__).resolve().parents[1] / "src" / "paperfeed" / "demo" / "hf-daily-papers"
FIXTURES = Path(__file__).resolve().parent / "fixtures"


# --- choosing backends ----------------------------------------------------------------------------


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--backend",
        default=None,
        help=f"database backends to test: all (default), {', '.join(BACKENDS)}, or a comma list; "
        f"also ${BACKENDS_ENV}",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "backends(*names): run this test only on these database backends")
    config.addinivalue_line(
        "markers", "browser: drives Debian's Chromium through the real server (Playwright)"
    )
    try:
        config.paperfeed_backends = selected_backends(config.getoption("--backend"))  # type: ignore[attr-defined]
    except ValueError as exc:
        raise pytest.UsageError(str(exc)) from None


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend" not in metafunc.fixturenames:
        return
    backends = list(metafunc.config.paperfeed_backends)  # type: ignore[attr-defined]
    marker = metafunc.definition.get_closest_marker("backends")
    if marker is not None:
        backends = [name for name in backends if name in marker.args]
    metafunc.parametrize("backend", backends, indirect=True)


@pytest.fixture
def backend(request: pytest.FixtureRequest) -> str:
    """The database backend of this test run: "sqlite" or "postgresql"."""
    return request.param


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One PostgreSQL server for the session, started on first use, deleted at the end."""
    try:
        server = PostgresServer.start()
    except PostgresUnavailable as exc:
        # Fail, never skip: a suite that silently stops testing PostgreSQL is worse than a red one.
        pytest.fail(
            f"PostgreSQL backend unavailable: {exc}. Install it ({INSTALL_COMMAND}) "
            f"or test SQLite only with --backend=sqlite.",
            pytrace=False,
        )
    yield server
    server.stop()


def _new_database(
    request: pytest.FixtureRequest, backend: str, path: Path, *, migrated: bool
) -> Iterator[str]:
    if backend == "sqlite":
        url = f"sqlite:///{path}"
        if migrated:
            Store.open(url).close()
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
        yield url
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    url = server.new_database(migrated=migrated)
    yield url
    if migrated:
        server.release(url)
    else:
        server.drop_database(url)


@pytest.fixture
def database_url(request: pytest.FixtureRequest, backend: str, tmp_path: Path) -> Iterator[str]:
    """The URL of this test's own database, migrated to head, on this test's backend."""
    yield from _new_database(request, backend, tmp_path / "data" / "paperfeed.db", migrated=True)


@pytest.fixture
def empty_database_url(request: pytest.FixtureRequest, backend: str, tmp_path: Path) -> Iterator[str]:
    """Another fresh database on this test's backend, never migrated (no tables at all)."""
    yield from _new_database(request, backend, tmp_path / "empty" / "empty.db", migrated=False)


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    """A migrated database on the session's PostgreSQL server, whatever this test's backend."""
    url = postgres_server.new_database()
    yield url
    postgres_server.release(url)


# --- the application ------------------------------------------------------------------------------


# Tests embed with the static model distilled from all-MiniLM-L6-v2: real vectors from the real
# weights, fast enough to embed the demo corpus in every test that imports it.
TEST_EMBEDDER = "minilm-static"


@pytest.fixture(scope="session")
def models_dir() -> Path:
    """Models prepared from the installed weights: made once per machine and kept across runs
    (they are named by weights version and recipe, and written atomically under a lock)."""
    default = Path(tempfile.gettempdir()) / "paperfeed-test-models"
    return Path(os.environ.get("PAPERFEED_TEST_MODELS_DIR") or default)


@pytest.fixture
def settings(
    tmp_path: Path, backend: str, database_url: str, models_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> Settings:
    """Settings of a fresh instance on this test's backend. The environment points at the same
    instance, so commands that read their settings from it (the CLI) see it too."""
    data_dir = tmp_path / "data"
    monkeypatch.setenv("PAPERFEED_DATA_DIR", str(data_dir))
    monkeypatch.setenv("PAPERFEED_EMBEDDER", TEST_EMBEDDER)
    monkeypatch.setenv("PAPERFEED_MODELS_DIR", str(models_dir))
    models = {"embedder": TEST_EMBEDDER, "models_dir": models_dir}
    if backend == "sqlite":
        monkeypatch.delenv("PAPERFEED_DATABASE_URL", raising=False)
        return Settings(data_dir=data_dir, **models)  # the default: a SQLite file inside the data directory
    monkeypatch.setenv("PAPERFEED_DATABASE_URL", database_url)
    return Settings(data_dir=data_dir, database_url=database_url, **models)


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


@pytest.fixture
def client(demo_core: PaperFeed) -> TestClient:
    return TestClient(create_app(demo_core))


@pytest.fixture(scope="module")
def site(
    tmp_path_factory: pytest.TempPathFactory, models_dir: Path
) -> Iterator[tuple[PaperFeed, TestClient]]:
    """One demo instance shared by a module's tests that only read (SQLite: pages and API do not
    depend on the database; the tests using `client` run on every backend)."""
    from web_site import build_site  # it imports this module's constants

    core, client = build_site(tmp_path_factory.mktemp("site"), models_dir)
    yield core, client
    core.close()


@pytest.fixture(scope="module")
def site_core(site: tuple[PaperFeed, TestClient]) -> PaperFeed:
    return site[0]


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Debian's Chromium under Playwright, for the browser test modules beside test_browser.py."""
    from test_browser import launched_chromium  # the browser tests' own module holds the launcher

    with launched_chromium() as chromium:
        yield chromium
