"""Value codecs: Python values to driver values (insert, restrict) and back (fetch).

Every declared type behaves the same on the three backends: a ``uuid`` comes back as
``uuid.UUID``, a ``date`` as ``datetime.date``, ``bool`` as ``bool``, ``json`` as the decoded
object, a serialized ``blob`` as the original object, wherever it was stored. Encoders run per
value; decoders run per column, so a fetch of many rows does one pass over each column.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import math
import os
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from .. import errors
from .heading import Attribute

__all__ = ["CodecContext", "codec_context", "codec_scope", "column_decoder", "encode_column", "encoder",
           "to_python"]

Encoder = Callable[[Any], Any]


@dataclass(frozen=True)
class CodecContext:
    """What store-backed codecs (``stores/columns.py``) need besides a value.

    Set by insert (``writing=True``, the table written, the key of each row by its position in
    the column) and by fetch (the key of each fetched row, for error messages).
    """

    connection: Any
    database: str | None = None
    table: str | None = None
    row_key: Callable[[int], dict[str, Any]] | None = None
    writing: bool = False


codec_context: ContextVar[CodecContext | None] = ContextVar("labjoin_codec_context", default=None)


@contextlib.contextmanager
def codec_scope(connection: Any, **kw: Any) -> Iterator[CodecContext]:
    """Make a :class:`CodecContext` current for the encoders and decoders run inside the block."""
    ctx = CodecContext(connection, **kw)
    token = codec_context.set(ctx)
    try:
        yield ctx
    finally:
        codec_context.reset(token)


def to_python(v: Any) -> Any:
    """NumPy and pandas scalars become the Python values the drivers understand."""
    if isinstance(v, np.generic):
        return v.item()
    return v


def _isnull(v: Any) -> bool:
    if v is None:
        return True
    if isinstance(v, float) and math.isnan(v):
        return True
    if isinstance(v, np.floating) and np.isnan(v):
        return True
    return type(v).__name__ in ("NaTType", "NAType")


def _bad(attr: Attribute, v: Any, expected: str) -> errors.DataError:
    return errors.DataError(
        f"Value {v!r} ({type(v).__name__}) does not fit attribute `{attr.name}` of type "
        f"{attr.declared_type}: expected {expected}."
    )


# -- encoders ----------------------------------------------------------------------------------
def _enc_int(attr: Attribute) -> Encoder:
    def enc(v: Any) -> Any:
        v = to_python(v)
        if isinstance(v, bool):
            return int(v)
        if isinstance(v, int):
            return v
        if isinstance(v, float) and v.is_integer():
            return int(v)
        if isinstance(v, str):
            try:
                return int(v)
            except ValueError:
                pass
        if isinstance(v, Decimal) and v == v.to_integral_value():
            return int(v)
        raise _bad(attr, v, "an integer")

    return enc


def _enc_float(attr: Attribute) -> Encoder:
    def enc(v: Any) -> Any:
        v = to_python(v)
        try:
            f = float(v)
        except (TypeError, ValueError):
            raise _bad(attr, v, "a number") from None
        return None if math.isnan(f) else f

    return enc


def _enc_decimal(attr: Attribute, backend: str) -> Encoder:
    def enc(v: Any) -> Any:
        v = to_python(v)
        try:
            d = Decimal(str(v)) if not isinstance(v, Decimal) else v
        except ArithmeticError:
            raise _bad(attr, v, "a decimal number") from None
        if d.is_nan():
            return None
        return float(d) if backend == "sqlite" else d

    return enc


def _enc_bool(backend: str) -> Encoder:
    def enc(v: Any) -> Any:
        b = bool(to_python(v))
        return b if backend == "postgresql" else int(b)

    return enc


def _enc_str(attr: Attribute) -> Encoder:
    def enc(v: Any) -> Any:
        v = to_python(v)
        if isinstance(v, (bytes, bytearray)):
            raise _bad(attr, v, "a string")
        return str(v)

    return enc


def _enc_enum(attr: Attribute) -> Encoder:
    # MySQL stores an enum value in its declared spelling whatever case was given; do the same
    # everywhere so that fetched values are identical on every backend.
    canonical = {str(x).lower(): str(x) for x in getattr(attr.type, "values", ()) or ()}

    def enc(v: Any) -> Any:
        s = str(to_python(v))
        try:
            return canonical[s.lower()]
        except KeyError:
            raise _bad(attr, v, "one of " + ", ".join(map(repr, canonical.values()))) from None

    return enc


def _parse_date(v: Any) -> dt.date:
    if isinstance(v, dt.datetime):
        return v.date()
    if isinstance(v, dt.date):
        return v
    if isinstance(v, np.datetime64):
        return v.astype("datetime64[D]").astype(dt.date)
    return dt.date.fromisoformat(str(v)[:10])


def _parse_datetime(v: Any) -> dt.datetime:
    if isinstance(v, dt.datetime):
        return v.replace(tzinfo=None) if v.tzinfo is not None else v
    if hasattr(v, "to_pydatetime"):
        return v.to_pydatetime()
    if isinstance(v, np.datetime64):
        return v.astype("datetime64[us]").astype(dt.datetime)
    if isinstance(v, dt.date):
        return dt.datetime(v.year, v.month, v.day)
    return dt.datetime.fromisoformat(str(v).replace("T", " ").strip())


def _enc_date(attr: Attribute, backend: str) -> Encoder:
    def enc(v: Any) -> Any:
        try:
            d = _parse_date(to_python(v))
        except ValueError:
            raise _bad(attr, v, "a date (datetime.date or 'YYYY-MM-DD')") from None
        return d.isoformat() if backend == "sqlite" else d

    return enc


def _enc_datetime(attr: Attribute, backend: str) -> Encoder:
    fsp = int(getattr(attr.type, "fsp", 0) or 0)
    unit = 10 ** (6 - fsp)

    def enc(v: Any) -> Any:
        v = to_python(v)
        if isinstance(v, str) and v.upper() == "CURRENT_TIMESTAMP":
            v = dt.datetime.now()
        try:
            t = _parse_datetime(v)
        except ValueError:
            raise _bad(attr, v, "a datetime (datetime.datetime or 'YYYY-MM-DD HH:MM:SS')") from None
        # the same precision on every backend: truncate to the declared fractional digits
        t = t.replace(microsecond=(t.microsecond // unit) * unit)
        if backend == "sqlite":
            text = t.strftime("%Y-%m-%d %H:%M:%S")
            return text + (f".{t.microsecond:06d}"[: fsp + 1] if fsp else "")
        return t

    return enc


def _enc_time(attr: Attribute, backend: str) -> Encoder:
    def enc(v: Any) -> Any:
        v = to_python(v)
        if isinstance(v, dt.time):
            v = dt.timedelta(hours=v.hour, minutes=v.minute, seconds=v.second, microseconds=v.microsecond)
        if isinstance(v, str):
            h, m, s = v.split(":")
            v = dt.timedelta(hours=int(h), minutes=int(m), seconds=float(s))
        if not isinstance(v, dt.timedelta):
            raise _bad(attr, v, "a time (datetime.timedelta, datetime.time or 'HH:MM:SS')")
        if backend == "mysql":
            return v
        total = v.total_seconds()
        if backend == "postgresql":
            if not 0 <= total < 86400:
                raise _bad(attr, v, "a time of day between 00:00:00 and 23:59:59 on PostgreSQL")
            return (dt.datetime.min + v).time()
        sign = "-" if total < 0 else ""
        total = abs(total)
        h, rem = divmod(total, 3600)
        m, s = divmod(rem, 60)
        return f"{sign}{int(h):02d}:{int(m):02d}:{s:09.6f}".rstrip("0").rstrip(".")

    return enc


def _enc_uuid(attr: Attribute, backend: str) -> Encoder:
    def enc(v: Any) -> Any:
        if not isinstance(v, uuid.UUID):
            try:
                v = uuid.UUID(bytes=bytes(v)) if isinstance(v, (bytes, bytearray)) else uuid.UUID(str(v))
            except ValueError:
                raise _bad(attr, v, "a UUID") from None
        return v if backend == "postgresql" else v.bytes

    return enc


def _json_default(o: Any) -> Any:
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, (dt.date, dt.datetime)):
        return o.isoformat()
    if isinstance(o, (uuid.UUID, Decimal)):
        return str(o)
    raise TypeError(f"{type(o).__name__} is not JSON serializable")


def _enc_json(attr: Attribute) -> Encoder:
    def enc(v: Any) -> Any:
        try:
            return json.dumps(v, default=_json_default)
        except (TypeError, ValueError) as e:
            raise _bad(attr, v, f"a JSON-serializable value ({e})") from None

    return enc


def _enc_blob(attr: Attribute) -> Encoder:
    from ..settings import config
    from .blob import pack

    def enc(v: Any) -> Any:
        return pack(v, compress=config.get("blob.compress", "auto"))

    return enc


def _enc_bytes(attr: Attribute) -> Encoder:
    def enc(v: Any) -> Any:
        if isinstance(v, (bytes, bytearray, memoryview)):
            return bytes(v)
        raise _bad(attr, v, "bytes (the `bytes`/native blob type stores raw bytes; use <blob> for objects)")

    return enc


def _enc_attach(attr: Attribute) -> Encoder:
    def enc(v: Any) -> Any:
        p = Path(os.fspath(v))
        if not p.is_file():
            raise _bad(attr, v, "the path of an existing file to attach")
        return p.name.encode() + b"\0" + p.read_bytes()

    return enc


def encoder(attr: Attribute, backend: str) -> Encoder:
    """The function that turns a Python value into the driver value for ``attr``."""
    return _encoder(attr, backend)


@lru_cache(maxsize=4096)
def _encoder(attr: Attribute, backend: str) -> Encoder:
    cat = attr.category
    inner: Encoder
    if cat in ("INTEGER", "YEAR"):
        inner = _enc_int(attr)
    elif cat == "FLOAT":
        inner = _enc_float(attr)
    elif cat == "DECIMAL":
        inner = _enc_decimal(attr, backend)
    elif cat == "BOOL":
        inner = _enc_bool(backend)
    elif cat == "ENUM":
        inner = _enc_enum(attr)
    elif cat in ("CHAR", "VARCHAR", "TEXT"):
        inner = _enc_str(attr)
    elif cat == "DATE":
        inner = _enc_date(attr, backend)
    elif cat in ("DATETIME", "TIMESTAMP"):
        inner = _enc_datetime(attr, backend)
    elif cat == "TIME":
        inner = _enc_time(attr, backend)
    elif cat == "UUID":
        inner = _enc_uuid(attr, backend)
    elif cat == "JSON":
        inner = _enc_json(attr)
    elif cat == "BLOB" and not attr.is_external:
        inner = _enc_blob(attr)
    elif cat == "BYTES":
        inner = _enc_bytes(attr)
    elif cat == "ATTACH" and not attr.is_external:
        inner = _enc_attach(attr)
    elif cat == "COMPUTED":
        inner = to_python
    else:
        from ..stores.columns import external_encoder  # store-backed types

        inner = external_encoder(attr, backend)

    def enc(v: Any) -> Any:
        if _isnull(v):
            return None
        return inner(v)

    return enc


def encode_column(attr: Attribute, backend: str, values: list[Any]) -> list[Any]:
    """Encode one column of values for the driver.

    Columns that already hold exactly the driver's types (Python ints for integers, floats for
    floats, str for strings: what dicts, DataFrames and record arrays give after ``tolist``)
    pass through after one type scan; everything else goes value by value through ``encoder``.
    """
    cat = attr.category
    if attr.is_external:  # a whole column of objects goes to the store at once, in parallel
        from ..stores.columns import encode_external_column

        return encode_external_column(attr, backend, values)
    if cat == "INTEGER" and all(type(v) is int for v in values):
        return values
    if cat == "FLOAT" and all(type(v) is float for v in values):
        return [None if v != v else v for v in values] if any(v != v for v in values) else values
    if cat in ("CHAR", "VARCHAR", "TEXT") and all(type(v) is str for v in values):
        return values
    enc = encoder(attr, backend)
    return [enc(v) for v in values]


# -- decoders (per column) ---------------------------------------------------------------------
Decoder = Callable[[Sequence[Any]], Any]


def _map(f: Callable[[Any], Any]) -> Decoder:
    return lambda col: [None if v is None else f(v) for v in col]


def _dec_datetime_sqlite(v: Any) -> Any:
    return dt.datetime.fromisoformat(v) if isinstance(v, str) else v


def _dec_time(v: Any) -> Any:
    if isinstance(v, dt.timedelta):
        return v
    if isinstance(v, dt.time):
        return dt.timedelta(hours=v.hour, minutes=v.minute, seconds=v.second, microseconds=v.microsecond)
    s = str(v)
    neg = s.startswith("-")
    h, m, sec = s.lstrip("-").split(":")
    td = dt.timedelta(hours=int(h), minutes=int(m), seconds=float(sec))
    return -td if neg else td


def _dec_decimal(scale: int) -> Callable[[Any], Decimal]:
    q = Decimal(1).scaleb(-scale)

    def dec(v: Any) -> Decimal:
        if isinstance(v, Decimal):
            return v
        return Decimal(repr(v) if isinstance(v, float) else str(v)).quantize(q)

    return dec


def _dec_json(v: Any) -> Any:
    return json.loads(v) if isinstance(v, (str, bytes, bytearray)) else v


def _dec_computed(col: Sequence[Any]) -> Any:
    """Computed values typed the same on every backend: MySQL and PostgreSQL return Decimal for
    sum/avg of integers and PostgreSQL returns bool for comparisons, where SQLite gives int/float.
    Integral decimals become int, other decimals float, booleans 0/1 (as MySQL gives them)."""
    if not any(type(v) is Decimal or type(v) is bool for v in col):
        return list(col)
    out = []
    for v in col:
        if type(v) is Decimal:
            v = int(v) if v == v.to_integral_value() and v.as_tuple().exponent >= 0 else float(v)
        elif type(v) is bool:
            v = int(v)
        out.append(v)
    return out


def column_decoder(attr: Attribute, backend: str, *, squeeze: bool = False,
                   download_path: str | os.PathLike[str] = ".") -> Decoder | None:
    """A function decoding one fetched column of ``attr``, or None when values are already right."""
    cat = attr.category
    if cat == "COMPUTED":
        return _dec_computed
    if cat in ("INTEGER", "FLOAT", "CHAR", "VARCHAR", "ENUM", "TEXT", "YEAR"):
        return None
    if cat == "BOOL":
        return _map(bool)
    if cat == "DECIMAL":
        return _map(_dec_decimal(int(getattr(attr.type, "scale", 0) or 0)))
    if cat == "DATE":
        return _map(dt.date.fromisoformat) if backend == "sqlite" else None
    if cat in ("DATETIME", "TIMESTAMP"):
        return _map(_dec_datetime_sqlite) if backend == "sqlite" else None
    if cat == "TIME":
        return _map(_dec_time)
    if cat == "UUID":
        if backend == "postgresql":
            return None
        return _map(lambda b: uuid.UUID(bytes=bytes(b)))
    if cat == "JSON":
        return _map(_dec_json)
    if cat == "BLOB" and not attr.is_external:
        from .blob import unpack

        return _map(lambda b: unpack(bytes(b), squeeze=squeeze))
    if cat == "BYTES":
        return _map(bytes)
    if cat == "ATTACH" and not attr.is_external:
        return _map(lambda b: _save_attachment(bytes(b), download_path))
    from ..stores.columns import external_decoder

    return external_decoder(attr, backend, squeeze=squeeze, download_path=download_path)


def _save_attachment(data: bytes, download_path: str | os.PathLike[str]) -> str:
    name, sep, contents = data.partition(b"\0")
    if not sep:
        raise errors.DataError("An attachment value is corrupt: it has no file name separator.")
    target = Path(download_path) / name.decode()
    target.parent.mkdir(parents=True, exist_ok=True)
    if not (target.is_file() and target.read_bytes() == contents):
        target.write_bytes(contents)
    return str(target)
