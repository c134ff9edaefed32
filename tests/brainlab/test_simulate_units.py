"""Unit tests of brainlab.simulate: determinism, the trial model, the fit, the rules, config, CLI."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import numpy as np
import pytest
from one.alf import spec as alfspec
from scipy.optimize import minimize
from scipy.special import erf

from brainlab.simulate import (
    SessionTrials,
    SimulationConfig,
    decide_status,
    iter_days,
    simulate,
    training_statuses,
)
from brainlab.simulate.__main__ import main
from brainlab.simulate.behavior import (
    BIASED_CONTRASTS,
    RESPONSE_THRESHOLD_RAD,
    TRAINING_CONTRAST_LEVELS,
    generate_session,
)
from brainlab.simulate.identity import stable_uuid
from brainlab.simulate.learning import SessionParams
from brainlab.simulate.psychometrics import contrast_table, fit_psychometric
from labjoin.errors import ConfigError, DataError

TINY = SimulationConfig(labs=1, mice_per_lab=2, days=6, seed=11, trials_per_session=(100, 150), workers=1)
FULL = TRAINING_CONTRAST_LEVELS[-1]


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


# --- determinism ---------------------------------------------------------------------------

def test_same_seed_gives_byte_identical_output_even_in_parallel(tmp_path: Path) -> None:
    simulate(tmp_path / "a", TINY)
    simulate(tmp_path / "b", dataclasses.replace(TINY, workers=2))
    a, b = _tree(tmp_path / "a"), _tree(tmp_path / "b")
    assert len(a) > 100
    assert a.keys() == b.keys()
    assert [k for k in a if a[k] != b[k]] == []


def test_another_seed_gives_other_data(tmp_path: Path) -> None:
    simulate(tmp_path / "a", TINY)
    simulate(tmp_path / "c", dataclasses.replace(TINY, seed=12))
    a, c = _tree(tmp_path / "a"), _tree(tmp_path / "c")
    assert a["lims/2024-01-13_alyxfull.json"] != c["lims/2024-01-13_alyxfull.json"]


def test_stable_uuids_are_version_4_and_name_derived() -> None:
    u = stable_uuid(5, "session", "x", 1)
    assert alfspec.is_uuid_string(u) and u[14] == "4"
    assert u == stable_uuid(5, "session", "x", 1) != stable_uuid(6, "session", "x", 1)


# --- the trial model and the fit -----------------------------------------------------------

def _params(**kw: float) -> SessionParams:
    base = dict(progress=1.0, bias=4.0, threshold=12.0, lapse_low=0.05, lapse_high=0.08, prior_shift=18.0,
                rt_zero=0.9, rt_easy=0.35, nogo=0.0, n_trials=600)
    base.update(kw)
    return SessionParams(**base)  # type: ignore[arg-type]


def _simple_fit(cl: np.ndarray, cr: np.ndarray, choice: np.ndarray) -> np.ndarray:
    """An independent maximum-likelihood fit (bounded L-BFGS-B on trial-level likelihood)."""
    x = (np.nan_to_num(cr) - np.nan_to_num(cl)) * 100
    right = choice == -1

    def nll(p: np.ndarray) -> float:
        prob = p[2] + (1 - p[2] - p[3]) * (erf((x - p[0]) / p[1]) + 1) / 2
        prob = np.clip(prob, 1e-9, 1 - 1e-9)
        return -float(np.sum(np.where(right, np.log(prob), np.log(1 - prob))))

    res = minimize(nll, [0.0, 20.0, 0.05, 0.05], method="L-BFGS-B",
                   bounds=[(-100, 100), (1, 100), (0, 0.5), (0, 0.5)])
    return res.x


def test_fit_recovers_threshold_and_bias_of_a_600_trial_session() -> None:
    truth = _params()
    data = generate_session("training", truth, FULL, 2.0, np.random.default_rng(7), 5.0, 1024)
    t = data.trials
    assert t["choice"].size == 600
    bias, threshold, *_ = _simple_fit(t["contrastLeft"], t["contrastRight"], t["choice"])
    assert abs(bias - truth.bias) < 4.0
    assert abs(threshold - truth.threshold) < 0.4 * truth.threshold
    ours = fit_psychometric(contrast_table(t["contrastLeft"], t["contrastRight"], t["choice"]))
    assert abs(ours.bias - bias) < 1.0 and abs(ours.threshold - threshold) < 2.0


def test_choice_params_describe_rightward_choices_with_no_go_trials_counted() -> None:
    """The pipeline counts No-Go trials as not rightward; the truth it is judged against must too."""
    truth = _params(nogo=0.1, lapse_low=0.04, lapse_high=0.06, n_trials=40_000)
    x = np.linspace(-100, 100, 41)

    def curve(p: dict[str, float]) -> np.ndarray:
        return p["lapse_low"] + (1 - p["lapse_low"] - p["lapse_high"]) * (erf((x - p["bias"]) / p["threshold"]) + 1) / 2

    decided = truth.block_params()["0.5"]
    chosen = truth.choice_params()["0.5"]
    np.testing.assert_allclose(curve(chosen), 0.9 * curve(decided), atol=1e-12)
    assert chosen["bias"] == decided["bias"] and chosen["threshold"] == decided["threshold"]
    assert chosen["lapse_high"] == pytest.approx(1 - 0.9 * 0.94) and chosen["lapse_low"] == pytest.approx(0.9 * 0.04)
    # and the simulator's trials follow it: rightward choices at 100 % contrast
    t = generate_session("training", truth, FULL, 2.0, np.random.default_rng(11), 5.0, 1024).trials
    full_right = np.nan_to_num(t["contrastRight"]) == 1.0
    observed = float(np.mean(t["choice"][full_right] == -1))
    assert observed == pytest.approx(1 - chosen["lapse_high"], abs=0.02)
    assert abs(observed - (1 - decided["lapse_high"])) > 0.06


def test_biased_blocks_shift_the_bias_by_the_prior() -> None:
    truth = _params(n_trials=900)
    t = generate_session("biased", truth, BIASED_CONTRASTS, 1.5, np.random.default_rng(3), 5.0, 1024).trials
    pl = t["probabilityLeft"]
    assert np.all(pl[:90] == 0.5) and set(np.unique(pl)) == {0.2, 0.5, 0.8}
    fits = {p: fit_psychometric(contrast_table(t["contrastLeft"][pl == p], t["contrastRight"][pl == p], t["choice"][pl == p]))
            for p in (0.2, 0.8)}
    assert 8.0 < fits[0.8].bias - fits[0.2].bias < 30.0
    left = np.isnan(t["contrastRight"])
    assert abs(left[pl == 0.8].mean() - 0.8) < 0.06 and abs(left[pl == 0.2].mean() - 0.2) < 0.06


def test_reaction_times_fall_with_contrast_and_the_wheel_crosses_threshold_at_the_response() -> None:
    data = generate_session("training", _params(nogo=0.02), FULL, 2.0, np.random.default_rng(5), 5.0, 4096)
    t, w = data.trials, data.wheel
    rt = t["response_times"] - t["stimOn_times"]
    c = np.nan_to_num(t["contrastLeft"]) + np.nan_to_num(t["contrastRight"])
    moved = t["choice"] != 0
    assert np.median(rt[(c == 0) & moved]) > np.median(rt[(c == 1) & moved]) + 0.2
    assert np.allclose(rt[~moved], 60.0) and np.all(np.isnan(t["firstMovement_times"][~moved]))
    at = np.interp(t["response_times"][moved], w["timestamps"], w["position"])
    before = np.interp(t["stimOn_times"][moved], w["timestamps"], w["position"])
    moved_by = (at - before) * -t["choice"][moved]  # CCW (choice -1) turns the wheel up
    assert np.all(np.abs(moved_by - RESPONSE_THRESHOLD_RAD) < 2 * 2 * np.pi / 4096)


def test_repeat_trials_follow_errors_on_easy_contrasts() -> None:
    t = generate_session("training", _params(lapse_low=0.3, lapse_high=0.3), FULL, 2.0, np.random.default_rng(1), 5.0, 1024).trials
    rep = np.flatnonzero(t["repNum"] > 0)
    assert rep.size > 10
    c = np.nan_to_num(t["contrastLeft"]) + np.nan_to_num(t["contrastRight"])
    assert np.all(t["feedbackType"][rep - 1] == -1) and np.all(c[rep] >= 0.5)
    assert np.all(c[rep] == c[rep - 1])


def test_contrast_table_merges_zero_contrasts() -> None:
    nan = np.nan
    table = contrast_table(np.array([0.0, nan, 1.0]), np.array([nan, 0.0, nan]), np.array([-1, 1, 1]))
    assert list(table.signed_contrasts) == [-100.0, 0.0]
    assert list(table.n_trials) == [1.0, 2.0] and list(table.n_right) == [0.0, 1.0]


# --- training-status rules (reference ibl-system.md §4.4) ----------------------------------

T0 = dt.datetime(2024, 1, 8, 9, 0)


def _session(i: int, kind: str, params: SessionParams, contrasts: tuple[float, ...] = FULL,
             board: str = "_iblrig_x_behavior_1", delay: float = 0.0) -> SessionTrials:
    data = generate_session(kind, params, contrasts, 2.0, np.random.default_rng(100 + i), 5.0 + delay, 256)
    protocol = f"_iblrig_tasks_{kind}ChoiceWorld6.4.2"
    return SessionTrials.from_trials(f"s{i}", T0 + dt.timedelta(days=i), protocol, board, delay, data.trials)


def test_three_expert_training_sessions_give_trained_1b_and_it_sticks() -> None:
    expert, naive = _params(), _params(threshold=60.0, lapse_low=0.3, lapse_high=0.3, n_trials=300)
    sessions = [_session(i, "training", expert) for i in range(3)] + [_session(3, "training", naive)]
    assert [d.status for d in training_statuses(sessions)] == ["in_training", "in_training", "trained_1b", "trained_1b"]


def test_moderate_performance_gives_trained_1a_and_missing_contrasts_block_it() -> None:
    fair = _params(threshold=16.0, lapse_low=0.12, lapse_high=0.12, n_trials=350)
    assert training_statuses([_session(i, "training", fair) for i in range(3)])[-1].status == "trained_1a"
    partial = [_session(i, "training", fair, TRAINING_CONTRAST_LEVELS[2]) for i in range(3)]
    assert training_statuses(partial)[-1].status == "in_training"


def test_forty_sessions_without_status_are_untrainable() -> None:
    naive = _params(threshold=70.0, lapse_low=0.35, lapse_high=0.35, n_trials=120)
    sessions = [_session(i, "training", naive, TRAINING_CONTRAST_LEVELS[0]) for i in range(40)]
    statuses = [d.status for d in training_statuses(sessions)]
    assert statuses[:39] == ["in_training"] * 39 and statuses[39] == "untrainable"


def test_biased_then_ephys_rig_then_delay_reach_ready4recording() -> None:
    expert = _params(n_trials=800, lapse_low=0.02, lapse_high=0.02)
    rig, ephys = "_iblrig_x_behavior_1", "_iblrig_x_ephys_0"
    plan = [("training", rig, 0.0)] * 3 + [("biased", rig, 0.0)] * 3 + [("biased", ephys, 0.0)] + [("biased", ephys, 960.0)] * 2 + [("ephys", ephys, 0.0)]
    sessions = [_session(i, kind, expert, FULL if kind == "training" else BIASED_CONTRASTS, board, delay)
                for i, (kind, board, delay) in enumerate(plan)]
    decisions = training_statuses(sessions)
    assert [d.status for d in decisions] == [
        "in_training", "in_training", "trained_1b", "trained_1b", "trained_1b", "ready4ephysrig",
        "ready4delay", "ready4delay", "ready4recording", "ready4recording"]
    assert decisions[5].evidence["fit_pleft_08"]["bias"] - decisions[5].evidence["fit_pleft_02"]["bias"] > 5
    assert decisions[-1].good_enough_for_brainwide_map and not decisions[-2].good_enough_for_brainwide_map


def test_biased_session_without_shift_stays_trained_1b() -> None:
    flat = _params(prior_shift=0.0, n_trials=650)
    sessions = [_session(i, "training", flat) for i in range(3)] + [_session(3 + i, "biased", flat, BIASED_CONTRASTS) for i in range(3)]
    assert decide_status(sessions, ["in_training", "in_training", "trained_1b", "trained_1b", "trained_1b"]).status == "trained_1b"


# --- config, API errors and CLI ------------------------------------------------------------

@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"labs": 0}, "labs"),
        ({"ephys_fraction": 1.5}, "ephys_fraction"),
        ({"trials_per_session": (500, 400)}, "trials_per_session"),
        ({"probes_per_recording": (1, 3)}, "probes_per_recording"),
        ({"start_date": "2024-13-01"}, "ISO date"),
        ({"seed": -1}, "seed"),
    ],
)
def test_bad_config_values_raise_config_error(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        SimulationConfig(**kwargs)  # type: ignore[arg-type]


def test_config_round_trips_through_json() -> None:
    cfg = SimulationConfig(seed=4, start_date="2024-02-05")  # type: ignore[arg-type]
    assert cfg.start_date == dt.date(2024, 2, 5)
    assert SimulationConfig.from_json(cfg.to_json()) == cfg
    with pytest.raises(ConfigError, match="Unknown"):
        SimulationConfig.from_json({"mice": 3})


def test_output_folder_rules(tmp_path: Path) -> None:
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "notes.txt").write_text("mine")
    with pytest.raises(ConfigError, match="not empty"):
        simulate(tmp_path / "x", TINY)
    with pytest.raises(ConfigError, match="not a simulation output"):
        simulate(tmp_path / "x", TINY, overwrite=True)
    with pytest.raises(DataError, match="No LIMS snapshots"):
        next(iter_days(tmp_path / "x"))


def test_cli_writes_a_cohort_and_refuses_a_full_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = [str(tmp_path / "out"), "--seed", "2", "--labs", "1", "--mice", "1", "--days", "5", "--trials", "80,100", "--workers", "1"]
    assert main(args) == 0
    assert "1 mice" in capsys.readouterr().out
    assert len(list(iter_days(tmp_path / "out"))) == 5
    assert main(args) == 2
    assert "not empty" in capsys.readouterr().err
    assert main([*args, "--overwrite"]) == 0
