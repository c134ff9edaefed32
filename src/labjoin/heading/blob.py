"""DataJoint-compatible blob serialization: :func:`pack` and :func:`unpack`.

A blob column holds any Python or NumPy value in the byte format DataJoint for Python (0.14 and
2.x) writes, which DataJoint for MATLAB reads too when the content is MATLAB-compatible. labjoin
reads every blob DataJoint writes and ``pack(x, compress=True)`` reproduces DataJoint's bytes.

The one deliberate change is the default compression policy (``compress="auto"``): numeric
arrays are stored uncompressed, because zlib runs at ~33 MB/s and saves ~1% on measured data;
everything else over 1000 bytes is compressed with zlib level 1 when that makes it smaller.
DataJoint reads both forms. See docs/blobs.md for the format and what round-trips to what.

Examples
--------
>>> import numpy as np
>>> blob = pack({"trial": 3, "rt": np.array([0.31, 0.42])})
>>> blob[:4]
b'dj0\\x00'
>>> unpack(blob)["trial"]
3
"""

from __future__ import annotations

import struct
import zlib
from typing import Any

import numpy as np

from labjoin.errors import BlobError

from .blob_format import COMPRESSED_HEADER, DJ0, MYM, U32, U64, MatCell, MatStruct
from .blob_pack import Packer
from .blob_unpack import Unpacker

__all__ = ["MatCell", "MatStruct", "pack", "unpack", "use_32bit_dims"]

#: Read dimensions and lengths as uint32, for blobs written by the 32-bit MATLAB mYm library.
#: A module setting as in DataJoint (``dj.blob.use_32bit_dims = True``); ``unpack`` takes it
#: per call too.
use_32bit_dims = False

_COMPRESS_MIN = 1000  # DataJoint compresses only blobs longer than this
_AUTO_LEVEL = 1  # level 1 keeps most of the gain on compressible data at several times the speed


def pack(obj: Any, *, compress: bool | str = "auto") -> bytes:
    """Serialize ``obj`` into a blob.

    Parameters
    ----------
    obj
        A NumPy array (any dtype the format holds, any shape and memory order), a NumPy scalar,
        :class:`MatCell`, :class:`MatStruct`, a structured array, or a Python value: None, bool,
        int, float, complex, str, bytes, Decimal, UUID, date/time/datetime, and tuples, lists,
        sets and mappings of these, nested to any depth.
    compress
        ``"auto"`` (default): leave numeric arrays uncompressed; compress other values longer
        than 1000 bytes with zlib level 1 when smaller. ``True``: DataJoint's rule (zlib default
        level on every blob over 1000 bytes, when smaller), giving DataJoint's bytes exactly.
        ``False``: never compress.

    Returns
    -------
    bytes
        The blob: ``mYm\\0`` or ``dj0\\0`` followed by the value, possibly zlib-wrapped.

    Raises
    ------
    BlobError
        ``obj`` (or something inside it) has a type or dtype the format cannot hold, or nests
        deeper than Python's recursion limit.
    """
    level = _compression_level(obj, compress)
    packer = Packer()
    try:
        packer.value(obj)
    except RecursionError as e:
        raise BlobError(
            "Cannot pack the value: it nests too deeply (or contains itself). Flatten it or store "
            "the inner parts separately."
        ) from e
    blob = packer.result()
    if level is None or len(blob) <= _COMPRESS_MIN:
        return blob
    compressed = zlib.compress(blob, level)
    if len(compressed) + len(COMPRESSED_HEADER) + 8 >= len(blob):
        return blob
    return b"".join((COMPRESSED_HEADER, U64.pack(len(blob)), compressed))


def _compression_level(obj: Any, compress: bool | str) -> int | None:
    if compress is True:
        return zlib.Z_DEFAULT_COMPRESSION
    if compress is False:
        return None
    if compress == "auto":
        numeric = (
            isinstance(obj, np.ndarray)
            and not isinstance(obj, (MatCell, MatStruct))
            and obj.dtype.kind in "biufc"
        )
        return None if numeric else _AUTO_LEVEL
    raise BlobError(f"compress must be True, False or 'auto', not {compress!r}.")


def unpack(
    blob: bytes | bytearray | memoryview | None,
    *,
    squeeze: bool = False,
    use_32bit_dims: bool | None = None,
) -> Any:
    """Deserialize a blob written by labjoin, DataJoint for Python or DataJoint for MATLAB.

    Parameters
    ----------
    blob
        The stored bytes. ``None`` (a NULL column) unpacks to ``None``.
    squeeze
        Drop singleton dimensions of arrays, cells and structs, and turn 0-d numeric arrays into
        Python scalars (DataJoint's ``squeeze``).
    use_32bit_dims
        Read dimensions and lengths as uint32 (old 32-bit MATLAB blobs). ``None`` uses the
        module setting :data:`use_32bit_dims`.

    Returns
    -------
    object
        The value. Numeric arrays are views over ``blob`` (read-only when it is ``bytes``).

    Raises
    ------
    BlobError
        The bytes are not a blob, are truncated or corrupt, or hold a type labjoin cannot read
        (MATLAB sparse arrays, function handles).
    """
    if blob is None:
        return None
    dims32 = _default_dims32() if use_32bit_dims is None else use_32bit_dims
    buf = _as_buffer(blob)
    if buf[:6] == COMPRESSED_HEADER:
        buf = _decompress(buf, dims32)
    header = bytes(buf[:4])
    if header not in (MYM, DJ0):
        raise BlobError(
            f"Not a blob: the bytes start with {bytes(buf[:8])!r}, but a blob starts with "
            "b'mYm\\x00', b'dj0\\x00' or b'ZL123\\x00'."
        )
    reader = Unpacker(buf, len(header), squeeze=squeeze, dims32=dims32)
    try:
        value = reader.element()
    except BlobError:
        raise
    except RecursionError as e:
        raise BlobError("The blob nests too deeply to unpack (or is corrupt).") from e
    except (ValueError, TypeError, KeyError, IndexError, OverflowError, ArithmeticError, struct.error) as e:
        # Corrupt content that passed the bounds checks (an invalid date, an unhashable dict key).
        raise BlobError(f"The blob is corrupt: {type(e).__name__}: {e}") from e
    if reader.pos != len(buf):
        raise BlobError(
            f"The blob is corrupt: {len(buf) - reader.pos} unexpected bytes follow the value at "
            f"offset {reader.pos}."
        )
    return value


def _default_dims32() -> bool:
    return use_32bit_dims


def _as_buffer(blob: Any) -> bytes | memoryview:
    if isinstance(blob, bytes):
        return blob
    try:
        view = memoryview(blob)
    except TypeError:
        raise BlobError(
            f"Cannot unpack an object of type {type(blob).__qualname__}: a blob is bytes, bytearray "
            "or memoryview."
        ) from None
    return view.cast("B") if view.c_contiguous else view.tobytes()


def _decompress(buf: bytes | memoryview, dims32: bool) -> bytes:
    length_format = U32 if dims32 else U64
    start = len(COMPRESSED_HEADER)
    if len(buf) < start + length_format.size:
        raise BlobError("The blob is truncated: a compressed blob ends inside its length field.")
    expected = length_format.unpack_from(buf, start)[0]
    try:
        raw = zlib.decompress(buf[start + length_format.size :])
    except zlib.error as e:
        raise BlobError(f"The blob is corrupt or truncated: its zlib data does not decompress ({e}).") from e
    if len(raw) != expected:
        raise BlobError(
            f"The blob is corrupt: it decompresses to {len(raw)} bytes but declares {expected}."
        )
    return raw
