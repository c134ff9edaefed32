"""``labjoin demo``: the lab pipeline end to end (brainlab) on the default database.

It simulates a cohort (2 labs x 6 mice x 40 days; ``--small``: 1 mouse), ingests it day by day
into the default embedded SQLite database (or ``--url``), populates every table with progress
bars and prints what it created and where. The work is in :mod:`brainlab.demo`; brainlab is
imported only when the command runs.
"""

from __future__ import annotations

from pathlib import Path

import click


@click.command()
@click.option("--url", envvar="LABJOIN_DATABASE_URL", default=None,
              help="Database URL; default: the embedded SQLite file.")
@click.option("--data", "data_dir", type=click.Path(file_okay=False), default=None,
              help="Folder for the simulated cohort (default: next to the SQLite file).")
@click.option("--small", is_flag=True, help="A one-mouse cohort (CI, a quick look).")
@click.option("--prefix", default=None, help="Schema-name prefix (default: brainlab_).")
@click.option("--keep", is_flag=True, help="Continue an existing demo instead of starting from empty schemas.")
def demo(url: str | None, data_dir: str | None, small: bool, prefix: str | None, keep: bool) -> None:
    """Simulate a lab, ingest it day by day, populate everything, and show what was made."""
    from brainlab.demo import run_and_report

    run_and_report(url, Path(data_dir) if data_dir else None, small, prefix, keep, click.echo)
    _demo_account(url)


def _demo_account(url: str | None) -> None:
    """Give a fresh database one admin account, so the navigator's member pages can be opened."""
    import secrets

    import labjoin as dj
    from labjoin.navigator.users import UserStore

    store = UserStore(dj.conn(url=url) if url else dj.conn()).ensure()
    if store.list():
        click.echo("navigator: log in with an existing account (`labjoin users list`).")
        return
    password = secrets.token_urlsafe(9)
    store.add("demo", password, role="admin")
    click.echo(f"navigator: created the account demo / {password} (admin). "
               "Change it with `labjoin users passwd demo`.")
