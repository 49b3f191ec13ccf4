"""Community data: upvotes, comments and submissions, and the aggregates rankings need.

Vote counts are never stored: they are counted from the votes table, whose primary key
(user, paper) makes a double vote impossible, so concurrent voters cannot lose each other's votes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from paperfeed.errors import InvalidInput, NotFound, PermissionDenied
from paperfeed.models import Comment, Paper, Submission, VoteState
from paperfeed.store.papers import chunked, row_to_paper
from paperfeed.store.schema import comments, papers, submissions, users, votes
from paperfeed.store.users import UserStorage

SUSPENDED = "your account is suspended"


def _comment(row: sa.Row) -> Comment:
    m = row._mapping
    return Comment(
        id=m["id"], paper_id=m["paper_id"], user_id=m["user_id"], author=m["author"], parent_id=m["parent_id"],
        body=m["body"], created_at=m["created_at"], edited_at=m["edited_at"], deleted=bool(m["deleted"]),
        hidden=bool(m["hidden"]),
    )  # fmt: skip


_COMMENT_QUERY = sa.select(comments, users.c.name.label("author")).join(
    users, users.c.id == comments.c.user_id
)


def _submission(row: sa.Row) -> Submission:
    m = row._mapping
    return Submission(
        paper_id=m["paper_id"], user_id=m["user_id"], user_name=m["user_name"],
        submitted_on=m["submitted_on"], submitted_at=m["submitted_at"],
    )  # fmt: skip


_SUBMISSION_QUERY = sa.select(
    submissions.c.paper_id, submissions.c.user_id, users.c.name.label("user_name"),
    submissions.c.submitted_on, submissions.c.submitted_at,
).join(users, users.c.id == submissions.c.user_id)  # fmt: skip


def _epoch_hour(column: sa.ColumnElement, dialect: str) -> sa.ColumnElement:
    """Whole hours since 1970 of a UTC timestamp column."""
    if dialect == "sqlite":
        return sa.cast(sa.func.strftime("%s", column), sa.Integer) / 3600
    return sa.cast(sa.func.floor(sa.extract("epoch", column) / 3600), sa.Integer)


def _require_active(conn: Connection, user_id: int, now: dt.datetime) -> None:
    if not UserStorage.lock_active(conn, user_id, now):
        raise PermissionDenied(SUSPENDED)


def _require_visible_paper(conn: Connection, paper_id: int) -> None:
    found = conn.execute(
        sa.select(papers.c.id).where(papers.c.id == paper_id, papers.c.hidden.is_(False))
    ).first()
    if found is None:
        raise NotFound("no such paper")


class CommunityStorage:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    # --- votes -------------------------------------------------------------------------------

    def toggle_vote(self, user_id: int, paper_id: int, now: dt.datetime) -> VoteState:
        """Upvote, or take the upvote back if there was one: in one transaction, after taking the
        user's lock, so even concurrent clicks of one user alternate cleanly."""
        with self.engine.begin() as conn:
            _require_active(conn, user_id, now)
            _require_visible_paper(conn, paper_id)
            mine = (votes.c.user_id == user_id) & (votes.c.paper_id == paper_id)
            removed = conn.execute(sa.delete(votes).where(mine)).rowcount
            if not removed:
                conn.execute(sa.insert(votes).values(user_id=user_id, paper_id=paper_id, created_at=now))
            count = conn.execute(
                sa.select(sa.func.count()).select_from(votes).where(votes.c.paper_id == paper_id)
            ).scalar_one()
        return VoteState(paper_id=paper_id, votes=count, voted=not removed)

    def vote_states(self, paper_ids: Sequence[int], user_id: int | None) -> dict[int, VoteState]:
        """Counts (and whether `user_id` voted) for many papers in one query per 5,000 papers;
        papers nobody voted for are left out."""
        if user_id is None:
            mine = sa.literal(0)
        else:
            mine = sa.func.max(sa.case((votes.c.user_id == user_id, 1), else_=0))
        states: dict[int, VoteState] = {}
        with self.engine.connect() as conn:
            for chunk in chunked(sorted(set(paper_ids))):
                query = (
                    sa.select(votes.c.paper_id, sa.func.count(), mine)
                    .where(votes.c.paper_id.in_(chunk))
                    .group_by(votes.c.paper_id)
                )
                for paper_id, count, voted in conn.execute(query):
                    states[paper_id] = VoteState(paper_id=paper_id, votes=count, voted=bool(voted))
        return states

    def comment_counts(self, paper_ids: Sequence[int]) -> dict[int, int]:
        """How many comments others can read (neither deleted nor hidden) each paper has; papers
        without any are left out."""
        counts: dict[int, int] = {}
        with self.engine.connect() as conn:
            for chunk in chunked(sorted(set(paper_ids))):
                query = (
                    sa.select(comments.c.paper_id, sa.func.count())
                    .where(
                        comments.c.paper_id.in_(chunk),
                        comments.c.deleted.is_(False),
                        comments.c.hidden.is_(False),
                    )
                    .group_by(comments.c.paper_id)
                )
                counts.update({paper_id: count for paper_id, count in conn.execute(query)})
        return counts

    def hourly_votes(self, since: dt.datetime, until: dt.datetime) -> list[tuple[int, int, int]]:
        """(paper id, hour since 1970, upvotes cast in that hour) for visible papers, counting the
        votes cast after `since` and up to `until`."""
        hour = _epoch_hour(votes.c.created_at, self.dialect).label("hour")
        query = (
            sa.select(votes.c.paper_id, hour, sa.func.count())
            .join(papers, papers.c.id == votes.c.paper_id)
            .where(votes.c.created_at > since, votes.c.created_at <= until, papers.c.hidden.is_(False))
            .group_by(votes.c.paper_id, hour)
        )
        with self.engine.connect() as conn:
            return [(paper_id, int(hour), count) for paper_id, hour, count in conn.execute(query)]

    def top_on_day(self, day: dt.date, *, limit: int, offset: int) -> tuple[list[tuple[int, int]], int]:
        """The visible papers listed on `day` as (paper id, upvotes), most upvoted first, and how
        many papers that day has."""
        count = sa.func.count(votes.c.user_id).label("votes")
        on_day = (papers.c.listed_on == day) & papers.c.hidden.is_(False)
        query = (
            sa.select(papers.c.id, count)
            .select_from(papers.outerjoin(votes, votes.c.paper_id == papers.c.id))
            .where(on_day)
            .group_by(papers.c.id)
            .order_by(count.desc(), papers.c.id)
            .limit(limit)
            .offset(offset)
        )
        with self.engine.connect() as conn:
            rows = [(paper_id, votes_) for paper_id, votes_ in conn.execute(query)]
            total = conn.execute(sa.select(sa.func.count()).select_from(papers).where(on_day)).scalar_one()
        return rows, total

    # --- comments ----------------------------------------------------------------------------

    def add_comment(
        self, *, paper_id: int, user_id: int, parent_id: int | None, body: str, now: dt.datetime
    ) -> Comment:
        with self.engine.begin() as conn:
            _require_active(conn, user_id, now)
            _require_visible_paper(conn, paper_id)
            if parent_id is not None:
                parent = conn.execute(
                    sa.select(comments.c.paper_id).where(comments.c.id == parent_id)
                ).scalar()
                if parent != paper_id:
                    raise InvalidInput("the comment you reply to is not on this paper")
            comment_id = conn.execute(
                sa.insert(comments)
                .values(paper_id=paper_id, user_id=user_id, parent_id=parent_id, body=body, created_at=now)
                .returning(comments.c.id)
            ).scalar_one()
            return _comment(conn.execute(_COMMENT_QUERY.where(comments.c.id == comment_id)).one())

    def comment(self, comment_id: int) -> Comment | None:
        with self.engine.connect() as conn:
            row = conn.execute(_COMMENT_QUERY.where(comments.c.id == comment_id)).first()
        return _comment(row) if row else None

    def comments_of(self, paper_id: int) -> list[Comment]:
        """Every comment on a paper, deleted and hidden ones too, oldest first."""
        query = _COMMENT_QUERY.where(comments.c.paper_id == paper_id).order_by(
            comments.c.created_at, comments.c.id
        )
        with self.engine.connect() as conn:
            return [_comment(row) for row in conn.execute(query)]

    def edit_comment(self, comment_id: int, user_id: int, body: str, now: dt.datetime) -> bool:
        """Change the body of the user's own comment, unless deleted or hidden meanwhile."""
        with self.engine.begin() as conn:
            _require_active(conn, user_id, now)
            result = conn.execute(
                sa.update(comments)
                .where(
                    comments.c.id == comment_id,
                    comments.c.user_id == user_id,
                    comments.c.deleted.is_(False),
                    comments.c.hidden.is_(False),
                )
                .values(body=body, edited_at=now)
            )
            return result.rowcount == 1

    def delete_comment(self, comment_id: int, user_id: int, now: dt.datetime) -> bool:
        """Mark the user's own comment deleted; it keeps its place so replies stay in the thread."""
        with self.engine.begin() as conn:
            _require_active(conn, user_id, now)
            result = conn.execute(
                sa.update(comments)
                .where(comments.c.id == comment_id, comments.c.user_id == user_id)
                .values(deleted=True)
            )
            return result.rowcount == 1

    def set_comment_hidden(self, comment_id: int, hidden: bool) -> bool:
        with self.engine.begin() as conn:
            result = conn.execute(
                sa.update(comments).where(comments.c.id == comment_id).values(hidden=hidden)
            )
            return result.rowcount == 1

    def hidden_comments(self, limit: int = 200) -> list[Comment]:
        query = _COMMENT_QUERY.where(comments.c.hidden.is_(True)).order_by(comments.c.id.desc()).limit(limit)
        with self.engine.connect() as conn:
            return [_comment(row) for row in conn.execute(query)]

    # --- submissions -------------------------------------------------------------------------

    def submissions_on(self, conn: Connection, user_id: int, day: dt.date) -> int:
        """How many papers the user submitted on `day` (inside the caller's transaction)."""
        return conn.execute(
            sa.select(sa.func.count())
            .select_from(submissions)
            .where(submissions.c.user_id == user_id, submissions.c.submitted_on == day)
        ).scalar_one()

    def count_submissions_on(self, user_id: int, day: dt.date) -> int:
        with self.engine.connect() as conn:
            return self.submissions_on(conn, user_id, day)

    @staticmethod
    def lock_active_user(conn: Connection, user_id: int, now: dt.datetime) -> None:
        _require_active(conn, user_id, now)

    def add_submission(
        self, conn: Connection, *, paper_id: int, user_id: int, day: dt.date, now: dt.datetime, relist: bool
    ) -> None:
        """Record who submitted the paper, inside the caller's transaction; with `relist`, the paper
        moves to the daily page of `day`. A second submission of a paper is an IntegrityError."""
        conn.execute(
            sa.insert(submissions).values(
                paper_id=paper_id, user_id=user_id, submitted_on=day, submitted_at=now
            )
        )
        if relist:
            conn.execute(
                sa.update(papers).where(papers.c.id == paper_id).values(listed_on=day, last_updated=now)
            )

    def submission_of(self, paper_id: int) -> Submission | None:
        return self.submissions_for([paper_id]).get(paper_id)

    def submissions_for(self, paper_ids: Sequence[int]) -> dict[int, Submission]:
        found: dict[int, Submission] = {}
        with self.engine.connect() as conn:
            for chunk in chunked(sorted(set(paper_ids))):
                for row in conn.execute(_SUBMISSION_QUERY.where(submissions.c.paper_id.in_(chunk))):
                    found[row.paper_id] = _submission(row)
        return found

    @staticmethod
    def paper_of_arxiv(conn: Connection, arxiv_id: str) -> tuple[int, list[str], dt.date] | None:
        """(id, sources, listing day) of the paper with this arXiv id, inside the caller's transaction."""
        row = conn.execute(
            sa.select(papers.c.id, papers.c.sources, papers.c.listed_on).where(papers.c.arxiv_id == arxiv_id)
        ).first()
        return (row.id, list(row.sources or []), row.listed_on) if row else None

    # --- moderation --------------------------------------------------------------------------

    def hidden_papers(self, limit: int = 200) -> list[Paper]:
        query = (
            sa.select(papers)
            .where(papers.c.hidden.is_(True))
            .order_by(papers.c.last_updated.desc())
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return [row_to_paper(row) for row in conn.execute(query)]
