"""Compile algebra nodes into SQLAlchemy Core.

A node compiles into a ``State``: the FROM clause built so far, each attribute's SQL expression,
the WHERE terms, and the grouping/distinct/limit that make further composition unsafe. Each
operator extends the state of its input when it can (one flat SELECT), and wraps it as a
subquery when it cannot. That decision lives in one function, ``needs_subquery``, so it can be
read and tested in one place.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from .. import errors
from ..algebra import conditions as C
from ..algebra import nodes as N
from ..heading.codecs import encoder
from .dialects import Backend
from .statement_cache import BIND_PREFIX

__all__ = ["Compiler", "State", "needs_subquery"]

# Restricting by a long list of keys: one IN list per chunk keeps every backend under its
# parameter limit (SQLite: 32766) and its planner fast.
IN_CHUNK = 5000


@dataclass
class State:
    froms: sa.FromClause
    cols: dict[str, ColumnElement[Any]]
    where: list[ColumnElement[Any]] = field(default_factory=list)
    group_by: list[ColumnElement[Any]] | None = None
    distinct: bool = False
    order_by: list[Any] = field(default_factory=list)
    limit: int | None = None
    offset: int = 0

    @property
    def flat(self) -> bool:
        """True when more WHERE terms, joins or columns can be added without a subquery."""
        return self.group_by is None and not self.distinct and self.limit is None and not self.offset


def needs_subquery(state: State, op: str) -> bool:
    """Does applying ``op`` to ``state`` require wrapping it in a subquery first?

    ``op`` is one of: ``restrict``, ``join`` (either side), ``outer_right`` (right side of a
    left join), ``group`` (source of an aggregation), ``project``, ``top``.
    """
    if op == "project":
        return False  # projection only renames/computes select-list expressions
    if op == "top":
        return state.limit is not None or bool(state.offset)
    if op == "outer_right":
        return not state.flat or bool(state.where)
    return not state.flat


class Compiler:
    """Compiles node trees for one backend. Aliases are unique within one compilation."""

    def __init__(self, backend: Backend, bases: dict[int, int] | None = None) -> None:
        self.backend = backend
        self._counter = itertools.count()
        # id(condition) -> index of its first value (from statement_cache.shape): values are bound
        # as lj_<index> so a cached compilation can take another query's values
        self._bases = bases or {}

    def _bind(self, cond: C.Cond, index: int, value: Any) -> Any:
        base = self._bases.get(id(cond))
        if base is None:
            return sa.bindparam(None, value)
        return sa.bindparam(f"{BIND_PREFIX}{base + index}", value)

    # -- entry points -----------------------------------------------------------------------
    def select(self, node: N.Node, names: Iterable[str] | None = None, *, order_by: Any = None,
               limit: int | None = None, offset: int | None = None) -> sa.Select[Any]:
        state = self.compile(node)
        names = list(node.heading.names if names is None else names)
        if order_by is not None or limit is not None or offset:
            if needs_subquery(state, "top"):
                state = self.wrap(state)
            state.order_by = self._order(state, N.expand_order(order_by, node.heading))
            state.limit = limit
            state.offset = offset or 0
        return self.to_select(state, names)

    def count(self, node: N.Node) -> sa.Select[Any]:
        state = self.compile(node)
        if state.flat:
            stmt = sa.select(sa.func.count()).select_from(state.froms)
            return stmt.where(*state.where) if state.where else stmt
        sub = self.to_select(state, node.heading.primary_key or node.heading.names).subquery(self._alias())
        return sa.select(sa.func.count()).select_from(sub)

    def where_for(self, node: N.Node) -> tuple[State, list[ColumnElement[Any]]]:
        state = self.compile(node)
        return state, state.where

    # -- state helpers ------------------------------------------------------------------------
    def _alias(self) -> str:
        return f"t{next(self._counter)}"

    def to_select(self, state: State, names: Iterable[str]) -> sa.Select[Any]:
        cols = [state.cols[n].label(n) for n in names]
        stmt = sa.select(*cols) if cols else sa.select(sa.literal(1).label("_one"))
        stmt = stmt.select_from(state.froms)
        if state.where:
            stmt = stmt.where(*state.where)
        if state.group_by is not None:
            stmt = stmt.group_by(*state.group_by)
        if state.distinct:
            stmt = stmt.distinct()
        if state.order_by:
            stmt = stmt.order_by(*state.order_by)
        if state.limit is not None:
            stmt = stmt.limit(state.limit)
        if state.offset:
            if state.limit is None and self.backend.name in ("mysql", "sqlite"):
                stmt = stmt.limit(2**62)  # both need a LIMIT before OFFSET
            stmt = stmt.offset(state.offset)
        return stmt

    def wrap(self, state: State, names: Iterable[str] | None = None) -> State:
        names = list(state.cols if names is None else names)
        sub = self.to_select(state, names).subquery(self._alias())
        return State(sub, {n: sub.c[n] for n in names})

    def _order(self, state: State, items: list[tuple[str, bool]]) -> list[Any]:
        out = []
        for name, desc in items:
            if name not in state.cols:
                raise errors.UnknownAttributeError(f"Cannot order by `{name}`: it is not in the query's heading.")
            col = state.cols[name]
            term = col.desc() if desc else col.asc()
            if self.backend.name == "postgresql":
                # MySQL and SQLite sort NULLs first ascending; make PostgreSQL agree.
                term = term.nulls_last() if desc else term.nulls_first()
            out.append(term)
        return out

    # -- node compilation ---------------------------------------------------------------------
    def compile(self, node: N.Node) -> State:
        method: Callable[[Any], State] = getattr(self, "_c_" + type(node).__name__)
        return method(node)

    def _c_TableNode(self, node: N.TableNode) -> State:
        schema, name = self.backend.physical(node.schema, node.name)
        table = sa.table(name, *[sa.column(n) for n in node.heading.names], schema=schema)
        alias = table.alias(self._alias())
        return State(alias, {n: alias.c[n] for n in node.heading.names})

    def _c_Restrict(self, node: N.Restrict) -> State:
        state = self.compile(node.child)
        if needs_subquery(state, "restrict"):
            state = self.wrap(state)
        term = self.condition(node.cond, state, node.child.heading)
        if term is not None:
            state.where.append(term)
        return state

    def _c_Project(self, node: N.Project) -> State:
        state = self.compile(node.child)
        resolve = self._resolver(state, node.child.heading)
        cols = {n: state.cols[n] for n in node.keep}
        for new, old in node.renames:
            cols[new] = state.cols[old]
        for new, expr in node.computed:
            frag = _fragment(expr)
            cols[new] = frag.to_sqlalchemy(resolve)
        state.cols = cols
        return state

    def _join_states(self, left: State, right: State, shared: list[str], outer: bool) -> State:
        if needs_subquery(left, "join"):
            left = self.wrap(left)
        if needs_subquery(right, "outer_right" if outer else "join"):
            right = self.wrap(right)
        on = sa.and_(*[left.cols[a] == right.cols[a] for a in shared]) if shared else sa.true()
        froms = left.froms.join(right.froms, on, isouter=outer)
        cols = {**right.cols, **left.cols}
        return State(froms, cols, left.where + right.where)

    def _c_Join(self, node: N.Join) -> State:
        left, right = self.compile(node.left), self.compile(node.right)
        shared = [n for n in node.left.heading.names if n in node.right.heading]
        return self._join_states(left, right, shared, node.outer)

    def _c_Aggregate(self, node: N.Aggregate) -> State:
        g, s = self.compile(node.group), self.compile(node.source)
        shared = [n for n in node.group.heading.names if n in node.source.heading]
        state = self._join_states(g, s, shared, node.outer)
        resolve = self._resolver(state, node.group.heading.join(node.source.heading))
        kept = node.heading.names[: len(node.heading.names) - len(node.computed)]
        cols = {n: state.cols[n] for n in kept}
        for new, expr in node.computed:
            cols[new] = _fragment(expr).to_sqlalchemy(resolve)
        # Group by every kept attribute of the group: they depend on its primary key, so the
        # groups are the same, and MariaDB's ONLY_FULL_GROUP_BY (which cannot see that) accepts it.
        return State(state.froms, cols, state.where, group_by=[state.cols[n] for n in kept])

    def _c_GroupU(self, node: N.GroupU) -> State:
        state = self.compile(node.source)
        if needs_subquery(state, "group"):
            state = self.wrap(state)
        resolve = self._resolver(state, node.source.heading)
        cols = {n: state.cols[n] for n in node.attrs}
        for new, expr in node.computed:
            cols[new] = _fragment(expr).to_sqlalchemy(resolve)
        return State(state.froms, cols, state.where, group_by=[state.cols[n] for n in node.attrs])

    def _c_Distinct(self, node: N.Distinct) -> State:
        state = self.compile(node.source)
        if needs_subquery(state, "group"):
            state = self.wrap(state)
        return State(state.froms, {n: state.cols[n] for n in node.attrs}, state.where, distinct=True)

    def _c_Promote(self, node: N.Promote) -> State:
        return self.compile(node.source)

    def _c_TopNode(self, node: N.TopNode) -> State:
        state = self.compile(node.child)
        if needs_subquery(state, "top"):
            state = self.wrap(state)
        state.order_by = self._order(state, N.expand_order(node.order_by, node.child.heading))
        state.limit = node.limit
        state.offset = node.offset
        return state

    def _c_Union(self, node: N.Union) -> State:
        a, b = node.left.heading, node.right.heading
        pk = a.primary_key
        names = node.heading.names
        if not a.secondary_attributes and not b.secondary_attributes:
            sel_a = self.to_select(self.compile(node.left), names)
            sel_b = self.to_select(self.compile(node.right), names)
            sub = sa.union(sel_a, sel_b).subquery(self._alias())
            return State(sub, {n: sub.c[n] for n in names})
        # With secondary attributes: rows of A (with B's values where B matches), plus the rows
        # of B that A lacks (A's attributes NULL).
        left = self._join_states(self.compile(node.left), self.compile(node.right), pk, outer=True)
        sel_1 = self.to_select(left, names)
        right = self.compile(node.right)
        if needs_subquery(right, "restrict"):
            right = self.wrap(right)
        inner = self.compile(node.left)
        if needs_subquery(inner, "restrict"):
            inner = self.wrap(inner)
        missing = ~sa.exists(
            sa.select(sa.literal(1)).select_from(inner.froms)
            .where(*inner.where, *[inner.cols[k] == right.cols[k] for k in pk])
        )
        cols = [right.cols[n].label(n) if n in right.cols else sa.null().label(n) for n in names]
        sel_2 = sa.select(*cols).select_from(right.froms).where(*right.where, missing)
        sub = sa.union(sel_1, sel_2).subquery(self._alias())
        return State(sub, {n: sub.c[n] for n in names})

    # -- conditions ---------------------------------------------------------------------------
    def _resolver(self, state: State, heading: Any) -> Callable[[str], ColumnElement[Any]]:
        def resolve(name: str) -> ColumnElement[Any]:
            try:
                return state.cols[name]
            except KeyError:
                raise heading.unknown(name) from None

        return resolve

    def condition(self, cond: C.Cond, state: State, heading: Any) -> ColumnElement[Any] | None:
        """SQL for ``cond`` over ``state``'s columns (None when it keeps every row)."""
        if cond is C.TrueCond:
            return None
        if cond is C.FalseCond:
            return sa.false()
        backend = self.backend.name
        if isinstance(cond, C.Eq):
            terms = []
            for i, (name, value) in enumerate(cond.items):
                col = state.cols[name]
                if value is None:
                    terms.append(col.is_(None))
                else:
                    terms.append(col == self._bind(cond, i, encoder(heading[name], backend)(value)))
            return sa.and_(*terms)
        if isinstance(cond, C.KeysIn):
            encs = [encoder(heading[a], backend) for a in cond.attrs]
            width = len(cond.attrs)
            binds = [[self._bind(cond, r * width + k, e(v)) for k, (e, v) in enumerate(zip(encs, row))]
                     for r, row in enumerate(cond.rows)]
            cols = [state.cols[a] for a in cond.attrs]
            chunks = []
            for i in range(0, len(binds), IN_CHUNK):
                part = binds[i: i + IN_CHUNK]
                if len(cols) == 1:
                    chunks.append(cols[0].in_([r[0] for r in part]))
                else:
                    chunks.append(sa.tuple_(*cols).in_([sa.tuple_(*r) for r in part]))
            return sa.or_(*chunks) if len(chunks) > 1 else chunks[0]
        if isinstance(cond, C.Sql):
            from .fragments import check_columns

            frag = _fragment(cond.text)
            check_columns(frag, heading.names)  # names every unknown attribute, with a suggestion
            return frag.to_condition(self._resolver(state, heading))
        if isinstance(cond, C.Semi):
            return self._semijoin(cond.node, state, heading)
        if isinstance(cond, C.And):
            parts = [self.condition(c, state, heading) for c in cond.items]
            return sa.and_(*[p for p in parts if p is not None]) if any(p is not None for p in parts) else None
        if isinstance(cond, C.Or):
            parts = [self.condition(c, state, heading) for c in cond.items]
            if any(p is None for p in parts):
                return None
            return sa.or_(*parts)
        if isinstance(cond, C.NotC):
            inner = self.condition(cond.item, state, heading)
            return sa.false() if inner is None else sa.not_(inner)
        raise errors.QueryError(f"Cannot compile condition {cond!r}.")

    def _semijoin(self, node: N.Node, state: State, heading: Any) -> ColumnElement[Any]:
        sub = self.compile(node)
        if needs_subquery(sub, "restrict"):
            sub = self.wrap(sub, node.heading.names)
        shared = [n for n in node.heading.names if n in heading]
        terms = [sub.cols[n] == state.cols[n] for n in shared]
        # correlated through the shared columns: SQLAlchemy correlates the outer aliases itself
        inner = sa.select(sa.literal(1)).select_from(sub.froms).where(*sub.where, *terms)
        return sa.exists(inner)


def _fragment(text: str) -> Any:
    from .fragments import parse_fragment

    return parse_fragment(text)
