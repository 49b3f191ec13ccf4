"""`paperfeed admin`: accounts only the server's operator may manage (administrators, suspensions)."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from paperfeed.cli.common import console, open_core
from paperfeed.errors import InvalidInput

admin_app = typer.Typer(
    help="Manage user accounts: create administrators, suspend users.", no_args_is_help=True
)

DatabaseOption = Annotated[
    str | None, typer.Option(help="Database URL (default: PAPERFEED_DATABASE_URL or SQLite).")
]


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise InvalidInput("no password on standard input")
        return password
    return typer.prompt("Password", hide_input=True, confirmation_prompt=True)


@admin_app.command("create-user")
def create_user(
    name: Annotated[str, typer.Argument(help="The user name (2-32 letters, digits, '.', '_' or '-').")],
    admin: Annotated[
        bool, typer.Option("--admin", help="Make the user an administrator (moderator).")
    ] = False,
    password_stdin: Annotated[
        bool,
        typer.Option("--password-stdin", help="Read the password from the first line of standard input."),
    ] = False,
    database_url: DatabaseOption = None,
) -> None:
    """Create an account; the password is asked for (twice) unless given on standard input."""
    password = _read_password(password_stdin)
    user = open_core(database_url, create=True).create_user(name, password, admin=admin)
    console.print(
        f"created {'administrator' if user.is_admin else 'user'} [bold]{user.name}[/]", highlight=False
    )


@admin_app.command("suspend")
def suspend(
    name: Annotated[str, typer.Argument(help="The user to suspend.")],
    undo: Annotated[bool, typer.Option("--undo", help="Reinstate the user instead.")] = False,
    database_url: DatabaseOption = None,
) -> None:
    """Suspend a user: logged out everywhere, unable to log in, vote, comment or submit."""
    user = open_core(database_url).set_suspended(name, not undo)
    console.print(f"{'reinstated' if undo else 'suspended'} [bold]{user.name}[/]", highlight=False)


def register(app: typer.Typer) -> None:
    app.add_typer(admin_app, name="admin")
