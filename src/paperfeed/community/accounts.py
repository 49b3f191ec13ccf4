"""Accounts: sign-up, log-in, log-out and password changes, sessions, and rate limits.

Passwords are hashed with Argon2id (argon2-cffi's RFC 9106 low-memory profile). Sessions are
random 256-bit tokens handed to the browser; the store keeps only their SHA-256, so a copy of
the database logs nobody in. Failed log-ins are limited per account and per address with a
sliding window kept in the store; the refusal says when to try again.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

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
SESSION_LIFETIME = dt.timedelta(days=30)
BAD_LOGIN = "wrong user name or password"
SUSPENDED_LOGIN = "this account is suspended; ask an administrator"

Clock = Callable[[], dt.datetime]


@dataclass(frozen=True, slots=True)
class RateRule:
    """At most `limit` events per `window`; `what` finishes the sentence "Too many ..."."""

    limit: int
    window: dt.timedelta
    what: str


FAILED_LOGINS_PER_ACCOUNT = RateRule(5, dt.timedelta(minutes=15), "failed log-ins for this account")
FAILED_LOGINS_PER_ADDRESS = RateRule(20, dt.timedelta(minutes=15), "failed log-ins from your address")
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


class RateLimiter:
    """Sliding-window counters in the store, shared by every server process."""

    def __init__(self, store: Store, clock: Clock = utcnow) -> None:
        self.store = store
        self.clock = clock

    def check(self, bucket: str, rule: RateRule) -> None:
        """Raise TooManyRequests when the bucket is full, saying when a slot frees up."""
        now = self.clock()
        events = self.store.users.rate_events(bucket, now - rule.window)
        if len(events) >= rule.limit:
            # The oldest event that keeps the window full has to age out first.
            retry_after = (events[len(events) - rule.limit] + rule.window - now).total_seconds()
            raise TooManyRequests(f"Too many {rule.what}. Try again in {in_words(retry_after)}.", retry_after)

    def hit(self, bucket: str, rule: RateRule) -> None:
        now = self.clock()
        self.store.users.add_rate_event(bucket, now, forget_before=now - rule.window)

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
    if len(password) < MIN_PASSWORD:
        raise InvalidInput(f"passwords need at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise InvalidInput(f"passwords have at most {MAX_PASSWORD:,} characters")
    if name and password.casefold() == name.casefold():
        raise InvalidInput("the password must not be the user name")


class Accounts:
    def __init__(self, store: Store, clock: Clock = utcnow) -> None:
        self.store = store
        self.clock = clock
        self.limiter = RateLimiter(store, clock)
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
        bucket = f"signup:addr:{address}"
        self.limiter.check(bucket, SIGN_UPS_PER_ADDRESS)
        user = self.create_user(name, password)
        self.limiter.hit(bucket, SIGN_UPS_PER_ADDRESS)
        return user, self._new_session(user)

    def log_in(self, name: str, password: str, *, address: str) -> tuple[User, str]:
        account_bucket = f"login:name:{name.strip().casefold()[:64]}"
        address_bucket = f"login:addr:{address}"
        # Checked before the password, so a throttled guesser learns nothing, right or wrong.
        self.limiter.check(address_bucket, FAILED_LOGINS_PER_ADDRESS)
        self.limiter.check(account_bucket, FAILED_LOGINS_PER_ACCOUNT)
        found = self.store.users.credentials(name.strip()) if len(password) <= MAX_PASSWORD else None
        if found is None or not self._verify(found[1], password):
            if found is None:
                self._waste_time(password)  # unknown names take as long as wrong passwords
            self.limiter.hit(address_bucket, FAILED_LOGINS_PER_ADDRESS)
            self.limiter.hit(account_bucket, FAILED_LOGINS_PER_ACCOUNT)
            raise PermissionDenied(BAD_LOGIN)
        user, stored_hash = found
        if user.suspended:
            raise PermissionDenied(SUSPENDED_LOGIN)
        if self.hasher.check_needs_rehash(stored_hash):
            self.store.users.set_password_hash(user.id, self.hasher.hash(password), keep_session=None)
        self.limiter.clear(account_bucket)
        return user, self._new_session(user)

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
