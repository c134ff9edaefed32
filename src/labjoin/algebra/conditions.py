"""Restriction conditions: what users write (dicts, strings, lists, queries, AndList, Not, Top)
normalized into a small immutable tree the compiler understands.

DataJoint's rules, kept exactly: a dict restricts by the keys that are in the heading (others are
ignored; no matching key means no restriction); a list, tuple or set is an OR of its elements (an
empty one matches nothing); an AndList is an AND (an empty one matches everything); ``Not``
negates; ``True``/``False`` keep everything / nothing; a query restricts by a semijoin on the
shared attributes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import errors

__all__ = [
    "AndList", "Cond", "Eq", "FalseCond", "KeysIn", "Not", "Semi", "Sql", "Top", "TrueCond",
    "c_and", "c_not", "c_or",
]


class AndList(list):  # type: ignore[type-arg]
    """A list of conditions that must all hold: ``q & dj.AndList([c1, c2])`` is ``q & c1 & c2``."""

    def append(self, restriction: Any) -> None:  # flatten nested AndLists, as DataJoint does
        if isinstance(restriction, AndList):
            self.extend(restriction)
        else:
            super().append(restriction)


class Not:
    """Negation of a restriction: ``q & dj.Not(c)`` is ``q - c``."""

    def __init__(self, restriction: Any) -> None:
        self.restriction = restriction

    def __repr__(self) -> str:
        return f"Not({self.restriction!r})"


@dataclass(frozen=True)
class Top:
    """Keep the first ``limit`` rows in ``order_by`` order (after skipping ``offset``).

    ``order_by`` is an attribute name, a list of them (each optionally followed by ``desc``),
    or ``"KEY"`` for the primary key. ``limit=None`` keeps every row.
    """

    limit: int | None = 1
    order_by: str | tuple[str, ...] | list[str] | None = "KEY"
    offset: int = 0

    def __post_init__(self) -> None:
        if self.limit is not None and (not isinstance(self.limit, (int, np.integer)) or self.limit < 0):
            raise errors.QueryError(f"Top(limit={self.limit!r}): limit must be a non-negative integer or None.")
        if not isinstance(self.offset, (int, np.integer)) or self.offset < 0:
            raise errors.QueryError(f"Top(offset={self.offset!r}): offset must be a non-negative integer.")
        ob = self.order_by
        if isinstance(ob, str):
            ob = (ob,)
        object.__setattr__(self, "order_by", tuple(ob) if ob is not None else ())


# -- normalized condition tree ------------------------------------------------------------------
class Cond:
    """A normalized restriction."""


@dataclass(frozen=True)
class _TrueCond(Cond):
    pass


@dataclass(frozen=True)
class _FalseCond(Cond):
    pass


TrueCond = _TrueCond()
FalseCond = _FalseCond()


@dataclass(frozen=True)
class Eq(Cond):
    """AND of ``attr = value`` (``value`` None means IS NULL)."""

    items: tuple[tuple[str, Any], ...]


@dataclass(frozen=True, eq=False)
class KeysIn(Cond):
    """``(a, b) IN ((1, 2), (3, 4), ...)``: an OR of many dicts with the same keys."""

    attrs: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]


@dataclass(frozen=True)
class Sql(Cond):
    """A SQL fragment written by the user (parsed and translated by ``sql.fragments``)."""

    text: str


@dataclass(frozen=True, eq=False)
class Semi(Cond):
    """Semijoin with another query on the attributes both headings share."""

    node: Any


@dataclass(frozen=True)
class And(Cond):
    items: tuple[Cond, ...]


@dataclass(frozen=True)
class Or(Cond):
    items: tuple[Cond, ...]


@dataclass(frozen=True)
class NotC(Cond):
    item: Cond


def c_and(items: Iterable[Cond]) -> Cond:
    out: list[Cond] = []
    for c in items:
        if c is FalseCond:
            return FalseCond
        if c is TrueCond:
            continue
        out.extend(c.items if isinstance(c, And) else (c,))
    if not out:
        return TrueCond
    return out[0] if len(out) == 1 else And(tuple(out))


def c_or(items: Iterable[Cond]) -> Cond:
    out: list[Cond] = []
    for c in items:
        if c is TrueCond:
            return TrueCond
        if c is FalseCond:
            continue
        out.extend(c.items if isinstance(c, Or) else (c,))
    if not out:
        return FalseCond
    return out[0] if len(out) == 1 else Or(tuple(out))


def c_not(c: Cond) -> Cond:
    if c is TrueCond:
        return FalseCond
    if c is FalseCond:
        return TrueCond
    if isinstance(c, NotC):
        return c.item
    return NotC(c)


def _mapping_cond(m: Mapping[str, Any], names: Iterable[str]) -> Cond:
    names = set(names)
    items = tuple((k, v) for k, v in m.items() if k in names)
    return Eq(items) if items else TrueCond


def normalize(restriction: Any, heading: Any, *, as_node: Any) -> Cond:
    """Turn any restriction a user can write into a ``Cond``.

    ``as_node`` converts a query expression (or table class) into its algebra node and returns
    None for anything else; it is passed in so this module does not import the query classes.
    """
    r = restriction
    if isinstance(r, (bool, np.bool_)):
        return TrueCond if r else FalseCond
    if r is None:
        raise errors.QueryError(
            "Invalid restriction None. Use True to keep every row, False or [] to keep none."
        )
    if isinstance(r, str):
        text = r.strip()
        return Sql(text) if text else TrueCond
    if isinstance(r, Not):
        return c_not(normalize(r.restriction, heading, as_node=as_node))
    if isinstance(r, AndList):
        return c_and(normalize(x, heading, as_node=as_node) for x in r)
    if isinstance(r, Mapping):
        return _mapping_cond(r, heading.names)
    if isinstance(r, np.void):
        return _mapping_cond(dict(zip(r.dtype.names or (), r.item())), heading.names)
    node = as_node(r)
    if node is not None:
        return node
    if isinstance(r, Top):
        raise errors.QueryError("dj.Top cannot be combined inside a list or Not; restrict by it directly.")
    if type(r).__name__ == "DataFrame":
        r = r.reset_index().to_dict("records") if any(n is not None for n in r.index.names) \
            else r.to_dict("records")
    if isinstance(r, np.ndarray) and r.dtype.names:
        r = [dict(zip(r.dtype.names, row.item())) for row in r]
    if isinstance(r, Iterable):
        return _or_of(list(r), heading, as_node)
    raise errors.QueryError(
        f"Invalid restriction type {type(r).__name__}. Restrict by a dict, a SQL string, a query, "
        "a list (OR), dj.AndList (AND), dj.Not, True/False or dj.Top."
    )


def _or_of(items: list[Any], heading: Any, as_node: Any) -> Cond:
    # Many dicts with the same keys (a list of primary keys, typically) become one IN list.
    names = set(heading.names)
    if items and all(isinstance(x, Mapping) for x in items):
        keysets = {tuple(k for k in x if k in names) for x in items}
        if len(keysets) == 1:
            attrs = next(iter(keysets))
            if not attrs:
                return TrueCond
            if not any(x[a] is None for x in items for a in attrs):
                rows = tuple(dict.fromkeys(tuple(x[a] for a in attrs) for x in items))
                return KeysIn(attrs, rows)
    return c_or(normalize(x, heading, as_node=as_node) for x in items)
