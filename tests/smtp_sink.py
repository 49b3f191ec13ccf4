"""A real SMTP server (aiosmtpd) on 127.0.0.1 for tests, keeping what it receives.

Replies can be scripted per recipient: `refuse` answers RCPT with a permanent error every time,
`defer_once` answers DATA with a temporary error the first time only.
"""

from __future__ import annotations

import socket
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Mailbox:
    def __init__(self, *, login: tuple[str, str] | None = None) -> None:
        """`login`: the user name and password the server demands before taking mail."""
        self.messages: list[EmailMessage] = []
        self.refuse: dict[str, str] = {}  # address -> RCPT reply, e.g. "550 5.1.1 No such user"
        self.defer_once: dict[str, str] = {}  # address -> DATA reply, e.g. "451 4.3.0 Try later"
        self.port = free_port()
        self.login = login
        auth = (
            {"authenticator": self._authenticate, "auth_required": True, "auth_require_tls": False}
            if login
            else {}
        )
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port, **auth)

    def start(self) -> Mailbox:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

    # aiosmtpd handler hooks

    def _authenticate(self, server, session, envelope, mechanism, auth_data) -> AuthResult:
        assert self.login is not None
        given = (
            (auth_data.login.decode(), auth_data.password.decode())
            if isinstance(auth_data, LoginPassword)
            else None
        )
        return AuthResult(success=given == self.login)

    async def handle_RCPT(self, server, session, envelope, address: str, rcpt_options) -> str:
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope) -> str:
        for address in envelope.rcpt_tos:
            if address in self.defer_once:
                return self.defer_once.pop(address)
        self.messages.append(BytesParser(policy=policy.default).parsebytes(envelope.content))
        return "250 Message accepted for delivery"

    # reading what arrived

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if m["To"].addresses[0].addr_spec == address]

    def digests_to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.to(address) if "digest" in m["Subject"]]


def mail_settings(settings, port: int):
    """`settings` sending mail, in plain SMTP, to the sink listening on `port`."""
    return settings.model_copy(
        update={
            "smtp_host": "127.0.0.1",
            "smtp_port": port,
            "smtp_security": "none",
            "mail_from": "paperfeed <digest@papers.example.org>",
            "base_url": "https://papers.example.org",
        }
    )
