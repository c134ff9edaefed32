"""Compile each query *shape* once.

``(Trial & key).fetch1()`` in a loop builds a new node tree per call, but every tree has the same
shape: the same tables, operators and attribute names, with different values. ``shape(node)``
walks a tree and returns a hashable key (everything but the values) plus the values, already
encoded for the backend, in a canonical order. The compiler names the bound parameter of value
``i`` ``lj_i``; the compiled SQL of the first tree of a shape is kept, and later trees of that
shape only supply their values (the driver parameters are reordered by name as the SQL needs).
User SQL fragments are part of the key, so their literals are constants of the cached SQL.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from ..algebra import conditions as C
from ..algebra import nodes as N
from ..heading.codecs import encoder

__all__ = ["BIND_PREFIX", "StatementCache", "shape"]

BIND_PREFIX = "lj_"


class _Walk:
    def __init__(self, backend: str) -> None:
        self.backend = backend
        self.values: list[Any] = []
        self.bases: dict[int, int] = {}  # id(condition) -> index of its first value

    def node(self, n: N.Node) -> tuple[Any, ...]:
        kind = type(n).__name__
        if isinstance(n, N.TableNode):
            return (kind, n.schema, n.name, tuple(n.heading.names))
        if isinstance(n, N.Restrict):
            return (kind, self.node(n.child), self.cond(n.cond, n.child.heading))
        if isinstance(n, N.Project):
            return (kind, self.node(n.child), n.keep, n.renames, n.computed)
        if isinstance(n, N.Join):
            return (kind, n.outer, self.node(n.left), self.node(n.right))
        if isinstance(n, N.Aggregate):
            return (kind, n.keep, n.computed, n.outer, self.node(n.group), self.node(n.source))
        if isinstance(n, N.GroupU):
            return (kind, n.attrs, n.computed, self.node(n.source))
        if isinstance(n, (N.Distinct, N.Promote)):
            return (kind, n.attrs, self.node(n.source))
        if isinstance(n, N.Union):
            return (kind, self.node(n.left), self.node(n.right))
        if isinstance(n, N.TopNode):
            return (kind, n.limit, n.offset, n.order_by, self.node(n.child))
        raise TypeError(f"no shape for {kind}")

    def cond(self, c: C.Cond, heading: Any) -> tuple[Any, ...]:
        if c is C.TrueCond or c is C.FalseCond:
            return (c is C.TrueCond,)
        if isinstance(c, C.Eq):
            self.bases[id(c)] = len(self.values)
            for name, value in c.items:
                self.values.append(None if value is None else encoder(heading[name], self.backend)(value))
            return ("Eq", tuple((name, value is None) for name, value in c.items))
        if isinstance(c, C.KeysIn):
            self.bases[id(c)] = len(self.values)
            encs = [encoder(heading[a], self.backend) for a in c.attrs]
            for row in c.rows:
                self.values.extend(e(v) for e, v in zip(encs, row))
            return ("In", c.attrs, len(c.rows))
        if isinstance(c, C.Sql):
            return ("Sql", c.text)
        if isinstance(c, C.Semi):
            return ("Semi", self.node(c.node))
        if isinstance(c, (C.And, C.Or)):
            return (type(c).__name__, tuple(self.cond(x, heading) for x in c.items))
        if isinstance(c, C.NotC):
            return ("Not", self.cond(c.item, heading))
        raise TypeError(f"no shape for {c!r}")


def shape(node: N.Node, backend: str) -> tuple[tuple[Any, ...], list[Any], dict[int, int]]:
    """(key, values, bases) of a node tree; see the module docstring."""
    w = _Walk(backend)
    key = w.node(node)
    return key, w.values, w.bases


class StatementCache:
    """Compiled SQL per query shape, bounded (least recently used entries are dropped)."""

    def __init__(self, size: int = 512) -> None:
        self.size = size
        self._entries: OrderedDict[Any, tuple[str, list[Any], bool]] = OrderedDict()

    def get(self, key: Any) -> tuple[str, list[Any], bool] | None:
        entry = self._entries.get(key)
        if entry is not None:
            self._entries.move_to_end(key)
        return entry

    def put(self, key: Any, sql: str, slots: list[Any], positional: bool) -> None:
        self._entries[key] = (sql, slots, positional)
        if len(self._entries) > self.size:
            self._entries.popitem(last=False)

    def clear(self) -> None:
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


def slots_of(compiled: Any) -> tuple[list[Any], bool]:
    """For each driver parameter: the index of the value it takes (int) or its constant value."""
    params = compiled.construct_params()
    names = list(compiled.positiontup) if compiled.positional else list(params)
    slots: list[Any] = []
    for name in names:
        if name.startswith(BIND_PREFIX) and name[len(BIND_PREFIX):].isdigit():
            slots.append(int(name[len(BIND_PREFIX):]))
        else:
            slots.append(_Const(params[name]))
    if not compiled.positional:
        slots = list(zip(names, slots))  # type: ignore[arg-type]
    return slots, bool(compiled.positional)


class _Const:
    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value


def params_for(slots: list[Any], positional: bool, values: list[Any]) -> Any:
    """Driver parameters for a cached statement, given this query's values."""
    if positional:
        return tuple(s.value if isinstance(s, _Const) else values[s] for s in slots)
    return {name: (s.value if isinstance(s, _Const) else values[s]) for name, s in slots}
