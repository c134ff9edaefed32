"""The ``labjoin`` command: a thin layer over the library (each command opens a connection, calls
one library function and prints the result).

Each command lives in its own module and is registered below with one ``cli.add_command`` line;
every command must be documented in docs/cli.md (tests/unit/test_cli_docs.py checks it).
"""

from __future__ import annotations

import click

from . import (
    admin_cmd,
    browse,
    change_cmds,
    config_cmd,
    gc_cmd,
    populate_cmds,
    serve_cmd,
    users_cmd,
)
from .common import url_option
from .demo import demo

__all__ = ["cli", "main", "url_option"]


@click.group()
@click.version_option(package_name="labjoin")
def cli() -> None:
    """labjoin: relational data pipelines for experimental labs."""


cli.add_command(browse.schemas)
cli.add_command(browse.tables)
cli.add_command(browse.describe)
cli.add_command(browse.diagram)
cli.add_command(browse.shell)
cli.add_command(change_cmds.alter)
cli.add_command(change_cmds.export_cmd)
cli.add_command(change_cmds.import_cmd)
cli.add_command(config_cmd.config)
cli.add_command(admin_cmd.admin)
cli.add_command(demo)
cli.add_command(populate_cmds.worker)
cli.add_command(populate_cmds.jobs)
cli.add_command(serve_cmd.serve)
cli.add_command(users_cmd.users)
cli.add_command(gc_cmd.gc)


def main() -> None:
    cli()
