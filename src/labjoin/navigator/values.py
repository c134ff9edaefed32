"""Values between the database, URLs, JSON and the page: parsing, encoding and blob previews.

* :func:`to_json` turns anything a fetch returns (dates, UUIDs, decimals, NumPy values,
  blobs) into JSON-safe data; NaN and infinities become null, as JSON has no spelling for them.
* :func:`parse_value` reads the text of a URL parameter or form field as a value of an
  attribute's type, with a message that names the attribute and the expected form.
* :func:`key_params` / :func:`parse_key` carry a primary key through a URL query string.
* :func:`preview` describes a blob for the row page: arrays become plotly figures (images as
  images), dicts and lists become JSON, image bytes become ``data:`` URIs.
* :func:`figure_of` reads a stored plotly figure (a dict, or JSON text) for a figure panel.
"""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import json
import math
import uuid
from collections.abc import Mapping
from typing import Any

import numpy as np

from .. import errors

__all__ = ["figure_of", "is_figure", "key_params", "key_text", "parse_key", "parse_value", "preview",
           "to_json"]

MAX_INLINE_ARRAY = 2_000  # array elements shown inline in JSON previews; larger ones are summarized
MAX_PLOT_POINTS = 5_000  # points per trace in automatic array plots (strided beyond that)
MAX_IMAGE_SIDE = 512  # pixels per side of automatic image previews
MAX_DATA_URI = 5 * 2**20  # bytes of an image shown inline

_TRUE = {"1", "true", "yes", "on", "t", "y"}
_FALSE = {"0", "false", "no", "off", "f", "n"}
_IMAGE_MAGIC = ((b"\x89PNG\r\n\x1a\n", "image/png"), (b"\xff\xd8\xff", "image/jpeg"),
                (b"GIF87a", "image/gif"), (b"GIF89a", "image/gif"))


# -- to JSON ------------------------------------------------------------------------------------
def to_json(value: Any, *, summarize: bool = False) -> Any:
    """JSON-safe form of ``value``. With ``summarize``, arrays larger than MAX_INLINE_ARRAY
    become a short description instead of a list."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, np.generic):
        return to_json(value.item(), summarize=summarize)
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return _timedelta_text(value)
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {"bytes": len(value)}
    if isinstance(value, np.ndarray):
        if summarize and value.size > MAX_INLINE_ARRAY:
            return f"<array {value.dtype} {value.shape}>"
        if value.dtype.names:
            return [{n: to_json(r[n], summarize=summarize) for n in value.dtype.names} for r in value.ravel()]
        return [to_json(v, summarize=summarize) for v in value.tolist()] if value.ndim else to_json(value.item())
    if isinstance(value, Mapping):
        return {str(k): to_json(v, summarize=summarize) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [to_json(v, summarize=summarize) for v in value]
    return str(value)


def _timedelta_text(td: dt.timedelta) -> str:
    total = int(td.total_seconds())
    sign = "-" if total < 0 else ""
    total = abs(total)
    return f"{sign}{total // 3600:02d}:{total % 3600 // 60:02d}:{total % 60:02d}"


# -- text -> value --------------------------------------------------------------------------------
def parse_value(attr: Any, text: str) -> Any:
    """``text`` read as a value of ``attr``'s type; DataError names the attribute and the form.

    ``attr`` is a :class:`labjoin.heading.Attribute`. Strings stay strings; enum values must be
    one of the declared values.
    """
    cat = attr.category
    text = text.strip() if cat not in ("CHAR", "VARCHAR", "TEXT") else text
    try:
        if cat == "INTEGER":
            return int(text)
        if cat == "FLOAT":
            v = float(text)
            if not math.isfinite(v):
                raise ValueError(text)
            return v
        if cat == "DECIMAL":
            return decimal.Decimal(text)
        if cat == "BOOL":
            low = text.lower()
            if low in _TRUE or low in _FALSE:
                return low in _TRUE
            raise ValueError(text)
        if cat == "DATE":
            return dt.date.fromisoformat(text)
        if cat in ("DATETIME", "TIMESTAMP"):
            return dt.datetime.fromisoformat(text)
        if cat == "YEAR":
            return int(text)
        if cat == "UUID":
            return uuid.UUID(text)
        if cat == "TIME":
            dt.time.fromisoformat(text)
            return text
        if cat == "ENUM":
            values = list(getattr(attr.type, "values", ()) or ())
            match = [v for v in values if v.lower() == text.lower()]
            if values and not match:
                raise errors.DataError(f"`{attr.name}` is one of {', '.join(values)}; {text!r} is not.")
            return match[0] if match else text
        if cat == "JSON":
            return json.loads(text)
    except errors.DataError:
        raise
    except (ValueError, decimal.InvalidOperation, json.JSONDecodeError):
        raise errors.DataError(f"`{attr.name}` needs {_expected(cat)}; {text!r} is not one.") from None
    if attr.is_blob:
        raise errors.DataError(f"`{attr.name}` is a blob; it cannot be given as text.")
    return text


def _expected(category: str) -> str:
    return {
        "INTEGER": "a whole number", "FLOAT": "a number", "DECIMAL": "a decimal number",
        "BOOL": "true or false", "DATE": "a date (YYYY-MM-DD)", "DATETIME": "a date and time (YYYY-MM-DD HH:MM:SS)",
        "TIMESTAMP": "a date and time (YYYY-MM-DD HH:MM:SS)", "YEAR": "a year", "UUID": "a UUID",
        "TIME": "a time (HH:MM:SS)", "JSON": "JSON text",
    }.get(category, "a value")


def key_text(value: Any) -> str:
    """The URL text of one key value (read back by :func:`parse_value`)."""
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return _timedelta_text(value)
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if isinstance(value, np.generic):
        return key_text(value.item())
    return str(value)


def key_params(key: Mapping[str, Any]) -> dict[str, str]:
    """A primary key as URL query parameters."""
    return {k: key_text(v) for k, v in key.items()}


def parse_key(heading: Any, params: Mapping[str, str], names: list[str] | None = None) -> dict[str, Any]:
    """The primary key (or ``names``) of ``heading`` read from URL parameters; every part is required."""
    names = heading.primary_key if names is None else names
    key = {}
    for name in names:
        if name not in params:
            raise errors.MissingAttributeError(
                f"The row's key needs `{name}`; pass it as a query parameter (?{name}=...)."
            )
        key[name] = parse_value(heading[name], params[name])
    return key


# -- blob previews --------------------------------------------------------------------------------
def is_figure(value: Any) -> bool:
    """True for a plotly figure dict: ``{"data": [trace, ...], "layout": {...}}``."""
    return (isinstance(value, Mapping) and isinstance(value.get("data"), (list, tuple))
            and all(isinstance(t, Mapping) for t in value["data"])
            and isinstance(value.get("layout", {}), Mapping))


def figure_of(value: Any) -> dict[str, Any] | None:
    """The plotly figure stored in ``value`` (a dict, or JSON text/bytes), as JSON-safe data;
    None when the attribute is null. DataError when it holds something else."""
    if value is None:
        return None
    if isinstance(value, (bytes, bytearray, memoryview)):
        value = bytes(value).decode()
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            raise errors.DataError("A figure attribute holds text that is not JSON.") from None
    if not is_figure(value):
        raise errors.DataError("A figure attribute must hold a plotly figure: {'data': [...], 'layout': {...}}.")
    fig = to_json(value)
    fig.setdefault("layout", {})
    return fig


def preview(value: Any) -> dict[str, Any]:
    """How the row page shows a blob: ``{"kind": "figure"|"image"|"json"|"text"|"bytes"|"null", ...}``."""
    if value is None:
        return {"kind": "null"}
    if is_figure(value):
        return {"kind": "figure", "figure": to_json(value), "summary": "plotly figure"}
    if isinstance(value, (bytes, bytearray, memoryview)):
        data = bytes(value)
        for magic, mime in _IMAGE_MAGIC:
            if data.startswith(magic) and len(data) <= MAX_DATA_URI:
                uri = f"data:{mime};base64," + base64.b64encode(data).decode()
                return {"kind": "image", "src": uri, "summary": f"{mime}, {len(data):,} bytes"}
        return {"kind": "bytes", "summary": f"{len(data):,} bytes", "head": data[:64].hex()}
    if isinstance(value, np.ndarray) and not value.dtype.names and value.dtype != object:
        fig = _array_figure(value)
        if fig is not None:
            kind = "image" if fig.pop("_image", False) else "figure"
            return {"kind": kind, "figure": fig, "summary": f"array {value.dtype} {value.shape}"}
    if isinstance(value, str):
        return {"kind": "text", "value": value, "summary": f"text, {len(value):,} characters"}
    return {"kind": "json", "value": to_json(value, summarize=True), "summary": type(value).__name__}


def _array_figure(a: np.ndarray) -> dict[str, Any] | None:
    if a.size == 0 or not (np.issubdtype(a.dtype, np.number) or a.dtype == np.bool_):
        return None
    a = np.squeeze(a)
    if a.ndim == 3 and a.shape[2] in (3, 4) and a.dtype == np.uint8:  # an RGB(A) image
        step = max(1, math.ceil(max(a.shape[:2]) / MAX_IMAGE_SIDE))
        img = a[::step, ::step, :3]
        return {"_image": True, "data": [{"type": "image", "z": img.tolist()}],
                "layout": {"margin": {"t": 10, "b": 30, "l": 40, "r": 10}, "height": 360}}
    if a.ndim <= 1:
        a = a.reshape(-1)
        step = max(1, math.ceil(a.size / MAX_PLOT_POINTS))
        x = np.arange(0, a.size, step)
        y = a[::step].astype(float)
        trace = {"type": "scattergl" if x.size > 1000 else "scatter", "mode": "lines" if a.size > 1 else "markers",
                 "x": x.tolist(), "y": [to_json(v) for v in y.tolist()]}
        return {"data": [trace], "layout": {"margin": {"t": 10, "b": 30, "l": 50, "r": 10}, "height": 300,
                                            "xaxis": {"title": {"text": "index"}}}}
    if a.ndim == 2:
        step = max(1, math.ceil(max(a.shape) / 300))
        z = a[::step, ::step].astype(float)
        gray = a.dtype == np.uint8
        trace = {"type": "heatmap", "z": [[to_json(v) for v in row] for row in z.tolist()],
                 "colorscale": "Greys" if gray else "Viridis", "reversescale": gray}
        layout: dict[str, Any] = {"margin": {"t": 10, "b": 30, "l": 50, "r": 10}, "height": 360}
        if gray:
            layout["yaxis"] = {"autorange": "reversed", "scaleanchor": "x"}
        return {"_image": gray, "data": [trace], "layout": layout}
    return None
