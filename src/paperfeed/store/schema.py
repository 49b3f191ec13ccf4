"""Tables, in SQLAlchemy Core. Alembic migrations under `migrations/` create and evolve them;
this module is what the code queries against and what autogenerate compares with."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa


class UTCDateTime(sa.TypeDecorator):
    """A moment in time, always handed back timezone-aware in UTC.

    PostgreSQL answers in the session's time zone and SQLite drops the zone altogether;
    converting on the way in and out makes both backends give the same values."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: sa.Dialect) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)

    def process_result_value(self, value: dt.datetime | None, dialect: sa.Dialect) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


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
    sa.Column("published", sa.Date, index=True),  # digests read their window of days by it
    sa.Column("updated", sa.Date),
    sa.Column("listed_on", sa.Date, nullable=False, index=True),
    sa.Column("has_code", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("sources", sa.JSON, nullable=False),
    sa.Column("first_seen", UTCDateTime(), nullable=False),
    sa.Column("last_updated", UTCDateTime(), nullable=False, index=True),
    sa.Column("hidden", sa.Boolean, nullable=False, server_default=sa.false()),
    # What Hugging Face Daily Papers says of the paper: its list day and its own counts, kept apart
    # from local votes and comments (never added to them).
    sa.Column("hf_listed_on", sa.Date),
    sa.Column("hf_upvotes", sa.Integer),
    sa.Column("hf_comments", sa.Integer),
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
    sa.Column("started_at", UTCDateTime(), nullable=False),
    sa.Column("finished_at", UTCDateTime()),
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

# Sentence embeddings of papers, one row per paper and model: expensive to compute, so kept
# with the papers; the vector index is derived from them. `vector` holds `dim` little-endian
# float32 values; `text_hash` tells whether the title and abstract changed since.
paper_embeddings = sa.Table(
    "paper_embeddings",
    metadata,
    sa.Column("paper_id", sa.Integer, sa.ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("model", sa.String(100), primary_key=True),
    sa.Column("dim", sa.Integer, nullable=False),
    sa.Column("vector", sa.LargeBinary, nullable=False),
    sa.Column("text_hash", sa.String(40), nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
    # Which models have vectors, how many and how recent, read without the vectors (digests ask).
    sa.Index("ix_paper_embeddings_model_updated_at", "model", "updated_at"),
)

# --- community: accounts, sessions, votes, comments, submissions ------------------------------

users = sa.Table(
    "users",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(32), nullable=False),
    # The name casefolded: "Alice" and "alice" are one account.
    sa.Column("name_key", sa.String(32), nullable=False, unique=True),
    sa.Column("password_hash", sa.Text, nullable=False),
    sa.Column("is_admin", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("suspended", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("last_active_at", UTCDateTime()),
)

# Only a hash of each session token is kept: a leaked table logs nobody in.
user_sessions = sa.Table(
    "user_sessions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column(
        "user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
    ),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("expires_at", UTCDateTime(), nullable=False, index=True),
)

# One row per upvote; the primary key makes a second vote of the same user impossible.
votes = sa.Table(
    "votes",
    metadata,
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("paper_id", sa.Integer, sa.ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("created_at", UTCDateTime(), nullable=False, index=True),
    sa.Index("ix_votes_paper_id_created_at", "paper_id", "created_at"),
)

comments = sa.Table(
    "comments",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column(
        "paper_id", sa.Integer, sa.ForeignKey("papers.id", ondelete="CASCADE"), nullable=False, index=True
    ),
    sa.Column(
        "user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
    ),
    sa.Column("parent_id", sa.Integer, sa.ForeignKey("comments.id", ondelete="CASCADE"), index=True),
    sa.Column("body", sa.Text, nullable=False),  # Markdown as written; rendered and sanitised on display
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("edited_at", UTCDateTime()),
    sa.Column("deleted", sa.Boolean, nullable=False, server_default=sa.false()),  # by its author
    sa.Column("hidden", sa.Boolean, nullable=False, server_default=sa.false()),  # by a moderator
)

# Who brought a paper to the site; a paper is submitted at most once.
submissions = sa.Table(
    "submissions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column(
        "paper_id", sa.Integer, sa.ForeignKey("papers.id", ondelete="CASCADE"), nullable=False, unique=True
    ),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    sa.Column("submitted_on", sa.Date, nullable=False, index=True),
    sa.Column("submitted_at", UTCDateTime(), nullable=False),
    sa.Index("ix_submissions_user_id_submitted_on", "user_id", "submitted_on"),
)

# Sliding-window rate limits (failed log-ins, sign-ups, posts): one row per counted event, kept
# in the database so every server process sees the same counts.
rate_limit_events = sa.Table(
    "rate_limit_events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("bucket", sa.String(200), nullable=False),
    sa.Column("at", UTCDateTime(), nullable=False),
    sa.Index("ix_rate_limit_events_bucket_at", "bucket", "at"),
)

# Sources `paperfeed sync` follows: an arXiv category (OAI-PMH), an arXiv API query, or Hugging
# Face Daily Papers. `watermark` is the last day imported in full; `window_*` is the window of a
# sync in flight, so a sync that crashed resumes the same import run.
followed_sources = sa.Table(
    "followed_sources",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("kind", sa.String(16), nullable=False),  # arxiv-oai | arxiv-query | hf-daily
    sa.Column("target", sa.Text, nullable=False),  # the category, the query, or "daily"
    sa.Column("key", sa.String(64), nullable=False, unique=True),  # hash of kind and target
    sa.Column("options", sa.JSON, nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("watermark", sa.Date),
    sa.Column("window_from", sa.Date),
    sa.Column("window_until", sa.Date),
    sa.Column("last_run_at", UTCDateTime()),
    sa.Column("last_success_at", UTCDateTime()),
    sa.Column("last_error", sa.Text),
    sa.Column("last_error_at", UTCDateTime()),
    sa.Column("failures", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_run_at", UTCDateTime()),
    sa.Column("last_report", sa.JSON),
)
