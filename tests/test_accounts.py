"""Accounts: sign-up, log-in, sessions, password changes, suspension and log-in throttling."""

from __future__ import annotations

import datetime as dt
from functools import partial

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from community_helpers import PASSWORD, Visitor, cheap_password_hashing, make_user
from paperfeed.cli import app as cli
from paperfeed.community.accounts import Accounts, hash_token, in_words
from paperfeed.core import PaperFeed
from paperfeed.digest.alerts import send_login_alert
from paperfeed.errors import InvalidInput, PermissionDenied, TooManyRequests
from paperfeed.store.schema import user_sessions, users
from paperfeed.store.subscriptions import SubscriptionSpec
from paperfeed.web.security import SESSION_COOKIE


@pytest.fixture(autouse=True)
def _fast_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    cheap_password_hashing(monkeypatch)


class Clock:
    """A clock that moves only when told to."""

    def __init__(self) -> None:
        self.now = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += dt.timedelta(**delta)


# --- the domain -----------------------------------------------------------------------------------


def test_sign_up_logs_in_and_the_session_token_names_the_user(core: PaperFeed) -> None:
    user, token = core.sign_up("alice", PASSWORD, address="198.51.100.1")
    assert core.user_for_session(token) == user
    assert user.name == "alice" and not user.is_admin and not user.suspended
    assert core.user_for_session("not-a-token") is None
    assert core.user_for_session(None) is None


def test_passwords_are_kept_as_argon2id_hashes_and_sessions_as_token_hashes(core: PaperFeed) -> None:
    _, token = core.sign_up("alice", PASSWORD, address="198.51.100.1")
    with core.store.engine.connect() as conn:
        stored_hash = conn.execute(sa.select(users.c.password_hash)).scalar_one()
        session_hashes = list(conn.execute(sa.select(user_sessions.c.token_hash)).scalars())
    assert stored_hash.startswith("$argon2id$") and PASSWORD not in stored_hash
    assert session_hashes == [hash_token(token)] and token not in session_hashes


def test_names_are_unique_whatever_their_case(core: PaperFeed) -> None:
    make_user(core, "Alice")
    with pytest.raises(InvalidInput, match="taken"):
        make_user(core, "alice")
    user, _ = core.log_in("ALICE", PASSWORD, address="198.51.100.1")
    assert user.name == "Alice"


@pytest.mark.parametrize(
    ("name", "password", "message"),
    [
        ("a", PASSWORD, "2 to 32 characters"),
        ("x" * 33, PASSWORD, "2 to 32 characters"),
        ("<script>", PASSWORD, "letters, digits"),
        ("al ice", PASSWORD, "letters, digits"),
        ("-alice", PASSWORD, "starting with a letter or digit"),
        ("alice", "short", "at least 10 characters"),
        ("alice", "x" * 1_025, "at most 1,024 characters"),
        ("alice-in-chains", "Alice-In-Chains", "must not be the user name"),
        ("alice", "password12", "harder password: this is a very common password"),
        ("alice", "aaaaaaaaaa", "harder password: repeats"),
        ("alice", " " * 10, "harder password"),
        ("alice", "1234567890", "harder password"),
        ("alice", "qwertyuiop", "harder password"),
        ("alice", "alice12345", "harder password"),
        ("alice", "\x00" * 10, "control or invisible characters"),
        ("alice", "correct\u200bhorse battery", "control or invisible characters"),
        ("alice", "correct horse\x07battery", "control or invisible characters"),
    ],
)
def test_bad_names_and_weak_passwords_are_refused_with_the_rule(
    core: PaperFeed, name: str, password: str, message: str
) -> None:
    with pytest.raises(InvalidInput, match=message):
        core.sign_up(name, password, address="198.51.100.1")
    assert core.store.users.by_name(name) is None


def test_a_wrong_password_and_an_unknown_name_fail_alike(core: PaperFeed) -> None:
    make_user(core, "alice")
    with pytest.raises(PermissionDenied) as wrong_password:
        core.log_in("alice", "not the password", address="198.51.100.1")
    with pytest.raises(PermissionDenied) as unknown_name:
        core.log_in("bob", PASSWORD, address="198.51.100.1")
    assert str(wrong_password.value) == str(unknown_name.value) == "wrong user name or password"


def test_logging_out_ends_the_session(core: PaperFeed) -> None:
    make_user(core, "alice")
    _, token = core.log_in("alice", PASSWORD, address="198.51.100.1")
    core.log_out(token)
    assert core.user_for_session(token) is None


def test_changing_the_password_needs_the_current_one_and_ends_other_sessions(core: PaperFeed) -> None:
    user = make_user(core, "alice")
    _, here = core.log_in("alice", PASSWORD, address="198.51.100.1")
    _, elsewhere = core.log_in("alice", PASSWORD, address="198.51.100.2")
    with pytest.raises(PermissionDenied, match="current password is wrong"):
        core.change_password(user, "not the password", "a brand new secret", session_token=here)
    core.change_password(user, PASSWORD, "a brand new secret", session_token=here)
    assert core.user_for_session(here) == user
    assert core.user_for_session(elsewhere) is None
    with pytest.raises(PermissionDenied):
        core.log_in("alice", PASSWORD, address="198.51.100.1")
    assert core.log_in("alice", "a brand new secret", address="198.51.100.1")[0] == user


def test_suspended_users_lose_their_sessions_and_cannot_log_in(core: PaperFeed) -> None:
    make_user(core, "alice")
    _, token = core.log_in("alice", PASSWORD, address="198.51.100.1")
    core.set_suspended("alice", True)
    assert core.user_for_session(token) is None
    with pytest.raises(PermissionDenied, match="suspended"):
        core.log_in("alice", PASSWORD, address="198.51.100.1")
    core.set_suspended("alice", False)
    assert core.log_in("alice", PASSWORD, address="198.51.100.1")[0].name == "alice"


def test_admins_suspend_others_but_not_themselves_and_users_cannot_suspend(core: PaperFeed) -> None:
    admin = make_user(core, "root", admin=True)
    alice = make_user(core, "alice")
    make_user(core, "bob")
    with pytest.raises(PermissionDenied, match="only administrators"):
        core.set_suspended("bob", True, by=alice)
    with pytest.raises(InvalidInput, match="cannot suspend yourself"):
        core.set_suspended("root", True, by=admin)
    assert core.set_suspended("bob", True, by=admin).suspended


# --- throttling -------------------------------------------------------------------------------------


def test_a_stranger_s_wrong_guesses_slow_only_the_stranger_not_the_owner(core: PaperFeed) -> None:
    clock = Clock()
    accounts = Accounts(core.store, clock)
    accounts.create_user("alice", PASSWORD)
    for attempt in range(3):
        with pytest.raises(PermissionDenied):
            accounts.log_in("alice", f"guess {attempt}", address="192.0.2.66")
    # The guesser has to wait now, and longer after every further miss.
    with pytest.raises(TooManyRequests) as throttled:
        accounts.log_in("alice", "guess 3", address="192.0.2.66")
    assert str(throttled.value) == "Too many failed log-ins for this account. Try again in 2 seconds."
    waits = []
    for attempt in range(4, 9):
        clock.advance(seconds=throttled.value.retry_after)
        with pytest.raises(PermissionDenied):
            accounts.log_in("alice", f"guess {attempt}", address="192.0.2.66")
        with pytest.raises(TooManyRequests) as throttled:
            accounts.log_in("alice", "one more", address="192.0.2.66")
        waits.append(throttled.value.retry_after)
    assert waits == [4, 8, 16, 32, 64]
    # Meanwhile the owner, from their own address, logs in at once with the right password.
    assert accounts.log_in("alice", PASSWORD, address="198.51.100.20")[0].name == "alice"


def test_the_delays_never_grow_past_fifteen_minutes(core: PaperFeed) -> None:
    clock = Clock()
    accounts = Accounts(core.store, clock)
    accounts.create_user("alice", PASSWORD)
    for attempt in range(14):
        clock.advance(minutes=4, seconds=30)  # still inside the hour the misses are remembered for
        with pytest.raises((PermissionDenied, TooManyRequests)):
            accounts.log_in("alice", f"guess {attempt}", address="192.0.2.66")
    with pytest.raises(TooManyRequests) as throttled:
        accounts.log_in("alice", "one more", address="192.0.2.66")
    assert throttled.value.retry_after <= 15 * 60


def test_a_flood_of_failures_from_many_addresses_closes_the_account_for_a_while(core: PaperFeed) -> None:
    clock = Clock()
    accounts = Accounts(core.store, clock)
    accounts.create_user("alice", PASSWORD)
    for attempt in range(100):
        with pytest.raises(PermissionDenied):
            accounts.log_in("alice", f"guess {attempt}", address=f"10.0.{attempt // 250}.{attempt % 250}")
    with pytest.raises(TooManyRequests) as throttled:
        accounts.log_in("alice", PASSWORD, address="198.51.100.20")
    assert str(throttled.value) == "Too many failed log-ins for this account. Try again in 15 minutes."
    clock.advance(minutes=15)
    assert accounts.log_in("alice", PASSWORD, address="198.51.100.20")[0].name == "alice"


def test_the_owner_is_told_once_a_day_when_their_account_is_under_attack(core: PaperFeed) -> None:
    clock = Clock()
    told = []
    accounts = Accounts(core.store, clock, on_attack=told.append)
    alice = accounts.create_user("alice", PASSWORD)
    for attempt in range(19):
        with pytest.raises(PermissionDenied):
            accounts.log_in("alice", f"guess {attempt}", address=f"10.0.0.{attempt}")
    assert told == []  # a forgetful owner's few misses are no attack
    for attempt in range(19, 40):
        with pytest.raises(PermissionDenied):
            accounts.log_in("alice", f"guess {attempt}", address=f"10.0.0.{attempt}")
    assert told == [alice]
    clock.advance(days=1, minutes=1)
    for attempt in range(20):
        with pytest.raises(PermissionDenied):
            accounts.log_in("alice", f"guess {attempt}", address=f"10.0.1.{attempt}")
    assert told == [alice, alice]


def test_a_successful_log_in_clears_the_counter_of_its_account_and_address(core: PaperFeed) -> None:
    clock = Clock()
    accounts = Accounts(core.store, clock)
    accounts.create_user("alice", PASSWORD)
    for _ in range(3):
        with pytest.raises(PermissionDenied):
            accounts.log_in("alice", "wrong guess", address="198.51.100.1")
    clock.advance(seconds=2)  # the first delay, which the right password waits out too
    accounts.log_in("alice", PASSWORD, address="198.51.100.1")
    for _ in range(3):
        with pytest.raises(PermissionDenied):
            accounts.log_in("alice", "wrong guess", address="198.51.100.1")
    clock.advance(seconds=2)
    assert accounts.log_in("alice", PASSWORD, address="198.51.100.1")[0].name == "alice"


def test_failed_log_ins_are_throttled_per_address_across_accounts(core: PaperFeed) -> None:
    accounts = Accounts(core.store, Clock())
    for attempt in range(20):
        with pytest.raises(PermissionDenied):
            accounts.log_in(f"user{attempt}", "wrong guess", address="198.51.100.7")
    with pytest.raises(TooManyRequests, match="failed log-ins from your address"):
        accounts.log_in("someone", "wrong guess", address="198.51.100.7")
    with pytest.raises(PermissionDenied):  # another address is not affected
        accounts.log_in("someone", "wrong guess", address="198.51.100.8")


def test_sign_ups_are_throttled_per_address(core: PaperFeed) -> None:
    for number in range(5):
        core.sign_up(f"user{number}", PASSWORD, address="198.51.100.1")
    with pytest.raises(
        TooManyRequests, match=r"Too many sign-ups from your address\. Try again in 60 minutes\."
    ):
        core.sign_up("user5", PASSWORD, address="198.51.100.1")
    assert core.sign_up("user5", PASSWORD, address="198.51.100.2")[0].name == "user5"


@pytest.mark.parametrize(
    ("seconds", "words"),
    [(0.2, "1 second"), (40, "40 seconds"), (61, "2 minutes"), (900, "15 minutes"), (7_200, "2 hours")],
)
def test_waits_are_said_in_words_rounded_up(seconds: float, words: str) -> None:
    assert in_words(seconds) == words


# --- the command line -------------------------------------------------------------------------------


def test_the_command_line_creates_admins_and_suspends_users(core: PaperFeed) -> None:
    runner = CliRunner()
    created = runner.invoke(
        cli, ["admin", "create-user", "root", "--admin", "--password-stdin"], input=PASSWORD + "\n"
    )
    assert created.exit_code == 0, created.output
    assert "created administrator root" in created.output
    prompted = runner.invoke(cli, ["admin", "create-user", "alice"], input=f"{PASSWORD}\n{PASSWORD}\n")
    assert prompted.exit_code == 0, prompted.output
    root = core.store.users.by_name("root")
    assert root is not None and root.is_admin
    assert runner.invoke(cli, ["admin", "suspend", "alice"]).exit_code == 0
    assert core.store.users.by_name("alice").suspended
    assert runner.invoke(cli, ["admin", "suspend", "alice", "--undo"]).exit_code == 0
    assert not core.store.users.by_name("alice").suspended


# --- the pages ---------------------------------------------------------------------------------------


def test_sign_up_log_out_log_in_and_change_password_through_the_pages(core: PaperFeed) -> None:
    browser = Visitor(core)
    signed_up = browser.sign_up("alice")
    assert signed_up.status_code == 200 and signed_up.url.path == "/"
    assert '<summary class="user-name">alice</summary>' in signed_up.text
    assert browser.post("/logout").status_code == 200
    assert SESSION_COOKIE not in browser.client.cookies
    assert 'href="/login"' in browser.get("/").text

    refused = browser.log_in("alice", "not the password")
    assert refused.status_code == 401 and "wrong user name or password" in refused.text
    logged_in = browser.log_in("alice")
    assert logged_in.status_code == 303 and logged_in.headers["location"] == "/"

    changed = browser.post(
        "/account/password",
        {"current": PASSWORD, "password": "another long secret", "password2": "another long secret"},
    )
    assert changed.status_code == 200 and "Password changed" in changed.text
    browser.post("/logout")
    assert browser.log_in("alice", "another long secret").status_code == 303


def test_forms_say_what_is_wrong_and_keep_the_name_but_never_the_password(core: PaperFeed) -> None:
    browser = Visitor(core)
    mismatch = browser.post("/signup", {"name": "alice", "password": PASSWORD, "password2": PASSWORD + "x"})
    assert mismatch.status_code == 400 and "the two passwords differ" in mismatch.text
    assert 'value="alice"' in mismatch.text and PASSWORD not in mismatch.text


def test_log_in_redirects_back_to_a_local_page_only(core: PaperFeed) -> None:
    make_user(core, "alice")
    browser = Visitor(core)
    back = browser.post(
        "/login", {"name": "alice", "password": PASSWORD, "next": "/search?q=x"}, follow_redirects=False
    )
    assert back.headers["location"] == "/search?q=x"
    for hostile in ("//evil.example/", "https://evil.example/", "/\\evil.example", "javascript:alert(1)"):
        away = browser.post(
            "/login", {"name": "alice", "password": PASSWORD, "next": hostile}, follow_redirects=False
        )
        assert away.headers["location"] == "/", hostile


def test_account_pages_ask_to_log_in_first(core: PaperFeed) -> None:
    page = Visitor(core).get("/account", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"] == "/login?next=%2Faccount"


@pytest.mark.parametrize(("base_url", "secure"), [("http://testserver", False), ("https://testserver", True)])
def test_session_cookies_are_http_only_same_site_lax_and_secure_over_https(
    core: PaperFeed, base_url: str, secure: bool
) -> None:
    make_user(core, "alice")
    response = Visitor(core, base_url=base_url).log_in("alice")
    cookie = next(c for c in response.headers.get_list("set-cookie") if c.startswith(SESSION_COOKIE + "="))
    attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")[1:]}
    assert {"httponly", "samesite", "path", "max-age"} <= attributes
    assert "samesite=lax" in cookie.lower()
    assert ("secure" in attributes) is secure


def test_an_owner_with_a_confirmed_address_gets_one_mail_about_the_attack(core: PaperFeed, tmp_path) -> None:
    from smtp_sink import Mailbox

    mailbox = Mailbox().start()
    try:
        core.settings = core.settings.model_copy(
            update={"smtp_host": "127.0.0.1", "smtp_port": mailbox.port, "smtp_security": "none",
                    "mail_from": "paperfeed <digest@papers.example.org>", "base_url": "https://papers.example.org"}
        )  # fmt: skip
        core.on_login_attack = partial(send_login_alert, core)  # as the web app wires it
        alice = make_user(core, "alice")
        spec = SubscriptionSpec(email="alice@example.org")
        core.store.subscriptions.create(spec, user_id=alice.id, confirmed_at=dt.datetime.now(dt.UTC))
        for attempt in range(40):
            with pytest.raises(PermissionDenied):
                core.log_in("alice", f"guess {attempt}", address=f"10.0.0.{attempt}")
        assert core.log_in("alice", PASSWORD, address="198.51.100.20")[0] == alice
    finally:
        mailbox.stop()
    [alert] = mailbox.messages
    assert alert["To"] == "alice@example.org"
    assert alert["Subject"] == "Someone is trying to log in to your paperfeed account"
    assert "https://papers.example.org/account" in alert.get_body(("plain",)).get_content()
