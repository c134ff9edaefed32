"""The ``brainlab`` command: daily ingestion and population (a thin layer over the library).

::

    brainlab ingest --data DIR            # ingest the LIMS snapshots not yet ingested
    brainlab daily  --data DIR            # ingest, then populate, figures and lab summaries
    brainlab populate --data DIR          # populate everything (no ingestion)
    brainlab jobs                         # the latest runs and their steps
    brainlab deletions [--apply]          # deletions left pending by the safe policy
    brainlab validate --data DIR          # the stored results against the simulator's truth

Options shared by every command: ``--url`` (database; default the configured one, i.e. the
embedded SQLite file) and ``--prefix`` (schema-name prefix; default ``BRAINLAB_SCHEMA_PREFIX``
or ``brainlab_``). Scheduling: see docs/brainlab.md (a cron line, or ``labjoin worker``).
"""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

__all__ = ["cli", "main"]


def _common(f: Callable[..., Any]) -> Callable[..., Any]:
    f = click.option("--prefix", default=None, help="Schema-name prefix (default: BRAINLAB_SCHEMA_PREFIX or "
                     "'brainlab_').")(f)
    return click.option("--url", envvar="LABJOIN_DATABASE_URL", default=None,
                        help="Database URL (default: the configured database).")(f)


def _activate(url: str | None, prefix: str | None) -> Any:
    import labjoin as dj

    from . import schemas

    conn = dj.Connection(url) if url else dj.conn()
    return schemas.activate(prefix=prefix, connection=conn)


def _dates(values: tuple[str, ...]) -> list[dt.date] | None:
    return [dt.date.fromisoformat(v) for v in values] or None


@click.group()
def cli() -> None:
    """brainlab: the lab pipeline (daily ingestion, population, figures)."""


@cli.command()
@_common
@click.option("--data", "data_dir", required=True, type=click.Path(exists=True, file_okay=False),
              help="Data folder: lims/ snapshots and the ALF files.")
@click.option("--date", "dates", multiple=True, help="Ingest this snapshot date (YYYY-MM-DD); repeatable.")
@click.option("--policy", type=click.Choice(["record", "safe", "cascade"]), default="safe", show_default=True,
              help="What to do with records deleted in the LIMS.")
def ingest(url: str | None, prefix: str | None, data_dir: str, dates: tuple[str, ...], policy: str) -> None:
    """Ingest LIMS snapshots (each not yet ingested, oldest first)."""
    from .ingest.daily import ingest as run

    _activate(url, prefix)
    results = run(Path(data_dir), dates=_dates(dates), policy=policy, progress=click.echo)
    if not results:
        click.echo("Nothing to ingest: every snapshot is already in.")


@cli.command()
@_common
@click.option("--data", "data_dir", required=True, type=click.Path(exists=True, file_okay=False))
@click.option("--date", "dates", multiple=True, help="Run for this snapshot date; repeatable.")
@click.option("--policy", type=click.Choice(["record", "safe", "cascade"]), default="safe", show_default=True)
@click.option("--backtrack-days", default=30, show_default=True, help="Populate sessions of the last N days.")
@click.option("--progress/--no-progress", default=False, help="Progress bars per table.")
def daily(url: str | None, prefix: str | None, data_dir: str, dates: tuple[str, ...], policy: str,
          backtrack_days: int, progress: bool) -> None:
    """Ingest, populate behaviour, analyses and figures, regenerate cumulative figures, summarise labs."""
    from .ingest.daily import run_daily

    _activate(url, prefix)
    for job_id, result, report in run_daily(Path(data_dir), dates=_dates(dates), policy=policy,
                                            backtrack_days=backtrack_days, display_progress=progress,
                                            progress=click.echo):
        made = sum(report.made.values())
        click.echo(f"job {job_id}: {made} rows populated, {report.n_errors} errors, "
                   f"{result.deletions_pending} deletions pending")


@cli.command()
@_common
@click.option("--data", "data_dir", required=True, type=click.Path(exists=True, file_okay=False))
@click.option("--progress/--no-progress", default=True)
def populate(url: str | None, prefix: str | None, data_dir: str, progress: bool) -> None:
    """Populate every pipeline table (all sessions), then the cumulative figures and summaries."""
    from . import settings, subject
    from .ingest.daily import populate as run
    from .plotting.cumulative import daily_summary, update_cumulative

    _activate(url, prefix)
    settings.set_data_root(data_dir)
    report = run(display_progress=progress)
    update_cumulative([str(s) for s in subject.Subject.fetch("subject_uuid")])
    daily_summary()
    click.echo(f"{sum(report.made.values())} rows populated, {report.n_errors} errors")
    for table, errs in report.errors.items():
        click.echo(f"  {table}: {errs[0]}" + (f" (+{len(errs) - 1} more)" if len(errs) > 1 else ""))


@cli.command()
@_common
@click.option("--limit", default=5, show_default=True)
def jobs(url: str | None, prefix: str | None, limit: int) -> None:
    """The latest runs and the timing of their steps."""
    from .ingest import bookkeeping as bk

    _activate(url, prefix)
    for job in bk.Job.fetch(as_dict=True, order_by="job_id DESC", limit=limit):
        click.echo(f"job {job['job_id']} {job['command']} {job['snapshot_date']} {job['job_status']}: "
                   f"{job['n_created']} created, {job['n_modified']} modified, {job['n_deleted']} deleted")
        for step in (bk.Job.Step * bk.Task & {"job_id": job["job_id"]}).fetch(as_dict=True, order_by="task_order"):
            click.echo(f"    {step['task']:<20} {step['duration_s'] or 0:8.2f} s  {step['step_status']}")


@cli.command()
@_common
@click.option("--apply", "do_apply", is_flag=True, help="Apply the pending deletions (and what derives from them).")
def deletions(url: str | None, prefix: str | None, do_apply: bool) -> None:
    """List deletions the safe policy left pending; --apply deletes them with their derived data."""
    from .ingest import bookkeeping as bk
    from .ingest.apply import apply_pending
    from .ingest.daily import JobRecorder

    activation = _activate(url, prefix)
    pending = (bk.DeletionRecord & 'deletion_status = "pending"').fetch(as_dict=True)
    for row in pending:
        click.echo(f"{row['model']} {row['pk']}: {row['narrative']}")
    if not pending:
        click.echo("No pending deletion.")
        return
    if do_apply:
        job = JobRecorder("deletions")
        with job.step("apply_deleted") as detail:
            result = apply_pending(activation.connection, job.job_id, "cascade")
            detail.update(records=result.deleted)
        job.finish(result)
        click.echo(f"Applied {result.deleted} deletions (recorded in ingest.DeletionRecord, job {job.job_id}).")


@cli.command()
@_common
@click.option("--data", "data_dir", required=True, type=click.Path(exists=True, file_okay=False),
              help="The simulated cohort this database was ingested from.")
@click.option("--n-boot", default=100, show_default=True, help="Bootstrap replicates per block fit.")
@click.option("--min-trials", default=400, show_default=True, help="Leave out sessions with fewer trials.")
@click.option("--family-level", default=0.95, show_default=True,
              help="Level of a session's simultaneous intervals.")
@click.option("--method", type=click.Choice(["normal", "percentile"]), default="normal", show_default=True,
              help="normal: the fit plus or minus z times the replicates' SD (steady with few replicates); percentile needs many.")
@click.option("--workers", default=None, type=int, help="Processes for the bootstrap (default: every CPU).")
def validate(url: str | None, prefix: str | None, data_dir: str, n_boot: int, min_trials: int, family_level: float,
             method: str, workers: int | None) -> None:
    """Compare training statuses and psychometric fits with the simulator's ground truth."""
    import os

    from . import validate as v

    _activate(url, prefix)
    status = v.status_agreement(data_dir)
    click.echo(f"Training status: {status.n_agree} of {status.n_sessions} sessions agree with the truth "
               f"({status.fraction:.1%})")
    for d in status.disagreements:
        click.echo(f"  {d['date']} {d['session_uuid'][:8]}: stored {d['stored']}, true {d['true']}")
    for u in status.deleted_in_lims:
        click.echo(f"  session {u[:8]} was deleted in the LIMS; its deletion is pending (brainlab deletions)")
    report = v.fit_recovery(data_dir, min_trials=min_trials, n_boot=n_boot, family_level=family_level,
                            method=method, workers=workers or os.cpu_count() or 1)
    for line in report.lines():
        click.echo(line)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``brainlab`` console script."""
    from labjoin import errors

    try:
        cli.main(args=argv, standalone_mode=False)
    except click.ClickException as e:
        e.show()
        return e.exit_code
    except click.exceptions.Abort:
        return 1
    except errors.DataJointError as e:
        click.echo(f"Error: {e}", err=True)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
