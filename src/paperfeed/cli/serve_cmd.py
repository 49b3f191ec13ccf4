"""`paperfeed serve`: the web UI and JSON API."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Annotated

import typer

from paperfeed.cli.common import console, open_core

if TYPE_CHECKING:
    from paperfeed.core import PaperFeed


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
) -> None:
    """Serve the web UI and the JSON API (OpenAPI docs at /api/docs).

    With --workers N, N processes share the port; each opens its own connections to the
    database. Meant for PostgreSQL; SQLite works too (readers never wait, writers take turns)."""
    import uvicorn

    from paperfeed.web.app import create_app

    core = open_core(database_url)
    host = host or core.settings.host
    port = port or core.settings.port
    core.ensure_indexes()
    console.print(f"paperfeed on [bold]http://{host}:{port}/[/] ({core.store.safe_url})")
    scheduler = None
    if with_scheduler or core.settings.digest_scheduler:
        from paperfeed.digest.scheduler import DigestScheduler

        scheduler = DigestScheduler(core).start()
    syncer = None
    if with_scheduler or core.settings.sync_scheduler:
        from paperfeed.ingest.sync import SyncScheduler

        syncer = SyncScheduler(core).start()
    try:
        if workers == 1:
            # workers=1 spelled out: uvicorn would otherwise take $WEB_CONCURRENCY.
            uvicorn.run(
                create_app(core), host=host, port=port, log_level="info", proxy_headers=True, workers=1
            )
        else:
            run_workers(core, host=host, port=port, workers=workers)
    finally:
        if scheduler is not None:
            scheduler.stop()
        if syncer is not None:
            syncer.stop()


def run_workers(core: PaperFeed, *, host: str, port: int, workers: int) -> None:
    """Serve from `workers` processes. This one has migrated the database and brought the indexes
    up to date; each worker then starts its own core from the same settings, read from the
    environment (a fresh process inherits no open connections)."""
    import uvicorn

    os.environ["PAPERFEED_DATA_DIR"] = str(core.settings.data_dir)
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
        proxy_headers=True,
    )


def register(app: typer.Typer) -> None:
    app.command("serve")(serve_command)
