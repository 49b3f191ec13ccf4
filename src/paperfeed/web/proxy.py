"""Requests forwarded by a reverse proxy: the client's scheme, address and host as the proxy saw them.

Only requests from a trusted proxy (`forwarded_allow_ips`) are believed. uvicorn's middleware
handles X-Forwarded-Proto and X-Forwarded-For; X-Forwarded-Host is added here, so that links
derived from a request (when no `base_url` is configured) name the public host, not the
proxy's upstream address.
"""

from __future__ import annotations

from starlette.types import Receive, Scope, Send
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware


class ForwardedHeaders(ProxyHeadersMiddleware):
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:  # type: ignore[override]
        if scope["type"] == "http":
            client = scope.get("client")
            if client and client[0] in self.trusted_hosts:
                headers = dict(scope["headers"])
                forwarded = headers.get(b"x-forwarded-host", b"").split(b",")[0].strip()
                if forwarded:
                    scope["headers"] = [(k, v) for k, v in scope["headers"] if k != b"host"]
                    scope["headers"].append((b"host", forwarded))
        await super().__call__(scope, receive, send)  # type: ignore[arg-type]
