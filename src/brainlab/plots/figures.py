"""Small helpers for plotly figure dicts: JSON-safe values, WebGL and downsampling choices."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import numpy as np

__all__ = ["BLOCK_COLORS", "MAX_POINTS", "WEBGL_POINTS", "downsample", "figure", "jsonable", "scatter_type"]

#: Above this many points a scatter trace uses WebGL (``scattergl``).
WEBGL_POINTS = 1000
#: Above this many points a trace is downsampled (evenly, seeded) before storing.
MAX_POINTS = 50_000

#: Colours of probability-left blocks (a diverging palette: 0.2 orange, 0.5 grey, 0.8 blue).
BLOCK_COLORS = {0.2: "#e08214", 0.5: "#636363", 0.8: "#2c7fb8"}

FONT = {"family": "Helvetica, Arial, sans-serif", "size": 12}


def jsonable(value: Any) -> Any:
    """Convert numpy arrays and scalars, dates and NaN (-> None) to JSON values, recursively."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        if value.dtype.kind == "f":
            return [None if not math.isfinite(v) else v for v in value.tolist()] if value.ndim == 1 else [
                jsonable(row) for row in value]
        return jsonable(value.tolist())
    if isinstance(value, np.generic):
        return jsonable(value.item())
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    return value


def scatter_type(n_points: int) -> str:
    """``scattergl`` for large point counts (WebGL), ``scatter`` otherwise."""
    return "scattergl" if n_points > WEBGL_POINTS else "scatter"


def downsample(n: int, max_points: int = MAX_POINTS, seed: int = 0) -> np.ndarray:
    """Indices of at most ``max_points`` of ``n`` points, sorted (all when n is small)."""
    if n <= max_points:
        return np.arange(n)
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(n, size=max_points, replace=False))


def figure(data: list[dict[str, Any]], layout: dict[str, Any]) -> dict[str, Any]:
    """A JSON-ready figure dict with the house style."""
    base = {"font": FONT, "plot_bgcolor": "white", "paper_bgcolor": "white", "margin": {"l": 60, "r": 30, "t": 50,
                                                                                          "b": 50}}
    base.update(layout)
    return jsonable({"data": data, "layout": base})
