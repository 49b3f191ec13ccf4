"""Tables, in SQLAlchemy Core. Alembic migrations under `migrations/` create and evolve them;
this module is what the code queries against and what autogenerate compares with."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# Instance-wide facts, e.g. the store's identity so derived indexes notice a replaced database.
meta = sa.Table(
    "meta",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

papers = sa.Table(
    "papers",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    # Stable public key given at first sight: the arXiv id, else "pf-" + a hash of title and DOI.
    sa.Column("key", sa.String(64), nullable=False, unique=True),
    sa.Column("arxiv_id", sa.String(40), unique=True),
    sa.Column("version", sa.Integer),
    sa.Column("doi", sa.String(255), unique=True),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("title_hash", sa.String(40), nullable=False, index=True),
    sa.Column("abstract", sa.Text, nullable=False, server_default=""),
    sa.Column("authors", sa.JSON, nullable=False),
    sa.Column("categories", sa.JSON, nullable=False),
    sa.Column("comments", sa.Text),
    sa.Column("journal_ref", sa.Text),
    sa.Column("links", sa.JSON, nullable=False),
    sa.Column("published", sa.Date),
    sa.Column("updated", sa.Date),
    sa.Column("listed_on", sa.Date, nullable=False, index=True),
    sa.Column("has_code", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("sources", sa.JSON, nullable=False),
    sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
    sa.Column("last_updated", sa.DateTime(timezone=True), nullable=False, index=True),
    sa.Column("hidden", sa.Boolean, nullable=False, server_default=sa.false()),
)

# One row per import of a file or feed; progress is committed with each batch so an
# interrupted import resumes where it stopped.
import_runs = sa.Table(
    "import_runs",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("fmt", sa.String(32), nullable=False),
    sa.Column("location", sa.Text, nullable=False),
    sa.Column("fingerprint", sa.String(64), nullable=False, index=True),
    sa.Column("status", sa.String(16), nullable=False),  # running | done | failed
    sa.Column("records_done", sa.Integer, nullable=False, server_default="0"),
    sa.Column("added", sa.Integer, nullable=False, server_default="0"),
    sa.Column("updated", sa.Integer, nullable=False, server_default="0"),
    sa.Column("unchanged", sa.Integer, nullable=False, server_default="0"),
    sa.Column("rejected", sa.Integer, nullable=False, server_default="0"),
    sa.Column("error", sa.Text),
    sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("finished_at", sa.DateTime(timezone=True)),
)

import_rejections = sa.Table(
    "import_rejections",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column(
        "run_id", sa.Integer, sa.ForeignKey("import_runs.id", ondelete="CASCADE"), nullable=False, index=True
    ),
    sa.Column("record_no", sa.Integer, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
)
