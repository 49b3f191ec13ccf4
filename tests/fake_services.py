"""Fake arXiv OAI-PMH and Hugging Face Daily Papers servers on loopback, for sync tests.

They answer in the documented formats: OAI-PMH 2.0 ListRecords with arXivRaw metadata
(https://info.arxiv.org/help/oa/index.html), paged with resumption tokens, noRecordsMatch for
an empty list; and the JSON list of https://huggingface.co/api/daily_papers, paged with
`limit` and `p`. A script of upcoming answers injects trouble: 503 with Retry-After, a
malformed page, or a request held until the test lets it go.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from dataclasses import dataclass, field
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse
from xml.sax.saxutils import escape

OAI_NS = "http://www.openarchives.org/OAI/2.0/"
RAW_NS = "http://arxiv.org/OAI/arXivRaw/"


@dataclass(frozen=True)
class Answer:
    """A scripted answer: a status, headers and body; `hold` keeps the request waiting until released."""

    status: int = 200
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()
    hold: bool = False  # wait for `release()`, then answer normally


PASS = None  # in a script: answer this request normally


def unavailable(retry_after: int) -> Answer:
    return Answer(503, b"Service Unavailable", (("Retry-After", str(retry_after)),))


MALFORMED = Answer(
    200, b'<?xml version="1.0"?><OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/"><ListRec'
)
HOLD = Answer(hold=True)


class FakeService:
    """A threaded HTTP server on 127.0.0.1 that logs requests and follows its script first."""

    def __init__(self) -> None:
        self.script: list[Answer | None] = []
        self.requests: list[dict[str, str]] = []
        self.held = threading.Event()  # set when a request is being held
        self._release = threading.Event()
        self._lock = threading.Lock()
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                url = urlparse(self.path)
                params = {k: v[-1] for k, v in parse_qs(url.query).items()}
                with service._lock:
                    service.requests.append(params)
                    scripted = service.script.pop(0) if service.script else PASS
                if scripted is not None and scripted.hold:
                    service.held.set()
                    service._release.wait(60)
                    scripted = PASS
                if scripted is None:
                    status, headers, body = service.answer(url.path, params)
                else:
                    status, headers, body = scripted.status, dict(scripted.headers), scripted.body
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeService:
        self.thread.start()
        return self

    def stop(self) -> None:
        self._release.set()
        self.server.shutdown()
        self.server.server_close()

    def release(self) -> None:
        self._release.set()

    def answer(self, path: str, params: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        raise NotImplementedError


# --- arXiv OAI-PMH ---------------------------------------------------------------------------------


@dataclass
class ArxivPaper:
    arxiv_id: str
    title: str
    categories: list[str]  # primary first
    versions: list[dt.datetime]  # submission moment of v1, v2, ...
    datestamp: dt.date  # the day arXiv announced the record's latest change
    authors: str = "Ada Lovelace, Charles Babbage"
    abstract: str = ""

    @property
    def sets(self) -> list[str]:
        found = []
        for category in self.categories:
            archive, _, sub = category.partition(".")
            for spec in (archive, f"{archive}:{archive}:{sub}"):
                if spec not in found:
                    found.append(spec)
        return found

    def xml(self) -> str:
        versions = "".join(
            f'<version version="v{n}"><date>{format_datetime(moment, usegmt=True)}</date>'
            f"<size>100kb</size><source_type>D</source_type></version>"
            for n, moment in enumerate(self.versions, start=1)
        )
        specs = "".join(f"<setSpec>{s}</setSpec>" for s in self.sets)
        abstract = self.abstract or f"We study {self.title.lower()} and report what we found."
        return (
            f"<record><header><identifier>oai:arXiv.org:{self.arxiv_id}</identifier>"
            f"<datestamp>{self.datestamp.isoformat()}</datestamp>{specs}</header>"
            f'<metadata><arXivRaw xmlns="{RAW_NS}"><id>{self.arxiv_id}</id>'
            f"<submitter>Ada Lovelace</submitter>{versions}<title>{escape(self.title)}</title>"
            f"<authors>{escape(self.authors)}</authors><categories>{' '.join(self.categories)}</categories>"
            f"<license>http://arxiv.org/licenses/nonexclusive-distrib/1.0/</license>"
            f"<abstract>{escape(abstract)}</abstract></arXivRaw></metadata></record>"
        )


class FakeOAI(FakeService):
    """ListRecords over the papers it holds, `page_size` records a page."""

    def __init__(self, papers: list[ArxivPaper] | None = None, *, page_size: int = 3) -> None:
        super().__init__()
        self.papers: list[ArxivPaper] = papers or []
        self.page_size = page_size
        self.today = dt.date.max  # records announced later than this are not out yet
        self._tokens: dict[str, tuple[list[ArxivPaper], int, dict]] = {}

    def visible(self, since: dt.date, until: dt.date, wanted_set: str | None) -> list[ArxivPaper]:
        """The records a ListRecords from `since` to `until` lists today: each paper's latest
        state announced by `today`, in datestamp order."""
        latest: dict[str, ArxivPaper] = {}
        for paper in self.papers:
            if paper.datestamp <= self.today:
                known = latest.get(paper.arxiv_id)
                if known is None or paper.datestamp >= known.datestamp:
                    latest[paper.arxiv_id] = paper
        return [
            p
            for p in sorted(latest.values(), key=lambda p: (p.datestamp, p.arxiv_id))
            if since <= p.datestamp <= until
            and (wanted_set is None or any(s == wanted_set or s.startswith(wanted_set + ":") for s in p.sets))
        ]

    def _envelope(self, params: dict[str, str], inner: str) -> bytes:
        request = " ".join(f'{k}="{escape(v)}"' for k, v in params.items())
        return (
            f'<?xml version="1.0" encoding="UTF-8"?>\n<OAI-PMH xmlns="{OAI_NS}">'
            f"<responseDate>2026-01-01T00:00:00Z</responseDate>"
            f"<request {request}>http://fake/oai</request>{inner}</OAI-PMH>"
        ).encode()

    def answer(self, path: str, params: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        headers = {"Content-Type": "text/xml; charset=utf-8"}
        if "resumptionToken" in params:
            token = params["resumptionToken"]
            if token not in self._tokens:
                error = '<error code="badResumptionToken">unknown token</error>'
                return 200, headers, self._envelope(params, error)
            matching, offset, first = self._tokens[token]
        else:
            first = params
            since = dt.date.fromisoformat(params["from"]) if "from" in params else dt.date.min
            until = dt.date.fromisoformat(params["until"]) if "until" in params else dt.date.max
            matching = self.visible(since, until, params.get("set"))
            offset = 0
            if not matching:
                error = (
                    '<error code="noRecordsMatch">The combination of the values of the arguments '
                    "results in an empty list.</error>"
                )
                return 200, headers, self._envelope(params, error)
        page = matching[offset : offset + self.page_size]
        rest = offset + len(page)
        if rest < len(matching):
            token = f"{len(self._tokens) + 1}|{rest}"
            self._tokens[token] = (matching, rest, first)
            token_xml = f'<resumptionToken cursor="{offset}" completeListSize="{len(matching)}">{token}</resumptionToken>'
        else:
            token_xml = f'<resumptionToken cursor="{offset}" completeListSize="{len(matching)}"/>'
        body = "".join(p.xml() for p in page)
        return 200, headers, self._envelope(params, f"<ListRecords>{body}{token_xml}</ListRecords>")


# --- Hugging Face Daily Papers ----------------------------------------------------------------------


@dataclass
class DailyPaper:
    arxiv_id: str
    title: str
    upvotes: int
    comments: int
    published: dt.datetime  # when the paper was on arXiv
    github: str | None = None
    project: str | None = None
    extra: dict = field(default_factory=dict)

    def listing(self, day: dt.date) -> dict:
        paper = {
            "id": self.arxiv_id,
            "authors": [
                {"_id": "a1", "name": "Grace Hopper", "hidden": False},
                {"_id": "a2", "name": "Alan Turing", "hidden": False},
            ],
            "publishedAt": self.published.isoformat().replace("+00:00", "Z"),
            "title": self.title,
            "summary": f"We present {self.title.lower()}, with experiments.",
            "upvotes": self.upvotes,
            "discussionId": f"d-{self.arxiv_id}",
        }
        if self.github:
            paper["githubRepo"] = self.github
        if self.project:
            paper["projectPage"] = self.project
        return {
            "paper": paper,
            "publishedAt": f"{day.isoformat()}T09:12:00.000Z",
            "title": self.title,
            "thumbnail": f"https://cdn-thumbnails.huggingface.co/social-thumbnails/papers/{self.arxiv_id}.png",
            "numComments": self.comments,
            "submittedBy": {"_id": "u1", "fullname": "AK", "name": "akhaliq", "type": "user"},
            "isAuthorParticipating": False,
            **self.extra,
        }


class FakeHF(FakeService):
    """/api/daily_papers?date=YYYY-MM-DD, paged with limit and p."""

    def __init__(self, days: dict[dt.date, list[DailyPaper]] | None = None) -> None:
        super().__init__()
        self.days = days or {}

    def answer(self, path: str, params: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        headers = {"Content-Type": "application/json; charset=utf-8"}
        if path != "/api/daily_papers" or "date" not in params:
            return 400, headers, b'{"error": "expected ?date=YYYY-MM-DD"}'
        day = dt.date.fromisoformat(params["date"])
        limit, page = int(params.get("limit", 50)), int(params.get("p", 0))
        listings = [p.listing(day) for p in self.days.get(day, [])]
        return 200, headers, json.dumps(listings[page * limit : (page + 1) * limit]).encode()
