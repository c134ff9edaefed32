"""Constants and types of the DataJoint/mYm blob format, shared by the packer and the unpacker.

The format is a fact we match, not a design of ours: DataJoint for Python (0.14 and 2.x) and
DataJoint for MATLAB (through mYm) read and write it. A blob is::

    [b"ZL123\\0" + uint64 uncompressed length + zlib stream]     (optional wrapper)
    b"mYm\\0" | b"dj0\\0"                                          protocol header
    <one element>                                                 the value

and an element is a one-byte type code followed by its body. All numbers are little-endian.
``mYm\\0`` marks content MATLAB can read (numeric and char arrays, cell and struct arrays);
``dj0\\0`` marks Python-only content. See docs/blobs.md for the byte layout of every code.
"""

from __future__ import annotations

import ctypes
import struct
import sys

import numpy as np

__all__ = [
    "COMPRESSED_HEADER",
    "DJ0",
    "MYM",
    "MatCell",
    "MatStruct",
    "alloc_bytes",
]

MYM = b"mYm\0"
DJ0 = b"dj0\0"
COMPRESSED_HEADER = b"ZL123\0"

# Element type codes (one byte each).
CODE_ARRAY = ord("A")
CODE_SPARSE = ord("P")
CODE_STRUCT = ord("S")
CODE_CELL = ord("C")
CODE_RECARRAY = ord("F")
CODE_DECIMAL = ord("d")
CODE_DATETIME = ord("t")
CODE_UUID = ord("u")
CODE_NONE = 0xFF
CODE_TUPLE = 0x01
CODE_LIST = 0x02
CODE_SET = 0x03
CODE_DICT = 0x04
CODE_STR = 0x05
CODE_BYTES = 0x06
CODE_INT = 0x0A
CODE_BOOL = 0x0B
CODE_COMPLEX = 0x0C
CODE_FLOAT = 0x0D

# MATLAB class ids (mxClassID) used in the array header, plus DataJoint's datetime64 extension.
MX_CHAR = 4
MX_VOID = 5  # DataJoint: an object array whose elements are nested blobs
MX_NAMES = {
    0: "UNKNOWN", 1: "CELL", 2: "STRUCT", 3: "LOGICAL", 4: "CHAR", 5: "VOID", 6: "DOUBLE",
    7: "SINGLE", 8: "INT8", 9: "UINT8", 10: "INT16", 11: "UINT16", 12: "INT32", 13: "UINT32",
    14: "INT64", 15: "UINT64", 16: "FUNCTION",
}
# (numpy kind, itemsize) -> class id for the numeric classes; the reverse table reads them.
NUMERIC_CLASS: dict[tuple[str, int], int] = {
    ("b", 1): 3, ("f", 8): 6, ("f", 4): 7, ("i", 1): 8, ("u", 1): 9, ("i", 2): 10, ("u", 2): 11,
    ("i", 4): 12, ("u", 4): 13, ("i", 8): 14, ("u", 8): 15,
}
DATETIME_UNITS = ("Y", "M", "W", "D", "h", "m", "s", "ms", "us", "ns", "ps", "fs", "as")
DATETIME_BASE = 65_536  # datetime64[Y] is 65536, [M] 65537, ... [as] 65548
DATETIME_CLASS = {unit: DATETIME_BASE + i for i, unit in enumerate(DATETIME_UNITS)}

# class id -> little-endian numpy dtype, for every class whose data is a plain array of numbers.
READ_DTYPE: dict[int, np.dtype] = {
    cid: np.dtype(np.bool_) if kind == "b" else np.dtype(f"<{kind}{size}")
    for (kind, size), cid in NUMERIC_CLASS.items()
}
READ_DTYPE.update({cid: np.dtype(f"<M8[{unit}]") for unit, cid in DATETIME_CLASS.items()})

U8 = struct.Struct("<B")
U16 = struct.Struct("<H")
U32 = struct.Struct("<I")
U64 = struct.Struct("<Q")
F64 = struct.Struct("<d")
C128 = struct.Struct("<dd")
DATE_TIME = struct.Struct("<iq")


class MatCell(np.ndarray):
    """A MATLAB cell array: an object ndarray that packs with type code ``C``.

    Create one with ``np.array(items, dtype=object).view(MatCell)`` (or from an empty object array
    filled element by element when the items are arrays of equal shape).
    """


class MatStruct(np.recarray):
    """A MATLAB struct array: a record array that packs with type code ``S``.

    Every field of every element is packed as its own nested blob, so fields may hold any value.
    """


def _fresh_bytes_api() -> tuple[object, object] | None:
    # PyBytes_FromStringAndSize(NULL, n) is CPython's documented way to make a bytes object and
    # fill it before anyone else sees it. Packing a large array writes straight into it, which
    # saves a full copy compared with building the bytes from parts.
    if sys.implementation.name != "cpython":
        return None
    try:
        new = ctypes.pythonapi.PyBytes_FromStringAndSize
        addr = ctypes.pythonapi.PyBytes_AsString
    except AttributeError:
        return None
    new.restype = ctypes.py_object
    new.argtypes = (ctypes.c_void_p, ctypes.c_ssize_t)
    addr.restype = ctypes.c_void_p
    addr.argtypes = (ctypes.py_object,)
    return new, addr


def _madvise_api() -> object | None:
    # A fresh 100 MB buffer costs ~40 ms of page faults with 4 KiB pages; asking for transparent
    # huge pages (the kernel's "madvise" mode is the common default) cuts that to ~5 ms.
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        madvise = libc.madvise
    except (OSError, AttributeError):
        return None
    madvise.restype = ctypes.c_int
    madvise.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int)
    return madvise


_FRESH = _fresh_bytes_api()
_MADVISE = _madvise_api()
_MADV_HUGEPAGE = 14
_PAGE = 4096
_HUGE_MIN = 4 << 20


def alloc_bytes(n: int) -> tuple[bytes | bytearray, np.ndarray]:
    """Allocate an ``n``-byte output and a writable uint8 array over it.

    Returns ``(out, view)``. ``out`` is a new ``bytes`` object on CPython (written through
    ``view`` before it is returned to anyone), else a ``bytearray`` that the caller converts.
    """
    if _FRESH is None or n < 2:  # bytes of length 0 and 1 are shared singletons: never write them
        out = bytearray(n)
        return out, np.frombuffer(out, dtype=np.uint8)
    new, addr_of = _FRESH
    out = new(None, n)  # type: ignore[operator]
    addr = addr_of(out)  # type: ignore[operator]
    if _MADVISE is not None and n >= _HUGE_MIN:
        start = (addr + _PAGE - 1) & ~(_PAGE - 1)
        length = (addr + n - start) & ~(_PAGE - 1)
        # Advisory only: a refusal (THP disabled) leaves ordinary pages, which are still correct.
        _MADVISE(start, length, _MADV_HUGEPAGE)  # type: ignore[operator]
    view = np.frombuffer((ctypes.c_char * n).from_address(addr), dtype=np.uint8)
    return out, view


def use_fresh_bytes(enabled: bool) -> bool:
    """Switch the direct-write output path on or off (tests cover both); return the old state."""
    global _FRESH
    old = _FRESH is not None
    _FRESH = _fresh_bytes_api() if enabled else None
    return old
