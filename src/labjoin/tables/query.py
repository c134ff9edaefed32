"""QueryExpression: the user-facing query object. Operators build algebra nodes; fetches compile
them for the connection's backend and decode the results column by column.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from .. import errors
from ..algebra import conditions as C
from ..algebra import nodes as N
from ..connection import fetch as F
from ..sql.compiler import Compiler
from ..sql.statement_cache import params_for, shape, slots_of

CACHE_MAX_VALUES = 1000

__all__ = ["QueryExpression", "U"]


def _node_of(obj: Any) -> N.Node | None:
    if isinstance(obj, type) and issubclass(obj, QueryExpression):
        obj = obj()
    if isinstance(obj, QueryExpression):
        return obj._node
    return None


class QueryExpression:
    """A relational query over one connection. Immutable: every operator returns a new query."""

    _connection: Any = None

    def __init__(self, node: N.Node, connection: Any) -> None:
        self._query_node = node
        self._connection = connection

    # -- basics -----------------------------------------------------------------------------
    @property
    def _node(self) -> N.Node:
        return self._query_node

    @property
    def connection(self) -> Any:
        return self._connection

    @property
    def heading(self) -> Any:
        return self._node.heading

    @property
    def primary_key(self) -> list[str]:
        return self.heading.primary_key

    @property
    def original_heading(self) -> Any:
        return self.heading

    def _derive(self, node: N.Node) -> QueryExpression:
        return QueryExpression(node, self.connection)

    def _compiler(self) -> Compiler:
        return Compiler(self.connection.backend)

    def _statement(self, kind: str = "select", names: Any = None, *, order_by: Any = None,
                   limit: int | None = None, offset: int | None = None) -> tuple[str, Any]:
        """SQL text and driver parameters of this query, compiled once per query shape.

        ``kind`` is ``select`` (the attributes ``names``, default all) or ``count``.
        """
        conn = self.connection
        backend = conn.backend.name
        node = self._node
        names = tuple(self.heading.names if names is None else names)
        key, values, bases = shape(node, backend)
        order = tuple(order_by) if isinstance(order_by, (list, tuple)) else order_by
        full_key = (kind, key, names, order, limit, offset)
        cache = conn.statement_cache
        entry = cache.get(full_key)
        if entry is None:
            comp = Compiler(conn.backend, bases)
            if kind == "count":
                stmt = comp.count(node)
            else:
                stmt = comp.select(node, names, order_by=order_by, limit=limit, offset=offset)
            compiled = stmt.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
            slots, positional = slots_of(compiled)
            entry = (compiled.string, slots, positional)
            if len(values) <= CACHE_MAX_VALUES:  # long key lists would fill the cache with one-offs
                cache.put(full_key, *entry)
        sql, slots, positional = entry
        return sql, params_for(slots, positional, values)

    # -- restriction --------------------------------------------------------------------------
    def _cond(self, restriction: Any) -> C.Cond:
        def as_node(r: Any) -> C.Cond | None:
            if isinstance(r, U) or (isinstance(r, type) and issubclass(r, U)):
                return C.TrueCond
            node = _node_of(r)
            return None if node is None else C.Semi(node)

        return C.normalize(restriction, self.heading, as_node=as_node)

    def restrict(self, restriction: Any, semantic_check: bool | None = None) -> QueryExpression:
        if isinstance(restriction, C.Top):
            return self._derive(N.TopNode(self._node, restriction.limit, int(restriction.offset),
                                          tuple(restriction.order_by)))
        cond = self._cond(restriction)
        if isinstance(cond, C.Sql):  # report unknown attributes now, not at the first fetch
            from ..sql.fragments import check_columns, parse_fragment

            check_columns(parse_fragment(cond.text), self.heading.names)
        if cond is C.TrueCond:
            return self._derive(self._node)
        if isinstance(cond, C.Semi) and _semantic(semantic_check, self.connection):
            N._check_joinable(self.heading, cond.node.heading, True)
        return self._derive(N.Restrict(self._node, cond))

    def __and__(self, restriction: Any) -> QueryExpression:
        return self.restrict(restriction)

    def __sub__(self, restriction: Any) -> QueryExpression:
        if isinstance(restriction, C.Top):
            raise errors.QueryError("Cannot subtract a dj.Top; restrict by it with & instead.")
        return self.restrict(C.Not(restriction))

    def __xor__(self, restriction: Any) -> QueryExpression:  # 0.14's permissive restriction
        return self.restrict(restriction, semantic_check=False)

    # -- join, union ----------------------------------------------------------------------------
    def join(self, other: Any, semantic_check: bool | None = None, left: bool = False) -> QueryExpression:
        if isinstance(other, U) or (isinstance(other, type) and issubclass(other, U)):
            u = other if isinstance(other, U) else other()
            return self._derive(N.Promote(tuple(u.attributes), self._node))
        node = _node_of(other)
        if node is None:
            raise errors.QueryError(f"Cannot join a query with {type(other).__name__}.")
        return self._derive(N.Join(self._node, node, outer=left,
                                   semantic_check=_semantic(semantic_check, self.connection)))

    def __mul__(self, other: Any) -> QueryExpression:
        return self.join(other)

    def __matmul__(self, other: Any) -> QueryExpression:  # 0.14's permissive join
        return self.join(other, semantic_check=False)

    def extend(self, other: Any, semantic_check: bool | None = None) -> QueryExpression:
        """Left join that keeps every row of this query (DataJoint 2.x)."""
        return self.join(other, semantic_check=semantic_check, left=True)

    def __add__(self, other: Any) -> QueryExpression:
        node = _node_of(other)
        if node is None:
            raise errors.QueryError(f"Cannot form the union of a query and {type(other).__name__}.")
        return self._derive(N.Union(self._node, node))

    # -- projection, aggregation -----------------------------------------------------------------
    def proj(self, *attributes: Any, **named: str) -> QueryExpression:
        h = self.heading
        keep = set(h.primary_key)
        excluded: set[str] = set()
        for a in attributes:
            if a is Ellipsis:
                keep.update(h.secondary_attributes)
            elif isinstance(a, str) and a.startswith("-"):
                excluded.add(a[1:].strip())
            elif isinstance(a, str):
                h[a]
                keep.add(a)
            else:
                raise errors.QueryError(f"proj() takes attribute names, ... or '-name', not {a!r}.")
        for name in excluded:
            h[name]
            if h[name].in_key:
                raise errors.QueryError(f"Primary key attribute `{name}` cannot be excluded from a projection.")
            keep.discard(name)
        renames, computed = [], []
        for new, expr in named.items():
            expr = str(expr).strip()
            if expr in h and expr != new:
                renames.append((new, expr))
                # a renamed attribute leaves the heading (primary key included) unless it is
                # also listed by name, as in DataJoint
                if expr not in attributes:
                    keep.discard(expr)
            elif expr == new and expr in h:
                keep.add(expr)
            elif expr.startswith("(") and expr.endswith(")") and expr[1:-1].strip() in h:
                # `(old)` duplicates: a copy with the original's type (and key status) next to it
                renames.append((new, expr[1:-1].strip()))
            else:
                computed.append((new, expr))
        ordered = tuple(n for n in h.names if n in keep)
        return self._derive(N.Project(self._node, ordered, tuple(renames), tuple(computed)))

    def aggr(self, group: Any, *attributes: Any, keep_all_rows: bool = False,
             exclude_nonmatching: bool | None = None, **named: str) -> QueryExpression:
        node = _node_of(group)
        if node is None:
            raise errors.QueryError(f"aggr() needs a query to aggregate, not {type(group).__name__}.")
        outer = keep_all_rows if exclude_nonmatching is None else not exclude_nonmatching
        h = self.heading
        keep = []
        for a in attributes:
            if a is Ellipsis:
                keep.extend(h.secondary_attributes)
            else:
                keep.append(a)
        return self._derive(N.Aggregate(self._node, node, tuple(keep), tuple(named.items()), outer=outer,
                                        semantic_check=_semantic(None, self.connection)))

    # -- evaluation -----------------------------------------------------------------------------
    def make_sql(self, fields: Any = None) -> str:
        """The SQL this query runs (with placeholders), for reading and debugging."""
        stmt = self._compiler().select(self._node, fields)
        return str(stmt.compile(dialect=self.connection.dialect))

    def __len__(self) -> int:
        sql, params = self._statement("count")
        return int(self.connection.query(sql, params).fetchone()[0])

    def __bool__(self) -> bool:
        names = self.heading.primary_key or self.heading.names[:1]
        sql, params = self._statement("select", names, limit=1)
        return self.connection.query(sql, params).fetchone() is not None

    def __contains__(self, item: Any) -> bool:
        return bool(self & item)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.fetch(as_dict=True))

    def cursor(self, as_dict: bool = False, **kw: Any) -> Any:
        stmt = self._compiler().select(self._node, **kw)
        sql, params = self.connection.compile(stmt)
        return self.connection.query(sql, params, as_dict=as_dict)

    fetch = F.fetch
    fetch1 = F.fetch1
    to_dicts = F.to_dicts
    to_pandas = F.to_pandas
    to_arrays = F.to_arrays
    to_arrow = F.to_arrow
    to_polars = F.to_polars
    keys = F.keys
    head = F.head
    tail = F.tail

    def preview(self, limit: int | None = None, width: int | None = None) -> str:
        from ..render.preview import text_preview

        return text_preview(self, limit=limit, width=width)

    def __repr__(self) -> str:
        from ..render.preview import text_preview

        try:
            return text_preview(self)
        except errors.DataJointError as e:  # a repr must not raise; show what went wrong
            return f"<{type(self).__name__}: cannot preview: {e}>"

    def _repr_html_(self) -> str:
        from ..render.preview import html_preview

        return html_preview(self)

    def describe(self, **kw: Any) -> str:
        return repr(self.heading)


def _semantic(flag: bool | None, connection: Any) -> bool:
    if flag is not None:
        return bool(flag)
    from ..settings import config

    return bool(config.get("join.semantic_check", False))


class U:
    """A universal set over ``attributes``: ``dj.U('a') & q`` gives the distinct values of ``a``,
    ``dj.U('a').aggr(q, n='count(*)')`` groups by ``a``, ``dj.U().aggr(q, ...)`` aggregates all rows.
    """

    def __init__(self, *attributes: str) -> None:
        self.attributes = list(attributes)

    @property
    def primary_key(self) -> list[str]:
        return list(self.attributes)

    def __and__(self, query: Any) -> QueryExpression:
        node = _node_of(query)
        if node is None:
            raise errors.QueryError("dj.U(...) can only be restricted by a query.")
        q = query() if isinstance(query, type) else query
        return q._derive(N.Distinct(tuple(self.attributes), node))

    def __mul__(self, query: Any) -> QueryExpression:
        q = query() if isinstance(query, type) else query
        return q.join(self)

    def aggr(self, group: Any, *attributes: Any, **named: str) -> QueryExpression:
        if named.pop("keep_all_rows", False):
            raise errors.QueryError("keep_all_rows cannot be used with dj.U: there are no rows to keep.")
        named.pop("exclude_nonmatching", None)
        node = _node_of(group)
        if node is None:
            raise errors.QueryError("dj.U(...).aggr() needs a query to aggregate.")
        q = group() if isinstance(group, type) else group
        return q._derive(N.GroupU(tuple(self.attributes), node, tuple(named.items())))

    def __sub__(self, other: Any) -> Any:
        raise errors.QueryError("dj.U(...) - query is not defined; use dj.U(...) & query.")
