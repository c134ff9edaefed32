"""Deserialize the body of a DataJoint blob (after the protocol header and any decompression).

Numeric arrays come back as views over the input buffer (reshaped to column-major order), so
unpacking a 100 MB array copies nothing. Like DataJoint's, such arrays are read-only when the
input is ``bytes``; pass a ``bytearray`` to get writable ones, or call ``.copy()``.

Every read is bounds-checked and every nested element is checked against its declared length,
so garbage or truncated input raises :class:`~labjoin.errors.BlobError` saying where and what.
"""

from __future__ import annotations

import datetime as dt
import math
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
    F64,
    MX_CHAR,
    MX_NAMES,
    MX_VOID,
    READ_DTYPE,
    U16,
    U32,
    U64,
    MatCell,
    MatStruct,
)

__all__ = ["Unpacker"]

_II = struct.Struct("<II")
_MIN_ITEM = 9  # a length-prefixed element takes at least 8 length bytes and 1 type-code byte


class Unpacker:
    """A cursor over one blob body. ``end`` narrows to the declared extent of a nested element."""

    __slots__ = ("buf", "dim", "end", "pos", "squeeze")

    def __init__(self, buf: bytes | memoryview, pos: int, *, squeeze: bool, dims32: bool) -> None:
        self.buf = buf
        self.pos = pos
        self.end = len(buf)
        self.squeeze = squeeze
        # Old 32-bit mYm builds wrote every dimension, count and length as uint32.
        self.dim = U32 if dims32 else U64

    # -- primitives ----------------------------------------------------------------------------

    def take(self, n: int, what: str) -> int:
        """Advance over ``n`` bytes holding ``what``; return where they start."""
        start = self.pos
        if n > self.end - start:
            raise self.truncated(n, what)
        self.pos = start + n
        return start

    def truncated(self, n: int, what: str) -> BlobError:
        return BlobError(
            f"The blob is truncated or corrupt: {what} needs {n} bytes at offset {self.pos}, "
            f"but only {self.end - self.pos} remain."
        )

    def read_dim(self, what: str) -> int:
        # The hot path of nested structures: inlined rather than built on take().
        pos, d = self.pos, self.dim
        if d.size > self.end - pos:
            raise self.truncated(d.size, what)
        self.pos = pos + d.size
        return d.unpack_from(self.buf, pos)[0]

    def read_dims(self, n: int, what: str) -> tuple[int, ...]:
        size = self.dim.size
        start = self.take(n * size, what)
        return struct.unpack_from(f"<{n}{'I' if size == 4 else 'Q'}", self.buf, start)

    def read_bytes(self, n: int, what: str) -> bytes:
        start = self.take(n, what)
        return bytes(self.buf[start : start + n])

    def read_text(self, n: int, what: str) -> str:
        start = self.take(n, what)
        try:
            return str(self.buf[start : start + n], "utf-8")
        except UnicodeDecodeError as e:
            raise BlobError(f"The blob is corrupt: {what} at offset {start} is not UTF-8 ({e}).") from e

    def read_cstring(self, what: str) -> str:
        """Read a zero-terminated UTF-8 string (struct and record field names)."""
        buf, pos, end = self.buf, self.pos, self.end
        if isinstance(buf, bytes):
            nul = buf.find(0, pos, end)
        else:
            nul = -1
            for chunk_start in range(pos, end, 256):
                k = bytes(buf[chunk_start : min(chunk_start + 256, end)]).find(0)
                if k >= 0:
                    nul = chunk_start + k
                    break
        if nul < 0:
            raise BlobError(f"The blob is truncated or corrupt: {what} at offset {pos} has no terminating zero.")
        text = self.read_text(nul - pos, what)
        self.pos += 1
        return text

    def require(self, count: int, what: str) -> None:
        """Refuse element counts the remaining bytes cannot hold (before allocating for them)."""
        if count * _MIN_ITEM > self.end - self.pos:
            raise BlobError(
                f"The blob is truncated or corrupt: {count} {what} at offset {self.pos} need at least "
                f"{count * _MIN_ITEM} bytes, but only {self.end - self.pos} remain."
            )

    def squeezed(self, arr: np.ndarray, scalar: bool = True) -> Any:
        if not self.squeeze:
            return arr
        arr = arr.squeeze()
        return arr.item() if scalar and arr.ndim == 0 else arr

    # -- elements ------------------------------------------------------------------------------

    def element(self) -> Any:
        """Read one element: a type code and its body."""
        start = self.pos
        if start >= self.end:
            raise self.truncated(1, "a type code")
        self.pos = start + 1
        reader = _READERS.get(self.buf[start])
        if reader is None:
            raise BlobError(
                f"Unknown type code {bytes([self.buf[start]])!r} at offset {start}: the blob is corrupt "
                "or was written by a newer serializer."
            )
        return reader(self)

    def item(self) -> Any:
        """Read one element preceded by its byte length, and check that length."""
        n = self.read_dim("an element length")
        start, outer = self.pos, self.end
        if n > outer - start:
            raise BlobError(
                f"The blob is truncated or corrupt: the element at offset {start} declares {n} bytes, "
                f"but only {outer - start} remain."
            )
        self.end = start + n
        value = self.element()
        if self.pos != self.end:
            raise BlobError(
                f"The blob is corrupt: the element at offset {start} declares {n} bytes, but its "
                f"content ends after {self.pos - start}."
            )
        self.end = outer
        return value

    def items(self, count: int, what: str) -> np.ndarray:
        """Read ``count`` length-prefixed elements into a 1-D object array."""
        self.require(count, what)
        out = np.empty(count, dtype=object)
        for i in range(count):
            out[i] = self.item()  # element-wise, so nested arrays are never broadcast
        return out


def _shape(u: Unpacker) -> tuple[tuple[int, ...], int]:
    ndim = u.read_dim("the number of dimensions")
    shape = u.read_dims(ndim, "the shape")
    return shape, math.prod(shape)


def _read_array(u: Unpacker) -> Any:
    shape, n = _shape(u)
    class_id, is_complex = _II.unpack_from(u.buf, u.take(8, "the array class"))
    dtype = READ_DTYPE.get(class_id)
    if dtype is not None:
        data = _numbers(u, dtype, n)
        if is_complex:
            if dtype.kind not in "biuf":
                raise BlobError(f"The blob is corrupt: a complex array of class {class_id} at offset {u.pos}.")
            imag = _numbers(u, dtype, n)
            data_c = np.empty(n, dtype=np.complex64 if dtype == np.float32 else np.complex128)
            data_c.real = data
            data_c.imag = imag
            data = data_c
        if not shape:  # a 0-d array reads back as a NumPy scalar, as in DataJoint
            return data[0].item() if u.squeeze else data[0]
        return u.squeezed(data.reshape(shape, order="F"))
    if class_id == MX_CHAR:
        return u.squeezed(_chars(u, shape, n))
    if class_id == MX_VOID:
        return u.squeezed(u.items(n, "object-array elements").reshape(shape, order="F"))
    raise BlobError(
        f"Cannot unpack an array of MATLAB class {MX_NAMES.get(class_id, class_id)} (id {class_id}) at "
        f"offset {u.pos}: only numeric, logical, char, cell and struct arrays are supported."
    )


def _numbers(u: Unpacker, dtype: np.dtype, n: int) -> np.ndarray:
    start = u.take(n * dtype.itemsize, "the array data")
    if n == 0:
        return np.empty(0, dtype=dtype)
    return np.frombuffer(u.buf, dtype=dtype, count=n, offset=start)


def _chars(u: Unpacker, shape: tuple[int, ...], n: int) -> np.ndarray:
    codes = _numbers(u, np.dtype("<u2"), n)
    if len(shape) == 1 or (len(shape) == 2 and shape[0] == 1):
        # A MATLAB row of chars is a string; DataJoint returns it as a 1-element str array.
        return np.array([codes.tobytes().decode("utf-16-le", "surrogatepass")])
    return codes.astype("<u4").view("<U1").reshape(shape, order="F")


def _read_sparse(u: Unpacker) -> Any:
    raise BlobError(
        f"Cannot unpack the MATLAB sparse array at offset {u.pos - 1}: sparse arrays are not supported. "
        "Store full(x) from MATLAB instead."
    )


def _field_names(u: Unpacker, count: int) -> list[str]:
    return [u.read_cstring("a field name") for _ in range(count)]


def _read_struct(u: Unpacker) -> Any:
    shape, n = _shape(u)
    n_fields = U32.unpack_from(u.buf, u.take(4, "the number of fields"))[0]
    if not n_fields:
        return np.array(None)  # DataJoint's reading of a struct without fields
    names = _field_names(u, n_fields)
    u.require(n * n_fields, "struct field values")
    columns = [np.empty(n, dtype=object) for _ in names]
    for i in range(n):
        for column in columns:
            column[i] = u.item()
    try:
        out = np.empty(n, dtype=[(name, object) for name in names])
    except (TypeError, ValueError) as e:
        raise BlobError(f"The blob is corrupt: struct field names {names!r} are invalid ({e}).") from e
    for name, column in zip(names, columns):
        out[name] = column
    return u.squeezed(out.reshape(shape, order="F"), scalar=False).view(MatStruct)


def _read_cell(u: Unpacker) -> Any:
    shape, n = _shape(u)
    cells = u.items(n, "cell elements").reshape(shape, order="F")
    return u.squeezed(cells, scalar=False).view(MatCell)


def _read_recarray(u: Unpacker) -> Any:
    n_fields = U32.unpack_from(u.buf, u.take(4, "the number of fields"))[0]
    if not n_fields:
        return np.array(None)
    names = _field_names(u, n_fields)
    u.require(n_fields, "record fields")
    arrays = [np.asarray(u.element()) for _ in names]
    # The record shape is what the fields share; anything beyond it is a sub-array field.
    shape = arrays[0].shape
    for a in arrays[1:]:
        k = 0
        while k < min(len(shape), a.ndim) and shape[k] == a.shape[k]:
            k += 1
        shape = shape[:k]
    try:
        dtype = np.dtype([(name, a.dtype, a.shape[len(shape) :]) for name, a in zip(names, arrays)])
    except (TypeError, ValueError) as e:
        raise BlobError(f"The blob is corrupt: record field names {names!r} are invalid ({e}).") from e
    rec = np.empty(shape, dtype=dtype)
    for name, a in zip(names, arrays):
        rec[name] = a
    return rec.view(np.recarray)


def _read_none(u: Unpacker) -> None:
    return None


def _read_tuple(u: Unpacker) -> tuple:
    return tuple(_collect(u, "tuple elements"))


def _read_list(u: Unpacker) -> list:
    return _collect(u, "list elements")


def _read_set(u: Unpacker) -> set:
    return set(_collect(u, "set elements"))


def _collect(u: Unpacker, what: str) -> list:
    count = u.read_dim(f"the number of {what}")
    u.require(count, what)
    item = u.item
    return [item() for _ in range(count)]


def _read_dict(u: Unpacker) -> dict:
    count = u.read_dim("the number of dict entries")
    u.require(2 * count, "dict keys and values")
    item = u.item
    out = {}
    for _ in range(count):
        key = item()
        out[key] = item()
    return out


def _read_str(u: Unpacker) -> str:
    return u.read_text(u.read_dim("a string length"), "a string")


def _read_bytes(u: Unpacker) -> bytes:
    return u.read_bytes(u.read_dim("a bytes length"), "a bytes value")


def _read_int(u: Unpacker) -> int:
    n = U16.unpack_from(u.buf, u.take(2, "an int length"))[0]
    start = u.take(n, "an int")
    return int.from_bytes(u.buf[start : start + n], "little", signed=True)


def _read_bool(u: Unpacker) -> bool:
    return u.buf[u.take(1, "a bool")] != 0


def _read_complex(u: Unpacker) -> complex:
    re, im = C128.unpack_from(u.buf, u.take(16, "a complex"))
    return complex(re, im)


def _read_float(u: Unpacker) -> float:
    return F64.unpack_from(u.buf, u.take(8, "a float"))[0]


def _read_decimal(u: Unpacker) -> Decimal:
    return Decimal(u.read_text(u.read_dim("a decimal length"), "a decimal"))


def _read_datetime(u: Unpacker) -> Any:
    date_code, time_code = DATE_TIME.unpack_from(u.buf, u.take(12, "a date/time"))
    date = (
        dt.date(date_code // 10000, date_code // 100 % 100, date_code % 100) if date_code >= 0 else None
    )
    time = (
        dt.time(
            time_code // 10**10 % 100, time_code // 10**8 % 100, time_code // 10**6 % 100, time_code % 10**6
        )
        if time_code >= 0
        else None
    )
    if date is not None and time is not None:
        return dt.datetime.combine(date, time)
    return date if time is None else time


def _read_uuid(u: Unpacker) -> uuid.UUID:
    return uuid.UUID(bytes=u.read_bytes(16, "a UUID"))


_READERS: dict[int, Callable[[Unpacker], Any]] = {
    ord("A"): _read_array,
    ord("P"): _read_sparse,
    ord("S"): _read_struct,
    ord("C"): _read_cell,
    ord("F"): _read_recarray,
    0xFF: _read_none,
    0x01: _read_tuple,
    0x02: _read_list,
    0x03: _read_set,
    0x04: _read_dict,
    0x05: _read_str,
    0x06: _read_bytes,
    0x0A: _read_int,
    0x0B: _read_bool,
    0x0C: _read_complex,
    0x0D: _read_float,
    ord("d"): _read_decimal,
    ord("t"): _read_datetime,
    ord("u"): _read_uuid,
}
