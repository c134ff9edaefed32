"""When the compiler wraps a query in a subquery: ``needs_subquery``'s table of cases, and the
subqueries whole query trees end up with (no database: headings are built in Python)."""

from __future__ import annotations

import re
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects.sqlite import pysqlite

import labjoin as dj
from labjoin.algebra import nodes as N
from labjoin.definition.types import parse_type
from labjoin.heading.heading import Attribute, Heading
from labjoin.sql.compiler import Compiler, State, needs_subquery
from labjoin.sql.dialects import BACKENDS
from labjoin.tables.query import QueryExpression

T = sa.table("t", sa.column("a"), sa.column("b"))
COLS = {"a": T.c.a, "b": T.c.b}


def state(**kw: Any) -> State:
    return State(T, dict(COLS), **kw)


STATES = {  # name -> a state of that kind
    "flat": state(),
    "where": state(where=[T.c.a > 1]),
    "grouped": state(group_by=[T.c.a]),
    "whole-table aggregate": state(group_by=[]),
    "distinct": state(distinct=True),
    "limit": state(limit=3, order_by=[T.c.a]),
    "offset": state(offset=2),
    "ordered": state(order_by=[T.c.a]),
}
OPS = ["restrict", "join", "outer_right", "group", "project", "top", "union"]
# Which states each operation must wrap first (the rest extend the state in place).
WRAPS = {
    "restrict": {"grouped", "whole-table aggregate", "distinct", "limit", "offset"},
    "join": {"grouped", "whole-table aggregate", "distinct", "limit", "offset"},
    "outer_right": {"where", "grouped", "whole-table aggregate", "distinct", "limit", "offset"},
    "group": {"grouped", "whole-table aggregate", "distinct", "limit", "offset"},
    "project": set(),
    "top": {"limit", "offset"},
    "union": {"limit", "offset", "ordered"},
}


@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("kind", sorted(STATES))
def test_needs_subquery_table(op: str, kind: str) -> None:
    assert needs_subquery(STATES[kind], op) == (kind in WRAPS[op])


def test_the_final_select_wraps_a_distinct_only_for_fewer_columns() -> None:
    assert needs_subquery(STATES["distinct"], "select", ["a"])
    assert not needs_subquery(STATES["distinct"], "select", ["b", "a"])
    for kind in sorted(STATES):
        if kind != "distinct":
            assert not needs_subquery(STATES[kind], "select", ["a"]), kind


def test_wrap_keeps_what_is_needed_and_every_distinct_column() -> None:
    comp = Compiler(BACKENDS["sqlite"])
    assert list(comp.wrap(state(limit=1), ["b"]).cols) == ["b"]
    assert list(comp.wrap(state(distinct=True), ["b"]).cols) == ["a", "b"]
    ordered = comp.wrap(state(order_by=[T.c.a]))  # an order without a limit means nothing inside
    assert "ORDER BY" not in str(sa.select(*ordered.cols.values()).select_from(ordered.froms))


# -- whole trees -----------------------------------------------------------------------------------
def table(name: str, spec: str) -> QueryExpression:
    attrs = []
    for item in spec.split(";"):
        left, type_text = item.strip().split(":", 1)
        attrs.append(Attribute(left.strip("*?"), parse_type(type_text), in_key=left.startswith("*"),
                               nullable=left.endswith("?")))
    return QueryExpression(N.TableNode("s", name, Heading(attrs)), None)


A = table("a", "*id:int; x:int; y?:int")
B = table("b", "*id:int; *k:int; z:int; img:longblob")
C = table("c", "*k:int; w:int")

# query -> number of derived tables (subqueries in FROM) its SQL must have
TREES = {
    "restrictions stay flat": (lambda: A & {"x": 1} & "y > 2" & [{"id": 1}, {"id": 2}], 0),
    "a join of restrictions stays flat": (lambda: (A & "x > 1") * (B & {"z": 3}) * C, 0),
    "projection then restriction stays flat": (lambda: A.proj(x2="x * 2") & "x2 > 3", 0),
    "restriction of an aggregation wraps": (lambda: A.aggr(B, n="count(*)") & "n > 1", 1),
    "restriction of a top wraps": (lambda: (A & dj.Top(2, "x")) & {"y": 1}, 1),
    "join with a top wraps the top": (lambda: (A & dj.Top(2, "x")) * B, 1),
    "join with an aggregation wraps it": (lambda: A.aggr(B, n="count(*)") * B, 1),
    "left join of a restricted query wraps the right side": (lambda: B.proj().extend(A & "x > 1"), 1),
    "left join of a table stays flat": (lambda: B.proj().extend(A), 0),
    "restriction of a distinct wraps": (lambda: (dj.U("x") & A) & "x > 1", 1),
    "top of a top wraps": (lambda: (A & dj.Top(5)) & dj.Top(2, "x"), 1),
    "union is one derived table": (lambda: (A & "x = 1").proj() + (A & "x = 2").proj(), 1),
    "union of tops wraps each member": (lambda: (A & dj.Top(1)).proj() + (A & dj.Top(1, "KEY desc")).proj(), 3),
    "whole-table aggregate is a derived table": (lambda: dj.U().aggr(A, n="count(*)"), 1),
    "grouping by U stays flat": (lambda: dj.U("x").aggr(A, n="count(*)"), 0),
    "semijoin adds no derived table": (lambda: A & (B & {"z": 1}), 0),
    "semijoin with a top wraps the top": (lambda: A & (B & dj.Top(3, "z")), 1),
}


def derived_tables(sql: str) -> int:
    return len(re.findall(r"(?:FROM|JOIN)\s+\(", sql))


@pytest.mark.parametrize("name", sorted(TREES))
def test_subqueries_of_query_trees(name: str) -> None:
    build, expected = TREES[name]
    q = build()
    sql = str(Compiler(BACKENDS["sqlite"]).select(q._node).compile(dialect=pysqlite.dialect()))
    assert derived_tables(sql) == expected, sql


def test_keys_of_a_top_over_a_blob_table_never_select_the_blob() -> None:
    q = (B & dj.Top(3, "z")) * C
    sql = str(Compiler(BACKENDS["sqlite"]).select(q._node, ["id", "k"]).compile(dialect=pysqlite.dialect()))
    assert "img" not in sql
    full = str(Compiler(BACKENDS["sqlite"]).select(q._node).compile(dialect=pysqlite.dialect()))
    assert "img" in full
