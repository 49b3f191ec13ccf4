"""Mail to a user whose account is under attack (many failed log-ins from many addresses).

Accounts have no address of their own: the alert goes to the user's confirmed subscription
addresses. Without mail set up, or without a confirmed address, there is no one to tell.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from paperfeed.community.accounts import ATTACK_ALERT_AFTER
from paperfeed.digest.compose import render_template
from paperfeed.digest.mailer import DeliveryError, Mailer, build_message
from paperfeed.models import User

if TYPE_CHECKING:
    from paperfeed.core import PaperFeed

log = logging.getLogger(__name__)


def send_login_alert(core: PaperFeed, user: User) -> int:
    """Mail the alert to each confirmed address of the user; how many were sent. A failure to
    send is logged, never raised: the log-in that noticed the attack answers as usual."""
    settings = core.settings
    addresses = sorted({s.email for s in core.store.subscriptions.of_user(user.id) if s.active})
    if not settings.smtp_host or not addresses:
        return 0
    base_url = settings.base_url.rstrip("/")
    context = {
        "user": user,
        "failures": ATTACK_ALERT_AFTER,
        "site": urlsplit(base_url).hostname or base_url,
        "account_url": f"{base_url}/account",
    }
    sent = 0
    try:
        with Mailer(settings) as mailer:
            for address in addresses:
                mailer.send(
                    build_message(
                        settings,
                        to=address,
                        subject="Someone is trying to log in to your paperfeed account",
                        text=render_template("login_alert.txt", **context),
                        html=render_template("login_alert.html", **context),
                    )
                )
                sent += 1
    except DeliveryError as exc:
        log.warning("could not send the log-in alert for user %s: %s", user.id, exc)
    return sent
