"""Subscriptions to the e-mail digest and the send ledger that makes each digest go out once.

The ledger holds one row per (subscription, period). Whoever inserts or takes over that row
in a transaction is the only one allowed to send that period's digest; the row then records
retries, the outcome and the Message-ID.
"""

from __future__ import annotations

import datetime as dt
import random
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from paperfeed.models import DEFAULT_SEARCH_MODE, SearchFilters, SearchMode
from paperfeed.store.papers import chunked
from paperfeed.store.schema import UTCDateTime, metadata

Frequency = Literal["daily", "weekly"]
LedgerStatus = Literal["pending", "sent", "failed", "empty"]
FREQUENCIES: tuple[Frequency, ...] = ("daily", "weekly")
SEARCH_MODES: tuple[SearchMode, ...] = ("keyword", "semantic", "hybrid")

subscriptions = sa.Table(
    "subscriptions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("email", sa.String(320), nullable=False, index=True),
    sa.Column("confirmed_at", UTCDateTime()),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), index=True),
    sa.Column("frequency", sa.String(8), nullable=False, server_default="daily"),
    sa.Column("weekday", sa.Integer, nullable=False, server_default="0"),  # weekly: 0 = Monday
    sa.Column("hour", sa.Integer, nullable=False, server_default="8"),
    sa.Column("timezone", sa.String(64), nullable=False, server_default="UTC"),
    sa.Column("include_trending", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("top_n", sa.Integer, nullable=False, server_default="10"),
    sa.Column("saved_searches", sa.JSON, nullable=False),
    sa.Column("include_recommendations", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("feed_token", sa.String(64), nullable=False, unique=True),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("unsubscribed_at", UTCDateTime()),
)

digest_ledger = sa.Table(
    "digest_ledger",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column(
        "subscription_id",
        sa.Integer,
        sa.ForeignKey("subscriptions.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("period_key", sa.String(16), nullable=False, index=True),  # "2026-11-23" or "2026-W47"
    sa.Column("status", sa.String(8), nullable=False),  # pending | sent | failed | empty
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_attempt_at", UTCDateTime(), nullable=False),
    # Who holds the row and until when: a sender that dies leaves the row to be taken over later.
    sa.Column("claim_token", sa.String(32)),
    sa.Column("lease_until", UTCDateTime()),
    sa.Column("last_error", sa.Text),
    sa.Column("message_id", sa.String(255)),
    sa.Column("papers", sa.Integer),  # how many papers the digest held
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("sent_at", UTCDateTime()),
    sa.UniqueConstraint("subscription_id", "period_key"),
    sa.Index("ix_digest_ledger_status_next_attempt_at", "status", "next_attempt_at"),
)

def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def new_feed_token() -> str:
    return secrets.token_urlsafe(24)


_SAMPLING_ROUNDS = 6  # draws of random ids before `random_paper_ids` reads every id


@dataclass(slots=True)
class SavedSearch:
    """A search whose new results go into the digest: any query, in any mode, with filters, and
    a name of the subscriber's choosing (searches saved before names existed have none)."""

    query: str = ""
    mode: SearchMode = DEFAULT_SEARCH_MODE
    filters: SearchFilters = field(default_factory=SearchFilters)
    name: str = ""

    def as_dict(self) -> dict:
        f = self.filters
        filters = {
            "date_from": f.date_from.isoformat() if f.date_from else None,
            "date_to": f.date_to.isoformat() if f.date_to else None,
            "author": f.author,
            "category": f.category,
            "has_code": f.has_code,
        }
        return {
            "name": self.name,
            "query": self.query,
            "mode": self.mode,
            "filters": {k: v for k, v in filters.items() if v is not None},
        }

    @classmethod
    def from_dict(cls, data: dict) -> SavedSearch:
        f = data.get("filters") or {}
        return cls(
            name=data.get("name") or "",
            query=data.get("query") or "",
            # Stored before the mode was recorded with every search, when keyword was the default.
            mode=data.get("mode") or "keyword",
            filters=SearchFilters(
                date_from=dt.date.fromisoformat(f["date_from"]) if f.get("date_from") else None,
                date_to=dt.date.fromisoformat(f["date_to"]) if f.get("date_to") else None,
                author=f.get("author"),
                category=f.get("category"),
                has_code=f.get("has_code"),
            ),
        )

    @property
    def label(self) -> str:
        """The name, or a description for a search without one."""
        return self.name or self.describe()

    def describe(self) -> str:
        """A short human label, e.g. `"diffusion" in cs.CV with code`."""
        f = self.filters
        parts = [f"“{self.query}”" if self.query else "all papers"]
        if self.mode != DEFAULT_SEARCH_MODE:
            parts.append(f"({self.mode})")
        if f.author:
            parts.append(f"by {f.author}")
        if f.category:
            parts.append(f"in {f.category}")
        if f.has_code is True:
            parts.append("with code")
        elif f.has_code is False:
            parts.append("without code")
        return " ".join(parts)

    def search_params(self) -> dict[str, str]:
        """The search page's query parameters that run this search, the mode always spelt out."""
        f = self.filters
        params = {
            "q": self.query,
            "mode": self.mode,
            "author": f.author or "",
            "category": f.category or "",
            "from": f.date_from.isoformat() if f.date_from else "",
            "to": f.date_to.isoformat() if f.date_to else "",
            "has_code": {True: "1", False: "0"}.get(f.has_code, ""),  # type: ignore[arg-type]
        }
        return {k: v for k, v in params.items() if v}


@dataclass(slots=True)
class Subscription:
    id: int
    email: str
    confirmed_at: dt.datetime | None
    user_id: int | None
    frequency: Frequency
    weekday: int
    hour: int
    timezone: str
    include_trending: bool
    top_n: int
    saved_searches: list[SavedSearch]
    include_recommendations: bool
    feed_token: str
    created_at: dt.datetime
    unsubscribed_at: dt.datetime | None

    @property
    def active(self) -> bool:
        return self.confirmed_at is not None and self.unsubscribed_at is None

    def spec(self) -> SubscriptionSpec:
        """What this subscription holds, as a spec to change and store again."""
        return SubscriptionSpec(
            email=self.email,
            frequency=self.frequency,
            weekday=self.weekday,
            hour=self.hour,
            timezone=self.timezone,
            include_trending=self.include_trending,
            top_n=self.top_n,
            saved_searches=list(self.saved_searches),
            include_recommendations=self.include_recommendations,
        )


@dataclass(slots=True)
class SubscriptionSpec:
    """What a subscriber chooses; validated by `paperfeed.digest.subscribe`."""

    email: str
    frequency: Frequency = "daily"
    weekday: int = 0
    hour: int = 8
    timezone: str = "UTC"
    include_trending: bool = True
    top_n: int = 10
    saved_searches: list[SavedSearch] = field(default_factory=list)
    include_recommendations: bool = False


@dataclass(slots=True)
class LedgerEntry:
    id: int
    subscription_id: int
    period_key: str
    status: LedgerStatus
    attempts: int
    next_attempt_at: dt.datetime
    claim_token: str | None
    lease_until: dt.datetime | None
    last_error: str | None
    message_id: str | None
    papers: int | None
    created_at: dt.datetime
    sent_at: dt.datetime | None
    email: str = ""  # the subscription's, for reports


def _row_to_subscription(row: sa.Row) -> Subscription:
    m = row._mapping
    return Subscription(
        id=m["id"],
        email=m["email"],
        confirmed_at=m["confirmed_at"],
        user_id=m["user_id"],
        frequency=m["frequency"],
        weekday=m["weekday"],
        hour=m["hour"],
        timezone=m["timezone"],
        include_trending=bool(m["include_trending"]),
        top_n=m["top_n"],
        saved_searches=[SavedSearch.from_dict(s) for s in m["saved_searches"] or []],
        include_recommendations=bool(m["include_recommendations"]),
        feed_token=m["feed_token"],
        created_at=m["created_at"],
        unsubscribed_at=m["unsubscribed_at"],
    )


def _row_to_entry(row: sa.Row) -> LedgerEntry:
    m = row._mapping
    return LedgerEntry(
        id=m["id"],
        subscription_id=m["subscription_id"],
        period_key=m["period_key"],
        status=m["status"],
        attempts=m["attempts"],
        next_attempt_at=m["next_attempt_at"],
        claim_token=m["claim_token"],
        lease_until=m["lease_until"],
        last_error=m["last_error"],
        message_id=m["message_id"],
        papers=m["papers"],
        created_at=m["created_at"],
        sent_at=m["sent_at"],
        email=m.get("email") or "",
    )


def _spec_values(spec: SubscriptionSpec) -> dict:
    return {
        "email": spec.email,
        "frequency": spec.frequency,
        "weekday": spec.weekday,
        "hour": spec.hour,
        "timezone": spec.timezone,
        "include_trending": spec.include_trending,
        "top_n": spec.top_n,
        "saved_searches": [s.as_dict() for s in spec.saved_searches],
        "include_recommendations": spec.include_recommendations,
    }


class SubscriptionStorage:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # --- subscriptions ------------------------------------------------------------------------

    def create(
        self, spec: SubscriptionSpec, *, user_id: int | None = None, confirmed_at: dt.datetime | None = None
    ) -> Subscription:
        values = _spec_values(spec) | {
            "user_id": user_id,
            "confirmed_at": confirmed_at,
            "feed_token": new_feed_token(),
            "created_at": utcnow(),
        }
        with self.engine.begin() as conn:
            new_id = conn.execute(
                sa.insert(subscriptions).values(**values).returning(subscriptions.c.id)
            ).scalar_one()
        return self.get(new_id)  # type: ignore[return-value]

    def update(self, subscription_id: int, spec: SubscriptionSpec) -> Subscription | None:
        """Change what a subscription holds; the address stays (a new one needs confirming)."""
        values = _spec_values(spec)
        values.pop("email")
        with self.engine.begin() as conn:
            conn.execute(
                sa.update(subscriptions).where(subscriptions.c.id == subscription_id).values(**values)
            )
        return self.get(subscription_id)

    def get(self, subscription_id: int) -> Subscription | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(subscriptions).where(subscriptions.c.id == subscription_id)).first()
        return _row_to_subscription(row) if row else None

    def by_feed_token(self, token: str) -> Subscription | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(subscriptions).where(subscriptions.c.feed_token == token)).first()
        return _row_to_subscription(row) if row else None

    def of_user(self, user_id: int) -> list[Subscription]:
        query = (
            sa.select(subscriptions)
            .where(subscriptions.c.user_id == user_id, subscriptions.c.unsubscribed_at.is_(None))
            .order_by(subscriptions.c.id)
        )
        with self.engine.connect() as conn:
            return [_row_to_subscription(row) for row in conn.execute(query)]

    def active(self) -> list[Subscription]:
        """Confirmed subscriptions that have not been cancelled."""
        query = (
            sa.select(subscriptions)
            .where(subscriptions.c.confirmed_at.is_not(None), subscriptions.c.unsubscribed_at.is_(None))
            .order_by(subscriptions.c.id)
        )
        with self.engine.connect() as conn:
            return [_row_to_subscription(row) for row in conn.execute(query)]

    def confirm(self, subscription_id: int, now: dt.datetime | None = None) -> Subscription | None:
        """Confirm once; confirming again (a second click) changes nothing."""
        with self.engine.begin() as conn:
            conn.execute(
                sa.update(subscriptions)
                .where(subscriptions.c.id == subscription_id, subscriptions.c.confirmed_at.is_(None))
                .values(confirmed_at=now or utcnow())
            )
        return self.get(subscription_id)

    def unsubscribe(self, subscription_id: int, now: dt.datetime | None = None) -> Subscription | None:
        with self.engine.begin() as conn:
            conn.execute(
                sa.update(subscriptions)
                .where(subscriptions.c.id == subscription_id, subscriptions.c.unsubscribed_at.is_(None))
                .values(unsubscribed_at=now or utcnow())
            )
        return self.get(subscription_id)

    def count(self) -> int:
        with self.engine.connect() as conn:
            return conn.execute(sa.select(sa.func.count()).select_from(subscriptions)).scalar_one()

    # --- the send ledger ----------------------------------------------------------------------

    def claim(
        self,
        subscription_id: int,
        period_key: str,
        now: dt.datetime,
        lease: dt.timedelta,
        *,
        message_id: str | None = None,
    ) -> LedgerEntry | None:
        """Take the right to send this period's digest, or None if it is not ours to send.

        The row is inserted if missing (the unique key lets one insert win), then taken with a
        conditional update that only matches a pending row that is due and not held by a live
        claim; the database serialises concurrent updates of one row, so one claimer wins."""
        token = secrets.token_hex(16)
        key = (digest_ledger.c.subscription_id == subscription_id) & (
            digest_ledger.c.period_key == period_key
        )
        from paperfeed.store import insert_ignoring_conflicts

        with self.engine.begin() as conn:
            conn.execute(
                insert_ignoring_conflicts(conn, digest_ledger).values(
                    subscription_id=subscription_id,
                    period_key=period_key,
                    status="pending",
                    attempts=0,
                    next_attempt_at=now,
                    created_at=now,
                )
            )
            taken = conn.execute(
                sa.update(digest_ledger)
                .where(
                    key,
                    digest_ledger.c.status == "pending",
                    digest_ledger.c.next_attempt_at <= now,
                    sa.or_(digest_ledger.c.lease_until.is_(None), digest_ledger.c.lease_until <= now),
                )
                .values(
                    attempts=digest_ledger.c.attempts + 1,
                    claim_token=token,
                    lease_until=now + lease,
                    # Kept from the first attempt: every attempt of a digest has the same Message-ID.
                    message_id=sa.func.coalesce(digest_ledger.c.message_id, message_id),
                )
            ).rowcount
            if taken != 1:
                return None
            row = conn.execute(sa.select(digest_ledger).where(key)).one()
        return _row_to_entry(row)

    def _finish(self, entry: LedgerEntry, **values) -> bool:
        """Update a row we hold; False if our claim was lost (the lease ran out and another took it)."""
        with self.engine.begin() as conn:
            done = conn.execute(
                sa.update(digest_ledger)
                .where(digest_ledger.c.id == entry.id, digest_ledger.c.claim_token == entry.claim_token)
                .values(claim_token=None, lease_until=None, **values)
            ).rowcount
        return done == 1

    def mark_sent(self, entry: LedgerEntry, *, now: dt.datetime, papers: int) -> bool:
        return self._finish(entry, status="sent", sent_at=now, papers=papers, last_error=None)

    def mark_empty(self, entry: LedgerEntry, *, now: dt.datetime) -> bool:
        return self._finish(entry, status="empty", sent_at=now, papers=0, last_error=None)

    def mark_retry(self, entry: LedgerEntry, *, error: str, next_attempt_at: dt.datetime) -> bool:
        return self._finish(entry, status="pending", last_error=error, next_attempt_at=next_attempt_at)

    def mark_failed(self, entry: LedgerEntry, *, error: str) -> bool:
        return self._finish(entry, status="failed", last_error=error)

    def entry(self, subscription_id: int, period_key: str) -> LedgerEntry | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(digest_ledger).where(
                    digest_ledger.c.subscription_id == subscription_id,
                    digest_ledger.c.period_key == period_key,
                )
            ).first()
        return _row_to_entry(row) if row else None

    def settled_keys(self, pairs: Iterable[tuple[int, str]], now: dt.datetime) -> set[tuple[int, str]]:
        """Of (subscription, period) pairs, those with nothing to do now: done, failed, waiting for
        a retry or held by a live claim. Saves a write transaction per subscription and run."""
        wanted = set(pairs)
        if not wanted:
            return set()
        keys = sorted({period for _, period in wanted})
        query = sa.select(
            digest_ledger.c.subscription_id,
            digest_ledger.c.period_key,
            digest_ledger.c.status,
            digest_ledger.c.next_attempt_at,
            digest_ledger.c.lease_until,
        ).where(digest_ledger.c.period_key.in_(keys))
        settled: set[tuple[int, str]] = set()
        with self.engine.connect() as conn:
            for sub_id, period, status, next_at, lease in conn.execute(query):
                if (sub_id, period) not in wanted:
                    continue
                held = lease is not None and lease > now
                if status != "pending" or next_at > now or held:
                    settled.add((sub_id, period))
        return settled

    def last_sent(self, subscription_id: int, other_than: str) -> LedgerEntry | None:
        """The latest digest that went out for another period, to know what is new since."""
        query = (
            sa.select(digest_ledger)
            .where(
                digest_ledger.c.subscription_id == subscription_id,
                digest_ledger.c.status.in_(("sent", "empty")),
                digest_ledger.c.period_key != other_than,
            )
            .order_by(digest_ledger.c.sent_at.desc())
            .limit(1)
        )
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        return _row_to_entry(row) if row else None

    def ledger(
        self, *, statuses: Sequence[str] | None = None, limit: int = 100, subscription_id: int | None = None
    ) -> list[LedgerEntry]:
        """Ledger rows, newest first, with the subscriber's address (for the admin)."""
        query = (
            sa.select(digest_ledger, subscriptions.c.email)
            .join(subscriptions, subscriptions.c.id == digest_ledger.c.subscription_id)
            .order_by(digest_ledger.c.id.desc())
            .limit(limit)
        )
        if statuses:
            query = query.where(digest_ledger.c.status.in_(list(statuses)))
        if subscription_id is not None:
            query = query.where(digest_ledger.c.subscription_id == subscription_id)
        with self.engine.connect() as conn:
            return [_row_to_entry(row) for row in conn.execute(query)]

    def ledger_counts(self) -> dict[str, int]:
        query = sa.select(digest_ledger.c.status, sa.func.count()).group_by(digest_ledger.c.status)
        with self.engine.connect() as conn:
            return {status: n for status, n in conn.execute(query)}

    # --- papers for recommendations -----------------------------------------------------------

    def recent_papers(self, since: dt.date, limit: int) -> list[tuple[int, dt.datetime]]:
        """(id, first seen) of visible papers dated on or after `since`, newest first."""
        from paperfeed.store.schema import papers

        day = sa.func.coalesce(papers.c.published, papers.c.listed_on)
        query = (
            sa.select(papers.c.id, papers.c.first_seen)
            .where(
                papers.c.hidden.is_(False), sa.or_(papers.c.published >= since, papers.c.listed_on >= since)
            )
            .order_by(day.desc(), papers.c.id.desc())
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return [(paper_id, first_seen) for paper_id, first_seen in conn.execute(query)]

    def embedding_models(self) -> list[tuple[str, int, dt.datetime]]:
        """(model, vectors, last written) of every embedding model with stored vectors."""
        from paperfeed.store.schema import paper_embeddings as table

        query = sa.select(table.c.model, sa.func.count(), sa.func.max(table.c.updated_at)).group_by(
            table.c.model
        )
        with self.engine.connect() as conn:
            return [(model, count, last) for model, count, last in conn.execute(query)]

    def paper_titles(self, paper_ids: Sequence[int]) -> dict[int, str]:
        """Titles of those papers that are not hidden: a hidden paper is never quoted."""
        from paperfeed.store.schema import papers

        titles: dict[int, str] = {}
        ids = list(paper_ids)
        with self.engine.connect() as conn:
            for start in range(0, len(ids), 5_000):
                query = sa.select(papers.c.id, papers.c.title).where(
                    papers.c.id.in_(ids[start : start + 5_000]), papers.c.hidden.is_(False)
                )
                titles.update({paper_id: title for paper_id, title in conn.execute(query)})
        return titles

    def random_paper_ids(self, count: int) -> list[int]:
        """`count` visible papers drawn uniformly at random (every one, when there are fewer).

        Ids are drawn from the range of ids and looked up by key: ordering every paper at random
        reads the whole table, seconds at a million papers. Each id in the range is equally
        likely, so each paper that exists and is visible is too."""
        from paperfeed.store.schema import papers

        visible = sa.select(papers.c.id).where(papers.c.hidden.is_(False))
        every_one_shuffled = visible.order_by(sa.func.random()).limit(count)
        with self.engine.connect() as conn:
            low, high = conn.execute(sa.select(sa.func.min(papers.c.id), sa.func.max(papers.c.id))).one()
            if low is None or high - low + 1 <= 4 * count:  # a small store: read it all
                return list(conn.execute(every_one_shuffled).scalars())
            rng = random.Random()
            tried: set[int] = set()
            found: list[int] = []
            for _round in range(_SAMPLING_ROUNDS):  # each draws twice what is still missing
                draw = {rng.randint(low, high) for _ in range(2 * (count - len(found)))} - tried
                tried |= draw
                for chunk in chunked(sorted(draw)):
                    found.extend(conn.execute(visible.where(papers.c.id.in_(chunk))).scalars())
                if len(found) >= count:
                    rng.shuffle(found)
                    return found[:count]
            # Ids this sparse, or papers this often hidden: read them all after all.
            return list(conn.execute(every_one_shuffled).scalars())

    def last_sent_many(
        self, subscription_ids: Sequence[int], *, other_than: dict[int, str], after: dt.datetime
    ) -> dict[int, dt.datetime]:
        """For each subscription, when its latest digest for another period went out (if after `after`)."""
        latest: dict[int, dt.datetime] = {}
        ids = list(subscription_ids)
        with self.engine.connect() as conn:
            for start in range(0, len(ids), 2_000):
                query = sa.select(
                    digest_ledger.c.subscription_id, digest_ledger.c.period_key, digest_ledger.c.sent_at
                ).where(
                    digest_ledger.c.subscription_id.in_(ids[start : start + 2_000]),
                    digest_ledger.c.status.in_(("sent", "empty")),
                    digest_ledger.c.sent_at > after,
                )
                for sub_id, period, sent_at in conn.execute(query):
                    if period == other_than.get(sub_id):
                        continue
                    if sub_id not in latest or sent_at > latest[sub_id]:
                        latest[sub_id] = sent_at
        return latest

    # --- what a user likes ---------------------------------------------------------------------

    def liked_paper_ids(self, user_ids: Sequence[int], *, per_user: int = 200) -> dict[int, list[int]]:
        """For each user, the papers they upvoted or saved (in any collection), most recent first."""
        from paperfeed.store.schema import votes

        # Defined by store.collections, which needs the store package (and so this module) itself:
        # looked up by name rather than imported, so the two modules do not import each other.
        saved_papers = metadata.tables["saved_papers"]
        liked: dict[int, dict[int, dt.datetime]] = {user_id: {} for user_id in user_ids}
        ids = list(liked)
        with self.engine.connect() as conn:
            for start in range(0, len(ids), 2_000):
                chunk = ids[start : start + 2_000]
                for table in (votes, saved_papers):
                    rows = conn.execute(
                        sa.select(table.c.user_id, table.c.paper_id, table.c.created_at).where(
                            table.c.user_id.in_(chunk)
                        )
                    )
                    for user_id, paper_id, at in rows:
                        mine = liked[user_id]
                        if paper_id not in mine or at > mine[paper_id]:
                            mine[paper_id] = at
        return {
            user_id: [p for p, _ in sorted(papers.items(), key=lambda kv: (kv[1], kv[0]), reverse=True)][
                :per_user
            ]
            for user_id, papers in liked.items()
        }
