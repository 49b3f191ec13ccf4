"""Schema migrations on both backends: every revision upgrades and downgrades, keeps the rows
already stored, and head matches the tables the code queries (`store/schema.py`).

The tests walk whatever revisions the script directory holds, so a new migration is covered
the moment it is added.
"""

from __future__ import annotations

import multiprocessing

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from paperfeed.store import Store
from paperfeed.store.migrate import MIGRATIONS_DIR, alembic_config, current_revision, downgrade, upgrade
from paperfeed.store.schema import metadata
from sample_rows import fill_every_table, row_counts


def script_directory() -> ScriptDirectory:
    return ScriptDirectory(str(MIGRATIONS_DIR))


def revisions_oldest_first() -> list[str]:
    return [rev.revision for rev in reversed(list(script_directory().walk_revisions("base", "heads")))]


def upgrade_steps() -> list[tuple[str, str]]:
    """(from, to) for every revision that has a parent: the steps existing databases take."""
    steps = []
    for rev in reversed(list(script_directory().walk_revisions("base", "heads"))):
        parents = rev.down_revision if isinstance(rev.down_revision, tuple) else (rev.down_revision,)
        steps.extend((parent, rev.revision) for parent in parents if parent is not None)
    return steps


def schema_differences(engine: sa.Engine) -> list:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return compare_metadata(context, metadata)


@pytest.fixture
def empty_engine(empty_database_url: str):
    engine = Store(empty_database_url).engine  # the application's engine, pragmas and all
    yield engine
    engine.dispose()


# --- the tests ----------------------------------------------------------------------------------


def test_revisions_form_one_line_from_base_to_a_single_head():
    script = script_directory()
    assert len(script.get_heads()) == 1, f"several heads, merge them: {script.get_heads()}"
    assert len(script.get_bases()) == 1
    assert revisions_oldest_first()[-1] == script.get_current_head()


def test_an_empty_database_upgrades_to_a_head_matching_the_schema_code_uses(empty_engine):
    upgrade(empty_engine, "head")
    assert current_revision(empty_engine) == script_directory().get_current_head()
    assert schema_differences(empty_engine) == []


def test_downgrading_to_base_removes_every_table_and_upgrading_again_works(empty_engine):
    upgrade(empty_engine, "head")
    fill_every_table(empty_engine)
    downgrade(empty_engine, "base")
    assert row_counts(empty_engine) == {}
    assert current_revision(empty_engine) is None
    upgrade(empty_engine, "head")
    assert schema_differences(empty_engine) == []


def test_every_revision_upgrades_and_downgrades_one_step_at_a_time_with_data_in_it(empty_engine):
    revisions = revisions_oldest_first()
    for revision in revisions:
        upgrade(empty_engine, revision)
        assert current_revision(empty_engine) == revision
        fill_every_table(empty_engine)
    before_downgrades = row_counts(empty_engine)
    for revision in reversed(revisions[:-1]):
        downgrade(empty_engine, revision)
        assert current_revision(empty_engine) == revision
        remaining = row_counts(empty_engine)
        assert remaining == {name: before_downgrades[name] for name in remaining}, (
            f"rows lost going to {revision}"
        )


@pytest.mark.parametrize(("older", "newer"), upgrade_steps(), ids=lambda rev: rev)
def test_upgrading_from_the_previous_revision_keeps_stored_rows(empty_engine, older, newer):
    upgrade(empty_engine, older)
    stored = fill_every_table(empty_engine)
    upgrade(empty_engine, newer)
    after = row_counts(empty_engine)
    assert {name: after.get(name) for name in stored} == stored
    downgrade(empty_engine, older)
    assert row_counts(empty_engine) == stored


def test_the_current_alembic_config_points_at_the_packaged_migrations(empty_engine):
    config = alembic_config(empty_engine)
    assert ScriptDirectory.from_config(config).get_current_head() == script_directory().get_current_head()


def _open_store(url: str) -> str | None:
    store = Store.open(url)
    try:
        return current_revision(store.engine)
    finally:
        store.close()


def test_processes_opening_a_new_database_at_once_all_find_it_migrated(empty_database_url):
    with multiprocessing.get_context("spawn").Pool(3) as pool:
        revisions = pool.map(_open_store, [empty_database_url] * 3)
    assert revisions == [script_directory().get_current_head()] * 3
