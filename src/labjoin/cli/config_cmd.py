"""``labjoin config``: show every setting and where it comes from; ``set`` one in a config file;
``set-password`` in the OS keyring or labjoin's owner-only credentials file."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from ..errors import DataJointError
from .common import fail

__all__ = ["config"]


@click.group(invoke_without_command=True)
@click.pass_context
def config(ctx: click.Context) -> None:
    """Show every setting, its value and where it comes from (or change one: see the subcommands)."""
    if ctx.invoked_subcommand is not None:
        return
    from ..settings import config as cfg

    for row in cfg.describe():
        click.echo(f"{row.key:40s} {row.value!r:40.40s} {row.source}")


def _target_file(path: str | None, global_: bool, local: bool) -> Path:
    from ..settings.sources import GLOBAL_CONFIG, LOCAL_CONFIG, PROJECT_CONFIG, find_project_config, home_dir

    if path:
        return Path(path).expanduser()
    if global_:
        import os

        home = home_dir(os.environ)
        if home is None:
            raise click.ClickException("HOME is not set: give the file with --file.")
        return home / GLOBAL_CONFIG
    if local:
        return Path.cwd() / LOCAL_CONFIG
    return find_project_config(Path.cwd()) or Path.cwd() / PROJECT_CONFIG


def _value(key: str, text: str) -> Any:
    """The value of ``text`` for setting ``key``: parsed as that setting's environment variable is."""
    from ..settings.table import is_known, lookup

    if is_known(key):
        return lookup(key).parse(text, "the command line")
    try:
        return json.loads(text)
    except ValueError:
        return text


@config.command("set")
@click.argument("key")
@click.argument("value")
@click.option("--file", "path", type=click.Path(dir_okay=False), default=None,
              help="Config file to change. Default: the project's datajoint.json (searched upwards), "
                   "else ./datajoint.json.")
@click.option("--global", "global_", is_flag=True, help="Change ~/.datajoint_config.json (DataJoint 0.14's per-user file).")
@click.option("--local", is_flag=True, help="Change ./dj_local_conf.json (DataJoint 0.14's per-directory file).")
def config_set(key: str, value: str, path: str | None, global_: bool, local: bool) -> None:
    """Set KEY to VALUE in a config file (checked against the setting's type first)."""
    from ..settings.sources import read_json_object, write_file
    from ..settings.table import is_known, lookup, unknown_key_message

    if not is_known(key):
        raise click.ClickException(unknown_key_message(key))
    if lookup(key).secret:
        raise click.ClickException(f"{key} is a credential; store it with `labjoin config set-password`, "
                                   "not in a config file.")
    try:
        parsed = lookup(key).validate(_value(key, value), "the command line")
    except DataJointError as e:
        fail(e)
    target = _target_file(path, global_, local)
    data = read_json_object(target, "Config file") if target.exists() else {}
    nested = target.name == "datajoint.json" and key not in data
    if nested and "." in key:
        *groups, last = key.split(".")
        node = data
        for g in groups:
            child = node.get(g)
            if not isinstance(child, dict):
                child = node[g] = {}
            node = child
        node[last] = parsed
    else:
        data[key] = parsed
    write_file(target, json.dumps(data, indent=4) + "\n", private=False)
    click.echo(f"{key} = {parsed!r} in {target}")


@config.command("set-password")
@click.option("--user", default=None, help="Account name (default: the configured database.user).")
@click.option("--host", default=None, help="Server host (default: the configured database.host).")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input (for scripts).")
@click.option("--no-keyring", is_flag=True, help="Use labjoin's owner-only credentials file even if a keyring works.")
def config_set_password(user: str | None, host: str | None, password_stdin: bool, no_keyring: bool) -> None:
    """Remember the password for USER on HOST (OS keyring, else an owner-only file); never in a config file."""
    from ..credentials import store_password
    from ..settings import config as cfg

    user = user or cfg.get("database.user")
    host = (host or cfg.get("database.host") or "").split(":")[0]
    if not user or not host:
        raise click.ClickException("Name the account: --user NAME --host HOST (or configure database.user and "
                                   "database.host).")
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    elif sys.stdin.isatty():
        password = str(click.prompt(f"Password for {user}@{host}", hide_input=True, confirmation_prompt=True))
    else:
        raise click.ClickException("No terminal to ask for the password on: pass --password-stdin and send it "
                                   "on standard input.")
    try:
        where = store_password(user, host, password, use_keyring=not no_keyring)
    except DataJointError as e:
        fail(e)
    click.echo(f"stored the password for {user}@{host} in {'the OS keyring' if where == 'keyring' else where}")
