"""Daily ingestion on SQLite: created, modified and deleted records, idempotency, crash recovery.

The small cohort's LIMS snapshots script the edits of docs/brainlab-simulator.md §4.4: a
duplicate subject created on day 2 and deleted on day 3, a mistaken session deleted on day 4,
a start time moved by 1 s, a nickname fixed and a weight typo corrected on day 5, files arriving
a day late, a responsible user changed on day 10 and the mouse culled.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import labjoin as dj
from brainlab import acquisition, action, behavior, data, schemas, settings, subject
from brainlab.ingest import apply as apply_mod
from brainlab.ingest import bookkeeping as bk
from brainlab.ingest.daily import ingest, populate, snapshots_in
from brainlab.simulate import read_ground_truth


@pytest.fixture
def fresh(tmp_path: Path, small_cohort: Path) -> Iterator[schemas.Activation]:
    conn = dj.Connection(f"sqlite:///{tmp_path / 'ingest.sqlite'}")
    activation = schemas.activate(prefix="bli_", connection=conn)
    yield activation
    settings.set_data_root(None)
    conn.close()


def _days(cohort: Path) -> list[dt.date]:
    return [d for d, _ in snapshots_in(cohort)]


def _edit(cohort: Path, kind: str) -> dict[str, Any]:
    return next(e for e in read_ground_truth(cohort).edits if e["kind"] == kind)


def _row_counts(activation: schemas.Activation) -> dict[str, int]:
    out = {}
    for module in schemas.MODULES:
        if module.endswith("bookkeeping"):
            continue
        for cls in schemas._schemas[module]:
            out[f"{module}.{cls.__name__}"] = len(cls())
    return out


def test_created_records_become_rows(fresh: schemas.Activation, small_cohort: Path) -> None:
    days = _days(small_cohort)
    [(job, result)] = ingest(small_cohort, dates=[days[0]])
    records = snapshots_in(small_cohort)[0][1].read_text().count('"model"')
    assert result.created == records == len(bk.LimsRecord)
    assert len(subject.Subject) == 1 and len(action.WaterRestriction) == 1
    assert (bk.Job & {"job_id": job}).fetch1("job_status") == "completed"
    steps = (bk.Job.Step & {"job_id": job}).fetch("task")
    assert {"load_snapshot", "apply_created", "apply_modified", "apply_deleted"} <= set(steps)


def test_modifications_are_updated_in_place_with_an_audit_row(fresh: schemas.Activation,
                                                             small_cohort: Path) -> None:
    rename = _edit(small_cohort, "subject_renamed")
    weight = _edit(small_cohort, "weight_corrected")
    moved = _edit(small_cohort, "session_start_moved")
    ingest(small_cohort, through=dt.date.fromisoformat(rename["date"]))
    assert subject.Subject.fetch1("subject_nickname") == rename["new"]
    audit = (bk.UpdateRecord & {"attribute": "subject_nickname"}).fetch1()
    assert (audit["original_value"], audit["updated_value"], audit["applied"]) == (rename["old"], rename["new"], 1)
    assert audit["table_name"].endswith("subject.subject")
    row = (bk.UpdateRecord & {"attribute": "weight"}).fetch1()
    assert float(row["original_value"]) == pytest.approx(weight["old"])
    assert float(row["updated_value"]) == pytest.approx(weight["new"])
    assert len(action.Weighing & f"weight > {weight['old'] - 1}") == 0
    # the session whose start time moved by 1 s keeps its original key
    original = dt.datetime.fromisoformat(moved["old"])
    assert len(acquisition.Session & {"session_start_time": original}) == 1
    assert len(acquisition.Session & {"session_start_time": dt.datetime.fromisoformat(moved["new"])}) == 0
    kept = (bk.UpdateRecord & {"attribute": "session_start_time"}).fetch1()
    assert kept["applied"] == 0 and "keeps its key" in kept["narrative"]


def test_deleted_records_follow_the_safe_policy(fresh: schemas.Activation, small_cohort: Path) -> None:
    duplicate = _edit(small_cohort, "subject_deleted")
    mistaken = _edit(small_cohort, "session_deleted")
    days = _days(small_cohort)
    # day of creation: ingest and populate, so the mistaken session has derived rows
    created_day = days[days.index(dt.date.fromisoformat(mistaken["date"])) - 1]
    ingest(small_cohort, through=created_day)
    populate(["populate_behavior"])
    assert len(behavior.CompleteWheelSession * acquisition.Session & {"session_uuid": mistaken["pk"]}) == 1
    ingest(small_cohort, through=dt.date.fromisoformat(mistaken["date"]))
    # the duplicate subject had nothing derived: deleted
    assert len(subject.Subject & {"subject_uuid": duplicate["pk"]}) == 0
    assert (bk.DeletionRecord & {"pk": duplicate["pk"]}).fetch1("deletion_status") == "applied"
    # the session has imported/computed rows: kept, and the deletion is pending with the reason
    assert len(acquisition.Session & {"session_uuid": mistaken["pk"]}) == 1
    rec = (bk.DeletionRecord & {"pk": mistaken["pk"]}).fetch1()
    assert rec["deletion_status"] == "pending" and "wheel" in rec["narrative"]
    assert (bk.LimsRecord & {"pk": mistaken["pk"]}).fetch1("state") == "deleted_pending"
    # its datasets had no derived rows of their own: deleted
    assert len(data.DataSet * acquisition.Session & {"session_uuid": mistaken["pk"]}) == 0
    # resolving it is explicit and recorded
    last_job = int(bk.Job.fetch("job_id", order_by="job_id DESC", limit=1)[0])
    result = apply_mod.apply_pending(fresh.connection, last_job, "cascade")
    assert result.deleted == 1 and len(acquisition.Session & {"session_uuid": mistaken["pk"]}) == 0
    rec = (bk.DeletionRecord & {"pk": mistaken["pk"]}).fetch1()
    assert rec["deletion_status"] == "applied" and rec["rows_deleted"] > 1 and "_wheel" in rec["narrative"]


def test_record_policy_deletes_nothing(fresh: schemas.Activation, small_cohort: Path) -> None:
    duplicate = _edit(small_cohort, "subject_deleted")
    ingest(small_cohort, through=dt.date.fromisoformat(duplicate["date"]), policy="record")
    assert len(subject.Subject & {"subject_uuid": duplicate["pk"]}) == 1
    assert (bk.DeletionRecord & {"pk": duplicate["pk"]}).fetch1("deletion_status") == "recorded"


def test_the_same_day_twice_changes_nothing(fresh: schemas.Activation, small_cohort: Path) -> None:
    days = _days(small_cohort)
    ingest(small_cohort, through=days[6])
    before = _row_counts(fresh)
    lims = bk.LimsRecord.fetch("model", "pk", "fields_hash", as_dict=True, order_by=["model", "pk"])
    [(job, result)] = ingest(small_cohort, dates=[days[6]])
    assert (result.created, result.modified, result.deleted, result.updates) == (0, 0, 0, 0)
    assert _row_counts(fresh) == before
    assert bk.LimsRecord.fetch("model", "pk", "fields_hash", as_dict=True, order_by=["model", "pk"]) == lims
    assert (bk.Job & {"job_id": job}).fetch1("n_created", "n_modified", "n_deleted") == (0, 0, 0)
    assert ingest(small_cohort) != [] and ingest(small_cohort) == []  # then only what is new


def test_a_crash_midway_is_completed_by_the_next_run(fresh: schemas.Activation, small_cohort: Path,
                                                    tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    days = _days(small_cohort)
    original = apply_mod._Applier._insert_records

    def crash(self: Any, model: str, pks: list[Any]) -> None:
        if model == "data.filerecord":
            raise RuntimeError("simulated crash")
        original(self, model, pks)

    monkeypatch.setattr(apply_mod._Applier, "_insert_records", crash)
    with pytest.raises(RuntimeError, match="simulated crash"):
        ingest(small_cohort, dates=[days[8]])
    assert (bk.Job.fetch("job_status", order_by="job_id DESC", limit=1))[0] == "failed"
    assert len(data.DataSet) and not len(data.FileRecord)  # the datasets' unit committed, not the files'
    monkeypatch.setattr(apply_mod._Applier, "_insert_records", original)
    ingest(small_cohort, dates=[days[8]])
    crashed = _row_counts(fresh)
    lims = len(bk.LimsRecord)
    # the same snapshot ingested cleanly into another database gives the same rows
    other = dj.Connection(f"sqlite:///{tmp_path / 'clean.sqlite'}")
    clean = schemas.activate(prefix="bli_", connection=other)
    ingest(small_cohort, dates=[days[8]])
    assert _row_counts(clean) == crashed and len(bk.LimsRecord) == lims
    other.close()


def test_late_files_clear_the_missing_data_log(fresh: schemas.Activation, small_cohort: Path) -> None:
    late = _edit(small_cohort, "files_arrived_late")
    day = dt.date.fromisoformat(late["date"])
    ingest(small_cohort, through=day)
    populate(["populate_behavior"])
    session = acquisition.Session & {"session_uuid": late["session_uuid"]} if "session_uuid" in late else None
    n_trialsets = len(behavior.TrialSet)
    ingest(small_cohort, through=day + dt.timedelta(days=1))
    populate(["populate_behavior"])
    assert len(behavior.TrialSet) > n_trialsets
    if session is not None:
        assert len(behavior.TrialSet & session)
    # habituation sessions stay logged (not retried) and every logged session lacks a trials file
    logged = behavior.MissingDataLog.fetch("missing_data")
    assert len(logged) and all("trials" in m for m in logged)
    again = populate(["populate_behavior"])
    assert again.made.get("CompleteTrialSession", 0) == 0  # nothing retried


def test_brainlab_ingest_command(tmp_path: Path, small_cohort: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from brainlab.cli import main

    url = f"sqlite:///{tmp_path / 'cli.sqlite'}"
    day = _days(small_cohort)[0].isoformat()
    assert main(["ingest", "--data", str(small_cohort), "--date", day, "--url", url, "--prefix", "blc_"]) == 0
    assert f"{day}: " in capsys.readouterr().out
    assert main(["ingest", "--data", str(small_cohort), "--date", day, "--url", url, "--prefix", "blc_"]) == 0
    assert "0 created, 0 modified, 0 deleted" in capsys.readouterr().out
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["ingest", "--data", str(empty), "--url", url, "--prefix", "blc_"]) == 2
    assert "No LIMS snapshot" in capsys.readouterr().err
