"""The query algebra on every backend: each operator and expression gives the same rows on SQLite,
PostgreSQL and MySQL/MariaDB.

One lab pipeline over two schemas is declared and filled once per backend (module scope); every
test only reads it. Expected rows are computed in Python from the inserted data (the constants
below), so "the same on every backend" means "equal to the same Python answer on each".
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import algebra_ref as R
import numpy as np
import pytest

import labjoin as dj
from labjoin import errors

LABS = [("cortex", "UCL"), ("witten", "Princeton"), ("empty", "Nowhere")]
SUBJECTS = [  # subject_id, lab, sex, weight, birth_date
    (1, "cortex", "M", 20, dt.date(2020, 1, 1)),
    (2, "witten", "F", None, None),
    (3, None, "U", 25, dt.date(2020, 3, 1)),
    (4, "cortex", "F", 22, dt.date(2019, 12, 31)),
]
SESSIONS = [  # subject_id, session, session_date, rig
    (1, 1, dt.date(2021, 1, 1), 1),
    (1, 2, dt.date(2021, 1, 2), None),
    (2, 1, dt.date(2021, 2, 1), 2),
    (3, 1, dt.date(2021, 3, 1), 1),
]
TRIALS = [  # subject_id, session, trial, choice, rt, outcome
    (1, 1, 1, 1, 0.5, "hit"), (1, 1, 2, 0, 0.25, "miss"), (1, 1, 3, 1, None, "hit"), (1, 1, 4, 1, 1.5, "hit"),
    (1, 2, 1, 0, 0.75, "miss"), (1, 2, 2, 1, 0.5, "hit"),
    (2, 1, 1, 1, 2.0, "hit"), (2, 1, 2, 0, 0.5, "miss"), (2, 1, 3, 0, 1.0, "miss"),
]
IMAGES = [(1, 1, np.arange(6.0).reshape(2, 3), "first"), (2, 1, np.ones(4), "second")]
SCANS = [(1, 1, 1, 100), (1, 1, 2, 200), (2, 1, 1, 150)]  # subject_id, session, scan, depth
ANIMALS = [(1, "a"), (2, "b"), (9, "z")]  # subject_id (a native key of its own), nickname


def declare(a: dj.Schema, b: dj.Schema) -> SimpleNamespace:
    @a
    class Lab(dj.Lookup):
        definition = """
        lab: varchar(16)
        ---
        institution: varchar(32)
        """
        contents = LABS

    @a
    class Subject(dj.Manual):
        definition = """
        subject_id: int
        ---
        -> [nullable] Lab
        sex: enum('M', 'F', 'U')
        weight=null: int
        birth_date=null: date
        """

    @a
    class Session(dj.Manual):
        definition = """
        -> Subject
        session: int
        ---
        session_date: date
        rig=null: int
        """

        class Trial(dj.Part):
            definition = """
            -> master
            trial: int
            ---
            choice: tinyint
            rt=null: double
            outcome: varchar(8)
            """

    @a
    class Image(dj.Manual):
        definition = """
        -> Session
        ---
        image: longblob
        notes: varchar(32)
        """

    @b(context={"Session": Session})
    class Scan(dj.Manual):
        definition = """
        -> Session
        scan: int
        ---
        depth: int
        """

    @b
    class Animal(dj.Manual):
        definition = """
        subject_id: int
        ---
        nickname: varchar(16)
        """

    ns = SimpleNamespace(Lab=Lab, Subject=Subject, Session=Session, Trial=Session.Trial, Image=Image,
                         Scan=Scan, Animal=Animal)
    Subject.insert(SUBJECTS)
    Session.insert(SESSIONS)
    Session.Trial.insert(TRIALS)
    Image.insert(IMAGES)
    Scan.insert(SCANS)
    Animal.insert(ANIMALS)
    return ns


@pytest.fixture(scope="module", params=["sqlite", "postgresql", "mysql"])
def p(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimpleNamespace]:
    conn = R.connect(request.param, tmp_path_factory.mktemp("algebra"))
    if request.param == "mysql":
        # what MariaDB and MySQL 8 enforce by default: a kept attribute must be grouped
        conn.query("SET SESSION sql_mode = CONCAT(@@sql_mode, ',ONLY_FULL_GROUP_BY')")
    name = R.schema_name()
    with dj.config(safemode=False):
        a = dj.Schema(name + "_a", connection=conn)
        b = dj.Schema(name + "_b", connection=conn)
        try:
            ns = declare(a, b)
            ns.conn, ns.schema_names = conn, (a.database, b.database)
            yield ns
        finally:
            b.drop(force=True)
            a.drop(force=True)
            conn.close()


def rows(q: Any, *names: str) -> list[tuple[Any, ...]]:
    """The rows of ``q`` as sorted tuples (of ``names``, default: the heading)."""
    names = names or tuple(q.heading.names)
    out = [tuple(_plain(r[n]) for n in names) for r in q.fetch(*names, as_dict=True)]
    return sorted(out, key=repr)


def _plain(v: Any) -> Any:
    if hasattr(v, "item") and not isinstance(v, (str, bytes)):
        v = v.item()
    if not isinstance(v, (bool, int, str, type(None), dt.date)) and float(v) == int(v):
        return int(v)  # SUM and friends: DECIMAL on MySQL/PostgreSQL, an integer on SQLite
    return v


def srt(values: Any) -> list[Any]:
    return sorted(values, key=repr)


# -- join ----------------------------------------------------------------------------------------------
def test_natural_join_and_its_primary_key(p: SimpleNamespace) -> None:
    j = p.Subject * p.Session
    assert set(j.primary_key) == {"subject_id", "session"}
    assert rows(j, "subject_id", "session", "sex") == srt(
        (s[0], se[1], s[2]) for s in SUBJECTS for se in SESSIONS if se[0] == s[0])
    cross = p.Lab.proj() * p.Animal.proj()  # nothing shared: every pair
    assert len(cross) == len(LABS) * len(ANIMALS)


def test_join_of_restricted_projected_and_aggregated_queries(p: SimpleNamespace) -> None:
    hits = p.Trial & {"outcome": "hit"}
    counted = p.Session.aggr(hits, n="count(*)")
    j = (p.Subject & "weight > 19").proj("sex") * counted * p.Session.proj(day="session_date")
    want = {}
    for s in SUBJECTS:
        if s[3] is None or s[3] <= 19:
            continue
        for se in SESSIONS:
            n = sum(1 for t in TRIALS if t[:2] == se[:2] and t[5] == "hit")
            if se[0] == s[0] and n:
                want[(s[0], se[1])] = (s[2], n, se[2])
    assert rows(j, "subject_id", "session", "sex", "n", "day") == srt((*k, *v) for k, v in want.items())


def test_join_across_schemas(p: SimpleNamespace) -> None:
    assert p.Scan.database != p.Session.database
    j = p.Session * p.Scan
    assert rows(j, "subject_id", "session", "scan", "rig") == srt(
        (sc[0], sc[1], sc[2], se[3]) for sc in SCANS for se in SESSIONS if se[:2] == sc[:2])
    deep = p.Subject.aggr(p.Scan, deepest="max(depth)")
    assert rows(deep) == srt((s, max(sc[3] for sc in SCANS if sc[0] == s)) for s in {sc[0] for sc in SCANS})
    assert len(p.Session - p.Scan) == len(SESSIONS) - len({sc[:2] for sc in SCANS})


def test_left_join_keeps_every_row(p: SimpleNamespace) -> None:
    ext = p.Session.extend(p.Image.proj("notes"))
    assert rows(ext, "subject_id", "session", "notes") == srt(
        (se[0], se[1], next((i[3] for i in IMAGES if i[:2] == se[:2]), None)) for se in SESSIONS)


def test_join_on_a_secondary_attribute_of_both_sides_is_refused(p: SimpleNamespace) -> None:
    with pytest.raises(errors.QueryError, match="dependent attribute `rig`"):
        p.Session * p.Session.proj(r2="rig").proj(rig="r2")
    with pytest.raises(errors.QueryError, match="dependent attribute"):
        p.Session.aggr(p.Session.proj(rig2="rig").proj(rig="rig2"), n="count(*)")


# -- projection ------------------------------------------------------------------------------------------
def test_renamed_primary_key(p: SimpleNamespace) -> None:
    renamed = p.Subject.proj(animal_id="subject_id")
    assert renamed.primary_key == ["animal_id"] and "subject_id" not in renamed.heading.names
    assert rows(renamed) == srt((s[0],) for s in SUBJECTS)
    # renamed keys join by their new name: every ordered pair of sessions of one subject
    pairs = p.Session.proj() * p.Session.proj(other="session")
    assert set(pairs.primary_key) == {"subject_id", "session", "other"}
    assert len(pairs) == sum(1 for a in SESSIONS for b in SESSIONS if a[0] == b[0])
    assert rows(p.Animal * renamed.proj(subject_id="animal_id"), "subject_id") == [(1,), (2,)]
    both = p.Subject.proj("subject_id", sid="subject_id")  # listed by name too: kept as well
    assert set(both.heading.names) == {"subject_id", "sid"}


def test_duplicated_attribute_keeps_its_type(p: SimpleNamespace) -> None:
    dup = p.Session.proj("session_date", day="(session_date)")
    got = dup.fetch(as_dict=True, order_by="KEY")
    assert all(isinstance(r["day"], dt.date) and r["day"] == r["session_date"] for r in got)


def test_computed_attributes(p: SimpleNamespace) -> None:
    q = p.Trial.proj(fast="rt < 0.6", ms="round(rt * 1000)", o="concat(outcome, '-', trial)")
    got = {(r["subject_id"], r["session"], r["trial"]): r for r in q.fetch(as_dict=True)}
    for t in TRIALS:
        r = got[t[:3]]
        assert r["ms"] == (None if t[4] is None else round(t[4] * 1000))
        assert r["fast"] == (None if t[4] is None else int(t[4] < 0.6))
        assert r["o"] == f"{t[5]}-{t[2]}"
    assert len(q & "ms > 600") == sum(1 for t in TRIALS if t[4] is not None and t[4] * 1000 > 600)


def test_date_literals_compare_as_dates(p: SimpleNamespace) -> None:
    """String literals against date attributes, as DataJoint users write them (PostgreSQL has no
    date > varchar: table columns carry their types into the SQL fragments)."""
    later = {se[:2] for se in SESSIONS if se[2] > dt.date(2021, 1, 15)}
    keys = (p.Session & 'session_date > "2021-01-15"').fetch("KEY")
    assert {(k["subject_id"], k["session"]) for k in keys} == later
    assert len(p.Session & {"session_date": "2021-01-02"}) == 1
    assert len(p.Session.proj(d="session_date") & 'd between "2021-01-01" and "2021-01-31"') == 2
    last = p.Subject.aggr(p.Session, last="max(session_date)")
    assert rows(last & 'last > "2021-01-15"', "subject_id") == [(2,), (3,)]
    assert len(p.Subject & 'birth_date < "2020-01-01"') == 1


# -- aggregation ------------------------------------------------------------------------------------------
def test_aggr_keeps_secondary_attributes_under_only_full_group_by(p: SimpleNamespace) -> None:
    q = p.Subject.aggr(p.Session, "sex", "weight", n="count(*)", last="max(session_date)")
    want = [(s[0], s[2], s[3], sum(1 for se in SESSIONS if se[0] == s[0]),
             max(se[2] for se in SESSIONS if se[0] == s[0])) for s in SUBJECTS if any(se[0] == s[0] for se in SESSIONS)]
    assert rows(q, "subject_id", "sex", "weight", "n", "last") == srt(want)
    every = p.Session.aggr(p.Trial, ..., n="count(trial)", hits='sum(outcome = "hit")', m="avg(rt)")
    assert set(every.heading.names) == {"subject_id", "session", "session_date", "rig", "n", "hits", "m"}
    assert rows(every & "n > 2", "subject_id", "session", "n", "hits") == [(1, 1, 4, 3), (2, 1, 3, 1)]


def test_keep_all_rows_and_exclude_nonmatching(p: SimpleNamespace) -> None:
    inner = p.Session.aggr(p.Trial, n="count(trial)")
    outer = p.Session.aggr(p.Trial, n="count(trial)", keep_all_rows=True)
    outer2 = p.Session.aggr(p.Trial, n="count(trial)", exclude_nonmatching=False)
    inner2 = p.Session.aggr(p.Trial, n="count(trial)", exclude_nonmatching=True)
    counts = {se[:2]: sum(1 for t in TRIALS if t[:2] == se[:2]) for se in SESSIONS}
    assert rows(outer) == rows(outer2) == srt((*k, v) for k, v in counts.items())
    assert rows(inner) == rows(inner2) == srt((*k, v) for k, v in counts.items() if v)
    # with the left join, count(*) counts the NULL row of an unmatched session (as in DataJoint)
    assert (p.Session.aggr(p.Trial, n="count(*)", keep_all_rows=True) & {"subject_id": 3}).fetch1("n") == 1


def test_universal_sets(p: SimpleNamespace) -> None:
    assert rows(dj.U("sex") & p.Subject) == [("F",), ("M",), ("U",)]
    assert (dj.U("sex") & p.Subject).primary_key == ["sex"]
    by_outcome = dj.U("outcome").aggr(p.Trial, n="count(*)", rt="max(rt)")
    assert rows(by_outcome) == srt((o, sum(1 for t in TRIALS if t[5] == o),
                                     max(t[4] for t in TRIALS if t[5] == o and t[4] is not None))
                                    for o in {t[5] for t in TRIALS})
    total = dj.U().aggr(p.Trial, n="count(*)", s="sum(choice)")
    assert total.primary_key == [] and rows(total) == [(len(TRIALS), sum(t[3] for t in TRIALS))]
    assert rows(dj.U().aggr(p.Trial & "trial > 99", n="count(*)")) == [(0,)]  # one row, even of nothing
    promoted = dj.U("sex") * p.Subject
    assert set(promoted.primary_key) == {"subject_id", "sex"} and len(promoted) == len(SUBJECTS)
    assert (p.Subject * dj.U()).primary_key == p.Subject.primary_key
    assert len(p.Subject & dj.U("sex")) == len(SUBJECTS)  # restricting by U is no restriction
    with pytest.raises(errors.QueryError, match="keep_all_rows"):
        dj.U("sex").aggr(p.Subject, n="count(*)", keep_all_rows=True)
    with pytest.raises(errors.QueryError):
        dj.U("sex") - p.Subject
    nested = dj.U("sex").aggr(dj.U("sex", "lab") & p.Subject, labs="count(*)")
    assert rows(nested) == [("F", 2), ("M", 1), ("U", 1)]


# -- top, order, limit --------------------------------------------------------------------------------------
def test_restricted_top_k_then_joined(p: SimpleNamespace) -> None:
    slowest = p.Trial & "rt is not null" & dj.Top(3, "rt desc")
    assert rows(slowest, "rt") == [(1.0,), (1.5,), (2.0,)]
    j = slowest * p.Subject.proj("sex")
    assert rows(j, "subject_id", "trial", "sex") == [(1, 4, "M"), (2, 1, "F"), (2, 3, "F")]
    assert rows(p.Subject & slowest, "subject_id") == [(1,), (2,)]
    assert rows(p.Subject.aggr(slowest, n="count(*)")) == [(1, 1), (2, 2)]
    second = p.Trial & dj.Top(2, ["rt desc", "KEY"], offset=1)
    assert rows(second, "rt") == [(1.0,), (1.5,)]
    assert len((p.Trial & dj.Top(3, "KEY")) & dj.Top(1, "trial desc")) == 1  # a top of a top
    assert rows(p.Subject & dj.Top(1, "weight desc"), "subject_id") == [(3,)]
    assert rows(p.Subject & dj.Top(1, "weight"), "subject_id") == [(2,)]  # NULL first, as in MySQL


def test_ties_are_broken_by_the_primary_key(p: SimpleNamespace) -> None:
    """Five trials tie on outcome = 'hit': every backend returns the same two, in key order."""
    hits = [t[:3] for t in TRIALS if t[5] == "hit"]
    top = p.Trial & dj.Top(2, "outcome")
    assert rows(top, "subject_id", "session", "trial") == hits[:2]
    got = p.Trial.fetch("KEY", order_by="outcome", limit=2, offset=1)
    assert [tuple(k.values()) for k in got] == hits[1:3]
    assert [tuple(k.values()) for k in p.Trial.fetch("KEY", order_by="outcome desc")][:4] == \
        [t[:3] for t in TRIALS if t[5] == "miss"]


def test_order_by_limit_offset(p: SimpleNamespace) -> None:
    T = p.Trial
    got = T.fetch("rt", order_by=["rt desc", "KEY"], limit=4, offset=1)
    assert list(got) == [1.5, 1.0, 0.75, 0.5]
    assert [r["trial"] for r in (T & {"subject_id": 1, "session": 1}).fetch(as_dict=True, order_by="trial desc")] \
        == [4, 3, 2, 1]
    q = (p.Session * T) & dj.Top(2, "rt")
    assert len(q) == 2 and np.isnan(q.fetch("rt", order_by="rt")[0])
    u = (T & dj.Top(2, "KEY")).proj() + (T & dj.Top(1, "KEY desc")).proj()
    assert rows(u, "subject_id", "session", "trial") == [(1, 1, 1), (1, 1, 2), (2, 1, 3)]
    assert rows(dj.U("outcome") & (T & dj.Top(1, "rt desc"))) == [("hit",)]


# -- union -------------------------------------------------------------------------------------------------
def test_union_without_and_with_secondary_attributes(p: SimpleNamespace) -> None:
    a, b = p.Subject & {"sex": "M"}, p.Subject & "weight > 21"
    assert rows(a.proj() + b.proj()) == [(1,), (3,), (4,)]
    merged = a.proj("sex") + b.proj("weight")
    assert rows(merged, "subject_id", "sex", "weight") == [(1, "M", None), (3, None, 25), (4, None, 22)]
    assert set(merged.heading.secondary_attributes) == {"sex", "weight"}
    assert rows(p.Session.proj("rig") + p.Image.proj("notes"), "subject_id", "session", "rig", "notes") == srt(
        (se[0], se[1], se[3], next((i[3] for i in IMAGES if i[:2] == se[:2]), None)) for se in SESSIONS)
    with pytest.raises(errors.QueryError, match="same primary key"):
        p.Subject.proj() + p.Session.proj()
    with pytest.raises(errors.QueryError, match="must not share secondary"):
        a + b


# -- semantic matching --------------------------------------------------------------------------------------
def test_semantic_check_is_opt_in(p: SimpleNamespace) -> None:
    # Subject.subject_id and Animal.subject_id are namesakes of different origin
    assert len(p.Subject * p.Animal) == 2  # DataJoint 0.14: a natural join
    with pytest.raises(errors.SemanticError, match="subject_id"):
        p.Subject.join(p.Animal, semantic_check=True)
    with pytest.raises(errors.SemanticError):
        p.Subject.restrict(p.Animal, semantic_check=True)
    with dj.config(join__semantic_check=True):
        with pytest.raises(errors.SemanticError, match="different lineages"):
            p.Subject * p.Animal
        with pytest.raises(errors.SemanticError):
            p.Subject & p.Animal
        with pytest.raises(errors.SemanticError):
            p.Subject.aggr(p.Animal, n="count(*)")
        assert len(p.Subject.aggr(p.Session, n="count(*)")) == len({se[0] for se in SESSIONS})
        assert len(p.Subject @ p.Animal) == 2  # @ skips the check
        assert len(p.Subject ^ p.Animal) == 2
        # same lineage: through foreign keys, across schemas, and after a rename
        assert len(p.Subject * p.Session * p.Scan) == len(SCANS)
        assert len(p.Session & p.Scan) == len({sc[:2] for sc in SCANS})
        assert len(p.Subject.proj(s="subject_id") * p.Session.proj(s="subject_id", x="session")) == len(SESSIONS)
        with pytest.raises(errors.SemanticError):  # computed attributes have no lineage
            (p.Subject.proj(k="subject_id + 0") * dj.U("k")) * p.Session.proj(k="subject_id + 0")


def test_semantic_check_on_introspected_tables(p: SimpleNamespace) -> None:
    a, b = p.schema_names
    conn = p.conn
    vm_a = dj.VirtualModule("vm_a", a, connection=conn)
    vm_b = dj.VirtualModule("vm_b", b, connection=conn)
    assert len(vm_a.Session.join(vm_b.Scan, semantic_check=True)) == len(SCANS)
    with pytest.raises(errors.SemanticError):
        vm_a.Subject.join(vm_b.Animal, semantic_check=True)
    subject = dj.FreeTable(conn, p.Subject.full_table_name)
    trial = dj.FreeTable(conn, p.Trial.full_table_name)
    assert len(subject.join(trial, semantic_check=True)) == len(TRIALS)
    assert trial.heading["subject_id"].lineage == subject.heading["subject_id"].lineage


# -- every derived query behaves like a query -------------------------------------------------------------
DERIVED = {
    "restrict": lambda p: p.Trial & "rt > 0.4" & {"outcome": "hit"},
    "antirestrict": lambda p: p.Session - p.Trial,
    "join": lambda p: p.Subject * p.Session,
    "join_blob": lambda p: p.Image * p.Subject,
    "proj": lambda p: p.Session.proj(day="session_date", r="ifnull(rig, 0)"),
    "aggr": lambda p: p.Subject.aggr(p.Trial, ..., n="count(*)"),
    "union": lambda p: p.Subject.proj("sex") + p.Animal.proj("nickname"),
    "u_distinct": lambda p: dj.U("outcome", "choice") & p.Trial,
    "u_aggr": lambda p: dj.U("outcome").aggr(p.Trial, n="count(*)"),
    "u_whole": lambda p: dj.U().aggr(p.Trial, n="count(*)"),
    "top": lambda p: p.Trial & dj.Top(3, "rt desc"),
    "top_joined": lambda p: (p.Trial & dj.Top(3, "rt desc")) * p.Subject,
}


@pytest.mark.parametrize("kind", sorted(DERIVED))
def test_every_derived_query_supports_the_query_api(p: SimpleNamespace, kind: str) -> None:
    q = DERIVED[kind](p)
    n = len(q)
    assert n > 0 and bool(q)
    assert len(q.fetch()) == len(q.fetch(as_dict=True)) == n
    assert len(q.fetch(format="frame")) == n
    if q.primary_key:
        keys = q.fetch("KEY")
        assert len(keys) == n and all(k in q for k in keys)
        assert len(q & keys) == n
    first = q.to_dicts(limit=1, order_by="KEY")
    assert len(first) == 1 and list(first[0]) == q.heading.names
    text = repr(q)
    assert f"(Total: {n})" in text
    html = q._repr_html_()
    assert "<table" in html and "</table>" in html
    assert isinstance(q.describe(), str) and q.describe()
    sql = q.make_sql()
    assert sql.lstrip().upper().startswith("SELECT")
    assert not (q & False) and len(q & False) == 0


def test_trace_shows_each_statement_with_its_parameters(p: SimpleNamespace) -> None:
    seen: list[tuple[str, Any, float]] = []
    with p.conn.trace(lambda sql, params, seconds: seen.append((sql, params, seconds))):
        len(p.Trial & {"outcome": "hit"})
        (p.Subject * p.Session).fetch("KEY")
    assert len(seen) == 2
    sql, params, seconds = seen[0]
    assert "count" in sql.lower() and seconds >= 0
    values = list(params.values()) if isinstance(params, dict) else list(params)
    assert "hit" in values  # the value is a parameter, never pasted into the SQL
    assert "hit" not in sql
    len(p.Trial)
    assert len(seen) == 2  # nothing is traced after the block


# -- regressions found by the property tests -----------------------------------------------------------------
def test_restriction_by_a_query_matches_null_to_null(p: SimpleNamespace) -> None:
    """Subject.lab and Session.rig hold NULLs: q & q is q and q - q is empty for any q."""
    for q in (p.Subject, p.Session, p.Trial.proj("rt")):
        assert rows(q & q) == rows(q)
        assert len(q - q) == 0
    assert rows(p.Subject & p.Subject.proj("lab"), "subject_id") == [(1,), (2,), (3,), (4,)]
    nulls = dj.U("rig") & p.Session
    assert rows(nulls * (dj.U("rig").aggr(p.Session, n="count(*)")), "rig", "n") == srt([(None, 1), (1, 2), (2, 1)])


def test_union_of_top_k_queries(p: SimpleNamespace) -> None:
    """SQLite allows no ORDER BY/LIMIT inside a member of a UNION: such members are subqueries."""
    u = (p.Subject & dj.Top(1, "KEY")).proj() + (p.Subject & dj.Top(1, "KEY desc")).proj()
    assert rows(u) == [(1,), (4,)]
    ordered = (p.Subject & dj.Top(None, "weight")).proj() + p.Animal.proj()
    assert len(ordered) == 5


def test_fetching_some_attributes_of_a_distinct_query(p: SimpleNamespace) -> None:
    """`fetch('a')` of ``dj.U('a', 'b') & q`` has one value per row, not per distinct ``a``."""
    q = dj.U("outcome", "session") & p.Trial
    assert len(q) == 4 and len(q.fetch("outcome")) == 4
    assert srt(q.fetch("session")) == [1, 1, 2, 2]
    renamed = q.proj(o="outcome")
    assert len(renamed.fetch("o")) == 4


def test_projection_of_a_whole_table_aggregate_keeps_one_row(p: SimpleNamespace) -> None:
    total = dj.U().aggr(p.Trial, n="count(*)")
    assert len(total.proj()) == 1 and bool(total.proj())
    assert len(p.Subject * total) == len(SUBJECTS)
    empty_group = (total & "n > 100").aggr(p.Trial, m="count(*)")
    assert len(empty_group) == 0
    assert rows(total.aggr(p.Trial, m="count(*)"), "m") == [(len(TRIALS),)]


# -- DataJoint issue #450: no blob columns in subqueries --------------------------------------------------
def _subqueries(sql: str) -> list[str]:
    """The text of every parenthesized SELECT in ``sql``."""
    out = []
    for m in re.finditer(r"\(\s*SELECT", sql, re.I):
        depth, i = 0, m.start()
        for j in range(i, len(sql)):
            depth += {"(": 1, ")": -1}.get(sql[j], 0)
            if depth == 0:
                out.append(sql[i: j + 1])
                break
    return out


def test_no_blob_columns_in_subqueries(p: SimpleNamespace) -> None:
    big = p.Image & dj.Top(10, "notes")  # a subquery (it has a LIMIT) over a table with a blob
    queries = {
        "restrict by query": p.Session & big,
        "antirestrict": p.Session - big,
        "restrict by aggregate": p.Session & p.Image.aggr(p.Trial, n="count(*)"),
        "restrict by union": p.Session & (big.proj() + (p.Session & "rig = 2").proj()),
        "join with top": p.Subject * big.proj("notes"),
        "keys of top": big.proj(),
    }
    blob_column = re.compile(r"\bt\d+\.image\b|\bAS image\b", re.I)  # the table is also called image
    seen: list[str] = []
    with p.conn.trace(lambda sql, params, seconds: seen.append(sql)):
        for name, q in queries.items():
            seen.clear()
            q.fetch("KEY")
            len(q)
            assert len(seen) == 2
            for sql in seen:
                for sub in _subqueries(sql):
                    assert not blob_column.search(sub), (name, sql)
    with p.conn.trace(lambda sql, params, seconds: seen.append(sql)):
        seen.clear()
        big.fetch()  # asked for: then the blob is selected
        assert blob_column.search(seen[0])
    assert len(p.Session & big) == len(IMAGES)
    assert rows(p.Session & big, "subject_id", "session") == srt(i[:2] for i in IMAGES)
