"""Signed, expiring links for confirming and cancelling subscriptions, and the instance secret.

Links carry the subscription id signed with the instance's secret key (itsdangerous), so they
work without logging in and cannot be forged or pointed at another subscription.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import secrets
import tempfile
from pathlib import Path
from typing import Literal
from urllib.parse import urlencode

from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer

from paperfeed.config import Settings
from paperfeed.errors import InvalidInput

Purpose = Literal["confirm", "unsubscribe"]

SECRET_FILE = "secret_key"
# How long a link works: a confirmation is acted on soon; unsubscribe links in old mails must
# keep working for months.
MAX_AGE: dict[Purpose, dt.timedelta] = {
    "confirm": dt.timedelta(days=7),
    "unsubscribe": dt.timedelta(days=365),
}


class InvalidLink(InvalidInput):
    """A confirmation or unsubscribe link that was altered, is for something else, or has expired."""


def secret_key(settings: Settings) -> str:
    """`settings.secret_key`, else a random key made once and kept in the data directory."""
    if settings.secret_key:
        return settings.secret_key
    path: Path = settings.data_dir / SECRET_FILE
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    # Written whole to a private temporary file, then linked into place: link() fails when the
    # key exists, so of several processes starting at once exactly one key wins, and no process
    # can ever read a half-written (empty) key.
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".secret-")
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(48))
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)
    finally:
        os.unlink(tmp)
    return path.read_text().strip()


def _serializer(secret: str, purpose: Purpose, at: dt.datetime | None = None) -> URLSafeTimedSerializer:
    """The serializer for one purpose; `at` pins its clock (for signing old links or checking later)."""
    signer: type[TimestampSigner] = TimestampSigner
    if at is not None:
        stamp = int(at.timestamp())

        class PinnedClock(TimestampSigner):
            def get_timestamp(self) -> int:
                return stamp

        signer = PinnedClock
    return URLSafeTimedSerializer(secret, salt=f"paperfeed.subscription.{purpose}", signer=signer)


def make_token(secret: str, purpose: Purpose, subscription_id: int, *, at: dt.datetime | None = None) -> str:
    return _serializer(secret, purpose, at).dumps({"s": subscription_id})


def read_token(secret: str, purpose: Purpose, token: str, *, now: dt.datetime | None = None) -> int:
    """The subscription id a token was made for; InvalidLink if it is forged, foreign or expired."""
    serializer = _serializer(secret, purpose, now)
    try:
        data = serializer.loads(token, max_age=int(MAX_AGE[purpose].total_seconds()))
    except SignatureExpired:
        raise InvalidLink(f"this {purpose} link has expired; ask for a new one") from None
    except BadSignature:
        raise InvalidLink(f"this {purpose} link is not valid (it may have been cut or altered)") from None
    if not isinstance(data, dict) or not isinstance(data.get("s"), int):
        raise InvalidLink(f"this {purpose} link is not valid")
    return data["s"]


class Links:
    """The public URLs of an instance that digests and confirmation mails point to."""

    def __init__(self, settings: Settings, base_url: str | None = None) -> None:
        """`base_url`: the address a request reached us at, used when none is configured."""
        self.base_url = settings.public_url if settings.base_url or not base_url else base_url.rstrip("/")
        self.secret = secret_key(settings)

    def confirm(self, subscription_id: int) -> str:
        token = make_token(self.secret, "confirm", subscription_id)
        return f"{self.base_url}/subscriptions/confirm?{urlencode({'token': token})}"

    def unsubscribe_page(self, subscription_id: int) -> str:
        """The link in the mail's body: a page with one button, no login needed."""
        token = make_token(self.secret, "unsubscribe", subscription_id)
        return f"{self.base_url}/unsubscribe?{urlencode({'token': token})}"

    def unsubscribe_one_click(self, subscription_id: int) -> str:
        """The List-Unsubscribe target: mail clients POST to it (RFC 8058)."""
        token = make_token(self.secret, "unsubscribe", subscription_id)
        return f"{self.base_url}/api/unsubscribe?{urlencode({'token': token})}"

    def settings_page(self) -> str:
        return f"{self.base_url}/settings/subscriptions"

    def paper(self, url_id: str) -> str:
        return f"{self.base_url}/papers/{url_id}"

    def recommended_feed(self, feed_token: str) -> str:
        return f"{self.base_url}/feeds/recommended/{feed_token}.atom"
