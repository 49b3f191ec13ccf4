"""Accounts: sign-up, log-in, log-out and password changes, sessions, and rate limits.

Passwords are hashed with Argon2id (argon2-cffi's RFC 9106 low-memory profile). Sessions are
random 256-bit tokens handed to the browser; the store keeps only their SHA-256, so a copy of
the database logs nobody in. Failed log-ins are limited per account and address (with growing
delays), per address and, far higher, per account, in sliding windows kept in the store; the
refusal says when to try again.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import re
import secrets
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from zxcvbn import zxcvbn

from paperfeed.errors import InvalidInput, NotFound, PermissionDenied, TooManyRequests
from paperfeed.models import User
from paperfeed.store import Store
from paperfeed.store.papers import utcnow

# Module-level so a deployment (or a test suite) can pick other Argon2 parameters in one place;
# hashes made with older parameters are upgraded at the next log-in.
PASSWORD_HASHER = PasswordHasher()

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{1,31}$")
MIN_PASSWORD = 10
MAX_PASSWORD = 1_024  # hashing megabytes of "password" would be a cheap denial of service
MIN_PASSWORD_SCORE = 3  # zxcvbn's 0-4 scale: 3 resists an online attack and a slowed offline one
_ZXCVBN_MAX = 72
# Control, format (zero-width), surrogate, private-use and unassigned characters: nobody can type
# them at a log-in form, so a password holding one is a mistake or a copy of binary junk.
_UNTYPEABLE = frozenset({"Cc", "Cf", "Cs", "Co", "Cn"})
SESSION_LIFETIME = dt.timedelta(days=30)
BAD_LOGIN = "wrong user name or password"
SUSPENDED_LOGIN = "this account is suspended; ask an administrator"

Clock = Callable[[], dt.datetime]


@dataclass(frozen=True, slots=True)
class RateRule:
    """At most `limit` events per `window`; `what` finishes the sentence "Too many ...".

    With `backoff`, going over the limit is not refused for the rest of the window: each event
    past it only has to wait `backoff`, doubling with every further event (up to `max_delay`),
    after the one before."""

    limit: int
    window: dt.timedelta
    what: str
    backoff: dt.timedelta | None = None
    max_delay: dt.timedelta = dt.timedelta(minutes=15)

    def wait(self, events: list[dt.datetime], now: dt.datetime) -> float | None:
        """Seconds until one more event is allowed, given the window's events; None: now."""
        if len(events) < self.limit:
            return None
        if self.backoff is None:
            # The oldest event that keeps the window full has to age out first.
            wait = events[len(events) - self.limit] + self.window - now
        else:
            delay = min(self.backoff * 2 ** (len(events) - self.limit), self.max_delay)
            wait = events[-1] + delay - now
        seconds = wait.total_seconds()
        return seconds if seconds > 0 else None


# Failed log-ins slow down the guesser, not the owner: one address guessing one account waits
# longer and longer after three misses; one address guessing many accounts is stopped after 20;
# and only a flood from many addresses at once (far beyond any person's typing) closes the account
# to everyone for a while. The owner is told by mail when that many failures pile up.
FAILED_LOGINS_PER_ACCOUNT_AND_ADDRESS = RateRule(
    3, dt.timedelta(hours=1), "failed log-ins for this account", backoff=dt.timedelta(seconds=2)
)
FAILED_LOGINS_PER_ADDRESS = RateRule(20, dt.timedelta(minutes=15), "failed log-ins from your address")
FAILED_LOGINS_PER_ACCOUNT = RateRule(100, dt.timedelta(minutes=15), "failed log-ins for this account")
ATTACK_ALERT_AFTER = 20  # failures on one account within its window before its owner is told
ATTACK_ALERTS = RateRule(1, dt.timedelta(days=1), "alerts")
SIGN_UPS_PER_ADDRESS = RateRule(5, dt.timedelta(hours=1), "sign-ups from your address")


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def in_words(seconds: float) -> str:
    """A wait, rounded up, as people say it: "40 seconds", "1 minute", "15 minutes", "2 hours"."""
    seconds = max(1, math.ceil(seconds))
    if seconds < 60:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes = math.ceil(seconds / 60)
    if minutes < 120:
        return f"{minutes} minute{'s' if minutes != 1 else ''}"
    hours = math.ceil(minutes / 60)
    return f"{hours} hours"


@dataclass(slots=True)
class RateTicket:
    """Events counted by `RateLimiter.take`; `RateLimiter.give_back` uncounts them."""

    event_ids: list[int]
    counts: dict[str, int]  # events in each bucket's window, this one included


class RateLimiter:
    """Sliding-window counters in the store, shared by every server process. Checking and
    counting are one atomic step, so concurrent requests cannot all slip under a limit."""

    def __init__(self, store: Store, clock: Clock = utcnow) -> None:
        self.store = store
        self.clock = clock

    def take(self, *claims: tuple[str, RateRule]) -> RateTicket:
        """Count one event in every bucket, or, when any of them is full, in none and raise
        TooManyRequests saying when to try again."""
        now = self.clock()
        windows = {bucket: now - rule.window for bucket, rule in claims}
        with self.store.users.rate_buckets(windows) as counter:
            waits = []
            events = {bucket: counter.events(bucket) for bucket, _ in claims}
            for bucket, rule in claims:
                wait = rule.wait(events[bucket], now)
                if wait is not None:
                    waits.append((wait, rule))
            if waits:
                wait, rule = max(waits, key=lambda pair: pair[0])
                raise TooManyRequests(f"Too many {rule.what}. Try again in {in_words(wait)}.", wait)
            ids = [counter.add(bucket, now) for bucket, _ in claims]
        return RateTicket(ids, {bucket: len(events[bucket]) + 1 for bucket, _ in claims})

    def give_back(self, ticket: RateTicket) -> None:
        """The counted events did not happen after all (a log-in succeeded, a post failed)."""
        self.store.users.forget_rate_events(ticket.event_ids)

    def clear(self, bucket: str) -> None:
        self.store.users.clear_rate_events(bucket)


def require_admin(user: User | None) -> User:
    if user is None or not user.is_admin:
        raise PermissionDenied("only administrators can do this")
    return user


def check_name(name: str) -> str:
    name = name.strip()
    if not NAME_RE.match(name):
        raise InvalidInput(
            "user names are 2 to 32 characters: letters, digits, '.', '_' or '-', starting with a letter or digit"
        )
    return name


def check_password(password: str, *, name: str = "") -> None:
    """Long enough, typeable, and not among the passwords guessers try first (zxcvbn's estimate
    from common passwords, words, names, keyboard patterns, repeats and dates)."""
    if len(password) < MIN_PASSWORD:
        raise InvalidInput(f"passwords need at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise InvalidInput(f"passwords have at most {MAX_PASSWORD:,} characters")
    if any(unicodedata.category(char) in _UNTYPEABLE for char in password):
        raise InvalidInput("passwords cannot contain control or invisible characters")
    if name and password.casefold() == name.casefold():
        raise InvalidInput("the password must not be the user name")
    # zxcvbn reads at most 72 characters; what follows them only makes a password harder.
    estimate = zxcvbn(password[:_ZXCVBN_MAX], user_inputs=[name, "paperfeed"] if name else ["paperfeed"])
    if estimate["score"] < MIN_PASSWORD_SCORE:
        hint = estimate["feedback"].get("warning") or "it would be guessed quickly"
        raise InvalidInput(
            f"choose a harder password: {hint.rstrip('.').lower()} (try a few unrelated words)"
        )


class Accounts:
    def __init__(
        self, store: Store, clock: Clock = utcnow, *, on_attack: Callable[[User], None] | None = None
    ) -> None:
        self.store = store
        self.clock = clock
        self.limiter = RateLimiter(store, clock)
        self.on_attack = on_attack  # called (once a day at most) when an account is under attack
        self._dummy_hash: str | None = None

    @property
    def hasher(self) -> PasswordHasher:
        return PASSWORD_HASHER

    def create_user(self, name: str, password: str, *, admin: bool = False) -> User:
        """A new account, without rate limits (for the command line and sign-up alike)."""
        name = check_name(name)
        check_password(password, name=name)
        return self.store.users.create(name, self.hasher.hash(password), is_admin=admin, now=self.clock())

    def sign_up(self, name: str, password: str, *, address: str) -> tuple[User, str]:
        """A new account, logged in: the user and the session token for the browser."""
        ticket = self.limiter.take((f"signup:addr:{address}", SIGN_UPS_PER_ADDRESS))
        try:
            user = self.create_user(name, password)
        except BaseException:
            self.limiter.give_back(ticket)  # only accounts made count
            raise
        return user, self._new_session(user)

    def log_in(self, name: str, password: str, *, address: str) -> tuple[User, str]:
        account = name.strip().casefold()[:64]
        pair_bucket = f"login:name-addr:{account}:{address}"
        account_bucket = f"login:name:{account}"
        # The attempt is counted before the password is checked, in one step with the check of
        # the limits: concurrent guesses cannot all get in before the first one is counted, and a
        # throttled guesser learns nothing, right or wrong.
        ticket = self.limiter.take(
            (pair_bucket, FAILED_LOGINS_PER_ACCOUNT_AND_ADDRESS),
            (f"login:addr:{address}", FAILED_LOGINS_PER_ADDRESS),
            (account_bucket, FAILED_LOGINS_PER_ACCOUNT),
        )
        found = self.store.users.credentials(name.strip()) if len(password) <= MAX_PASSWORD else None
        if found is None or not self._verify(found[1], password):
            if found is None:
                self._waste_time(password)  # unknown names take as long as wrong passwords
            elif ticket.counts[account_bucket] >= ATTACK_ALERT_AFTER and self.on_attack is not None:
                self._alert(found[0])
            raise PermissionDenied(BAD_LOGIN)
        self.limiter.give_back(ticket)
        user, stored_hash = found
        if user.suspended:
            raise PermissionDenied(SUSPENDED_LOGIN)
        if self.hasher.check_needs_rehash(stored_hash):
            self.store.users.set_password_hash(user.id, self.hasher.hash(password), keep_session=None)
        self.limiter.clear(pair_bucket)
        return user, self._new_session(user)

    def _alert(self, user: User) -> None:
        """Tell the owner their account is being guessed at, at most once a day."""
        try:
            self.limiter.take((f"login-alert:user:{user.id}", ATTACK_ALERTS))
        except TooManyRequests:
            return
        assert self.on_attack is not None
        self.on_attack(user)

    def log_out(self, token: str) -> None:
        self.store.users.delete_session(hash_token(token))

    def user_for_token(self, token: str | None) -> User | None:
        if not token or len(token) > 200:
            return None
        return self.store.users.session_user(hash_token(token), self.clock())

    def change_password(self, user: User, current: str, new: str, *, session_token: str | None) -> None:
        """A new password, given the current one; every other session of the user ends."""
        stored = self.store.users.password_hash(user.id)
        if stored is None or not self._verify(stored, current):
            raise PermissionDenied("the current password is wrong")
        check_password(new, name=user.name)
        keep = hash_token(session_token) if session_token else None
        self.store.users.set_password_hash(user.id, self.hasher.hash(new), keep_session=keep)

    def set_suspended(self, name: str, suspended: bool) -> User:
        user = self.store.users.by_name(name)
        if user is None:
            raise NotFound(f"no user {name!r}")
        self.store.users.set_suspended(user.id, suspended)
        user.suspended = suspended
        return user

    def _new_session(self, user: User) -> str:
        token = secrets.token_urlsafe(32)
        now = self.clock()
        self.store.users.add_session(user.id, hash_token(token), now=now, expires_at=now + SESSION_LIFETIME)
        return token

    def _verify(self, stored_hash: str, password: str) -> bool:
        try:
            return self.hasher.verify(stored_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    def _waste_time(self, password: str) -> None:
        if self._dummy_hash is None:
            self._dummy_hash = self.hasher.hash(secrets.token_hex(16))
        self._verify(self._dummy_hash, password)
