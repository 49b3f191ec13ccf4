"""The JSON API's response shapes. Each mirrors a domain object from `paperfeed.models` and is
built from it with `Model.model_validate(obj)`, reading its attributes."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field

from paperfeed.models import LinkKind


class _FromDomain(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class LinkOut(_FromDomain):
    kind: LinkKind
    url: str


class PaperOut(_FromDomain):
    paper_id: str = Field(
        description="Public id: the arXiv id with version where known, else the stable key."
    )
    url_id: str = Field(description="Version-less id used in URLs: /papers/{url_id}.")
    title: str
    abstract: str
    authors: list[str]
    categories: list[str]
    arxiv_id: str | None = Field(description="arXiv id without version, e.g. 2401.01234.")
    version: int | None = Field(description="arXiv version number.")
    doi: str | None
    published: dt.date | None
    updated: dt.date | None
    listed_on: dt.date = Field(description="The day the paper appears on the daily page.")
    comments: str | None
    journal_ref: str | None
    links: list[LinkOut] = Field(description="Kinds: abs, pdf, doi, code, project.")
    has_code: bool
    sources: list[str] = Field(description="Formats the paper was imported from.")


class RankedPaperOut(_FromDomain):
    paper: PaperOut
    score: float
    snippet_html: str | None = Field(description="Escaped HTML with <mark> around matched words.")
    reason: str | None = Field(description="Why the paper is on the list, when the ranking says.")


class ResultPageOut(_FromDomain):
    items: list[RankedPaperOut]
    total: int = Field(description="Papers matching, over all pages.")
    page: int
    per_page: int
    pages: int
    ranking: str = Field(description='How the papers are ranked: "keyword", "semantic", "hybrid", ...')
    took_ms: float
    suggestion: str | None = Field(
        default=None, description='A search\'s query with misspelt words corrected ("did you mean").'
    )
    coverage: float | None = Field(
        default=None,
        description="Semantic and hybrid rankings: the share of searchable papers embedded so far "
        "(below 1 while embedding runs; the rest are found by keywords only). None for keyword.",
    )


class DayOut(_FromDomain):
    day: dt.date
    prev_day: dt.date | None = Field(description="The closest earlier day with papers.")
    next_day: dt.date | None = Field(description="The closest later day with papers.")
    total: int = Field(description="How many papers the day lists in all.")
    page: int
    per_page: int
    pages: int
    papers: list[PaperOut] = Field(description="This page of the day's papers, most upvoted first.")


class StatsOut(_FromDomain):
    # The database location is left out on purpose: it names paths on the server.
    papers: int
    with_arxiv_id: int
    with_code: int
    days: int
    first_day: dt.date | None
    last_day: dt.date | None
    by_source: dict[str, int]
    database_bytes: int | None
    index_docs: int | None = Field(description="Papers in the keyword index.")


class ErrorBody(BaseModel):
    status: int
    message: str


class ErrorOut(BaseModel):
    """The body of every API error."""

    error: ErrorBody
