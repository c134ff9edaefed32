"""The daily job: ingest the LIMS snapshots, populate, regenerate figures, summarise the labs.

Each run is a ``Job`` row with one ``Job.Step`` row per step (start, end, duration, detail),
IBL's ``ingest_job`` (reference §3.2). ``run_daily`` = :func:`ingest` of the snapshots not yet
ingested, then :func:`populate` of everything, restricted to recent sessions
(``backtrack_days``, 30 as in IBL), then the cumulative figures of subjects with new data and
the lab summaries.

Derived rows that new or deleted upstream data make stale are deleted and recomputed, and each
such deletion is counted in the step's detail:

* a TrialSet that arrives for a session older than sessions that already have a training
  status (files uploaded late) -> the subject's statuses from that session on;
* a new TrialSet on a date that already has a ``BehavioralSummaryByDate`` -> that date's
  summary (and its figures);
* a session removed by the ``cascade`` deletion policy -> the same, for its subject and date.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import labjoin as dj
from labjoin import errors

from .. import schemas, settings
from ..simulate.snapshots import load_snapshot
from . import bookkeeping as bk
from .apply import ApplyResult, apply_snapshot

__all__ = ["JobRecorder", "PopulateReport", "ingest", "pipeline_tables", "populate", "run_daily", "snapshots_in"]

Progress = Callable[[str], None]


def snapshots_in(data_dir: Path) -> list[tuple[dt.date, Path]]:
    """The LIMS snapshots of a data folder (``lims/<yyyy-mm-dd>_alyxfull.json``), oldest first."""
    folder = Path(data_dir) / "lims"
    out = []
    for path in sorted(folder.glob("*_alyxfull.json")):
        try:
            out.append((dt.date.fromisoformat(path.name[:10]), path))
        except ValueError:
            continue
    if not out:
        raise errors.DataError(f"No LIMS snapshot (lims/<yyyy-mm-dd>_alyxfull.json) in {data_dir}.")
    return out


class JobRecorder:
    """Creates a Job row and times its steps (each step row is committed on its own)."""

    def __init__(self, command: str, snapshot_date: dt.date | None = None) -> None:
        last = bk.Job.fetch("job_id", order_by="job_id DESC", limit=1)
        self.job_id = int(last[0]) + 1 if len(last) else 1
        bk.Job.insert1(dict(job_id=self.job_id, snapshot_date=snapshot_date, command=command, job_status="running",
                            job_start_time=_now()))
        self.details: dict[str, Any] = {}

    @contextlib.contextmanager
    def step(self, task: str) -> Iterator[dict[str, Any]]:
        detail: dict[str, Any] = {}
        start = _now()
        t0 = time.perf_counter()
        key = dict(job_id=self.job_id, task=task)
        bk.Job.Step.insert1(dict(key, step_start_time=start, step_status="running"), allow_direct_insert=True,
                            replace=True)
        try:
            yield detail
        except BaseException as e:
            bk.Job.Step.update1(dict(key, step_end_time=_now(), duration_s=time.perf_counter() - t0,
                                     step_status="failed", detail=f"{type(e).__name__}: {e}"[:4000]))
            raise
        bk.Job.Step.update1(dict(key, step_end_time=_now(), duration_s=time.perf_counter() - t0,
                                 step_status="completed", detail=json.dumps(detail, default=str)[:4000]))
        self.details[task] = detail

    def finish(self, result: ApplyResult | None = None, error: BaseException | None = None) -> None:
        row: dict[str, Any] = dict(job_id=self.job_id, job_end_time=_now(),
                                   job_status="failed" if error else "completed")
        if result is not None:
            row.update(n_created=result.created, n_modified=result.modified, n_deleted=result.deleted)
        if error is not None:
            row["message"] = "".join(traceback.format_exception_only(type(error), error))[:2000]
        bk.Job.update1(row)


def _now() -> dt.datetime:
    return dt.datetime.now().replace(microsecond=0)


def ingest(data_dir: Path | str, *, dates: list[dt.date] | None = None, through: dt.date | None = None,
           policy: str = "safe", progress: Progress | None = None) -> list[tuple[int, ApplyResult]]:
    """Ingest snapshots in date order: ``dates``, or every one after the last ingested.

    Returns ``[(job_id, ApplyResult), ...]``.
    """
    data_dir = Path(data_dir)
    settings.set_data_root(data_dir)
    conn = schemas.activate().connection if schemas.active() is None else schemas.active().connection
    available = snapshots_in(data_dir)
    if dates is not None:
        wanted = set(dates)
        todo = [(d, p) for d, p in available if d in wanted]
        unknown = wanted - {d for d, _ in todo}
        if unknown:
            raise errors.DataError(f"No snapshot for {sorted(unknown)[0]} in {data_dir / 'lims'}.")
    else:
        done = bk.Job & 'job_status = "completed"' & 'command in ("ingest", "daily")'
        last = done.fetch("snapshot_date", order_by="snapshot_date DESC", limit=1)
        todo = [(d, p) for d, p in available if not len(last) or d > last[0]]
    if through is not None:
        todo = [(d, p) for d, p in todo if d <= through]
    results = []
    for day, path in todo:
        results.append(ingest_one(conn, day, path, policy, command="ingest", progress=progress))
    return results


def ingest_one(conn: dj.Connection, day: dt.date, path: Path, policy: str, command: str = "ingest",
               progress: Progress | None = None, recorder: JobRecorder | None = None) -> tuple[int, ApplyResult]:
    """Apply one snapshot under a Job record."""
    job = recorder or JobRecorder(command, day)
    try:
        records = load_snapshot(path)
        result = apply_snapshot(conn, records, job.job_id, policy, step=job.step)
    except BaseException as e:
        job.finish(error=e)
        raise
    if recorder is None:
        job.finish(result)
    if progress:
        progress(f"{day}: {result.created} created, {result.modified} modified, {result.deleted} deleted, "
                 f"{result.updates} field updates, {result.errors} errors")
    return job.job_id, result


def pipeline_tables() -> dict[str, list[Any]]:
    """The populated tables, by daily step, in populate order."""
    from .. import ephys, histology, reference
    from ..analyses import behavior as ab
    from ..analyses import ephys as ae
    from ..behavior import (
        AmbientSensorData,
        CompleteTrialSession,
        CompleteWheelSession,
        SessionDelay,
        Settings,
        TrialSet,
        Wheel,
    )
    from ..group_shared import wheel
    from ..plotting import behavior as pb
    from ..plotting import ephys as pe

    return {
        "populate_behavior": [CompleteWheelSession, CompleteTrialSession, Wheel, TrialSet, Settings, SessionDelay,
                              AmbientSensorData, wheel.WheelMoveSet, wheel.MovementTimes],
        "populate_analyses": [ab.PsychResults, ab.PsychResultsBlock, ab.ReactionTime, ab.ReactionTimeContrastBlock,
                              ab.SessionTrainingStatus, ab.BehavioralSummaryByDate],
        "populate_ephys": [reference.ParentRegion, ephys.CompleteClusterSession, ephys.ChannelGroup,
                           ephys.DefaultCluster, ephys.GoodCluster, ephys.AlignedSpikes, histology.ProbeTrajectory,
                           histology.ChannelBrainLocation, histology.ClusterBrainRegion, histology.ProbeBrainRegion,
                           histology.DepthBrainRegion, ae.DepthPeth, ae.NormedDepthPeth, ae.Psth,
                           ae.AutoCorrelogram],
        "populate_plots": [pb.SessionPsychCurve, pb.SessionReactionTimeContrast, pb.SessionReactionTimeTrialNumber,
                           pb.DatePsychCurve, pb.DateReactionTimeContrast, pb.DateReactionTimeTrialNumber,
                           pb.WaterTypeColor, pe.Raster, pe.Psth, pe.DepthRaster, pe.DepthPeth, pe.SpikeAmpTime,
                           pe.AutoCorrelogram, pe.Waveform],
    }


@dataclass
class PopulateReport:
    """Rows made and errors per table."""

    made: dict[str, int] = field(default_factory=dict)
    errors: dict[str, list[str]] = field(default_factory=dict)
    invalidated: dict[str, int] = field(default_factory=dict)

    @property
    def n_errors(self) -> int:
        return sum(len(v) for v in self.errors.values())


def _recent(table: Any, cutoff: dt.date | None) -> list[Any]:
    if cutoff is None:
        return []
    heading = table.heading
    if "session_start_time" in heading.names:
        return [f'session_start_time >= "{cutoff.isoformat()}"']
    if "session_date" in heading.names:
        return [f'session_date >= "{cutoff.isoformat()}"']
    return []


def invalidate_stale(removed_sessions: list[dict[str, Any]] | None = None) -> dict[str, int]:
    """Delete derived rows made stale by new or removed sessions (see the module docstring)."""
    from ..analyses import behavior as ab
    from ..analyses.training import clear_cache
    from ..behavior import TrialSet

    counts = {"SessionTrainingStatus": 0, "BehavioralSummaryByDate": 0}
    fresh = (TrialSet.proj() - ab.PsychResults).fetch(as_dict=True)
    touched = [dict(k) for k in fresh] + [dict(k) for k in (removed_sessions or [])]
    if not touched:
        return counts
    earliest: dict[Any, dt.datetime] = {}
    for k in touched:
        s = k["subject_uuid"]
        earliest[s] = min(earliest.get(s, k["session_start_time"]), k["session_start_time"])
    for subj, start in earliest.items():
        stale = ab.SessionTrainingStatus & {"subject_uuid": subj} & f'session_start_time > "{start.isoformat(sep=" ")}"'
        counts["SessionTrainingStatus"] += stale.delete_quick(get_count=True) or 0
    days = {(k["subject_uuid"], k["session_start_time"].date()) for k in touched}
    doomed = ab.BehavioralSummaryByDate & [{"subject_uuid": s, "session_date": d} for s, d in days]
    n = len(doomed)
    if n:
        doomed.delete(safemode=False)
        counts["BehavioralSummaryByDate"] += n
    clear_cache()
    return counts


def populate(step_names: list[str] | None = None, *, backtrack_days: int | None = None, today: dt.date | None = None,
             display_progress: bool = False, recorder: JobRecorder | None = None,
             removed_sessions: list[dict[str, Any]] | None = None) -> PopulateReport:
    """Populate every pipeline table (or the named steps), each key in its own transaction.

    Errors are collected per table (``suppress_errors``), never hidden: they are returned and
    written to the step's detail.
    """
    report = PopulateReport()
    cutoff = (today or dt.date.today()) - dt.timedelta(days=backtrack_days) if backtrack_days else None
    tables = pipeline_tables()
    for name, group in tables.items():
        if step_names and name not in step_names:
            continue
        ctx = recorder.step(name) if recorder else contextlib.nullcontext({})
        with ctx as detail:
            if name == "populate_analyses":
                report.invalidated = invalidate_stale(removed_sessions)
                detail["invalidated"] = report.invalidated
            for table in group:
                result = table.populate(*_recent(table, cutoff), suppress_errors=True,
                                        display_progress=display_progress)
                report.made[table.__name__] = report.made.get(table.__name__, 0) + result["success_count"]
                if result["error_list"]:
                    report.errors.setdefault(table.__name__, []).extend(
                        f"{k}: {e}" for k, e in result["error_list"])
                detail[table.__name__] = result["success_count"]
            errs = {t: v[:3] for t, v in report.errors.items() if t in {x.__name__ for x in group}}
            if errs:
                detail["errors"] = errs
    return report


def run_daily(data_dir: Path | str, *, dates: list[dt.date] | None = None, policy: str = "safe",
              backtrack_days: int | None = 30, display_progress: bool = False,
              progress: Progress | None = None) -> list[tuple[int, ApplyResult, PopulateReport]]:
    """``brainlab daily``: for each snapshot to ingest, ingest it, then populate and summarise."""
    from ..plotting.cumulative import daily_summary, update_cumulative

    data_dir = Path(data_dir)
    settings.set_data_root(data_dir)
    conn = schemas.activate().connection if schemas.active() is None else schemas.active().connection
    available = snapshots_in(data_dir)
    if dates is not None:
        todo = [(d, p) for d, p in available if d in set(dates)]
    else:
        done = bk.Job & 'job_status = "completed"' & 'command in ("ingest", "daily")'
        last = done.fetch("snapshot_date", order_by="snapshot_date DESC", limit=1)
        todo = [(d, p) for d, p in available if not len(last) or d > last[0]]
        if not todo:  # nothing new: still populate and summarise (a no-op when up to date)
            todo = available[-1:]
    out = []
    for day, path in todo:
        job = JobRecorder("daily", day)
        try:
            _, result = ingest_one(conn, day, path, policy, command="daily", progress=progress, recorder=job)
            report = populate(backtrack_days=backtrack_days, today=day, display_progress=display_progress,
                              recorder=job, removed_sessions=result.sessions_removed)
            with job.step("cumulative_plots") as detail:
                detail.update(update_cumulative(result.subjects_changed, today=day))
            with job.step("daily_summary") as detail:
                detail.update(daily_summary(today=day))
        except BaseException as e:
            job.finish(error=e)
            raise
        job.finish(result)
        if progress and report.n_errors:
            progress(f"{day}: {report.n_errors} populate errors (see ingest.Job.Step)")
        out.append((job.job_id, result, report))
    return out
