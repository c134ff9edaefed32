"""Behaviour figures (reference ``ibl-system.md`` §5), as plotly figure dicts.

Session and date figures: psychometric curve per probability-left block (points with 68 %
binomial intervals, normal approximation, plus the fitted curve over -100..100 %), median RT per
contrast per block with its 68 % bootstrap interval, and RT per trial with a rolling median over
10 trials. Cumulative (per subject) figures: water and weight, trial counts and session
duration, performance and median RT, contrast heatmap, fit parameters; each is overlaid with
Monday lines, the first day of each training status, the day the mouse turned 7 months and the
ephys sessions (coloured by ``good_enough_for_brainwide_map``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import numpy as np
from psychofit import erf_psycho_2gammas

from .figures import BLOCK_COLORS, figure, scatter_type

__all__ = [
    "contrast_heatmap",
    "fit_pars_figure",
    "performance_rt",
    "psych_curve",
    "rt_contrast",
    "rt_trial_number",
    "trial_counts_duration",
    "water_weight",
]

Z68 = 0.9945  # two-sided 68 % normal quantile
THRESHOLD_LINES = {"threshold": 19.0, "bias": 16.0, "lapse_low": 0.2, "lapse_high": 0.2}  # trained_1a values


def _color(p: float) -> str:
    return BLOCK_COLORS.get(round(float(p), 1), "#636363")


def psych_curve(blocks: Sequence[dict[str, Any]], title: str) -> dict[str, Any]:
    """Psychometric curve per block: rows with prob_left, signed_contrasts, n_trials_stim,
    prob_choose_right and the four fit parameters."""
    data = []
    xs = np.linspace(-100, 100, 201)
    for b in sorted(blocks, key=lambda r: r["prob_left"]):
        color = _color(b["prob_left"])
        x = np.asarray(b["signed_contrasts"], dtype=float) * 100
        p = np.asarray(b["prob_choose_right"], dtype=float)
        n = np.maximum(np.asarray(b["n_trials_stim"], dtype=float), 1)
        err = Z68 * np.sqrt(p * (1 - p) / n)
        name = f"p_left = {b['prob_left']:.1f}"
        data.append({"type": "scatter", "mode": "markers", "x": x, "y": p * 100, "name": name + " data",
                     "legendgroup": name, "marker": {"color": color, "size": 7},
                     "error_y": {"type": "data", "array": err * 100, "visible": True, "color": color}})
        pars = [b["bias"], b["threshold"], b["lapse_low"], b["lapse_high"]]
        data.append({"type": "scatter", "mode": "lines", "x": xs, "y": erf_psycho_2gammas(pars, xs) * 100,
                     "name": name + " fit", "legendgroup": name, "line": {"color": color}})
    return figure(data, {"title": {"text": title}, "xaxis": {"title": {"text": "Contrast (%)"}, "range": [-105, 105]},
                         "yaxis": {"title": {"text": "Rightward choices (%)"}, "range": [-5, 105]},
                         "legend": {"orientation": "v"}, "annotations": [{
                             "text": "error bars: 68 % CI", "showarrow": False, "xref": "paper", "yref": "paper",
                             "x": 0, "y": 1.05, "font": {"size": 10}}]})


def rt_contrast(blocks: Sequence[dict[str, Any]], title: str) -> dict[str, Any]:
    """Median RT per contrast per block: rows with prob_left, signed_contrasts, rt, ci_low, ci_high."""
    data = []
    for b in sorted(blocks, key=lambda r: r["prob_left"]):
        color = _color(b["prob_left"])
        x = np.asarray(b["signed_contrasts"], dtype=float) * 100
        rt = np.asarray(b["rt"], dtype=float)
        lo, hi = np.asarray(b["ci_low"], dtype=float), np.asarray(b["ci_high"], dtype=float)
        data.append({"type": "scatter", "mode": "lines+markers", "x": x, "y": rt,
                     "name": f"p_left = {b['prob_left']:.1f}", "marker": {"color": color}, "line": {"color": color},
                     "error_y": {"type": "data", "symmetric": False, "array": hi - rt, "arrayminus": rt - lo,
                                 "color": color}})
    return figure(data, {"title": {"text": title}, "xaxis": {"title": {"text": "Contrast (%)"}},
                         "yaxis": {"title": {"text": "Median reaction time (s)"}, "type": "log"}})


def rt_trial_number(trial_ids: np.ndarray, rt: np.ndarray, title: str, window: int = 10) -> dict[str, Any]:
    """RT of every trial (light grey) and its rolling median over ``window`` trials (black)."""
    rt = np.asarray(rt, dtype=float)
    ok = np.isfinite(rt)
    x, y = np.asarray(trial_ids)[ok], rt[ok]
    rolling = np.array([np.median(y[max(0, i - window + 1): i + 1]) for i in range(y.size)])
    kind = scatter_type(x.size)
    data = [{"type": kind, "mode": "markers", "x": x, "y": y, "name": "reaction time",
             "marker": {"color": "lightgray", "size": 4}},
            {"type": kind, "mode": "lines", "x": x, "y": rolling, "name": f"rolling median ({window} trials)",
             "line": {"color": "black"}}]
    return figure(data, {"title": {"text": title}, "xaxis": {"title": {"text": "Trial number"}},
                         "yaxis": {"title": {"text": "Reaction time (s)"}, "type": "log", "range": [-1, 1]}})


# -- cumulative figures ------------------------------------------------------------------------
def _overlays(dates: Sequence[dt.date], markers: dict[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Shapes and annotations shared by every cumulative figure."""
    shapes: list[dict[str, Any]] = []
    notes: list[dict[str, Any]] = []
    if dates:
        first, last = min(dates), max(dates)
        day = first + dt.timedelta(days=(7 - first.weekday()) % 7)
        while day <= last:
            shapes.append({"type": "line", "xref": "x", "yref": "paper", "x0": day, "x1": day, "y0": 0, "y1": 1,
                           "line": {"color": "#dddddd", "width": 1}})
            day += dt.timedelta(days=7)
    for status, day in sorted(markers.get("status", {}).items(), key=lambda kv: kv[1]):
        shapes.append({"type": "line", "xref": "x", "yref": "paper", "x0": day, "x1": day, "y0": 0, "y1": 1,
                       "line": {"color": "#31a354", "width": 2, "dash": "dot"}})
        notes.append({"x": day, "y": 1.02, "xref": "x", "yref": "paper", "text": status, "showarrow": False,
                      "textangle": -30, "font": {"size": 9, "color": "#31a354"}})
    seven = markers.get("seven_months")
    if seven is not None and dates and min(dates) <= seven <= max(dates):
        shapes.append({"type": "line", "xref": "x", "yref": "paper", "x0": seven, "x1": seven, "y0": 0, "y1": 1,
                       "line": {"color": "#756bb1", "width": 2, "dash": "dash"}})
        notes.append({"x": seven, "y": -0.12, "xref": "x", "yref": "paper", "text": "7 months", "showarrow": False,
                      "font": {"size": 9, "color": "#756bb1"}})
    for day, good in markers.get("ephys", []):
        shapes.append({"type": "line", "xref": "x", "yref": "paper", "x0": day, "x1": day, "y0": 0, "y1": 1,
                       "line": {"color": "#de2d26" if good else "#fc9272", "width": 3}})
    return shapes, notes


def _layout(title: str, dates: Sequence[dt.date], markers: dict[str, Any], **extra: Any) -> dict[str, Any]:
    shapes, notes = _overlays(dates, markers)
    layout = {"title": {"text": title}, "shapes": shapes, "annotations": notes,
              "xaxis": {"title": {"text": "Date"}, "type": "date"}, "legend": {"orientation": "h", "y": -0.25}}
    layout.update(extra)
    return layout


def water_weight(water: dict[str, tuple[list[dt.date], list[float]]], weights: tuple[list[Any], list[float]],
                 restrictions: list[dict[str, Any]], colors: dict[str, str], markers: dict[str, Any],
                 adlib_days: list[dt.date]) -> dict[str, Any]:
    """Daily water per type (stacked bars; ad-lib days as 1 mL bars) and weight with 85 %/75 % lines."""
    data: list[dict[str, Any]] = []
    for wtype, (days, volumes) in sorted(water.items()):
        data.append({"type": "bar", "x": days, "y": volumes, "name": wtype, "marker": {"color": colors.get(wtype)},
                     "yaxis": "y"})
    if adlib_days:
        data.append({"type": "bar", "x": adlib_days, "y": [1.0] * len(adlib_days), "name": "ad lib",
                     "marker": {"color": "#c6dbef", "pattern": {"shape": "/"}}, "yaxis": "y"})
    data.append({"type": "scatter", "mode": "lines+markers", "x": weights[0], "y": weights[1], "name": "weight",
                 "line": {"color": "black"}, "yaxis": "y2"})
    all_days = [d for days, _ in water.values() for d in days] + [w.date() if isinstance(w, dt.datetime) else w
                                                                   for w in weights[0]]
    end = max(all_days) if all_days else None
    for r in restrictions:
        stop = r["end"] or end
        for pct, dash in ((0.85, "dash"), (0.75, "dot")):
            data.append({"type": "scatter", "mode": "lines", "x": [r["start"], stop],
                         "y": [pct * r["reference_weight"]] * 2, "name": f"{int(pct * 100)} % reference weight",
                         "line": {"color": "#e6550d" if pct == 0.85 else "#a50f15", "dash": dash}, "yaxis": "y2"})
        data.append({"type": "scatter", "mode": "markers", "x": [r["start"]], "y": [r["reference_weight"]],
                     "name": "restriction start (reference weight)",
                     "marker": {"symbol": "triangle-down", "size": 12, "color": "#3182bd"}, "yaxis": "y2"})
        if r["end"] is not None:
            data.append({"type": "scatter", "mode": "markers", "x": [r["end"]], "y": [r["reference_weight"]],
                         "name": "restriction end", "marker": {"symbol": "triangle-up", "size": 12,
                                                               "color": "#3182bd"}, "yaxis": "y2"})
    return figure(data, _layout("Water intake and weight", sorted(set(all_days)), markers, barmode="stack",
                                yaxis={"title": {"text": "Water intake (mL)"}},
                                yaxis2={"title": {"text": "Weight (g)"}, "overlaying": "y", "side": "right"}))


def trial_counts_duration(dates: list[dt.date], n_trials: list[int], durations: list[float | None],
                          markers: dict[str, Any]) -> dict[str, Any]:
    """Trials per session (black, left) and session duration in minutes (red, right)."""
    data = [{"type": "scatter", "mode": "lines+markers", "x": dates, "y": n_trials, "name": "trial counts",
             "line": {"color": "black"}, "yaxis": "y"},
            {"type": "scatter", "mode": "lines+markers", "x": dates, "y": durations, "name": "session duration",
             "line": {"color": "#de2d26"}, "yaxis": "y2"}]
    return figure(data, _layout("Trial counts and session duration", dates, markers,
                                yaxis={"title": {"text": "Trial counts"}, "rangemode": "tozero"},
                                yaxis2={"title": {"text": "Session duration (min)"}, "overlaying": "y",
                                        "side": "right", "rangemode": "tozero", "color": "#de2d26"}))


def performance_rt(dates: list[dt.date], perf_easy: list[float | None], median_rt: list[float | None],
                   markers: dict[str, Any]) -> dict[str, Any]:
    """Performance on easy trials (left, 0-1.1) and the day's median RT (right, log 0.1-10 s)."""
    data = [{"type": "scatter", "mode": "lines+markers", "x": dates, "y": perf_easy, "name": "performance easy",
             "line": {"color": "black"}, "yaxis": "y"},
            {"type": "scatter", "mode": "lines+markers", "x": dates, "y": median_rt, "name": "median RT",
             "line": {"color": "#de2d26"}, "yaxis": "y2"}]
    return figure(data, _layout("Performance and median reaction time", dates, markers,
                                yaxis={"title": {"text": "Performance on easy trials"}, "range": [0, 1.1]},
                                yaxis2={"title": {"text": "Median RT (s)"}, "overlaying": "y", "side": "right",
                                        "type": "log", "range": [-1, 1], "color": "#de2d26"}))


def contrast_heatmap(dates: list[dt.date], contrasts: list[np.ndarray], prob_right: list[np.ndarray],
                     markers: dict[str, Any]) -> dict[str, Any]:
    """Rightward choices (%) by signed contrast and date, p_left = 0.5 days only; empty columns
    for days without data."""
    if dates:
        all_days = [min(dates) + dt.timedelta(days=i) for i in range((max(dates) - min(dates)).days + 1)]
    else:
        all_days = []
    levels = np.unique(np.round(np.concatenate([np.asarray(c, float) for c in contrasts]) * 100, 4)) if contrasts \
        else np.empty(0)
    z = np.full((levels.size, len(all_days)), np.nan)
    index = {d: i for i, d in enumerate(all_days)}
    for d, c, p in zip(dates, contrasts, prob_right):
        for ci, pi in zip(np.round(np.asarray(c, float) * 100, 4), np.asarray(p, float)):
            z[np.searchsorted(levels, ci), index[d]] = pi * 100
    data = [{"type": "heatmap", "x": all_days, "y": levels, "z": z, "colorscale": "PuOr", "zmin": 0, "zmax": 100,
             "colorbar": {"title": {"text": "Rightward choice (%)"}}}]
    return figure(data, _layout("Rightward choice (%)", all_days, markers,
                                yaxis={"title": {"text": "Contrast (%)"}}))


def fit_pars_figure(rows: dict[float, dict[str, list[Any]]], markers: dict[str, Any]) -> dict[str, Any]:
    """Four stacked panels (threshold, bias, lapse low, lapse high) against date, one colour per
    p_left, with dash-dot 'threshold for trained' lines (trained_1a values)."""
    names = ("threshold", "bias", "lapse_low", "lapse_high")
    data: list[dict[str, Any]] = []
    all_dates: list[dt.date] = []
    for p, cols in sorted(rows.items()):
        all_dates += list(cols["date"])
        for i, name in enumerate(names):
            data.append({"type": "scatter", "mode": "lines+markers", "x": cols["date"], "y": cols[name],
                         "name": f"p_left = {p:.1f}", "legendgroup": f"{p}", "showlegend": i == 0,
                         "line": {"color": _color(p)}, "xaxis": "x", "yaxis": f"y{i + 1 if i else ''}"})
    if all_dates:
        lo, hi = min(all_dates), max(all_dates)
        for i, name in enumerate(names):
            levels = [THRESHOLD_LINES[name]] + ([-THRESHOLD_LINES[name]] if name == "bias" else [])
            for level in levels:
                data.append({"type": "scatter", "mode": "lines", "x": [lo, hi], "y": [level, level],
                             "line": {"color": "gray", "dash": "dashdot"}, "showlegend": False,
                             "name": "threshold for trained", "xaxis": "x", "yaxis": f"y{i + 1 if i else ''}"})
    extra: dict[str, Any] = {"height": 700}
    for i, label in enumerate(("Threshold", "Bias", "Lapse low", "Lapse high")):
        axis = "yaxis" if i == 0 else f"yaxis{i + 1}"
        extra[axis] = {"title": {"text": label}, "domain": [1 - (i + 1) * 0.25 + 0.03, 1 - i * 0.25]}
    return figure(data, _layout("Fit parameters", sorted(set(all_dates)), markers, **extra))
