"""The whole pipeline: day-by-day on SQLite (small cohort), and in one go on PostgreSQL and MySQL.

Checked against the simulator's ground truth: training statuses, psychometric parameters
(within bootstrap intervals), trial counts; plus the stored figures, the lab summary, the job
records and the figure registry.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import plotly.graph_objects as go
import pytest
from click.testing import CliRunner

import labjoin as dj
from brainlab import acquisition, behavior, ephys, histology, schemas, settings, validate
from brainlab.analyses import behavior as ab
from brainlab.analyses import ephys as ae
from brainlab.ingest import bookkeeping as bk
from brainlab.ingest.apply import apply_pending
from brainlab.ingest.daily import ingest, populate, run_daily, snapshots_in
from brainlab.plots import registry
from brainlab.plotting import behavior as pb
from brainlab.plotting import ephys as pe
from brainlab.simulate import read_ground_truth
from labjoin.errors import DataError


def _truth(cohort: Path) -> dict[str, dict]:
    return {s["session_uuid"]: s for s in read_ground_truth(cohort).sessions}


def test_every_day_was_ingested_and_populated(pipeline: schemas.Activation, small_cohort: Path) -> None:
    jobs = bk.Job.fetch(as_dict=True)
    assert len(jobs) == len(snapshots_in(small_cohort)) and {j["job_status"] for j in jobs} == {"completed"}
    tasks = set(bk.Task.fetch("task"))
    assert set((bk.Job.Step & {"job_id": jobs[-1]["job_id"]}).fetch("task")) == tasks
    truth = _truth(small_cohort)
    with_trials = {u for u, s in truth.items() if s["has_trial_set"] and not s["deleted"]}
    got = {str(u) for u in (behavior.TrialSet * acquisition.Session).fetch("session_uuid")}
    assert got == with_trials
    for u, n in zip(*(behavior.TrialSet * acquisition.Session).fetch("session_uuid", "n_trials")):
        assert n == truth[str(u)]["n_trials"]
    assert len(ab.SessionTrainingStatus) == len(with_trials) == len(pb.SessionPsychCurve)
    assert len(ephys.DefaultCluster) > 0 and len(ephys.AlignedSpikes) == 3 * len(ephys.DefaultCluster)
    assert len(histology.ProbeTrajectory) == len(ephys.ProbeInsertion)
    assert len(ae.Psth) == len(pe.Psth) == len(pe.Raster)
    for table in (behavior.MissingDataLog, ephys.EphysMissingDataLog):
        assert all("trials" in m for m in table.fetch("missing_data"))  # only habituation lacks files


def test_training_status_matches_the_ground_truth(pipeline: schemas.Activation, small_cohort: Path) -> None:
    truth = _truth(small_cohort)
    rows = (ab.SessionTrainingStatus * acquisition.Session).fetch(
        "session_uuid", "training_status", "good_enough_for_brainwide_map", as_dict=True)
    for r in rows:
        t = truth[str(r["session_uuid"])]
        assert (r["training_status"], bool(r["good_enough_for_brainwide_map"])) == (
            t["training_status"], t["good_enough_for_brainwide_map"]), t["date"]


def test_training_status_does_not_depend_on_populate_order(pipeline: schemas.Activation) -> None:
    from brainlab.analyses.training import clear_cache

    before = ab.SessionTrainingStatus.fetch(as_dict=True, order_by="session_start_time")
    ab.SessionTrainingStatus.delete_quick()
    clear_cache()
    ab.SessionTrainingStatus.populate(order="reverse")
    assert ab.SessionTrainingStatus.fetch(as_dict=True, order_by="session_start_time") == before


def test_fits_recover_the_ground_truth(pipeline: schemas.Activation, small_cohort: Path) -> None:
    """Sessions with >= 400 trials (blocks with the low contrasts that make the parameters
    identifiable): the truth lies inside the bootstrap intervals, with the defaults of
    ``brainlab validate`` (100 replicates; docs/brainlab.md gives the full demo cohort's figures)."""
    report = validate.fit_recovery(small_cohort, workers=2)
    assert report.n_boot == 100 and report.n_sessions >= 8 and report.n_blocks >= 15
    assert report.coverage[0.99] >= 0.97 and report.coverage[0.95] >= 0.93
    assert report.sessions_recovered >= 0.95 and report.family_level == 0.95
    assert "sessions recovered" in "\n".join(report.lines())


def test_validate_reports_statuses_and_refuses_too_few_replicates(pipeline: schemas.Activation,
                                                                  small_cohort: Path) -> None:
    status = validate.status_agreement(small_cohort)
    assert status.n_sessions == len(ab.SessionTrainingStatus) - len(status.deleted_in_lims)
    assert status.fraction == 1.0 and status.disagreements == []
    with pytest.raises(DataError, match="n_boot >= 20"):
        validate.fit_recovery(small_cohort, n_boot=5)


def test_figures_are_stored_as_plotly_json(pipeline: schemas.Activation) -> None:
    for spec in registry.FIGURES:
        table = dj.FreeTable(pipeline.connection, spec.full_table_name(pipeline.prefix))
        assert spec.attribute in table.heading.names
        assert len(table), spec.name
        fig = table.fetch(spec.attribute, limit=1)[0]
        go.Figure(fig)
    raster = pe.Raster.fetch("plotting_data", limit=1)[0]
    assert raster["data"][0]["type"] in ("scatter", "scattergl")
    drift = pe.DepthRaster.fetch1("plotting_data") if len(pe.DepthRaster) == 1 else pe.DepthRaster.fetch(
        "plotting_data")[0]
    assert drift["data"][0]["type"] == "scattergl"


def test_daily_summary_says_what_is_missing(pipeline: schemas.Activation) -> None:
    rows = pb.DailyLabSummary.SubjectSummary.fetch(as_dict=True)
    # the one mouse was culled after its recording: it is listed, and its status says so
    assert len(rows) == 1
    [row] = rows
    assert row["data_update_status"].startswith("Culled on ")
    assert row["latest_task_protocol"] and row["latest_training_status"]
    assert row["latest_session_ingested"] is not None
    assert len(pb.DailyLabSummary) == 1
    assert len(pb.CumulativeSummary) == 1 and len(pb.CumulativeSummary.FitPars) == 1
    latest = pb.SubjectLatestDate.fetch1("latest_date")
    assert pb.CumulativeSummary.fetch1("latest_date") == latest


def test_a_second_daily_run_changes_nothing(pipeline: schemas.Activation, small_cohort: Path) -> None:
    last = snapshots_in(small_cohort)[-1][0]
    tables = [cls for m in schemas.MODULES if not m.endswith("bookkeeping") for cls in schemas._schemas[m]]
    before = {cls.__name__: len(cls()) for cls in tables}
    [(_, result, _)] = run_daily(small_cohort, dates=[last])
    assert result.created == result.modified == result.deleted == 0
    after = {cls.__name__: len(cls()) for cls in tables}
    changed = {k for k in before if before[k] != after[k]}
    assert changed <= {"LatestDate"}, changed  # only the bookkeeping of the check itself


def test_brainlab_command(pipeline: schemas.Activation, small_cohort: Path) -> None:
    from brainlab.cli import cli

    url = str(pipeline.connection.url) if hasattr(pipeline.connection, "url") else None
    runner = CliRunner()
    result = runner.invoke(cli, ["jobs", "--prefix", pipeline.prefix, "--limit", "1", *(["--url", url] if url else [])])
    assert result.exit_code == 0, result.output
    assert "daily" in result.output and "populate_analyses" in result.output
    result = runner.invoke(cli, ["deletions", "--prefix", pipeline.prefix, *(["--url", url] if url else [])])
    assert result.exit_code == 0 and "kept: derived rows depend on it" in result.output
    result = runner.invoke(cli, ["validate", "--prefix", pipeline.prefix, "--data", str(small_cohort), "--n-boot", "20",
                                 "--min-trials", "700", "--workers", "1", *(["--url", url] if url else [])])
    assert result.exit_code == 0, result.output
    assert "sessions agree with the truth (100.0%)" in result.output
    assert "20 bootstrap replicates each (normal intervals)" in result.output


def test_demo_command_help() -> None:
    from labjoin.cli import cli

    result = CliRunner().invoke(cli, ["demo", "--help"])
    assert result.exit_code == 0 and "--small" in result.output and "--data" in result.output


@pytest.mark.backends
def test_pipeline_on_every_backend(backend: dj.Connection, small_cohort: Path) -> None:
    """The last snapshot ingested in one go, then everything populated (smaller than day by day)."""
    if backend.backend.name == "sqlite":
        pytest.skip("SQLite runs the whole day-by-day pipeline (the sqlite_pipeline fixture)")
    prefix = f"brainlab_t{uuid.uuid4().hex[:6]}_"
    activation = schemas.activate(prefix=prefix, connection=backend)
    try:
        last = snapshots_in(small_cohort)[-1][0]
        [(_, result)] = ingest(small_cohort, dates=[last])
        assert result.errors == 0
        report = populate()
        assert report.n_errors == 0, report.errors
        truth = _truth(small_cohort)
        assert len(behavior.TrialSet) == sum(s["has_trial_set"] and not s["deleted"] for s in truth.values())
        rows = (ab.SessionTrainingStatus * acquisition.Session).fetch("session_uuid", "training_status")
        assert all(truth[str(u)]["training_status"] == s for u, s in zip(*rows))
        assert len(pe.Raster) == len(ephys.AlignedSpikes) > 0
        fig = pb.SessionPsychCurve.fetch("plotting_data", limit=1)[0]
        go.Figure(fig)
        # idempotent on this backend too
        [(_, again)] = ingest(small_cohort, dates=[last])
        assert (again.created, again.modified, again.deleted) == (0, 0, 0)
        assert json.loads(json.dumps(pb.SessionPsychCurve.fetch("fit_pars", limit=1)[0]))
    finally:
        schemas.drop_all(activation)
        settings.set_data_root(None)


def test_pending_deletion_can_be_applied(pipeline: schemas.Activation, small_cohort: Path) -> None:
    pending = (bk.DeletionRecord & 'deletion_status = "pending"').fetch("pk")
    assert len(pending) == 1  # the mistaken session (it had imported rows when it was deleted)
    job = int(bk.Job.fetch("job_id", order_by="job_id DESC", limit=1)[0])
    apply_pending(pipeline.connection, job, "cascade")
    assert len(acquisition.Session & {"session_uuid": pending[0]}) == 0
    assert (bk.DeletionRecord & {"pk": pending[0]}).fetch1("deletion_status") == "applied"
