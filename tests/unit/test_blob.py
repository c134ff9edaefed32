"""Blob serialization: DataJoint's golden vectors, round-trip properties, compression, errors."""

from __future__ import annotations

import contextlib
import datetime as dt
import importlib.util
import json
import struct
import sys
import uuid
import zlib
from decimal import Decimal
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from labjoin.errors import BlobError
from labjoin.heading import blob as blobmod
from labjoin.heading.blob import MatCell, MatStruct, pack, unpack
from labjoin.heading.blob_format import use_fresh_bytes
from labjoin.heading.blob_pack import LARGE

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "blobs"


def _load_cases() -> ModuleType:
    spec = importlib.util.spec_from_file_location("blob_cases", FIXTURES / "cases.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["blob_cases"] = module
    spec.loader.exec_module(module)
    return module


CASES = _load_cases()
MANIFEST = json.loads((FIXTURES / "manifest.json").read_text())
PACK_CASES = {c.name: c for c in CASES.build_cases(MatCell, MatStruct)}
MATLAB_CASES = {c.name: (c, data) for c, data in CASES.matlab_cases(MatCell, MatStruct)}
same = CASES.same


def _golden(name: str) -> bytes:
    return (FIXTURES / MANIFEST["cases"][name]["file"]).read_bytes()


def _golden_compressed(name: str) -> bytes:
    entry = MANIFEST["cases"][name]
    return (FIXTURES / entry.get("compressed_file", entry["file"])).read_bytes()


# -- golden vectors made by DataJoint ------------------------------------------------------------


def test_manifest_covers_every_case() -> None:
    assert set(MANIFEST["cases"]) == set(PACK_CASES) | set(MATLAB_CASES)
    assert len(PACK_CASES) >= 40
    assert sum("compressed_file" in e for e in MANIFEST["cases"].values()) >= 4


@pytest.mark.parametrize("name", sorted(PACK_CASES))
def test_unpack_golden(name: str) -> None:
    case = PACK_CASES[name]
    assert same(unpack(_golden(name)), case.want)
    assert same(unpack(_golden_compressed(name)), case.want)


@pytest.mark.parametrize("name", sorted(PACK_CASES))
def test_pack_reproduces_datajoint_bytes(name: str) -> None:
    case = PACK_CASES[name]
    assert pack(case.obj, compress=False) == _golden(name)
    assert pack(case.obj, compress=True) == _golden_compressed(name)


@pytest.mark.parametrize("name", sorted(MATLAB_CASES))
def test_unpack_matlab_layouts(name: str) -> None:
    case, data = MATLAB_CASES[name]
    assert data == (FIXTURES / f"{name}.blob").read_bytes()
    assert same(unpack(data, **case.unpack_kwargs), case.want)


def test_32bit_dims_module_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    case, data = MATLAB_CASES["matlab_32bit_dims"]
    with pytest.raises(BlobError):
        unpack(data)
    monkeypatch.setattr(blobmod, "use_32bit_dims", True)
    assert same(unpack(data), case.want)
    assert unpack(_golden("f64_1d"), use_32bit_dims=False).shape == (10,)


def test_protocol_headers() -> None:
    assert pack(np.arange(3.0))[:4] == b"mYm\0"
    assert pack(PACK_CASES["cell"].obj)[:4] == b"dj0\0"  # a cell of Python values
    assert pack(np.array(1.0))[:4] == b"dj0\0"  # 0-d arrays are DataJoint's extension
    assert pack(np.array(["a"]))[:4] == b"dj0\0"
    assert pack(np.array(["2024-01-01"], dtype="datetime64[D]"))[:4] == b"dj0\0"
    assert pack([1])[:4] == b"dj0\0"


# -- compression policy --------------------------------------------------------------------------


def test_auto_never_compresses_numeric_arrays() -> None:
    for dtype in ("bool", "int8", "uint16", "int64", "float32", "float64", "complex128"):
        arr = np.zeros(10_000, dtype=dtype)
        assert pack(arr)[:4] == b"mYm\0", dtype
        assert pack(arr, compress=True)[:6] == b"ZL123\0", dtype


def test_auto_compresses_structures_at_level_one_when_smaller() -> None:
    obj = {"log": "trial ok; " * 300}
    raw = pack(obj, compress=False)
    blob = pack(obj)
    assert blob[:6] == b"ZL123\0"
    assert struct.unpack("<Q", blob[6:14])[0] == len(raw)
    assert blob[14:] == zlib.compress(raw, 1)
    assert unpack(blob) == obj
    # Incompressible content stays as it is, and so does anything of 1000 bytes or less.
    noise = bytes(range(256)) * 8
    noisy = {"k": zlib.compress(noise * 4, 9)}
    assert pack(noisy)[:4] == b"dj0\0"
    assert pack({"t": "a" * 900})[:4] == b"dj0\0"


def test_compress_false_and_bad_value() -> None:
    assert pack({"t": "a" * 5000}, compress=False)[:4] == b"dj0\0"
    with pytest.raises(BlobError, match="compress must be"):
        pack(1, compress="yes")


# -- round-trip properties -----------------------------------------------------------------------

_NUMERIC = ["?", "i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8", "f2", "f4", "f8", "c8", "c16"]
_DATETIME = [f"M8[{u}]" for u in ("Y", "M", "W", "D", "h", "m", "s", "ms", "us", "ns")]
_TEXT = ["U1", "U4", "S3"]


def _expected_array(arr: np.ndarray) -> object:
    kind = arr.dtype.kind
    if kind in "US":
        want = arr.astype(object)
    elif kind == "f" and arr.dtype.itemsize == 2:
        want = arr.astype("<f4")
    else:
        want = arr.astype(arr.dtype.newbyteorder("<"))
    if want.ndim == 0 and kind not in "US":
        return want[()]
    return want


@st.composite
def laid_out_arrays(draw: st.DrawFn) -> np.ndarray:
    dtype = np.dtype(draw(st.sampled_from(_NUMERIC + _DATETIME + _TEXT)))
    if draw(st.booleans()) and dtype.itemsize > 1 and dtype.kind not in "US":
        dtype = dtype.newbyteorder(">")
    shape = draw(hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=5))
    elements = None
    if dtype.kind == "U":  # lone surrogates are not text: packing them is tested as an error
        chars = st.characters(exclude_categories=("Cs",))
        elements = st.text(alphabet=chars, max_size=dtype.itemsize // 4)
    arr = draw(hnp.arrays(dtype, shape, elements=elements))
    layout = draw(st.sampled_from(["C", "F", "T", "reversed", "strided"]))
    if layout == "F":
        arr = np.asfortranarray(arr)
    elif layout == "T":
        arr = arr.T
    elif layout == "reversed" and arr.ndim:
        arr = arr[::-1]
    elif layout == "strided" and arr.ndim:
        arr = np.repeat(arr, 2, axis=0)[::2]
    return arr


@settings(max_examples=300, deadline=None)
@given(arr=laid_out_arrays(), compress=st.sampled_from([True, False, "auto"]))
def test_array_round_trip(arr: np.ndarray, compress: bool | str) -> None:
    assert same(unpack(pack(arr, compress=compress)), _expected_array(arr))


_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**600), max_value=2**600)
    | st.floats()
    | st.complex_numbers()
    | st.text()
    | st.binary()
    | st.decimals(allow_nan=False)
    | st.datetimes()
    | st.dates()
    | st.times()
    | st.uuids()
)
_keys = st.text(max_size=5) | st.integers() | st.tuples(st.integers(), st.text(max_size=3))
python_values = st.recursive(
    _scalars,
    lambda inner: (
        st.lists(inner, max_size=5)
        | st.lists(inner, max_size=5).map(tuple)
        | st.dictionaries(_keys, inner, max_size=5)
        | st.sets(st.integers() | st.text(max_size=4), max_size=5)
    ),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None)
@given(value=python_values, compress=st.sampled_from([True, False, "auto"]))
def test_python_round_trip(value: object, compress: bool | str) -> None:
    assert same(unpack(pack(value, compress=compress)), value)


@settings(max_examples=100, deadline=None)
@given(arrays=st.lists(laid_out_arrays(), min_size=1, max_size=3), value=python_values)
def test_nested_arrays_round_trip(arrays: list[np.ndarray], value: object) -> None:
    obj = {"arrays": arrays, "value": value, "cell": _cell(arrays)}
    got = unpack(pack(obj))
    assert all(same(g, _expected_array(a)) for g, a in zip(got["arrays"], arrays))
    assert same(got["value"], value)
    assert isinstance(got["cell"], MatCell)
    assert all(same(g, _expected_array(a)) for g, a in zip(got["cell"].ravel(order="F"), arrays))


def _cell(items: list) -> MatCell:
    out = np.empty(len(items), dtype=object)
    for i, it in enumerate(items):
        out[i] = it
    return out.reshape(1, -1).view(MatCell)


# -- large arrays: written straight into the output ----------------------------------------------


@pytest.mark.parametrize("fresh", [True, False], ids=["fresh-bytes", "bytearray-fallback"])
def test_large_arrays_round_trip(fresh: bool) -> None:
    old = use_fresh_bytes(fresh)
    try:
        base = np.arange(LARGE // 4, dtype=np.float64).reshape(-1, 64) / 3
        variants = {
            "C 2-D": base,
            "F 2-D": np.asfortranarray(base),
            "C 3-D": base.reshape(16, -1, 64),
            "strided": base[::2, ::3],
            "complex C": (base + 1j * base[::-1])[:, :40],
            "1-D": base.ravel(),
        }
        for label, arr in variants.items():
            blob = pack(arr)
            assert isinstance(blob, bytes), label
            assert blob == pack(np.ascontiguousarray(arr)), label
            assert same(unpack(blob), arr.copy(order="C")), label
        nested = {"a": base, "b": bytes(LARGE), "c": [np.asfortranarray(base), "x"]}
        blob = pack(nested, compress=False)
        got = unpack(blob)
        assert same(got["a"], base)
        assert got["b"] == bytes(LARGE)
        assert same(got["c"][0], base)
    finally:
        use_fresh_bytes(old)


def test_large_array_bytes_equal_simple_layout() -> None:
    arr = np.arange(LARGE // 8 * 3, dtype="<i8").reshape(3, -1)
    head = b"mYm\0A" + struct.pack("<3Q", 2, *arr.shape) + struct.pack("<II", 14, 0)
    assert pack(arr) == head + arr.tobytes(order="F")


def test_unpack_returns_views_and_accepts_buffers() -> None:
    arr = np.arange(1000.0).reshape(10, 100)
    blob = pack(arr)
    got = unpack(blob)
    assert not got.flags.writeable
    assert got.flags.f_contiguous
    writable = unpack(bytearray(blob))
    assert writable.flags.writeable
    assert same(unpack(memoryview(blob)), arr)
    assert unpack(None) is None


# -- conversions labjoin makes where DataJoint refuses -------------------------------------------


def test_float16_packs_as_single() -> None:
    arr = np.array([1.5, -2.25, np.inf], dtype=np.float16)
    got = unpack(pack(arr))
    assert got.dtype == np.float32
    assert np.array_equal(got, arr.astype(np.float32))


def test_big_endian_and_multiplied_datetime_units() -> None:
    assert pack(np.arange(4, dtype=">i4")) == pack(np.arange(4, dtype="<i4"))
    arr = np.array([0, 3], dtype="datetime64[10s]")
    assert same(unpack(pack(arr)), arr.astype("datetime64[s]"))


def test_multibyte_bytes_arrays_pack_as_object_arrays() -> None:
    got = unpack(pack(np.array([b"ab", b"c"])))
    assert got.dtype == object
    assert got.tolist() == [b"ab", b"c"]


def test_two_dimensional_char_array_is_column_major() -> None:
    arr = np.array([[b"a", b"b", b"c"], [b"d", b"e", b"f"]], dtype="S1")
    blob = pack(arr)
    assert blob.endswith("adbecf".encode("utf-16-le"))  # DataJoint writes C order here
    assert same(unpack(blob), arr.astype("U1"))


def test_memoryview_and_record_extensions() -> None:
    assert unpack(pack(memoryview(b"xyz"))) == b"xyz"
    rec = np.zeros(2, dtype=[("a", "<i4"), ("b", "<f8")])
    got = unpack(pack(rec[0]))
    assert isinstance(got, np.recarray)
    assert got.shape == ()
    assert got["a"] == 0


def test_squeeze() -> None:
    assert unpack(pack(np.array([[5.0]])), squeeze=True) == 5.0
    assert unpack(pack(np.arange(3.0).reshape(1, 3, 1)), squeeze=True).shape == (3,)
    assert unpack(pack(np.float32(2.0)), squeeze=True) == 2.0
    cell = unpack(pack(_cell([1.0, 2.0])), squeeze=True)
    assert isinstance(cell, MatCell)
    assert cell.shape == (2,)
    struct_case = PACK_CASES["struct"]
    squeezed = unpack(pack(struct_case.obj), squeeze=True)
    assert isinstance(squeezed, MatStruct)
    assert squeezed.shape == (2,)
    assert squeezed[0]["a"].shape == (2,)


def test_datetime_drops_timezone_like_datajoint() -> None:
    aware = dt.datetime(2024, 1, 1, 12, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    assert unpack(pack(aware)) == aware.replace(tzinfo=None)


def test_int_sizes() -> None:
    for v in (0, 127, 128, -128, -129, 2**63, -(2**63) - 1, 2**(8 * 65534)):
        assert unpack(pack(v)) == v


# -- errors ------------------------------------------------------------------------------------


class _Opaque:
    pass


@pytest.mark.parametrize(
    ("obj", "match"),
    [
        (_Opaque(), r"type .*_Opaque"),
        ({"k": [object()]}, r"type builtins\.object"),
        (np.arange(3, dtype="timedelta64[s]"), "timedelta"),
        (np.timedelta64(3, "s"), "timedelta"),
        (np.zeros(2, dtype=np.longdouble), "at most 64-bit"),
        (np.zeros(2, dtype="datetime64"), "needs a unit"),
        (np.zeros(2, dtype="V4"), "no such type"),
        pytest.param(2 ** (8 * 65535), "at most 65535 bytes", id="int-too-large"),
        ("bad \ud800 surrogate", "not valid Unicode"),
        (np.void(b"\x00\x01"), "has no fields"),
    ],
)
def test_pack_unsupported_raises_blob_error(obj: object, match: str) -> None:
    with pytest.raises(BlobError, match=match):
        pack(obj)


def test_pack_self_reference_raises_blob_error() -> None:
    loop: list = []
    loop.append(loop)
    with pytest.raises(BlobError, match="nests too deeply"):
        pack(loop)


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (b"", "Not a blob"),
        (b"hello world", "Not a blob"),
        (b"mYm\0", "truncated"),
        (b"mYm\0Z", "Unknown type code"),
        (b"dj0\0\x05" + struct.pack("<Q", 100) + b"abc", "truncated"),
        (b"dj0\0\x05" + struct.pack("<Q", 2) + b"\xff\xfe", "not UTF-8"),
        (b"dj0\0\xff\xff", "unexpected bytes"),
        (b"dj0\0\x02" + struct.pack("<Q", 2**60), "need at least"),
        (b"dj0\0\x01" + struct.pack("<QQ", 1, 5) + b"\xff" + b"\0" * 4, "declares 5 bytes"),
        (b"ZL123\0" + struct.pack("<Q", 10) + b"not zlib", "does not decompress"),
        (b"ZL123\0" + struct.pack("<Q", 99) + zlib.compress(b"dj0\0\xff"), "declares 99"),
        (b"ZL123\0\x01", "length field"),
        (b"mYmP", "Not a blob"),
        (b"mYm\0P", "sparse"),
        (b"mYm\0A" + struct.pack("<QQII", 1, 1, 16, 0), "FUNCTION"),
        (b"dj0\0t" + struct.pack("<iq", 20241399, -1), "corrupt"),
        (b"dj0\0d" + struct.pack("<Q", 3) + b"abc", "corrupt"),
        (b"dj0\0\x04" + struct.pack("<Q", 1) + struct.pack("<Q", 2) + b"\x02" + b"\0" * 8 + struct.pack("<Q", 1)
         + b"\xff", "corrupt"),
        (b"mYm\0S" + struct.pack("<QQI", 1, 1, 1) + b"abc", "no terminating zero"),
    ],
)
def test_unpack_garbage_raises_blob_error(data: bytes, match: str) -> None:
    with pytest.raises(BlobError, match=match):
        unpack(data)


def test_unpack_rejects_non_buffers() -> None:
    with pytest.raises(BlobError, match="type str"):
        unpack("mYm")  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["nested", "struct", "cell", "structured_array", "dict_of_arrays", "large_text"])
def test_every_truncation_raises_blob_error(name: str) -> None:
    for blob in (_golden(name), _golden_compressed(name)):
        for cut in range(len(blob)):
            with pytest.raises(BlobError):
                unpack(blob[:cut])


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=200))
def test_random_bytes_only_raise_blob_error(data: bytes) -> None:
    for candidate in (data, b"dj0\0" + data, b"mYm\0A" + data):
        with contextlib.suppress(BlobError):
            unpack(candidate)


@settings(max_examples=300, deadline=None)
@given(name=st.sampled_from(sorted(PACK_CASES)), position=st.integers(min_value=0), byte=st.integers(0, 255))
def test_corrupted_golden_only_raises_blob_error(name: str, position: int, byte: int) -> None:
    blob = bytearray(_golden(name))
    blob[position % len(blob)] = byte
    with contextlib.suppress(BlobError):
        unpack(bytes(blob))


def test_uuid_and_decimal_and_time_values() -> None:
    values = [uuid.UUID(int=7), Decimal("1E+3"), dt.time(0, 0), dt.date(1, 1, 1), dt.datetime(9999, 12, 31, 23, 59, 59)]
    assert unpack(pack(values)) == values


def test_comparator_is_strict() -> None:
    # The golden and property tests rely on `same`; it must tell these apart.
    assert same(float("nan"), float("nan"))
    assert not same(0.0, -0.0)
    assert not same(1, True)
    assert not same((1,), [1])
    assert not same(np.array([1.0]), np.array([1.0], dtype=np.float32))
    assert not same(np.zeros((1, 2)), np.zeros((2, 1)))
    assert not same({"a": 1, "b": 2}, {"b": 2, "a": 1})
    assert not same(np.array([1.0]).view(MatCell), np.array([1.0]))
