"""`paperfeed harvest arxiv|oai|hf`: import papers from arXiv and Hugging Face over the network."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Annotated

import typer

from paperfeed.cli.common import open_core, progress_bar
from paperfeed.cli.import_cmd import print_reports
from paperfeed.ingest.arxiv_api import MAX_SEARCH_RESULTS, ArxivAPISource, ArxivClient
from paperfeed.ingest.hf_api import HFDailyAPISource, HFDailyClient
from paperfeed.ingest.oai_pmh import OAI_URL, OAIHarvester, OAIPMHHarvestSource

harvest_app = typer.Typer(
    help="Import papers from arXiv or Hugging Face over the network (politely: each service's pauses "
    "and retry rules are kept).",
    no_args_is_help=True,
)

DatabaseOption = Annotated[
    str | None, typer.Option(help="Database URL (default: PAPERFEED_DATABASE_URL or SQLite).")
]


class SortBy(StrEnum):
    relevance = "relevance"
    submitted = "submittedDate"
    updated = "lastUpdatedDate"


class MetadataPrefix(StrEnum):
    arxiv = "arXiv"
    arxiv_raw = "arXivRaw"


@harvest_app.command("arxiv")
def harvest_arxiv(
    ids: Annotated[
        list[str] | None,
        typer.Option("--id", help="An arXiv id or arxiv.org URL; repeat for several."),
    ] = None,
    query: Annotated[
        str | None,
        typer.Option(help='An arXiv API search query, e.g. "cat:cs.CL AND abs:retrieval".'),
    ] = None,
    max_results: Annotated[
        int, typer.Option(min=1, max=MAX_SEARCH_RESULTS, help="Most results of a query.")
    ] = 100,
    sort_by: Annotated[
        SortBy, typer.Option(help="Order of query results (newest submissions first by default).")
    ] = SortBy.submitted,
    database_url: DatabaseOption = None,
) -> None:
    """Fetch papers by id, or the results of a search, from the arXiv API."""
    with ArxivClient() as client:
        source = ArxivAPISource(client, ids=ids, query=query, max_results=max_results, sort_by=sort_by.value)
        core = open_core(database_url, create=True)
        with progress_bar("fetching from the arXiv API") as advance:
            reports = core.import_sources([source], progress=advance)
    print_reports(reports)


@harvest_app.command("oai")
def harvest_oai(
    from_: Annotated[
        dt.datetime | None,
        typer.Option("--from", formats=["%Y-%m-%d"], help="First datestamp to harvest (YYYY-MM-DD)."),
    ] = None,
    until: Annotated[
        dt.datetime | None,
        typer.Option(formats=["%Y-%m-%d"], help="Last datestamp to harvest (YYYY-MM-DD), inclusive."),
    ] = None,
    set_: Annotated[
        str | None, typer.Option("--set", help="Only this set, e.g. cs or physics:hep-th.")
    ] = None,
    metadata_prefix: Annotated[
        MetadataPrefix, typer.Option(help="arXiv (structured authors) or arXivRaw (with every version).")
    ] = MetadataPrefix.arxiv,
    base_url: Annotated[str, typer.Option(help="The OAI-PMH endpoint.")] = OAI_URL,
    database_url: DatabaseOption = None,
) -> None:
    """Harvest the records arXiv's OAI-PMH interface changed between two days.

    An interrupted harvest run again with the same options resumes where it stopped."""
    with OAIHarvester(
        base_url=base_url,
        metadata_prefix=metadata_prefix.value,
        from_=from_.date() if from_ else None,
        until=until.date() if until else None,
        set_=set_,
    ) as harvester:
        source = OAIPMHHarvestSource(harvester)
        core = open_core(database_url, create=True)
        with progress_bar("harvesting over OAI-PMH") as advance:
            reports = core.import_sources([source], progress=advance)
    print_reports(reports)


@harvest_app.command("hf")
def harvest_hf(
    date: Annotated[
        dt.datetime | None,
        typer.Option(formats=["%Y-%m-%d"], help="The Daily Papers of this day (YYYY-MM-DD)."),
    ] = None,
    week: Annotated[
        str | None, typer.Option(help="The papers of an ISO week (YYYY-Www, e.g. 2025-W07).")
    ] = None,
    month: Annotated[str | None, typer.Option(help="The papers of a month (YYYY-MM).")] = None,
    base_url: Annotated[str | None, typer.Option(help="The Daily Papers API endpoint.")] = None,
    database_url: DatabaseOption = None,
) -> None:
    """Import Hugging Face Daily Papers (with Hugging Face's upvotes and comment counts) for a
    day, a week or a month. To keep up every day, `paperfeed follow add hf` instead."""
    core = open_core(database_url)
    with HFDailyClient(base_url=base_url or core.settings.hf_api_url) as client:
        source = HFDailyAPISource(client, days=[date.date()] if date else None, week=week, month=month)
        with progress_bar("fetching Daily Papers") as advance:
            reports = core.import_sources([source], progress=advance)
    print_reports(reports)


def register(app: typer.Typer) -> None:
    app.add_typer(harvest_app, name="harvest")
