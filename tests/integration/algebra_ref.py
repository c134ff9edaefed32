"""A pure-Python reference for the query algebra, and hypothesis strategies for random queries.

A query is written once as a small syntax tree of tuples (``("join", e1, e2)``, ...). Two
interpreters read it: `build` turns it into a labjoin query over the tables of `declare`, and
`evaluate` computes its rows in Python over lists of dicts. The property tests compare the two,
so every operator is checked against an independent, obviously-correct definition.

The reference semantics (what labjoin promises, see docs/queries.md):

- Conditions use SQL's three-valued logic: a comparison with NULL is unknown, ``NOT unknown`` is
  unknown, and a row is kept only when its condition is true. ``{'a': None}`` means ``a IS NULL``.
- Matching on shared attributes (join, restriction by a query, union, aggregation) treats NULL as
  a value: two NULLs match, as DISTINCT and GROUP BY treat them.
- ``count(*)`` of a group with no match under ``keep_all_rows`` is 1 (the left join's NULL row).

Schema (all attributes integers except ``P.s``)::

    P(p | u, v=null, s)      C(-> P, c | w=null)      D(d | p=null, x)      E(x | y=null)
"""

from __future__ import annotations

import functools
import os
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from hypothesis import strategies as st

import labjoin as dj

__all__ = ["DEFINITIONS", "Rel", "build", "conditions", "connect", "data", "declare", "evaluate", "heading",
           "load", "normalize", "queries", "revalue", "schema_name"]

DEFINITIONS = {
    "P": "p: int\n---\nu: int\nv=null: int\ns: varchar(8)",
    "C": "-> P\nc: int\n---\nw=null: int",
    "D": "d: int\n---\np=null: int\nx: int",
    "E": "x: int\n---\ny=null: int",
}
BASE = {  # name -> (primary key, attributes, types)
    "P": (("p",), ("p", "u", "v", "s"), {"p": "int", "u": "int", "v": "int", "s": "str"}),
    "C": (("p", "c"), ("p", "c", "w"), {"p": "int", "c": "int", "w": "int"}),
    "D": (("d",), ("d", "p", "x"), {"d": "int", "p": "int", "x": "int"}),
    "E": (("x",), ("x", "y"), {"x": "int", "y": "int"}),
}
ORDER = ("P", "C", "D", "E")  # insertion order (parents first)
INTS = st.integers(0, 3)
STRS = st.sampled_from(["a", "b", "ab"])


# -- connections ----------------------------------------------------------------------------------
SERVER_URLS = {
    "postgresql": os.environ.get("LABJOIN_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"),
    "mysql": os.environ.get("LABJOIN_TEST_MYSQL_URL", "mysql://root@127.0.0.1:3306"),
}
REQUIRE = os.environ.get("LABJOIN_REQUIRE_SERVERS", "") not in ("", "0", "false")


def connect(backend: str, tmp_path: Any) -> dj.Connection:
    """A connection for module-scoped fixtures (conftest's `backend` is per test): a SQLite file
    in ``tmp_path``, or the test server, skipped (or failed, with LABJOIN_REQUIRE_SERVERS=1)
    when it is not reachable."""
    import pytest

    if backend == "sqlite":
        return dj.Connection(f"sqlite:///{tmp_path / 'algebra.sqlite'}")
    conn = dj.Connection(SERVER_URLS[backend])
    try:
        conn.ping()
    except dj.errors.BackendUnavailableError as e:
        msg = f"{backend} server not reachable at {SERVER_URLS[backend]} ({e})"
        if REQUIRE:
            pytest.fail(msg + " (LABJOIN_REQUIRE_SERVERS=1 makes this a failure)")
        pytest.skip(msg)
    return conn


def schema_name(suffix: str = "") -> str:
    """A fresh schema name with this stream's prefix (the servers are shared)."""
    return f"algebra_{uuid.uuid4().hex[:8]}{suffix}"


# -- tables and data ------------------------------------------------------------------------------
def declare(schema: Any) -> dict[str, Any]:
    """Declare P, C, D, E in ``schema``; returns the table classes by name."""
    ns: dict[str, Any] = {}
    for name in ORDER:
        cls = type(name, (dj.Manual,), {"definition": DEFINITIONS[name]})
        ns[name] = schema(cls, context=ns)
    return ns


@st.composite
def data(draw: Any) -> dict[str, list[dict[str, Any]]]:
    """Random contents of P, C, D, E (small domains, so joins and restrictions match often)."""
    ps = draw(st.lists(st.integers(0, 4), unique=True, max_size=5))
    P = [dict(p=p, u=draw(INTS), v=draw(st.none() | INTS), s=draw(STRS)) for p in ps]
    ckeys = draw(st.lists(st.tuples(st.sampled_from(ps), st.integers(0, 2)), unique=True, max_size=8)) if ps else []
    C = [dict(p=p, c=c, w=draw(st.none() | INTS)) for p, c in ckeys]
    ds = draw(st.lists(st.integers(0, 4), unique=True, max_size=5))
    D = [dict(d=d, p=draw(st.none() | st.integers(0, 5)), x=draw(INTS)) for d in ds]
    xs = draw(st.lists(st.integers(0, 4), unique=True, max_size=4))
    E = [dict(x=x, y=draw(st.none() | INTS)) for x in xs]
    return {"P": P, "C": C, "D": D, "E": E}


def load(tables: dict[str, Any], rows: dict[str, list[dict[str, Any]]]) -> None:
    """Replace the contents of every table by ``rows`` (in one transaction)."""
    conn = tables["P"].connection
    with conn.transaction:
        for name in reversed(ORDER):
            tables[name].delete_quick()
        for name in ORDER:
            if rows[name]:
                tables[name].insert(rows[name])


# -- the reference --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Rel:
    """A relation: primary key, attribute names (heading order does not matter), types, rows."""

    pk: tuple[str, ...]
    names: tuple[str, ...]
    types: dict[str, str]
    rows: list[dict[str, Any]]

    @property
    def secondary(self) -> tuple[str, ...]:
        return tuple(n for n in self.names if n not in self.pk)


def _eq(a: Any, b: Any) -> bool | None:
    return None if a is None or b is None else a == b


def _and(*vals: bool | None) -> bool | None:
    if any(v is False for v in vals):
        return False
    return None if any(v is None for v in vals) else True


def _or(*vals: bool | None) -> bool | None:
    if any(v is True for v in vals):
        return True
    return None if any(v is None for v in vals) else False


def _not(v: bool | None) -> bool | None:
    return None if v is None else not v


def _match(r: dict[str, Any], s: dict[str, Any], names: Any) -> bool:
    return all(r[n] == s[n] for n in names)  # NULL matches NULL (see the module docstring)


SQL = {  # template -> (text, Python function of the row returning True/False/None)
    "gt": (lambda a, v: f"{a} > {v}", lambda r, a, v: None if r[a] is None else r[a] > v),
    "isnull": (lambda a, v: f"{a} is null", lambda r, a, v: r[a] is None),
    "notgt": (lambda a, v: f"not {a} > {v}", lambda r, a, v: None if r[a] is None else not r[a] > v),
    "between": (lambda a, v: f"{a} between {v} and {v + 1}",
                lambda r, a, v: None if r[a] is None else v <= r[a] <= v + 1),
    "in": (lambda a, v: f"{a} in ({v}, {v + 2})", lambda r, a, v: None if r[a] is None else r[a] in (v, v + 2)),
    "ne_or": (lambda a, v: f"{a} != {v} or {a} = 0",
              lambda r, a, v: _or(_not(_eq(r[a], v)), _eq(r[a], 0))),
    "like": (lambda a, v: f'{a} like "a%"', lambda r, a, v: None if r[a] is None else r[a].startswith("a")),
}
COMPUTED = {
    "add": (lambda a, k: f"{a} + {k}", lambda r, a, k: None if r[a] is None else r[a] + k),
    "ifnull": (lambda a, k: f"ifnull({a}, {k})", lambda r, a, k: k if r[a] is None else r[a]),
    "mul": (lambda a, k: f"{a} * {a}", lambda r, a, k: None if r[a] is None else r[a] * r[a]),
}


def _aggregate(fn: str, attr: str | None, rows: list[dict[str, Any]], n_rows: int) -> Any:
    if fn == "count":
        return n_rows if attr is None else sum(r[attr] is not None for r in rows)
    vals = [r[attr] for r in rows if r[attr] is not None]
    if not vals:
        return None
    return {"sum": sum, "max": max, "min": min}[fn](vals)


def _agg_text(fn: str, attr: str | None) -> str:
    return f"{fn}({'*' if attr is None else attr})"


def test_cond(c: Any, r: dict[str, Any], names: Any, data_: dict[str, Any]) -> bool | None:
    """Truth value of condition ``c`` on row ``r`` of a relation with attributes ``names``."""
    kind = c[0]
    if kind == "bool":
        return c[1]
    if kind == "u":
        return True
    if kind == "dict":
        items = [(k, v) for k, v in c[1].items() if k in names]
        return _and(*[(r[k] is None) if v is None else _eq(r[k], v) for k, v in items])
    if kind == "sql":
        return SQL[c[1]][1](r, c[2], c[3])
    if kind == "list":
        return _or(*[test_cond(x, r, names, data_) for x in c[1]])
    if kind == "andlist":
        return _and(*[test_cond(x, r, names, data_) for x in c[1]])
    if kind == "not":
        return _not(test_cond(c[1], r, names, data_))
    if kind == "query":
        other = evaluate(c[1], data_)
        shared = [n for n in other.names if n in names]
        return any(_match(r, s, shared) for s in other.rows)
    raise ValueError(kind)


def _sort_key(order: list[tuple[str, bool]]) -> Any:
    def key(r: dict[str, Any]) -> tuple[Any, ...]:
        out: list[Any] = []
        for name, desc in order:
            v = r[name]
            # NULL sorts first ascending and last descending (MySQL and SQLite; labjoin makes
            # PostgreSQL agree)
            if desc:
                out.append((0, _Neg(v)) if v is not None else (1, 0))
            else:
                out.append((0, 0) if v is None else (1, v))
        return tuple(out)

    return key


@functools.total_ordering
class _Neg:
    __slots__ = ("v",)

    def __init__(self, v: Any) -> None:
        self.v = v

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Neg) and self.v == other.v

    def __lt__(self, other: _Neg) -> bool:
        return self.v > other.v


def evaluate(e: Any, data_: dict[str, list[dict[str, Any]]]) -> Rel:
    """The rows of query ``e`` over ``data_`` (table name -> rows), computed in Python."""
    kind = e[0]
    if kind == "table":
        pk, names, types = BASE[e[1]]
        return Rel(pk, names, dict(types), [dict(r) for r in data_[e[1]]])
    if kind in ("restrict", "antirestrict"):
        q = evaluate(e[1], data_)
        keep = []
        for r in q.rows:
            t = test_cond(e[2], r, q.names, data_)
            if (t is True) if kind == "restrict" else (_not(t) is True):
                keep.append(r)
        return Rel(q.pk, q.names, q.types, keep)
    if kind == "top":
        _, sub, limit, offset, order = e
        q = evaluate(sub, data_)
        rows = sorted(q.rows, key=_sort_key([*order, *((k, False) for k in q.pk)]))
        rows = rows[offset:] if limit is None else rows[offset: offset + limit]
        return Rel(q.pk, q.names, q.types, rows)
    if kind in ("join", "extend"):
        a, b = evaluate(e[1], data_), evaluate(e[2], data_)
        shared = [n for n in a.names if n in b.names]
        extra = [n for n in b.names if n not in a.names]
        rows = []
        for r in a.rows:
            matches = [s for s in b.rows if _match(r, s, shared)]
            rows.extend({**r, **{n: s[n] for n in extra}} for s in matches)
            if not matches and kind == "extend":
                rows.append({**r, **dict.fromkeys(extra)})
        pk = a.pk + tuple(n for n in b.pk if n not in a.pk)
        return Rel(pk, a.names + tuple(extra), {**b.types, **a.types}, rows)
    if kind == "proj":
        _, sub, keep, renames, computed = e
        q = evaluate(sub, data_)
        sources = set(renames.values())
        kept = [n for n in q.names if (n in q.pk and n not in sources) or n in keep]
        names = (*kept, *renames, *computed)
        pk = tuple(n for n in kept if n in q.pk) + tuple(new for new, old in renames.items() if old in q.pk)
        types = {n: q.types[n] for n in kept}
        types.update({new: q.types[old] for new, old in renames.items()})
        types.update(dict.fromkeys(computed, "int"))
        rows = []
        for r in q.rows:
            row = {n: r[n] for n in kept}
            row.update({new: r[old] for new, old in renames.items()})
            row.update({new: COMPUTED[f][1](r, a, k) for new, (f, a, k) in computed.items()})
            rows.append(row)
        return Rel(pk, names, types, rows)
    if kind == "aggr":
        _, gexpr, sexpr, keep, computed, outer = e
        g, s = evaluate(gexpr, data_), evaluate(sexpr, data_)
        shared = [n for n in g.names if n in s.names]
        rows = []
        for r in g.rows:
            matches = [x for x in s.rows if _match(r, x, shared)]
            if not matches and not outer:
                continue
            row = {n: r[n] for n in (*g.pk, *keep)}
            # a group with no match is one left-joined row of NULLs: count(*) is 1 there
            row.update({new: _aggregate(fn, a, matches, max(len(matches), 1)) for new, (fn, a) in computed.items()})
            rows.append(row)
        types = {n: g.types[n] for n in (*g.pk, *keep)}
        types.update(dict.fromkeys(computed, "int"))
        return Rel(g.pk, (*g.pk, *keep, *computed), types, rows)
    if kind == "union":
        a, b = evaluate(e[1], data_), evaluate(e[2], data_)
        rows = []
        for r in a.rows:
            m = [s for s in b.rows if _match(r, s, a.pk)]
            rows.append({**r, **{n: (m[0][n] if m else None) for n in b.secondary}})
        for s in b.rows:
            if not any(_match(s, r, a.pk) for r in a.rows):
                rows.append({**s, **dict.fromkeys(a.secondary)})
        return Rel(a.pk, a.names + b.secondary, {**a.types, **b.types}, _distinct(rows))
    if kind == "udistinct":
        _, attrs, sub = e
        q = evaluate(sub, data_)
        return Rel(tuple(attrs), tuple(attrs), {n: q.types[n] for n in attrs},
                   _distinct([{n: r[n] for n in attrs} for r in q.rows]))
    if kind == "ugroup":
        _, attrs, sub, computed = e
        q = evaluate(sub, data_)
        groups: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
        for r in q.rows:
            groups.setdefault(tuple(r[n] for n in attrs), []).append(r)
        if not attrs and not groups:
            groups[()] = []  # an aggregate without GROUP BY returns one row, even of nothing
        rows = []
        for k, members in groups.items():
            row = dict(zip(attrs, k))
            row.update({new: _aggregate(fn, a, members, len(members)) for new, (fn, a) in computed.items()})
            rows.append(row)
        types = {n: q.types[n] for n in attrs}
        types.update(dict.fromkeys(computed, "int"))
        return Rel(tuple(attrs), (*attrs, *computed), types, rows)
    if kind == "promote":
        _, sub, attrs = e
        q = evaluate(sub, data_)
        return Rel(q.pk + tuple(a for a in attrs if a not in q.pk), q.names, q.types, q.rows)
    raise ValueError(kind)


def _distinct(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    seen, out = set(), []
    for r in rows:
        k = tuple(sorted(r.items()))
        if k not in seen:
            seen.add(k)
            out.append(r)
    return out


# -- labjoin --------------------------------------------------------------------------------------
def build_cond(c: Any, t: dict[str, Any]) -> Any:
    """The labjoin restriction for condition ``c``."""
    kind = c[0]
    if kind == "bool":
        return c[1]
    if kind == "u":
        return dj.U()
    if kind == "dict":
        return dict(c[1])
    if kind == "sql":
        return SQL[c[1]][0](c[2], c[3])
    if kind == "list":
        return [build_cond(x, t) for x in c[1]]
    if kind == "andlist":
        return dj.AndList([build_cond(x, t) for x in c[1]])
    if kind == "not":
        return dj.Not(build_cond(c[1], t))
    if kind == "query":
        return build(c[1], t)
    raise ValueError(kind)


def build(e: Any, t: dict[str, Any]) -> Any:
    """The labjoin query for ``e`` over the table classes ``t`` (from `declare`)."""
    kind = e[0]
    if kind == "table":
        return t[e[1]]()
    if kind == "restrict":
        return build(e[1], t) & build_cond(e[2], t)
    if kind == "antirestrict":
        return build(e[1], t) - build_cond(e[2], t)
    if kind == "top":
        _, sub, limit, offset, order = e
        # ties are broken by the primary key (labjoin appends it to every ordering)
        ob = [f"{n} desc" if d else n for n, d in order] or ["KEY"]
        return build(sub, t) & dj.Top(limit, ob, offset)
    if kind == "join":
        return build(e[1], t) * build(e[2], t)
    if kind == "extend":
        return build(e[1], t).extend(build(e[2], t))
    if kind == "proj":
        _, sub, keep, renames, computed = e
        named = dict(renames)
        named.update({new: COMPUTED[f][0](a, k) for new, (f, a, k) in computed.items()})
        return build(sub, t).proj(*keep, **named)
    if kind == "aggr":
        _, g, s, keep, computed, outer = e
        named = {new: _agg_text(fn, a) for new, (fn, a) in computed.items()}
        return build(g, t).aggr(build(s, t), *keep, keep_all_rows=outer, **named)
    if kind == "union":
        return build(e[1], t) + build(e[2], t)
    if kind == "udistinct":
        return dj.U(*e[1]) & build(e[2], t)
    if kind == "ugroup":
        _, attrs, sub, computed = e
        return dj.U(*attrs).aggr(build(sub, t), **{new: _agg_text(fn, a) for new, (fn, a) in computed.items()})
    if kind == "promote":
        return build(e[1], t) * dj.U(*e[2])
    raise ValueError(kind)


def normalize(rows: list[dict[str, Any]], names: Any = None) -> list[tuple[Any, ...]]:
    """Rows as sorted tuples over ``names`` (default: sorted keys), numbers made comparable:
    SUM is a DECIMAL on MySQL and PostgreSQL, an integer on SQLite."""
    out = []
    for r in rows:
        keys = sorted(r) if names is None else names
        vals = []
        for k in keys:
            v = r[k]
            if isinstance(v, (Decimal, float)) and v == int(v):
                v = int(v)
            elif hasattr(v, "item") and not isinstance(v, (str, bytes)):
                v = v.item()
            vals.append((k, v))
        out.append(tuple(vals))
    return sorted(out, key=repr)


# -- hypothesis strategies ----------------------------------------------------------------------
EMPTY = {name: [] for name in ORDER}
FRESH = ("k0", "k1", "k2", "k3", "k4")


def heading(e: Any) -> Rel:
    """The heading of ``e`` (evaluated over empty tables)."""
    return evaluate(e, EMPTY)


def _ints(h: Rel) -> list[str]:
    return [n for n in h.names if h.types[n] == "int"]


@st.composite
def conditions(draw: Any, h: Rel, depth: int = 2) -> Any:
    """A random restriction over heading ``h`` (a syntax tree for `build_cond`/`test_cond`)."""
    kinds = ["dict", "sql", "bool", "dict", "sql"]
    if depth > 0:
        kinds += ["list", "andlist", "not", "query", "query"]
    kind = draw(st.sampled_from(kinds))
    names = list(h.names)
    if kind == "bool":
        return ("bool", draw(st.booleans())) if draw(st.integers(0, 5)) else ("u",)
    if kind == "dict":
        if not names:
            return ("dict", {"zz": 1})
        chosen = draw(st.lists(st.sampled_from(names), unique=True, min_size=1, max_size=2))
        d = {n: draw(st.none() | (STRS if h.types[n] == "str" else INTS)) for n in chosen}
        if draw(st.integers(0, 4)) == 0:
            d["zz"] = 1  # not in the heading: ignored
        return ("dict", d)
    if kind == "sql":
        ints = _ints(h)
        strs = [n for n in names if h.types[n] == "str"]
        if strs and (not ints or draw(st.integers(0, 4)) == 0):
            return ("sql", "like", draw(st.sampled_from(strs)), 0)
        if not ints:
            return ("bool", True)
        template = draw(st.sampled_from(["gt", "isnull", "notgt", "between", "in", "ne_or"]))
        return ("sql", template, draw(st.sampled_from(ints)), draw(INTS))
    if kind in ("list", "andlist"):
        return (kind, tuple(draw(st.lists(conditions(h, depth - 1), max_size=3))))
    if kind == "not":
        return ("not", draw(conditions(h, depth - 1)))
    return ("query", draw(queries(depth=depth - 1)))


def _joinable(a: Rel, b: Rel) -> bool:
    return all(n in a.pk or n in b.pk for n in a.names if n in b.names) and \
        all(a.types[n] == b.types[n] for n in a.names if n in b.names)


@st.composite
def queries(draw: Any, depth: int = 2, base: Any = None) -> Any:
    """A random query (syntax tree): a base table and up to ``depth`` operators on it."""
    e = base if base is not None else ("table", draw(st.sampled_from(ORDER)))
    for _ in range(draw(st.integers(0, depth))):
        e = draw(_operator(e, depth - 1))
    return e


@st.composite
def _operator(draw: Any, e: Any, depth: int) -> Any:
    h = heading(e)
    op = draw(st.sampled_from(["restrict", "restrict", "antirestrict", "top", "join", "proj", "proj",
                               "aggr", "union", "udistinct", "ugroup", "promote", "extend"]))
    if op in ("restrict", "antirestrict"):
        return (op, e, draw(conditions(h, max(depth, 0) + 1)))
    if op == "top":
        order = draw(st.lists(st.tuples(st.sampled_from(h.names), st.booleans()), max_size=2)) if h.names else []
        return ("top", e, draw(st.none() | st.integers(0, 4)), draw(st.integers(0, 2)), tuple(order))
    if op in ("join", "extend"):
        other = draw(queries(depth=max(depth, 0)))
        oh = heading(other)
        if not _joinable(h, oh):
            other = ("proj", other, (), {}, {})
            oh = heading(other)
        if not _joinable(h, oh):
            return e
        if op == "extend" and not set(oh.pk) <= set(h.names):
            return ("join", e, other)
        return (op, e, other)
    if op == "proj":
        keep = tuple(draw(st.lists(st.sampled_from(h.secondary), unique=True))) if h.secondary else ()
        fresh = [n for n in FRESH if n not in h.names]
        renames, computed = {}, {}
        if fresh and h.names and draw(st.booleans()):
            old = draw(st.sampled_from(h.names))
            if old not in keep:
                renames[fresh.pop(0)] = old
        ints = _ints(h)
        if fresh and ints and draw(st.booleans()):
            computed[fresh.pop(0)] = (draw(st.sampled_from(sorted(COMPUTED))), draw(st.sampled_from(ints)),
                                      draw(INTS))
        return ("proj", e, keep, renames, computed)
    if op == "aggr":
        src = draw(queries(depth=max(depth, 0)))
        sh = heading(src)
        if not _joinable(h, sh):
            return e
        keep = tuple(draw(st.lists(st.sampled_from(h.secondary), unique=True))) if h.secondary else ()
        computed = _aggregates(draw, [n for n in _ints(sh) if n not in h.names], h.names)
        return ("aggr", e, src, keep, computed, draw(st.booleans()))
    if op == "union":
        other = draw(queries(depth=0, base=e))
        other = ("restrict", other, draw(conditions(h, 1)))
        sec = list(h.secondary)
        left = tuple(draw(st.lists(st.sampled_from(sec), unique=True))) if sec else ()
        right = tuple(n for n in sec if n not in left and draw(st.booleans()))
        return ("union", ("proj", e, left, {}, {}), ("proj", other, right, {}, {}))
    if op in ("udistinct", "ugroup"):
        attrs = tuple(draw(st.lists(st.sampled_from(h.names), unique=True, max_size=2))) if h.names else ()
        if op == "udistinct":
            # dj.U() & q has no attributes at all: tested on its own (len and bool)
            return ("udistinct", attrs, e) if attrs else ("promote", e, ())
        return ("ugroup", attrs, e, _aggregates(draw, [n for n in _ints(h) if n not in attrs], attrs))
    if op == "promote":
        attrs = tuple(draw(st.lists(st.sampled_from(h.secondary), unique=True, max_size=2))) if h.secondary else ()
        return ("promote", e, attrs)
    raise ValueError(op)


def _aggregates(draw: Any, ints: list[str], taken: Any) -> dict[str, tuple[str, str | None]]:
    out: dict[str, tuple[str, str | None]] = {}
    names = [n for n in ("n0", "n1", "n2") if n not in taken]
    for name in names[: draw(st.integers(1, len(names)))] if names else ():
        if ints and draw(st.booleans()):
            out[name] = (draw(st.sampled_from(["count", "sum", "max", "min"])), draw(st.sampled_from(ints)))
        else:
            out[name] = ("count", None)
    return out


def revalue(e: Any, rnd: Any) -> Any:
    """``e`` with other values in its dict conditions, keeping the shape: same attributes, and
    NULL where there was NULL (``IS NULL`` is another shape)."""
    if isinstance(e, tuple) and e and e[0] == "dict":
        return ("dict", {k: (None if v is None else (v if isinstance(v, str) else rnd.randint(0, 3)))
                         for k, v in e[1].items()})
    if isinstance(e, tuple):
        return tuple(revalue(x, rnd) for x in e)
    return e
