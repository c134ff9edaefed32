"""Store lookup from dj.config and DataJoint 2.x object paths (no database needed)."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import io
import uuid
from pathlib import Path

import numpy as np
import pytest

import labjoin as dj
from labjoin import errors
from labjoin.stores import registry
from labjoin.stores.objects import NpyRef, ObjectRef, b32_hash, b32_to_uuid, hash_key, schema_key


def test_b32_hash_is_datajoint_2_content_hash() -> None:
    data = b"hello"
    expected = base64.b32encode(hashlib.md5(data).digest()).decode().rstrip("=").lower()
    assert b32_hash(data) == expected and len(expected) == 26
    assert b32_to_uuid(expected) == uuid.UUID(bytes=hashlib.md5(data).digest())
    with pytest.raises(errors.DataError, match="26 lowercase Base32"):
        b32_to_uuid("not-a-hash")


def test_hash_and_schema_keys() -> None:
    h = b32_hash(b"x")
    assert hash_key("lab", h) == f"_hash/lab/{h}"
    assert hash_key("lab", h, (2, 2)) == f"_hash/lab/{h[:2]}/{h[2:4]}/{h}"
    key = {"subject": "mouse/1", "session_start": dt.datetime(2024, 1, 2, 3, 4, 5), "probe": 0}
    path = schema_key("lab", "_recording", "traces", key, ".npy", token_length=10)
    head, name = path.rsplit("/", 1)
    assert head == "_schema/lab/_recording/subject=mouse%2F1/session_start=2024-01-02T03-04-05/probe=0"
    assert name.startswith("traces_") and name.endswith(".npy") and len(name) == len("traces_") + 10 + 4
    assert schema_key("lab", "t", "a", {}, None) != schema_key("lab", "t", "a", {}, None)  # a new token each time
    with pytest.raises(errors.StoreError):
        hash_key("a/b", h)


def test_store_lookup_follows_the_configuration(tmp_path: Path) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    one.mkdir()
    two.mkdir()
    with dj.config(stores={"raw": {"protocol": "file", "location": str(one)}, "default": "raw"}):
        first = registry.store_for("raw")
        assert registry.store_for("raw") is first and registry.store_for("") is first
        assert registry.options_for("raw").subfolding == ()  # 2.x: flat unless subfolding is written
    with dj.config(stores={"raw": {"protocol": "file", "location": str(two), "subfolding": [1],
                                   "token_length": 12}}):
        second = registry.store_for("raw")
        assert second is not first and second.root.endswith("two")
        assert registry.options_for("raw").subfolding == (1,) and registry.options_for("raw").token_length == 12
        with pytest.raises(errors.ConfigError, match="default store"):
            registry.store_for("")
        with pytest.raises(errors.ConfigError, match="'other' is requested but not configured"):
            registry.store_for("other")
    with dj.config(stores={"raw": {"protocol": "file", "location": str(two), "token_length": 40}}), \
            pytest.raises(errors.ConfigError, match="token_length"):
        registry.store_for("raw")


def test_refs_verify_content(tmp_path: Path) -> None:
    with dj.config(stores={"raw": {"protocol": "file", "location": str(tmp_path)}}):
        store = registry.store_for("raw")
        store.put("obj/a.bin", b"content")
        ref = ObjectRef.from_json({"path": "obj/a.bin", "store": "raw", "size": 7, "hash": b32_hash(b"content"),
                                   "timestamp": "2024-01-01T00:00:00+00:00"})
        assert ref.read() == b"content" and ref.verify() and str(ref) == "obj/a.bin"
        assert ref.download(tmp_path / "dl.bin").read_bytes() == b"content"
        store.put("obj/a.bin", b"CONTENT", overwrite=True)
        with pytest.raises(errors.ChecksumError, match="does not match its recorded hash"):
            ref.read()
        arr = np.arange(6).reshape(2, 3)
        buf = io.BytesIO()
        np.save(buf, arr)
        store.put("obj/x.npy", buf.getvalue())
        npy = NpyRef({"path": "obj/x.npy", "store": "raw", "dtype": "int64", "shape": [2, 3],
                      "hash": b32_hash(buf.getvalue())})
        assert npy.shape == (2, 3) and len(npy) == 2 and not npy.is_loaded
        assert np.array_equal(np.asarray(npy), arr) and npy[1, 2] == 5 and npy.is_loaded
        assert np.array_equal(npy.load(mmap_mode="r"), arr)
