"""brainlab's pure functions: fits, measures, movements, spike alignment, figures, registry, LIMS mapping."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import plotly.graph_objects as go
import psychofit
import pytest
from one.alf import io as alfio

from brainlab.analyses import ephys as ae
from brainlab.analyses import psych
from brainlab.ephys import align_spikes
from brainlab.group_shared.movements import extract_moves, first_movements
from brainlab.ingest.apply import _same, record_hash
from brainlab.ingest.lims_map import MODEL_ORDER, Resolver, map_record
from brainlab.plots import behavior_figs as bf
from brainlab.plots import ephys_figs as ef
from brainlab.plots import registry
from brainlab.plots.figures import downsample, jsonable, scatter_type
from labjoin.errors import DataError


def _counts(pars: list[float], n: int = 200, seed: int = 0) -> psych.ContrastCounts:
    rng = np.random.default_rng(seed)
    x = np.array([-1, -0.25, -0.125, -0.0625, 0, 0.0625, 0.125, 0.25, 1.0])
    p = psychofit.erf_psycho_2gammas(pars, x * 100)
    right = rng.binomial(n, p)
    return psych.ContrastCounts(x, np.full(x.size, n), right)


def test_fit_recovers_parameters_and_is_reproducible() -> None:
    counts = _counts([5.0, 15.0, 0.1, 0.05], n=2000)
    a = psych.fit(counts)
    psych._FITS.clear()
    b = psych.fit(counts)
    assert a == b  # seeded restarts: the same answer every time
    assert abs(a.bias - 5) < 2 and abs(a.threshold - 15) < 3
    assert abs(a.lapse_low - 0.1) < 0.03 and abs(a.lapse_high - 0.05) < 0.03


def test_fit_leaves_numpy_global_random_state_alone() -> None:
    np.random.seed(123)
    expected = np.random.rand()
    np.random.seed(123)
    psych._FITS.clear()
    psych.fit(_counts([0, 20, 0.1, 0.1]))
    assert np.random.rand() == expected


def test_fit_uses_reference_bounds() -> None:
    counts = psych.ContrastCounts(np.array([0.25, 1.0]), np.array([50, 50]), np.array([40, 49]))
    f = psych.fit(counts)
    assert 25 <= f.bias <= 100 and 0 <= f.threshold <= 100  # bias bounded by min/max contrast (%)


def test_bootstrap_interval_contains_truth() -> None:
    truth = [-8.0, 18.0, 0.08, 0.12]
    ci = psych.bootstrap_fit(_counts(truth, n=120, seed=3), n_boot=60)
    for (lo, hi), t in zip(ci.values(), truth):
        assert lo <= t <= hi


def test_bootstrap_replicates_schemes_levels_and_bad_arguments() -> None:
    counts = _counts([-8.0, 18.0, 0.08, 0.12], n=120, seed=3)
    reps = psych.bootstrap_replicates(counts, n_boot=30)
    assert reps.shape == (30, 4) and np.all(reps.std(axis=0) > 0)
    np.testing.assert_array_equal(reps, psych.bootstrap_replicates(counts, n_boot=30))  # seeded
    parametric = psych.bootstrap_replicates(counts, n_boot=30, scheme="parametric")
    assert not np.array_equal(reps, parametric)
    # the same replicates give nested intervals: a higher level is never narrower
    narrow = psych.bootstrap_fit(counts, level=0.68, replicates=reps)
    wide = psych.bootstrap_fit(counts, level=0.99, replicates=reps)
    for k in narrow:
        assert wide[k][0] <= narrow[k][0] <= narrow[k][1] <= wide[k][1]
    state = np.random.get_state()[1].copy()
    psych.bootstrap_replicates(counts, n_boot=2)
    np.testing.assert_array_equal(np.random.get_state()[1], state)  # the global generator is restored
    with pytest.raises(DataError, match="'parametric' or 'nonparametric'"):
        psych.bootstrap_replicates(counts, n_boot=2, scheme="jackknife")
    with pytest.raises(DataError, match="between 0 and 1"):
        psych.bootstrap_fit(counts, level=95, replicates=reps)


def test_contrast_counts_merge_zero_contrasts() -> None:
    signed = np.array([0.0, -0.0, 0.25, 0.25, -1.0])
    right = np.array([True, False, True, True, False])
    c = psych.contrast_counts(signed, right)
    assert list(c.signed_contrasts) == [-1.0, 0.0, 0.25]
    assert list(c.n_trials_stim) == [1, 2, 2] and list(c.n_trials_stim_right) == [0, 1, 2]


def test_performance_easy_definition() -> None:
    signed = np.array([1.0, -1.0, 0.5, -0.5, 0.25, 0.0])
    choice = np.array([-1, 1, 1, 1, -1, -1])  # correct, correct, wrong, correct, (not easy), (not easy)
    assert psych.performance_easy(signed, choice) == pytest.approx(0.75)
    assert psych.performance_easy(np.array([0.1]), np.array([1])) is None


def test_median_ci_brackets_median() -> None:
    values = np.random.default_rng(0).lognormal(-1, 0.5, 300)
    m, lo, hi = psych.median_ci(values)
    assert lo < m < hi and m == pytest.approx(np.median(values))
    assert all(np.isnan(psych.median_ci(np.array([np.nan]))))


def _one_session(root: Path) -> Path:
    return next(p.parent for p in sorted(root.glob("*/Subjects/*/*/*/alf/_ibl_trials.choice.npy")))


def test_first_movements_match_simulated_onsets(small_cohort: Path) -> None:
    folder = _one_session(small_cohort)
    wheel = alfio.load_object(folder, "wheel", namespace="ibl")
    trials = alfio.load_object(folder, "trials", namespace="ibl")
    moves = extract_moves(wheel["timestamps"], wheel["position"])
    start = np.fmin(trials["stimOn_times"], trials["goCue_times"])
    end = np.fmin(trials["response_times"], trials["feedback_times"])
    fm = first_movements(moves, start, end, trials["response_times"])
    true = trials["firstMovement_times"]
    ok = np.isfinite(true)
    found = np.isfinite(fm.onset[ok])
    assert found.mean() > 0.95
    err = np.abs(fm.onset[ok][found] - true[ok][found])
    assert np.median(err) < 0.04  # the first encoder tick comes a few tens of ms after the onset
    assert fm.final[ok].mean() > 0.9


def test_align_spikes_assigns_trial_windows() -> None:
    windows = np.array([[0.0, 1.0], [2.0, 3.0]])
    events = np.array([0.5, 2.5])
    spikes = np.array([-0.1, 0.2, 1.0, 1.5, 2.0, 2.9, 3.5])
    trial, rel = align_spikes(spikes, windows, events)
    assert trial.tolist() == [0, 0, 1, 1]
    assert np.allclose(rel, [-0.3, 0.5, -0.5, 0.4])


def test_autocorrelogram_counts_pairs_symmetrically() -> None:
    acg = ae.autocorrelogram(np.array([0.0, 0.001, 0.0105, 1.0]), window=0.02, bin_size=0.001)
    assert acg.size == 40 and acg.sum() == 2 * 3  # pairs 1 ms, 10.5 ms, 9.5 ms apart, both signs
    assert acg[20 + 1] == 1 and acg[20 - 2] == 1  # +1 ms bin [1, 2) ms; -1 ms bin [-2, -1) ms


def test_peth_counts_per_trial() -> None:
    out = ae.peth(np.array([0.95, 1.05, 1.2, 5.0]), np.array([1.0, 4.9]), 0.1, 0.3, 0.1)
    assert out.shape == (2, 4) and out[0].tolist() == [1, 1, 1, 0] and out[1].tolist() == [0, 1, 0, 0]


def test_figures_are_valid_plotly() -> None:
    block = dict(prob_left=0.8, signed_contrasts=np.array([-1, 0, 1.0]), n_trials_stim=np.array([10, 10, 10]),
                 prob_choose_right=np.array([0.1, 0.5, np.nan]), bias=1.0, threshold=10.0, lapse_low=0.1,
                 lapse_high=0.1)
    rt = dict(prob_left=0.5, signed_contrasts=np.array([-1, 1.0]), rt=np.array([0.3, 0.4]),
              ci_low=np.array([0.2, 0.3]), ci_high=np.array([0.4, 0.5]))
    days = [dt.date(2024, 1, 8) + dt.timedelta(days=i) for i in range(10)]
    markers = {"status": {"trained_1a": days[3]}, "ephys": [(days[8], True)], "seven_months": days[5]}
    figs = [
        bf.psych_curve([block], "t"), bf.rt_contrast([rt], "t"),
        bf.rt_trial_number(np.arange(1, 2001), np.random.default_rng(0).lognormal(size=2000), "t"),
        bf.trial_counts_duration(days, list(range(10)), [40.0] * 10, markers),
        bf.performance_rt(days, [0.5] * 10, [None] * 10, markers),
        bf.contrast_heatmap(days[:2], [np.array([-1, 1.0])] * 2, [np.array([0.1, 0.9])] * 2, markers),
        bf.fit_pars_figure({0.5: {"date": days, "threshold": [10] * 10, "bias": [0] * 10, "lapse_low": [0.1] * 10,
                                  "lapse_high": [0.1] * 10}}, markers),
        bf.water_weight({"Water": (days, [1.0] * 10)}, (days, [20.0] * 10),
                        [{"start": days[0], "end": None, "reference_weight": 25.0}], {"Water": "#000000"}, markers,
                        [days[5]]),
        ef.raster(np.array([0.1, -0.2]), np.array([0, 1]), 2, [(0, 1, -0.25)], "t", "stim on"),
        ef.psth_figure(np.arange(3.0), {"all": (np.ones(3), np.zeros(3))}, "t", "stim on"),
        ef.driftmap(np.arange(60_000.0), np.ones(60_000), np.zeros(60_000, int), np.ones(60_000), "t"),
        ef.depth_peth_figure(np.zeros((2, 3)), np.arange(3.0), np.arange(2.0), "t", "stim on"),
        ef.spike_amp_time(np.arange(10.0), np.ones(10), "t"), ef.acg_figure(np.ones(4), -0.002, 0.001, "t"),
        ef.waveform(np.ones((82, 2)), np.array([0, 1]), np.array([[0, 20], [32, 20]]), "t"),
    ]
    for fig in figs:
        go.Figure(fig)  # raises on anything plotly does not accept
    assert figs[2]["data"][0]["type"] == "scattergl"
    assert len(figs[10]["data"][0]["x"]) == 50_000  # the driftmap is downsampled


def test_json_helpers() -> None:
    assert jsonable({"a": np.array([1.0, np.nan]), "d": dt.date(2024, 1, 2)}) == {"a": [1.0, None], "d": "2024-01-02"}
    assert scatter_type(10) == "scatter" and scatter_type(10_000) == "scattergl"
    idx = downsample(100, 10)
    assert idx.size == 10 and np.all(np.diff(idx) > 0)


def test_registry_names_match_the_table_classes() -> None:
    import importlib

    for spec in registry.FIGURES:
        module = importlib.import_module(f"brainlab.plotting.{spec.module.split('_', 1)[1]}")
        master, _, part = spec.table.partition(".")
        cls = getattr(module, master)
        if part:
            cls = getattr(cls, part)
            cls.master = getattr(module, master)
        assert cls.table_name == spec.table_name, spec
        assert spec.full_table_name("p_").startswith(f"`p_{spec.module}`.")
    assert {f.name for f in registry.figures_for("mouse", public=True)}.isdisjoint({"water_weight"})
    with pytest.raises(KeyError):
        registry.figures_for("nowhere")


def test_registry_does_not_import_the_navigator() -> None:
    import ast
    import inspect

    tree = ast.parse(inspect.getsource(registry))
    names = [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
    names += [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
    assert not [n for n in names if "navigator" in n]


def test_value_comparison_for_updates() -> None:
    assert _same(np.float32(17.56), 17.56)  # float columns come back as float32
    assert _same("4462FD05-EF64-4821-8D61-FE4308541563", "4462fd05-ef64-4821-8d61-fe4308541563")
    assert not _same(None, 0) and _same(None, None) and not _same(71.56, 17.56)
    assert record_hash({"b": 1, "a": 2}) == record_hash({"a": 2, "b": 1})


def test_lims_mapping_of_a_session_keeps_the_stored_key() -> None:
    lab, loc, user, subj = "lab-pk", "loc-pk", "user-pk", "4462fd05-ef64-4821-8d61-fe4308541563"
    snap = {"misc.lab": {lab: {"name": "larkinlab"}},
            "misc.lablocation": {loc: {"name": "rig1", "lab": lab}},
            "misc.labmember": {user: {"username": "ada"}}}
    fields = {"subject": subj, "start_time": "2024-01-12T08:02:01", "location": loc, "users": [user],
              "procedures": [], "projects": [], "qc": 10, "extended_qc": {"task": "FAIL"}, "number": 1,
              "end_time": None, "task_protocol": "x", "type": "Experiment", "narrative": "", "parent_session": None}
    stored = {"sess-pk": {"subject_uuid": subj, "session_start_time": dt.datetime(2024, 1, 12, 8, 2, 0)}}
    rows = map_record("actions.session", "sess-pk", fields, Resolver(snap, {}, stored))
    tables = [t.__name__ for t, _ in rows]
    assert tables == ["Session", "SessionUser", "SessionQC", "SessionExtendedQC"]
    assert rows[0][1]["session_start_time"] == dt.datetime(2024, 1, 12, 8, 2, 0)  # not 08:02:01
    assert rows[0][1]["session_location"] == "rig1" and rows[2][1]["session_qc"] == 10
    assert rows[3][1]["session_extended_qc"] == 40
    assert map_record("misc.note", "x", {}, Resolver({}, {}, {})) == []
    assert MODEL_ORDER.index("actions.session") < MODEL_ORDER.index("data.dataset")


def test_demo_report_says_where_and_how_to_check_it(tmp_path: Path) -> None:
    from brainlab.demo import DemoResult, describe

    lines = "\n".join(describe(DemoResult(database="sqlite:///x.db", data_dir=tmp_path / "cohort", prefix="lab_",
                                          rows={"lab_subject": {"Subject": 3}})))
    assert f"brainlab validate --data {tmp_path / 'cohort'} --prefix lab_" in lines
    assert "brainlab jobs --prefix lab_" in lines and "Subject 3" in lines
