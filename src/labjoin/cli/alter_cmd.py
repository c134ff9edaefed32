"""``labjoin alter MODULE.Table``: show the plan that brings a table in line with its class, then apply it."""

from __future__ import annotations

import click

from ..errors import DataJointError
from .common import connect, fail, load_class, url_option

__all__ = ["alter"]


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
