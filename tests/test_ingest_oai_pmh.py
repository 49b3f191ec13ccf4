"""The OAI-PMH harvester, run as real client code against recorded arXiv OAI-PMH responses."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from helpers import FakeClock, Recorder
from paperfeed.cli import app
from paperfeed.config import Settings
from paperfeed.core import PaperFeed
from paperfeed.errors import InvalidInput, SourceUnavailable
from paperfeed.ingest import detect_format
from paperfeed.ingest.oai_pmh import OAIHarvester, OAIPMHError, OAIPMHHarvestSource, parse_oai
from paperfeed.ingest.pipeline import run_import
from paperfeed.models import Link, PaperRecord, Rejected

FIXTURES = Path(__file__).resolve().parent / "fixtures"
OAI = FIXTURES / "oai"
ARXIV = FIXTURES / "arxiv"
TOKEN = "6960524|3"
HARVEST = {"from_": dt.date(2024, 1, 4), "until": dt.date(2024, 1, 19), "set_": "cs"}


def xml(name: str, status: int = 200, **headers: str) -> httpx.Response:
    return httpx.Response(
        status,
        content=(OAI / name).read_bytes(),
        headers={"Content-Type": "text/xml; charset=utf-8", **headers},
    )


def recorded_oai(request: httpx.Request) -> httpx.Response:
    """arXiv's OAI-PMH service as recorded: a two-page ListRecords harvest of cs for
    2024-01-04..2024-01-19, nothing for other days, and an expired-token error for other tokens."""
    params = dict(request.url.params)
    if params.get("verb") != "ListRecords":
        return httpx.Response(400, text="unexpected request")
    if "resumptionToken" in params:
        if set(params) != {"verb", "resumptionToken"}:
            return httpx.Response(400, text="resumptionToken is an exclusive argument")
        return xml(
            "list_records_arxiv_page2.xml"
            if params["resumptionToken"] == TOKEN
            else "error_bad_resumption_token.xml"
        )
    if params == {
        "verb": "ListRecords",
        "metadataPrefix": "arXiv",
        "from": "2024-01-04",
        "until": "2024-01-19",
        "set": "cs",
    }:
        return xml("list_records_arxiv_page1.xml")
    return xml("error_no_records_match.xml")


def then(*responses: httpx.Response) -> Callable[[httpx.Request], httpx.Response]:
    """A handler giving these responses in turn, then the recording."""
    queue = list(responses)
    return lambda request: queue.pop(0) if queue else recorded_oai(request)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def harvester_for(handler: Recorder, clock: FakeClock, **options) -> OAIHarvester:
    for name, value in HARVEST.items():
        options.setdefault(name, value)
    transport = httpx.MockTransport(handler)
    return OAIHarvester(httpx.Client(transport=transport), sleep=clock.sleep, clock=clock, **options)


def oai_response(records: str) -> bytes:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/">
<responseDate>2024-01-22T09:14:05Z</responseDate>
<request verb="ListRecords" metadataPrefix="arXiv">https://oaipmh.arxiv.org/oai</request>
<ListRecords>{records}</ListRecords>
</OAI-PMH>""".encode()


def arxiv_record(inner: str) -> str:
    return f"""<record><header><identifier>oai:arXiv.org:2401.00001</identifier><datestamp>2024-01-02</datestamp>
</header><metadata><arXiv xmlns="http://arxiv.org/OAI/arXiv/">{inner}</arXiv></metadata></record>"""


# --- parsing --------------------------------------------------------------------------------------


def test_arxiv_format_fields_become_a_paper_record() -> None:
    page = parse_oai((OAI / "list_records_arxiv_page2.xml").read_bytes())
    mixtral = page.items[0].item

    assert isinstance(mixtral, PaperRecord)
    assert (mixtral.arxiv_id, mixtral.version) == ("2401.04088", None)
    assert mixtral.title == "Mixtral of Experts"
    assert mixtral.abstract.startswith(
        "We introduce Mixtral 8x7B, a Sparse Mixture of Experts (SMoE) language model."
    )
    assert len(mixtral.authors) == 26
    assert mixtral.authors[:2] == ["Albert Q. Jiang", "Alexandre Sablayrolles"]
    assert {"Diego de las Casas", "Lélio Renard Lavaud", "Théophile Gervet"} <= set(mixtral.authors)
    assert mixtral.categories == ["cs.LG", "cs.CL"]
    assert (mixtral.published, mixtral.updated) == (dt.date(2024, 1, 8), None)
    assert mixtral.comments == "See more details at https://mistral.ai/news/mixtral-of-experts/"
    assert Link("project", "https://mistral.ai/news/mixtral-of-experts/") in mixtral.links
    assert mixtral.source == "oai-pmh"


def test_arxiv_format_reads_doi_journal_ref_updated_and_name_suffixes() -> None:
    record = arxiv_record(
        "<id>hep-th/9901001</id><created>1999-01-04</created><updated>1999-03-15</updated>"
        "<authors><author><keyname>Steele</keyname><forenames>Guy L.</forenames><suffix>Jr.</suffix></author>"
        "<author><keyname>ATLAS Collaboration</keyname></author></authors>"
        "<title>A Paper</title><categories>hep-th gr-qc</categories><journal-ref>Phys.Rev.D59:1,1999</journal-ref>"
        "<doi>10.1103/PhysRevD.59.000001</doi><abstract>Text.</abstract>"
    )
    paper = parse_oai(oai_response(record)).items[0].item

    assert paper.authors == ["Guy L. Steele Jr.", "ATLAS Collaboration"]
    assert paper.arxiv_id == "hep-th/9901001"
    assert (paper.published, paper.updated) == (dt.date(1999, 1, 4), dt.date(1999, 3, 15))
    assert (paper.doi, paper.journal_ref) == ("10.1103/physrevd.59.000001", "Phys.Rev.D59:1,1999")
    assert paper.categories == ["hep-th", "gr-qc"]


def test_arxiv_raw_format_takes_the_latest_version_and_the_dates_of_the_first_and_last() -> None:
    paper = parse_oai((OAI / "list_records_arxivraw.xml").read_bytes()).items[0].item

    assert (paper.arxiv_id, paper.version) == ("1706.03762", 7)
    assert (paper.published, paper.updated) == (dt.date(2017, 6, 12), dt.date(2023, 8, 2))
    assert paper.authors[:2] == ["Ashish Vaswani", "Noam Shazeer"]
    assert paper.authors[-2:] == ["Lukasz Kaiser", "Illia Polosukhin"]
    assert len(paper.authors) == 8
    assert (paper.categories, paper.comments) == (["cs.CL", "cs.LG"], "15 pages, 5 figures")


def test_a_deleted_record_is_rejected_as_deleted_at_source() -> None:
    page = parse_oai((OAI / "get_record_deleted.xml").read_bytes(), start_no=7)

    assert len(page.items) == 1
    assert page.items[0].record_no == 7
    assert page.items[0].item == Rejected("deleted at source (2401.07311)")


def test_malformed_records_are_rejected_with_their_record_number() -> None:
    records = (
        arxiv_record("<id>2401.00001</id><title>Fine</title><created>2024-01-01</created>")
        + arxiv_record("<id>2401.00002</id><created>2024-01-01</created>")
        + arxiv_record("<id>not-an-id</id><title>Bad id</title>")
        + arxiv_record("<id>2401.00004</id><title>Bad date</title><created>January</created>")
        + '<record><header><identifier>oai:arXiv.org:2401.00005</identifier></header><metadata><oai_dc:dc xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/"/></metadata></record>'
    )
    items = parse_oai(oai_response(records)).items

    assert isinstance(items[0].item, PaperRecord)
    reasons = {i.record_no: i.item.reason for i in items[1:]}
    assert reasons[2] == "missing title"
    assert "not an arXiv paper id" in reasons[3]
    assert "malformed record" in reasons[4]
    assert "<dc> is not supported" in reasons[5]


def test_no_records_match_is_an_empty_list() -> None:
    page = parse_oai((OAI / "error_no_records_match.xml").read_bytes())
    assert (page.items, page.resumption_token) == ([], None)


@pytest.mark.parametrize(
    ("response", "code", "message"),
    [
        (
            (OAI / "error_bad_resumption_token.xml").read_bytes(),
            "badResumptionToken",
            "start the harvest again",
        ),
        (
            b'<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/"><error code="badArgument">'
            b"Illegal argument: fromm</error></OAI-PMH>",
            "badArgument",
            r"refused the request \(badArgument: Illegal argument: fromm\)",
        ),
    ],
    ids=["badResumptionToken", "badArgument"],
)
def test_oai_errors_are_clear_errors(response: bytes, code: str, message: str) -> None:
    with pytest.raises(OAIPMHError, match=message) as raised:
        parse_oai(response)
    assert raised.value.code == code


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"Retry later", "not well-formed XML"),
        ((OAI / "list_records_arxiv_page1.xml").read_bytes()[:2500], "not well-formed XML"),
        (b'<feed xmlns="http://www.w3.org/2005/Atom"/>', "not an OAI-PMH response"),
        (b'<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/"><Identify/></OAI-PMH>', "not a ListRecords"),
    ],
    ids=["text", "truncated", "atom", "identify"],
)
def test_a_response_that_is_not_a_record_list_is_a_clear_error(data: bytes, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        parse_oai(data)


# --- the harvester --------------------------------------------------------------------------------


def test_the_first_request_sends_prefix_from_until_and_set(clock: FakeClock) -> None:
    server = Recorder(recorded_oai)
    with harvester_for(server, clock, metadata_prefix="arXivRaw") as harvester:
        list(harvester.records())

    first = server.requests[0]
    assert str(first.url).startswith("https://oaipmh.arxiv.org/oai?")
    assert dict(first.url.params) == {
        "verb": "ListRecords",
        "metadataPrefix": "arXivRaw",
        "from": "2024-01-04",
        "until": "2024-01-19",
        "set": "cs",
    }
    assert first.headers["User-Agent"].startswith("paperfeed/")


def test_resumption_tokens_are_followed_until_the_token_is_empty(clock: FakeClock) -> None:
    server = Recorder(recorded_oai)
    with harvester_for(server, clock) as harvester:
        items = list(harvester.records())

    assert [i.record_no for i in items] == [1, 2, 3, 4]
    assert [getattr(i.item, "arxiv_id", None) for i in items[:3]] == [
        "2401.02385",
        "2401.02954",
        "2401.04088",
    ]
    assert items[3].item == Rejected("deleted at source (2401.07311)")
    assert len(server.requests) == 2
    assert dict(server.requests[1].url.params) == {"verb": "ListRecords", "resumptionToken": TOKEN}
    assert clock.sleeps == [3.0]


def test_a_harvest_without_matching_records_yields_nothing(clock: FakeClock) -> None:
    with harvester_for(
        Recorder(recorded_oai), clock, from_=dt.date(2024, 1, 20), until=dt.date(2024, 1, 21)
    ) as h:
        assert list(h.records()) == []


def test_an_expired_resumption_token_is_a_clear_error(clock: FakeClock) -> None:
    server = Recorder(then(xml("list_records_arxiv_page1.xml"), xml("error_bad_resumption_token.xml")))
    with (
        harvester_for(server, clock) as harvester,
        pytest.raises(OAIPMHError, match="start the harvest again"),
    ):
        list(harvester.records())


def test_503_with_retry_after_seconds_is_waited_out_then_the_harvest_continues(clock: FakeClock) -> None:
    server = Recorder(
        then(xml("list_records_arxiv_page1.xml"), httpx.Response(503, headers={"Retry-After": "20"}))
    )
    with harvester_for(server, clock) as harvester:
        items = list(harvester.records())

    assert len(items) == 4
    assert clock.sleeps == [3.0, 20.0]  # the pause between pages, then the wait asked for
    assert [r.url.params.get("resumptionToken") for r in server.requests] == [None, TOKEN, TOKEN]


def test_503_with_retry_after_as_an_http_date_is_waited_out(clock: FakeClock) -> None:
    busy = httpx.Response(
        503, headers={"Retry-After": "Mon, 22 Jan 2024 09:15:05 GMT", "Date": "Mon, 22 Jan 2024 09:14:05 GMT"}
    )
    with harvester_for(Recorder(then(busy)), clock) as harvester:
        assert len(list(harvester.records())) == 4
    assert clock.sleeps[0] == 60.0


def test_a_very_long_retry_after_is_capped(clock: FakeClock) -> None:
    busy = httpx.Response(503, headers={"Retry-After": "86400"})
    with harvester_for(Recorder(then(busy)), clock, max_wait=120) as harvester:
        list(harvester.records())
    assert clock.sleeps[0] == 120


def test_repeated_503_ends_in_source_unavailable_with_a_clear_message(clock: FakeClock) -> None:
    server = Recorder(lambda request: httpx.Response(503, headers={"Retry-After": "30"}))
    with harvester_for(server, clock, attempts=3) as harvester, pytest.raises(SourceUnavailable) as raised:
        list(harvester.records())

    assert str(raised.value).startswith(
        "arXiv's OAI-PMH service is unavailable: HTTP 503 Service Unavailable on each of 3 attempts; try again later"
    )
    assert len(server.requests) == 3
    assert clock.sleeps == [30.0, 30.0]


def test_other_http_errors_are_clear(clock: FakeClock) -> None:
    server = Recorder(lambda request: httpx.Response(404, text="<html><body>Not Found</body></html>"))
    with (
        harvester_for(server, clock) as harvester,
        pytest.raises(SourceUnavailable, match="answered HTTP 404"),
    ):
        list(harvester.records())
    assert len(server.requests) == 1


def test_a_server_repeating_a_resumption_token_does_not_loop_forever(clock: FakeClock) -> None:
    server = Recorder(lambda request: xml("list_records_arxiv_page1.xml"))
    with harvester_for(server, clock) as harvester, pytest.raises(SourceUnavailable, match="twice"):
        list(harvester.records())
    assert len(server.requests) == 2


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"metadata_prefix": "oai_dc"}, "unknown metadata prefix"),
        ({"from_": dt.date(2024, 2, 1), "until": dt.date(2024, 1, 1)}, "starts .* after it ends"),
        ({"set_": "cs&verb=Identify"}, "not an OAI-PMH set name"),
    ],
)
def test_invalid_harvest_options_are_refused_before_any_request(
    clock: FakeClock, options: dict, message: str
) -> None:
    server = Recorder(recorded_oai)
    with pytest.raises(InvalidInput, match=message):
        harvester_for(server, clock, **options)
    assert server.requests == []


# --- sources and importing ------------------------------------------------------------------------


def test_a_harvest_imports_through_the_core_and_again_changes_nothing(
    core: PaperFeed, clock: FakeClock
) -> None:
    with harvester_for(Recorder(recorded_oai), clock) as harvester:
        first = core.import_sources([OAIPMHHarvestSource(harvester)])
        second = core.import_sources([OAIPMHHarvestSource(harvester)])

    assert (first[0].fmt, first[0].added, first[0].rejected) == ("oai-pmh", 3, 1)
    assert first[0].rejections[0].record_no == 4
    assert first[0].rejections[0].reason == "deleted at source (2401.07311)"
    assert (second[0].added, second[0].updated, second[0].unchanged) == (0, 0, 3)
    assert core.paper("2401.02385").has_code


def test_harvest_fingerprint_is_that_of_server_prefix_set_and_dates(clock: FakeClock) -> None:
    def fingerprint(**options) -> str:
        with harvester_for(Recorder(recorded_oai), clock, **options) as harvester:
            return OAIPMHHarvestSource(harvester).fingerprint()

    base = fingerprint()
    assert fingerprint() == base
    assert fingerprint(set_="math") != base
    assert fingerprint(until=dt.date(2024, 1, 20)) != base
    assert fingerprint(metadata_prefix="arXivRaw") != base
    assert fingerprint(base_url="https://example.org/oai") != base


def test_a_truncated_page_stops_the_harvest_clearly_and_a_rerun_resumes(
    core: PaperFeed, clock: FakeClock
) -> None:
    def truncated_second_page(request: httpx.Request) -> httpx.Response:
        response = recorded_oai(request)
        return (
            httpx.Response(200, content=response.content[:900])
            if "resumptionToken" in request.url.params
            else response
        )

    with (
        harvester_for(Recorder(truncated_second_page), clock) as harvester,
        pytest.raises(SourceUnavailable) as raised,
    ):
        run_import(core.store, OAIPMHHarvestSource(harvester), batch_size=1)
    assert "not well-formed XML" in str(raised.value)
    # The first page was committed record by record; nothing of the broken page was written.
    assert core.store.papers.count() == 2
    assert core.store.papers.resolve("2401.04088") is None

    with harvester_for(Recorder(recorded_oai), clock) as harvester:
        report = run_import(core.store, OAIPMHHarvestSource(harvester), batch_size=1)
    assert (report.resumed_from, report.added, report.rejected) == (2, 3, 1)  # totals include the first run
    assert core.store.papers.count() == 3


def test_a_harvested_paper_merges_with_the_same_paper_from_daily_papers(demo_core: PaperFeed) -> None:
    before = demo_core.store.papers.count()
    report = demo_core.import_path(OAI / "list_records_arxiv_page1.xml")[0]

    assert (report.added, report.updated) == (1, 1)
    assert demo_core.store.papers.count() == before + 1
    deepseek = demo_core.paper("2401.02954")
    assert deepseek.title == "DeepSeek LLM: Scaling Open-Source Language Models with Longtermism"
    assert deepseek.sources == ["hf-daily", "oai-pmh"]
    assert deepseek.published == dt.date(2024, 1, 5)


def test_arxiv_raw_brings_a_newer_version_of_a_paper_from_the_arxiv_api(core: PaperFeed) -> None:
    core.import_path(ARXIV / "search_page1.xml")  # 1706.03762v5
    report = core.import_path(OAI / "list_records_arxivraw.xml")[0]

    assert (report.added, report.updated) == (0, 1)
    paper = core.paper("1706.03762")
    assert (paper.version, paper.updated) == (7, dt.date(2023, 8, 2))
    assert "BLEU score of 41.8" in paper.abstract
    assert paper.sources == ["arxiv-api", "oai-pmh"]


def test_saved_responses_import_idempotently_and_deleted_records_are_reported(core: PaperFeed) -> None:
    first = core.import_path(OAI / "list_records_arxiv_page2.xml")[0]
    second = core.import_path(OAI / "list_records_arxiv_page2.xml")[0]

    assert (first.fmt, first.added, first.rejected) == ("oai-pmh", 1, 1)
    assert (second.added, second.updated, second.unchanged, second.rejected) == (0, 0, 1, 1)


def test_a_saved_no_records_match_response_imports_nothing(core: PaperFeed) -> None:
    report = core.import_path(OAI / "error_no_records_match.xml")[0]
    assert report.processed == 0


def test_a_malformed_saved_response_is_a_clear_error_and_imports_nothing(
    core: PaperFeed, tmp_path: Path
) -> None:
    data = (OAI / "list_records_arxiv_page2.xml").read_bytes()
    broken = tmp_path / "broken.xml"
    broken.write_bytes(data.replace(b"</ListRecords>", b""))

    with pytest.raises(InvalidInput, match=r"broken\.xml is not well-formed XML"):
        core.import_path(broken)
    assert core.store.papers.count() == 0


def test_saved_responses_are_detected_as_oai_pmh() -> None:
    assert {detect_format(path) for path in OAI.glob("*.xml")} == {"oai-pmh"}


def test_the_import_command_detects_and_imports_a_saved_oai_response(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    result = CliRunner().invoke(
        app, ["import", str(OAI / "list_records_arxiv_page1.xml")], env={"PAPERFEED_DATA_DIR": str(data_dir)}
    )

    assert result.exit_code == 0, result.output
    assert "oai-pmh" in result.output
    feed = PaperFeed(Settings(data_dir=data_dir))
    try:
        assert feed.store.papers.count() == 2
    finally:
        feed.close()
