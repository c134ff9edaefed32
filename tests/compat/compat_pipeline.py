"""One small pipeline, declared by either library: ``declare(datajoint, schema)`` or ``declare(labjoin, schema)``.

The same class bodies run on both, which is the point: DataJoint code runs on labjoin unchanged.
It covers what issue #2 names for the interoperability tests: a Lookup with contents, a Manual
table with uuid, enum, decimal, date, datetime, a nullable foreign key and blobs (NumPy arrays and
dicts), a master with a Part, and a Computed table.
"""

from __future__ import annotations

import datetime
import decimal
import uuid
from types import ModuleType, SimpleNamespace
from typing import Any

import numpy as np

LAB_CONTENTS = [("cortexlab", "UCL"), ("hippolab", "MIT")]


def declare(dj: ModuleType, schema: Any) -> SimpleNamespace:
    """Declare the pipeline's classes with ``dj`` (the datajoint or the labjoin module) in ``schema``."""

    @schema
    class Lab(dj.Lookup):
        definition = """
        # a laboratory
        lab: varchar(32)
        ---
        institution: varchar(64)
        """
        contents = LAB_CONTENTS

    @schema
    class Subject(dj.Manual):
        definition = """
        # a mouse
        subject_uuid: uuid
        ---
        nickname: varchar(64)
        sex: enum("M", "F", "U")
        birth_date=null: date
        -> [nullable] Lab
        weight=null: decimal(6,2)   # grams
        info=null: longblob          # anything
        """

    @schema
    class Session(dj.Manual):
        definition = """
        -> Subject
        session_start: datetime(3)
        ---
        trace: longblob
        meta: blob
        """

        class Trial(dj.Part):
            definition = """
            -> master
            trial: int unsigned
            ---
            rt: double
            choice: enum("L", "R")
            """

    @schema
    class SessionStats(dj.Computed):
        definition = """
        # summary of a session's trials
        -> Session
        ---
        n_trials: int
        mean_rt: double
        hist: longblob
        """

        def make(self, key: dict[str, Any]) -> None:
            rt = (Session.Trial & key).fetch("rt", order_by="trial")
            self.insert1(dict(key, n_trials=len(rt), mean_rt=float(np.mean(rt)) if len(rt) else 0.0,
                              hist=np.histogram(rt, bins=3, range=(0.0, 1.0))[0]))

    return SimpleNamespace(Lab=Lab, Subject=Subject, Session=Session, SessionStats=SessionStats)


def declare_types(dj: ModuleType, schema: Any) -> SimpleNamespace:
    """Tables with every DataJoint 0.14 type, defaults, indexes and renamed/unique foreign keys."""
    @schema
    class Parent(dj.Manual):
        definition = """
        # parent
        pid: smallint unsigned
        pname: char(8)
        ---
        note="": varchar(255)   # with 'quotes' and "double"
        """

    @schema
    class Everything(dj.Manual):
        definition = """
        # every type
        eid: int auto_increment
        ---
        -> [nullable] Parent.proj(parent_id='pid', parent_name='pname')
        t_tiny: tinyint
        t_utiny=3: tinyint unsigned
        t_small=-1: smallint
        t_medium=null: mediumint
        t_big=null: bigint unsigned
        t_float=1.5: float
        t_double=null: double
        t_dec=0.00: decimal(8,3) unsigned
        t_bool=1: bool
        t_char="ab": char(2)
        t_varchar="x y": varchar(100)
        t_enum="b": enum('a', 'b', 'c d')
        t_date=null: date
        t_time=null: time
        t_dt=CURRENT_TIMESTAMP: datetime(6)
        t_ts=CURRENT_TIMESTAMP: timestamp
        t_uuid=null: uuid
        t_json=null: json
        t_blob=null: blob
        t_mblob=null: mediumblob
        t_lblob=null: longblob
        t_tblob=null: tinyblob
        t_year=null: year
        index(t_tiny, t_small)
        unique index(t_varchar)
        """

    @schema
    class Child(dj.Manual):
        definition = """
        -> Everything
        -> [unique] Parent
        """
    return SimpleNamespace(Parent=Parent, Everything=Everything, Child=Child)


def everything_row(i: int) -> dict[str, Any]:
    """A row of ``Everything`` with every attribute set (``i`` varies the values)."""
    return dict(
        eid=i + 1, parent_id=i % 2, parent_name=f"p{i % 2}", t_tiny=-5 - i, t_utiny=200 + i, t_small=-300,
        t_medium=70000 + i, t_big=2**63 + i, t_float=0.25 * i, t_double=1e-300, t_dec=decimal.Decimal(f"{i}2.345"),
        t_bool=bool(i % 2), t_char="xy", t_varchar=f"héllo wörld {i}", t_enum="c d", t_date=datetime.date(2024, 2, 29),
        t_time=datetime.timedelta(hours=5, minutes=3, seconds=i), t_dt=datetime.datetime(2024, 1, 2, 3, 4, 5, 678901),
        t_ts=datetime.datetime(2024, 1, 2, 3, 4, 5), t_uuid=uuid.UUID(int=i + 7), t_json={"a": [1, 2], "i": i},
        t_blob=np.eye(3) * i, t_mblob={"x": np.array([1, 2], dtype=np.uint8)}, t_lblob=[1, "two", 3.0],
        t_tblob=np.int32(i), t_year=2024,
    )


def subject_uuid(i: int) -> uuid.UUID:
    return uuid.UUID(int=0x5EB1EC7 * 10**6 + i)


def subject_rows(ids: range) -> list[dict[str, Any]]:
    rows = []
    for i in ids:
        rows.append(dict(
            subject_uuid=subject_uuid(i), nickname=f"mouse{i}", sex="MFU"[i % 3],
            birth_date=datetime.date(2020, 1 + i % 12, 1 + i % 28) if i % 4 else None,
            lab=LAB_CONTENTS[i % 2][0] if i % 5 else None,
            weight=decimal.Decimal(f"{20 + i}.{i % 100:02d}") if i % 3 else None,
            info={"cage": i, "tags": ["a", "b"], "calib": np.arange(i + 1, dtype=np.float32)} if i % 2 else None,
        ))
    return rows


def session_rows(ids: range, per_subject: int = 2) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(sessions, trials) for the subjects ``ids``."""
    sessions, trials = [], []
    for i in ids:
        for s in range(per_subject):
            key = dict(subject_uuid=subject_uuid(i),
                       session_start=datetime.datetime(2021, 3, 1 + s, 9, i % 60, 7, 123000 * (s + 1)))
            rng = np.random.default_rng(i * 10 + s)
            sessions.append(dict(key, trace=rng.normal(size=(3, 4 + s)),
                                 meta={"rig": f"rig{s}", "gain": np.int16(3 + s), "ok": bool(s)}))
            for t in range(3 + s):
                trials.append(dict(key, trial=t, rt=round(float(rng.uniform(0.1, 0.9)), 6), choice="LR"[t % 2]))
    return sessions, trials


def fill(p: SimpleNamespace, ids: range) -> None:
    """Insert subjects, sessions and trials for ``ids``."""
    sessions, trials = session_rows(ids)
    p.Subject.insert(subject_rows(ids))
    p.Session.insert(sessions)
    p.Session.Trial.insert(trials)


def same(a: Any, b: Any, where: str = "value") -> None:
    """Assert that two fetched values are equal, types included (arrays, dicts and lists deeply)."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        assert isinstance(a, np.ndarray) and isinstance(b, np.ndarray), f"{where}: {type(a)} vs {type(b)}"
        assert a.dtype == b.dtype and a.shape == b.shape, f"{where}: {a.dtype}{a.shape} vs {b.dtype}{b.shape}"
        if a.dtype.kind == "O":
            for k, (x, y) in enumerate(zip(a.ravel(), b.ravel())):
                same(x, y, f"{where}[{k}]")
        else:
            assert np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"), f"{where}: {a!r} vs {b!r}"
        return
    assert type(a) is type(b), f"{where}: {type(a).__name__} {a!r} vs {type(b).__name__} {b!r}"
    if isinstance(a, dict):
        assert list(a) == list(b), f"{where}: keys {list(a)} vs {list(b)}"
        for k in a:
            same(a[k], b[k], f"{where}[{k!r}]")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), f"{where}: length {len(a)} vs {len(b)}"
        for k, (x, y) in enumerate(zip(a, b)):
            same(x, y, f"{where}[{k}]")
    else:
        assert a == b, f"{where}: {a!r} vs {b!r}"


def same_rows(a: list[dict[str, Any]], b: list[dict[str, Any]], table: str) -> None:
    assert len(a) == len(b), f"{table}: {len(a)} rows vs {len(b)}"
    for k, (x, y) in enumerate(zip(a, b)):
        same(x, y, f"{table} row {k}")


def rows(table: Any) -> list[dict[str, Any]]:
    """All rows of ``table`` as dicts, in primary-key order (either library)."""
    return list(table.fetch(as_dict=True, order_by=list(table.primary_key)))
