# ruff: noqa: F811 - the fixtures imported from compat_fixtures are parameters here
"""A MySQL schema shared by DataJoint 0.14 and labjoin, in both directions.

DataJoint -> labjoin: DataJoint declares, fills and populates; labjoin reads it through a virtual
module and through the same classes re-declared with ``import labjoin``, inserts, populates and
cascade-deletes; DataJoint then sees exactly that state. labjoin -> DataJoint: the same with the
roles swapped. Values are compared library against library (blobs, uuids, decimals, dates).
"""

from __future__ import annotations

import datetime
import decimal
import uuid
from collections.abc import Callable
from types import ModuleType, SimpleNamespace
from typing import Any

import compat_pipeline as P
import numpy as np
import pytest
from compat_fixtures import MARKS, compat_schemas, dj14, lj_mysql  # noqa: F401 - fixtures, used by name

import labjoin

pytestmark = MARKS

TABLES = ("Lab", "Subject", "Session", "Session.Trial", "SessionStats")


def table(p: Any, name: str) -> Any:
    obj = p
    for part in name.split("."):
        obj = getattr(obj, part)
    return obj


def snapshot(p: Any) -> dict[str, list[dict[str, Any]]]:
    return {name: P.rows(table(p, name)) for name in TABLES}


def same_state(a: Any, b: Any) -> None:
    sa, sb = snapshot(a), snapshot(b)
    for name in TABLES:
        P.same_rows(sa[name], sb[name], name)


def check_types(p: Any) -> None:
    """The Python types DataJoint users rely on, on rows with every column set."""
    full = [r for r in P.rows(p.Subject) if r["info"] is not None and r["weight"] is not None
            and r["birth_date"] is not None]
    assert full, "the test data should have a subject with every column set"
    r = full[0]
    assert isinstance(r["subject_uuid"], uuid.UUID)
    assert isinstance(r["weight"], decimal.Decimal)
    assert type(r["birth_date"]) is datetime.date
    assert isinstance(r["info"], dict) and isinstance(r["info"]["calib"], np.ndarray)
    s = P.rows(p.Session)[0]
    assert type(s["session_start"]) is datetime.datetime and s["session_start"].microsecond
    assert isinstance(s["trace"], np.ndarray) and s["trace"].shape == (3, 4)


def expected_stats(p: Any) -> list[dict[str, Any]]:
    """SessionStats recomputed from the trials (what either library's make must have written)."""
    out = []
    for key in p.Session.fetch("KEY", order_by=["subject_uuid", "session_start"]):
        rt = (p.Session.Trial & key).fetch("rt", order_by="trial")
        out.append(dict(key, n_trials=len(rt), mean_rt=float(np.mean(rt)),
                        hist=np.histogram(rt, bins=3, range=(0.0, 1.0))[0]))
    return out


def raw_blob(conn: labjoin.Connection, schema: str, tbl: str, col: str, key: dict[str, Any]) -> bytes:
    where = " AND ".join(f"`{k}` = %s" for k in key)
    vals = [v.bytes if isinstance(v, uuid.UUID) else v for v in key.values()]
    return bytes(conn.query(f"SELECT `{col}` FROM `{schema}`.`{tbl}` WHERE {where}", vals).fetchone()[0])


def test_datajoint_schema_used_by_labjoin(dj14: ModuleType, lj_mysql: labjoin.Connection,
                                          compat_schemas: Callable[[str], str]) -> None:
    name = compat_schemas("dj2lj")
    djp = P.declare(dj14, dj14.Schema(name))
    P.fill(djp, range(6))
    djp.SessionStats.populate()
    before = snapshot(djp)

    # a virtual module reads every table, values and types as DataJoint reads them
    vm = labjoin.VirtualModule("vm", name, connection=lj_mysql)
    assert sorted(k for k in vars(vm) if k[0].isupper()) == ["Lab", "Session", "SessionStats", "Subject"]
    for tname in TABLES:
        P.same_rows(P.rows(table(vm, tname)), before[tname], tname)
    check_types(vm)

    # the same classes re-declared with labjoin open the existing tables
    ljp = P.declare(labjoin, labjoin.Schema(name, connection=lj_mysql))
    same_state(ljp, djp)
    P.fill(ljp, range(6, 9))
    assert ljp.SessionStats.populate()["success_count"] == 6
    doomed = {"subject_uuid": P.subject_uuid(1)}
    assert len(ljp.Session & doomed) == 2
    (ljp.Subject & doomed).delete(safemode=False)

    # DataJoint sees exactly that state
    same_state(djp, ljp)
    assert len(djp.Subject()) == 8 and not (djp.Subject & doomed)
    assert not (djp.Session & doomed) and not (djp.Session.Trial & doomed) and not (djp.SessionStats & doomed)
    P.same_rows(P.rows(djp.SessionStats), expected_stats(djp), "SessionStats")
    check_types(djp)
    # labjoin's deletes follow DataJoint's events in the one ~log, and DataJoint reads them
    log = dj14.Schema(name).log.fetch(as_dict=True, order_by="id")
    assert [r["event"] for r in log[:2]] == ["created", f"Declared `{name}`.`#lab`"]
    assert log[0]["version"].endswith("py") and log[-1]["version"].endswith("lj")
    assert {r["event"].split()[2] for r in log if r["version"].endswith("lj")} == {
        f"`{name}`.`{t}`" for t in ("subject", "session", "session__trial", "__session_stats")}
    # labjoin's blobs are DataJoint's bytes, byte for byte
    for row in (djp.Session & {"subject_uuid": P.subject_uuid(7)}).fetch(as_dict=True):
        key = {k: row[k] for k in ("subject_uuid", "session_start")}
        assert raw_blob(lj_mysql, name, "session", "trace", key) == dj14.blob.pack(row["trace"])
        assert raw_blob(lj_mysql, name, "session", "meta", key) == dj14.blob.pack(row["meta"])


def test_labjoin_schema_used_by_datajoint(dj14: ModuleType, lj_mysql: labjoin.Connection,
                                          compat_schemas: Callable[[str], str]) -> None:
    name = compat_schemas("lj2dj")
    ljp = P.declare(labjoin, labjoin.Schema(name, connection=lj_mysql))
    P.fill(ljp, range(6))
    assert ljp.SessionStats.populate(reserve_jobs=True)["success_count"] == 12
    before = snapshot(ljp)

    vm = dj14.VirtualModule("vm", name)
    for tname in TABLES:
        P.same_rows(P.rows(table(vm, tname)), before[tname], tname)
    check_types(vm)
    for row in P.rows(vm.Session)[:3]:  # DataJoint packs what labjoin wrote to the same bytes
        key = {k: row[k] for k in ("subject_uuid", "session_start")}
        assert raw_blob(lj_mysql, name, "session", "trace", key) == dj14.blob.pack(row["trace"])

    djp = P.declare(dj14, dj14.Schema(name))
    P.fill(djp, range(6, 9))
    djp.SessionStats.populate(reserve_jobs=True)
    doomed = {"subject_uuid": P.subject_uuid(2)}
    (djp.Subject & doomed).delete()

    ljp2 = P.declare(labjoin, labjoin.Schema(name, connection=labjoin.Connection(lj_mysql.url)))
    same_state(ljp2, djp)
    assert len(ljp2.Subject()) == 8 and not (ljp2.Session & doomed) and not (ljp2.Session.Trial & doomed)
    P.same_rows(P.rows(ljp2.SessionStats), expected_stats(ljp2), "SessionStats")
    check_types(ljp2)


def _show_create(conn: labjoin.Connection, schema: str) -> dict[str, str]:
    import re

    out = {}
    for (t,) in conn.query(f"SHOW TABLES FROM `{schema}`").fetchall():
        text = conn.query(f"SHOW CREATE TABLE `{schema}`.`{t}`").fetchone()[1]
        out[t] = re.sub(r" AUTO_INCREMENT=\d+", "", text).replace(schema, "<schema>")
    return out


def test_same_tables_same_descriptions(dj14: ModuleType, lj_mysql: labjoin.Connection,
                                       compat_schemas: Callable[[str], str]) -> None:
    """Declared by either library, the tables are the same DDL and describe themselves the same."""
    dj_name, lj_name = compat_schemas("ddl_dj"), compat_schemas("ddl_lj")
    djp = P.declare(dj14, dj14.Schema(dj_name))
    ljp = P.declare(labjoin, labjoin.Schema(lj_name, connection=lj_mysql))
    djp.SessionStats.populate(reserve_jobs=True)
    dj14.Schema(dj_name).jobs.reserve("__session_stats", {"k": 1})  # DataJoint makes ~jobs on first use
    ljp.SessionStats.populate(reserve_jobs=True)
    ljp.SessionStats.jobs.reserve("__session_stats", {"k": 1})
    dj_ddl, lj_ddl = _show_create(lj_mysql, dj_name), _show_create(lj_mysql, lj_name)
    assert sorted(dj_ddl) == sorted(lj_ddl) == ["#lab", "__session_stats", "session", "session__trial",
                                                "subject", "~jobs", "~log"]
    for t in dj_ddl:
        assert lj_ddl[t] == dj_ddl[t], t
    # the same events in ~log, and DataJoint reads labjoin's
    dj_log = dj14.Schema(dj_name).log.fetch("event", order_by="id")
    lj_log = dj14.Schema(lj_name).log.fetch("event", order_by="id")
    assert [e.replace(lj_name, "<s>") for e in lj_log] == [e.replace(dj_name, "<s>") for e in dj_log]
    assert list(lj_log[:2]) == ["created", f"Declared `{lj_name}`.`#lab`"]
    dj_vms = [dj14.VirtualModule(f"v{k}", n) for k, n in enumerate((dj_name, lj_name))]
    lj_vms = [labjoin.VirtualModule(f"v{k}", n, connection=lj_mysql) for k, n in enumerate((dj_name, lj_name))]
    for tname in TABLES:
        dj_texts = [table(vm, tname).describe(printout=False) for vm in dj_vms]
        lj_texts = [table(vm, tname).describe() for vm in lj_vms]
        assert dj_texts[0] == dj_texts[1], tname
        assert lj_texts[0] == lj_texts[1], tname
        # labjoin's describe reads back as the definition (DataJoint pads columns and names the module)
        assert lj_texts[0].split() == _normalized_dj_describe(dj_texts[0]).split(), tname


def test_jobs_table_comment(dj14: ModuleType, lj_mysql: labjoin.Connection,
                            compat_schemas: Callable[[str], str]) -> None:
    """``~jobs`` made by either library on first use is the same table, comment included."""
    dj_name, lj_name = compat_schemas("jobs_dj"), compat_schemas("jobs_lj")
    dj14.Schema(dj_name).jobs.reserve("x", {"k": 1})
    labjoin.Schema(lj_name, connection=lj_mysql).jobs.reserve("x", {"k": 1})
    assert _show_create(lj_mysql, lj_name)["~jobs"] == _show_create(lj_mysql, dj_name)["~jobs"]


def _normalized_dj_describe(text: str) -> str:
    import re

    text = re.sub(r"-> (\[nullable\] )?\w+\.", r"-> \1", text)
    text = re.sub(r"\s+:\s+", ": ", text)
    return text


def test_jobs_shared_by_both_workers(dj14: ModuleType, lj_mysql: labjoin.Connection,
                                     compat_schemas: Callable[[str], str]) -> None:
    """An error job written by either library is read, and respected, by the other."""
    name = compat_schemas("jobs")
    ljp = P.declare(labjoin, labjoin.Schema(name, connection=lj_mysql))
    P.fill(ljp, range(2))
    djp = P.declare(dj14, dj14.Schema(name))
    keys = ljp.Session.fetch("KEY", order_by=["subject_uuid", "session_start"])
    ljp.SessionStats.jobs.error("__session_stats", keys[0], "ValueError: labjoin failed", "stack")
    dj_jobs = dj14.Schema(name).jobs
    job = (dj_jobs & {"status": "error"}).fetch1()
    P.same(job["key"], {k: keys[0][k] for k in keys[0]}, "key")
    assert job["error_message"] == "ValueError: labjoin failed" and job["user"].startswith("root@")
    # DataJoint's worker skips the key labjoin marked as failed
    djp.SessionStats.populate(reserve_jobs=True)
    assert len(djp.SessionStats()) == len(keys) - 1
    dj_jobs.error("__session_stats", keys[1], "KeyError: datajoint failed", "stack")
    err = (ljp.SessionStats.jobs & {"key_hash": labjoin_key_hash(keys[1])}).fetch1()
    assert err["status"] == "error" and err["error_message"] == "KeyError: datajoint failed"
    P.same(err["key"], dict(keys[1]), "key")


def labjoin_key_hash(key: dict[str, Any]) -> str:
    from labjoin.populate.jobs import key_hash

    return key_hash(key)


@pytest.fixture
def both(dj14: ModuleType, lj_mysql: labjoin.Connection,
         compat_schemas: Callable[[str], str]) -> tuple[SimpleNamespace, SimpleNamespace]:
    name = compat_schemas("both")
    ljp = P.declare(labjoin, labjoin.Schema(name, connection=lj_mysql))
    return ljp, P.declare(dj14, dj14.Schema(name))


def test_restrictions_agree(both: tuple[SimpleNamespace, SimpleNamespace]) -> None:
    """The same restrictions select the same rows, whichever library inserted them."""
    ljp, djp = both
    P.fill(ljp, range(4))
    P.fill(djp, range(4, 8))
    for cond in ({"sex": "m"}, 'nickname LIKE "mouse1%"', "weight > 22", "birth_date IS NULL",
                 {"subject_uuid": P.subject_uuid(5)}, [{"lab": "cortexlab"}, {"sex": "F"}]):
        a = (ljp.Subject & cond).fetch("KEY", order_by="subject_uuid")
        b = (djp.Subject & cond).fetch("KEY", order_by="subject_uuid")
        P.same_rows(a, b, f"Subject & {cond!r}")
    a = (ljp.Session * ljp.Subject & {"sex": "F"}).fetch("KEY", order_by=["subject_uuid", "session_start"])
    b = (djp.Session * djp.Subject & {"sex": "F"}).fetch("KEY", order_by=["subject_uuid", "session_start"])
    P.same_rows(a, b, "Session * Subject")


# DataJoint 0.14 reads MariaDB's json (a checked longtext) as text and bool (tinyint(1)) as 0/1;
# labjoin decodes them as dict and bool. The values agree; the Python types differ by design.
_TYPED_APART = ("t_json", "t_bool")


def test_every_type_both_ways(dj14: ModuleType, lj_mysql: labjoin.Connection,
                              compat_schemas: Callable[[str], str]) -> None:
    """Every 0.14 type: same DDL from either library; rows written by one read equal by the other."""
    import json

    dj_name, lj_name = compat_schemas("types_dj"), compat_schemas("types_lj")
    djt = P.declare_types(dj14, dj14.Schema(dj_name))
    ljt = P.declare_types(labjoin, labjoin.Schema(lj_name, connection=lj_mysql))
    assert _show_create(lj_mysql, dj_name) == _show_create(lj_mysql, lj_name)
    lj_on_dj = P.declare_types(labjoin, labjoin.Schema(dj_name, connection=lj_mysql))
    dj_on_lj = P.declare_types(dj14, dj14.Schema(lj_name))
    for writer, reader, start in ((djt, lj_on_dj, 0), (ljt, dj_on_lj, 10)):
        writer.Parent.insert([(0, "p0", "it's"), (1, "p1", '"q"')])
        rows = [P.everything_row(start + k) for k in range(3)]
        if writer is djt:  # DataJoint 0.14 takes MariaDB's json for text
            rows = [dict(r, t_json=json.dumps(r["t_json"])) for r in rows]
        writer.Everything.insert(rows)
        writer.Child.insert1(dict(eid=start + 1, pid=0, pname="p0"))
        a, b = P.rows(writer.Everything), P.rows(reader.Everything)
        for x, y in zip(a, b):
            for k in _TYPED_APART:
                assert x.pop(k) == y.pop(k) or k == "t_json"
        P.same_rows(a, b, "Everything")
        P.same_rows(P.rows(writer.Parent), P.rows(reader.Parent), "Parent")
        P.same_rows(P.rows(writer.Child), P.rows(reader.Child), "Child")
    # json: labjoin decodes what DataJoint wrote; DataJoint reads labjoin's as the same JSON text
    assert (lj_on_dj.Everything & {"eid": 2}).fetch1("t_json") == {"a": [1, 2], "i": 1}
    assert json.loads((dj_on_lj.Everything & {"eid": 12}).fetch1("t_json")) == {"a": [1, 2], "i": 11}
    assert (ljt.Everything & {"eid": 12}).fetch1("t_bool") is True
