"""The e-mail digest: what a mail holds and how it looks, scheduling by period and time zone,
and exactly one digest per subscription and period however the runner is run.

Mails go to a real SMTP server (aiosmtpd) on 127.0.0.1 and are parsed with the email package.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections import Counter
from collections.abc import Iterator
from zoneinfo import ZoneInfo

import numpy as np
import pytest
import sqlalchemy as sa

from helpers import MODEL, add_papers, axis, paper
from paperfeed.config import Settings
from paperfeed.core import PaperFeed
from paperfeed.digest import runner
from paperfeed.digest.mailer import Mailer
from paperfeed.digest.periods import due_period
from paperfeed.digest.runner import LEASE, run_due
from paperfeed.digest.scheduler import DigestScheduler
from paperfeed.library.recommend import Recommender, fit_linear_model
from paperfeed.models import SearchFilters
from paperfeed.store.schema import papers
from paperfeed.store.subscriptions import SavedSearch, Subscription, SubscriptionSpec
from smtp_sink import Mailbox, free_port, mail_settings

# Runs act as if it were noon today: the papers below are dated relative to today.
TODAY = dt.datetime.now(dt.UTC).date()
NOW = dt.datetime.combine(TODAY, dt.time(12), tzinfo=dt.UTC)
LONG_AGO = NOW - dt.timedelta(days=30)


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    box = Mailbox().start()
    yield box
    box.stop()


@pytest.fixture
def settings(settings: Settings, mailbox: Mailbox) -> Settings:
    return mail_settings(settings, mailbox.port)


@pytest.fixture
def papers_core(core: PaperFeed) -> PaperFeed:
    """Recent papers about diffusion and about language models."""
    yesterday = TODAY - dt.timedelta(days=1)
    add_papers(
        core,
        paper(
            "Diffusion Models for Protein Design",
            published=yesterday,
            arxiv_id="2611.00001",
            categories=["q-bio.BM"],
        ),
        paper("Faster Diffusion Sampling", published=yesterday, arxiv_id="2611.00002", categories=["cs.CV"]),
        paper(
            "Small Language Models Can Reason",
            published=yesterday,
            arxiv_id="2611.00003",
            categories=["cs.CL"],
        ),
        paper("Diffusion in Porous Media", published=TODAY - dt.timedelta(days=400), arxiv_id="2410.00004"),
    )
    return core


def subscribe(
    core: PaperFeed,
    email: str,
    *,
    confirmed_at: dt.datetime = LONG_AGO,
    user_id: int | None = None,
    **choices,
) -> Subscription:
    choices.setdefault("hour", 0)
    choices.setdefault("include_trending", False)
    # Keyword searches: their matches are exactly the papers with the words (the semantic and
    # hybrid modes always bring the nearest papers).
    choices.setdefault("saved_searches", [SavedSearch("diffusion", "keyword")])
    return core.store.subscriptions.create(
        SubscriptionSpec(email=email, **choices), user_id=user_id, confirmed_at=confirmed_at
    )


def ledger_statuses(core: PaperFeed, subscription: Subscription) -> list[tuple[str, str]]:
    return [
        (e.period_key, e.status) for e in core.store.subscriptions.ledger(subscription_id=subscription.id)
    ]


# --- what a digest mail is -----------------------------------------------------------------------


def test_digest_is_multipart_text_and_html_with_one_click_unsubscribe_headers(
    papers_core: PaperFeed, mailbox: Mailbox
) -> None:
    subscribe(papers_core, "ada@example.org")

    report = run_due(papers_core, NOW)

    assert report.sent == 1
    [mail] = mailbox.digests_to("ada@example.org")
    assert mail.get_content_type() == "multipart/alternative"
    assert [part.get_content_type() for part in mail.iter_parts()] == ["text/plain", "text/html"]
    text = mail.get_body(("plain",)).get_content()
    html = mail.get_body(("html",)).get_content()
    for body in (text, html):
        assert "Diffusion Models for Protein Design" in body
        assert "Faster Diffusion Sampling" in body
        assert "Porous Media" not in body  # a year old: not new
        assert "Language Models" not in body  # does not match the saved search
    assert "https://papers.example.org/papers/2611.00001" in text
    assert 'href="https://papers.example.org/papers/2611.00001"' in html
    assert mail["List-Unsubscribe"].startswith("<https://papers.example.org/api/unsubscribe?token=")
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert mail["Message-ID"].endswith("@papers.example.org>")
    assert mail["Subject"].startswith("paperfeed daily digest")
    assert "https://papers.example.org/unsubscribe?token=" in text


def test_html_digest_escapes_paper_text(core: PaperFeed, mailbox: Mailbox) -> None:
    add_papers(core, paper("Diffusion when a < b & c > d", published=TODAY, arxiv_id="2611.00009"))
    subscribe(core, "eve@example.org")

    run_due(core, NOW)

    mail = mailbox.digests_to("eve@example.org")[0]
    assert "Diffusion when a &lt; b &amp; c &gt; d" in mail.get_body(("html",)).get_content()
    assert "Diffusion when a < b & c > d" in mail.get_body(("plain",)).get_content()


def test_a_digest_with_nothing_new_is_not_mailed_but_recorded(
    papers_core: PaperFeed, mailbox: Mailbox
) -> None:
    sub = subscribe(papers_core, "quiet@example.org", saved_searches=[SavedSearch("topology", "keyword")])

    report = run_due(papers_core, NOW)

    assert (report.sent, report.empty) == (0, 1)
    assert mailbox.messages == []
    assert ledger_statuses(papers_core, sub) == [(TODAY.isoformat(), "empty")]


def test_saved_searches_keep_their_filters_and_each_gets_a_section(
    papers_core: PaperFeed, mailbox: Mailbox
) -> None:
    subscribe(
        papers_core,
        "filters@example.org",
        saved_searches=[
            SavedSearch("diffusion", "keyword", filters=SearchFilters(category="cs.CV")),
            SavedSearch('"language models"', "keyword"),
        ],
    )

    run_due(papers_core, NOW)

    text = mailbox.digests_to("filters@example.org")[0].get_body(("plain",)).get_content()
    assert "Faster Diffusion Sampling" in text
    assert "Protein Design" not in text  # not in cs.CV
    assert "Small Language Models Can Reason" in text
    assert "New for “diffusion” (keyword) in cs.CV" in text
    assert 'New for “"language models"” (keyword)' in text


def test_a_named_saved_search_titles_its_section_and_links_to_the_search_with_its_mode(
    papers_core: PaperFeed, mailbox: Mailbox
) -> None:
    named = SavedSearch("diffusion", "keyword", filters=SearchFilters(category="cs.CV"), name="Fast samplers")
    subscribe(papers_core, "named@example.org", saved_searches=[named])

    run_due(papers_core, NOW)

    text = mailbox.digests_to("named@example.org")[0].get_body(("plain",)).get_content()
    assert "New for Fast samplers" in text
    assert "/search?q=diffusion&mode=keyword&category=cs.CV&sort=newest" in text


def test_the_next_digest_holds_only_papers_first_seen_since_the_previous_one(
    papers_core: PaperFeed, mailbox: Mailbox
) -> None:
    subscribe(papers_core, "daily@example.org")
    run_due(papers_core, NOW)
    add_papers(papers_core, paper("Diffusion Transformers at Scale", published=TODAY, arxiv_id="2611.00005"))

    run_due(papers_core, NOW + dt.timedelta(days=1))

    first, second = mailbox.digests_to("daily@example.org")
    second_text = second.get_body(("plain",)).get_content()
    assert "Diffusion Transformers at Scale" in second_text
    assert "Faster Diffusion Sampling" not in second_text  # already in the first digest
    assert first["Message-ID"] != second["Message-ID"]


def test_subscriptions_sharing_a_saved_search_get_the_same_section_with_only_what_is_new_to_each(
    papers_core: PaperFeed, mailbox: Mailbox
) -> None:
    earlier = subscribe(papers_core, "earlier@example.org")
    run_due(papers_core, NOW - dt.timedelta(days=1))  # its digest of yesterday had the two papers
    add_papers(papers_core, paper("Diffusion Transformers at Scale", published=TODAY, arxiv_id="2611.00005"))
    subscribe(papers_core, "first@example.org")
    subscribe(papers_core, "twin@example.org")

    run_due(papers_core, NOW)

    def section(email: str) -> str:
        text = mailbox.digests_to(email)[-1].get_body(("plain",)).get_content().replace("\r\n", "\n")
        return text.split("New for “diffusion” (keyword)")[1].split("\n--\n")[0]

    assert section("first@example.org") == section("twin@example.org")
    for title in ("Diffusion Transformers at Scale", "Diffusion Models for Protein Design", "Faster Diffusion Sampling"):
        assert title in section("first@example.org")
    assert "Diffusion Transformers at Scale" in section("earlier@example.org")
    assert "Faster Diffusion Sampling" not in section("earlier@example.org")  # mailed yesterday
    assert [status for _, status in ledger_statuses(papers_core, earlier)] == ["sent", "sent"]


def test_a_run_embeds_the_queries_of_all_its_searches_by_meaning_in_one_call(
    papers_core: PaperFeed, mailbox: Mailbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    embedder = papers_core.embedder
    calls: list[list[str]] = []
    embed = embedder.embed
    monkeypatch.setattr(embedder, "embed", lambda texts: calls.append(list(texts)) or embed(texts))
    subscribe(papers_core, "a@example.org",
              saved_searches=[SavedSearch("diffusion models", "hybrid"), SavedSearch("language models", "semantic")])
    subscribe(papers_core, "b@example.org",
              saved_searches=[SavedSearch("diffusion models", "hybrid"), SavedSearch("diffusion", "keyword")])

    assert run_due(papers_core, NOW).sent == 2

    assert calls == [["diffusion models", "language models"]]
    for email in ("a@example.org", "b@example.org"):
        text = mailbox.digests_to(email)[0].get_body(("plain",)).get_content()
        hybrid = text.split("New for “diffusion models”")[1].split("More:")[0]  # hybrid: the default mode
        assert "Diffusion Models for Protein Design" in hybrid and "Faster Diffusion Sampling" in hybrid
    text = mailbox.digests_to("a@example.org")[0].get_body(("plain",)).get_content()
    assert "Small Language Models Can Reason" in text.split("New for “language models” (semantic)")[1]


def test_readers_of_one_run_each_get_the_new_papers_of_the_authors_they_follow(
    core: PaperFeed, mailbox: Mailbox
) -> None:
    add_papers(
        core,
        paper("Ada a year ago", published=TODAY - dt.timedelta(days=365), arxiv_id="2511.00021",
              authors=["Ada Lovelace"]),
        paper("Kurt a year ago", published=TODAY - dt.timedelta(days=365), arxiv_id="2511.00022",
              authors=["Kurt Gödel"]),
    )  # fmt: skip
    ada_reader = core.create_user("ada-reader", "correct horse battery")
    kurt_reader = core.create_user("kurt-reader", "correct horse battery")
    core.follow_author(ada_reader, "Ada Lovelace")
    core.follow_author(kurt_reader, "Kurt Gödel")
    for user in (ada_reader, kurt_reader):
        subscribe(core, f"{user.name}@example.org", user_id=user.id, saved_searches=[])
    add_papers(
        core,
        paper("Ada alone", published=TODAY, arxiv_id="2611.00021", authors=["Ada Lovelace"]),
        paper("Kurt alone", published=TODAY, arxiv_id="2611.00022", authors=["Kurt Gödel"]),
    )

    run_due(core, NOW)

    ada_text = mailbox.digests_to("ada-reader@example.org")[0].get_body(("plain",)).get_content()
    kurt_text = mailbox.digests_to("kurt-reader@example.org")[0].get_body(("plain",)).get_content()
    assert "Ada alone" in ada_text and "Kurt alone" not in ada_text
    assert "Kurt alone" in kurt_text and "Ada alone" not in kurt_text


def test_new_papers_by_followed_authors_have_their_own_section(core: PaperFeed, mailbox: Mailbox) -> None:
    add_papers(
        core,
        paper("An old paper by Ada", published=TODAY - dt.timedelta(days=90), arxiv_id="2608.00001",
              authors=["Ada Lovelace", "Charles Babbage"]),
        paper("An old paper by Kurt", published=TODAY - dt.timedelta(days=90), arxiv_id="2608.00002",
              authors=["Kurt G\\\"odel"]),
    )  # fmt: skip
    reader = core.create_user("reader", "correct horse battery")
    core.follow_author(reader, "Ada Lovelace")
    core.follow_author(reader, "Kurt Gödel")
    subscribe(
        core,
        "reader@example.org",
        user_id=reader.id,
        saved_searches=[],
        confirmed_at=NOW - dt.timedelta(days=2),
    )
    add_papers(
        core,
        paper("Ada and Kurt together", published=TODAY, arxiv_id="2611.00011", authors=["Lovelace, A.", "Kurt Godel"]),
        paper("Ada with Charles", published=TODAY - dt.timedelta(days=1), arxiv_id="2611.00012",
              authors=["A. Lovelace", "Charles Babbage"]),  # a variant, joined: the same co-author
        paper("Someone else entirely", published=TODAY, arxiv_id="2611.00013", authors=["Alan Turing"]),
    )  # fmt: skip

    run_due(core, NOW)

    text = mailbox.digests_to("reader@example.org")[0].get_body(("plain",)).get_content()
    section = text.split("New from authors you follow")[1]
    assert section.index("Ada with Charles") > section.index("Ada and Kurt together")  # newest first
    assert "Ada and Kurt together\r\n   Lovelace, A., Kurt Godel\r\n   By Ada Lovelace, Kurt Gödel" in section
    assert "Ada with Charles\r\n   A. Lovelace, Charles Babbage\r\n   By Ada Lovelace" in section
    assert "An old paper" not in text and "Someone else entirely" not in text


def test_trending_section_lists_the_most_upvoted_papers_with_their_upvotes(
    papers_core: PaperFeed, mailbox: Mailbox
) -> None:
    store = papers_core.store
    voters = [store.users.create(f"voter{i}", "x", is_admin=False, now=LONG_AGO) for i in range(3)]
    protein = store.papers.resolve("2611.00001")
    reasoning = store.papers.resolve("2611.00003")
    for voter in voters:
        store.community.toggle_vote(voter.id, reasoning.id, NOW - dt.timedelta(hours=2))
    store.community.toggle_vote(voters[0].id, protein.id, NOW - dt.timedelta(hours=2))
    subscribe(papers_core, "trends@example.org", include_trending=True, top_n=5, saved_searches=[])

    run_due(papers_core, NOW)

    text = mailbox.digests_to("trends@example.org")[0].get_body(("plain",)).get_content()
    assert "Trending today" in text
    assert text.index("Small Language Models Can Reason") < text.index("Diffusion Models for Protein Design")
    assert "3 upvotes today" in text


# --- who gets a digest, and when ------------------------------------------------------------------


def test_unconfirmed_and_unsubscribed_subscriptions_get_nothing(
    papers_core: PaperFeed, mailbox: Mailbox
) -> None:
    papers_core.store.subscriptions.create(SubscriptionSpec(email="pending@example.org", hour=0))
    gone = subscribe(papers_core, "gone@example.org")
    papers_core.store.subscriptions.unsubscribe(gone.id)

    report = run_due(papers_core, NOW)

    assert report.due == 0
    assert mailbox.messages == []


def test_a_subscriber_in_tokyo_gets_the_digest_when_it_is_eight_there(core: PaperFeed) -> None:
    sub = subscribe(core, "tokyo@example.org", hour=8, timezone="Asia/Tokyo")
    # 08:00 in Tokyo (UTC+9) is 23:00 UTC the day before.
    just_before = dt.datetime(2026, 11, 22, 22, 59, tzinfo=dt.UTC)
    at_eight = dt.datetime(2026, 11, 22, 23, 0, tzinfo=dt.UTC)

    assert due_period(sub, at_eight).key == "2026-11-23"
    assert due_period(sub, just_before).key == "2026-11-22"  # yesterday's, if it was never sent
    assert due_period(sub, at_eight).send_at == at_eight


def test_daily_digest_goes_out_once_the_local_hour_has_passed(
    papers_core: PaperFeed, mailbox: Mailbox
) -> None:
    berlin = ZoneInfo("Europe/Berlin")

    def berlin_time(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
        return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=berlin).astimezone(dt.UTC)

    yesterday = TODAY - dt.timedelta(days=1)
    sub = subscribe(
        papers_core,
        "berlin@example.org",
        hour=9,
        timezone="Europe/Berlin",
        confirmed_at=berlin_time(yesterday, 10),
    )

    run_due(papers_core, berlin_time(yesterday, 12))  # confirmed after yesterday's nine o'clock
    run_due(papers_core, berlin_time(TODAY, 8, 59))
    assert ledger_statuses(papers_core, sub) == []
    run_due(papers_core, berlin_time(TODAY, 9))
    run_due(papers_core, berlin_time(TODAY, 12))

    assert ledger_statuses(papers_core, sub) == [(TODAY.isoformat(), "sent")]
    assert len(mailbox.digests_to("berlin@example.org")) == 1


def test_weekly_digest_goes_out_once_per_iso_week_on_the_chosen_day(core: PaperFeed) -> None:
    confirmed = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    sub = subscribe(core, "weekly@example.org", frequency="weekly", weekday=2, hour=7, confirmed_at=confirmed)
    wednesday_7 = dt.datetime(2026, 11, 25, 7, 0, tzinfo=dt.UTC)  # ISO week 48

    assert due_period(sub, wednesday_7).key == "2026-W48"
    assert due_period(sub, wednesday_7 - dt.timedelta(minutes=1)).key == "2026-W47"
    assert due_period(sub, wednesday_7 + dt.timedelta(days=6, hours=16)).key == "2026-W48"
    assert due_period(sub, wednesday_7 + dt.timedelta(days=7)).key == "2026-W49"


def test_periods_before_the_subscription_was_confirmed_are_not_owed(core: PaperFeed) -> None:
    sub = subscribe(
        core, "new@example.org", hour=8, confirmed_at=dt.datetime(2026, 11, 23, 9, 30, tzinfo=dt.UTC)
    )

    assert due_period(sub, dt.datetime(2026, 11, 23, 10, 0, tzinfo=dt.UTC)) is None
    assert due_period(sub, dt.datetime(2026, 11, 24, 8, 0, tzinfo=dt.UTC)).key == "2026-11-24"


# --- exactly once ---------------------------------------------------------------------------------------


def test_running_again_in_the_same_period_sends_nothing_more(
    papers_core: PaperFeed, mailbox: Mailbox
) -> None:
    for name in ("a", "b", "c"):
        subscribe(papers_core, f"{name}@example.org")

    first = run_due(papers_core, NOW)
    second = run_due(papers_core, NOW + dt.timedelta(minutes=5))
    third = run_due(papers_core, NOW + dt.timedelta(hours=20))

    assert first.sent == 3
    assert (second.due, second.sent, third.sent) == (0, 0, 0)
    assert sorted(m["To"].addresses[0].addr_spec for m in mailbox.messages) == [
        "a@example.org",
        "b@example.org",
        "c@example.org",
    ]


def test_concurrent_runs_send_each_digest_once(
    papers_core: PaperFeed, mailbox: Mailbox, settings: Settings
) -> None:
    emails = [f"reader{i}@example.org" for i in range(8)]
    for email in emails:
        subscribe(papers_core, email)
    cores = [PaperFeed(settings) for _ in range(2)]
    barrier = threading.Barrier(len(cores))
    reports = []

    def run(core: PaperFeed) -> None:
        barrier.wait()
        reports.append(run_due(core, NOW))

    threads = [threading.Thread(target=run, args=(c,)) for c in cores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    for c in cores:
        c.close()

    assert sorted(m["To"].addresses[0].addr_spec for m in mailbox.messages) == sorted(emails)
    assert sum(r.sent for r in reports) == len(emails)


class Crash(BaseException):
    """Stands for the process dying: nothing after it runs, no handler catches it."""


def test_a_run_that_dies_after_claiming_is_finished_by_a_later_run_once(
    papers_core: PaperFeed, mailbox: Mailbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    sub = subscribe(papers_core, "crash@example.org")
    real_send = Mailer.send

    def die(self: Mailer, message) -> None:
        raise Crash

    monkeypatch.setattr(Mailer, "send", die)
    with pytest.raises(Crash):
        run_due(papers_core, NOW)
    monkeypatch.setattr(Mailer, "send", real_send)
    assert ledger_statuses(papers_core, sub) == [(TODAY.isoformat(), "pending")]

    # While the dead run's claim lasts nobody sends; afterwards exactly one run does.
    assert run_due(papers_core, NOW + LEASE - dt.timedelta(minutes=1)).sent == 0
    assert run_due(papers_core, NOW + LEASE).sent == 1
    assert run_due(papers_core, NOW + LEASE + dt.timedelta(minutes=1)).sent == 0
    assert len(mailbox.digests_to("crash@example.org")) == 1
    assert ledger_statuses(papers_core, sub) == [(TODAY.isoformat(), "sent")]


def test_a_resent_digest_keeps_the_message_id_of_the_first_attempt(
    papers_core: PaperFeed, mailbox: Mailbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The unavoidable window: the server took the mail, then the sender died before recording it."""
    subscribe(papers_core, "window@example.org")
    real_send = Mailer.send

    def send_then_die(self: Mailer, message) -> None:
        real_send(self, message)
        raise Crash

    monkeypatch.setattr(Mailer, "send", send_then_die)
    with pytest.raises(Crash):
        run_due(papers_core, NOW)
    monkeypatch.setattr(Mailer, "send", real_send)
    run_due(papers_core, NOW + LEASE)

    first, again = mailbox.digests_to("window@example.org")
    assert first["Message-ID"] == again["Message-ID"]


def test_a_temporary_smtp_failure_is_retried_later_with_backoff(
    papers_core: PaperFeed, mailbox: Mailbox
) -> None:
    sub = subscribe(papers_core, "busy@example.org")
    mailbox.defer_once["busy@example.org"] = "451 4.3.0 Mailbox busy, try again later"

    first = run_due(papers_core, NOW)
    [entry] = papers_core.store.subscriptions.ledger(subscription_id=sub.id)
    assert first.retrying == 1
    assert (entry.status, entry.attempts) == ("pending", 1)
    assert "451" in entry.last_error
    assert entry.next_attempt_at == NOW + runner.retry_delay(1)

    assert run_due(papers_core, NOW + runner.retry_delay(1) - dt.timedelta(seconds=1)).sent == 0
    assert run_due(papers_core, NOW + runner.retry_delay(1)).sent == 1
    assert len(mailbox.digests_to("busy@example.org")) == 1
    [entry] = papers_core.store.subscriptions.ledger(subscription_id=sub.id)
    assert (entry.status, entry.attempts) == ("sent", 2)


def test_backoff_doubles_up_to_a_ceiling() -> None:
    delays = [runner.retry_delay(n) for n in range(1, 9)]
    assert delays[:3] == [dt.timedelta(minutes=5), dt.timedelta(minutes=10), dt.timedelta(minutes=20)]
    assert delays[-1] == runner.RETRY_MAX
    assert delays == sorted(delays)


def test_a_permanent_refusal_fails_the_digest_for_good_and_is_listed_for_the_admin(
    papers_core: PaperFeed, mailbox: Mailbox
) -> None:
    sub = subscribe(papers_core, "nobody@example.org")
    subscribe(papers_core, "somebody@example.org")
    mailbox.refuse["nobody@example.org"] = "550 5.1.1 No such user here"

    report = run_due(papers_core, NOW)
    later = run_due(papers_core, NOW + dt.timedelta(hours=6))

    assert (report.sent, report.failed, later.sent) == (1, 1, 0)
    [failed] = papers_core.store.subscriptions.ledger(statuses=["failed"])
    assert (failed.subscription_id, failed.email) == (sub.id, "nobody@example.org")
    assert "550" in failed.last_error


def test_an_unreachable_mail_server_is_a_temporary_failure(
    papers_core: PaperFeed, mailbox: Mailbox, settings: Settings
) -> None:
    sub = subscribe(papers_core, "offline@example.org")
    nobody_listening = PaperFeed(settings.model_copy(update={"smtp_port": free_port()}))
    try:
        report = run_due(nobody_listening, NOW)
    finally:
        nobody_listening.close()

    assert report.retrying == 1
    [entry] = papers_core.store.subscriptions.ledger(subscription_id=sub.id)
    assert entry.status == "pending"
    assert "cannot reach the mail server" in entry.last_error
    assert run_due(papers_core, NOW + runner.retry_delay(1)).sent == 1


# --- recommendations ------------------------------------------------------------------------------------

@pytest.fixture
def reader(core: PaperFeed) -> tuple[PaperFeed, int]:
    """A user who upvoted and saved papers about proteins; recent papers on three topics, with
    embeddings where axis 0 is proteins, 1 language, 2 vision."""
    old = TODAY - dt.timedelta(days=200)
    recent = TODAY - dt.timedelta(days=1)
    liked = {
        "2501.00001": ("Protein Folding with Attention", axis((0, 1.0), (3, 0.5))),
        "2501.00002": ("Enzyme Design by Diffusion", axis((0, 1.0), (4, 0.5))),
    }
    new = {
        "2611.00101": ("Attention for Protein Structure", axis((0, 1.0), (3, 0.45), (5, 0.1))),
        "2611.00102": ("Diffusion Designs New Enzymes", axis((0, 1.0), (4, 0.45), (6, 0.1))),
        "2611.00103": ("Chatbots That Reason", axis((1, 1.0), (7, 0.2))),
        "2611.00104": ("Tokenizers Revisited", axis((1, 1.0), (8, 0.2))),
        "2611.00105": ("Segment Everything Faster", axis((2, 1.0), (9, 0.2))),
    }
    filler = {
        f"2606.{i:05d}": (f"Unrelated Study {i}", axis((1 + i % 2, 1.0), (10 + i % 6, 0.3)))
        for i in range(30)
    }
    add_papers(
        core,
        *(paper(title, arxiv_id=ref, published=old) for ref, (title, _) in liked.items()),
        *(paper(title, arxiv_id=ref, published=recent) for ref, (title, _) in new.items()),
        *(paper(title, arxiv_id=ref, published=old) for ref, (title, _) in filler.items()),
    )
    vectors = {**liked, **new, **filler}
    ids = core.store.papers.ids_with_keys(vectors)
    core.store.embeddings.put_many(
        MODEL, [(ids[ref], "hash", vector) for ref, (_, vector) in vectors.items()]
    )
    user = core.store.users.create("reader", "x", is_admin=False, now=LONG_AGO)
    core.store.community.toggle_vote(user.id, ids["2501.00001"], NOW - dt.timedelta(days=3))
    core.store.collections.add(core.store.collections.default_for(user.id), [ids["2501.00002"]])
    return core, user.id


def test_recommendations_rank_papers_like_the_liked_ones_and_say_why(reader: tuple[PaperFeed, int]) -> None:
    core, user_id = reader

    page = Recommender(core.store).recommend(user_id, per_page=3)

    assert page.ranking == "recommended"
    titles = [item.paper.title for item in page.items]
    assert set(titles[:2]) == {"Attention for Protein Structure", "Diffusion Designs New Enzymes"}
    reasons = {item.paper.title: item.reason for item in page.items}
    assert reasons["Attention for Protein Structure"] == "because you liked “Protein Folding with Attention”"
    assert reasons["Diffusion Designs New Enzymes"] == "because you liked “Enzyme Design by Diffusion”"
    assert not {"Protein Folding with Attention", "Enzyme Design by Diffusion"} & set(titles)  # liked already


def test_a_user_who_liked_nothing_gets_no_recommendations(reader: tuple[PaperFeed, int]) -> None:
    core, _ = reader
    newcomer = core.store.users.create("newcomer", "x", is_admin=False, now=LONG_AGO)

    page = Recommender(core.store).recommend(newcomer.id)

    assert (page.items, page.total) == ([], 0)


def test_digest_recommendations_section_explains_each_paper(
    reader: tuple[PaperFeed, int], mailbox: Mailbox
) -> None:
    core, user_id = reader
    subscribe(core, "reader@example.org", saved_searches=[], include_recommendations=True, user_id=user_id)

    run_due(core, NOW)

    [mail] = mailbox.digests_to("reader@example.org")
    text = mail.get_body(("plain",)).get_content()
    assert "Recommended for you" in text
    assert text.index("Attention for Protein Structure") < text.index("Chatbots That Reason")
    assert "because you liked “Protein Folding with Attention”" in text
    assert "/feeds/recommended/" in text  # the private feed of the same recommendations


def test_each_reader_sees_their_own_reason_for_a_paper_recommended_to_both(
    reader: tuple[PaperFeed, int], mailbox: Mailbox
) -> None:
    core, user_id = reader
    add_papers(core, paper("Proteins < Enzymes & Co", arxiv_id="2501.00003", published=TODAY - dt.timedelta(days=200)))
    ids = core.store.papers.ids_with_keys(["2501.00003"])
    core.store.embeddings.put_many(MODEL, [(ids["2501.00003"], "hash", axis((0, 1.0), (3, 0.4)))])
    other = core.store.users.create("other", "x", is_admin=False, now=LONG_AGO)
    core.store.community.toggle_vote(other.id, ids["2501.00003"], NOW - dt.timedelta(days=3))
    for email, user in (("reader@example.org", user_id), ("other@example.org", other.id)):
        subscribe(core, email, saved_searches=[], include_recommendations=True, user_id=user)

    run_due(core, NOW)

    def item(email: str, fmt: str) -> str:
        body = mailbox.digests_to(email)[0].get_body((fmt,)).get_content().replace("\r\n", "\n")
        return body.split("Attention for Protein Structure")[1].split("TL;DR")[0]

    assert "because you liked “Protein Folding with Attention”" in item("reader@example.org", "plain")
    assert "because you liked “Proteins < Enzymes & Co”" in item("other@example.org", "plain")
    assert "because you liked “Proteins &lt; Enzymes &amp; Co”" in item("other@example.org", "html")
    assert "Enzymes" not in item("reader@example.org", "html")


def test_the_random_negatives_are_distinct_visible_papers_each_as_likely_as_another(core: PaperFeed) -> None:
    add_papers(core, *(paper(f"Paper {i}", arxiv_id=f"2601.{i:05d}", published=TODAY) for i in range(60)))
    ids = sorted(core.store.papers.ids_with_keys([f"2601.{i:05d}" for i in range(60)]).values())
    hidden = set(ids[::3])
    with core.store.engine.begin() as conn:  # hidden as moderation hides them
        conn.execute(sa.update(papers).where(papers.c.id.in_(hidden)).values(hidden=True))
    seen: Counter[int] = Counter()
    for _ in range(400):
        drawn = core.store.subscriptions.random_paper_ids(5)  # drawn from the id range: 60 > 4 * 5
        assert len(drawn) == len(set(drawn)) == 5
        seen.update(drawn)
    assert set(seen) == set(ids) - hidden  # every visible paper, never a hidden one
    assert max(seen.values()) < 3 * min(seen.values())  # 50 expected each
    assert sorted(core.store.subscriptions.random_paper_ids(100)) == sorted(set(ids) - hidden)  # all there are


def test_ridge_model_separates_liked_from_other_papers() -> None:
    rng = np.random.default_rng(1)
    liked = rng.normal(size=(5, 8)) + np.array([3.0, 0, 0, 0, 0, 0, 0, 0])
    others = rng.normal(size=(50, 8))

    weights, bias = fit_linear_model(liked, others)

    assert (liked @ weights + bias).min() > (others @ weights + bias).max()


# --- the mail server's settings, and the in-process scheduler -----------------------------------------


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_digests_log_in_to_a_server_that_demands_it(papers_core: PaperFeed, settings: Settings) -> None:
    guarded = Mailbox(login=("digest", "s3cret")).start()
    try:
        anonymous = PaperFeed(settings.model_copy(update={"smtp_port": guarded.port}))
        logged_in = PaperFeed(
            settings.model_copy(
                update={"smtp_port": guarded.port, "smtp_username": "digest", "smtp_password": "s3cret"}
            )
        )
        sub = subscribe(papers_core, "login@example.org")

        refused = run_due(anonymous, NOW)
        [entry] = papers_core.store.subscriptions.ledger(subscription_id=sub.id)
        accepted = run_due(logged_in, NOW + runner.retry_delay(1))
        anonymous.close()
        logged_in.close()
    finally:
        guarded.stop()

    assert refused.retrying == 1  # a setting to fix, not the subscriber's fault: retried
    assert "530" in entry.last_error  # authentication required
    assert accepted.sent == 1
    assert len(guarded.digests_to("login@example.org")) == 1


def test_the_scheduler_sends_due_digests_from_a_background_thread(
    papers_core: PaperFeed, mailbox: Mailbox
) -> None:
    subscribe(
        papers_core, "scheduled@example.org", confirmed_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=2)
    )
    scheduler = DigestScheduler(papers_core, interval=0.05).start()
    try:
        deadline = time.monotonic() + 20
        while scheduler.runs < 2 and time.monotonic() < deadline:  # the run that sent it, and one more
            time.sleep(0.05)
        runs = scheduler.runs
    finally:
        scheduler.stop()

    assert runs >= 2
    assert len(mailbox.digests_to("scheduled@example.org")) == 1  # the later run found it sent


def sqlite_plan_of_last_query(core: PaperFeed, call):
    """What `call()` returns, and SQLite's plan for the last statement it ran."""
    if core.store.engine.dialect.name != "sqlite":
        pytest.skip("the plan is asked of SQLite; PostgreSQL plans by table size")
    statements: list[tuple[str, tuple]] = []

    def remember(conn, cursor, statement, parameters, context, executemany) -> None:
        statements.append((statement, parameters))

    sa.event.listen(core.store.engine, "before_cursor_execute", remember)
    try:
        answer = call()
    finally:
        sa.event.remove(core.store.engine, "before_cursor_execute", remember)
    statement, parameters = statements[-1]
    with core.store.engine.connect() as conn:
        plan = " ".join(row[-1] for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters))
    return answer, plan


def test_the_papers_of_a_recommendation_window_are_read_by_index_not_by_a_scan(core: PaperFeed) -> None:
    add_papers(core, paper("Recent", published=TODAY), paper("Old", published=TODAY - dt.timedelta(days=400)))
    recent, plan = sqlite_plan_of_last_query(
        core, lambda: core.store.subscriptions.recent_papers(TODAY - dt.timedelta(days=7), 100)
    )
    assert len(recent) == 1
    assert "SCAN papers" not in plan, plan


def test_the_models_with_vectors_are_counted_without_reading_the_vectors(core: PaperFeed) -> None:
    add_papers(core, paper("Embedded", published=TODAY))
    core.sync_vectors()
    models, plan = sqlite_plan_of_last_query(core, core.store.subscriptions.embedding_models)
    assert [(model, count) for model, count, _latest in models] == [(core.embedder.key, 1)]
    assert "COVERING INDEX" in plan, plan
