"""Rows for every table of a database, made from its reflected columns, so they fit the
schema of any migration revision (and any table added later)."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

ROWS_PER_TABLE = 2


def _sample_value(column: sa.Column, row_no: int, refs: dict[str, list[dict]]):
    for fk in column.foreign_keys:
        parents = refs.get(fk.column.table.name)
        if not parents:  # the table points at itself: filled in after
            return None
        parent = parents[row_no % len(parents)]
        return parent[fk.column.name]
    kind = column.type
    if isinstance(kind, sa.Boolean):
        return row_no % 2 == 1
    if isinstance(kind, sa.Integer):
        return row_no + 1
    if isinstance(kind, sa.DateTime):
        return dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.UTC) + dt.timedelta(days=row_no)
    if isinstance(kind, sa.Date):
        return dt.date(2024, 1, 2) + dt.timedelta(days=row_no)
    if isinstance(kind, sa.JSON):
        return []  # valid wherever the application expects a list
    if isinstance(kind, sa.String):
        text = f"{column.name}-{row_no}"
        return text[-kind.length :] if kind.length else text
    if isinstance(kind, sa.Float | sa.Numeric):
        return row_no + 0.5
    if isinstance(kind, sa.LargeBinary):
        return row_no.to_bytes(4, "little")
    raise AssertionError(f"no sample value for {column.table.name}.{column.name} ({kind!r}); add one here")


def fill_every_table(engine: sa.Engine) -> dict[str, int]:
    """Insert ROWS_PER_TABLE rows into every table (parents first); returns the row counts."""
    reflected = sa.MetaData()
    reflected.reflect(engine)
    refs: dict[str, list[dict]] = {}
    existing = row_counts(engine)
    with engine.begin() as conn:
        for table in reflected.sorted_tables:
            if table.name == "alembic_version":
                continue
            first = existing[table.name]  # numbering on from earlier fills keeps unique keys unique
            rows = [
                {column.name: _sample_value(column, row_no, refs) for column in table.columns}
                for row_no in range(first, first + ROWS_PER_TABLE)
            ]
            if any(fk.column.table is table for column in table.columns for fk in column.foreign_keys):
                for row in rows:  # a row may point at its own table: at rows already there
                    for column in table.columns:
                        for fk in column.foreign_keys:
                            if fk.column.table is table:
                                row[column.name] = None if column.nullable else rows[0][fk.column.name]
            conn.execute(table.insert(), rows)
            refs[table.name] = rows
    return row_counts(engine)


def row_counts(engine: sa.Engine) -> dict[str, int]:
    inspector = sa.inspect(engine)
    counts = {}
    with engine.connect() as conn:
        for name in inspector.get_table_names():
            if name != "alembic_version":
                counts[name] = conn.execute(
                    sa.select(sa.func.count()).select_from(sa.table(name))
                ).scalar_one()
    return counts
