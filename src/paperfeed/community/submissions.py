"""Submitting a paper by arXiv id or URL, as on Daily Papers.

A paper new to paperfeed is fetched from the arXiv API and merged through the store's normal
merge (so it can never be duplicated), listed on the daily page of the submission day. A paper
already known but never submitted gets its submitter, and moves to that day's page unless a
daily source (the Daily Papers pages) already listed it. A paper already submitted stays as it
is, credited to its first submitter. Each user may submit a limited number of papers per UTC day.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable

import sqlalchemy as sa

from paperfeed.community.accounts import RateLimiter, RateRule, in_words
from paperfeed.errors import InvalidInput, NotFound, SourceUnavailable, TooManyRequests
from paperfeed.ingest.arxiv_api import ArxivClient, fetch_paper
from paperfeed.ingest.hf_daily import FMT as DAILY_PAGES_SOURCE
from paperfeed.models import PaperRecord, SubmissionOutcome, User
from paperfeed.store import Store
from paperfeed.store.papers import utcnow
from paperfeed.text import parse_arxiv_id

# Fetching is what costs arXiv something, so attempts are limited too, submitted or not.
ARXIV_FETCHES_PER_USER = RateRule(30, dt.timedelta(hours=1), "papers fetched from arXiv for you")
_ATTEMPTS = 3  # a concurrent submission or import of the same paper makes us merge again


class Submissions:
    def __init__(
        self,
        store: Store,
        client: Callable[[], ArxivClient],
        *,
        daily_limit: int,
        clock: Callable[[], dt.datetime] = utcnow,
    ) -> None:
        self.store = store
        self.client = client
        self.daily_limit = daily_limit
        self.clock = clock
        self.limiter = RateLimiter(store, clock)
        self._fetching = threading.Lock()  # one request to arXiv at a time, so its pauses hold

    def _check_daily_limit(self, submitted_today: int, now: dt.datetime) -> None:
        if submitted_today >= self.daily_limit:
            tomorrow = dt.datetime.combine(now.date() + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
            wait = (tomorrow - now).total_seconds()
            raise TooManyRequests(
                f"You can submit {self.daily_limit} papers a day. Try again in {in_words(wait)}.", wait
            )

    def submit(self, user: User, ref: str) -> SubmissionOutcome:
        parsed = parse_arxiv_id(ref.strip())
        if parsed is None:
            raise InvalidInput(f"not an arXiv id or arxiv.org URL: {ref.strip()[:100]!r}")
        arxiv_id = parsed[0]
        now = self.clock()
        today = now.date()
        self._check_daily_limit(self.store.community.count_submissions_on(user.id, today), now)

        record: PaperRecord | None = None
        for _ in range(_ATTEMPTS):
            known = self.store.papers.resolve(arxiv_id)
            if known is not None:
                if known.hidden:
                    raise NotFound(f"arXiv:{arxiv_id} was removed by a moderator and cannot be submitted")
                earlier = self.store.community.submission_of(known.id)
                if earlier is not None:
                    return SubmissionOutcome(paper=known, submission=earlier, created=False, fetched=False)
            elif record is None:
                bucket = f"arxiv-fetch:user:{user.id}"
                self.limiter.take((bucket, ARXIV_FETCHES_PER_USER))
                try:
                    with self._fetching:
                        record = fetch_paper(self.client(), ref.strip())
                except SourceUnavailable:
                    raise SourceUnavailable(
                        f"arXiv cannot be reached right now, so arXiv:{arxiv_id} could not be fetched. "
                        "Try again in a few minutes."
                    ) from None
                if record is None:
                    raise NotFound(f"arXiv has no paper {arxiv_id}")
                record.listed_on = today
            try:
                paper_id = self._record(user, arxiv_id, record if known is None else None, now)
            except sa.exc.IntegrityError:
                continue  # someone else added or submitted the paper meanwhile: look again
            paper = self.store.papers.get(paper_id)
            submission = self.store.community.submission_of(paper_id)
            assert paper is not None and submission is not None
            return SubmissionOutcome(paper=paper, submission=submission, created=True, fetched=known is None)
        raise InvalidInput(f"arXiv:{arxiv_id} is being changed by someone else right now; try again")

    def _record(self, user: User, arxiv_id: str, record: PaperRecord | None, now: dt.datetime) -> int:
        """Merge the fetched record (if any) and record the submission, in one transaction."""
        community = self.store.community
        with self.store.engine.begin() as conn:
            community.lock_active_user(conn, user.id, now)
            # Counted again under the user's lock: concurrent submissions cannot pass the limit.
            self._check_daily_limit(community.submissions_on(conn, user.id, now.date()), now)
            if record is not None:
                self.store.papers.merge_batch(conn, [record])
            found = community.paper_of_arxiv(conn, arxiv_id)
            if found is None:
                raise NotFound(f"arXiv:{arxiv_id} could not be stored")
            paper_id, sources, listed_on = found
            relist = listed_on != now.date() and DAILY_PAGES_SOURCE not in sources
            community.add_submission(
                conn, paper_id=paper_id, user_id=user.id, day=now.date(), now=now, relist=relist
            )
        return paper_id
