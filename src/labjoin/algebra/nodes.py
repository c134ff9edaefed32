"""Immutable query nodes. Each node computes its heading and checks its invariants when built.

The user-facing operators (``&``, ``*``, ``proj``, ``aggr``, ``+``, ``dj.U``, ``dj.Top``) only
build these nodes; ``sql.compiler`` turns a node tree into SQLAlchemy Core. Nothing here knows
about SQL text, connections or backends.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any

from .. import errors
from ..heading.heading import Attribute, Heading
from .conditions import Cond

__all__ = [
    "Aggregate", "Distinct", "GroupU", "Join", "Node", "Project", "Promote", "Restrict",
    "TableNode", "TopNode", "Union",
]


_EXTREMUM = re.compile(r"\s*(?:min|max)\s*\(\s*`?(\w+)`?\s*\)\s*", re.I)


def computed_attribute(name: str, expr: str, heading: Heading) -> Attribute:
    """The attribute a SQL expression computes: untyped (values as the driver returns them),
    except ``min(x)``/``max(x)``, which have the type of ``x`` so that they decode alike on every
    backend (SQLite returns a date column's maximum as text)."""
    m = _EXTREMUM.fullmatch(expr)
    if m and m.group(1) in heading and not heading[m.group(1)].is_blob:
        return replace(heading[m.group(1)], name=name, in_key=False, nullable=True, default=None,
                       comment="", lineage=None, expression=expr)
    return Attribute(name, None, nullable=True, expression=expr)


@dataclass(frozen=True, eq=False)
class Node:
    heading: Heading = field(init=False, repr=False)

    def _set_heading(self, h: Heading) -> None:
        object.__setattr__(self, "heading", h)

    def tables(self) -> list[TableNode]:
        """Every base table this node reads (its support)."""
        out: list[TableNode] = []
        for child in self.children():
            out.extend(child.tables())
        return out

    def children(self) -> tuple[Node, ...]:
        return ()


@dataclass(frozen=True, eq=False)
class TableNode(Node):
    schema: str
    name: str
    table_heading: Heading = field(repr=False)

    def __post_init__(self) -> None:
        self._set_heading(self.table_heading)

    def tables(self) -> list[TableNode]:
        return [self]

    @property
    def full_name(self) -> str:
        return f"`{self.schema}`.`{self.name}`"


@dataclass(frozen=True, eq=False)
class Restrict(Node):
    child: Node
    cond: Cond

    def __post_init__(self) -> None:
        self._set_heading(self.child.heading)

    def children(self) -> tuple[Node, ...]:
        from .conditions import Semi

        extra = tuple(c.node for c in _walk(self.cond) if isinstance(c, Semi))
        return (self.child, *extra)


def _walk(c: Cond) -> list[Cond]:
    out = [c]
    for sub in getattr(c, "items", ()) if isinstance(getattr(c, "items", None), tuple) else ():
        if isinstance(sub, Cond):
            out.extend(_walk(sub))
    item = getattr(c, "item", None)
    if isinstance(item, Cond):
        out.extend(_walk(item))
    return out


@dataclass(frozen=True, eq=False)
class Project(Node):
    """Keep ``keep``, rename ``renames`` (new, old), compute ``computed`` (new, SQL fragment)."""

    child: Node
    keep: tuple[str, ...]
    renames: tuple[tuple[str, str], ...] = ()
    computed: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        h = self.child.heading
        renamed_sources = {old for _, old in self.renames}
        attrs: list[Attribute] = []
        for name in h.names:
            a = h[name]
            if name in self.keep:
                attrs.append(a)
            elif a.in_key and name not in renamed_sources:
                raise errors.QueryError(f"Primary key attribute `{name}` cannot be projected away.")
        for new, old in self.renames:
            attrs.append(replace(h[old], name=new))
        for new, expr in self.computed:
            attrs.append(computed_attribute(new, expr, h))
        seen: set[str] = set()
        for a in attrs:
            if a.name in seen:
                raise errors.QueryError(f"Attribute `{a.name}` already exists in the projection.")
            seen.add(a.name)
        self._set_heading(Heading([a for a in attrs if a.in_key] + [a for a in attrs if not a.in_key],
                                  h.table_comment))

    def children(self) -> tuple[Node, ...]:
        return (self.child,)


def _check_joinable(a: Heading, b: Heading, semantic: bool) -> list[str]:
    shared = [n for n in a.names if n in b]
    for n in shared:
        if not a[n].in_key and not b[n].in_key:
            raise errors.QueryError(
                f"Cannot join query expressions on dependent attribute `{n}`: it is a secondary "
                f"attribute on both sides. Rename it on one side with .proj({n}_2='{n}')."
            )
        if semantic:
            la, lb = a[n].lineage, b[n].lineage
            if la is None or lb is None or la != lb:
                raise errors.SemanticError(
                    f"Cannot join on attribute `{n}`: different lineages ({la} vs {lb}). Use .proj() to "
                    "rename one of them, or pass semantic_check=False."
                )
    return shared


@dataclass(frozen=True, eq=False)
class Join(Node):
    left: Node
    right: Node
    outer: bool = False
    semantic_check: bool = False

    def __post_init__(self) -> None:
        _check_joinable(self.left.heading, self.right.heading, self.semantic_check)
        self._set_heading(self.left.heading.join(self.right.heading, left=self.outer))

    def children(self) -> tuple[Node, ...]:
        return (self.left, self.right)


@dataclass(frozen=True, eq=False)
class Aggregate(Node):
    """``group.aggr(source, *keep, **computed)``: one row per row of ``group``."""

    group: Node
    source: Node
    keep: tuple[str, ...]
    computed: tuple[tuple[str, str], ...]
    outer: bool = False
    semantic_check: bool = False

    def __post_init__(self) -> None:
        g = self.group.heading
        _check_joinable(g, self.source.heading, self.semantic_check)  # the groups are a join
        for k in self.keep:
            g[k]
        attrs = [g[n] for n in g.primary_key] + [g[n] for n in self.keep if not g[n].in_key]
        names = {a.name for a in attrs}
        for new, expr in self.computed:
            if new in names:
                raise errors.QueryError(f"Attribute `{new}` already exists in the aggregation.")
            attrs.append(computed_attribute(new, expr, g.join(self.source.heading)))
            names.add(new)
        self._set_heading(Heading(attrs, g.table_comment))

    def children(self) -> tuple[Node, ...]:
        return (self.group, self.source)


@dataclass(frozen=True, eq=False)
class GroupU(Node):
    """``dj.U(*attrs).aggr(source, **computed)``: group by arbitrary attributes (or none)."""

    attrs: tuple[str, ...]
    source: Node
    computed: tuple[tuple[str, str], ...]

    def __post_init__(self) -> None:
        s = self.source.heading
        attrs = [replace(s[n], in_key=True) for n in self.attrs]  # NULL is a group of its own
        for new, expr in self.computed:
            if new in self.attrs:
                raise errors.QueryError(f"Attribute `{new}` already exists in the aggregation.")
            attrs.append(computed_attribute(new, expr, s))
        self._set_heading(Heading(attrs))

    def children(self) -> tuple[Node, ...]:
        return (self.source,)


@dataclass(frozen=True, eq=False)
class Distinct(Node):
    """``dj.U(*attrs) & source``: the distinct values of ``attrs``, which form the primary key."""

    attrs: tuple[str, ...]
    source: Node

    def __post_init__(self) -> None:
        s = self.source.heading
        self._set_heading(Heading([replace(s[n], in_key=True) for n in self.attrs]))

    def children(self) -> tuple[Node, ...]:
        return (self.source,)


@dataclass(frozen=True, eq=False)
class Promote(Node):
    """``source * dj.U(*attrs)``: the same rows with ``attrs`` moved into the primary key."""

    attrs: tuple[str, ...]
    source: Node

    def __post_init__(self) -> None:
        s = self.source.heading
        for n in self.attrs:
            s[n]
        self._set_heading(s.with_primary_key([*s.primary_key, *(a for a in self.attrs if a not in s.primary_key)]))

    def children(self) -> tuple[Node, ...]:
        return (self.source,)


@dataclass(frozen=True, eq=False)
class Union(Node):
    left: Node
    right: Node

    def __post_init__(self) -> None:
        a, b = self.left.heading, self.right.heading
        if set(a.primary_key) != set(b.primary_key):
            raise errors.QueryError(
                f"Union requires the same primary key on both sides ({a.primary_key} vs {b.primary_key})."
            )
        shared = set(a.secondary_attributes) & set(b.secondary_attributes)
        if shared:
            raise errors.QueryError(
                f"Union operands must not share secondary attributes: {sorted(shared)}. Project them away "
                "or rename them on one side."
            )
        attrs = [a[n] for n in a.primary_key]
        attrs += [replace(a[n], nullable=True) for n in a.secondary_attributes]
        attrs += [replace(b[n], nullable=True) for n in b.secondary_attributes]
        self._set_heading(Heading(attrs, a.table_comment))

    def children(self) -> tuple[Node, ...]:
        return (self.left, self.right)


@dataclass(frozen=True, eq=False)
class TopNode(Node):
    child: Node
    limit: int | None
    offset: int
    order_by: tuple[str, ...]

    def __post_init__(self) -> None:
        self._set_heading(self.child.heading)
        for item in expand_order(self.order_by, self.child.heading):
            self.child.heading[item[0]]

    def children(self) -> tuple[Node, ...]:
        return (self.child,)


def expand_order(order_by: Any, heading: Heading) -> list[tuple[str, bool]]:
    """``["a", "b desc", "KEY"]`` -> ``[("a", False), ("b", True), (pk..., False)]``."""
    if order_by is None:
        return []
    if isinstance(order_by, str):
        order_by = [order_by]
    items = [piece for item in order_by for piece in str(item).split(",")]  # "a, b desc" is two items
    out: list[tuple[str, bool]] = []
    for item in items:
        parts = item.split()
        if not parts:
            continue
        name, desc = parts[0], len(parts) > 1 and parts[1].lower() == "desc"
        if len(parts) > 1 and parts[1].lower() not in ("asc", "desc"):
            raise errors.QueryError(f"Cannot order by {item!r}: write 'attribute', 'attribute asc' or 'attribute desc'.")
        if name.upper() == "KEY":
            out.extend((k, desc) for k in heading.primary_key)
        else:
            out.append((name, desc))
    return out
