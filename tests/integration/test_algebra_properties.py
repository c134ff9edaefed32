"""Property tests of the query algebra: random tables, random queries, a Python reference.

`algebra_ref` builds random queries over four small tables and evaluates each one twice: in
labjoin and in plain Python. Every example compares the rows, the heading, ``len`` and ``bool``,
and checks the identities DataJoint documents (``q & []`` is empty, ``q - dj.AndList([])`` is
empty, ``(q & a) & b == q & dj.AndList([a, b])``, ...). SQLite runs many examples; PostgreSQL and
MySQL run a spot check of the same properties.
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable, Iterator
from typing import Any

import algebra_ref as R
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import labjoin as dj

# Examples per property: many on SQLite (fast), a spot check on the servers. The examples are
# the same in every run; LABJOIN_ALGEBRA_SOAK=N runs N times as many, new ones each time.
SOAK = int(os.environ.get("LABJOIN_ALGEBRA_SOAK", "0") or 0)
EXAMPLES = {name: n * max(SOAK, 1) for name, n in {"sqlite": 150, "postgresql": 30, "mysql": 30}.items()}
SETTINGS = dict(deadline=None, derandomize=not SOAK, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@pytest.fixture(scope="module", params=["sqlite", "postgresql", "mysql"])
def tables(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """P, C, D, E declared once per backend for the whole module (each example reloads the rows)."""
    conn = R.connect(request.param, tmp_path_factory.mktemp("algebra"))
    with dj.config(safemode=False):
        schema = dj.Schema(R.schema_name(), connection=conn)
        try:
            yield R.declare(schema)
        finally:
            schema.drop(force=True)
            conn.close()


def run(tables: dict[str, Any], check: Callable[..., None], **strategies: Any) -> None:
    """Run ``check(data=..., **drawn)`` on random data with this backend's number of examples."""
    n = EXAMPLES[tables["P"].connection.backend.name]

    @settings(max_examples=n, **SETTINGS)
    @given(data=R.data(), **strategies)
    def inner(data: dict[str, list[dict[str, Any]]], **drawn: Any) -> None:
        R.load(tables, data)
        check(data=data, **drawn)

    inner()


def rows(q: Any) -> list[tuple[Any, ...]]:
    if not q.heading.names:  # fetch() of no attributes returns no rows (reported to the core)
        return [()] * len(q)
    return R.normalize(q.fetch(as_dict=True))


def ref_rows(e: Any, data: dict[str, Any]) -> list[tuple[Any, ...]]:
    return R.normalize(R.evaluate(e, data).rows)


# -- every query against the reference ----------------------------------------------------------
def test_random_queries_match_the_reference(tables: dict[str, Any]) -> None:
    def check(data: dict[str, Any], e: Any) -> None:
        ref = R.evaluate(e, data)
        q = R.build(e, tables)
        assert set(q.heading.names) == set(ref.names), e
        assert set(q.primary_key) == set(ref.pk), e
        assert len(q) == len(ref.rows), (e, q.make_sql())
        assert bool(q) == bool(ref.rows), e
        if not ref.names:
            return  # dj.U() & q: no attributes to fetch
        got = q.fetch(as_dict=True)
        assert R.normalize(got) == R.normalize(ref.rows), (e, q.make_sql())
        # the primary key identifies rows; a fetch of some attributes has one value per row
        if ref.pk:
            keys = q.fetch("KEY")
            assert len({tuple(sorted(k.items())) for k in keys}) == len(keys) == len(ref.rows), e
        first = ref.names[-1]
        assert len(q.fetch(first)) == len(ref.rows), e

    run(tables, check, e=R.queries(depth=3))


# -- the identities ------------------------------------------------------------------------------
def test_restriction_identities(tables: dict[str, Any]) -> None:
    def check(data: dict[str, Any], e: Any, draw: Any) -> None:
        h = R.heading(e)
        a, b = draw.draw(R.conditions(h)), draw.draw(R.conditions(h))
        q = R.build(e, tables)
        A, B = R.build_cond(a, tables), R.build_cond(b, tables)
        full = rows(q)
        assert full == ref_rows(e, data), e
        assert rows(q & []) == [], "q & [] is empty"
        assert rows(q - []) == full, "q - [] is q"
        assert rows(q & dj.AndList([])) == full, "q & AndList([]) is q"
        assert rows(q - dj.AndList([])) == [], "q - AndList([]) is empty"
        assert rows(q & True) == full and rows(q & False) == [], "True/False"
        both = ref_rows(("restrict", ("restrict", e, a), b), data)
        assert rows((q & A) & B) == both, ("(q & a) & b", a, b)
        assert rows(q & dj.AndList([A, B])) == both, ("q & AndList([a, b])", a, b)
        either = rows(q & [A, B])
        assert either == ref_rows(("restrict", e, ("list", (a, b))), data), ("q & [a, b]", a, b)
        assert either == sorted(set(rows(q & A)) | set(rows(q & B)), key=repr), "q & [a, b] == (q & a) | (q & b)"
        assert rows((q & [A, B]).proj()) == rows((q & A).proj() + (q & B).proj()), "union of the restrictions"
        anti = rows(q - A)
        assert anti == rows(q & dj.Not(A)) == ref_rows(("antirestrict", e, a), data), ("q - a == q & Not(a)", a)
        assert rows(q & dj.Not(dj.Not(A))) == rows(q & A), "Not(Not(a)) == a"
        assert rows(q & q) == full, "q & q == q"
        assert rows(q - q) == [], "q - q is empty"
        assert rows((q & A) - A) == [], ("(q & a) - a is empty", a)
        assert rows(q & dj.U()) == full and rows(q * dj.U()) == full, "q & U() == q * U() == q"
        assert rows(q.proj() & q) == rows(q.proj()), "q.proj() & q == q.proj()"
        assert len(q) == len(q.fetch()) == len(full), "len(q) == len(q.fetch())"
        assert bool(q) == bool(full)

    run(tables, check, e=R.queries(depth=2), draw=st.data())


def test_join_identities(tables: dict[str, Any]) -> None:
    def check(data: dict[str, Any], e: Any, f: Any) -> None:
        if not R._joinable(R.heading(e), R.heading(f)):
            f = ("proj", f, (), {}, {})
        if not R._joinable(R.heading(e), R.heading(f)):
            return
        q, r = R.build(e, tables), R.build(f, tables)
        qr = rows(q * r)
        assert qr == ref_rows(("join", e, f), data), (e, f)
        assert qr == R.normalize((r * q).fetch(as_dict=True)), "join commutes (as sets of rows)"
        assert set((q * r).primary_key) == set(q.primary_key) | set(r.primary_key)
        assert rows(q * q.proj()) == rows(q), "q * q.proj() == q"
        # a semijoin keeps the rows of q that appear in the join
        assert rows(q & r) == ref_rows(("restrict", e, ("query", f)), data), "q & r"
        assert len(q & r) + len(q - r) == len(q), "q & r and q - r partition q"

    run(tables, check, e=R.queries(depth=2), f=R.queries(depth=1))


def test_universal_set_identities(tables: dict[str, Any]) -> None:
    def check(data: dict[str, Any], e: Any, draw: Any) -> None:
        h = R.heading(e)
        attrs = tuple(draw.draw(st.lists(st.sampled_from(h.names), unique=True, max_size=3))) if h.names else ()
        q = R.build(e, tables)
        assert rows(q * dj.U()) == rows(q) and (q * dj.U()).primary_key == q.primary_key, "q * U() == q"
        promoted = q * dj.U(*attrs)
        assert rows(promoted) == rows(q), "q * U(a) has the rows of q"
        assert set(promoted.primary_key) == set(q.primary_key) | set(attrs)
        distinct = dj.U(*attrs) & q
        assert len(distinct) == len({tuple(r[a] for a in attrs) for r in R.evaluate(e, data).rows})
        if attrs:
            assert rows(distinct) == ref_rows(("udistinct", attrs, e), data), "U(a) & q: distinct values"
        counted = dj.U(*attrs).aggr(q, n="count(*)")
        assert rows(counted) == ref_rows(("ugroup", attrs, e, {"n": ("count", None)}), data), "U(a).aggr(q)"
        assert sum(r["n"] for r in counted.fetch(as_dict=True)) == len(q) or (not attrs and len(q) == 0)
        assert len(dj.U().aggr(q, n="count(*)")) == 1, "U().aggr(q) has one row"

    run(tables, check, e=R.queries(depth=2), draw=st.data())


def test_aggregation_counts_match_python(tables: dict[str, Any]) -> None:
    def check(data: dict[str, Any], e: Any, f: Any, outer: bool) -> None:
        g, s = R.heading(e), R.heading(f)
        if not R._joinable(g, s):
            return
        q, r = R.build(e, tables), R.build(f, tables)
        shared = [n for n in g.names if n in s.names]
        source = r.fetch(*shared, as_dict=True) if shared else [{} for _ in range(len(r))]
        want = {}
        for row in q.fetch(as_dict=True):
            n = sum(all(row[a] == x[a] for a in shared) for x in source)
            if n or outer:
                want[tuple(row[k] for k in q.primary_key)] = max(n, 1) if outer else n
        got = q.aggr(r, n="count(*)", keep_all_rows=outer).fetch(as_dict=True)
        assert {tuple(x[k] for k in q.primary_key): x["n"] for x in got} == want, (e, f, outer)

    run(tables, check, e=R.queries(depth=1), f=R.queries(depth=1), outer=st.booleans())


def test_union_identities(tables: dict[str, Any]) -> None:
    def check(data: dict[str, Any], e: Any, draw: Any) -> None:
        h = R.heading(e)
        a, b = draw.draw(R.conditions(h)), draw.draw(R.conditions(h))
        q = R.build(e, tables)
        A, B = R.build_cond(a, tables), R.build_cond(b, tables)
        keys = rows(q.proj())
        assert rows(q.proj() + q.proj()) == keys, "q + q == q"
        assert rows((q & A).proj() + (q & B).proj()) == rows((q & B).proj() + (q & A).proj()), "union commutes"
        assert rows((q & A).proj() + (q - A).proj()) == rows((q & A).proj() + (q & dj.Not(A)).proj())
        sec = list(h.secondary)
        left, right = sec[: len(sec) // 2], sec[len(sec) // 2:]
        u = (q & A).proj(*left) + (q & B).proj(*right)
        ref = ref_rows(("union", ("proj", ("restrict", e, a), tuple(left), {}, {}),
                        ("proj", ("restrict", e, b), tuple(right), {}, {})), data)
        assert rows(u) == ref, ("union with secondary attributes", a, b)
        assert len(u) == len(ref)

    run(tables, check, e=R.queries(depth=1), draw=st.data())


def test_top_matches_a_sorted_slice(tables: dict[str, Any]) -> None:
    def check(data: dict[str, Any], e: Any, draw: Any) -> None:
        h = R.heading(e)
        if not h.names:
            return
        a = draw.draw(R.conditions(h))
        attr = draw.draw(st.sampled_from(h.names))
        desc, limit, offset = draw.draw(st.booleans()), draw.draw(st.integers(0, 4)), draw.draw(st.integers(0, 3))
        q = R.build(e, tables) & R.build_cond(a, tables)
        top = q & dj.Top(limit, [f"{attr} desc" if desc else attr, "KEY"], offset)
        expected = ref_rows(("top", ("restrict", e, a), limit, offset, ((attr, desc),)), data)
        assert rows(top) == expected, (e, a, attr, desc, limit, offset)
        ordered = q.fetch(as_dict=True, order_by=[f"{attr} desc" if desc else attr, "KEY"],
                          limit=limit, offset=offset)
        assert R.normalize(ordered) == expected, "fetch(order_by, limit, offset) == Top"
        # the top-k keeps its rows when used inside further operators
        assert rows(top.proj()) == R.normalize([{k: r[k] for k in q.primary_key} for r in top.fetch(as_dict=True)])
        assert rows(q & top) == expected, "q & top-k"

    run(tables, check, e=R.queries(depth=1), draw=st.data())


# -- the statement cache ---------------------------------------------------------------------------
def test_statement_cache_gives_the_results_of_a_fresh_compilation(tables: dict[str, Any]) -> None:
    cache = tables["P"].connection.statement_cache

    def check(data: dict[str, Any], e: Any, seed: int) -> None:
        other = R.revalue(e, random.Random(seed))
        first = R.build(e, tables)
        rows(first), len(first)  # compiles the shape of `e`
        q = R.build(other, tables)
        warm, warm_len = rows(q), len(q)  # the same shape with other values: served by the cache
        cache.clear()
        assert (rows(q), len(q)) == (warm, warm_len), (e, other)
        assert warm == ref_rows(other, data), other

    run(tables, check, e=R.queries(depth=2), seed=st.integers(0, 2**16))


def test_statement_cache_is_used_by_the_same_shape(tables: dict[str, Any]) -> None:
    R.load(tables, {"P": [dict(p=i, u=i % 2, v=None, s="a") for i in range(4)], "C": [], "D": [], "E": []})
    P = tables["P"]
    cache = P.connection.statement_cache
    cache.clear()
    assert [len(P & {"u": u} & "p > 0") for u in (0, 1)] == [1, 2]
    assert len(cache) == 1
    assert [len(P & {"v": None}), len(P & {"v": 1})] == [4, 0]  # IS NULL is a shape of its own
    assert len(cache) == 3
