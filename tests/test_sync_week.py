"""A simulated week of `sync` against fake arXiv OAI-PMH and Hugging Face servers on loopback.

The week runs Thursday 6 to Wednesday 12 March 2025 and has every kind of trouble: a 503 storm
that the retries ride out, one that outlasts them, a malformed page, a weekend without papers,
and the syncing process killed with SIGKILL in the middle of a harvest. At the end every daily
page holds exactly what the fake servers announced for that day.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from fake_services import HOLD, MALFORMED, PASS, ArxivPaper, DailyPaper, FakeHF, FakeOAI, unavailable
from helpers import FakeClock
from paperfeed.config import Settings
from paperfeed.core import PaperFeed
from paperfeed.ingest.follow import Clients
from paperfeed.ingest.sync import CLAIM_HOLD, SyncReport

DAYS = [dt.date(2025, 3, 6) + dt.timedelta(days=n) for n in range(7)]  # Thu 6 .. Wed 12
OLD_SUBMISSION = dt.datetime(2025, 1, 20, 15, 0, tzinfo=dt.UTC)  # a Monday, long before the week
SRC = Path(__file__).resolve().parents[1] / "src"


def previous_weekday(day: dt.date) -> dt.date:
    day -= dt.timedelta(days=1)
    while day.weekday() >= 5:
        day -= dt.timedelta(days=1)
    return day


def at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=dt.UTC)


@dataclass
class Week:
    """What the fake servers hold, and what they announced each day."""

    records: list[ArxivPaper] = field(default_factory=list)
    hf_days: dict[dt.date, list[DailyPaper]] = field(default_factory=dict)
    listed: dict[dt.date, set[str]] = field(default_factory=dict)  # the daily page each day must show
    revised_titles: dict[str, str] = field(default_factory=dict)
    hf_also_on_arxiv: dict[str, DailyPaper] = field(default_factory=dict)
    old_replacement: str = "2501.09999"
    other_category: set[str] = field(default_factory=set)


def build_week() -> Week:
    week = Week()
    counter = 0

    def next_id() -> str:
        nonlocal counter
        counter += 1
        return f"2503.{counter:05d}"

    first_new_of: dict[dt.date, ArxivPaper] = {}
    for day in DAYS:
        week.listed[day] = set()
        if day.weekday() >= 5:  # arXiv announces nothing dated Saturday or Sunday
            week.hf_days[day] = []
            continue
        # Submitted before the 14:00 Eastern deadline of the weekday before: announced today.
        submitted = at(previous_weekday(day), 15)
        new = [
            ArxivPaper(next_id(), f"Retrieval Study {day.day} {n}", ["cs.CL"], [submitted], day)
            for n in (1, 2)
        ]
        cross = ArxivPaper(
            next_id(), f"Cross-listed Learning {day.day}", ["cs.LG", "cs.CL"], [submitted], day
        )
        elsewhere = ArxivPaper(next_id(), f"Only Vision {day.day}", ["cs.CV"], [submitted], day)
        week.records += [*new, cross, elsewhere]
        week.listed[day] |= {p.arxiv_id for p in (*new, cross)}
        week.other_category.add(elsewhere.arxiv_id)
        first_new_of[day] = new[0]

        earlier = first_new_of.get(previous_weekday(day))
        if earlier is not None:  # yesterday's first paper is replaced today: updated, not listed again
            revised = f"{earlier.title} Revised"
            week.records.append(
                ArxivPaper(
                    earlier.arxiv_id,
                    revised,
                    ["cs.CL"],
                    [*earlier.versions, at(previous_weekday(day), 16)],
                    day,
                )
            )
            week.revised_titles[earlier.arxiv_id] = revised
        if day == DAYS[0]:  # a replacement of a paper from before the week: on no page of this week
            week.records.append(
                ArxivPaper(
                    week.old_replacement, "An Old Paper Revised", ["cs.CL"], [OLD_SUBMISSION, submitted], day
                )
            )

        # Hugging Face lists a paper of its own, and yesterday's first arXiv paper a day late.
        hf_only = DailyPaper(
            next_id(), f"Diffusion Trick {day.day}", upvotes=20 + day.day, comments=3,
            published=submitted, github=f"https://github.com/lab/trick-{day.day}",
        )  # fmt: skip
        listings = [hf_only]
        week.listed[day].add(hf_only.arxiv_id)
        if earlier is not None:
            late = DailyPaper(
                earlier.arxiv_id, earlier.title, upvotes=7, comments=1, published=earlier.versions[0]
            )
            listings.append(late)
            week.hf_also_on_arxiv[earlier.arxiv_id] = late
        week.hf_days[day] = listings
    return week


@pytest.fixture
def week() -> Week:
    return build_week()


@pytest.fixture
def servers(week: Week) -> Iterator[tuple[FakeOAI, FakeHF]]:
    oai, hf = FakeOAI(week.records, page_size=3).start(), FakeHF(week.hf_days).start()
    yield oai, hf
    oai.stop()
    hf.stop()


@pytest.fixture
def feed(
    settings: Settings, servers: tuple[FakeOAI, FakeHF], monkeypatch: pytest.MonkeyPatch
) -> Iterator[PaperFeed]:
    oai, hf = servers
    overrides = {
        "oai_url": f"{oai.url}/oai",
        "hf_api_url": f"{hf.url}/api/daily_papers",
        "harvest_delay": 0.0,
        "sync_batch_size": 3,  # a page of the fake server: each page commits on its own
    }
    for name, value in overrides.items():  # for the process started below, too
        monkeypatch.setenv(f"PAPERFEED_{name.upper()}", str(value))
    core = PaperFeed(settings.model_copy(update=overrides))
    yield core
    core.close()


def by_label(reports: list[SyncReport], label: str) -> list[SyncReport]:
    return [r for r in reports if r.label == label]


ARXIV, HF = "arXiv cs.CL", "Hugging Face Daily Papers"


def test_a_week_of_syncing_fills_each_daily_page_with_exactly_what_was_announced(
    feed: PaperFeed, servers: tuple[FakeOAI, FakeHF], week: Week
) -> None:
    oai, _ = servers
    clock = FakeClock()
    clients = Clients(
        oai_url=feed.settings.oai_url, hf_url=feed.settings.hf_api_url, arxiv_url=feed.settings.arxiv_api_url,
        delay=0.0, sleep=clock.sleep, clock=clock,
    )  # fmt: skip
    feed.follow("arxiv", "cs.CL", since=DAYS[0])
    feed.follow("hf", since=DAYS[0])

    def sync(now: dt.datetime) -> list[SyncReport]:
        oai.today = now.date()
        return feed.sync_followed(now=now, clients=clients)

    # Thursday: the first sync.
    thursday = sync(at(DAYS[0], 6))
    assert [(r.label, r.status) for r in thursday] == [(ARXIV, "ok"), (HF, "ok")]
    assert by_label(thursday, ARXIV)[0].kinds == {"new": 2, "cross-list": 1, "replacement": 1}
    assert oai.requests[0]["set"] == "cs:cs:CL" and oai.requests[0]["metadataPrefix"] == "arXivRaw"

    # Friday: two 503s with Retry-After; the harvester waits as asked and goes on.
    oai.script = [unavailable(7), unavailable(7)]
    friday = sync(at(DAYS[1], 6))
    assert [r.status for r in friday] == ["ok", "ok"]
    assert clock.sleeps.count(7.0) == 2

    # Saturday: a storm longer than the retries. arXiv fails, is reported, and Hugging Face still syncs.
    oai.script = [unavailable(7)] * 5
    saturday = sync(at(DAYS[2], 6))
    failed = by_label(saturday, ARXIV)[0]
    assert failed.status == "failed" and "unavailable" in failed.error and "\n" not in failed.error
    assert failed.next_run_at == at(DAYS[2], 6, 15)  # backing off, 15 minutes first
    assert by_label(saturday, HF)[0].status == "ok"
    arxiv_source = feed.followed()[0]
    assert arxiv_source.watermark == DAYS[1] and arxiv_source.failures == 1  # it did not move
    assert arxiv_source.last_error == failed.error

    # Sunday: the first page comes, the second is malformed: what was committed stays, the
    # watermark does not move, and the retry an hour later resumes after the committed page.
    oai.script = [PASS, MALFORMED]
    sunday = sync(at(DAYS[3], 6))
    assert by_label(sunday, ARXIV)[0].status == "failed"
    assert "unusable response" in by_label(sunday, ARXIV)[0].error
    assert feed.followed()[0].watermark == DAYS[1]
    retry = sync(at(DAYS[3], 7))
    resumed, weekend = by_label(retry, ARXIV)
    assert resumed.status == "ok" and resumed.import_report.resumed_from == 3
    assert (resumed.first_day, resumed.last_day) == (DAYS[1], DAYS[2])
    # ... and goes on to today: a weekend, nothing announced.
    assert weekend.status == "ok" and (weekend.first_day, weekend.last_day) == (DAYS[2], DAYS[3])
    assert weekend.import_report.processed == 0
    assert feed.followed()[0].watermark == DAYS[3] and feed.followed()[0].failures == 0

    # Monday: an ordinary day.
    assert [r.status for r in sync(at(DAYS[4], 6))] == ["ok", "ok"]

    # Tuesday: the syncing process is killed with SIGKILL while the harvest waits for its second page.
    oai.script = [PASS, HOLD]
    oai.today = DAYS[5]
    killed_at = at(DAYS[5], 6)
    process = subprocess.Popen([sys.executable, "-c", SYNC_IN_A_PROCESS, killed_at.isoformat()], env=_env())
    try:
        assert oai.held.wait(120), "the sync never asked for its second page"
        process.send_signal(signal.SIGKILL)
        assert process.wait(30) == -signal.SIGKILL
    finally:
        oai.release()
        if process.poll() is None:
            process.kill()
    arxiv_source = feed.followed()[0]
    assert arxiv_source.watermark == DAYS[4]  # not moved past what was not imported
    assert (arxiv_source.window_from, arxiv_source.window_until) == (DAYS[4], DAYS[5])
    first_page = oai.visible(DAYS[4], DAYS[5], "cs:cs:CL")[:3]
    assert all(feed.store.papers.resolve(p.arxiv_id) for p in first_page)  # the committed page stays

    # Once the killed run's claim has lapsed, the next run resumes it without duplicates.
    after_crash = sync(killed_at + CLAIM_HOLD + dt.timedelta(minutes=1))
    resumed = by_label(after_crash, ARXIV)[0]
    assert resumed.status == "ok" and resumed.import_report.resumed_from == 3
    assert by_label(after_crash, HF)[0].status == "ok"

    # Wednesday: an ordinary day again.
    assert [r.status for r in sync(at(DAYS[6], 6))] == ["ok", "ok"]

    # Every daily page is exactly what the servers announced that day.
    for day in DAYS:
        page = feed.day(day, per_page=100)
        assert {p.arxiv_id for p in page.papers} == week.listed[day], day
    expected = set().union(*week.listed.values()) | {week.old_replacement}
    assert feed.store.papers.count() == len(expected)  # nothing twice, nothing from cs.CV alone
    # Replacements updated their papers in place.
    for arxiv_id, title in week.revised_titles.items():
        revised = feed.paper(arxiv_id)
        assert (revised.title, revised.version) == (title, 2)
    old = feed.paper(week.old_replacement)
    assert old.listed_on == dt.date(2025, 1, 21)  # announced the day after its Monday submission
    # Hugging Face's counts sit beside the paper, its day stays arXiv's.
    for arxiv_id, listing in week.hf_also_on_arxiv.items():
        paper = feed.paper(arxiv_id)
        assert (paper.hf_upvotes, paper.hf_comments) == (listing.upvotes, listing.comments)
        assert paper.hf_listed_on > paper.listed_on  # listed there a day after arXiv announced it
        assert feed.vote_states([paper.id], None)[paper.id].votes == 0  # never mixed into local votes
    hf_only = week.hf_days[DAYS[0]][0]
    paper = feed.paper(hf_only.arxiv_id)
    assert paper.listed_on == paper.hf_listed_on == DAYS[0]
    assert [link.url for link in paper.links_of("code")] == [hf_only.github]
    # Every source is caught up.
    assert {s.watermark for s in feed.followed()} == {DAYS[6]}
    assert all(s.last_success_at and s.failures == 0 for s in feed.followed())


SYNC_IN_A_PROCESS = textwrap.dedent(
    """
    import datetime as dt, sys
    from paperfeed.config import Settings
    from paperfeed.core import PaperFeed

    feed = PaperFeed(Settings.from_env())
    feed.sync_followed(now=dt.datetime.fromisoformat(sys.argv[1]))
    """
)


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(SRC), env.get("PYTHONPATH", "")) if p)
    return env
