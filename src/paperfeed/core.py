"""The core that the web UI, the JSON API and the CLI all call.

It owns the store (source of truth) and the derived indexes, and answers every question
in domain objects. Interfaces only translate requests into these calls and render answers.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Sequence
from functools import cached_property
from pathlib import Path

import httpx

from paperfeed.community.accounts import Accounts, require_admin
from paperfeed.community.comments import Comments
from paperfeed.community.submissions import Submissions
from paperfeed.community.trending import top_of_day, trending
from paperfeed.config import Settings
from paperfeed.errors import InvalidInput, NotFound
from paperfeed.ingest import open_sources
from paperfeed.ingest.arxiv_api import ArxivClient
from paperfeed.ingest.base import Source
from paperfeed.ingest.pipeline import run_import
from paperfeed.models import (
    Comment,
    DayPage,
    ImportReport,
    Moderation,
    Paper,
    RankedPaper,
    ResultPage,
    SearchFilters,
    SearchRequest,
    Stats,
    Submission,
    SubmissionOutcome,
    User,
    VoteState,
)
from paperfeed.search.embeddings import Embedder, load_embedder, paper_text, query_text
from paperfeed.search.highlight import mark, match_pattern, snippet
from paperfeed.search.hybrid import KEYWORD_WEIGHT, RRF_K, SEMANTIC_WEIGHT, reciprocal_rank_fusion
from paperfeed.search.keyword import KeywordIndex
from paperfeed.search.query import parse_user_query
from paperfeed.search.vectors import VectorIndex
from paperfeed.store import Store
from paperfeed.store.papers import utcnow
from paperfeed.text import title_key

MAX_PER_PAGE = 100
DAY_PAGE_SIZE = 50
MAX_PAGE = 500  # deep pagination is never useful and costs the index dearly
# Rankings by meaning have no natural end: semantic search answers with this many nearest
# papers at most, and hybrid search fuses this many from each of its two rankings.
SEMANTIC_DEPTH = 200
HYBRID_DEPTH = 100
# A filtered semantic search scores every allowed paper exactly when the filters let through at
# most this many (measured faster than the alternative at that size); with broader filters it
# takes more nearest neighbours until enough of them pass the filters.
FILTERED_EXACT_LIMIT = 20_000
RELATED_DUPLICATE_SIMILARITY = 0.985  # nearer than this is the same paper under another record

Progress = Callable[[int], None]


class PaperFeed:
    def __init__(self, settings: Settings | None = None, *, store: Store | None = None) -> None:
        self.settings = settings or Settings.from_env()
        self.store = store or Store.open(self.settings.db_url)
        self.keyword = KeywordIndex(self.settings.index_dir / "keyword")
        self.vectors = VectorIndex(self.settings.index_dir / "vectors")

    @cached_property
    def embedder(self) -> Embedder:
        """The sentence embedder of the `embedder` setting, loaded on first use."""
        return load_embedder(self.settings.embedder, self.settings.model_dir)

    def close(self) -> None:
        self.store.close()

    # --- importing ------------------------------------------------------------------------------

    def import_sources(
        self, sources: list[Source], *, progress: Progress | None = None, sync: bool = True
    ) -> list[ImportReport]:
        reports = [run_import(self.store, source, progress=progress) for source in sources]
        if sync:
            self.sync_indexes()
        return reports

    def import_path(
        self, path: Path, fmt: str | None = None, *, progress: Progress | None = None
    ) -> list[ImportReport]:
        return self.import_sources(open_sources(path, fmt), progress=progress)

    def sync_indexes(
        self, *, progress: Progress | None = None, embed_progress: Progress | None = None
    ) -> int:
        """Bring the keyword and vector indexes up to date, embedding papers new since the last
        sync; `embed_progress` (default: `progress`) counts papers through the vector index."""
        count = self.keyword.sync(self.store, progress=progress)
        self.sync_vectors(progress=embed_progress or progress)
        return count

    def sync_vectors(self, *, progress: Progress | None = None, rebuild: bool = False) -> int:
        """Embed papers new or changed since the last sync; returns how many were embedded."""
        return self.vectors.sync(self.store, self.embedder, progress=progress, rebuild=rebuild)

    def ensure_indexes(self) -> None:
        """Bring derived indexes up to date at start-up (rebuilding them if they were lost)."""
        self.sync_indexes()

    # --- reading --------------------------------------------------------------------------------

    def paper(self, ref: str) -> Paper:
        paper = self.store.papers.resolve(ref)
        if paper is None or paper.hidden:
            raise NotFound(f"no paper {ref!r}")
        return paper

    def day(self, day: dt.date | None = None, *, page: int = 1, per_page: int = DAY_PAGE_SIZE) -> DayPage:
        if not 1 <= per_page <= MAX_PER_PAGE:
            raise InvalidInput(f"per_page must be between 1 and {MAX_PER_PAGE}")
        if not 1 <= page <= MAX_PAGE:
            raise InvalidInput(f"page must be between 1 and {MAX_PAGE}")
        day = day or self.store.papers.latest_day() or dt.date.today()
        prev_day, next_day = self.store.papers.neighbour_days(day)
        papers, total = self.store.papers.on_day(day, limit=per_page, offset=(page - 1) * per_page)
        return DayPage(
            day=day,
            papers=papers,
            prev_day=prev_day,
            next_day=next_day,
            total=total,
            page=page,
            per_page=per_page,
        )

    def day_page_of(self, paper: Paper, *, per_page: int = DAY_PAGE_SIZE) -> int | None:
        """The page of its day's list that shows the paper (None: it is not listed)."""
        position = self.store.papers.position_on_day(paper.id, paper.listed_on)
        return None if position is None else (position - 1) // per_page + 1

    def stats(self) -> Stats:
        summary = self.store.papers.summary()
        try:
            index_docs = self.keyword.doc_count()
        except (OSError, ValueError):
            index_docs = None
        return Stats(
            **summary,
            database=self.store.safe_url,
            database_bytes=self.store.size_bytes(),
            index_docs=index_docs,
        )

    # --- searching ------------------------------------------------------------------------------

    def search(self, request: SearchRequest) -> ResultPage:
        """One page of papers for a query, in any mode (keyword, semantic, hybrid), with the same
        filters and pagination everywhere. An empty query lists the newest papers."""
        _check_paging(request.page, request.per_page)
        if request.mode not in ("keyword", "semantic", "hybrid"):
            raise InvalidInput(
                f"search mode {request.mode!r} is not available: use keyword, semantic or hybrid"
            )
        started = time.perf_counter()
        parsed = parse_user_query(request.query)
        text = query_text(request.query)
        newest_first = request.sort == "newest"
        if request.mode == "keyword" or parsed.is_empty or not text:
            hits = self.keyword.search(
                parsed,
                request.filters,
                limit=request.per_page,
                offset=request.offset,
                newest_first=newest_first,
            )
            ranked, total = list(zip(hits.ids, hits.scores, strict=True)), hits.total
        else:
            if request.mode == "semantic":
                ranked = self._semantic(text, request.filters, SEMANTIC_DEPTH)
            else:
                keyword_hits = self.keyword.search(parsed, request.filters, limit=HYBRID_DEPTH)
                semantic = self._semantic(text, request.filters, HYBRID_DEPTH)
                ranked = reciprocal_rank_fusion(
                    [keyword_hits.ids, [paper_id for paper_id, _ in semantic]],
                    [KEYWORD_WEIGHT, SEMANTIC_WEIGHT],
                    k=RRF_K,
                )
            if newest_first:
                ranked = self._newest_first(ranked)
            total = len(ranked)
            ranked = ranked[request.offset : request.offset + request.per_page]
        pattern = match_pattern(parsed.words)
        items = [
            RankedPaper(paper=paper, score=score, snippet_html=snippet(paper.abstract, pattern))
            for paper, score in self._papers(ranked)
        ]
        return ResultPage(
            items=items,
            total=total,
            page=request.page,
            per_page=request.per_page,
            ranking=request.mode,
            took_ms=(time.perf_counter() - started) * 1000,
        )

    def related(self, paper: Paper, limit: int = 10) -> ResultPage:
        """The papers nearest in meaning to `paper`: never the paper itself, nor its duplicates
        (the same normalised title, or a near-identical embedding)."""
        if not 1 <= limit <= MAX_PER_PAGE:
            raise InvalidInput(f"limit must be between 1 and {MAX_PER_PAGE}")
        started = time.perf_counter()
        vector = self.vectors.vector_of(paper.id)
        if vector is None:  # not indexed yet (or hidden): embed it on the spot
            vector = self.embedder.embed([paper_text(paper.title, paper.abstract)])[0]
        own_title = title_key(paper.title)
        items: list[RankedPaper] = []
        ids, scores = self.vectors.search(vector, limit * 2 + 10)
        candidates = [
            (paper_id, score)
            for paper_id, score in zip(ids, scores, strict=True)
            if paper_id != paper.id and score < RELATED_DUPLICATE_SIMILARITY
        ]
        for other, score in self._papers(candidates):
            if title_key(other.title) != own_title and len(items) < limit:
                items.append(RankedPaper(paper=other, score=score))
        return ResultPage(
            items=items,
            total=len(items),
            page=1,
            per_page=limit,
            ranking="related",
            took_ms=(time.perf_counter() - started) * 1000,
        )

    def _semantic(self, text: str, filters: SearchFilters, depth: int) -> list[tuple[int, float]]:
        """The `depth` papers nearest in meaning to `text` among those `filters` allow."""
        vector = self.embedder.embed([text])[0]
        if filters.is_empty():
            ids, scores = self.vectors.search(vector, depth)
            return list(zip(ids, scores, strict=True))
        matching = self.keyword.filter_matches(filters, limit=1).total
        size = len(self.vectors)
        if matching == 0 or size == 0:
            return []
        if matching <= FILTERED_EXACT_LIMIT:
            # Not too many papers pass: score each of them exactly.
            allowed = self.keyword.filter_matches(filters, limit=matching).ids
            ids, scores = self.vectors.search(vector, depth, among=allowed)
            return list(zip(ids, scores, strict=True))
        # Many pass: take nearest neighbours in proportion to what the filters let through,
        # more until enough of them pass.
        fetch = min(size, max(depth * 2, -(-depth * 2 * size // matching)))
        while True:
            ids, scores = self.vectors.search(vector, fetch)
            passing = set(self.keyword.filter_matches(filters, among=ids, limit=len(ids)).ids)
            kept = [(i, s) for i, s in zip(ids, scores, strict=True) if i in passing]
            if len(kept) >= depth or fetch >= size:
                return kept[:depth]
            fetch = min(size, fetch * 4)

    def _newest_first(self, ranked: list[tuple[int, float]]) -> list[tuple[int, float]]:
        score = dict(ranked)
        order = self.keyword.filter_matches(
            SearchFilters(), among=list(score), limit=len(score), newest_first=True
        ).ids
        return [(paper_id, score[paper_id]) for paper_id in order if paper_id in score]

    def _papers(self, ranked: list[tuple[int, float]]) -> list[tuple[Paper, float]]:
        """Visible papers for ranked ids, in rank order."""
        papers = {p.id: p for p in self.store.papers.get_many([paper_id for paper_id, _ in ranked])}
        return [(papers[paper_id], score) for paper_id, score in ranked if paper_id in papers]

    @staticmethod
    def highlight_title(title: str, query: str) -> str:
        return mark(title, match_pattern(parse_user_query(query).words))

    # --- community: accounts, submissions, votes, comments, trending ----------------------------
    # The rules live in paperfeed.community; these are the calls the interfaces make.

    @cached_property
    def accounts(self) -> Accounts:
        return Accounts(self.store)

    @cached_property
    def discussion(self) -> Comments:
        return Comments(self.store)

    @cached_property
    def submissions(self) -> Submissions:
        return Submissions(
            self.store, lambda: self.arxiv_client, daily_limit=self.settings.submissions_per_day
        )

    @cached_property
    def arxiv_client(self) -> ArxivClient:
        """One client per core, so arXiv's pause between requests holds across submissions. Someone
        waits for its answer: it gives up after one quick retry rather than backing off for long."""
        http = httpx.Client(timeout=httpx.Timeout(15.0, connect=5.0), follow_redirects=True)
        return ArxivClient(http, base_url=self.settings.arxiv_api_url, attempts=2, backoff=1.0)

    def sign_up(self, name: str, password: str, *, address: str) -> tuple[User, str]:
        """A new account and its first session token."""
        return self.accounts.sign_up(name, password, address=address)

    def log_in(self, name: str, password: str, *, address: str) -> tuple[User, str]:
        return self.accounts.log_in(name, password, address=address)

    def log_out(self, session_token: str) -> None:
        self.accounts.log_out(session_token)

    def user_for_session(self, session_token: str | None) -> User | None:
        return self.accounts.user_for_token(session_token)

    def change_password(self, user: User, current: str, new: str, *, session_token: str | None) -> None:
        self.accounts.change_password(user, current, new, session_token=session_token)

    def create_user(self, name: str, password: str, *, admin: bool = False) -> User:
        return self.accounts.create_user(name, password, admin=admin)

    def set_suspended(self, name: str, suspended: bool, *, by: User | None = None) -> User:
        """Suspend (or reinstate) a user; `by` is the admin doing it (None: the server's operator)."""
        if by is not None:
            require_admin(by)
            if by.name.casefold() == name.strip().casefold():
                raise InvalidInput("you cannot suspend yourself")
        return self.accounts.set_suspended(name.strip(), suspended)

    def submit_paper(self, user: User, ref: str) -> SubmissionOutcome:
        outcome = self.submissions.submit(user, ref)
        if outcome.created:
            self.sync_indexes()
        return outcome

    def toggle_vote(self, user: User, ref: str) -> VoteState:
        return self.store.community.toggle_vote(user.id, self.paper(ref).id, utcnow())

    def set_saved(self, user: User, ref: str, saved: bool) -> bool:
        """Save a paper to the user's list (or take it off); saved papers teach recommendations."""
        paper = self.paper(ref)
        if saved:
            self.store.subscriptions.save_paper(user.id, paper.id, utcnow())
        else:
            self.store.subscriptions.unsave_paper(user.id, paper.id)
        return saved

    def saved_papers(self, user: User, *, limit: int = 200) -> list[Paper]:
        """The papers a user saved, most recently saved first (hidden ones left out)."""
        ids = self.store.subscriptions.saved_paper_ids(user.id)[:limit]
        by_id = {paper.id: paper for paper in self.store.papers.get_many(ids)}
        return [by_id[paper_id] for paper_id in ids if paper_id in by_id]

    def is_saved(self, user: User | None, paper: Paper) -> bool:
        return user is not None and paper.id in self.store.subscriptions.saved_paper_ids(user.id)

    def vote_states(self, paper_ids: Sequence[int], user: User | None) -> dict[int, VoteState]:
        """Every paper's upvote count and whether `user` upvoted it, in one query."""
        states = self.store.community.vote_states(paper_ids, user.id if user else None)
        return {paper_id: states.get(paper_id) or VoteState(paper_id, 0) for paper_id in paper_ids}

    def submissions_for(self, paper_ids: Sequence[int]) -> dict[int, Submission]:
        return self.store.community.submissions_for(paper_ids)

    def comments(self, paper: Paper, viewer: User | None) -> list[Comment]:
        """The paper's discussion as threads, as `viewer` may see it."""
        return self.discussion.thread(paper, viewer)

    def comment(self, comment_id: int, viewer: User | None) -> Comment:
        return self.discussion.get(comment_id, viewer)

    def add_comment(self, user: User, ref: str, body: str, *, parent_id: int | None = None) -> Comment:
        return self.discussion.add(user, self.paper(ref), body, parent_id)

    def edit_comment(self, user: User, comment_id: int, body: str) -> Comment:
        return self.discussion.edit(user, comment_id, body)

    def delete_comment(self, user: User, comment_id: int) -> Comment:
        return self.discussion.delete(user, comment_id)

    def hide_comment(self, admin: User, comment_id: int, hidden: bool = True) -> Comment:
        return self.discussion.set_hidden(admin, comment_id, hidden)

    def hide_paper(self, admin: User, ref: str, hidden: bool = True) -> Paper:
        """Take a paper out of every page, ranking and search (or bring it back)."""
        require_admin(admin)
        paper = self.store.papers.resolve(ref)
        if paper is None:
            raise NotFound(f"no paper {ref!r}")
        self.store.papers.set_hidden(paper.id, hidden)
        self.sync_indexes()
        paper.hidden = hidden
        return paper

    def moderation(self, admin: User) -> Moderation:
        require_admin(admin)
        return Moderation(
            hidden_papers=self.store.community.hidden_papers(),
            hidden_comments=self.store.community.hidden_comments(),
            suspended_users=self.store.users.suspended(),
        )

    def trending(
        self, period: str = "week", *, page: int = 1, per_page: int = 20, now: dt.datetime | None = None
    ) -> ResultPage:
        """Papers by time-decayed upvotes ("day", "week" or "month"); see community.trending."""
        _check_paging(page, per_page)
        return trending(self.store, period, page=page, per_page=per_page, now=now or utcnow())

    def top_of_day(self, day: dt.date, *, page: int = 1, per_page: int = 20) -> ResultPage:
        """The papers of a day's page, most upvoted first."""
        _check_paging(page, per_page)
        return top_of_day(self.store, day, page=page, per_page=per_page)


def _check_paging(page: int, per_page: int) -> None:
    if not 1 <= per_page <= MAX_PER_PAGE:
        raise InvalidInput(f"per_page must be between 1 and {MAX_PER_PAGE}")
    if not 1 <= page <= MAX_PAGE:
        raise InvalidInput(f"page must be between 1 and {MAX_PAGE}")
