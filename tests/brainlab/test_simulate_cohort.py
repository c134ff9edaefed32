"""Integration tests of brainlab.simulate on one small cohort (1 lab x 3 mice x 36 days).

The cohort is chosen (seed 3) so that it holds every kind of session: habituation, training,
biased, delayed biased on the ephys rig and one two-probe recording, plus all scripted edits.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from one.alf import io as alfio
from one.alf import path as alfpath
from one.alf import spec as alfspec

from brainlab.simulate import (
    SessionTrials,
    SimulationConfig,
    diff_snapshots,
    iter_days,
    read_ground_truth,
    simulate,
    training_statuses,
)

CONFIG = SimulationConfig(
    labs=1, mice_per_lab=3, days=36, seed=3, ephys_fraction=0.34, non_learner_fraction=0.34,
    trials_per_session=(450, 520), clusters_per_probe=(20, 30), recording_minutes=(10.0, 12.0),
    recordings_per_mouse=(1, 1), workers=1,
)


@pytest.fixture(scope="module")
def cohort(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("cohort")
    summary = simulate(out, CONFIG)
    assert summary.n_ephys_sessions == 1 and summary.n_probes == 2
    return out


@pytest.fixture(scope="module")
def days(cohort: Path) -> list[Any]:
    return list(iter_days(cohort))


@pytest.fixture(scope="module")
def final(days: list[Any]) -> Any:
    return days[-1]


def _data_files(root: Path) -> list[Path]:
    skip = {"lims", "ground_truth", "reference", "manifest.json"}
    return sorted(p for p in root.rglob("*") if p.is_file() and p.relative_to(root).parts[0] not in skip)


# --- layout and ALF names ------------------------------------------------------------------

def test_every_data_file_is_a_valid_alf_path(cohort: Path) -> None:
    files = _data_files(cohort)
    assert len(files) > 1000
    for f in files:
        parts = alfpath.full_path_parts(f.relative_to(cohort).as_posix(), as_dict=True)
        assert parts["lab"] == "larkinlab"
        assert parts["collection"] in {"alf", "raw_behavior_data", "alf/probe00", "alf/probe01"}
        assert alfspec.is_valid(f.name)


def test_session_folders_match_ground_truth(cohort: Path) -> None:
    gt = read_ground_truth(cohort)
    found = {p.relative_to(cohort).as_posix() for p in alfio.iter_sessions(cohort, pattern="*/Subjects/*/????-??-??/*")}
    assert found == {s["path"] for s in gt.sessions}
    for s in gt.sessions:
        assert alfspec.is_session_path(cohort / s["path"])


def test_trials_and_wheel_objects_load_with_one(cohort: Path) -> None:
    gt = read_ground_truth(cohort)
    kinds = {s["kind"] for s in gt.sessions}
    assert kinds == {"habituation", "training", "biased", "ephys"}
    required = {"feedback_times", "feedbackType", "intervals", "choice", "response_times", "contrastLeft",
                "contrastRight", "probabilityLeft"}
    for s in gt.sessions:
        trials = alfio.load_object(cohort / s["path"] / "alf", "trials", namespace="ibl")
        lengths = {k: v.shape[0] for k, v in trials.items()}
        assert set(lengths.values()) == {s["n_trials"]}, lengths
        assert trials["intervals"].shape == (s["n_trials"], 2)
        assert required <= set(trials) if s["has_trial_set"] else not (required <= set(trials))
        wheel = alfio.load_object(cohort / s["path"] / "alf", "wheel", namespace="ibl")
        assert wheel["position"].shape == wheel["timestamps"].shape
        assert np.all(np.diff(wheel["timestamps"]) > 0)


def test_ephys_objects_have_consistent_shapes(cohort: Path) -> None:
    gt = read_ground_truth(cohort)
    (eph,) = [s for s in gt.sessions if s["kind"] == "ephys"]
    for probe in eph["probes"]:
        folder = cohort / eph["path"] / "alf" / probe["label"]
        spikes = alfio.load_object(folder, "spikes")
        clusters = alfio.load_object(folder, "clusters")
        channels = alfio.load_object(folder, "channels")
        n_spikes, n_clusters = spikes["times"].size, clusters["depths"].size
        assert {v.shape[0] for v in spikes.values()} == {n_spikes} == {probe["n_spikes"]}
        assert 1e5 <= n_spikes <= 1e6
        assert {len(v) for v in clusters.values()} == {n_clusters} == {probe["n_clusters"]}
        assert spikes["clusters"].min() >= 0 and spikes["clusters"].max() < n_clusters
        assert np.all(np.diff(spikes["times"]) >= 0)
        np.testing.assert_allclose(spikes["times"], spikes["samples"] / 30000.0)
        assert {v.shape[0] for v in channels.values()} == {384}
        assert clusters["channels"].max() < 384 and clusters["waveformsChannels"].max() < 384
        assert clusters["waveforms"].shape == (n_clusters, 82, 32)
        assert list(clusters["metrics"]["cluster_id"]) == list(range(n_clusters))
        assert set(clusters["metrics"]["ks2_label"]) <= {"good", "mua"}
        np.testing.assert_array_equal(clusters["metrics"]["spike_count"], np.bincount(spikes["clusters"], minlength=n_clusters))
        # Cluster regions are the regions of their peak channels.
        np.testing.assert_array_equal(clusters["brainLocationIds_ccf_2017"], channels["brainLocationIds_ccf_2017"][clusters["channels"]])
        truth = gt.clusters(eph["session_uuid"], probe["label"])
        assert [t["n_spikes"] for t in truth] == list(np.bincount(spikes["clusters"], minlength=n_clusters))


# --- plausibility --------------------------------------------------------------------------

def test_reaction_times_and_rewards_are_plausible(cohort: Path) -> None:
    gt = read_ground_truth(cohort)
    for s in gt.sessions:
        if not s["has_trial_set"]:
            continue
        t = alfio.load_object(cohort / s["path"] / "alf", "trials", namespace="ibl")
        moved = t["choice"] != 0
        rt = (t["response_times"] - t["stimOn_times"])[moved]
        assert rt.min() > 0.12 - 1e-6 and rt.max() < 60
        assert np.all(t["firstMovement_times"][moved] > t["stimOn_times"][moved])
        assert set(np.unique(t["rewardVolume"])) <= {0.0, s["reward_volume_ul"]}
        assert 1.5 <= s["reward_volume_ul"] <= 3.0
        assert np.all((t["feedbackType"] == 1) == (t["rewardVolume"] > 0))
        if s["training_status"] not in ("in_training", "untrainable"):
            easy = np.nan_to_num(t["contrastLeft"]) + np.nan_to_num(t["contrastRight"]) == 1.0
            assert 0.2 < np.median(rt[easy[moved]]) < 1.0


def test_weights_stay_around_the_reference_weight(final: Any) -> None:
    restrictions = {f["subject"]: f["reference_weight"] for f in final.by_model("actions.waterrestriction").values()}
    weighings = final.by_model("actions.weighing").values()
    assert len(weighings) > 60
    for w in weighings:
        assert 0.75 <= w["weight"] / restrictions[w["subject"]] <= 1.1


def test_water_matches_rewards_and_daily_needs(cohort: Path, final: Any) -> None:
    gt = read_ground_truth(cohort)
    water = final.by_model("actions.wateradministration").values()
    by_session = {w["session"]: w for w in water if w["session"]}
    for s in gt.sessions:
        if s["deleted"]:
            continue
        t = alfio.load_object(cohort / s["path"] / "alf", "trials", namespace="ibl")
        assert by_session[s["session_uuid"]]["water_administered"] == pytest.approx(t["rewardVolume"].sum() / 1000, abs=1e-3)
    for w in water:
        if w["adlib"]:
            assert w["water_administered"] is None
        else:
            assert 0 < w["water_administered"] <= 3.0


# --- ground truth --------------------------------------------------------------------------

def test_ground_truth_statuses_follow_the_rules_on_the_written_files(cohort: Path, final: Any) -> None:
    gt = read_ground_truth(cohort)
    starts = {pk: f["start_time"] for pk, f in final.by_model("actions.session").items()}
    for subject in gt.subjects:
        sessions = [s for s in gt.sessions_of(subject["subject_uuid"]) if s["has_trial_set"]]
        loaded = []
        for s in sessions:
            settings = json.loads((cohort / s["path"] / "raw_behavior_data" / "_iblrig_taskSettings.raw.json").read_text())
            trials = alfio.load_object(cohort / s["path"] / "alf", "trials", namespace="ibl")
            loaded.append(SessionTrials.from_trials(
                s["session_uuid"], dt.datetime.fromisoformat(starts[s["session_uuid"]]), s["task_protocol"],
                settings["PYBPOD_BOARD"], settings["SESSION_START_DELAY_SEC"], trials))
        decisions = training_statuses(loaded)
        assert [d.status for d in decisions] == [s["training_status"] for s in sessions]
        assert decisions[-1].status == subject["final_status"]
    assert {s["final_status"] for s in gt.subjects} == {"in_training", "ready4ephysrig", "ready4recording"}


def test_ground_truth_protocol_sequence(cohort: Path) -> None:
    gt = read_ground_truth(cohort)
    recorded = [s for s in gt.subjects if s["ephys_track"]]
    assert len(recorded) == 1 and recorded[0]["culled"]
    seq = gt.sessions_of(recorded[0]["subject_uuid"])
    kinds = [s["kind"] for s in seq]
    assert kinds[0] == "habituation" and kinds[-1] == "ephys"
    first_biased = kinds.index("biased")
    assert seq[first_biased - 1]["training_status"] == "trained_1b"
    delayed = [s for s in seq if s["delay_sec"] >= 900]
    assert delayed and all("ephys" in s["pybpod_board"] for s in delayed)
    assert seq[-1]["training_status"] == "ready4recording"
    trajectory = recorded[0]["learning_trajectory"]
    assert len(trajectory) == sum(s["has_trial_set"] for s in seq)
    assert trajectory[0]["threshold"] > 2 * trajectory[-1]["threshold"] and trajectory[-1]["progress"] > 0.9
    non = [s for s in gt.subjects if s["learner_type"] == "non_learner"]
    assert non and all(s["final_status"] == "in_training" for s in non)


# --- LIMS snapshots ------------------------------------------------------------------------

_FKS = {
    "subject": "subjects.subject", "session": "actions.session", "dataset": "data.dataset",
    "probe_insertion": "experiments.probeinsertion", "lab": "misc.lab", "location": "misc.lablocation",
    "water_type": "actions.watertype", "dataset_type": "data.datasettype", "data_format": "data.dataformat",
    "data_repository": "data.datarepository", "responsible_user": "misc.labmember", "user": "misc.labmember",
}


def test_snapshots_are_daily_and_referentially_complete(days: list[Any]) -> None:
    assert [d.date for d in days] == [CONFIG.start_date + dt.timedelta(days=i) for i in range(CONFIG.days)]
    for day in days[::5] + days[-1:]:
        keys = {(r["model"], r["pk"]) for r in day.records}
        for r in day.records:
            for fk, model in _FKS.items():
                value = r["fields"].get(fk)
                if value is not None:
                    assert (model, value) in keys, (day.date, r["model"], fk)
            for uid in r["fields"].get("users", []) or []:
                assert ("misc.labmember", uid) in keys


def _edit(gt: Any, kind: str) -> dict[str, Any]:
    (e,) = [e for e in gt.edits if e["kind"] == kind]
    return e


def _fields(day: Any, model: str, pk: Any) -> dict[str, Any] | None:
    return day.by_model(model).get(pk)


def test_snapshot_diffs_hold_the_scripted_edits(cohort: Path, days: list[Any]) -> None:
    gt = read_ground_truth(cohort)
    diffs = [None] + [diff_snapshots(a.records, b.records) for a, b in itertools.pairwise(days)]

    def diff(edit: dict[str, Any]) -> Any:
        return diffs[edit["day"]]

    e = _edit(gt, "weight_corrected")
    assert ("actions.weighing", e["pk"]) in diff(e).modified
    assert _fields(days[e["day"] - 1], "actions.weighing", e["pk"])["weight"] == e["old"] != e["new"]
    assert _fields(days[-1], "actions.weighing", e["pk"])["weight"] == e["new"]

    e = _edit(gt, "subject_renamed")
    assert ("subjects.subject", e["pk"]) in diff(e).modified
    assert _fields(days[e["day"] - 1], "subjects.subject", e["pk"])["nickname"] == e["old"]
    renamed = _fields(days[e["day"]], "subjects.subject", e["pk"])
    assert renamed["nickname"] == e["new"] and renamed["json"]["history"]["nickname"][0]["value"] == e["old"]
    assert (cohort / "larkinlab" / "Subjects" / e["old"]).is_dir() and (cohort / "larkinlab" / "Subjects" / e["new"]).is_dir()

    e = _edit(gt, "responsible_user_changed")
    users = {f["username"]: pk for pk, f in days[-1].by_model("misc.labmember").items()}
    assert ("subjects.subject", e["pk"]) in diff(e).modified
    assert _fields(days[e["day"]], "subjects.subject", e["pk"])["responsible_user"] == users[e["new"]]

    e = _edit(gt, "session_start_moved")
    assert ("actions.session", e["pk"]) in diff(e).modified
    before = dt.datetime.fromisoformat(_fields(days[e["day"] - 1], "actions.session", e["pk"])["start_time"])
    after = dt.datetime.fromisoformat(_fields(days[e["day"]], "actions.session", e["pk"])["start_time"])
    assert after - before == dt.timedelta(seconds=1)

    e = _edit(gt, "session_deleted")
    assert ("actions.session", e["pk"]) in diff(e).deleted
    assert ("actions.session", e["pk"]) in diffs[e["day"] - 1].created
    datasets = [pk for pk, f in days[e["day"] - 1].by_model("data.dataset").items() if f["session"] == e["pk"]]
    assert datasets and all(("data.dataset", pk) in diff(e).deleted for pk in datasets)

    created, deleted = _edit(gt, "subject_created"), _edit(gt, "subject_deleted")
    assert ("subjects.subject", created["pk"]) in diff(created).created
    assert ("subjects.subject", deleted["pk"]) in diff(deleted).deleted

    e = _edit(gt, "files_arrived_late")
    flipped = diff(e).of_model("data.filerecord").modified
    assert len(flipped) == e["n_records"]
    assert all(not _fields(days[e["day"] - 1], *k)["exists"] and _fields(days[e["day"]], *k)["exists"] for k in flipped)

    e = _edit(gt, "subject_culled")
    assert ("subjects.subject", e["pk"]) in diff(e).modified
    assert _fields(days[e["day"]], "subjects.subject", e["pk"])["death_date"] == e["new"]
    assert any(k[0] == "actions.cull" for k in diff(e).created)
    assert any(k[0] == "actions.waterrestriction" for k in diff(e).modified)


def test_histology_arrives_days_after_the_recording(cohort: Path, days: list[Any]) -> None:
    gt = read_ground_truth(cohort)
    (eph,) = [s for s in gt.sessions if s["kind"] == "ephys"]
    day = (dt.date.fromisoformat(eph["date"]) - CONFIG.start_date).days
    insertions = {p["insertion_uuid"] for p in eph["probes"]}

    def provenances(snapshot: Any) -> set[int]:
        return {f["provenance"] for f in snapshot.by_model("experiments.trajectoryestimate").values()
                if f["probe_insertion"] in insertions}

    def located(snapshot: Any) -> int:
        return sum(1 for f in snapshot.by_model("data.dataset").values()
                   if f["session"] == eph["session_uuid"] and "brainLocationIds" in f["name"])

    assert provenances(days[day]) == {10, 30} and located(days[day]) == 0
    assert provenances(days[day + 5]) == {10, 30, 50}
    assert provenances(days[day + 8]) == {10, 30, 50, 70} and located(days[day + 8]) == 4
    pi = days[day + 8].by_model("experiments.probeinsertion")
    assert all(pi[i]["json"]["extended_qc"]["alignment_resolved"] for i in insertions)
    aligned = [f for f in days[-1].by_model("experiments.trajectoryestimate").values() if f["provenance"] == 70]
    by_ins = {f["probe_insertion"]: f for f in aligned}
    for p in eph["probes"]:
        assert by_ins[p["insertion_uuid"]]["x"] == p["trajectory"]["x"]


def test_manifest_lists_snapshots_and_summary(cohort: Path) -> None:
    manifest = json.loads((cohort / "manifest.json").read_text())
    assert manifest["format_version"] == "1.0"
    assert len(manifest["snapshots"]) == CONFIG.days
    assert SimulationConfig.from_json(manifest["summary"]["config"] | {"workers": 1}) == CONFIG
    assert (cohort / "reference" / "brain_regions.csv").read_text().startswith("id,acronym,name,parent_structure_id")
