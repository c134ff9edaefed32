"""Serialize Python and NumPy values into the DataJoint blob format (the body, without compression).

Dispatch follows DataJoint's order of checks exactly, because the order decides the bytes: a
``numpy.float64`` is a ``float`` but packs as a 0-d array, a ``bool`` is an ``int`` but packs as
a bool, any ``Mapping`` packs as a dict. The common exact types skip the chain through a table.

Output is collected as a list of parts and joined once. Every nested element carries its own
byte length up front; its slot in the list is filled in after the element is written, so no
part is copied more than once. Large arrays stay arrays until the end and are written straight
into the output in column-major order (see :func:`write_fortran`).
"""

from __future__ import annotations

import collections.abc as cabc
import datetime as dt
import struct
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import numpy as np

from labjoin.errors import BlobError

from .blob_format import (
    C128,
    DATE_TIME,
    DATETIME_CLASS,
    DJ0,
    F64,
    MX_CHAR,
    MX_VOID,
    MYM,
    NUMERIC_CLASS,
    U16,
    U32,
    U64,
    MatCell,
    MatStruct,
    alloc_bytes,
)

__all__ = ["Packer"]

LARGE = 1 << 20  # arrays from this size on are written directly into the output
_BLOCK = 1 << 20  # bytes of source rows transposed per step (fits in L2 with its destination)
_II = struct.Struct("<II")
_HEAD: dict[int, struct.Struct] = {}


def _dims(ndim: int) -> struct.Struct:
    s = _HEAD.get(ndim)
    if s is None:
        s = _HEAD[ndim] = struct.Struct(f"<{ndim + 1}Q")
    return s


class Packer:
    """Accumulates the serialized parts of one blob.

    ``parts[0]`` is reserved for the protocol header, which is known only at the end: any
    Python-only structure anywhere in the value switches it from ``mYm`` to ``dj0``.
    """

    __slots__ = ("dj0", "large", "parts", "size")

    def __init__(self) -> None:
        self.parts: list[Any] = [b""]
        self.size = len(MYM)
        self.dj0 = False
        self.large = False

    def add(self, data: bytes | bytearray | memoryview) -> None:
        self.parts.append(data)
        self.size += len(data)
        if len(data) >= LARGE:
            self.large = True

    def add_array(self, arr: np.ndarray) -> None:
        """Append the data of ``arr`` in column-major order (deferred when large)."""
        n = arr.nbytes
        if n >= LARGE:
            self.parts.append(arr)
            self.large = True
        else:
            self.parts.append(arr.tobytes(order="F"))
        self.size += n

    def value(self, obj: Any) -> None:
        fn = _EXACT.get(type(obj))
        if fn is None:
            fn = _classify(obj)
        fn(self, obj)

    def item(self, obj: Any) -> None:
        """Append ``obj`` preceded by its uint64 byte length."""
        parts = self.parts
        slot = len(parts)
        parts.append(b"")
        start = self.size
        self.value(obj)
        parts[slot] = U64.pack(self.size - start)
        self.size += 8

    def result(self) -> bytes:
        """Join the parts behind the protocol header into the uncompressed blob."""
        parts = self.parts
        parts[0] = DJ0 if self.dj0 else MYM
        if not self.large:
            return b"".join(parts)
        out, view = alloc_bytes(self.size)
        pos = 0
        run: list[Any] = []
        for part in parts:
            if isinstance(part, np.ndarray) or len(part) >= LARGE:
                if run:
                    pos = _copy_in(view, pos, b"".join(run))
                    run = []
                if isinstance(part, np.ndarray):
                    write_fortran(view[pos : pos + part.nbytes], part)
                    pos += part.nbytes
                else:
                    pos = _copy_in(view, pos, part)
            else:
                run.append(part)
        if run:
            pos = _copy_in(view, pos, b"".join(run))
        if pos != self.size:  # an internal bookkeeping error must never yield a corrupt blob
            raise BlobError(f"Internal error: packed {pos} bytes but accounted for {self.size}.")
        return out if isinstance(out, bytes) else bytes(out)


def _copy_in(view: np.ndarray, pos: int, data: Any) -> int:
    n = len(data) if not isinstance(data, memoryview) else data.nbytes
    view[pos : pos + n] = np.frombuffer(data, dtype=np.uint8)
    return pos + n


def write_fortran(dst: np.ndarray, arr: np.ndarray) -> None:
    """Write ``arr`` into the contiguous uint8 buffer ``dst`` in column-major (MATLAB) order.

    F-ordered and 1-D arrays are one memcpy. A C-ordered array is transposed in slabs of rows
    small enough to stay in cache; NumPy's one-shot strided copy is 2-3x slower on large arrays.
    """
    out = dst.view(arr.dtype)
    if arr.ndim <= 1 or arr.flags.f_contiguous:
        out[...] = arr.reshape(-1, order="F")
        return
    rev = out.reshape(arr.shape[::-1])  # C order of the reversed shape is F order of arr
    row_bytes = arr.nbytes // arr.shape[0]
    step = max(64, _BLOCK // max(row_bytes, 1))
    for i in range(0, arr.shape[0], step):
        rev[..., i : i + step] = arr[i : i + step].T


# -- arrays ------------------------------------------------------------------------------------


def _array_head(p: Packer, arr: np.ndarray, class_id: int, is_complex: int) -> None:
    p.add(b"A" + _dims(arr.ndim).pack(arr.ndim, *arr.shape) + _II.pack(class_id, is_complex))


def pack_array(p: Packer, arr: np.ndarray) -> None:
    """Pack a non-structured ndarray (type code ``A``)."""
    kind = arr.dtype.kind
    if kind in "biufc":
        _pack_numeric(p, arr)
    elif kind == "M":
        _pack_datetime64(p, arr)
    elif kind == "S" and arr.dtype.itemsize == 1:
        _pack_char(p, arr)
    elif kind in "OUS":
        _pack_objects(p, arr)
    elif kind == "m":
        raise BlobError(
            f"Cannot pack an array of dtype {arr.dtype}: the blob format has no timedelta type. "
            "Convert it first, e.g. arr.astype('int64') or arr / np.timedelta64(1, 's')."
        )
    else:
        raise BlobError(f"Cannot pack an array of dtype {arr.dtype}: the blob format has no such type.")


def _little(arr: np.ndarray) -> np.ndarray:
    target = arr.dtype.newbyteorder("<")
    return arr if arr.dtype == target else arr.astype(target)


def _pack_numeric(p: Packer, arr: np.ndarray) -> None:
    dtype = arr.dtype
    if dtype.kind == "f" and dtype.itemsize == 2:
        # MATLAB has no half precision; single holds every float16 value exactly.
        arr, dtype = arr.astype("<f4"), np.dtype("<f4")
    is_complex = dtype.kind == "c"
    part_size = dtype.itemsize // 2 if is_complex else dtype.itemsize
    class_id = NUMERIC_CLASS.get(("f" if is_complex else dtype.kind, part_size))
    if class_id is None:
        raise BlobError(
            f"Cannot pack an array of dtype {dtype}: the blob format stores at most 64-bit floats. "
            "Convert it with arr.astype('float64') (or 'complex128')."
        )
    arr = _little(arr)
    if arr.ndim == 0:  # 0-d arrays are DataJoint's extension; mYm has only matrices
        p.dj0 = True
    _array_head(p, arr, class_id, int(is_complex))
    if is_complex:
        p.add_array(arr.real)
        p.add_array(arr.imag)
    else:
        p.add_array(arr)


def _pack_datetime64(p: Packer, arr: np.ndarray) -> None:
    unit, count = np.datetime_data(arr.dtype)
    if unit not in DATETIME_CLASS:
        raise BlobError(
            f"Cannot pack an array of dtype {arr.dtype}: datetime64 needs a unit, e.g. "
            "arr.astype('datetime64[ns]')."
        )
    if count != 1:  # e.g. datetime64[10s]: the base unit holds every value exactly
        arr = arr.astype(f"<M8[{unit}]")
    p.dj0 = True
    arr = _little(arr)
    _array_head(p, arr, DATETIME_CLASS[unit], 0)
    p.add_array(arr)


def _pack_char(p: Packer, arr: np.ndarray) -> None:
    # MATLAB chars are UTF-16 code units. (DataJoint writes these in C order, which transposes
    # 2-D char arrays on reading; we write the documented column-major order.)
    _array_head(p, arr, MX_CHAR, 0)
    codes = np.frombuffer(arr.tobytes(order="F"), dtype=np.uint8).astype("<u2")
    p.add(codes.tobytes())


def _pack_objects(p: Packer, arr: np.ndarray) -> None:
    # Object, unicode and multi-byte bytes arrays: each element is a nested, length-prefixed blob.
    _array_head(p, arr, MX_VOID, 0)
    for element in arr.ravel(order="F").tolist():
        p.item(element)
    p.dj0 = True


def _pack_recarray(p: Packer, arr: np.ndarray) -> None:
    names = arr.dtype.names or ()
    p.add(b"F" + U32.pack(len(names)) + "\0".join(names).encode() + b"\0")
    for name in names:
        field = arr[name]
        if field.dtype.names:
            _pack_recarray(p, field)
        else:
            pack_array(p, field)


def _pack_structured(p: Packer, arr: np.ndarray) -> None:
    p.dj0 = True
    _pack_recarray(p, arr)


def _pack_ndarray(p: Packer, arr: np.ndarray) -> None:
    if arr.dtype.names is None:
        pack_array(p, arr)
    else:
        _pack_structured(p, arr)


def _pack_struct(p: Packer, arr: MatStruct) -> None:
    names = arr.dtype.names or ()
    p.add(
        b"S" + _dims(arr.ndim).pack(arr.ndim, *arr.shape) + U32.pack(len(names))
        + "\0".join(names).encode() + b"\0"
    )
    flat = np.asarray(arr).ravel(order="F")
    columns = [flat[name] for name in names]
    columns = [c.tolist() if c.dtype.kind == "O" else c for c in columns]
    for i in range(flat.size):
        for column in columns:
            p.item(column[i])


def _pack_cell(p: Packer, arr: MatCell) -> None:
    p.add(b"C" + _dims(arr.ndim).pack(arr.ndim, *arr.shape))
    flat = np.asarray(arr).ravel(order="F")
    # Object elements as they are; elements of a numeric cell as NumPy scalars, as DataJoint does.
    for element in flat.tolist() if flat.dtype.kind == "O" else flat:
        p.item(element)


# -- Python values (all of them make the blob dj0) ---------------------------------------------


def _pack_none(p: Packer, obj: None) -> None:
    p.dj0 = True
    p.add(b"\xff")


def _pack_bool(p: Packer, obj: bool) -> None:
    p.dj0 = True
    p.add(b"\x0b\x01" if obj else b"\x0b\x00")


def _pack_int(p: Packer, obj: int) -> None:
    p.dj0 = True
    n = obj.bit_length() // 8 + 1
    if n > 0xFFFF:
        raise BlobError(f"Cannot pack an int of {n} bytes: the blob format stores at most 65535 bytes.")
    p.add(b"\x0a" + U16.pack(n) + obj.to_bytes(n, "little", signed=True))


def _pack_float(p: Packer, obj: float) -> None:
    p.dj0 = True
    p.add(b"\x0d" + F64.pack(obj))


def _pack_complex(p: Packer, obj: complex) -> None:
    p.dj0 = True
    p.add(b"\x0c" + C128.pack(obj.real, obj.imag))


def _pack_str(p: Packer, obj: str) -> None:
    p.dj0 = True
    try:
        data = obj.encode()
    except UnicodeEncodeError as e:
        raise BlobError(f"Cannot pack a str that is not valid Unicode text ({e}).") from e
    _sized(p, b"\x05", data)


def _pack_bytes(p: Packer, obj: bytes | bytearray) -> None:
    p.dj0 = True
    _sized(p, b"\x06", obj)


def _pack_memoryview(p: Packer, obj: memoryview) -> None:
    p.dj0 = True  # packs as bytes (DataJoint would pack a memoryview as a tuple of ints)
    data = obj.cast("B") if obj.c_contiguous else obj.tobytes()
    _sized(p, b"\x06", data)


def _sized(p: Packer, code: bytes, data: Any) -> None:
    n = len(data)
    if n < 4096:
        p.add(code + U64.pack(n) + data)
    else:
        p.add(code + U64.pack(n))
        p.add(data)


def _sequence(code: bytes) -> Callable[[Packer, Any], None]:
    def pack_seq(p: Packer, obj: Any) -> None:
        p.dj0 = True
        p.add(code + U64.pack(len(obj)))
        item = p.item
        for element in obj:
            item(element)

    return pack_seq


_pack_tuple = _sequence(b"\x01")
_pack_list = _sequence(b"\x02")
_pack_set = _sequence(b"\x03")


def _pack_dict(p: Packer, obj: cabc.Mapping) -> None:
    p.dj0 = True
    p.add(b"\x04" + U64.pack(len(obj)))
    item = p.item
    for key, value in obj.items():
        item(key)
        item(value)


def _pack_decimal(p: Packer, obj: Decimal) -> None:
    p.dj0 = True
    text = str(obj)
    p.add(b"d" + U64.pack(len(text)) + text.encode())


def _pack_datetime(p: Packer, obj: dt.date | dt.time) -> None:
    # Dates as yyyymmdd and times as hhmmssuuuuuu, -1 for the missing half; tzinfo is not stored.
    p.dj0 = True
    date: dt.date | None
    time: dt.time | None
    if isinstance(obj, dt.datetime):
        date, time = obj.date(), obj.time()
    elif isinstance(obj, dt.date):
        date, time = obj, None
    else:
        date, time = None, obj
    d = -1 if date is None else (date.year * 100 + date.month) * 100 + date.day
    t = -1 if time is None else (
        ((time.hour * 100 + time.minute) * 100 + time.second) * 1_000_000 + time.microsecond
    )
    p.add(b"t" + DATE_TIME.pack(d, t))


def _pack_uuid(p: Packer, obj: uuid.UUID) -> None:
    p.dj0 = True
    p.add(b"u" + obj.bytes)


def _pack_numpy_scalar(p: Packer, obj: Any) -> None:
    p.dj0 = True
    pack_array(p, np.asarray(obj))


def _pack_numpy_void(p: Packer, obj: np.void) -> None:
    # A record taken out of a structured array: pack it as a 0-d structured array.
    p.dj0 = True
    arr = np.asarray(obj)
    if arr.dtype.names is None:
        raise BlobError(f"Cannot pack a raw numpy.void of dtype {arr.dtype}: it has no fields.")
    _pack_recarray(p, arr)


def _classify(obj: Any) -> Callable[[Packer, Any], None]:
    """Pick the packer for ``obj`` with DataJoint's order of isinstance checks."""
    if isinstance(obj, MatCell):
        return _pack_cell
    if isinstance(obj, MatStruct):
        return _pack_struct
    if isinstance(obj, np.ndarray):
        return pack_array if obj.dtype.names is None else _pack_structured
    if not isinstance(obj, np.number):
        for types, fn in _BUILTIN_NUMBERS:
            if isinstance(obj, types):
                return fn
    if isinstance(obj, (np.number, np.datetime64, np.bool_)):
        return _pack_numpy_scalar
    for types, fn in _OTHERS:
        if isinstance(obj, types):
            return fn
    if obj is None:
        return _pack_none
    raise BlobError(
        f"Cannot pack an object of type {type(obj).__module__}.{type(obj).__qualname__}. A blob holds "
        "numbers, str, bytes, None, bool, Decimal, UUID, date/time/datetime, NumPy arrays and "
        "scalars, and lists, tuples, sets and dicts of these."
    )


_BUILTIN_NUMBERS: tuple[tuple[Any, Callable[[Packer, Any], None]], ...] = (
    (bool, _pack_bool),
    (int, _pack_int),
    (complex, _pack_complex),
    (float, _pack_float),
)
_OTHERS: tuple[tuple[Any, Callable[[Packer, Any], None]], ...] = (
    ((dt.datetime, dt.date, dt.time), _pack_datetime),
    (Decimal, _pack_decimal),
    (uuid.UUID, _pack_uuid),
    (cabc.Mapping, _pack_dict),
    (str, _pack_str),
    ((bytes, bytearray), _pack_bytes),
    (memoryview, _pack_memoryview),
    (np.void, _pack_numpy_void),
    (cabc.MutableSequence, _pack_list),
    (cabc.Sequence, _pack_tuple),
    (cabc.Set, _pack_set),
)
# Exact types that reach the same packer as the chain above, looked up without the chain.
_EXACT: dict[type, Callable[[Packer, Any], None]] = {
    type(None): _pack_none,
    bool: _pack_bool,
    int: _pack_int,
    float: _pack_float,
    complex: _pack_complex,
    str: _pack_str,
    bytes: _pack_bytes,
    bytearray: _pack_bytes,
    tuple: _pack_tuple,
    list: _pack_list,
    set: _pack_set,
    frozenset: _pack_set,
    dict: _pack_dict,
    Decimal: _pack_decimal,
    uuid.UUID: _pack_uuid,
    dt.datetime: _pack_datetime,
    dt.date: _pack_datetime,
    dt.time: _pack_datetime,
    MatCell: _pack_cell,
    MatStruct: _pack_struct,
    np.ndarray: _pack_ndarray,
}
