"""``labjoin admin``: accounts, roles, per-schema grants and sessions on PostgreSQL and MySQL."""

from __future__ import annotations

import sys

import click

from ..errors import DataJointError
from .common import connect, fail, url_option

__all__ = ["admin"]


def _password(from_stdin: bool, none: bool) -> str | None:
    if none:
        return None
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    if not sys.stdin.isatty():
        raise click.ClickException("No terminal to ask for the password on: pass --password-stdin and send "
                                   "it on standard input, or --no-password.")
    return str(click.prompt("Password", hide_input=True, confirmation_prompt=True))


@click.group()
def admin() -> None:
    """Accounts, roles, grants and sessions (PostgreSQL and MySQL; not applicable on SQLite)."""


@admin.group()
def user() -> None:
    """Login accounts: create, drop, list."""


@user.command("create")
@click.argument("name", metavar="NAME[@HOST]")
@url_option
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input (for scripts).")
@click.option("--no-password", is_flag=True, help="Create the account without a password.")
def user_create(name: str, url: str | None, password_stdin: bool, no_password: bool) -> None:
    """Create the account NAME (MySQL: NAME@HOST, host % by default)."""
    from .. import admin as lib

    password = _password(password_stdin, no_password)
    try:
        lib.create_user(name, password, connection=connect(url))
    except DataJointError as e:
        fail(e)
    click.echo(f"created user {name}")


@user.command("drop")
@click.argument("name", metavar="NAME[@HOST]")
@url_option
def user_drop(name: str, url: str | None) -> None:
    """Drop the account NAME and its privileges."""
    from .. import admin as lib

    try:
        lib.drop_user(name, connection=connect(url))
    except DataJointError as e:
        fail(e)
    click.echo(f"dropped user {name}")


@user.command("list")
@url_option
def user_list(url: str | None) -> None:
    """List the accounts and roles on the server."""
    from .. import admin as lib

    try:
        rows = lib.list_users(connection=connect(url))
    except DataJointError as e:
        fail(e)
    for r in rows:
        kind = "user" if r["login"] else "role"
        click.echo(f"{r['name']:40s} {kind:5s} {', '.join(r['roles'])}")


@admin.group()
def role() -> None:
    """Roles: create, drop, and give a role to a user."""


@role.command("create")
@click.argument("name")
@url_option
def role_create(name: str, url: str | None) -> None:
    """Create the role NAME (grant it access with `labjoin admin grant`)."""
    from .. import admin as lib

    try:
        lib.create_role(name, connection=connect(url))
    except DataJointError as e:
        fail(e)
    click.echo(f"created role {name}")


@role.command("drop")
@click.argument("name")
@url_option
def role_drop(name: str, url: str | None) -> None:
    """Drop the role NAME."""
    from .. import admin as lib

    try:
        lib.drop_role(name, connection=connect(url))
    except DataJointError as e:
        fail(e)
    click.echo(f"dropped role {name}")


@role.command("add")
@click.argument("role_name", metavar="ROLE")
@click.argument("user_name", metavar="USER")
@url_option
def role_add(role_name: str, user_name: str, url: str | None) -> None:
    """Make USER a member of ROLE (it gets the role's access)."""
    from .. import admin as lib

    try:
        lib.grant_role(role_name, user_name, connection=connect(url))
    except DataJointError as e:
        fail(e)
    click.echo(f"{user_name} is a member of {role_name}")


@admin.command("grant")
@click.argument("name", metavar="NAME")
@click.argument("schema")
@url_option
@click.option("--read-only", "access", flag_value="read-only", default=True, help="Read every table (default).")
@click.option("--read-write", "access", flag_value="read-write", help="Also insert, update and delete rows.")
def grant(name: str, schema: str, url: str | None, access: str) -> None:
    """Give the user or role NAME read-only or read-write access to SCHEMA (replacing its earlier access)."""
    from .. import admin as lib

    try:
        lib.grant(name, schema, access, connection=connect(url))
    except DataJointError as e:
        fail(e)
    click.echo(f"{name}: {access} on {schema}")


@admin.command("revoke")
@click.argument("name", metavar="NAME")
@click.argument("schema")
@url_option
def revoke(name: str, schema: str, url: str | None) -> None:
    """Take away every privilege the user or role NAME has on SCHEMA."""
    from .. import admin as lib

    try:
        lib.revoke(name, schema, connection=connect(url))
    except DataJointError as e:
        fail(e)
    click.echo(f"{name}: no access to {schema}")


@admin.command("connections")
@url_option
@click.option("--user", "user_name", default=None, help="Only this user's sessions.")
def connections(url: str | None, user_name: str | None) -> None:
    """List the other sessions on the server."""
    from .. import admin as lib

    try:
        rows = lib.list_connections({"user": user_name} if user_name else None, connection=connect(url))
    except DataJointError as e:
        fail(e)
    click.echo(lib.sessions._table(rows))


@admin.command("kill")
@click.argument("ids", nargs=-1, type=int, required=True, metavar="ID...")
@url_option
def kill(ids: tuple[int, ...], url: str | None) -> None:
    """End the sessions with these ids (see `labjoin admin connections`)."""
    from .. import admin as lib

    conn = connect(url)
    for i in ids:
        try:
            lib.kill_connection(i, connection=conn)
        except DataJointError as e:
            fail(e)
        click.echo(f"ended session {i}")
