"""``labjoin worker`` and ``labjoin jobs``: run populate in a loop, and see what the job tables hold."""

from __future__ import annotations

import sys

import click

__all__ = ["jobs", "worker"]

_url = click.option("--url", envvar="LABJOIN_DATABASE_URL", default=None,
                    help="Database URL (sqlite:///file, postgresql://..., mysql://...). "
                         "Default: the configured one (see `labjoin config`).")


def _connect(url: str | None) -> object:
    import labjoin as dj

    return dj.conn(url=url) if url else dj.conn()


@click.command()
@click.argument("targets", nargs=-1, required=True, metavar="MODULE[.Table] ...")
@_url
@click.option("--every", default="10m", show_default=True, help="Start a new cycle this often (30s, 10m, 1h).")
@click.option("--once", is_flag=True, help="Run one cycle and stop.")
@click.option("--max-duration", default=None, help="Stop after this long (e.g. 8h); a running make finishes.")
@click.option("--reserve/--no-reserve", default=True, show_default=True,
              help="Reserve keys in the schema's ~jobs table (needed when several workers run).")
@click.option("--order", type=click.Choice(["original", "reverse", "random"]), default="random",
              show_default=True, help="Order of keys (random spreads many workers over the keys).")
@click.option("--batch", type=click.IntRange(min=1), default=100, show_default=True,
              help="Keys per populate call (the stop conditions are checked between calls).")
def worker(targets: tuple[str, ...], url: str | None, every: str, once: bool, max_duration: str | None,
           reserve: bool, order: str, batch: int) -> None:
    """Populate the auto-populated tables of MODULE (or MODULE.Table) in a loop.

    Logs one JSON object per line to stdout. Run it on as many machines as you like against one
    PostgreSQL or MySQL server: they share the work through the schemas' ~jobs tables.
    """
    from ..populate.worker import WorkerSettings, parse_duration, resolve_targets, run_worker

    _connect(url)  # the default connection that pipeline modules bind to when imported
    if "" not in sys.path:
        sys.path.insert(0, "")  # modules in the current directory, as `python -m` finds them
    settings = WorkerSettings(every=parse_duration(every) or 0.0, once=once, max_duration=parse_duration(max_duration),
                              reserve=reserve, order=order, batch=batch)
    status = run_worker(resolve_targets(targets), settings)
    if status:
        raise SystemExit(status)


@click.command()
@click.argument("schemas", nargs=-1, metavar="[SCHEMA] ...")
@_url
def jobs(schemas: tuple[str, ...], url: str | None) -> None:
    """List reserved and error jobs by table, with the first line of each error."""
    from ..populate.jobs import jobs_overview

    entries = jobs_overview(_connect(url), schemas or None)
    if not entries:
        click.echo("no reserved or error jobs")
        return
    current = None
    for e in entries:
        table = f"{e.schema}.{e.table_name}"
        if table != current:
            current = table
            here = [x for x in entries if (x.schema, x.table_name) == (e.schema, e.table_name)]
            n_res = sum(x.status == "reserved" for x in here)
            click.echo(f"{table}: {n_res} reserved, {len(here) - n_res} error")
        where = f"{e.host}:{e.pid}" + (" (stale: its worker is gone)" if e.stale else "")
        detail = e.first_line if e.status == "error" else where
        click.echo(f"  {e.status:8s} {_key_text(e.key)}  {detail}  [{e.timestamp}]")


def _key_text(key: object) -> str:
    if isinstance(key, dict):
        return ", ".join(f"{k}={v}" for k, v in key.items())
    return str(key)
