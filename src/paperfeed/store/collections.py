"""Collections: a user's named lists of papers, and the papers saved into them.

Every user has one default collection ("Saved", what the Save button fills), made on first
use; `default_for` holds the owner's id only on that one, so a unique key allows one default
per user however many requests race to make it.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from paperfeed.errors import InvalidInput
from paperfeed.models import Collection
from paperfeed.store.papers import chunked, utcnow
from paperfeed.store.schema import UTCDateTime, metadata, users

DEFAULT_NAME = "Saved"

collections = sa.Table(
    "collections",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column(
        "user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
    ),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("description", sa.Text, nullable=False, server_default=""),
    sa.Column("visibility", sa.String(8), nullable=False, server_default="private"),  # private|unlisted|public
    # The owner's id on the default collection only (NULL on the others, which never collide).
    sa.Column("default_for", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), unique=True),
    sa.Column("share_token", sa.String(64), nullable=False, unique=True),
    sa.Column("feed_token", sa.String(64), nullable=False, unique=True),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
    sa.UniqueConstraint("user_id", "name"),
)

# A paper saved into one of a user's collections. `user_id` is the collection owner's, kept
# here so "everything this user saved" (what recommendations learn from) is one indexed lookup.
saved_papers = sa.Table(
    "saved_papers",
    metadata,
    sa.Column(
        "collection_id", sa.Integer, sa.ForeignKey("collections.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("paper_id", sa.Integer, sa.ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True),
    sa.Column(
        "user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
    ),
    sa.Column("created_at", UTCDateTime(), nullable=False),
)


def new_token() -> str:
    return secrets.token_urlsafe(24)


def _collection(row: sa.Row) -> Collection:
    m = row._mapping
    return Collection(
        id=m["id"], user_id=m["user_id"], owner=m["owner"], name=m["name"], description=m["description"],
        visibility=m["visibility"], is_default=m["default_for"] is not None, share_token=m["share_token"],
        feed_token=m["feed_token"], created_at=m["created_at"], updated_at=m["updated_at"],
        size=m["size"] or 0,
    )  # fmt: skip


def _select() -> sa.Select:
    size = (
        sa.select(sa.func.count())
        .where(saved_papers.c.collection_id == collections.c.id)
        .scalar_subquery()
        .label("size")
    )
    return sa.select(collections, users.c.name.label("owner"), size).join(
        users, users.c.id == collections.c.user_id
    )


class CollectionStorage:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # --- collections ---------------------------------------------------------------------------

    def _one(self, conn: Connection, clause: sa.ColumnElement) -> Collection | None:
        row = conn.execute(_select().where(clause)).first()
        return _collection(row) if row else None

    def get(self, collection_id: int) -> Collection | None:
        with self.engine.connect() as conn:
            return self._one(conn, collections.c.id == collection_id)

    def by_share_token(self, token: str) -> Collection | None:
        with self.engine.connect() as conn:
            return self._one(conn, collections.c.share_token == token)

    def by_feed_token(self, token: str) -> Collection | None:
        with self.engine.connect() as conn:
            return self._one(conn, collections.c.feed_token == token)

    def of_user(self, user_id: int) -> list[Collection]:
        """The user's collections: the default one first, then by name."""
        query = (
            _select()
            .where(collections.c.user_id == user_id)
            .order_by(collections.c.default_for.is_(None), sa.func.lower(collections.c.name), collections.c.id)
        )
        with self.engine.connect() as conn:
            return [_collection(row) for row in conn.execute(query)]

    def public_of_user(self, user_id: int) -> list[Collection]:
        return [c for c in self.of_user(user_id) if c.visibility == "public"]

    def default_for(self, user_id: int, now: dt.datetime | None = None) -> Collection:
        """The user's default collection, made now if it does not exist yet."""
        from paperfeed.store import insert_ignoring_conflicts

        with self.engine.begin() as conn:
            found = self._one(conn, collections.c.default_for == user_id)
            if found is not None:
                return found
            moment = now or utcnow()
            name = DEFAULT_NAME
            taken = set(
                conn.execute(sa.select(collections.c.name).where(collections.c.user_id == user_id)).scalars()
            )
            while name in taken:  # a collection of the user's own already has the name
                name += "*"
            conn.execute(
                insert_ignoring_conflicts(conn, collections).values(
                    user_id=user_id, name=name, description="", visibility="private", default_for=user_id,
                    share_token=new_token(), feed_token=new_token(), created_at=moment, updated_at=moment,
                )
            )
            return self._one(conn, collections.c.default_for == user_id)  # type: ignore[return-value]

    def create(
        self, user_id: int, name: str, description: str, visibility: str, now: dt.datetime | None = None
    ) -> Collection:
        moment = now or utcnow()
        try:
            with self.engine.begin() as conn:
                new_id = conn.execute(
                    sa.insert(collections)
                    .values(
                        user_id=user_id, name=name, description=description, visibility=visibility,
                        share_token=new_token(), feed_token=new_token(), created_at=moment, updated_at=moment,
                    )
                    .returning(collections.c.id)
                ).scalar_one()
        except sa.exc.IntegrityError:
            raise InvalidInput(f"you have a collection named {name!r} already") from None
        return self.get(new_id)  # type: ignore[return-value]

    def update(
        self,
        collection_id: int,
        *,
        name: str,
        description: str,
        visibility: str,
        new_tokens: bool = False,
        now: dt.datetime | None = None,
    ) -> Collection:
        values: dict = {"name": name, "description": description, "visibility": visibility}
        if new_tokens:
            values.update(share_token=new_token(), feed_token=new_token())
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    sa.update(collections)
                    .where(collections.c.id == collection_id)
                    .values(**values, updated_at=now or utcnow())
                )
        except sa.exc.IntegrityError:
            raise InvalidInput(f"you have a collection named {name!r} already") from None
        return self.get(collection_id)  # type: ignore[return-value]

    def delete(self, collection_id: int) -> None:
        with self.engine.begin() as conn:
            conn.execute(sa.delete(saved_papers).where(saved_papers.c.collection_id == collection_id))
            conn.execute(sa.delete(collections).where(collections.c.id == collection_id))

    # --- the papers in them --------------------------------------------------------------------

    def add(self, collection: Collection, paper_ids: Sequence[int], now: dt.datetime | None = None) -> int:
        """Save papers into a collection; returns how many were not in it yet."""
        from paperfeed.store import insert_ignoring_conflicts

        moment = now or utcnow()
        added = 0
        with self.engine.begin() as conn:
            for chunk in chunked(list(dict.fromkeys(paper_ids))):
                rows = [
                    {"collection_id": collection.id, "paper_id": p, "user_id": collection.user_id,
                     "created_at": moment}
                    for p in chunk
                ]  # fmt: skip
                # the rows really inserted come back; rowcount is not told reliably by every driver
                insert = insert_ignoring_conflicts(conn, saved_papers).values(rows)
                added += len(conn.execute(insert.returning(saved_papers.c.paper_id)).all())
            conn.execute(
                sa.update(collections).where(collections.c.id == collection.id).values(updated_at=moment)
            )
        return added

    def remove(self, collection: Collection, paper_id: int, now: dt.datetime | None = None) -> bool:
        with self.engine.begin() as conn:
            gone = conn.execute(
                sa.delete(saved_papers).where(
                    saved_papers.c.collection_id == collection.id, saved_papers.c.paper_id == paper_id
                )
            ).rowcount
            conn.execute(
                sa.update(collections)
                .where(collections.c.id == collection.id)
                .values(updated_at=now or utcnow())
            )
        return bool(gone)

    def paper_ids(self, collection_id: int, *, limit: int | None = None, offset: int = 0) -> list[int]:
        """The collection's papers, the last added first."""
        query = (
            sa.select(saved_papers.c.paper_id)
            .where(saved_papers.c.collection_id == collection_id)
            .order_by(saved_papers.c.created_at.desc(), saved_papers.c.paper_id.desc())
            .offset(offset)
        )
        if limit is not None:
            query = query.limit(limit)
        with self.engine.connect() as conn:
            return list(conn.execute(query).scalars())

    def saved_paper_ids(self, user_id: int) -> list[int]:
        """Every paper in any of the user's collections, the last saved first."""
        latest = sa.func.max(saved_papers.c.created_at)
        query = (
            sa.select(saved_papers.c.paper_id)
            .where(saved_papers.c.user_id == user_id)
            .group_by(saved_papers.c.paper_id)
            .order_by(latest.desc(), saved_papers.c.paper_id.desc())
        )
        with self.engine.connect() as conn:
            return list(conn.execute(query).scalars())

    def memberships(self, user_id: int, paper_ids: Sequence[int]) -> dict[int, set[int]]:
        """For each paper, the ids of the user's collections holding it."""
        found: dict[int, set[int]] = {paper_id: set() for paper_id in paper_ids}
        with self.engine.connect() as conn:
            for chunk in chunked(sorted(set(paper_ids))):
                rows = conn.execute(
                    sa.select(saved_papers.c.paper_id, saved_papers.c.collection_id).where(
                        saved_papers.c.user_id == user_id, saved_papers.c.paper_id.in_(chunk)
                    )
                )
                for paper_id, collection_id in rows:
                    found[paper_id].add(collection_id)
        return found
