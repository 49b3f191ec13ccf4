"""One-time messages after an action ("The paper is hidden. Undo"), carried to the next page in
a signed cookie and shown once.

The cookie is signed under the instance secret, so a message, and above all the form of its
Undo button, can only come from this server. Reading it marks the request; the middleware then
clears the cookie on that response, so a reload does not repeat the message.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass, field

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

FLASH_COOKIE = "paperfeed_flash"
_SHOWN = "flash_shown"


@dataclass(slots=True)
class Undo:
    """A form that takes the action back: posted to `action` with `fields` (and the CSRF token)."""

    action: str
    fields: dict[str, str] = field(default_factory=dict)
    label: str = "Undo"


@dataclass(slots=True)
class Flash:
    text: str
    undo: Undo | None = None


def _key(request: Request) -> bytes:
    return hmac.new(request.app.state.csrf_key, b"paperfeed flash", hashlib.sha256).digest()


def _signature(request: Request, payload: str) -> str:
    return hmac.new(_key(request), payload.encode(), hashlib.sha256).hexdigest()[:32]


def set_flash(response: Response, request: Request, text: str, undo: Undo | None = None) -> Response:
    data = {"text": text}
    if undo is not None:
        data["undo"] = {"action": undo.action, "fields": undo.fields, "label": undo.label}
    payload = base64.urlsafe_b64encode(json.dumps(data).encode()).decode()
    response.set_cookie(
        FLASH_COOKIE, f"{payload}.{_signature(request, payload)}", max_age=300, path="/", httponly=True,
        samesite="lax", secure=request.url.scheme == "https",
    )  # fmt: skip
    return response


def read_flash(request: Request) -> Flash | None:
    """This request's message, if any (and the cookie is cleared on its response)."""
    value = request.cookies.get(FLASH_COOKIE)
    if not value:
        return None
    request.state.flash_shown = True
    payload, _, signature = value.rpartition(".")
    if not payload or not hmac.compare_digest(signature, _signature(request, payload)):
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(payload))
        undo = data.get("undo")
        return Flash(
            text=str(data["text"]),
            undo=Undo(
                str(undo["action"]), {str(k): str(v) for k, v in undo["fields"].items()}, str(undo["label"])
            )
            if undo
            else None,
        )
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


class FlashCleanup:
    """Clears the flash cookie on the response of the page that showed the message."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_clearing(message: Message) -> None:
            if message["type"] == "http.response.start" and scope.get("state", {}).get(_SHOWN):
                headers = MutableHeaders(scope=message)
                if not any(
                    value.startswith(FLASH_COOKIE + "=") for value in headers.getlist("set-cookie")
                ):  # a page that sets a new message keeps it
                    headers.append(
                        "set-cookie", f"{FLASH_COOKIE}=; Max-Age=0; Path=/; HttpOnly; SameSite=Lax"
                    )
            await send(message)

        await self.app(scope, receive, send_clearing)
