"""`paperfeed digest`: send the due e-mail digests (from cron, any frequency) and show the ledger."""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated

import typer
from rich.table import Table

from paperfeed.cli.common import console, open_core
from paperfeed.errors import InvalidInput

digest_app = typer.Typer(help="E-mail digests: send the due ones, show what was sent and what failed.")


def _parse_now(text: str | None) -> dt.datetime:
    if not text:
        return dt.datetime.now(dt.UTC)
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(
            f"--now must be an ISO date and time like 2026-11-23T08:00:00+00:00, not {text!r}"
        ) from None
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment


@digest_app.command("run")
def run_command(
    now: Annotated[
        str | None, typer.Option(help="Act as if it were this moment (ISO 8601; default: now, UTC).")
    ] = None,
    database_url: Annotated[str | None, typer.Option(help="Database URL.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Send every digest that is due and not yet sent. Safe to run at any frequency, concurrently,
    and again after a crash: each subscription gets one digest per period."""
    from paperfeed.digest.runner import run_due

    core = open_core(database_url)
    try:
        report = run_due(core, _parse_now(now))
    finally:
        core.close()
    if as_json:
        console.print_json(json.dumps(report.as_dict()))
        return
    console.print(
        f"due {report.due} · sent {report.sent} · nothing new {report.empty} · retrying {report.retrying} · "
        f"failed {report.failed} · taken by another run {report.taken_by_others}"
    )
    for error in report.errors:
        console.print(f"  [yellow]{error}[/]", highlight=False)


@digest_app.command("status")
def status_command(
    database_url: Annotated[str | None, typer.Option(help="Database URL.")] = None,
    limit: Annotated[int, typer.Option(help="Rows of each list to show.")] = 50,
) -> None:
    """Show the send ledger: counts by status, digests that failed for good, and those waiting for a retry."""
    core = open_core(database_url)
    try:
        store = core.store.subscriptions
        counts = store.ledger_counts()
        active = len(store.active())
        failed = store.ledger(statuses=["failed"], limit=limit)
        retrying = [e for e in store.ledger(statuses=["pending"], limit=limit) if e.last_error]
    finally:
        core.close()
    summary = " · ".join(f"{n:,} {status}" for status, n in sorted(counts.items())) or "nothing sent yet"
    console.print(f"{active:,} active subscriptions · digests: {summary}")
    for title, rows, with_next in (("Failed", failed, False), ("Waiting for a retry", retrying, True)):
        if not rows:
            continue
        table = Table(title=title, title_justify="left")
        columns = ["subscription", "address", "period", "attempts", *(["next attempt"] if with_next else [])]
        for column in columns:
            table.add_column(column, no_wrap=True)
        table.add_column("error")
        for e in rows:
            cells = [str(e.subscription_id), e.email, e.period_key, str(e.attempts)]
            if with_next:
                cells.append(f"{e.next_attempt_at:%Y-%m-%d %H:%M} UTC")
            table.add_row(*cells, e.last_error or "")
        console.print(table)


def register(app: typer.Typer) -> None:
    app.add_typer(digest_app, name="digest")
