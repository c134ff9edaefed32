"""The SQL of representative queries, per dialect, against snapshot files (no database).

Each query below is compiled as ``QueryExpression._statement`` compiles it (statement-cache
parameter names ``lj_N``, the drivers' parameter styles) for SQLite, PostgreSQL and MySQL. The
expected text and parameters live in ``tests/sql/snapshots/algebra.<dialect>.sql``, so a compiler
change shows up as a readable diff. After an intended change, regenerate them with
``python tests/sql/test_algebra_snapshots.py`` and review the diff.

The tables are headings built in Python (no catalog), in two schemas::

    lab.subject(subject_id | lab=null, sex, weight=null)   lab.session(subject_id, session | day, rig=null)
    lab.trial(subject_id, session, trial | outcome, rt=null)
    lab.image(subject_id, session | image: longblob, notes)   other.animal(subject_id | nickname)
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.dialects.mysql import pymysql
from sqlalchemy.dialects.postgresql import psycopg
from sqlalchemy.dialects.sqlite import pysqlite

import labjoin as dj
from labjoin.algebra import nodes as N
from labjoin.definition.types import parse_type
from labjoin.heading.heading import Attribute, Heading
from labjoin.sql.compiler import Compiler
from labjoin.sql.dialects import BACKENDS
from labjoin.sql.statement_cache import params_for, shape, slots_of
from labjoin.tables.query import QueryExpression

HERE = Path(__file__).resolve().parent
SNAPSHOTS = HERE / "snapshots"
DIALECTS = {"sqlite": pysqlite.dialect(), "postgresql": psycopg.dialect(), "mysql": pymysql.dialect()}


def table(schema: str, name: str, spec: str) -> QueryExpression:
    """A query over one table; ``spec`` is ``"*key:type; attr?:type; ..."`` (``?``: nullable)."""
    attrs = []
    for item in spec.split(";"):
        left, type_text = item.strip().split(":", 1)
        key, nullable = left.startswith("*"), left.endswith("?")
        attr_name = left.strip("*?")
        attrs.append(Attribute(attr_name, parse_type(type_text.strip()), in_key=key, nullable=nullable,
                               lineage=f"{schema}.{name}.{attr_name}" if key else None))
    return QueryExpression(N.TableNode(schema, name, Heading(attrs)), None)


Subject = table("lab", "subject", "*subject_id:int; lab?:varchar(16); sex:enum('M','F','U'); weight?:int")
Session = table("lab", "session", "*subject_id:int; *session:int; day:date; rig?:int")
Trial = table("lab", "trial", "*subject_id:int; *session:int; *trial:int; outcome:varchar(8); rt?:double")
Image = table("lab", "image", "*subject_id:int; *session:int; image:longblob; notes:varchar(32)")
Animal = table("other", "animal", "*subject_id:int; nickname:varchar(16)")

# name -> (query, fetch options); "count" in the options compiles len(query) instead
QUERIES: dict[str, tuple[Callable[[], Any], dict[str, Any]]] = {
    "table": (lambda: Subject, {}),
    "restrict by dict": (lambda: Trial & {"outcome": "hit", "trial": 3}, {}),
    "restrict by NULL": (lambda: Session & {"rig": None}, {}),
    "restrict by keys (IN list)": (lambda: Trial & [{"subject_id": 1, "session": 2}, {"subject_id": 3, "session": 1}], {}),
    "restrict by OR of dicts": (lambda: Subject & [{"sex": "M"}, {"lab": "cortex"}], {}),
    "restrict by string": (lambda: Trial & 'rt > 0.5 and outcome = "hit"', {}),
    "restrict by Not and AndList": (lambda: Trial & dj.AndList([dj.Not({"trial": 1}), "rt is not null"]), {}),
    "restrict by query": (lambda: Session & (Trial & {"outcome": "miss"}), {}),
    "antirestrict by query": (lambda: Subject - Session, {}),
    "restrict by query, NULL-safe": (lambda: Subject & Subject.proj("lab"), {}),
    "restrict by aggregation": (lambda: Subject & (Subject.aggr(Session, n="count(*)") & "n > 1"), {}),
    "join": (lambda: Subject * Session, {}),
    "join of restricted and projected": (lambda: (Subject & {"sex": "F"}).proj("lab") * Session.proj(d="day"), {}),
    "join across schemas": (lambda: Subject * Animal, {}),
    "left join": (lambda: Session.extend(Image.proj("notes")), {}),
    "rename primary key": (lambda: Session.proj(sid="subject_id"), {}),
    "computed attributes": (lambda: Trial.proj(ms="round(rt * 1000)", late="ifnull(rt, 0) > 1"), {}),
    "aggregation": (lambda: Session.aggr(Trial, n="count(*)", hits='sum(outcome = "hit")'), {}),
    "aggregation keeping attributes, restricted": (
        lambda: Subject.aggr(Session, "sex", "weight", last="max(day)") & 'last > "2021-01-01"', {}),
    "aggregation keep_all_rows": (lambda: Session.aggr(Trial, n="count(rt)", keep_all_rows=True), {}),
    "union without secondary attributes": (lambda: (Subject & {"sex": "M"}).proj() + Animal.proj(), {}),
    "union with secondary attributes": (lambda: Subject.proj("sex") + Animal.proj("nickname"), {}),
    "U distinct": (lambda: dj.U("sex", "lab") & Subject, {}),
    "U aggregation": (lambda: dj.U("outcome").aggr(Trial, n="count(*)", m="avg(rt)"), {}),
    "U whole-table aggregation": (lambda: dj.U().aggr(Trial & "rt > 1", n="count(*)"), {}),
    "U whole-table aggregation, aggregated again": (lambda: dj.U().aggr(Trial, n="count(*)").aggr(Subject, m="count(*)"), {}),
    "U promote": (lambda: Subject * dj.U("sex"), {}),
    "top": (lambda: Trial & dj.Top(3, "rt desc", offset=1), {}),
    "top then joined": (lambda: (Trial & dj.Top(3, "rt desc")) * Subject.proj("sex"), {}),
    "top of a top": (lambda: (Trial & dj.Top(5, "KEY")) & dj.Top(2, "rt"), {}),
    "union of tops": (lambda: (Subject & dj.Top(1, "KEY")).proj() + (Subject & dj.Top(1, "KEY desc")).proj(), {}),
    "restrict by a top over a blob table": (lambda: Session & (Image & dj.Top(10, "notes")), {}),
    "keys of a top over a blob table": (lambda: Image & dj.Top(10, "notes"), {"names": ["subject_id", "session"]}),
    "fetch order_by limit offset": (lambda: Session * Trial, {"names": ["trial", "rt"], "order_by": ["rt desc", "KEY"],
                                                               "limit": 5, "offset": 10}),
    "len of a join": (lambda: Subject * Session, {"count": True}),
    "len of an aggregation": (lambda: Session.aggr(Trial, n="count(*)"), {"count": True}),
    "len of a distinct": (lambda: dj.U("sex") & Subject, {"count": True}),
}


def compile_query(query: Any, backend: str, *, names: Any = None, order_by: Any = None, limit: int | None = None,
                  offset: int | None = None, count: bool = False) -> tuple[str, Any]:
    """SQL text and driver parameters, compiled the way `QueryExpression._statement` does."""
    node = query._node
    _, values, bases = shape(node, backend)
    comp = Compiler(BACKENDS[backend], bases)
    stmt = comp.count(node) if count else comp.select(node, names, order_by=order_by, limit=limit, offset=offset)
    compiled = stmt.compile(dialect=DIALECTS[backend], compile_kwargs={"render_postcompile": True})
    slots, positional = slots_of(compiled)
    return compiled.string, params_for(slots, positional, values)


def render(backend: str) -> str:
    """The snapshot file of one dialect."""
    parts = [f"-- SQL of tests/sql/test_algebra_snapshots.py for {backend}; regenerate with\n"
             "-- python tests/sql/test_algebra_snapshots.py\n"]
    for name, (build, options) in QUERIES.items():
        sql, params = compile_query(build(), backend, **options)
        parts.append(f"-- {name}\n{sql.strip()}\n-- params: {params!r}\n")
    return "\n".join(parts)


def snapshot_path(backend: str) -> Path:
    return SNAPSHOTS / f"algebra.{backend}.sql"


def _sections(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for block in text.split("\n\n"):
        first, _, rest = block.partition("\n")
        if first.startswith("-- ") and rest:
            out[first[3:]] = rest
    return out


@pytest.mark.parametrize("backend", sorted(DIALECTS))
def test_sql_matches_the_snapshot(backend: str) -> None:
    path = snapshot_path(backend)
    assert path.exists(), f"{path} is missing: run python tests/sql/test_algebra_snapshots.py"
    want, got = _sections(path.read_text(encoding="utf-8")), _sections(render(backend))
    assert list(got) == list(want), "the list of queries changed: regenerate the snapshots"
    for name in want:
        assert got[name] == want[name], f"{backend}: {name} (regenerate if intended, and review the diff)"


# -- DataJoint issue #450 ---------------------------------------------------------------------------
BLOB_COLUMN = re.compile(r"\bt\d+\.image\b|\bAS image\b", re.I)


def _subqueries(sql: str) -> list[str]:
    out = []
    for m in re.finditer(r"\(\s*SELECT", sql, re.I):
        depth = 0
        for j in range(m.start(), len(sql)):
            depth += {"(": 1, ")": -1}.get(sql[j], 0)
            if depth == 0:
                out.append(sql[m.start(): j + 1])
                break
    return out


BIG = [  # queries over the blob table that become subqueries (a LIMIT, a GROUP BY, a UNION, DISTINCT)
    lambda: Image & dj.Top(100, "notes"),
    lambda: (Image & dj.Top(100, "notes")) & {"notes": "x"},
    lambda: Image.aggr(Trial, n="count(*)"),
    lambda: (Image & dj.Top(100, "notes")).proj("notes") * Subject,
    lambda: (Image & dj.Top(100, "notes")).proj() + (Session & "rig = 1").proj(),
    lambda: dj.U("subject_id", "notes") & (Image & dj.Top(100, "notes")),
]


@pytest.mark.parametrize("backend", sorted(DIALECTS))
@pytest.mark.parametrize("i", range(len(BIG)))
def test_no_blob_column_in_a_subquery_unless_fetched(backend: str, i: int) -> None:
    """A restriction by a large query over a table with a blob column never selects the blob in
    a subquery, and neither does fetching keys (DataJoint #450)."""
    big = BIG[i]()
    uses = [Session & big, Session - big, Subject & (Session & big), (Session * big.proj()).proj()]
    for q in uses:
        sql, _ = compile_query(q, backend)
        for sub in _subqueries(sql):
            assert not BLOB_COLUMN.search(sub), sql
    key_sql, _ = compile_query(big, backend, names=big.primary_key)
    assert not BLOB_COLUMN.search(key_sql), key_sql
    if "image" in big.heading.names:
        full, _ = compile_query(big, backend)
        assert BLOB_COLUMN.search(full)  # asked for, the blob is selected


def test_every_query_compiles_on_every_dialect() -> None:
    for name, (build, options) in QUERIES.items():
        for backend in DIALECTS:
            sql, _ = compile_query(build(), backend, **options)
            assert sql.lstrip().upper().startswith("SELECT"), (name, backend)
    assert len(QUERIES) >= 30


if __name__ == "__main__":  # regenerate the snapshot files
    SNAPSHOTS.mkdir(exist_ok=True)
    for b in sorted(DIALECTS):
        snapshot_path(b).write_text(render(b), encoding="utf-8")
        print(f"wrote {snapshot_path(b).relative_to(HERE.parent.parent)}", file=sys.stderr)
