"""Subscribing to the digest: double opt-in from the web form and the API, signed confirm and
unsubscribe links (one-click, no login), a logged-in user's settings page, the admin's view of
failed digests, and the `paperfeed digest` commands."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from typer.testing import CliRunner

from community_helpers import (
    Visitor,
    assert_ids_unique_and_fields_labelled,
    cheap_password_hashing,
    make_user,
)
from helpers import add_papers, all_at_once, paper
from paperfeed.cli import app as cli_app
from paperfeed.config import Settings
from paperfeed.core import PaperFeed
from paperfeed.digest.links import Links, make_token
from paperfeed.digest.runner import run_due
from paperfeed.store.subscriptions import SavedSearch, SubscriptionSpec
from smtp_sink import Mailbox

TODAY = dt.datetime.now(dt.UTC).date()
BASE_URL = "https://papers.example.org"
_LINK_RE = re.compile(r"https://papers\.example\.org/\S+")


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    box = Mailbox().start()
    yield box
    box.stop()


@pytest.fixture
def settings(settings: Settings, mailbox: Mailbox, monkeypatch: pytest.MonkeyPatch) -> Settings:
    mail = {
        "smtp_host": "127.0.0.1",
        "smtp_port": mailbox.port,
        "smtp_security": "none",
        "mail_from": "paperfeed <digest@papers.example.org>",
        "base_url": BASE_URL,
    }
    for name, value in mail.items():  # for the CLI, which reads its settings from the environment
        monkeypatch.setenv(f"PAPERFEED_{name.upper()}", str(value))
    return settings.model_copy(update=mail)


@pytest.fixture
def visitor(core: PaperFeed) -> Visitor:
    add_papers(core, paper("Diffusion Models for Protein Design", published=TODAY, arxiv_id="2611.00001"))
    return Visitor(core, base_url=BASE_URL)


def link_in(mail, path: str) -> str:
    """The link to `path` in a mail's text part, as a path with its query (for the test client)."""
    for url in _LINK_RE.findall(mail.get_body(("plain",)).get_content()):
        parts = urlsplit(url)
        if parts.path == path:
            return f"{parts.path}?{parts.query}"
    raise AssertionError(f"no link to {path} in the mail")


def tomorrow_at(hour: int) -> dt.datetime:
    return dt.datetime.combine(TODAY + dt.timedelta(days=1), dt.time(hour), tzinfo=dt.UTC)


API_SUBSCRIPTION = {
    "email": "Ada@Example.ORG",
    "frequency": "daily",
    "hour": 6,
    "timezone": "UTC",
    "include_trending": False,
    "saved_searches": [{"query": "diffusion", "mode": "keyword", "category": None}],
}


# --- double opt-in ------------------------------------------------------------------------------


def test_api_subscription_is_confirmed_by_the_mailed_link_before_any_digest(
    core: PaperFeed, visitor: Visitor, mailbox: Mailbox
) -> None:
    answer = visitor.api("POST", "/api/subscriptions", API_SUBSCRIPTION)

    assert answer.status_code == 202, answer.text
    assert answer.json()["status"] == "pending_confirmation"
    assert answer.json()["email"] == "Ada@example.org"
    [confirmation] = mailbox.messages
    assert confirmation["Subject"] == "Confirm your paperfeed subscription"
    assert confirmation.get_content_type() == "multipart/alternative"
    assert run_due(core, tomorrow_at(7)).due == 0  # not confirmed: nothing is sent

    confirmed = visitor.get(link_in(confirmation, "/subscriptions/confirm").replace("/", "/api/", 1))
    assert confirmed.status_code == 200
    assert confirmed.json()["status"] == "active"

    assert run_due(core, tomorrow_at(7)).sent == 1
    assert len(mailbox.digests_to("Ada@example.org")) == 1


def test_web_form_subscription_is_confirmed_by_opening_the_link(
    core: PaperFeed, visitor: Visitor, mailbox: Mailbox
) -> None:
    form = {
        "email": "grace@example.org",
        "frequency": "weekly",
        "weekday": "4",
        "hour": "7",
        "timezone": "America/New_York",
        "include_trending": "1",
        "top_n": "5",
        "search_q": "diffusion",
        "search_mode": "keyword",
        "search_author": "",
        "search_category": "",
        "search_has_code": "1",
    }
    page = visitor.post("/subscribe", form)

    assert page.status_code == 202
    assert "Check your inbox" in page.text
    [confirmation] = mailbox.to("grace@example.org")
    opened = visitor.get(link_in(confirmation, "/subscriptions/confirm"))
    assert opened.status_code == 200
    assert "You are subscribed" in opened.text
    [subscription] = core.store.subscriptions.active()
    assert (subscription.frequency, subscription.weekday, subscription.hour) == ("weekly", 4, 7)
    assert subscription.timezone == "America/New_York"
    assert subscription.saved_searches[0].query == "diffusion"
    assert subscription.saved_searches[0].filters.has_code is True


def test_the_subscribe_page_prefills_a_saved_search_from_a_search(visitor: Visitor) -> None:
    page = visitor.get("/subscribe", params={"q": "graph transformers", "category": "cs.LG"})

    assert page.status_code == 200
    assert 'name="search_q" value="graph transformers"' in page.text
    assert 'name="search_category" value="cs.LG"' in page.text


def test_a_tampered_or_expired_confirmation_link_is_refused(
    core: PaperFeed, visitor: Visitor, mailbox: Mailbox
) -> None:
    visitor.api("POST", "/api/subscriptions", API_SUBSCRIPTION)
    link = link_in(mailbox.messages[0], "/subscriptions/confirm")
    subscription_id = core.store.subscriptions.active() or core.store.subscriptions.get(1)
    secret = Links(core.settings).secret
    expired = make_token(
        secret, "confirm", subscription_id.id, at=dt.datetime.now(dt.UTC) - dt.timedelta(days=8)
    )
    for_another = make_token(secret, "unsubscribe", subscription_id.id)  # right key, wrong purpose

    tampered = visitor.get(link[:-3] + ("AAA" if not link.endswith("AAA") else "BBB"))
    too_old = visitor.get("/api/subscriptions/confirm", params={"token": expired})
    wrong_kind = visitor.get("/api/subscriptions/confirm", params={"token": for_another})

    assert tampered.status_code == 400
    assert "not valid" in tampered.text
    assert too_old.status_code == 400
    assert "expired" in too_old.json()["error"]["message"]
    assert wrong_kind.status_code == 400
    assert core.store.subscriptions.active() == []


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"email": "not-an-address"}, "is not an e-mail address"),
        ({"timezone": "Mars/Olympus_Mons"}, "unknown time zone"),
        ({"saved_searches": [], "include_trending": False}, "choose something for the digest"),
        ({"include_recommendations": True}, "log in"),
    ],
)
def test_a_bad_subscription_request_gets_a_clear_error_and_sends_nothing(
    visitor: Visitor, mailbox: Mailbox, change: dict, message: str
) -> None:
    answer = visitor.api("POST", "/api/subscriptions", {**API_SUBSCRIPTION, **change})

    assert answer.status_code == 400
    assert message in answer.json()["error"]["message"]
    assert mailbox.messages == []


def test_an_hour_out_of_range_is_refused(visitor: Visitor) -> None:
    answer = visitor.api("POST", "/api/subscriptions", {**API_SUBSCRIPTION, "hour": 24})
    assert answer.status_code == 422
    assert "hour" in answer.json()["error"]["message"]


def test_an_address_gets_no_second_confirmation_mail_within_the_cool_down(
    visitor: Visitor, mailbox: Mailbox
) -> None:
    answers = [visitor.api("POST", "/api/subscriptions", API_SUBSCRIPTION) for _ in range(3)]

    assert [a.status_code for a in answers] == [202, 429, 429]
    assert answers[1].json()["error"]["message"] == (
        "Too many confirmation mails to this address. Try again in 15 minutes."
    )
    assert len(mailbox.messages) == 1


def test_one_anonymous_client_cannot_have_mail_sent_to_many_addresses(
    visitor: Visitor, mailbox: Mailbox
) -> None:
    answers = [
        visitor.api("POST", "/api/subscriptions", {**API_SUBSCRIPTION, "email": f"reader{n}@example.org"})
        for n in range(8)
    ]
    assert [a.status_code for a in answers] == [202] * 5 + [429] * 3
    assert "Too many subscriptions from your address" in answers[5].json()["error"]["message"]
    assert len(mailbox.messages) == 5


def test_concurrent_subscriptions_send_exactly_the_allowed_mails(core: PaperFeed, mailbox: Mailbox) -> None:
    from paperfeed.digest.subscribe import CONFIRMATIONS_PER_CLIENT, subscribe

    def one(n: int) -> None:
        subscribe(core, SubscriptionSpec(email=f"reader{n % 12}@example.org"), client="192.0.2.66")

    outcomes = all_at_once(24, one)
    assert outcomes == {"ok": CONFIRMATIONS_PER_CLIENT.limit, "throttled": 19}
    recipients = [m["To"] for m in mailbox.messages]
    assert len(recipients) == len(set(recipients)) == CONFIRMATIONS_PER_CLIENT.limit


def test_without_a_mail_server_subscribing_says_so(core: PaperFeed) -> None:
    core.settings = core.settings.model_copy(update={"smtp_host": None})
    visitor = Visitor(core)

    answer = visitor.api("POST", "/api/subscriptions", API_SUBSCRIPTION)

    assert answer.status_code == 503
    assert "e-mail is not set up" in answer.json()["error"]["message"]
    assert core.store.subscriptions.count() == 0


# --- leaving ------------------------------------------------------------------------------------


def _subscribed_with_a_digest(core: PaperFeed, mailbox: Mailbox, email: str):
    subscription = core.store.subscriptions.create(
        SubscriptionSpec(
            email=email, hour=0, include_trending=False, saved_searches=[SavedSearch("diffusion")]
        ),
        confirmed_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=3),
    )
    run_due(core, dt.datetime.combine(TODAY, dt.time(12), tzinfo=dt.UTC))
    [digest] = mailbox.digests_to(email)
    return subscription, digest


def test_one_click_unsubscribe_from_the_mail_header_works_without_login(
    core: PaperFeed, visitor: Visitor, mailbox: Mailbox
) -> None:
    subscription, digest = _subscribed_with_a_digest(core, mailbox, "leaver@example.org")
    url = digest["List-Unsubscribe"].strip("<>")
    mail_client = Visitor(core, base_url=BASE_URL).client  # no cookies, no CSRF token: a mail provider

    answer = mail_client.post(
        url,
        content="List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )

    assert answer.status_code == 200, answer.text
    assert answer.json() == {"id": subscription.id, "status": "unsubscribed"}
    assert core.store.subscriptions.get(subscription.id).unsubscribed_at is not None
    assert run_due(core, tomorrow_at(12)).due == 0


def test_the_unsubscribe_link_in_the_mail_asks_once_and_needs_no_login(
    core: PaperFeed, visitor: Visitor, mailbox: Mailbox
) -> None:
    subscription, digest = _subscribed_with_a_digest(core, mailbox, "clicker@example.org")
    stranger = Visitor(core, base_url=BASE_URL)

    page = stranger.get(link_in(digest, "/unsubscribe"))
    assert page.status_code == 200
    assert "clicker@example.org" in page.text
    assert core.store.subscriptions.get(subscription.id).unsubscribed_at is None  # a GET changes nothing

    token = urlsplit(link_in(digest, "/unsubscribe")).query.removeprefix("token=")
    from urllib.parse import unquote

    done = stranger.post("/unsubscribe", {"token": unquote(token)})
    assert done.status_code == 200
    assert "You are unsubscribed" in done.text
    assert core.store.subscriptions.get(subscription.id).unsubscribed_at is not None


def test_a_tampered_or_expired_unsubscribe_token_is_refused(
    core: PaperFeed, visitor: Visitor, mailbox: Mailbox
) -> None:
    subscription, digest = _subscribed_with_a_digest(core, mailbox, "keeper@example.org")
    url = digest["List-Unsubscribe"].strip("<>")
    secret = Links(core.settings).secret
    expired = make_token(
        secret, "unsubscribe", subscription.id, at=dt.datetime.now(dt.UTC) - dt.timedelta(days=400)
    )
    forged = make_token("another instance's secret", "unsubscribe", subscription.id)

    answers = [
        visitor.client.post(url[:-4] + "xxxx"),
        visitor.client.post("/api/unsubscribe", params={"token": expired}),
        visitor.client.post("/api/unsubscribe", params={"token": forged}),
        visitor.client.post("/api/unsubscribe"),
    ]

    assert [a.status_code for a in answers] == [400, 400, 400, 400]
    assert "expired" in answers[1].json()["error"]["message"]
    assert core.store.subscriptions.get(subscription.id).unsubscribed_at is None


# --- logged-in users and the admin ----------------------------------------------------------------


def test_a_logged_in_user_manages_their_subscriptions_on_the_settings_page(
    core: PaperFeed, visitor: Visitor, mailbox: Mailbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    cheap_password_hashing(monkeypatch)
    user = make_user(core, "reader")
    visitor.log_in_as(user)
    visitor.post(
        "/subscribe",
        {
            "email": "reader@example.org",
            "hour": "8",
            "timezone": "UTC",
            "include_recommendations": "1",
            "search_q": "diffusion",
        },
    )
    visitor.get(link_in(mailbox.messages[0], "/subscriptions/confirm"))
    [subscription] = core.store.subscriptions.of_user(user.id)

    page = visitor.get("/settings/subscriptions")
    assert page.status_code == 200
    assert "reader@example.org" in page.text
    assert f"/feeds/recommended/{subscription.feed_token}.atom" in page.text

    changed = visitor.post(
        f"/settings/subscriptions/{subscription.id}",
        {
            "action": "save",
            "frequency": "weekly",
            "weekday": "0",
            "hour": "18",
            "timezone": "Asia/Tokyo",
            "search_q": "proteins",
        },
        follow_redirects=False,
    )
    assert changed.status_code == 303
    updated = core.store.subscriptions.get(subscription.id)
    assert (updated.frequency, updated.hour, updated.timezone) == ("weekly", 18, "Asia/Tokyo")
    assert [s.query for s in updated.saved_searches] == ["proteins"]

    visitor.post(f"/settings/subscriptions/{subscription.id}", {"action": "unsubscribe"})
    assert core.store.subscriptions.of_user(user.id) == []


def test_the_settings_page_needs_a_login_and_others_subscriptions_are_out_of_reach(
    core: PaperFeed, visitor: Visitor, monkeypatch: pytest.MonkeyPatch
) -> None:
    cheap_password_hashing(monkeypatch)
    owner = make_user(core, "owner")
    theirs = core.store.subscriptions.create(SubscriptionSpec(email="owner@example.org"), user_id=owner.id)

    assert visitor.get("/settings/subscriptions", follow_redirects=False).status_code == 303
    visitor.log_in_as(make_user(core, "intruder"))
    answer = visitor.post(f"/settings/subscriptions/{theirs.id}", {"action": "unsubscribe"})
    assert answer.status_code == 404
    assert core.store.subscriptions.get(theirs.id).unsubscribed_at is None


def test_failed_digests_are_listed_for_the_admin_only(
    core: PaperFeed, visitor: Visitor, mailbox: Mailbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    cheap_password_hashing(monkeypatch)
    mailbox.refuse["bounce@example.org"] = "550 5.1.1 No such user"
    core.store.subscriptions.create(
        SubscriptionSpec(
            email="bounce@example.org",
            hour=0,
            include_trending=False,
            saved_searches=[SavedSearch("diffusion")],
        ),
        confirmed_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=3),
    )
    run_due(core, dt.datetime.combine(TODAY, dt.time(12), tzinfo=dt.UTC))

    assert visitor.get("/admin/digests").status_code in (303, 403)
    visitor.log_in_as(make_user(core, "someone"))
    assert visitor.get("/admin/digests").status_code == 403
    visitor.log_in_as(make_user(core, "admin", admin=True))
    page = visitor.get("/admin/digests")
    assert page.status_code == 200
    assert "bounce@example.org" in page.text
    assert "550 5.1.1 No such user" in page.text


def test_digest_commands_send_due_digests_and_report_failures(core: PaperFeed, mailbox: Mailbox) -> None:
    add_papers(core, paper("Diffusion Models for Protein Design", published=TODAY, arxiv_id="2611.00001"))
    for email in ("ok@example.org", "bounce@example.org"):
        core.store.subscriptions.create(
            SubscriptionSpec(
                email=email, hour=0, include_trending=False, saved_searches=[SavedSearch("diffusion")]
            ),
            confirmed_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=3),
        )
    mailbox.refuse["bounce@example.org"] = "550 5.1.1 No such user"
    runner = CliRunner()
    noon = dt.datetime.combine(TODAY, dt.time(12), tzinfo=dt.UTC).isoformat()

    first = runner.invoke(cli_app, ["digest", "run", "--now", noon])
    again = runner.invoke(cli_app, ["digest", "run", "--now", noon])
    status = runner.invoke(cli_app, ["digest", "status"])

    assert first.exit_code == 0, first.output
    assert "sent 1" in first.output and "failed 1" in first.output
    assert "due 0" in again.output
    assert status.exit_code == 0
    assert "bounce@example.org" in status.output
    assert "550" in status.output
    assert len(mailbox.digests_to("ok@example.org")) == 1


def test_unsubscribing_on_the_settings_page_asks_first(
    core: PaperFeed, visitor: Visitor, mailbox: Mailbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    cheap_password_hashing(monkeypatch)
    visitor.log_in_as(make_user(core, "reader"))
    visitor.post("/subscribe", {"email": "reader@example.org", "timezone": "UTC", "search_q": "diffusion"})
    visitor.get(link_in(mailbox.messages[0], "/subscriptions/confirm"))
    page = visitor.get("/settings/subscriptions").text
    assert re.search(
        r'<details class="confirm"><summary>Unsubscribe</summary>\s*<p>No more digests to reader@example.org\? '
        r'<button type="submit" name="action" value="unsubscribe"',
        page,
    )


# --- saved searches: names, the default mode, running and deleting them -------------------------


def _subscribed_reader(core: PaperFeed, visitor: Visitor, mailbox: Mailbox, **form: str):
    """A logged-in reader with a confirmed subscription made through the form."""
    user = make_user(core, "reader")
    visitor.log_in_as(user)
    visitor.post("/subscribe", {"email": "reader@example.org", "timezone": "UTC", **form})
    visitor.get(link_in(mailbox.messages[-1], "/subscriptions/confirm"))
    [subscription] = core.store.subscriptions.of_user(user.id)
    return subscription


def test_a_saved_search_without_a_name_or_mode_is_named_by_its_query_and_searches_hybrid(
    core: PaperFeed, visitor: Visitor, mailbox: Mailbox
) -> None:
    visitor.post(
        "/subscribe",
        {"email": "ada@example.org", "timezone": "UTC", "search_q": "  protein design ", "search_name": " "},
    )

    visitor.get(link_in(mailbox.messages[0], "/subscriptions/confirm"))
    [subscription] = core.store.subscriptions.active()
    [search] = subscription.saved_searches
    assert (search.name, search.query, search.mode) == ("protein design", "protein design", "hybrid")


def test_a_saved_search_keeps_the_name_it_was_given(
    core: PaperFeed, visitor: Visitor, mailbox: Mailbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    cheap_password_hashing(monkeypatch)
    subscription = _subscribed_reader(
        core, visitor, mailbox, search_name="Protein folding", search_q="protein", search_mode="semantic"
    )

    [search] = subscription.saved_searches
    assert (search.name, search.query, search.mode) == ("Protein folding", "protein", "semantic")
    answer = visitor.api(
        "POST",
        "/api/subscriptions",
        {"email": "api@example.org", "saved_searches": [{"name": "Sampling", "query": "diffusion"}]},
    )
    assert answer.status_code == 202, answer.text
    assert answer.json()["saved_searches"][0] | {"filters": None} == {
        "name": "Sampling",
        "query": "diffusion",
        "mode": "hybrid",
        "filters": None,
    }
    too_long = visitor.post(
        "/subscribe", {"email": "long@example.org", "timezone": "UTC", "search_q": "x", "search_name": "n" * 101}
    )
    assert too_long.status_code == 400 and "names are at most 100 characters" in too_long.text


def test_the_subscribe_form_starts_in_the_sites_default_search_mode(visitor: Visitor) -> None:
    plain = visitor.get("/subscribe").text
    assert '<option value="hybrid" selected>Hybrid</option>' in plain
    from_a_search = visitor.get("/subscribe", params={"q": "graphs", "mode": "keyword"}).text
    assert '<option value="keyword" selected>Keyword</option>' in from_a_search
    assert '<option value="hybrid" selected>' in visitor.get("/subscribe", params={"mode": "nonsense"}).text


def test_a_named_saved_search_is_listed_with_its_name_a_link_that_runs_it_and_a_delete_button(
    core: PaperFeed, visitor: Visitor, mailbox: Mailbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    cheap_password_hashing(monkeypatch)
    subscription = _subscribed_reader(
        core,
        visitor,
        mailbox,
        include_trending="1",
        search_name="Protein <b>folding</b>",
        search_q="protein",
        search_mode="keyword",
        search_category="q-bio",
    )

    page = visitor.get("/settings/subscriptions").text
    assert "<legend>Protein &lt;b&gt;folding&lt;/b&gt;</legend>" in page
    assert 'href="/search?q=protein&amp;mode=keyword&amp;category=q-bio">Run this search</a>' in page
    delete = f"/settings/subscriptions/{subscription.id}/searches/0/delete"
    form_id = f"sub-{subscription.id}-delete-search-0"
    assert f'<form id="{form_id}" action="{delete}" method="post">' in page
    assert f'form="{form_id}">Delete' in page
    ran = visitor.get("/search?q=protein&mode=keyword&category=q-bio").text
    assert 'value="protein"' in ran and '<option value="keyword" selected>' in ran and 'value="q-bio"' in ran

    deleted = visitor.post(delete, follow_redirects=False)
    assert deleted.status_code == 303
    assert deleted.headers["location"] == "/settings/subscriptions?saved=search-deleted"
    assert core.store.subscriptions.get(subscription.id).saved_searches == []
    assert "The saved search was deleted." in visitor.get(deleted.headers["location"]).text
    again = visitor.post(delete, follow_redirects=False)
    assert "already+gone" in again.headers["location"]


def test_deleting_the_only_thing_a_digest_holds_is_refused(
    core: PaperFeed, visitor: Visitor, mailbox: Mailbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    cheap_password_hashing(monkeypatch)
    subscription = _subscribed_reader(core, visitor, mailbox, search_q="protein")

    answer = visitor.post(f"/settings/subscriptions/{subscription.id}/searches/0/delete", follow_redirects=False)

    assert "choose+something+for+the+digest" in answer.headers["location"]
    assert [s.query for s in core.store.subscriptions.get(subscription.id).saved_searches] == ["protein"]


def test_only_the_owner_deletes_a_saved_search_and_only_with_the_csrf_token(
    core: PaperFeed, visitor: Visitor, monkeypatch: pytest.MonkeyPatch
) -> None:
    cheap_password_hashing(monkeypatch)
    owner = make_user(core, "owner")
    spec = SubscriptionSpec(email="owner@example.org", saved_searches=[SavedSearch("diffusion")])
    theirs = core.store.subscriptions.create(spec, user_id=owner.id)
    delete = f"/settings/subscriptions/{theirs.id}/searches/0/delete"

    assert visitor.post(delete, follow_redirects=False).status_code == 303  # to the log-in page
    visitor.log_in_as(make_user(core, "intruder"))
    assert visitor.post(delete).status_code == 404
    visitor.log_in_as(owner)
    assert visitor.client.post(delete).status_code == 403  # no token
    assert len(core.store.subscriptions.get(theirs.id).saved_searches) == 1


def test_the_subscription_pages_use_each_id_once_and_label_every_field(
    core: PaperFeed, visitor: Visitor, mailbox: Mailbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    cheap_password_hashing(monkeypatch)
    user = make_user(core, "reader")
    for email in ("one@example.org", "two@example.org"):
        spec = SubscriptionSpec(email=email, saved_searches=[SavedSearch("a"), SavedSearch("b")])
        core.store.subscriptions.create(spec, user_id=user.id)
    assert_ids_unique_and_fields_labelled(visitor.get("/subscribe").text)
    visitor.log_in_as(user)
    page = visitor.get("/settings/subscriptions").text
    assert page.count('list="time-zones"') == 3 and page.count('id="time-zones"') == 1
    assert_ids_unique_and_fields_labelled(page)
    assert_ids_unique_and_fields_labelled(visitor.get("/subscribe").text)


def test_only_a_time_zone_nobody_chose_is_offered_for_the_browser_to_fill_in(
    core: PaperFeed, visitor: Visitor, mailbox: Mailbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    cheap_password_hashing(monkeypatch)
    _subscribed_reader(core, visitor, mailbox, search_q="protein")

    page = visitor.get("/settings/subscriptions").text
    assert page.count("data-guess-timezone") == 1  # the new subscription's, not the saved one's
    refused = visitor.post("/subscribe", {"email": "x", "timezone": "Asia/Tokyo"}).text
    assert 'value="Asia/Tokyo"' in refused and "data-guess-timezone" not in refused
