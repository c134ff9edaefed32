"""Ephys figures as plotly dicts (reference ``ibl-system.md`` §5, "Ephys plot images").

IBL drew these with matplotlib into PNGs on S3 and laid them over a plotly template; here they
are plotly figures with WebGL traces (``scattergl``) and a bounded point count (evenly seeded
downsampling above the limits below), so the navigator renders them directly.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .figures import downsample, figure, scatter_type

__all__ = ["acg_figure", "depth_peth_figure", "driftmap", "psth_figure", "raster", "spike_amp_time", "waveform"]

RASTER_POINTS = 20_000
DRIFT_POINTS = 50_000
AMP_POINTS = 5_000
CONDITION_COLORS = {"left": "#2c7fb8", "right": "#e6550d", "incorrect": "#de2d26", "all": "black"}


def raster(rel_times: np.ndarray, rows: np.ndarray, n_rows: int, bands: list[tuple[int, int, float]], title: str,
           event: str, window: tuple[float, float] = (-0.5, 1.0)) -> dict[str, Any]:
    """Spike raster: one row per trial (sorted by contrast), with background bands per contrast.

    ``bands`` are (first row, last row, signed contrast) of each contrast group.
    """
    keep = (rel_times >= window[0]) & (rel_times <= window[1])
    x, y = rel_times[keep], rows[keep]
    idx = downsample(x.size, RASTER_POINTS)
    shapes = []
    for lo, hi, c in bands:
        shade = min(abs(c), 1.0)
        color = f"rgba(84,39,136,{0.08 + 0.3 * shade})" if c < 0 else f"rgba(179,88,6,{0.08 + 0.3 * shade})"
        shapes.append({"type": "rect", "xref": "paper", "yref": "y", "x0": 0, "x1": 0.02, "y0": lo - 0.5,
                       "y1": hi + 0.5, "fillcolor": color, "line": {"width": 0}})
    data = [{"type": scatter_type(idx.size), "mode": "markers", "x": np.round(x[idx], 4), "y": y[idx],
             "marker": {"size": 2, "color": "black"}, "name": "spikes", "showlegend": False}]
    return figure(data, {"title": {"text": title}, "shapes": shapes,
                         "xaxis": {"title": {"text": f"Time from {event} (s)"}, "range": list(window)},
                         "yaxis": {"title": {"text": "Trials (sorted by contrast)"}, "range": [-1, n_rows]}})


def psth_figure(time: np.ndarray, curves: dict[str, tuple[np.ndarray, np.ndarray]], title: str,
                event: str) -> dict[str, Any]:
    """Mean firing rate per condition with a +-1 s.e.m. band."""
    data: list[dict[str, Any]] = []
    t = np.round(np.asarray(time, dtype=float), 4)
    for name, (mean, sem) in curves.items():
        color = CONDITION_COLORS.get(name, "gray")
        data.append({"type": "scatter", "mode": "lines", "x": np.concatenate([t, t[::-1]]),
                     "y": np.concatenate([mean + sem, (mean - sem)[::-1]]), "fill": "toself", "line": {"width": 0},
                     "fillcolor": color, "opacity": 0.2, "showlegend": False, "hoverinfo": "skip",
                     "legendgroup": name, "name": name})
        data.append({"type": "scatter", "mode": "lines", "x": t, "y": mean, "name": name, "legendgroup": name,
                     "line": {"color": color}})
    return figure(data, {"title": {"text": title}, "xaxis": {"title": {"text": f"Time from {event} (s)"}},
                         "yaxis": {"title": {"text": "Firing rate (spikes/s)"}}})


def driftmap(times: np.ndarray, depths: np.ndarray, clusters: np.ndarray, amps: np.ndarray,
             title: str) -> dict[str, Any]:
    """Every spike at (time, depth), coloured by cluster; downsampled to 50,000 points."""
    idx = downsample(times.size, DRIFT_POINTS)
    a = np.asarray(amps, dtype=float)[idx]
    size = 2 + 3 * (a - a.min()) / (np.ptp(a) or 1.0) if a.size else a
    data = [{"type": "scattergl", "mode": "markers", "x": np.round(times[idx], 3), "y": np.round(depths[idx], 1),
             "marker": {"size": size, "color": clusters[idx], "colorscale": "Turbo", "opacity": 0.5},
             "name": "spikes", "showlegend": False}]
    note = [] if idx.size == times.size else [{
        "text": f"{idx.size:,} of {times.size:,} spikes shown", "showarrow": False, "xref": "paper",
        "yref": "paper", "x": 1, "y": 1.05, "xanchor": "right", "font": {"size": 10}}]
    return figure(data, {"title": {"text": title}, "annotations": note, "xaxis": {"title": {"text": "Time (s)"}},
                         "yaxis": {"title": {"text": "Depth from tip (um)"}}})


def depth_peth_figure(peth: np.ndarray, time: np.ndarray, depth: np.ndarray, title: str, event: str) -> dict[str, Any]:
    """Heatmap of the normalised depth PETH."""
    z = np.asarray(peth, dtype=float)
    lim = float(np.nanmax(np.abs(z))) if z.size else 1.0
    data = [{"type": "heatmap", "x": np.round(time, 4), "y": depth, "z": np.round(z, 3), "colorscale": "RdBu",
             "reversescale": True, "zmin": -lim, "zmax": lim, "colorbar": {"title": {"text": "Normalised rate"}}}]
    return figure(data, {"title": {"text": title}, "xaxis": {"title": {"text": f"Time from {event} (s)"}},
                         "yaxis": {"title": {"text": "Depth from tip (um)"}}})


def spike_amp_time(times: np.ndarray, amps: np.ndarray, title: str) -> dict[str, Any]:
    """Spike amplitude (uV) against time; downsampled to 5,000 points."""
    idx = downsample(times.size, AMP_POINTS)
    data = [{"type": scatter_type(idx.size), "mode": "markers", "x": np.round(times[idx], 3),
             "y": np.round(np.asarray(amps)[idx] * 1e6, 2), "marker": {"size": 3, "color": "#3182bd"},
             "name": "spikes", "showlegend": False}]
    return figure(data, {"title": {"text": title}, "xaxis": {"title": {"text": "Time (s)"}},
                         "yaxis": {"title": {"text": "Amplitude (uV)"}}})


def acg_figure(counts: np.ndarray, t_start: float, bin_size: float, title: str) -> dict[str, Any]:
    """Autocorrelogram as bars (ms)."""
    centers = (t_start + bin_size * (np.arange(len(counts)) + 0.5)) * 1000
    data = [{"type": "bar", "x": np.round(centers, 2), "y": counts, "marker": {"color": "#636363"},
             "name": "ACG", "showlegend": False}]
    return figure(data, {"title": {"text": title}, "bargap": 0, "xaxis": {"title": {"text": "Lag (ms)"}},
                         "yaxis": {"title": {"text": "Count"}}})


def waveform(wave: np.ndarray, channels: np.ndarray, coords: np.ndarray | None, title: str) -> dict[str, Any]:
    """Template waveform drawn at each channel's position (one trace, gaps between channels)."""
    wave = np.asarray(wave, dtype=float)
    n_samples = wave.shape[0]
    scale = np.abs(wave).max() or 1.0
    xs: list[Any] = []
    ys: list[Any] = []
    for j, ch in enumerate(np.asarray(channels)):
        if coords is not None and ch < len(coords):
            x0, y0 = float(coords[ch][0]), float(coords[ch][1])
        else:
            x0, y0 = float(j % 2) * 40.0, float(j // 2) * 20.0
        xs += [*np.round(x0 + np.linspace(0, 24, n_samples), 2), None]
        ys += [*np.round(y0 + wave[:, j] / scale * 30, 2), None]
    data = [{"type": "scatter", "mode": "lines", "x": xs, "y": ys, "line": {"color": "black", "width": 1},
             "name": "template", "showlegend": False}]
    return figure(data, {"title": {"text": title}, "xaxis": {"title": {"text": "x (um)"}},
                         "yaxis": {"title": {"text": "Depth from tip (um)"}}})
