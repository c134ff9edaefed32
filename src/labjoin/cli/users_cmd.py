"""``labjoin users``: the navigator's accounts (add, passwd, remove, list, token)."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:  # the navigator imports FastAPI: load it only when a users command runs
    from ..navigator.users import UserStore

__all__ = ["users"]

_url = click.option("--url", envvar="LABJOIN_DATABASE_URL", default=None,
                    help="Database URL; default: the configured one (see `labjoin config`).")
_users_schema = click.option("--users-schema", default="navigator", show_default=True,
                             help="Schema that holds the navigator's accounts.")


def _store(url: str | None, schema: str) -> UserStore:
    from ..connection.connection import conn
    from ..navigator.users import UserStore

    return UserStore(conn(url=url) if url else conn(), schema)


def _password(prompt: str, from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    return str(click.prompt(prompt, hide_input=True, confirmation_prompt=True))


@click.group()
def users() -> None:
    """Navigator accounts: add, passwd, remove, list, token."""


@users.command("add")
@click.argument("username")
@click.option("--role", type=click.Choice(["member", "admin"]), default="member", show_default=True)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input (for scripts).")
@_url
@_users_schema
def users_add(username: str, role: str, password_stdin: bool, url: str | None, users_schema: str) -> None:
    """Create an account."""
    store = _store(url, users_schema)
    store.add(username, _password("Password", password_stdin), role)
    click.echo(f"added {username} ({role})")


@users.command("passwd")
@click.argument("username")
@click.option("--role", type=click.Choice(["member", "admin"]), default=None, help="Also change the role.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input (for scripts).")
@_url
@_users_schema
def users_passwd(username: str, role: str | None, password_stdin: bool, url: str | None, users_schema: str) -> None:
    """Set a new password (this logs the user out everywhere and revokes their API tokens)."""
    store = _store(url, users_schema)
    store.passwd(username, _password("New password", password_stdin), role)
    click.echo(f"changed the password of {username}")


@users.command("remove")
@click.argument("username")
@_url
@_users_schema
def users_remove(username: str, url: str | None, users_schema: str) -> None:
    """Delete an account and its API tokens."""
    _store(url, users_schema).remove(username)
    click.echo(f"removed {username}")


@users.command("list")
@_url
@_users_schema
def users_list(url: str | None, users_schema: str) -> None:
    """List the accounts and their roles."""
    for u in _store(url, users_schema).list():
        click.echo(f"{u.username:32s} {u.role}")


@users.command("token")
@click.argument("username")
@click.option("--label", default="", help="What the token is for.")
@_url
@_users_schema
def users_token(username: str, label: str, url: str | None, users_schema: str) -> None:
    """Create an API token for scripts (printed once; only its digest is stored)."""
    click.echo(_store(url, users_schema).new_token(username, label))
