"""The core that the web UI, the JSON API and the CLI all call.

It owns the store (source of truth) and the derived indexes, and answers every question
in domain objects. Interfaces only translate requests into these calls and render answers.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
import time
from collections.abc import Callable, Sequence
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import numpy as np

from paperfeed.community.accounts import Accounts, require_admin
from paperfeed.community.comments import Comments
from paperfeed.community.submissions import Submissions
from paperfeed.community.trending import top_of_day, trending
from paperfeed.config import Settings
from paperfeed.errors import InvalidInput, NotFound, PaperfeedError
from paperfeed.ingest import open_sources
from paperfeed.ingest.arxiv_api import ArxivClient
from paperfeed.ingest.base import Source
from paperfeed.ingest.pipeline import run_import
from paperfeed.insight import Insight
from paperfeed.library.authors import AuthorProfile, Authors
from paperfeed.library.collections import Collections
from paperfeed.library.notes import Notes
from paperfeed.library.recommend import Recommender
from paperfeed.models import (
    Collection,
    Comment,
    DayPage,
    FollowedSource,
    ImportReport,
    Moderation,
    Note,
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
from paperfeed.search import first_pass
from paperfeed.search.embeddings import Embedder, load_embedder, paper_text, query_text
from paperfeed.search.highlight import mark, match_pattern, snippet
from paperfeed.search.keyword import KeywordIndex
from paperfeed.search.query import parse_user_query
from paperfeed.search.rankers import KeywordRanker, Query, Ranker, RelatedRanker, rankers
from paperfeed.search.similar import SimilarRanker
from paperfeed.search.spelling import Speller
from paperfeed.search.vectors import IndexBusy, VectorIndex
from paperfeed.store import Store
from paperfeed.store.author_follows import AuthorFollow
from paperfeed.store.papers import utcnow
from paperfeed.text import title_key

MAX_PER_PAGE = 100
DAY_PAGE_SIZE = 50
MAX_PAGE = 500  # deep pagination is never useful and costs the index dearly
QUERY_VECTORS_KEPT = 20_000  # queries embedded ahead (embed_queries): a run's distinct saved searches

Progress = Callable[[int], None]

if TYPE_CHECKING:
    from paperfeed.ingest.follow import Clients
    from paperfeed.ingest.sync import SyncReport
    from paperfeed.library.importer import LibraryImportReport


class PaperFeed:
    def __init__(
        self, settings: Settings | None = None, *, store: Store | None = None, read_only: bool = False
    ) -> None:
        """`read_only`: this core only reads (search, stats), so its store is not written if it
        need not be, e.g. not migrated when already current."""
        self.settings = settings or Settings.from_env()
        self.store = store or Store.open(self.settings.db_url, read_only=read_only)
        self.keyword = KeywordIndex(self.settings.index_dir / "keyword")
        self.vectors = VectorIndex(self.settings.index_dir / "vectors")
        self.speller = Speller(self.keyword.vocabulary, self.keyword.knows)
        self._stats: tuple[float, Stats] | None = None  # (when, summary), for stats(max_age=...)
        self._query_vectors: dict[str, np.ndarray] = {}  # see embed_queries
        # Told when an account is under attack; the web app mails the owner (digest.alerts), a
        # layer above this one.
        self.on_login_attack: Callable[[User], None] | None = None

    @cached_property
    def embedder(self) -> Embedder:
        """The sentence embedder of the `embedder` setting, loaded on first use."""
        return load_embedder(self.settings.embedder, self.settings.model_dir)

    @cached_property
    def insight(self) -> Insight:
        """Topics, the topic map, trends and TL;DRs (see paperfeed.insight)."""
        return Insight(self.store, self.keyword, self.vectors)

    def close(self) -> None:
        self.store.close()

    # --- importing ------------------------------------------------------------------------------

    def import_sources(
        self, sources: list[Source], *, progress: Progress | None = None, sync: bool = True
    ) -> list[ImportReport]:
        # The keyword index follows the import batch by batch, so papers are searchable soon
        # after they are stored instead of after a second pass over the store.
        with self.keyword.following(self.store) as index_batch:
            reports = [
                run_import(self.store, source, progress=progress, committed=index_batch) for source in sources
            ]
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
        # When an embedding run (the server's worker, `paperfeed embed`) holds the index, it or
        # the run after it reaches these papers: this sync need not wait hours for it.
        with contextlib.suppress(IndexBusy):
            self.sync_vectors(progress=embed_progress or progress, wait=False)
        self.insight.assign_new()  # new papers join their nearest topic (once topics are built)
        return count

    def sync_vectors(
        self,
        *,
        progress: Progress | None = None,
        rebuild: bool = False,
        stop: threading.Event | None = None,
        wait: bool = True,
        first_pass: Embedder | None = None,
    ) -> int:
        """Embed papers new or changed since the last sync (with `first_pass`, provisionally by
        that model); returns how many were embedded. A run told to `stop` ends after its current
        batch and the next run carries on from there."""
        return self.vectors.sync(
            self.store,
            self.embedder,
            progress=progress,
            rebuild=rebuild,
            stop=stop,
            wait=wait,
            first_pass=first_pass,
        )

    def train_first_pass(
        self, *, progress: Progress | None = None, sample_size: int = first_pass.SAMPLE_SIZE
    ) -> tuple[first_pass.FirstPassEmbedder, first_pass.TrainingReport | None]:
        """This store's first-pass model (see search/first_pass.py), trained now if it has none;
        the report says how, when it was trained now."""
        return first_pass.prepare(
            self.store,
            self.embedder,
            load_embedder("minilm-static", self.settings.model_dir),
            self.vectors.path,
            sample_size=sample_size,
            progress=progress,
        )

    def upgrade_vectors(
        self, *, progress: Progress | None = None, stop: threading.Event | None = None, wait: bool = True
    ) -> int:
        """Replace first-pass vectors with the default model's; returns how many were replaced."""
        return self.vectors.upgrade(self.store, self.embedder, progress=progress, stop=stop, wait=wait)

    def provisional_vectors(self) -> int:
        """Papers whose vector is still a first-pass one, awaiting the default model."""
        return self.vectors.provisional_count(self.store, self.embedder)

    def papers_to_embed(self) -> int:
        """About how many searchable papers have no vector yet."""
        return max(0, self._searchable_papers() - len(self.vectors))

    def _searchable_papers(self, *, fresh: bool = True) -> int:
        """Papers search can find: the keyword index's (the store's when the index is unreadable)."""
        try:
            return self.keyword.doc_count(fresh=fresh)
        except (OSError, ValueError):
            return self.store.papers.count()

    def ensure_indexes(self) -> None:
        """Bring the keyword index up to date at start-up (rebuilding it if it was lost). Vectors
        are left to the embedding worker: embedding can take hours, and the site serves meanwhile."""
        self.keyword.sync(self.store)

    def warm_up(self) -> None:
        """Load now what the first searches would load while visitors wait: the model, the map of
        the vector index and the keyword searcher. A server calls this before it takes requests:
        under load, the first searches after a start queued behind that loading for seconds. A
        missing model is not an error here (keyword search still serves)."""
        with contextlib.suppress(PaperfeedError):
            self.search(SearchRequest(query="warm up", mode="hybrid", per_page=1), brief=True)

    # --- followed sources -------------------------------------------------------------------------

    def follow(self, kind: str, target: str | None = None, *, since: dt.date | None = None,
               metadata_prefix: str | None = None) -> FollowedSource:  # fmt: skip
        """Start following a source; its first sync imports from `since` (default: a week back)."""
        from paperfeed.ingest.follow import normalize_target, parse_kind

        follow_kind = parse_kind(kind)
        options: dict = {}
        if since:
            options["since"] = since.isoformat()
        if metadata_prefix:
            if follow_kind != "arxiv-oai":
                raise InvalidInput("a metadata prefix is only for arXiv categories (OAI-PMH)")
            if metadata_prefix not in ("arXiv", "arXivRaw"):
                raise InvalidInput("the metadata prefix is arXiv or arXivRaw")
            options["metadata_prefix"] = metadata_prefix
        return self.store.follows.add(follow_kind, normalize_target(follow_kind, target), options, utcnow())

    def followed(self) -> list[FollowedSource]:
        return self.store.follows.all()

    def unfollow(self, source_id: int) -> FollowedSource:
        return self.store.follows.remove(source_id)

    def sync_clients(self) -> Clients:
        from paperfeed.ingest.follow import Clients

        s = self.settings
        return Clients(
            oai_url=s.oai_url, hf_url=s.hf_api_url, arxiv_url=s.arxiv_api_url, delay=s.harvest_delay
        )

    def sync_followed(
        self,
        *,
        force: bool = False,
        dry_run: bool = False,
        only: list[int] | None = None,
        now: dt.datetime | None = None,
        clients: Clients | None = None,
        progress: Progress | None = None,
    ) -> list[SyncReport]:
        """Import what is new from each due followed source (every one with `force`), then bring
        the indexes up to date; see `paperfeed.ingest.sync`."""
        from paperfeed.ingest.sync import sync_sources

        reports = sync_sources(
            self.store,
            clients or self.sync_clients(),
            now=now or utcnow(),
            interval=dt.timedelta(hours=self.settings.sync_interval_hours),
            batch_size=self.settings.sync_batch_size,
            force=force,
            dry_run=dry_run,
            only=only,
            progress=progress,
        )
        if any(r.import_report and (r.import_report.added or r.import_report.updated) for r in reports
               if r.status == "ok"):  # fmt: skip
            self.sync_indexes()
        return reports

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

    def days(
        self, first: dt.date, last: dt.date, *, page: int = 1, per_page: int = DAY_PAGE_SIZE
    ) -> DayPage:
        """The papers listed from `first` to `last` (a week, a month), most upvoted first."""
        _check_paging(page, per_page)
        papers, total = self.store.papers.on_days(first, last, limit=per_page, offset=(page - 1) * per_page)
        return DayPage(
            day=first, papers=papers, prev_day=None, next_day=None, total=total, page=page,
            per_page=per_page, until=last,
        )  # fmt: skip

    def day_page_of(self, paper: Paper, *, per_page: int = DAY_PAGE_SIZE) -> int | None:
        """The page of its day's list that shows the paper (None: it is not listed)."""
        position = self.store.papers.position_on_day(paper.id, paper.listed_on)
        return None if position is None else (position - 1) // per_page + 1

    def stats(self, *, max_age: float = 0.0) -> Stats:
        """The store's summary; one computed up to `max_age` seconds ago will do (counting a
        million papers' sources and days scans the whole table: seconds)."""
        cached = self._stats
        if max_age > 0 and cached is not None and time.monotonic() - cached[0] <= max_age:
            return cached[1]
        stats = self._fresh_stats()
        self._stats = (time.monotonic(), stats)
        return stats

    def _fresh_stats(self) -> Stats:
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

    @cached_property
    def rankers(self) -> dict[str, Ranker]:
        """Every search mode's ranker, by name (see paperfeed.search.rankers)."""
        return rankers(self.keyword, self.vectors)

    @cached_property
    def related_ranker(self) -> RelatedRanker:
        keyword = self.rankers["keyword"]
        assert isinstance(keyword, KeywordRanker)
        return RelatedRanker(keyword, self.vectors)

    def search(self, request: SearchRequest, *, brief: bool = False) -> ResultPage:
        """One page of papers for a query, in any mode (keyword, semantic, hybrid), with the same
        filters and pagination everywhere. An empty query lists the newest papers. `brief`: the
        ranked papers only, without snippets, a spelling suggestion or the semantic coverage
        (what a digest, which shows none of them, asks for by the thousand)."""
        _check_paging(request.page, request.per_page)
        ranker = self.rankers.get(request.mode)
        if ranker is None:
            raise InvalidInput(
                f"search mode {request.mode!r} is not available: use {', '.join(self.rankers)}"
            )
        started = time.perf_counter()
        query = Query.of(request.query, self._query_vector)
        if query.is_empty or request.sort == "newest":
            ranked, total = self._newest(ranker, query, request)
        else:
            ranking = ranker.rank(query, request.filters, limit=request.per_page, offset=request.offset)
            ranked, total = ranking.scored, ranking.total
        if brief:
            items = [RankedPaper(paper=paper, score=score) for paper, score in self._papers(ranked)]
        else:
            pattern = match_pattern(query.parsed.words)
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
            suggestion=None if brief or query.is_empty else self.speller.suggest(request.query),
            coverage=self.semantic_coverage() if ranker.uses_vectors and not brief else None,
        )

    def embed_queries(self, queries: Sequence[str]) -> None:
        """Embed many search queries in one call of the embedder, ahead of the searches for them
        (a digest run's saved searches), which then take these vectors."""
        texts = [t for t in dict.fromkeys(map(query_text, queries)) if t and t not in self._query_vectors]
        if not texts:
            return
        if len(self._query_vectors) + len(texts) > QUERY_VECTORS_KEPT:
            self._query_vectors.clear()
        self._query_vectors.update(zip(texts, self.embedder.embed(texts), strict=True))

    def _query_vector(self, text: str) -> np.ndarray:
        vector = self._query_vectors.get(text)
        return vector if vector is not None else self.embedder.embed([text])[0]

    def semantic_coverage(self) -> float:
        """The share of searchable papers that have a vector (below 1 while embedding runs)."""
        return self.vectors.coverage(self._searchable_papers(fresh=False))

    def _newest(
        self, ranker: Ranker, query: Query, request: SearchRequest
    ) -> tuple[list[tuple[int, float]], int]:
        """The papers a query matches, newest first (every paper the filters allow when the
        query is empty)."""
        if query.is_empty or isinstance(ranker, KeywordRanker):
            hits = self.keyword.search(
                query.parsed,
                request.filters,
                limit=request.per_page,
                offset=request.offset,
                newest_first=True,
            )
            return list(zip(hits.ids, hits.scores, strict=True)), hits.total
        matches = ranker.rank(query, request.filters, limit=MAX_PAGE * MAX_PER_PAGE).scored
        score = dict(matches)
        order = self.keyword.filter_matches(
            SearchFilters(), among=list(score), limit=len(score), newest_first=True
        ).ids
        newest = [(paper_id, score[paper_id]) for paper_id in order if paper_id in score]
        return newest[request.offset : request.offset + request.per_page], len(newest)

    def related(self, paper: Paper, limit: int = 10) -> ResultPage:
        """The papers most like `paper` (see RelatedRanker): never the paper itself, nor its duplicates
        (the same normalised title, or a near-identical embedding)."""
        if not 1 <= limit <= MAX_PER_PAGE:
            raise InvalidInput(f"limit must be between 1 and {MAX_PER_PAGE}")
        started = time.perf_counter()
        vector = self.vectors.vector_of(paper.id)
        if vector is None:  # not indexed yet (or hidden): embed it on the spot
            vector = self.embedder.embed([paper_text(paper.title, paper.abstract)])[0]
        own_title = title_key(paper.title)
        items: list[RankedPaper] = []
        candidates = self.related_ranker.rank_like(paper.id, paper.title, vector)[: limit * 2 + 10]
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

    @cached_property
    def similar_ranker(self) -> SimilarRanker:
        return SimilarRanker(self.rankers["semantic"], self.vectors)  # type: ignore[arg-type]

    def similar(
        self,
        *,
        text: str | None = None,
        paper: Paper | None = None,
        collection: Collection | None = None,
        filters: SearchFilters | None = None,
        page: int = 1,
        per_page: int = 20,
    ) -> ResultPage:
        """The papers nearest in meaning to a text, a paper or a collection (exactly one of
        them), never the examples themselves; see paperfeed.search.similar."""
        from paperfeed.search.similar import MAX_TEXT, Example

        _check_paging(page, per_page)
        if sum(x is not None for x in (text, paper, collection)) != 1:
            raise InvalidInput("find papers similar to one thing: a text, a paper or a collection")
        started = time.perf_counter()
        ranker = self.similar_ranker
        members: list[int] = []
        if text is not None:
            text = " ".join(text.split())
            if not text:
                raise InvalidInput("give a text to find similar papers to")
            if len(text) > MAX_TEXT:
                raise InvalidInput(f"texts have at most {MAX_TEXT:,} characters")
            example: Example | None = Example(self.embedder.embed([text])[0])
            kind = "text"
        elif paper is not None:
            vector = self.vectors.vector_of(paper.id)
            if vector is None:
                vector = self.embedder.embed([paper_text(paper.title, paper.abstract)])[0]
            example, kind = Example(vector, frozenset([paper.id])), "paper"
        else:
            assert collection is not None
            members = self.library.paper_ids(collection)
            example, kind = ranker.of_papers(members), "collection"
        if example is None:  # an empty collection, or none of its papers embedded yet
            ranked, total = [], 0
        else:
            ranking = ranker.rank(example, filters or SearchFilters(), limit=per_page, offset=(page - 1) * per_page)
            ranked, total = ranking.scored, ranking.total
        items = [RankedPaper(paper=p, score=score) for p, score in self._papers(ranked)]
        if members:
            titles = {p.id: p.title for p in self.store.papers.get_many(members)}
            for item in items:
                like = ranker.closest_example(item.paper.id, list(titles))
                if like is not None:
                    item.reason = f"like “{titles[like]}”"
        return ResultPage(
            items=items,
            total=total,
            page=page,
            per_page=per_page,
            ranking=f"similar:{kind}",
            took_ms=(time.perf_counter() - started) * 1000,
        )

    def _papers(self, ranked: list[tuple[int, float]]) -> list[tuple[Paper, float]]:
        """Visible papers for ranked ids, in rank order."""
        papers = {p.id: p for p in self.store.papers.get_many([paper_id for paper_id, _ in ranked])}
        return [(papers[paper_id], score) for paper_id, score in ranked if paper_id in papers]

    @staticmethod
    def highlight_title(title: str, query: str) -> str:
        return mark(title, match_pattern(parse_user_query(query).words))

    # --- authors -------------------------------------------------------------------------------
    # The name matching rules live in paperfeed.library.authors.

    @cached_property
    def authors(self) -> Authors:
        return Authors(self.store, self.keyword)

    def author(self, name: str, *, page: int = 1, per_page: int = 20) -> tuple[AuthorProfile, ResultPage]:
        """The author written `name` and a page of their papers, newest first."""
        _check_paging(page, per_page)
        started = time.perf_counter()
        profile = self.authors.profile(name)
        shown = profile.paper_ids[(page - 1) * per_page : page * per_page]
        items = [RankedPaper(paper=paper, score=0.0) for paper in self.store.papers.get_many(shown)]
        result = ResultPage(
            items=items,
            total=len(profile.paper_ids),
            page=page,
            per_page=per_page,
            ranking="author",
            took_ms=(time.perf_counter() - started) * 1000,
        )
        return profile, result

    def follow_author(self, user: User, name: str, follow: bool = True) -> AuthorProfile:
        return self.authors.follow(user, name, follow, utcnow())

    def followed_authors(self, user: User) -> list[AuthorFollow]:
        return self.authors.followed(user.id)

    # --- the research library: collections and notes -------------------------------------------
    # The rules live in paperfeed.library; these are the calls the interfaces make.

    @cached_property
    def library(self) -> Collections:
        return Collections(self.store)

    @cached_property
    def notes(self) -> Notes:
        return Notes(self.store)

    def collections(self, user: User) -> list[Collection]:
        return self.library.of(user)

    def create_collection(
        self, user: User, name: str, description: str = "", visibility: str = "private"
    ) -> Collection:
        return self.library.create(user, name, description, visibility)

    def collection(self, collection_id: int, viewer: User | None) -> Collection:
        """A collection by number, if `viewer` may read it that way (404 otherwise)."""
        return self.library.readable(collection_id, viewer)

    def shared_collection(self, token: str) -> Collection:
        return self.library.shared(token)

    def update_collection(self, user: User, collection_id: int, **changes: str | None) -> Collection:
        return self.library.update(user, collection_id, **changes)

    def delete_collection(self, user: User, collection_id: int) -> Collection:
        return self.library.delete(user, collection_id)

    def add_to_collection(self, user: User, collection_id: int, ref: str) -> bool:
        return self.library.add(user, collection_id, self.paper(ref))

    def remove_from_collection(self, user: User, collection_id: int, ref: str) -> bool:
        return self.library.remove(user, collection_id, self.paper(ref))

    def memberships(self, user: User | None, paper_ids: Sequence[int]) -> dict[int, set[int]]:
        """For each paper, which of `user`'s collections hold it."""
        return self.library.memberships(user, list(paper_ids))

    def collection_papers(self, collection: Collection, *, page: int = 1, per_page: int = 20) -> ResultPage:
        """A page of the collection's papers, the last added first."""
        _check_paging(page, per_page)
        started = time.perf_counter()
        ids = self.library.paper_ids(collection)
        shown = ids[(page - 1) * per_page : page * per_page]
        items = [RankedPaper(paper=paper, score=0.0) for paper, _ in self._papers([(i, 0.0) for i in shown])]
        return ResultPage(
            items=items,
            total=len(ids),
            page=page,
            per_page=per_page,
            ranking=f"collection:{collection.id}",
            took_ms=(time.perf_counter() - started) * 1000,
        )

    def collection_paper_list(self, collection: Collection) -> list[Paper]:
        """Every visible paper of the collection (for exports), the last added first."""
        return [paper for paper, _ in self._papers([(i, 0.0) for i in self.library.paper_ids(collection)])]

    def import_library(
        self,
        user: User,
        collection_id: int,
        data: bytes,
        fmt: str | None = None,
        *,
        filename: str = "",
        progress: Callable[[int, int], None] | None = None,
    ) -> LibraryImportReport:
        """Import a BibTeX, RIS or CSL-JSON library into one of the user's collections; see
        paperfeed.library.importer."""
        from paperfeed.library.importer import import_library

        collection = self.library.own(collection_id, user)
        return import_library(self, user, collection, data, fmt, filename=filename, progress=progress)

    def note(self, user: User | None, paper: Paper) -> Note | None:
        return self.notes.of(user, paper)

    def notes_for(self, user: User | None, paper_ids: Sequence[int]) -> dict[int, Note]:
        return self.notes.of_papers(user, paper_ids)

    def write_note(self, user: User, ref: str, body: str) -> Note | None:
        """The user's private note on a paper (an empty body deletes it)."""
        return self.notes.write(user, self.paper(ref), body)

    def library_search(self, user: User, query: str, *, page: int = 1, per_page: int = 20) -> ResultPage:
        """The papers of the user's own library (any collection, or noted) whose title, authors,
        abstract or note hold every word of the query; title matches first, then note matches."""
        from paperfeed.library.search import search_library

        _check_paging(page, per_page)
        return search_library(self, user, query, page=page, per_page=per_page)

    # --- recommendations: the For-you page (digests and feeds use the same Recommender) -----------

    def recommendations(
        self,
        user: User,
        *,
        collection_id: int | None = None,
        window: str = "month",
        page: int = 1,
        per_page: int = 20,
    ) -> ResultPage:
        """Papers of the window ("month", "year" or "all") ranked for the user by a model of
        what they upvoted and saved (or of one of their own collections' papers) against what
        they dismissed, each with its reason; see paperfeed.library.recommend. Another user's
        collection does not exist here, whatever its visibility."""
        _check_paging(page, per_page)
        collection = self._own_collection(user, collection_id) if collection_id is not None else None
        recommender = Recommender(self.store)
        since = recommender.window_start(window)
        return recommender.recommend(user.id, collection=collection, since=since, page=page, per_page=per_page)

    def has_liked(self, user: User) -> bool:
        """Whether the user upvoted or saved anything yet: what recommendations learn from."""
        return bool(self.store.subscriptions.liked_paper_ids([user.id], per_user=1)[user.id])

    def _own_collection(self, user: User, collection_id: int) -> Collection:
        collection = self.library.readable(collection_id, user)
        if collection.user_id != user.id:
            raise NotFound(f"no collection {collection_id}")
        return collection

    def dismiss(self, user: User, ref: str) -> Paper:
        """Mark a paper "not interested": it leaves the user's recommendations and teaches them."""
        paper = self.paper(ref)
        self.store.dismissals.add(user.id, paper.id, utcnow())
        return paper

    def undismiss(self, user: User, ref: str) -> Paper:
        """Take "not interested" back."""
        paper = self.paper(ref)
        self.store.dismissals.remove(user.id, paper.id)
        return paper

    # --- community: accounts, submissions, votes, comments, trending ----------------------------
    # The rules live in paperfeed.community; these are the calls the interfaces make.

    @cached_property
    def accounts(self) -> Accounts:
        return Accounts(self.store, on_attack=self._login_alert)

    def _login_alert(self, user: User) -> None:
        if self.on_login_attack is not None:
            self.on_login_attack(user)

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
        """Save a paper into the user's default collection ("Saved"), or take it out; saved
        papers teach recommendations."""
        paper = self.paper(ref)
        default = self.library.default(user)
        if saved:
            self.library.add(user, default.id, paper)
        else:
            self.library.remove(user, default.id, paper)
        return saved

    def is_saved(self, user: User | None, paper: Paper) -> bool:
        """Whether the paper is in the user's default collection."""
        if user is None:
            return False
        return self.library.default(user).id in self.library.memberships(user, [paper.id])[paper.id]

    def vote_states(self, paper_ids: Sequence[int], user: User | None) -> dict[int, VoteState]:
        """Every paper's upvote count and whether `user` upvoted it, in one query."""
        states = self.store.community.vote_states(paper_ids, user.id if user else None)
        return {paper_id: states.get(paper_id) or VoteState(paper_id, 0) for paper_id in paper_ids}

    def submissions_for(self, paper_ids: Sequence[int]) -> dict[int, Submission]:
        return self.store.community.submissions_for(paper_ids)

    def comment_counts(self, paper_ids: Sequence[int]) -> dict[int, int]:
        """Every paper's number of readable comments (0 for none), in one query."""
        counts = self.store.community.comment_counts(paper_ids)
        return {paper_id: counts.get(paper_id, 0) for paper_id in paper_ids}

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

    def suspended_names(self, admin: User) -> set[str]:
        """The names of suspended users, folded for comparison (so pages offer no second "Suspend")."""
        require_admin(admin)
        return {user.name.casefold() for user in self.store.users.suspended()}

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
