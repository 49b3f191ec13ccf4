"""Domain objects shared by every layer: what a paper is, what an import reports,
and the one shape every ranking (keyword, semantic, hybrid, trending, ...) answers in."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Literal

LinkKind = Literal["abs", "pdf", "doi", "code", "project"]


@dataclass(slots=True)
class Link:
    kind: LinkKind
    url: str

    def as_dict(self) -> dict[str, str]:
        return {"kind": self.kind, "url": self.url}


@dataclass(slots=True)
class PaperRecord:
    """One paper as a source describes it, already cleaned by `paperfeed.text`.

    Importers produce these; the store merges them into papers. Empty values mean
    "this source does not know", never "erase what we know".
    """

    title: str
    abstract: str = ""
    authors: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    arxiv_id: str | None = None  # without version, e.g. "2401.01234" or "hep-th/9901001"
    version: int | None = None  # arXiv version number (2 for "v2")
    doi: str | None = None
    published: dt.date | None = None
    updated: dt.date | None = None
    comments: str | None = None
    journal_ref: str | None = None
    links: list[Link] = field(default_factory=list)
    listed_on: dt.date | None = None  # the day the paper appears on the daily page
    source: str = ""
    # Hugging Face Daily Papers: the day it was listed there and that site's own counts.
    hf_listed_on: dt.date | None = None
    hf_upvotes: int | None = None
    hf_comments: int | None = None


@dataclass(slots=True)
class Rejected:
    """A record a source could not turn into a paper, and why."""

    reason: str


@dataclass(slots=True)
class SourceItem:
    """What a parser yields: the record's position in its source and the record or its rejection."""

    record_no: int  # 1-based line number (line formats) or record number (XML/BibTeX)
    item: PaperRecord | Rejected


@dataclass(slots=True)
class Paper:
    """A paper as stored."""

    id: int
    key: str
    title: str
    abstract: str
    authors: list[str]
    categories: list[str]
    arxiv_id: str | None
    version: int | None
    doi: str | None
    published: dt.date | None
    updated: dt.date | None
    comments: str | None
    journal_ref: str | None
    links: list[Link]
    listed_on: dt.date
    has_code: bool
    sources: list[str]
    first_seen: dt.datetime
    last_updated: dt.datetime
    hidden: bool = False
    # As Hugging Face Daily Papers lists it (None: never seen there); never mixed into local votes.
    hf_listed_on: dt.date | None = None
    hf_upvotes: int | None = None
    hf_comments: int | None = None

    @property
    def paper_id(self) -> str:
        """The public id: the arXiv id with version where known, else the stable key."""
        if self.arxiv_id:
            return f"{self.arxiv_id}v{self.version}" if self.version else self.arxiv_id
        return self.key

    @property
    def url_id(self) -> str:
        """The id used in URLs: version-less, so links survive new versions."""
        return self.arxiv_id or self.key

    def links_of(self, kind: LinkKind) -> list[Link]:
        return [link for link in self.links if link.kind == kind]


@dataclass(slots=True)
class Rejection:
    record_no: int
    reason: str


@dataclass(slots=True)
class ImportReport:
    source: str
    fmt: str
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    rejections: list[Rejection] = field(default_factory=list)
    resumed_from: int = 0  # records already committed by an earlier, interrupted run
    seconds: float = 0.0

    @property
    def rejected(self) -> int:
        return len(self.rejections)

    @property
    def processed(self) -> int:
        return self.added + self.updated + self.unchanged + self.rejected

    def merge(self, other: ImportReport) -> None:
        self.added += other.added
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.rejections.extend(other.rejections)
        self.resumed_from += other.resumed_from
        self.seconds += other.seconds

    def as_dict(self) -> dict:
        return {
            "source": self.source,
            "format": self.fmt,
            "added": self.added,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "rejected": self.rejected,
            "rejections": [{"record": r.record_no, "reason": r.reason} for r in self.rejections],
            "resumed_from": self.resumed_from,
            "seconds": round(self.seconds, 3),
        }


SortOrder = Literal["relevance", "newest"]
SearchMode = Literal["keyword", "semantic", "hybrid"]
# What a search runs as when nobody chose: keyword matches and meaning, fused.
DEFAULT_SEARCH_MODE: SearchMode = "hybrid"


@dataclass(slots=True)
class SearchFilters:
    date_from: dt.date | None = None  # on the published date (or listing day when unknown)
    date_to: dt.date | None = None
    author: str | None = None
    category: str | None = None
    has_code: bool | None = None

    def is_empty(self) -> bool:
        return not (
            self.date_from or self.date_to or self.author or self.category or self.has_code is not None
        )


@dataclass(slots=True)
class SearchRequest:
    query: str = ""
    filters: SearchFilters = field(default_factory=SearchFilters)
    sort: SortOrder = "relevance"
    page: int = 1
    per_page: int = 20
    mode: SearchMode = DEFAULT_SEARCH_MODE

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page


@dataclass(slots=True)
class RankedPaper:
    paper: Paper
    score: float
    snippet_html: str | None = None  # already escaped, with <mark> around matches
    reason: str | None = None  # why it is here ("because you liked ...", "12 upvotes today")


@dataclass(slots=True)
class ResultPage:
    """The answer of every ranking: one page of papers, best first, plus how many there are."""

    items: list[RankedPaper]
    total: int
    page: int
    per_page: int
    ranking: str  # "keyword", "semantic", "hybrid", "trending:week", "recommended", ...
    took_ms: float = 0.0
    suggestion: str | None = None  # a search's query with misspelt words corrected ("did you mean")
    # The share of searchable papers a ranking by meaning could see: below 1 while papers still
    # await embedding (they are found by keywords meanwhile). None for rankings without vectors.
    coverage: float | None = None

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def partial_coverage_percent(self) -> int | None:
        """The coverage as a whole percentage, rounded down, when it is not complete."""
        if self.coverage is None or self.coverage >= 1:
            return None
        return int(self.coverage * 100)

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def has_prev(self) -> bool:
        return self.page > 1


@dataclass(slots=True)
class DayPage:
    """One day's papers, most upvoted first (then in the order they arrived), a page at a time."""

    day: dt.date
    papers: list[Paper]
    prev_day: dt.date | None
    next_day: dt.date | None
    total: int = 0
    page: int = 1
    per_page: int = 50
    until: dt.date | None = None  # a week's or month's view: the papers from `day` to `until`

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def has_prev(self) -> bool:
        return self.page > 1


@dataclass(slots=True)
class Stats:
    papers: int
    with_arxiv_id: int
    with_code: int
    days: int
    first_day: dt.date | None
    last_day: dt.date | None
    by_source: dict[str, int]
    database: str
    database_bytes: int | None
    index_docs: int | None


# --- community -----------------------------------------------------------------------------------


@dataclass(slots=True)
class User:
    id: int
    name: str
    is_admin: bool
    suspended: bool
    created_at: dt.datetime


@dataclass(slots=True)
class VoteState:
    """A paper's upvote count and whether the asking user is among the voters."""

    paper_id: int
    votes: int
    voted: bool = False


@dataclass(slots=True)
class Submission:
    paper_id: int
    user_id: int
    user_name: str
    submitted_on: dt.date
    submitted_at: dt.datetime


@dataclass(slots=True)
class SubmissionOutcome:
    paper: Paper
    submission: Submission
    created: bool  # False: the paper had been submitted before (by `submission.user_name`)
    fetched: bool  # True: the paper was new to paperfeed and came from arXiv now


@dataclass(slots=True)
class Comment:
    id: int
    paper_id: int
    user_id: int
    author: str
    parent_id: int | None
    body: str  # Markdown as written
    created_at: dt.datetime
    edited_at: dt.datetime | None = None
    deleted: bool = False  # by its author
    hidden: bool = False  # by a moderator
    html: str = ""  # the body rendered and sanitised; empty when not shown
    replies: list[Comment] = field(default_factory=list)

    @property
    def shown(self) -> bool:
        """Whether the body is shown (deleted and hidden comments only keep their place in a thread)."""
        return bool(self.html)


@dataclass(slots=True)
class Moderation:
    """What an admin has taken out of view."""

    hidden_papers: list[Paper]
    hidden_comments: list[Comment]
    suspended_users: list[User]


# --- followed sources ------------------------------------------------------------------------------

FollowKind = Literal["arxiv-oai", "arxiv-query", "hf-daily"]


@dataclass(slots=True)
class FollowedSource:
    """A source `paperfeed sync` imports from: an arXiv category over OAI-PMH, an arXiv API query,
    or Hugging Face Daily Papers, with where it stands."""

    id: int
    kind: FollowKind
    target: str  # the category ("cs.CL"), the query, or "daily"
    options: dict
    created_at: dt.datetime
    watermark: dt.date | None = None  # the last day imported in full
    window_from: dt.date | None = None  # the window of a sync that has not finished (to resume)
    window_until: dt.date | None = None
    last_run_at: dt.datetime | None = None
    last_success_at: dt.datetime | None = None
    last_error: str | None = None
    last_error_at: dt.datetime | None = None
    failures: int = 0  # failed runs since the last success
    next_run_at: dt.datetime | None = None
    last_report: dict | None = None

    @property
    def label(self) -> str:
        if self.kind == "arxiv-oai":
            return f"arXiv {self.target}"
        if self.kind == "arxiv-query":
            return f"arXiv query {self.target}"
        return "Hugging Face Daily Papers"


# --- the research library: collections and notes ---------------------------------------------------

Visibility = Literal["private", "unlisted", "public"]
VISIBILITIES: tuple[Visibility, ...] = ("private", "unlisted", "public")


@dataclass(slots=True)
class Collection:
    """A user's named list of papers. Private: the owner only; unlisted: anyone with its secret
    link; public: anyone. The default collection ("Saved") is what the Save button fills."""

    id: int
    user_id: int
    owner: str  # the owner's user name
    name: str
    description: str
    visibility: Visibility
    is_default: bool
    share_token: str  # the secret of an unlisted collection's link
    feed_token: str  # the secret of its feed's URL
    created_at: dt.datetime
    updated_at: dt.datetime
    size: int = 0  # papers in it


@dataclass(slots=True)
class Note:
    """A user's private Markdown note on a paper."""

    user_id: int
    paper_id: int
    body: str  # Markdown as written
    created_at: dt.datetime
    updated_at: dt.datetime
    html: str = ""  # the body rendered and sanitised
