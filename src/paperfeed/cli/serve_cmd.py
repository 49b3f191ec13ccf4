"""`paperfeed serve`: the web UI and JSON API."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Annotated
from urllib.parse import urlsplit

import typer

from paperfeed.cli.common import console, console_err, open_core

if TYPE_CHECKING:
    from paperfeed.core import PaperFeed
    from paperfeed.search.embed_worker import EmbedWorker


def serve_command(
    host: Annotated[
        str | None, typer.Option(help="Address to listen on (default: PAPERFEED_HOST, 127.0.0.1).")
    ] = None,
    port: Annotated[
        int | None, typer.Option(help="Port to listen on (default: PAPERFEED_PORT, 8000).")
    ] = None,
    database_url: Annotated[str | None, typer.Option(help="Database URL.")] = None,
    with_scheduler: Annotated[
        bool,
        typer.Option(
            help="Also send due e-mail digests and sync followed sources from this process "
            "(also: PAPERFEED_DIGEST_SCHEDULER=1, PAPERFEED_SYNC_SCHEDULER=1)."
        ),
    ] = False,
    workers: Annotated[
        int, typer.Option(min=1, max=64, help="Worker processes answering requests (more use more cores).")
    ] = 1,
    proxy_headers: Annotated[
        bool | None,
        typer.Option(help="Believe X-Forwarded-Proto/-For/-Host from --forwarded-allow-ips (default: on)."),
    ] = None,
    forwarded_allow_ips: Annotated[
        str | None,
        typer.Option(
            help='Proxy addresses whose X-Forwarded-* headers count (default: 127.0.0.1; "*": any).'
        ),
    ] = None,
    embed: Annotated[
        bool | None,
        typer.Option(
            help="Embed papers that have no vector yet in the background while serving "
            "(default: on; PAPERFEED_EMBED_WORKER=0 turns it off)."
        ),
    ] = None,
) -> None:
    """Serve the web UI and the JSON API (OpenAPI docs at /api/docs).

    With --workers N, N processes share the port; each opens its own connections to the
    database. Meant for PostgreSQL; SQLite works too (readers never wait, writers take turns)."""
    import uvicorn

    from paperfeed.web.app import create_app

    core = open_core(database_url)
    settings = core.settings
    # Links in mails and feeds are derived from where this server listens unless base_url is set.
    settings.host = host = host or settings.host
    settings.port = port = port or settings.port
    if proxy_headers is not None:
        settings.proxy_headers = proxy_headers
    settings.forwarded_allow_ips = forwarded_allow_ips or settings.forwarded_allow_ips
    core.ensure_indexes()
    console.print(f"paperfeed on [bold]http://{_shown_host(host)}:{port}/[/] ({core.store.safe_url})")
    if warning := base_url_mismatch(settings.base_url, host, port):
        console_err.print(f"[yellow]warning:[/] {warning}", highlight=False)
    scheduler = None
    if with_scheduler or core.settings.digest_scheduler:
        from paperfeed.digest.scheduler import DigestScheduler

        scheduler = DigestScheduler(core).start()
    syncer = None
    if with_scheduler or core.settings.sync_scheduler:
        from paperfeed.ingest.sync import SyncScheduler

        syncer = SyncScheduler(core).start()
    embedder = start_embed_worker(core) if (settings.embed_worker if embed is None else embed) else None
    try:
        if workers == 1:
            core.warm_up()
            # workers=1 spelled out: uvicorn would otherwise take $WEB_CONCURRENCY.
            # Proxy headers are the application's job (it reads X-Forwarded-Host too).
            uvicorn.run(
                create_app(core), host=host, port=port, log_level="info", proxy_headers=False, workers=1
            )
        else:
            run_workers(core, host=host, port=port, workers=workers)
    finally:
        if scheduler is not None:
            scheduler.stop()
        if syncer is not None:
            syncer.stop()
        if embedder is not None:
            embedder.stop(timeout=120)  # ends after the batch in flight


def start_embed_worker(core: PaperFeed) -> EmbedWorker:
    """Embed what has no vector yet while serving; say so when that is a long job."""
    from paperfeed.cli.embed_cmd import FIRST_PASS_ADVISED, FIRST_PASS_HINT
    from paperfeed.search.embed_worker import EmbedWorker

    missing = core.papers_to_embed()
    if missing:
        console.print(
            f"{missing:,} papers have no embedding yet: they are embedded in the background "
            "(semantic search covers the rest meanwhile)"
            + (FIRST_PASS_HINT if missing >= FIRST_PASS_ADVISED else ""),
            style="yellow",
        )
    return EmbedWorker(
        core.store, core.vectors, lambda: core.embedder, core.papers_to_embed
    ).start()


def run_workers(core: PaperFeed, *, host: str, port: int, workers: int) -> None:
    """Serve from `workers` processes. This one has migrated the database and brought the indexes
    up to date; each worker then starts its own core from the same settings, read from the
    environment (a fresh process inherits no open connections)."""
    import uvicorn

    os.environ["PAPERFEED_DATA_DIR"] = str(core.settings.data_dir)
    os.environ["PAPERFEED_HOST"] = host
    os.environ["PAPERFEED_PORT"] = str(port)
    os.environ["PAPERFEED_PROXY_HEADERS"] = "1" if core.settings.proxy_headers else "0"
    os.environ["PAPERFEED_FORWARDED_ALLOW_IPS"] = core.settings.forwarded_allow_ips
    if core.settings.database_url:
        os.environ["PAPERFEED_DATABASE_URL"] = core.settings.database_url
    if core.store.dialect == "sqlite":
        console.print(
            f"{workers} workers on SQLite: reads run in parallel, writes take turns; "
            "for many writers use PostgreSQL (see docs/deployment.md)",
            style="yellow",
        )
    uvicorn.run(
        "paperfeed.web.app:create_app_from_env",
        factory=True,
        workers=workers,
        host=host,
        port=port,
        log_level="info",
        proxy_headers=False,  # the application handles them (X-Forwarded-Host too)
    )


_LOOPBACK = {"127.0.0.1", "localhost", "::1", "0.0.0.0", "::", ""}


def _shown_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def base_url_mismatch(base_url: str | None, host: str, port: int) -> str | None:
    """Why a configured base_url cannot be this server's address, or None. Only a local address
    can be checked: a public name may well be a proxy in front of this port."""
    if not base_url:
        return None
    parts = urlsplit(base_url)
    try:
        url_port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return f"base_url {base_url!r} has no valid port; links in mails and feeds will be broken"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"base_url {base_url!r} is not an http(s) address; links in mails and feeds will be broken"
    if (parts.hostname in _LOOPBACK or parts.hostname.startswith("127.")) and url_port != port:
        return (
            f"base_url {base_url} names port {url_port} but this server listens on port {port}: "
            "links in mails and feeds will not reach it (unset PAPERFEED_BASE_URL to derive it)"
        )
    return None


def register(app: typer.Typer) -> None:
    app.command("serve")(serve_command)
