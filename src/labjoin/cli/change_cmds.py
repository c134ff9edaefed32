"""``labjoin alter``, ``labjoin export`` and ``labjoin import``: the commands that change a database's
tables or move rows between databases."""

from __future__ import annotations

import click

from ..errors import DataJointError
from .common import connect, fail, load_class, table_of, url_option

__all__ = ["alter", "export_cmd", "import_cmd"]


@click.command()
@click.argument("target", metavar="MODULE.Table")
@url_option
@click.option("--yes", "-y", is_flag=True, help="Apply without asking.")
@click.option("--force", is_flag=True, help="Also make changes that discard stored values (dropped columns, "
                                            "narrowed types).")
@click.option("--dry-run", is_flag=True, help="Show the plan and change nothing.")
def alter(target: str, url: str | None, yes: bool, force: bool, dry_run: bool) -> None:
    """Alter the table of MODULE.Table to match its class definition.

    Imports MODULE (from the current directory first), compares the class's definition with the
    database, prints the plan (changes, effect on existing rows and dependent tables, the SQL),
    asks, and applies it. See docs/alter.md for what can change.
    """
    from ..migrate import apply_plan, plan_alter

    connect(url)  # the default connection: the pipeline module binds to it when imported
    try:
        cls = load_class(target)
        plan = plan_alter(cls, force=force)
    except DataJointError as e:
        fail(e)
    click.echo(plan.render())
    if plan.empty or dry_run:
        return
    if plan.blockers:
        raise click.ClickException("The plan cannot be applied (see above); nothing was changed.")
    if plan.losses and not force:
        raise click.ClickException("The plan would lose data (see above); nothing was changed. "
                                   "Run again with --force to accept.")
    if not yes:
        click.confirm("Apply these changes?", abort=True)
    try:
        apply_plan(cls().connection, plan)
    except DataJointError as e:
        fail(e)
    click.echo(f"altered {cls.__name__}")


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
