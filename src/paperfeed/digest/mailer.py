"""Outgoing mail over SMTP (host, port, STARTTLS or TLS, login from settings).

Messages are multipart/alternative (plain text first, HTML second) and carry the headers bulk
mail needs to be accepted and to be easy to leave: List-Unsubscribe with RFC 8058 one-click.
Failures are sorted into permanent ones (the server refused this recipient or this message)
and transient ones (anything that may work later: 4xx answers, the connection, our login).
"""

from __future__ import annotations

import smtplib
import ssl
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from types import TracebackType
from urllib.parse import urlsplit

from paperfeed.config import Settings
from paperfeed.errors import PaperfeedError

TIMEOUT_SECONDS = 30


class MailNotConfigured(PaperfeedError):
    def __init__(self) -> None:
        super().__init__(
            "e-mail is not set up on this server (set PAPERFEED_SMTP_HOST and PAPERFEED_MAIL_FROM)"
        )


class MailUnavailable(PaperfeedError):
    """A mail the user is waiting for (a confirmation) could not be sent."""


class DeliveryError(Exception):
    """A message was not accepted. `permanent`: retrying the same message will not help."""

    def __init__(self, message: str, *, permanent: bool, code: int | None = None) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.code = code


def mail_domain(settings: Settings) -> str:
    """The domain our Message-IDs are made in: the sender's, else the site's host."""
    address = parseaddr(settings.mail_from)[1]
    if "@" in address:
        return address.rsplit("@", 1)[1]
    return urlsplit(settings.public_url).hostname or "localhost"


def new_message_id(settings: Settings, hint: str) -> str:
    return make_msgid(idstring=hint, domain=mail_domain(settings))


def build_message(
    settings: Settings,
    *,
    to: str,
    subject: str,
    text: str,
    html: str,
    message_id: str | None = None,
    unsubscribe_url: str | None = None,
    list_id: str | None = None,
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.mail_from
    message["To"] = Address(addr_spec=to)
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False, usegmt=True)
    message["Message-ID"] = message_id or new_message_id(settings, "paperfeed")
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies to us
    if list_id:
        message["List-Id"] = list_id
    if unsubscribe_url:
        message["List-Unsubscribe"] = f"<{unsubscribe_url}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        message["Precedence"] = "bulk"
    message.set_content(text, subtype="plain", charset="utf-8")
    message.add_alternative(html, subtype="html", charset="utf-8")
    return message


def _classify(exc: Exception) -> DeliveryError:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        detail = "; ".join(
            f"{code} {msg.decode(errors='replace') if isinstance(msg, bytes) else msg}"
            for code, msg in exc.recipients.values()
        )
        code = max(codes) if codes else None
        return DeliveryError(f"recipient refused: {detail}", permanent=bool(code and code >= 500), code=code)
    if isinstance(exc, smtplib.SMTPSenderRefused | smtplib.SMTPAuthenticationError):
        # Our own address or login: a setting to fix, after which every message should go out.
        return DeliveryError(
            f"server refused us: {exc.smtp_code} {_text(exc.smtp_error)}", permanent=False, code=exc.smtp_code
        )
    if isinstance(exc, smtplib.SMTPResponseException):
        code = exc.smtp_code
        return DeliveryError(
            f"server answered {code} {_text(exc.smtp_error)}", permanent=500 <= code < 600, code=code
        )
    return DeliveryError(f"cannot reach the mail server: {type(exc).__name__}: {exc}", permanent=False)


def _text(value: bytes | str) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


class Mailer:
    """One SMTP connection, opened on first use and reused for the messages of a run."""

    def __init__(self, settings: Settings) -> None:
        if not settings.smtp_host:
            raise MailNotConfigured()
        self.settings = settings
        self._smtp: smtplib.SMTP | None = None

    def __enter__(self) -> Mailer:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        assert s.smtp_host
        context = ssl.create_default_context()
        if s.smtp_security == "tls":
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                s.smtp_host, s.smtp_port, timeout=TIMEOUT_SECONDS, context=context
            )
        else:
            smtp = smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=TIMEOUT_SECONDS)
        try:
            smtp.ehlo()
            if s.smtp_security == "starttls":
                smtp.starttls(context=context)
                smtp.ehlo()
            if s.smtp_username:
                smtp.login(s.smtp_username, s.smtp_password or "")
        except BaseException:
            smtp.close()
            raise
        return smtp

    def send(self, message: EmailMessage) -> None:
        """Hand the message to the server; DeliveryError if it was not accepted."""
        try:
            if self._smtp is None:
                self._smtp = self._connect()
            self._smtp.send_message(message)
        except (smtplib.SMTPException, OSError) as exc:
            self.close()  # the session's state is unknown after an error: start afresh next time
            raise _classify(exc) from exc

    def close(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except (smtplib.SMTPException, OSError):
                self._smtp.close()
            self._smtp = None
