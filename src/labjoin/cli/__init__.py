"""The ``labjoin`` command: a thin layer over the library (each command opens a connection, calls
one library function and prints the result)."""

from __future__ import annotations

import click

from . import gc_cmd, populate_cmds, serve_cmd, users_cmd
from .demo import demo

__all__ = ["cli", "main"]


def _connection(url: str | None) -> object:
    import labjoin as dj

    return dj.conn(url=url) if url else dj.conn()


url_option = click.option("--url", envvar="LABJOIN_DATABASE_URL", default=None,
                          help="Database URL (sqlite:///file, postgresql://..., mysql://...). "
                               "Default: the configured one (see `labjoin config`).")


@click.group()
@click.version_option(package_name="labjoin")
def cli() -> None:
    """labjoin: relational data pipelines for experimental labs."""


@cli.command()
@url_option
def schemas(url: str | None) -> None:
    """List the schemas in the database."""
    import labjoin as dj

    for name in dj.list_schemas(_connection(url)):  # type: ignore[arg-type]
        click.echo(name)


@cli.command()
@url_option
@click.argument("schema")
def tables(url: str | None, schema: str) -> None:
    """List the tables of SCHEMA with their tiers and row counts."""
    import labjoin as dj

    vm = dj.VirtualModule(schema, schema, connection=_connection(url))  # type: ignore[arg-type]
    for name in vm.schema.list_tables():
        t = dj.FreeTable(vm.schema.connection, f"`{schema}`.`{name}`")
        click.echo(f"{name:40s} {t.tier:9s} {len(t):>10d}")


@cli.command()
def config() -> None:
    """Show every setting, its value and where it comes from."""
    from ..settings import config as cfg

    for row in cfg.describe():
        click.echo(f"{row.key:40s} {row.value!r:40.40s} {row.source}")


cli.add_command(demo)
cli.add_command(populate_cmds.worker)
cli.add_command(populate_cmds.jobs)
cli.add_command(serve_cmd.serve)
cli.add_command(users_cmd.users)
cli.add_command(gc_cmd.gc)


def main() -> None:
    cli()
