"""Store-backed columns on SQLite, PostgreSQL and MySQL with local file stores.

Every 0.14 (``blob@s``, ``attach@s``, ``filepath@s``) and 2.x (``<blob@s>``, ``<attach@s>``,
``<hash@s>``, ``<npy@s>``, ``<object@s>``, ``<filepath@s>``) type round-trips; identical content is
stored once; a changed object raises ``ChecksumError`` and a missing one ``MissingExternalFile``,
both naming the row's key and the object's path; a column's objects are fetched and stored
concurrently (shown with a barrier that only opens when several transfers run at once, so the
test does not depend on timing); the ``~external_<store>`` tables have DataJoint's layout.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import labjoin as dj
from labjoin import errors
from labjoin.heading.blob import pack
from labjoin.sql.catalog import load_schema
from labjoin.stores import Store, layout, store_spec
from labjoin.stores.objects import b32_hash

DEFINITION = """
id: int
---
b14: blob@raw
a14=null: attach@raw
f14=null: filepath@raw
b2=null: <blob@raw>
a2=null: <attach@raw>
h2=null: <hash@raw>
n2=null: <npy@raw>
o2=null: <object@raw>
p2=null: <filepath@raw>
"""


@pytest.fixture
def schema_name() -> str:
    return f"extstore_{uuid.uuid4().hex[:10]}"


@pytest.fixture
def stores(tmp_path: Path) -> Iterator[dict[str, Path]]:
    paths = {name: tmp_path / name for name in ("store", "stage", "download", "files")}
    for p in paths.values():
        p.mkdir()
    spec = {"protocol": "file", "location": str(paths["store"]), "stage": str(paths["stage"])}
    with dj.config(stores={"raw": spec, "default": "raw"}):
        yield paths


def _objects(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def _object_path(stores: dict[str, Path], schema: str, column: str, value: Any) -> Path:
    """Where the object of ``value`` in ``column`` lives (DataJoint's layouts)."""
    root = stores["store"]
    if column == "a14":
        h = layout.attachment_uuid(value.name, value.read_bytes())
        return root / layout.attachment_key(schema, h, value.name, (2, 2))
    data = value if column == "h2" else pack(value, compress=dj.config["blob.compress"])
    if column == "b14":
        return root / layout.blob_key(schema, layout.blob_uuid(data), (2, 2))
    return root / "_hash" / schema / b32_hash(data)


@pytest.fixture
def ext(make_schema: Any, stores: dict[str, Path]) -> Any:
    schema = make_schema()

    class Ext(dj.Manual):
        definition = DEFINITION

    schema(Ext)
    return Ext


def test_every_type_round_trips(ext: Any, stores: dict[str, Path]) -> None:
    att = stores["files"] / "notes.txt"
    att.write_bytes(b"attached words")
    staged = stores["stage"] / "sess" / "spikes.bin"
    staged.parent.mkdir()
    staged.write_bytes(b"\x00spikes\xff")
    folder = stores["files"] / "zarrish"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.txt").write_bytes(b"A")
    (folder / "sub" / "b.txt").write_bytes(b"BB")
    Store(store_spec(dj.config["stores"], "raw")).put("acq/run1.dat", b"acquired")
    arr = np.random.default_rng(0).normal(size=(40, 3))
    ext.insert([
        {"id": 1, "b14": arr, "a14": att, "f14": staged, "b2": {"rt": [0.1, 0.2]}, "a2": att, "h2": b"raw bytes",
         "n2": arr.astype(np.float32), "o2": folder, "p2": "acq/run1.dat"},
        {"id": 2, "b14": "second", "o2": b"bytes object"},
    ])
    staged.unlink()  # a filepath is fetched back from the store into the stage
    rows = ext.fetch(as_dict=True, order_by="id", download_path=stores["download"])
    one, two = rows
    assert np.array_equal(one["b14"], arr)
    assert Path(one["a14"]) == stores["download"] / "notes.txt"
    assert Path(one["a14"]).read_bytes() == b"attached words"
    assert Path(one["f14"]) == staged and staged.read_bytes() == b"\x00spikes\xff"
    assert one["b2"] == {"rt": [0.1, 0.2]}
    assert Path(one["a2"]).read_bytes() == b"attached words"
    assert one["h2"] == b"raw bytes"
    assert one["n2"].shape == (40, 3) and one["n2"].dtype == np.float32
    assert np.array_equal(one["n2"].load(), arr.astype(np.float32))
    assert one["o2"].is_dir and one["o2"].item_count == 2 and one["o2"].size == 3
    assert one["o2"].listdir() == ["a.txt", "sub"]
    assert one["o2"].open("sub/b.txt").read() == b"BB"
    assert one["p2"].read() == b"acquired"
    assert two["b14"] == "second" and two["o2"].read() == b"bytes object"
    assert all(two[k] is None for k in ("a14", "f14", "b2", "a2", "h2", "n2", "p2"))
    assert (ext & {"id": 2}).fetch1("b14") == "second"
    # DataJoint's layout: the row's hash names the object under <schema>/<2>/<2>/<hex>
    assert _object_path(stores, ext.database, "b14", "second").is_file()


def test_tracking_table_has_datajoint_layout(ext: Any, backend: dj.Connection) -> None:
    infos = load_schema(backend, ext.database, refresh=True)
    track = infos["~external_raw"]
    assert [c.name for c in track.columns] == ["hash", "size", "attachment_name", "filepath", "contents_hash",
                                               "timestamp"]
    assert track.primary_key == ["hash"] and track.comment == "external storage tracking"
    refs = {(fk.parent_table, tuple(fk.attr_map)) for fk in infos["ext"].foreign_keys}
    assert refs == {("~external_raw", (("b14", "hash"),)), ("~external_raw", (("a14", "hash"),)),
                    ("~external_raw", (("f14", "hash"),))}
    text = ext.describe()
    assert "b14: blob@raw" in text and "b2=null: <blob@raw>" in text and "->" not in text
    assert ext.parents() == []  # the tracking table is not part of the pipeline graph
    heading = ext.heading
    assert heading["b14"].type.codec is None and heading["b2"].type.codec == "blob"


def test_identical_content_is_stored_once(ext: Any, stores: dict[str, Path], schema_name: str) -> None:
    arr = np.arange(1000.0)
    ext.insert([{"id": i, "b14": arr, "b2": arr, "h2": b"same"} for i in range(5)])
    objects = _objects(stores["store"])
    assert len([o for o in objects if o.startswith(schema_name + "/")]) == 1
    assert len([o for o in objects if o.startswith("_hash/")]) == 2
    assert len(dj.FreeTable(ext.connection, f"`{schema_name}`.`~external_raw`")) == 1
    got = ext.fetch("b14", "b2", order_by="id")
    assert all(np.array_equal(x, arr) for col in got for x in col)


def _corrupt(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("column", ["b14", "b2", "a14"])
def test_corrupted_object_is_reported_with_row_and_path(ext: Any, stores: dict[str, Path], column: str) -> None:
    att = stores["files"] / "a.txt"
    att.write_bytes(b"first file")
    value = att if column == "a14" else np.arange(7)
    ext.insert([{"id": 1, "b14": 0}, {"id": 7, "b14": 1, column: value}])
    target = _object_path(stores, ext.database, column, value)
    _corrupt(target)
    with pytest.raises(errors.ChecksumError) as info:
        ext.fetch(column, download_path=stores["download"])
    message = str(info.value)
    assert "'id': 7" in message and target.name in message and f"`{column}`" in message
    assert not (stores["download"] / "a.txt").exists()  # a damaged attachment is never handed out
    (ext & {"id": 1}).fetch1(column)  # rows whose objects are intact still fetch


@pytest.mark.parametrize("column", ["b14", "h2", "a14"])
def test_missing_object_raises(ext: Any, stores: dict[str, Path], column: str) -> None:
    att = stores["files"] / "gone.txt"
    att.write_bytes(b"soon gone")
    value = {"b14": np.ones(3), "h2": b"soon gone", "a14": att}[column]
    ext.insert1({"id": 3, "b14": 5, column: value})
    _object_path(stores, ext.database, column, value).unlink()
    with pytest.raises(errors.MissingExternalFile, match="'id': 3"):
        ext.fetch1(column, download_path=stores["download"])


def test_column_transfers_run_concurrently(ext: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """A barrier of four parties opens only if four transfers are in flight at once."""
    barrier = threading.Barrier(4, timeout=20)
    calls = {"get_blobs": 0}
    real_get, real_put, real_get_blobs = Store.get, Store.put, Store.get_blobs

    def put(self: Store, key: str, data: Any, **kw: Any) -> bool:
        if key.startswith(ext.database + "/"):
            barrier.wait()
        return real_put(self, key, data, **kw)

    monkeypatch.setattr(Store, "put", put)
    ext.insert([{"id": i, "b14": np.full(10, i)} for i in range(8)])
    monkeypatch.setattr(Store, "put", real_put)

    def get(self: Store, key: str, **kw: Any) -> bytes:
        barrier.wait()
        return real_get(self, key, **kw)

    def get_blobs(self: Store, schema: str, ids: Any) -> list[bytes]:
        calls["get_blobs"] += 1
        return real_get_blobs(self, schema, ids)

    monkeypatch.setattr(Store, "get", get)
    monkeypatch.setattr(Store, "get_blobs", get_blobs)
    got = ext.fetch("b14", order_by="id")
    assert [int(x[0]) for x in got] == list(range(8))
    assert calls["get_blobs"] == 1  # one bulk call for the whole column


def test_rows_of_a_join_across_schemas_use_their_own_schema(make_schema: Any, stores: dict[str, Path]) -> None:
    first, second = make_schema("_a"), make_schema("_b")

    @first
    class Left(dj.Manual):
        definition = """
        id: int
        ---
        x: blob@raw
        """

    class Right(dj.Manual):
        definition = """
        -> Left
        ---
        y: blob@raw
        """

    second(Right, context={"Left": Left})

    Left.insert1({"id": 1, "x": "left"})
    Right.insert1({"id": 1, "y": "right"})
    assert (Left * Right).fetch1("x", "y") == ("left", "right")
    assert (Left * Right.proj(z="y")).fetch1("z") == "right"


def test_filepath_versions_and_update(ext: Any, stores: dict[str, Path]) -> None:
    f = stores["stage"] / "data.bin"
    f.write_bytes(b"version 1")
    ext.insert1({"id": 1, "b14": 1, "f14": f})
    f.write_bytes(b"version 2")
    with pytest.raises(errors.DataError, match=r"different version of 'data\.bin'"):
        ext.insert1({"id": 2, "b14": 2, "f14": f})
    ext.update1({"id": 1, "b14": {"updated": True}})
    assert (ext & {"id": 1}).fetch1("b14") == {"updated": True}


def test_attachment_name_clash_in_download_path(ext: Any, stores: dict[str, Path]) -> None:
    one, two = stores["files"] / "1", stores["files"] / "2"
    one.mkdir()
    two.mkdir()
    (one / "same.txt").write_bytes(b"one")
    (two / "same.txt").write_bytes(b"two")
    ext.insert([{"id": 1, "b14": 0, "a14": one / "same.txt"}, {"id": 2, "b14": 0, "a14": two / "same.txt"}])
    paths = ext.fetch("a14", order_by="id", download_path=stores["download"])
    assert {Path(p).read_bytes() for p in paths} == {b"one", b"two"}
    assert sorted(Path(p).name for p in paths) == ["same.txt", "same_0001.txt"]


def test_external_table_api(ext: Any, stores: dict[str, Path]) -> None:
    schema = dj.Schema(ext.database, connection=ext.connection)
    ext.insert([{"id": i, "b14": np.full(3, i)} for i in range(3)])
    external = schema.external["raw"]
    assert list(schema.external) == ["raw"]
    assert len(external) == 3 and len(external.used()) == 3 and len(external.unused()) == 0
    assert {"referencing_table": f"`{ext.database}`.`ext`", "column_name": "b14"} in external.references
    (ext & {"id": 0}).delete(safemode=False)
    assert len(external.unused()) == 1
    before = _objects(stores["store"])
    with pytest.raises(errors.DataJointError, match="True or False"):
        external.delete()
    assert external.delete(delete_external_files=False, display_progress=False) == []
    assert len(external) == 2 and _objects(stores["store"]) == before  # rows only
    (ext & {"id": 1}).delete(safemode=False)
    path = dict(external.fetch_external_paths())
    assert external.delete(delete_external_files=True, display_progress=False) == []
    assert len(external) == 1
    assert len(_objects(stores["store"])) == len(before) - 1
    assert all(Path(p).exists() for p in path.values()) is False
    assert np.array_equal(ext.fetch1("b14"), np.full(3, 2))


def test_unconfigured_store_and_bad_values(make_schema: Any, tmp_path: Path) -> None:
    schema = make_schema()
    with dj.config(stores={}):

        @schema
        class Orphan(dj.Manual):
            definition = """
            id: int
            ---
            x: blob@nowhere
            """

        with pytest.raises(errors.ConfigError, match="'nowhere' is requested but not configured"):
            Orphan.insert1({"id": 1, "x": 1})
    with dj.config(stores={"raw": {"protocol": "file", "location": str(tmp_path)}}):

        @schema
        class Typed(dj.Manual):
            definition = """
            id: int
            ---
            h: <hash@raw>
            a=null: attach@raw
            """

        with pytest.raises(errors.DataError, match="takes bytes"):
            Typed.insert1({"id": 1, "h": "text"})
        with pytest.raises(errors.DataError, match="existing file"):
            Typed.insert1({"id": 1, "h": b"x", "a": tmp_path / "missing.txt"})
        with pytest.raises(errors.QueryError, match="Restrict by the primary key"):
            len(Typed & {"h": b"x"})


def test_filepath_without_a_stage_here_downloads_into_download_path(ext: Any, stores: dict[str, Path]) -> None:
    f = stores["stage"] / "run" / "a.bin"
    f.parent.mkdir()
    f.write_bytes(b"recorded")
    ext.insert1({"id": 1, "b14": 0, "f14": f})
    reader = {"protocol": "file", "location": str(stores["store"])}  # another machine: no stage configured
    with dj.config(stores={"raw": reader}):
        got = Path(ext.fetch1("f14", download_path=stores["download"]))
    assert got == stores["download"] / "run" / "a.bin" and got.read_bytes() == b"recorded"
