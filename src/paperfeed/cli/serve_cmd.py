"""`paperfeed serve`: the web UI and JSON API."""

from __future__ import annotations

from typing import Annotated

import typer

from paperfeed.cli.common import console, open_core


def serve_command(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    database_url: Annotated[str | None, typer.Option(help="Database URL.")] = None,
) -> None:
    """Serve the web UI and the JSON API (OpenAPI docs at /api/docs)."""
    import uvicorn

    from paperfeed.web.app import create_app

    core = open_core(database_url)
    core.ensure_indexes()
    console.print(f"paperfeed on [bold]http://{host}:{port}/[/] ({core.store.safe_url})")
    uvicorn.run(create_app(core), host=host, port=port, log_level="info", proxy_headers=True)


def register(app: typer.Typer) -> None:
    app.command("serve")(serve_command)
