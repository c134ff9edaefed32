"""``labjoin demo``: a small pipeline, end to end, on the default embedded SQLite database."""

from __future__ import annotations

import datetime as dt

import click
import numpy as np


@click.command()
@click.option("--url", envvar="LABJOIN_DATABASE_URL", default=None,
              help="Database URL; default: the embedded SQLite file.")
@click.option("--schema", "schema_name", default="labjoin_demo", show_default=True)
@click.option("--sessions", default=20, show_default=True, help="Sessions to create per mouse.")
def demo(url: str | None, schema_name: str, sessions: int) -> None:
    """Declare a small lab pipeline, insert mice, sessions and trials, populate, and query."""
    import labjoin as dj

    conn = dj.conn(url=url) if url else dj.conn()
    click.echo(f"database: {conn!r}")
    schema = dj.Schema(schema_name, connection=conn)

    @schema
    class Mouse(dj.Manual):
        definition = """
        # a mouse in the lab
        mouse: varchar(16)
        ---
        sex: enum('M', 'F')
        """

    @schema
    class Session(dj.Manual):
        definition = """
        -> Mouse
        session_date: date
        ---
        n_trials: int
        """

        class Trial(dj.Part):
            definition = """
            -> master
            trial: int
            ---
            contrast: float
            correct: bool
            rt: float      # seconds
            """

    @schema
    class Performance(dj.Computed):
        definition = """
        -> Session
        ---
        accuracy: float
        median_rt: float
        """

        def make(self, key):
            correct, rt = (Session.Trial & key).fetch("correct", "rt")
            self.insert1(dict(key, accuracy=float(np.mean(correct)), median_rt=float(np.median(rt))))

    rng = np.random.default_rng(0)
    mice = [("m1", "M"), ("m2", "F"), ("m3", "F")]
    Mouse.insert(mice, skip_duplicates=True)
    start = dt.date(2026, 1, 5)
    for mouse, _ in mice:
        for day in range(sessions):
            key = dict(mouse=mouse, session_date=start + dt.timedelta(days=day))
            if key in Session:
                continue
            n = int(rng.integers(200, 400))
            contrast = rng.choice([-1, -0.25, -0.125, 0, 0.125, 0.25, 1], n)
            p = 0.5 + 0.45 * np.tanh(5 * np.abs(contrast)) * min(1.0, day / 10)
            with conn.transaction:
                Session.insert1(dict(key, n_trials=n))
                Session.Trial.insert(dict(key, trial=i, contrast=float(contrast[i]), correct=bool(rng.random() < p[i]),
                                          rt=float(rng.lognormal(-1, 0.4))) for i in range(n))
    result = Performance.populate(display_progress=True)
    click.echo(f"populated {result['success_count']} sessions")
    summary = Mouse.aggr(Performance, sessions="count(*)", accuracy="avg(accuracy)")
    click.echo(summary)
    click.echo(f"schema {schema_name!r} is in {conn!r}")
