"""The arXiv API importer, run as real client code against recorded API responses."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from lxml import etree
from typer.testing import CliRunner

from helpers import FakeClock, Recorder
from paperfeed.cli import app
from paperfeed.config import Settings
from paperfeed.core import PaperFeed
from paperfeed.errors import InvalidInput, PaperfeedError, SourceUnavailable
from paperfeed.ingest import detect_format
from paperfeed.ingest.arxiv_api import (
    ArxivAPIError,
    ArxivAPISource,
    ArxivAtomFileSource,
    ArxivClient,
    fetch_paper,
    parse_atom,
    parse_atom_page,
)
from paperfeed.models import Link, PaperRecord, Rejected
from paperfeed.text import parse_arxiv_id

FIXTURES = Path(__file__).resolve().parent / "fixtures"
ARXIV = FIXTURES / "arxiv"
QUERY = "cat:cs.CL AND abs:transformer"
ATOM = {"atom": "http://www.w3.org/2005/Atom", "opensearch": "http://a9.com/-/spec/opensearch/1.1/"}


def atom(data: bytes, status: int = 200) -> httpx.Response:
    return httpx.Response(
        status, content=data, headers={"Content-Type": "application/atom+xml; charset=utf-8"}
    )


def entries_of_id_list(wanted: list[str]) -> bytes:
    """The recorded id_list response cut down to the requested ids, as arXiv would answer."""
    root = etree.fromstring((ARXIV / "id_list.xml").read_bytes())
    bases = {parse_arxiv_id(i)[0] for i in wanted}
    kept = 0
    for entry in root.findall("atom:entry", ATOM):
        if parse_arxiv_id(entry.findtext("atom:id", namespaces=ATOM))[0] in bases:
            kept += 1
        else:
            root.remove(entry)
    root.find("opensearch:totalResults", ATOM).text = str(kept)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def recorded_arxiv(request: httpx.Request) -> httpx.Response:
    """The arXiv API as recorded: two pages of QUERY, the papers of id_list.xml, and the
    error feed for a malformed id."""
    params = request.url.params
    if params.get("search_query") == QUERY:
        page = {"0": "search_page1.xml", "2": "search_page2.xml"}.get(params["start"])
        return atom((ARXIV / page).read_bytes()) if page else httpx.Response(400)
    if "id_list" in params:
        ids = params["id_list"].split(",")
        if "1234.12345" in ids:
            return atom((ARXIV / "error.xml").read_bytes(), status=400)
        return atom(entries_of_id_list(ids))
    return httpx.Response(400, text="unexpected request")


def then(*responses: httpx.Response | Exception) -> Callable[[httpx.Request], httpx.Response]:
    """A handler giving these responses (or raising these errors) in turn, then the recording."""
    queue = list(responses)

    def handler(request: httpx.Request) -> httpx.Response:
        if queue:
            step = queue.pop(0)
            if isinstance(step, Exception):
                raise step
            return step
        return recorded_arxiv(request)

    return handler


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def client_for(handler: Recorder, clock: FakeClock, **options) -> ArxivClient:
    options.setdefault("page_size", 2)
    transport = httpx.MockTransport(handler)
    return ArxivClient(httpx.Client(transport=transport), sleep=clock.sleep, clock=clock, **options)


def records(items) -> list[PaperRecord]:
    return [i.item for i in items if isinstance(i.item, PaperRecord)]


# --- parsing --------------------------------------------------------------------------------------


def test_atom_entry_fields_become_a_paper_record() -> None:
    items = parse_atom((ARXIV / "id_list.xml").read_bytes())

    assert [i.record_no for i in items] == [1, 2]
    maldacena = items[1].item
    assert maldacena == PaperRecord(
        title="The Large N Limit of Superconformal Field Theories and Supergravity",
        abstract=maldacena.abstract,
        authors=["Juan M. Maldacena"],
        categories=["hep-th"],
        arxiv_id="hep-th/9711200",
        version=3,
        doi="10.1023/a:1026654312961",
        published=dt.date(1997, 11, 27),
        updated=dt.date(1998, 1, 22),
        comments="20 pages, harvmac, v2: section on AdS_2 corrected, references added, "
        "v3: More references and a sign in eqns 2.8 and 2.9 corrected",
        journal_ref="Adv.Theor.Math.Phys.2:231-252,1998",
        links=[
            Link("abs", "https://arxiv.org/abs/hep-th/9711200"),
            Link("pdf", "https://arxiv.org/pdf/hep-th/9711200"),
            Link("doi", "https://doi.org/10.1023/a:1026654312961"),
        ],
        # submitted Thursday 16:10 Eastern, after the deadline: in Monday's listing
        listed_on=dt.date(1997, 12, 1),
        source="arxiv-api",
    )
    assert maldacena.abstract.startswith(
        "We show that the large N limit of certain conformal field theories in various"
    )


def test_titles_and_abstracts_lose_the_line_breaks_of_the_feed_and_code_links_are_found() -> None:
    bert, lora = (
        parse_atom((ARXIV / "search_page1.xml").read_bytes())[1].item,
        parse_atom((ARXIV / "search_page2.xml").read_bytes())[0].item,
    )
    assert bert.title == "BERT: Pre-training of Deep Bidirectional Transformers for Language Understanding"
    assert "\n" not in bert.abstract
    assert "  " not in bert.abstract
    assert lora.categories == ["cs.CL", "cs.AI", "cs.LG"]  # primary category first
    assert Link("code", "https://github.com/microsoft/LoRA") in lora.links


def test_records_are_numbered_from_the_given_start() -> None:
    items = parse_atom((ARXIV / "search_page2.xml").read_bytes(), start_no=3)
    assert [i.record_no for i in items] == [3]


def test_paging_figures_are_read_from_opensearch() -> None:
    page = parse_atom_page((ARXIV / "search_page2.xml").read_bytes())
    assert (page.total_results, page.start_index) == (3, 2)


FEED_WITH_BAD_ENTRIES = b"""<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <entry><id>http://arxiv.org/abs/2401.00001v1</id><title>A fine paper</title><summary>Fine.</summary></entry>
  <entry><id>http://arxiv.org/abs/2401.00002v1</id><summary>No title here.</summary></entry>
  <entry><id>http://example.org/not-arxiv</id><title>Not from arXiv</title></entry>
  <entry><id>http://arxiv.org/abs/2401.00004v1</id><title>Bad date</title><published>yesterday</published></entry>
</feed>"""


def test_malformed_entries_are_rejected_with_their_entry_number() -> None:
    items = parse_atom(FEED_WITH_BAD_ENTRIES)

    assert isinstance(items[0].item, PaperRecord)
    rejected = {i.record_no: i.item.reason for i in items if isinstance(i.item, Rejected)}
    assert set(rejected) == {2, 3, 4}
    assert rejected[2] == "missing title"
    assert "not an arXiv paper id" in rejected[3]
    assert "malformed record" in rejected[4]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"Rate exceeded.", "not well-formed XML"),
        (b"<html><body>Service unavailable</body></html>", "not an Atom feed"),
        ((ARXIV / "search_page1.xml").read_bytes()[:3000], "not well-formed XML"),
    ],
    ids=["empty", "text", "html", "truncated"],
)
def test_a_response_that_is_not_an_atom_feed_is_a_clear_error(data: bytes, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        parse_atom(data)


def test_xml_with_a_dtd_is_refused_so_entities_cannot_expand() -> None:
    laughs = b"""<?xml version="1.0"?>
<!DOCTYPE feed [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<feed xmlns="http://www.w3.org/2005/Atom"><entry><title>&lol2;</title></entry></feed>"""
    with pytest.raises(InvalidInput, match="DTD"):
        parse_atom(laughs)


def test_the_arxiv_error_feed_becomes_a_clear_error() -> None:
    with pytest.raises(
        ArxivAPIError, match=r"the arXiv API refused the request: incorrect id format for 1234\.12345"
    ):
        parse_atom((ARXIV / "error.xml").read_bytes())


# --- the client -----------------------------------------------------------------------------------


def test_search_pages_with_start_and_max_results_until_total_results(clock: FakeClock) -> None:
    server = Recorder(recorded_arxiv)
    with client_for(server, clock) as client:
        items = list(client.search(QUERY, max_results=50))

    assert [i.record_no for i in items] == [1, 2, 3]
    assert [r.arxiv_id for r in records(items)] == ["1706.03762", "1810.04805", "2106.09685"]
    assert server.params("start") == ["0", "2"]  # no third request: totalResults is 3
    assert server.params("max_results") == ["2", "2"]
    assert server.params("search_query") == [QUERY, QUERY]
    assert server.params("sortBy") == ["submittedDate", "submittedDate"]


def test_search_stops_at_max_results(clock: FakeClock) -> None:
    server = Recorder(recorded_arxiv)
    with client_for(server, clock) as client:
        items = list(client.search(QUERY, max_results=2, sort_by="relevance"))

    assert len(items) == 2
    assert server.params("start") == ["0"]
    assert server.params("sortBy") == ["relevance"]


def test_requests_are_three_seconds_apart_and_name_paperfeed(clock: FakeClock) -> None:
    server = Recorder(recorded_arxiv)
    with client_for(server, clock) as client:
        list(client.search(QUERY, max_results=50))

    assert clock.sleeps == [3.0]
    assert all(r.headers["User-Agent"].startswith("paperfeed/") for r in server.requests)
    assert all(str(r.url).startswith("https://export.arxiv.org/api/query?") for r in server.requests)


def test_a_pause_already_spent_elsewhere_is_not_slept_again(clock: FakeClock) -> None:
    server = Recorder(recorded_arxiv)
    with client_for(server, clock) as client:
        list(client.fetch_ids(["1706.03762"]))
        clock.now += 10  # the caller was busy for a while
        list(client.fetch_ids(["hep-th/9711200"]))

    assert clock.sleeps == []


def test_server_errors_and_timeouts_are_retried_with_growing_backoff(clock: FakeClock) -> None:
    server = Recorder(then(httpx.Response(502), httpx.ReadTimeout("read timed out")))
    with client_for(server, clock) as client:
        items = list(client.search(QUERY, max_results=2))

    assert len(items) == 2
    assert len(server.requests) == 3
    assert clock.sleeps == [5.0, 10.0]


def test_retry_after_on_503_is_honoured_then_the_request_succeeds(clock: FakeClock) -> None:
    server = Recorder(then(httpx.Response(503, headers={"Retry-After": "7"})))
    with client_for(server, clock) as client:
        items = list(client.search(QUERY, max_results=2))

    assert len(items) == 2
    assert clock.sleeps == [7.0]


def test_an_api_that_stays_unavailable_ends_in_source_unavailable(clock: FakeClock) -> None:
    server = Recorder(lambda request: httpx.Response(503, text="Service Unavailable"))
    with client_for(server, clock) as client, pytest.raises(SourceUnavailable) as raised:
        list(client.search(QUERY))

    assert len(server.requests) == 4
    assert "the arXiv API is unavailable: HTTP 503 Service Unavailable on each of 4 attempts" in str(
        raised.value
    )
    assert clock.sleeps == [5.0, 10.0, 20.0]


def test_a_page_that_is_not_xml_is_reported_as_an_unusable_response(clock: FakeClock) -> None:
    server = Recorder(lambda request: httpx.Response(200, text="<html><p>Maintenance</html>"))
    with client_for(server, clock) as client, pytest.raises(SourceUnavailable, match="unusable response"):
        list(client.search(QUERY))


def test_an_empty_page_inside_the_result_set_is_asked_again(clock: FakeClock) -> None:
    first = (ARXIV / "search_page1.xml").read_bytes()
    empty = first.split(b"<entry>")[0] + b"</feed>"
    server = Recorder(then(atom(empty)))
    with client_for(server, clock) as client:
        items = list(client.search(QUERY, max_results=50))

    assert [i.record_no for i in items] == [1, 2, 3]
    assert server.params("start") == ["0", "0", "2"]


def test_fetch_ids_sends_id_lists_in_chunks_and_numbers_across_them(clock: FakeClock) -> None:
    server = Recorder(recorded_arxiv)
    with client_for(server, clock, page_size=1) as client:
        items = list(client.fetch_ids(["https://arxiv.org/abs/1706.03762", "hep-th/9711200v3", "1706.03762"]))

    assert server.params("id_list") == ["1706.03762", "hep-th/9711200v3"]
    assert server.params("max_results") == ["1", "1"]
    assert [(i.record_no, i.item.arxiv_id) for i in items] == [(1, "1706.03762"), (2, "hep-th/9711200")]


def test_the_error_feed_of_a_refused_request_is_a_clear_error(clock: FakeClock) -> None:
    server = Recorder(recorded_arxiv)
    with client_for(server, clock) as client, pytest.raises(ArxivAPIError, match="incorrect id format"):
        list(client.fetch_ids(["1234.12345"]))
    assert len(server.requests) == 1  # a refusal is not retried


def test_fetch_paper_returns_the_paper_or_none_when_arxiv_does_not_know_it(clock: FakeClock) -> None:
    with client_for(Recorder(recorded_arxiv), clock) as client:
        paper = fetch_paper(client, "https://arxiv.org/abs/hep-th/9711200v3")
        unknown = fetch_paper(client, "2401.99999")
        with pytest.raises(InvalidInput, match="not an arXiv id"):
            fetch_paper(client, "https://example.org/paper")

    assert paper is not None
    assert (paper.arxiv_id, paper.version) == ("hep-th/9711200", 3)
    assert unknown is None


# --- sources and importing ------------------------------------------------------------------------


def test_api_source_needs_ids_or_a_query_but_not_both(clock: FakeClock) -> None:
    with client_for(Recorder(recorded_arxiv), clock) as client:
        with pytest.raises(InvalidInput, match="ids or a search query"):
            ArxivAPISource(client)
        with pytest.raises(InvalidInput, match="ids or a search query"):
            ArxivAPISource(client, ids=["1706.03762"], query=QUERY)
        with pytest.raises(InvalidInput, match="not an arXiv id"):
            ArxivAPISource(client, ids=["attention"])
        with pytest.raises(InvalidInput, match="max results"):
            ArxivAPISource(client, query=QUERY, max_results=0)


def test_api_source_fingerprint_is_that_of_its_request(clock: FakeClock) -> None:
    with client_for(Recorder(recorded_arxiv), clock) as client:
        search = ArxivAPISource(client, query=QUERY, max_results=50)
        same = ArxivAPISource(client, query=f"  {QUERY} ", max_results=50)
        fewer = ArxivAPISource(client, query=QUERY, max_results=10)
        by_ids = ArxivAPISource(client, ids=["1706.03762"])

    assert search.fingerprint() == same.fingerprint()
    assert len({search.fingerprint(), fewer.fingerprint(), by_ids.fingerprint()}) == 3


def test_a_search_imports_through_the_core_and_again_changes_nothing(
    core: PaperFeed, clock: FakeClock
) -> None:
    with client_for(Recorder(recorded_arxiv), clock) as client:
        first = core.import_sources([ArxivAPISource(client, query=QUERY, max_results=50)])
        second = core.import_sources([ArxivAPISource(client, query=QUERY, max_results=50)])

    assert (first[0].fmt, first[0].added, first[0].rejected) == ("arxiv-api", 3, 0)
    assert (second[0].added, second[0].updated, second[0].unchanged) == (0, 0, 3)
    assert core.store.papers.count() == 3
    assert core.paper("2106.09685").has_code


def test_saved_responses_import_idempotently(core: PaperFeed) -> None:
    first = core.import_path(ARXIV / "search_page1.xml")
    second = core.import_path(ARXIV / "search_page1.xml")

    assert (first[0].fmt, first[0].added) == ("arxiv-atom", 2)
    assert (second[0].added, second[0].updated, second[0].unchanged) == (0, 0, 2)


def test_a_newer_version_updates_the_paper_and_an_older_one_does_not_undo_it(core: PaperFeed) -> None:
    core.import_path(ARXIV / "search_page1.xml")  # 1706.03762v5
    newer = core.import_path(ARXIV / "id_list.xml")  # 1706.03762v7 and a new paper
    older_again = core.import_path(ARXIV / "search_page1.xml")

    assert (newer[0].added, newer[0].updated) == (1, 1)
    assert (older_again[0].updated, older_again[0].unchanged) == (0, 2)
    paper = core.paper("1706.03762")
    assert (paper.version, paper.updated, paper.published) == (7, dt.date(2023, 8, 2), dt.date(2017, 6, 12))
    assert "BLEU score of 41.8" in paper.abstract
    assert core.store.papers.count() == 3


def test_a_truncated_saved_response_is_a_clear_error_and_imports_nothing(
    core: PaperFeed, tmp_path: Path
) -> None:
    data = (ARXIV / "id_list.xml").read_bytes()
    truncated = tmp_path / "truncated.xml"
    truncated.write_bytes(data[: len(data) * 2 // 3])

    with pytest.raises(InvalidInput, match="not well-formed XML"):
        core.import_path(truncated)
    assert core.store.papers.count() == 0


def test_a_truncated_page_in_a_live_search_is_a_clear_error_and_imports_nothing(
    core: PaperFeed, clock: FakeClock
) -> None:
    def truncated_second_page(request: httpx.Request) -> httpx.Response:
        response = recorded_arxiv(request)
        return atom(response.content[:1500]) if request.url.params["start"] == "2" else response

    with (
        client_for(Recorder(truncated_second_page), clock) as client,
        pytest.raises(SourceUnavailable) as raised,
    ):
        core.import_sources([ArxivAPISource(client, query=QUERY, max_results=50)])
    assert "unusable response" in str(raised.value)
    assert core.store.papers.count() == 0


def test_an_error_feed_saved_to_a_file_is_a_clear_error(core: PaperFeed) -> None:
    with pytest.raises(PaperfeedError, match=r"incorrect id format for 1234\.12345"):
        core.import_path(ARXIV / "error.xml")


def test_saved_responses_are_detected_as_arxiv_atom() -> None:
    assert detect_format(ARXIV / "search_page1.xml") == "arxiv-atom"
    assert isinstance(ArxivAtomFileSource(ARXIV / "search_page1.xml").fingerprint(), str)


def test_the_import_command_detects_and_imports_a_saved_arxiv_response(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    result = CliRunner().invoke(
        app, ["import", str(ARXIV / "id_list.xml")], env={"PAPERFEED_DATA_DIR": str(data_dir)}
    )

    assert result.exit_code == 0, result.output
    assert "arxiv-atom" in result.output
    feed = PaperFeed(Settings(data_dir=data_dir))
    try:
        assert feed.paper("hep-th/9711200").journal_ref == "Adv.Theor.Math.Phys.2:231-252,1998"
        assert feed.store.papers.count() == 2
    finally:
        feed.close()


def test_the_harvest_command_rejects_ids_together_with_a_query_before_any_request(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        ["harvest", "arxiv", "--id", "1706.03762", "--query", QUERY],
        env={"PAPERFEED_DATA_DIR": str(tmp_path / "data")},
    )

    assert isinstance(result.exception, InvalidInput)
    assert not (tmp_path / "data").exists()
