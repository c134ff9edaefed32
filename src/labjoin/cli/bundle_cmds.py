"""``labjoin export`` and ``labjoin import``: move a restricted part of a pipeline as one SQLite file."""

from __future__ import annotations

import click

from ..errors import DataJointError
from .common import connect, fail, table_of, url_option

__all__ = ["export_cmd", "import_cmd"]


@click.command("export")
@click.argument("table", metavar="SCHEMA.Table")
@click.argument("bundle", type=click.Path(dir_okay=False))
@url_option
@click.option("--where", "-w", "restrictions", multiple=True, metavar="CONDITION",
              help="Restrict the rows (a SQL condition, e.g. \"subject_nickname='m1'\"). Repeat to AND them.")
@click.option("--downstream", is_flag=True, help="Also export every row that depends on the exported rows.")
@click.option("--overwrite", is_flag=True, help="Replace BUNDLE if it exists.")
def export_cmd(table: str, bundle: str, url: str | None, restrictions: tuple[str, ...], downstream: bool,
               overwrite: bool) -> None:
    """Export rows of SCHEMA.Table, with everything they reference, into the SQLite file BUNDLE."""
    import labjoin as dj

    conn = connect(url)
    query = table_of(conn, table)
    for condition in restrictions:
        query = query & condition
    try:
        report = dj.export(query, bundle, downstream=downstream, overwrite=overwrite)
    except DataJointError as e:
        fail(e)
    click.echo(str(report))


@click.command("import")
@click.argument("bundle", type=click.Path(exists=True, dir_okay=False))
@url_option
def import_cmd(bundle: str, url: str | None) -> None:
    """Load the bundle BUNDLE into the database: declare missing tables, skip rows that exist."""
    import labjoin as dj

    try:
        report = dj.import_(bundle, connection=connect(url))
    except DataJointError as e:
        fail(e)
    click.echo(str(report))
