"""``labjoin gc``: remove stored objects that no row references any more."""

from __future__ import annotations

import click

__all__ = ["gc"]


@click.command()
@click.argument("schema")
@click.option("--store", "stores", multiple=True, metavar="NAME",
              help="Collect only this store (repeatable). Default: every configured store and every store "
                   "the schema tracks.")
@click.option("--dry-run", is_flag=True, help="List what would be removed; change nothing.")
@click.option("--min-age", type=click.FloatRange(min=0), default=3600.0, show_default=True, metavar="SECONDS",
              help="Keep objects younger than this: an insert in progress uploads its objects before its rows "
                   "commit. Use 0 only when nothing writes to the schema.")
@click.option("--verbose", "-v", is_flag=True, help="List every object removed.")
@click.option("--url", envvar="LABJOIN_DATABASE_URL", default=None,
              help="Database URL; default: the configured one (see `labjoin config`).")
def gc(schema: str, stores: tuple[str, ...], dry_run: bool, min_age: float, verbose: bool, url: str | None) -> None:
    """Remove the objects of SCHEMA's stores that no row of any table references.

    Objects still used by any row of any table in the database (any schema, any store configured
    on the same location) are never removed.
    """
    from ..connection.connection import conn
    from ..stores.gc import collect_garbage

    report = collect_garbage(conn(url=url) if url else conn(), schema, stores=list(stores) or None,
                             dry_run=dry_run, min_age=min_age)
    for part in report.stores:
        if verbose or dry_run:
            for key in part.objects:
                click.echo(f"{'would remove' if dry_run else 'removed'} {part.store}:{key}")
    click.echo(report.summary())
    if report.failed:
        raise SystemExit(1)
