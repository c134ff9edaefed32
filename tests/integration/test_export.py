"""dj.export / dj.import_: restricted subgraphs travel between backends as one SQLite file."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from tools_servers import server as _server

import labjoin as dj
from labjoin import errors
from labjoin.export import bundle_info, externals
from labjoin.sql import catalog

pytestmark = pytest.mark.backends


@pytest.fixture
def schema_name() -> str:
    return f"tools_exp_{uuid.uuid4().hex[:8]}"


def pipeline(schema: dj.Schema, other: dj.Schema) -> SimpleNamespace:
    @other
    class Species(dj.Lookup):
        definition = """
        species: varchar(20)
        """
        contents = [("mouse",), ("rat",)]

    ctx = {"Species": Species}

    @schema(context=ctx)
    class Lab(dj.Lookup):
        definition = """
        lab: varchar(16)
        ---
        city: varchar(32)
        """
        contents = [("cortex", "London"), ("witten", "Princeton"), ("unused", "Nowhere")]

    @schema(context=ctx)
    class Subject(dj.Manual):
        definition = """
        subject: uuid
        ---
        -> Lab
        -> Species
        -> [nullable] Lab.proj(previous_lab='lab')
        sex: enum("M", "F")
        birth=null: date
        info=null: json
        """

    @schema(context=ctx)
    class Session(dj.Manual):
        definition = """
        -> Subject
        start: datetime(3)
        ---
        weight: decimal(6,2)
        good=1: bool
        raw=null: bytes
        """

        class Trial(dj.Part):
            definition = """
            -> master
            trial: int
            ---
            data: longblob
            """

    @schema(context=ctx)
    class Stat(dj.Computed):
        definition = """
        -> Session
        ---
        mean: double
        summary: longblob
        """

        def make(self, key):
            data = (Session.Trial & key).fetch("data")
            self.insert1(dict(key, mean=float(np.mean([d.mean() for d in data])),
                              summary={"n": len(data), "first": data[0]}))

    rng = np.random.default_rng(1)
    subjects = [uuid.UUID(int=i + 1) for i in range(3)]
    Subject.insert([
        dict(subject=subjects[0], lab="cortex", species="mouse", previous_lab="witten", sex="M",
             birth=dt.date(2024, 1, 2), info={"tag": [1, 2]}),
        dict(subject=subjects[1], lab="witten", species="rat", sex="F"),
        dict(subject=subjects[2], lab="cortex", species="mouse", sex="F"),
    ])
    for i, s in enumerate(subjects):
        for j in range(2):
            start = dt.datetime(2025, 3, 1 + j, 9, 30, 0, 250000)
            Session.insert1(dict(subject=s, start=start, weight=f"{20 + i}.25", raw=bytes([i, j, 0, 255])))
            Session.Trial.insert([dict(subject=s, start=start, trial=k, data=rng.normal(size=(k + 1, 3)))
                                  for k in range(3)])
    Stat.populate()
    return SimpleNamespace(Species=Species, Lab=Lab, Subject=Subject, Session=Session, Stat=Stat,
                           subjects=subjects, names=(schema.database, other.database))


@pytest.fixture
def mysql_pipeline(schema_name: str) -> Iterator[SimpleNamespace]:
    conn = _server("mysql")
    made = [dj.Schema(schema_name + "_sp", connection=conn), dj.Schema(schema_name, connection=conn)]
    try:
        yield pipeline(made[1], made[0])
    finally:
        for s in reversed(made):
            s.drop(force=True)
        conn.close()


def counts(conn: dj.Connection, schemas: tuple[str, ...]) -> dict[str, int]:
    out = {}
    for s in schemas:
        for t in catalog.load_schema(conn, s, refresh=True):
            if not t.startswith("~"):
                out[f"{s}.{t}"] = int(conn.query(f"SELECT count(*) FROM {conn.backend.qtable(s, t)}").fetchone()[0])
    return out


def raw_column(conn: dj.Connection, schema: str, table: str, col: str, order: list[str],
               where: str = "", params: tuple = ()) -> list[bytes]:
    """The stored bytes of a blob column, exactly as the database holds them."""
    b = conn.backend
    sql = (f"SELECT {b.qident(col)} FROM {b.qtable(schema, table)} {where} ORDER BY "
           + ", ".join(b.qident(c) for c in order))
    return [bytes(r[0]) for r in conn.query(sql, params).fetchall()]


def test_mysql_to_sqlite_and_postgresql(mysql_pipeline, tmp_path) -> None:
    p = mysql_pipeline
    name, species = p.names
    key = {"subject": p.subjects[0]}
    path = tmp_path / "session.sqlite"
    report = dj.export(p.Session & key, path)
    expected = {f"{species}.#species": 1, f"{name}.#lab": 2, f"{name}.subject": 1, f"{name}.session": 2}
    assert {k: v for k, v in report.rows.items() if v} == expected  # both labs: lab and previous_lab
    report = dj.export(p.Session & key, path, downstream=True, overwrite=True)
    expected.update({f"{name}.session__trial": 6, f"{name}.__stat": 2})
    assert {k: v for k, v in report.rows.items() if v} == expected
    info = bundle_info(str(path))
    assert info["format"] == "labjoin-bundle-1" and info["downstream"] == "true"
    source_trials = (p.Session.Trial & key).fetch(order_by=["start", "trial"], as_dict=True)
    source_stats = (p.Stat & key).fetch(order_by=["start"], as_dict=True)
    source_raw = raw_column(p.Session.Trial.connection, name, "session__trial", "data", ["start", "trial"],
                            "WHERE subject = %s", (p.subjects[0].bytes,))
    assert len(source_raw) == 6
    for target_name in ("sqlite", "postgresql"):
        target = (dj.Connection(f"sqlite:///{tmp_path}/target.sqlite") if target_name == "sqlite"
                  else _server("postgresql"))
        try:
            result = dj.import_(path, connection=target)
            assert sorted(result.declared) == sorted(expected)  # every table of the bundle was new
            assert {k: v for k, v in counts(target, p.names).items() if v} == expected
            assert sum(result.inserted.values()) == sum(expected.values())
            vm = dj.VirtualModule("imported", name, connection=target)
            trials = (vm.Session.Trial & key).fetch(order_by=["start", "trial"], as_dict=True)
            assert len(trials) == len(source_trials) == 6
            for got, want in zip(trials, source_trials):
                assert got["start"] == want["start"] and got["trial"] == want["trial"]
                assert np.array_equal(got["data"], want["data"])
            assert raw_column(target, name, "session__trial", "data", ["start", "trial"]) == source_raw
            stats = (vm.Stat & key).fetch(order_by=["start"], as_dict=True)
            for got, want in zip(stats, source_stats):
                assert got["mean"] == want["mean"] and got["summary"]["n"] == want["summary"]["n"]
                assert np.array_equal(got["summary"]["first"], want["summary"]["first"])
            subject = (vm.Subject & key).fetch1()
            assert subject["info"] == {"tag": [1, 2]} and subject["birth"] == dt.date(2024, 1, 2)
            assert subject["previous_lab"] == "witten"
            sessions = (vm.Session & key).fetch(order_by=["start"], as_dict=True)
            assert [s["weight"] for s in sessions] == [(p.Session & key).fetch("weight")[0]] * 2
            assert [s["raw"] for s in sessions] == [bytes([0, 0, 0, 255]), bytes([0, 1, 0, 255])]
            assert all(s["good"] is True for s in sessions)
            again = dj.import_(path, connection=target)  # rows that exist are skipped
            assert sum(again.inserted.values()) == 0 and sum(again.skipped.values()) == sum(expected.values())
            assert again.declared == []
            with pytest.raises(errors.IntegrityError):  # the foreign keys came along
                vm.Session.insert1(dict(subject=uuid.UUID(int=99), start=dt.datetime(2025, 1, 1), weight=1))
        finally:
            for s in reversed(p.names):
                dj.Schema(s, connection=target).drop(force=True)
            target.close()


def test_bundle_is_a_labjoin_database(mysql_pipeline, tmp_path) -> None:
    p = mysql_pipeline
    name, species = p.names
    path = tmp_path / "b.sqlite"
    dj.export([p.Subject & {"subject": p.subjects[1]}], path, downstream=True)
    bundle = dj.Connection(f"sqlite:///{path}")
    try:
        assert set(dj.list_schemas(bundle)) >= {name, species}
        vm = dj.VirtualModule("b", name, connection=bundle)
        assert vm.Lab.tier == "Lookup" and vm.Subject.tier == "Manual"
        assert vm.Session.Trial.tier == "Part" and vm.Stat.tier == "Computed"
        assert len(vm.Subject) == 1 and vm.Lab.fetch("lab").tolist() == ["witten"]
        assert len(vm.Session) == 2 and len(vm.Session.Trial) == 6 and len(vm.Stat) == 2
        assert vm.Subject.heading["subject"].is_uuid
        assert "-> Lab" in vm.Subject.describe()
        assert bundle.query("PRAGMA foreign_keys").fetchone()[0] == 1
        assert bundle.query("PRAGMA foreign_key_check").fetchall() == []
    finally:
        bundle.close()


def test_export_of_a_join_exports_each_table(mysql_pipeline, tmp_path) -> None:
    p = mysql_pipeline
    name, _ = p.names
    query = (p.Subject * p.Session) & "sex = 'F'"
    report = dj.export(query, tmp_path / "j.sqlite")
    assert report.rows[f"{name}.subject"] == 2 and report.rows[f"{name}.session"] == 4
    assert f"{name}.session__trial" not in report.rows  # not downstream: not in the bundle


def test_export_refuses_to_overwrite_and_leaves_no_partial_file(mysql_pipeline, tmp_path) -> None:
    p = mysql_pipeline
    path = tmp_path / "x.sqlite"
    path.write_text("keep me")
    with pytest.raises(errors.DataJointError, match="overwrite=True"):
        dj.export(p.Subject, path)
    assert path.read_text() == "keep me"
    with pytest.raises(errors.DataJointError):
        dj.export(42, tmp_path / "y.sqlite")
    assert not (tmp_path / "y.sqlite").exists()


def test_import_refuses_incompatible_tables(backend, make_schema, tmp_path) -> None:
    schema = make_schema()

    @schema
    class Thing(dj.Manual):
        definition = """
        thing: int
        ---
        label: varchar(10)
        """

    Thing.insert1((1, "a"))
    path = tmp_path / "t.sqlite"
    dj.export(Thing, path)
    Thing.drop_quick()
    catalog.invalidate(backend)

    @schema
    class Thing(dj.Manual):  # the same table, declared differently
        definition = """
        thing: int
        ---
        other: varchar(10)
        """

    with pytest.raises(errors.MigrationError, match="label"):
        dj.import_(path, connection=backend)


def test_roundtrip_from_every_backend(backend, make_schema, tmp_path) -> None:
    schema = make_schema()

    @schema
    class Item(dj.Manual):
        definition = """
        item: int auto_increment
        ---
        name: varchar(20)
        blob=null: longblob
        """

        class Piece(dj.Part):
            definition = """
            -> master
            piece: smallint
            """

    Item.insert([dict(name="a", blob=np.arange(4)), dict(name="b")])
    first = Item.fetch("item", order_by="item")[0]
    Item.Piece.insert([(first, 1), (first, 2)])
    path = tmp_path / "i.sqlite"
    report = dj.export(Item & {"item": first}, path, downstream=True)
    assert report.total == 3
    target = dj.Connection(f"sqlite:///{tmp_path}/copy.sqlite")
    dj.import_(path, connection=target)
    vm = dj.VirtualModule("copy", schema.database, connection=target)
    assert np.array_equal(vm.Item.fetch1("blob"), np.arange(4))
    assert len(vm.Item.Piece) == 2
    target.close()
    # back into the source backend, after the schema is gone
    schema.drop(force=True)
    dj.import_(path, connection=backend)
    vm = dj.VirtualModule("back", schema.database, connection=backend)
    assert vm.Item.fetch1("name") == "a" and len(vm.Item.Piece) == 2
    vm.Item.insert1(dict(name="new"))  # auto_increment continues after the imported key
    assert len(vm.Item) == 2


def test_which_store_backed_attributes_a_bundle_carries() -> None:
    from labjoin.definition import parse_type
    from labjoin.heading.heading import Attribute, Heading

    key = Attribute("id", parse_type("int"), in_key=True)
    tracked = Heading([key, Attribute("x", parse_type("blob@raw"))])
    assert isinstance(externals.handler(tracked, "`s`.`t`", "mysql"), externals.TrackedObjects)
    codec = Heading([key, Attribute("y", parse_type("<blob@raw>"))])
    with pytest.raises(errors.UnsupportedOperation, match="store-backed attribute `y`"):
        externals.handler(codec, "`s`.`t`", "mysql")

    class Recorder:
        def export_objects(self, *args):
            pass

        def import_objects(self, *args):
            pass

    recorder = Recorder()
    externals.register(recorder)
    try:
        assert externals.handler(codec, "`s`.`t`", "mysql") is recorder
    finally:
        externals.register(None)
    assert externals.handler(Heading([key]), "`s`.`t`", "mysql") is None


def test_store_objects_travel_in_the_bundle(schema_name, tmp_path) -> None:
    source_store, target_store = tmp_path / "source-store", tmp_path / "target-store"
    source_store.mkdir()
    target_store.mkdir()
    attachment = tmp_path / "notes.txt"
    attachment.write_bytes(b"field notes")
    conn = _server("mysql")
    with dj.config(stores={"raw": {"protocol": "file", "location": str(source_store)}}):
        schema = dj.Schema(schema_name, connection=conn)
        try:
            @schema
            class Scan(dj.Manual):
                definition = """
                scan: int
                ---
                image: blob@raw
                notes=null: attach@raw
                """

            Scan.insert([dict(scan=1, image=np.arange(10.0), notes=str(attachment)),
                         dict(scan=2, image={"a": np.eye(2)})])
            path = tmp_path / "scans.sqlite"
            dj.export(Scan & "scan=1", path)
        finally:
            schema.drop(force=True)
            conn.close()
    for target_name in ("sqlite", "postgresql"):
        target = (dj.Connection(f"sqlite:///{tmp_path}/t.sqlite") if target_name == "sqlite"
                  else _server("postgresql"))
        store = target_store / target_name
        store.mkdir()
        with dj.config(stores={"raw": {"protocol": "file", "location": str(store)}}):
            try:
                dj.import_(path, connection=target)
                vm = dj.VirtualModule("scans", schema_name, connection=target)
                assert len(vm.Scan) == 1
                got = vm.Scan.fetch1(download_path=str(tmp_path / f"dl-{target_name}"))
                assert np.array_equal(got["image"], np.arange(10.0))
                assert Path(got["notes"]).read_bytes() == b"field notes"
                assert sum(1 for p in store.rglob("*") if p.is_file()) == 2  # the blob and the attachment
                assert len(dj.Schema(schema_name, connection=target).external["raw"]) == 2
                dj.import_(path, connection=target)  # again: nothing new, nothing broken
                assert len(vm.Scan) == 1
            finally:
                dj.Schema(schema_name, connection=target).drop(force=True)
                target.close()
