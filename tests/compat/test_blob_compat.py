"""labjoin's blobs against DataJoint's own serializer, both directions, on generated values.

Runs only where ``datajoint`` is importable (the separate compatibility environment)::

    /tmp/djcompat/bin/pip install pytest hypothesis && /tmp/djcompat/bin/pip install --no-deps -e .
    /tmp/djcompat/bin/python -m pytest tests/compat/test_blob_compat.py -p no:cacheprovider

Elsewhere the whole module is skipped.
"""

from __future__ import annotations

import importlib.util
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from labjoin.heading.blob import MatCell, MatStruct, pack, unpack

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # DataJoint 0.14 warns about its own dependencies on import
    djblob = pytest.importorskip("datajoint.blob")

pytestmark = pytest.mark.compat

_spec = importlib.util.spec_from_file_location(
    "blob_cases", Path(__file__).resolve().parents[1] / "fixtures" / "blobs" / "cases.py"
)
assert _spec is not None
assert _spec.loader is not None
cases = importlib.util.module_from_spec(_spec)
sys.modules["blob_cases"] = cases
_spec.loader.exec_module(cases)

# Only what DataJoint can pack (no float16, big-endian, multi-byte bytes or datetime64[10s]).
_DTYPES = ["?", "i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8", "f4", "f8", "c8", "c16", "U3"]
_DTYPES += [f"M8[{u}]" for u in ("D", "s", "ms", "us", "ns")]


@st.composite
def dj_arrays(draw: st.DrawFn) -> np.ndarray:
    dtype = np.dtype(draw(st.sampled_from(_DTYPES)))
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=0, max_side=4))
    elements = None
    if dtype.kind == "U":  # lone surrogates are not text: neither library packs them
        elements = st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=dtype.itemsize // 4)
    if dtype.kind == "c":  # DataJoint reads complex as re + 1j * im, which garbles inf and NaN
        elements = st.complex_numbers(allow_nan=False, allow_infinity=False, width=dtype.itemsize * 8)
    arr = draw(hnp.arrays(dtype, shape, elements=elements))
    return np.asfortranarray(arr) if draw(st.booleans()) else arr


_scalars = (
    st.none() | st.booleans() | st.integers(min_value=-(2**300), max_value=2**300) | st.floats()
    | st.complex_numbers() | st.text() | st.binary() | st.decimals(allow_nan=False) | st.datetimes()
    | st.dates() | st.times() | st.uuids() | dj_arrays()
)
values = st.recursive(
    _scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.lists(inner, max_size=4).map(tuple)
        | st.dictionaries(st.text(max_size=4) | st.integers(), inner, max_size=4)
        | st.sets(st.integers() | st.text(max_size=3), max_size=4)
    ),
    max_leaves=20,
)


def _normalize(value: object) -> object:
    """What either library reads back: str arrays come back as object arrays of str."""
    if isinstance(value, np.ndarray) and value.dtype.kind == "U":
        return value.astype(object)
    if isinstance(value, list):
        return [_normalize(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_normalize(v) for v in value)
    if isinstance(value, dict):
        return {k: _normalize(v) for k, v in value.items()}
    return value


def _loosen(value: object) -> object:
    """Blur what DataJoint's reader loses: it builds complex arrays as ``re + 1j * im``, which
    turns -0.0 into 0.0."""
    if isinstance(value, np.ndarray) and value.dtype.kind == "c":
        out = np.empty_like(value)
        out.real = value.real + 0.0
        out.imag = value.imag + 0.0
        return out
    if isinstance(value, list):
        return [_loosen(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_loosen(v) for v in value)
    if isinstance(value, dict):
        return {k: _loosen(v) for k, v in value.items()}
    return value


def _datajoint_reads(blob: bytes, want: object) -> bool:
    return cases.same(_loosen(djblob.unpack(blob)), _loosen(want), by_name=True)


@settings(max_examples=200, deadline=None)
@given(value=values, compress=st.booleans())
def test_bytes_identical_and_cross_readable(value: object, compress: bool) -> None:
    ours = pack(value, compress=compress)
    theirs = djblob.pack(value, compress=compress)
    assert ours == theirs
    want = _normalize(value)
    assert _datajoint_reads(ours, want)
    assert cases.same(unpack(theirs), want)


@settings(max_examples=100, deadline=None)
@given(value=values)
def test_auto_compressed_blobs_read_in_datajoint(value: object) -> None:
    assert _datajoint_reads(pack(value), _normalize(value))


@pytest.mark.parametrize("name", [c.name for c in cases.build_cases(MatCell, MatStruct)])
def test_golden_cases_both_ways(name: str) -> None:
    ours = {c.name: c for c in cases.build_cases(MatCell, MatStruct)}[name]
    theirs = {c.name: c for c in cases.build_cases(djblob.MatCell, djblob.MatStruct)}[name]
    assert pack(ours.obj, compress=True) == djblob.pack(theirs.obj, compress=True)
    assert cases.same(unpack(djblob.pack(theirs.obj)), ours.want)


def test_float16_and_big_endian_read_in_datajoint() -> None:
    half = np.array([1.5, -2.0], dtype=np.float16)
    assert cases.same(djblob.unpack(pack(half)), half.astype(np.float32))
    big = np.arange(5, dtype=">i8").reshape(5, 1)
    assert cases.same(djblob.unpack(pack(big)), big.astype("<i8"))
