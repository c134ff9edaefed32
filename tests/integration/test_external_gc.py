"""Garbage collection (``labjoin gc`` and ``collect_garbage``) on every backend, with a file store.

Two schemas share one store. Rows are deleted so that some objects become orphans: tracked 0.14
objects, an untracked file in DataJoint's layout, 2.x hash- and schema-addressed objects. The
collector removes exactly those; it keeps everything a row still uses, including a filepath file
that only the other schema still references and an object deduplicated between two rows; a dry
run changes nothing; young objects are kept.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

import labjoin as dj
from labjoin.cli import cli
from labjoin.connection import connection as connection_module
from labjoin.stores.gc import collect_garbage


@pytest.fixture
def schema_name() -> str:
    return f"extstore_{uuid.uuid4().hex[:10]}"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[dict[str, Path]]:
    paths = {name: tmp_path / name for name in ("store", "stage", "files")}
    for p in paths.values():
        p.mkdir()
    spec = {"protocol": "file", "location": str(paths["store"]), "stage": str(paths["stage"])}
    with dj.config(stores={"raw": spec}):
        yield paths


def _objects(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


@pytest.fixture
def pipeline(make_schema: Any, store: dict[str, Path]) -> dict[str, Any]:
    first, second = make_schema("_a"), make_schema("_b")

    @first
    class Rec(dj.Manual):
        definition = """
        id: int
        ---
        blob: blob@raw
        file=null: filepath@raw
        att=null: attach@raw
        b2=null: <blob@raw>
        npy=null: <npy@raw>
        obj=null: <object@raw>
        """

    @second
    class Other(dj.Manual):
        definition = """
        id: int
        ---
        file: filepath@raw
        """

    shared = store["stage"] / "shared.bin"
    shared.write_bytes(b"used by both schemas")
    solo = store["stage"] / "solo.bin"
    solo.write_bytes(b"used by one row")
    att = store["files"] / "note.txt"
    att.write_bytes(b"attached")
    Rec.insert([
        {"id": 1, "blob": np.arange(5), "file": shared, "att": att, "b2": "keep", "npy": np.ones(2), "obj": b"o1"},
        {"id": 2, "blob": np.arange(5), "b2": "dup"},  # the same 0.14 blob as row 1: stored once
        {"id": 3, "blob": "orphan", "file": solo, "b2": "orphan too", "npy": np.zeros(3), "obj": b"o3"},
    ])
    Other.insert1({"id": 1, "file": shared})
    return {"Rec": Rec, "Other": Other, "first": first, "second": second}


def _fetch_all(rec: Any, tmp: Path) -> list[dict[str, Any]]:
    rows = rec.fetch(as_dict=True, order_by="id", download_path=tmp)
    for r in rows:
        for k in ("npy", "obj"):
            if r[k] is not None:
                r[k] = r[k].load() if k == "npy" else r[k].read()
    return rows


def test_collect_removes_orphans_and_keeps_what_rows_use(pipeline: dict[str, Any], store: dict[str, Path],
                                                        tmp_path: Path) -> None:
    rec, other = pipeline["Rec"], pipeline["Other"]
    schema = rec.database
    before = _objects(store["store"])
    nothing = collect_garbage(rec.connection, schema, min_age=0)
    assert nothing.removed == 0 and not nothing.failed and _objects(store["store"]) == before

    (rec & "id in (1, 3)").delete(safemode=False)  # row 2 still uses the 0.14 blob row 1 had
    stray = store["store"] / schema / "ab" / "cd" / ("abcd" + "0" * 28)
    stray.parent.mkdir(parents=True)
    stray.write_bytes(b"left by a crashed upload")

    dry = collect_garbage(rec.connection, schema, dry_run=True, min_age=0)
    assert _objects(store["store"]) == before | {stray.relative_to(store["store"]).as_posix()}
    assert len(dj.FreeTable(rec.connection, f"`{schema}`.`~external_raw`")) == 5  # rows untouched too
    would = set(dry.stores[0].objects)
    assert "solo.bin" in would and "shared.bin" not in would

    report = collect_garbage(rec.connection, schema, min_age=0)
    assert set(report.stores[0].objects) == would and not report.failed
    after = _objects(store["store"])
    assert "shared.bin" in after  # the other schema's row still uses it
    assert "solo.bin" not in after and stray.relative_to(store["store"]).as_posix() not in after
    assert not any(k.startswith((f"_schema/{schema}/rec/id=3", f"_schema/{schema}/rec/id=1"))
                   for k in after)
    # tracking rows of the orphan blob, the attachment and both filepaths go; shared.bin's file stays
    assert report.stores[0].tracked_rows == 4 and report.stores[0].kept_shared == 1
    rows = _fetch_all(rec, tmp_path / "dl")
    assert [r["id"] for r in rows] == [2] and np.array_equal(rows[0]["blob"], np.arange(5))
    assert rows[0]["b2"] == "dup"
    assert Path(other.fetch1("file")).read_bytes() == b"used by both schemas"
    again = collect_garbage(rec.connection, schema, min_age=0)
    assert again.removed == 0


def test_young_objects_are_kept(pipeline: dict[str, Any], store: dict[str, Path]) -> None:
    rec = pipeline["Rec"]
    (rec & {"id": 3}).delete(safemode=False)
    before = _objects(store["store"])
    report = collect_garbage(rec.connection, rec.database, min_age=3600)
    assert report.removed == 0 and report.stores[0].kept_young > 0
    assert _objects(store["store"]) == before


def test_cli_dry_run_then_collect(pipeline: dict[str, Any], store: dict[str, Path], backend: dj.Connection) -> None:
    rec = pipeline["Rec"]
    (rec & {"id": 3}).delete(safemode=False)
    before = _objects(store["store"])
    runner = CliRunner()
    saved = connection_module._default
    try:
        dry = runner.invoke(cli, ["gc", "--dry-run", "--min-age", "0", "--url", backend.url, rec.database])
        assert dry.exit_code == 0, dry.output
        assert "would remove raw:solo.bin" in dry.output and "would remove" in dry.output
        assert _objects(store["store"]) == before
        done = runner.invoke(cli, ["gc", "--store", "raw", "--min-age", "0", "-v", "--url", backend.url,
                                   rec.database])
        assert done.exit_code == 0, done.output
        assert "removed raw:solo.bin" in done.output
        assert "solo.bin" not in _objects(store["store"])
        missing = runner.invoke(cli, ["gc", "--url", backend.url, rec.database + "_nope"])
        assert missing.exit_code != 0 and "does not exist" in str(missing.exception)
    finally:
        connection_module.set_default_connection(saved)
