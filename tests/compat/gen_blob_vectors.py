"""Regenerate the golden blob vectors in tests/fixtures/blobs/ with DataJoint's own serializer.

Run it with a Python that has DataJoint installed, outside the project venv::

    python3 -m venv /tmp/djcompat
    /tmp/djcompat/bin/pip install "datajoint==0.14.*"
    /tmp/djcompat/bin/python tests/compat/gen_blob_vectors.py

For every case in tests/fixtures/blobs/cases.py it writes ``<name>.blob`` (DataJoint's
``pack(obj, compress=False)``) and, when DataJoint compresses it, ``<name>.zl.blob``
(``pack(obj, compress=True)``). The hand-laid MATLAB blobs are written as ``<name>.blob`` too.
``manifest.json`` records versions, checksums, and whether DataJoint's own ``unpack`` returns the
case's expected value (labjoin's must, always; DataJoint's fails on a few, listed there).
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import platform
import sys
import zlib
from pathlib import Path

import numpy as np
from datajoint import __version__ as dj_version
from datajoint import blob as djblob

HERE = Path(__file__).resolve().parent
OUT = HERE.parent / "fixtures" / "blobs"


def _load_cases():
    spec = importlib.util.spec_from_file_location("blob_cases", OUT / "cases.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["blob_cases"] = module
    spec.loader.exec_module(module)
    return module


def _dj_reads(data: bytes, want: object, same, kwargs: dict) -> tuple[bool, str]:
    old = djblob.use_32bit_dims
    djblob.use_32bit_dims = bool(kwargs.get("use_32bit_dims", False))
    try:
        got = djblob.unpack(data, squeeze=bool(kwargs.get("squeeze", False)))
    except Exception as e:  # record DataJoint's failure as a fact about DataJoint, then go on
        return False, f"{type(e).__name__}: {e}"
    finally:
        djblob.use_32bit_dims = old
    return same(got, want, by_name=True), ""


def main() -> None:
    cases = _load_cases()
    for old in OUT.glob("*.blob"):
        old.unlink()
    manifest: dict = {
        "generator": "tests/compat/gen_blob_vectors.py",
        "datajoint": dj_version,
        "numpy": np.__version__,
        "python": platform.python_version(),
        "zlib": zlib.ZLIB_RUNTIME_VERSION,
        "cases": {},
    }
    for case in cases.build_cases(djblob.MatCell, djblob.MatStruct):
        raw = djblob.pack(case.obj, compress=False)
        packed = djblob.pack(case.obj, compress=True)
        (OUT / f"{case.name}.blob").write_bytes(raw)
        entry = {
            "kind": "pack",
            "file": f"{case.name}.blob",
            "sha256": hashlib.sha256(raw).hexdigest(),
            "protocol": raw[:3].decode(),
            "note": case.note,
        }
        if packed != raw:
            (OUT / f"{case.name}.zl.blob").write_bytes(packed)
            entry["compressed_file"] = f"{case.name}.zl.blob"
            entry["compressed_sha256"] = hashlib.sha256(packed).hexdigest()
        ok, error = _dj_reads(raw, case.want, cases.same, case.unpack_kwargs)
        entry["datajoint_reads_as_expected"] = ok
        if error:
            entry["datajoint_error"] = error
        manifest["cases"][case.name] = entry
    for case, data in cases.matlab_cases(djblob.MatCell, djblob.MatStruct):
        (OUT / f"{case.name}.blob").write_bytes(data)
        ok, error = _dj_reads(data, case.want, cases.same, case.unpack_kwargs)
        entry = {
            "kind": "matlab",
            "file": f"{case.name}.blob",
            "sha256": hashlib.sha256(data).hexdigest(),
            "unpack_kwargs": case.unpack_kwargs,
            "datajoint_reads_as_expected": ok,
        }
        if error:
            entry["datajoint_error"] = error
        manifest["cases"][case.name] = entry
    (OUT / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    n_bad = [k for k, v in manifest["cases"].items() if not v["datajoint_reads_as_expected"]]
    print(f"wrote {len(manifest['cases'])} vectors to {OUT}")
    print(f"DataJoint's unpack differs from the expected value on: {', '.join(n_bad) or 'none'}")


if __name__ == "__main__":
    main()
