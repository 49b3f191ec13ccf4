"""Whole-instance backups (`paperfeed export` / `import-instance`) and copies between databases
(`paperfeed migrate-db`): nothing is lost, and bad input restores nothing."""

from __future__ import annotations

import gzip
from pathlib import Path

import orjson
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from helpers import paper
from paperfeed.cli import app
from paperfeed.config import Settings
from paperfeed.core import PaperFeed
from paperfeed.errors import InvalidInput, StoreError
from paperfeed.ingest import open_sources
from paperfeed.models import PaperRecord, SearchRequest
from paperfeed.store import Store, backup
from paperfeed.store.schema import metadata
from paperfeed.text import finish_record
from sample_rows import fill_every_table

DEMO_PAGE = "000_cd249e3c553a7053.txt"


def table_contents(store: Store) -> dict[str, list[dict]]:
    """Every exported row, table by table in primary-key order."""
    contents = {}
    with store.engine.connect() as conn:
        for exported in backup.EXPORTED_TABLES:
            table = exported.sa_table
            rows = conn.execute(sa.select(table).order_by(*table.primary_key.columns)).mappings()
            contents[exported.type] = [dict(row) for row in rows]
    return contents


def sqlite_instance(settings: Settings, data_dir: Path) -> Settings:
    """Settings like the test's, for another instance in the default SQLite file of `data_dir`."""
    return settings.model_copy(update={"data_dir": data_dir, "database_url": None})


def merge(store: Store, *records: PaperRecord) -> None:
    with store.engine.begin() as conn:
        store.papers.merge_batch(conn, [finish_record(record) for record in records])


def import_one_demo_page(core: PaperFeed, demo_dir: Path) -> None:
    core.import_sources(open_sources(demo_dir / DEMO_PAGE), sync=False)


@pytest.fixture
def full_instance(core: PaperFeed, demo_dir: Path) -> PaperFeed:
    """A page of demo papers, plus rows in every other table (accounts, votes, comments, ...)."""
    import_one_demo_page(core, demo_dir)
    fill_every_table(core.store.engine)
    return core


@pytest.fixture
def empty_store(empty_database_url: str):
    store = Store.open(empty_database_url)
    yield store
    store.close()


def run_cli(*args: str):
    result = CliRunner().invoke(app, list(args), catch_exceptions=True)
    return result


def test_every_table_is_exported_or_deliberately_left_out():
    exported = {item.table for item in backup.EXPORTED_TABLES}
    assert exported.isdisjoint(backup.NOT_EXPORTED)
    assert set(metadata.tables) - {"alembic_version"} == exported | set(backup.NOT_EXPORTED) - {
        "alembic_version"
    }


def test_tables_are_exported_after_the_tables_they_point_at():
    order = [item.table for item in backup.EXPORTED_TABLES]
    for position, item in enumerate(backup.EXPORTED_TABLES):
        for fk in item.sa_table.foreign_keys:
            parent = fk.column.table.name
            if parent != item.table and parent in order:
                assert order.index(parent) < position, f"{item.table} is exported before {parent}"


def test_export_then_import_restores_every_row_of_every_table(full_instance, empty_store, tmp_path):
    path = tmp_path / "backup.jsonl"
    exported = backup.export_instance(full_instance.store, path)
    restored = backup.import_instance(empty_store, path)
    assert restored == exported
    assert exported["paper"] > 100
    assert all(count > 0 for count in exported.values()), exported
    assert table_contents(empty_store) == table_contents(full_instance.store)


def test_an_export_is_one_json_object_per_line_with_a_type(full_instance, tmp_path):
    path = tmp_path / "backup.jsonl"
    counts = backup.export_instance(full_instance.store, path)
    lines = [orjson.loads(line) for line in path.read_bytes().splitlines()]
    assert lines[0]["type"] == "paperfeed-export"
    assert lines[-1] == {"type": "end", "counts": counts}
    assert {line["type"] for line in lines[1:-1]} == set(counts)
    first_paper = next(line["row"] for line in lines if line["type"] == "paper")
    assert first_paper["id"] == 1
    assert isinstance(first_paper["authors"], list)


def test_a_compressed_export_round_trips(full_instance, empty_store, tmp_path):
    path = tmp_path / "backup.jsonl.gz"
    backup.export_instance(full_instance.store, path)
    with gzip.open(path) as compressed:
        assert compressed.readline().startswith(b'{"type":"paperfeed-export"')
    backup.import_instance(empty_store, path)
    assert table_contents(empty_store) == table_contents(full_instance.store)


def test_a_restored_instance_gives_new_papers_ids_after_the_restored_ones(
    full_instance, empty_store, tmp_path
):
    path = tmp_path / "backup.jsonl"
    backup.export_instance(full_instance.store, path)
    backup.import_instance(empty_store, path)
    highest = max(row["id"] for row in table_contents(empty_store)["paper"])
    merge(empty_store, paper("A Paper Added After The Restore"))
    assert max(row["id"] for row in table_contents(empty_store)["paper"]) == highest + 1


def test_a_restored_instance_is_searchable_at_once(full_instance, tmp_path, empty_database_url):
    path = tmp_path / "backup.jsonl"
    backup.export_instance(full_instance.store, path)
    full_instance.keyword.sync(full_instance.store)
    restored = PaperFeed(
        full_instance.settings.model_copy(
            update={"data_dir": tmp_path / "restored", "database_url": empty_database_url}
        )
    )
    try:
        restored.keyword.sync(restored.store)  # an index made before the restore must not hide it
        backup.import_instance(restored.store, path)
        restored.keyword.sync(restored.store)
        query = SearchRequest("diffusion")
        assert restored.search(query).total == full_instance.search(query).total > 0
    finally:
        restored.close()


def test_restoring_into_a_database_holding_papers_is_refused_and_changes_nothing(full_instance, tmp_path):
    path = tmp_path / "backup.jsonl"
    backup.export_instance(full_instance.store, path)
    before = table_contents(full_instance.store)
    with pytest.raises(InvalidInput, match="not empty"):
        backup.import_instance(full_instance.store, path)
    assert table_contents(full_instance.store) == before


def test_an_export_cut_short_is_refused_and_restores_nothing(full_instance, empty_store, tmp_path):
    path = tmp_path / "backup.jsonl"
    backup.export_instance(full_instance.store, path)
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(b"".join(lines[: len(lines) // 2]))
    with pytest.raises(InvalidInput, match="ends early"):
        backup.import_instance(empty_store, path)
    assert backup.row_counts(empty_store) == dict.fromkeys(backup.row_counts(empty_store), 0)


def test_a_compressed_export_cut_short_is_refused(full_instance, empty_store, tmp_path):
    path = tmp_path / "backup.jsonl.gz"
    backup.export_instance(full_instance.store, path)
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(InvalidInput, match=r"cannot read|ends early"):
        backup.import_instance(empty_store, path)
    assert sum(backup.row_counts(empty_store).values()) == 0


@pytest.mark.parametrize(
    ("bad_line", "message"),
    [
        (b"{not json", "not JSON"),
        (b'{"type": "spaceship", "row": {}}', "unknown type 'spaceship'"),
        (b'{"type": "paper", "row": {"id": 9999, "warp_factor": 9}}', "unknown field"),
        (b'{"type": "paper", "row": {"id": 9999, "first_seen": "yesterday"}}', "first_seen"),
        (b'{"type": "paper"}', 'no "row"'),
    ],
)
def test_a_bad_line_is_named_and_nothing_is_restored(full_instance, empty_store, tmp_path, bad_line, message):
    path = tmp_path / "backup.jsonl"
    backup.export_instance(full_instance.store, path)
    lines = path.read_bytes().splitlines()
    lines.insert(5, bad_line)
    path.write_bytes(b"\n".join(lines) + b"\n")
    with pytest.raises(InvalidInput, match=message) as error:
        backup.import_instance(empty_store, path)
    assert f"{path}:6:" in str(error.value)
    assert sum(backup.row_counts(empty_store).values()) == 0


def test_rows_that_do_not_fit_together_restore_nothing(full_instance, empty_store, tmp_path):
    path = tmp_path / "backup.jsonl"
    backup.export_instance(full_instance.store, path)
    lines = path.read_bytes().splitlines()
    first_paper = next(i for i, line in enumerate(lines) if line.startswith(b'{"type":"paper"'))
    lines.insert(first_paper + 1, lines[first_paper])  # the same paper twice
    counts = orjson.loads(lines[-1])
    counts["counts"]["paper"] += 1
    lines[-1] = orjson.dumps(counts)
    path.write_bytes(b"\n".join(lines) + b"\n")
    with pytest.raises(InvalidInput, match="do not fit together"):
        backup.import_instance(empty_store, path)
    assert sum(backup.row_counts(empty_store).values()) == 0


def test_an_export_from_a_newer_paperfeed_is_refused(empty_store, tmp_path):
    path = tmp_path / "future.jsonl"
    path.write_bytes(
        b'{"type": "paperfeed-export", "format": 1, "schema": "9999_from_the_future"}\n'
        b'{"type": "end", "counts": {}}\n'
    )
    with pytest.raises(InvalidInput, match="newer paperfeed"):
        backup.import_instance(empty_store, path)


def test_a_file_that_is_not_an_export_is_refused(empty_store, tmp_path):
    path = tmp_path / "papers.jsonl"
    path.write_bytes(b'{"id": "2401.00001", "title": "A paper"}\n')
    with pytest.raises(InvalidInput, match='not an object with a "type"'):
        backup.import_instance(empty_store, path)


# --- the commands --------------------------------------------------------------------------------


def test_export_and_import_instance_commands_round_trip(full_instance, empty_database_url, tmp_path):
    full_instance.sync_indexes()  # embeddings stored, so the restore's own sync adds none
    path = tmp_path / "backup.jsonl"
    exported = run_cli("export", str(path))
    assert exported.exit_code == 0, exported.output
    assert "exported to" in exported.output
    restored = run_cli("import-instance", str(path), "--database-url", empty_database_url)
    assert restored.exit_code == 0, restored.output
    target = Store.open(empty_database_url)
    try:
        assert table_contents(target) == table_contents(full_instance.store)
    finally:
        target.close()


def test_export_will_not_overwrite_a_file_unless_forced(full_instance, tmp_path):
    path = tmp_path / "backup.jsonl"
    path.write_text("precious\n")
    refused = run_cli("export", str(path))
    assert isinstance(refused.exception, InvalidInput)
    assert path.read_text() == "precious\n"
    assert run_cli("export", str(path), "--force").exit_code == 0
    assert path.read_bytes().startswith(b'{"type":"paperfeed-export"')


def test_migrate_db_copies_a_sqlite_instance_into_this_backend(settings, tmp_path, database_url, demo_dir):
    source = PaperFeed(sqlite_instance(settings, tmp_path / "old"))
    try:
        import_one_demo_page(source, demo_dir)
        fill_every_table(source.store.engine)
        result = run_cli("migrate-db", "--from", source.store.url, "--to", database_url)
        assert result.exit_code == 0, result.output
        target = Store.open(database_url)
        try:
            assert table_contents(target) == table_contents(source.store)
        finally:
            target.close()
    finally:
        source.close()


def test_migrate_db_refuses_to_copy_a_database_onto_itself(core):
    result = run_cli("migrate-db", "--to", core.store.url)
    assert isinstance(result.exception, InvalidInput)


def test_migrate_db_refuses_a_sqlite_source_that_does_not_exist(tmp_path, database_url):
    result = run_cli("migrate-db", "--from", f"sqlite:///{tmp_path / 'typo.db'}", "--to", database_url)
    assert isinstance(result.exception, InvalidInput)
    assert not (tmp_path / "typo.db").exists()


def test_migrate_db_refuses_a_target_holding_papers(full_instance, tmp_path):
    source = PaperFeed(sqlite_instance(full_instance.settings, tmp_path / "old"))
    try:
        merge(source.store, paper("A Paper To Copy"))
        result = run_cli("migrate-db", "--from", source.store.url, "--to", full_instance.store.url)
        assert isinstance(result.exception, InvalidInput)
        assert "not empty" in str(result.exception)
    finally:
        source.close()


def test_an_unusable_target_url_is_one_clear_error(core):
    result = run_cli("migrate-db", "--from", core.store.url, "--to", "nosuchdb://somewhere")
    assert isinstance(result.exception, StoreError)
    assert "nosuchdb" in str(result.exception)
