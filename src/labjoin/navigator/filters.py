"""Structured filters, sorting and paging: parsed from URL parameters, compiled to restrictions.

The browser never sends SQL. A filter is ``(attribute, operator, value text)``; the attribute
must be in the table's heading and the value must parse as the attribute's type. Filters
compile into ordinary labjoin restrictions:

* ``exact``, ``in``, ``isnull`` -> dict restrictions (lists of dicts for ``in``), which the
  compiler binds as parameters;
* ``not``, ``notnull`` -> ``dj.Not`` of those;
* ``lt``, ``lte``, ``gt``, ``gte``, ``contains``, ``startswith``, ``endswith`` -> a fragment
  built with sqlglot's expression builder from the validated attribute name (a quoted
  identifier) and a literal that sqlglot quotes; the fragment parser turns every literal into
  a bound parameter, so no value reaches the SQL text.

Filters combine with AND (``dj.AndList``) or OR (a list). In URLs a filter is written
``attribute__op=value`` (``attribute=value`` means ``exact``), as in datasette; ``_combine``,
``_sort``, ``_page``, ``_size``, ``_col`` (projection) and ``_count=exact`` are the other parameters. Anything else is refused with a
DataError that says what is allowed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlglot import exp

from .. import errors
from ..algebra.conditions import AndList, Not, Top
from .values import parse_value

__all__ = ["OPERATORS", "Filter", "TableQuery", "compile_filters", "count_rows", "parse_table_query", "sort_order"]

OPERATORS: dict[str, str] = {
    "exact": "=", "not": "≠", "lt": "<", "lte": "≤", "gt": ">", "gte": "≥",
    "contains": "contains", "startswith": "starts with", "endswith": "ends with",
    "in": "in (comma-separated)", "isnull": "is null", "notnull": "is not null",
}
_ORDERED = ("INTEGER", "FLOAT", "DECIMAL", "DATE", "DATETIME", "TIMESTAMP", "YEAR", "TIME",
            "CHAR", "VARCHAR", "TEXT", "ENUM")
_STRINGS = ("CHAR", "VARCHAR", "TEXT", "ENUM")
_NUMBERS = ("INTEGER", "FLOAT", "DECIMAL", "YEAR")
RESERVED = frozenset({"_sort", "_page", "_size", "_combine", "_format", "_col", "_count"})


@dataclass(frozen=True)
class Filter:
    """One condition: ``attribute`` ``op`` ``value`` (value is None for isnull/notnull)."""

    attribute: str
    op: str = "exact"
    value: str | None = None

    @property
    def param(self) -> str:
        return self.attribute if self.op == "exact" else f"{self.attribute}__{self.op}"


@dataclass(frozen=True)
class TableQuery:
    """What a table page or the rows API was asked for."""

    filters: tuple[Filter, ...] = ()
    combine: str = "and"
    sort: tuple[tuple[str, bool], ...] = ()
    page: int = 1
    size: int = 25
    columns: tuple[str, ...] = ()
    extra: Mapping[str, str] = field(default_factory=dict)
    exact_count: bool = False

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.size

    def params(self, **changes: Any) -> list[tuple[str, str]]:
        """URL parameters of this query with ``changes`` (page=, sort=, size=) applied."""
        page = changes.get("page", self.page)
        sort = changes.get("sort", self.sort)
        size = changes.get("size", self.size)
        out = [(f.param, f.value or "") for f in self.filters]
        if self.combine != "and" and len(self.filters) > 1:
            out.append(("_combine", self.combine))
        if sort:
            out.append(("_sort", ",".join(("-" if d else "") + n for n, d in sort)))
        if size != 25:
            out.append(("_size", str(size)))
        if page != 1:
            out.append(("_page", str(page)))
        out.extend(("_col", c) for c in self.columns)
        if changes.get("exact_count", self.exact_count):
            out.append(("_count", "exact"))
        return out


def _int_param(name: str, text: str, low: int, high: int | None = None) -> int:
    try:
        v = int(text)
    except ValueError:
        raise errors.DataError(f"`{name}` must be a whole number; {text!r} is not.") from None
    if v < low or (high is not None and v > high):
        bound = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise errors.DataError(f"`{name}` must be {bound}; {v} is not.")
    return v


def parse_table_query(heading: Any, params: Iterable[tuple[str, str]], *, default_size: int = 25,
                      max_size: int = 500, allow: Iterable[str] = ()) -> TableQuery:
    """Read filters, sorting, paging and projection from URL parameters and validate them.

    ``allow`` names extra parameters that the caller handles itself (e.g. a row key).
    """
    allowed_extra = set(allow)
    filters: list[Filter] = []
    combine, sort, page, size = "and", (), 1, default_size
    columns: list[str] = []
    extra: dict[str, str] = {}
    exact_count = False
    for name, value in params:
        if name in allowed_extra:
            extra[name] = value
        elif name == "_combine":
            if value.lower() not in ("and", "or"):
                raise errors.DataError(f"`_combine` is 'and' or 'or'; {value!r} is neither.")
            combine = value.lower()
        elif name == "_sort":
            sort = tuple(_parse_sort(heading, value))
        elif name == "_page":
            page = _int_param("_page", value, 1, 10**9)
        elif name == "_size":
            size = _int_param("_size", value, 1, max_size)
        elif name == "_col":
            _check_attribute(heading, value)
            columns.append(value)
        elif name == "_format":
            continue
        elif name == "_count":
            if value != "exact":
                raise errors.DataError(f"`_count` is 'exact' (count every row); {value!r} is not.")
            exact_count = True
        elif name.startswith("_"):
            raise errors.DataError(
                f"Unknown parameter `{name}`. Use attribute=value, attribute__op=value (op: "
                f"{', '.join(OPERATORS)}), _combine, _sort, _page, _size or _col."
            )
        else:
            attribute, _, op = name.partition("__")
            op = op or "exact"
            if op not in OPERATORS:
                raise errors.DataError(f"Unknown filter operator `{op}`; use one of {', '.join(OPERATORS)}.")
            _check_attribute(heading, attribute)
            if op in ("isnull", "notnull"):
                filters.append(Filter(attribute, op, None))
                continue
            if value == "":
                continue  # an empty field of the filter form means "no condition"
            _check_op(heading[attribute], op)
            filters.append(Filter(attribute, op, value))
    q = TableQuery(tuple(filters), combine, sort, page, size, tuple(columns), extra, exact_count)
    compile_filters(heading, q.filters, q.combine)  # validate every value now: errors before any query
    return q


def _check_attribute(heading: Any, name: str) -> None:
    if name not in heading.names:
        raise errors.UnknownAttributeError(
            f"`{name}` is not an attribute of this table; its attributes are {', '.join(heading.names)}."
        )
    if heading[name].is_blob:
        raise errors.DataError(f"`{name}` is a blob; blobs cannot be filtered or sorted.")


def _check_op(attr: Any, op: str) -> None:
    cat = attr.category
    if op in ("lt", "lte", "gt", "gte") and cat not in _ORDERED:
        raise errors.DataError(f"`{attr.name}` ({attr.declared_type}) cannot be compared with `{op}`.")
    if op in ("contains", "startswith", "endswith") and cat not in _STRINGS:
        raise errors.DataError(f"`{attr.name}` ({attr.declared_type}) is not text; `{op}` needs text.")


def _parse_sort(heading: Any, text: str) -> list[tuple[str, bool]]:
    out = []
    for item in text.split(","):
        item = item.strip()
        if not item:
            continue
        desc = item.startswith("-")
        name = item[1:] if desc else item
        _check_attribute(heading, name)
        out.append((name, desc))
    return out


_CASTS = {"DATE": "DATE", "DATETIME": "DATETIME", "TIMESTAMP": "DATETIME", "TIME": "TIME"}


def _literal(attr: Any, value: Any) -> exp.Expression:
    if attr.category in _NUMBERS:
        # parse_value produced an int/float/Decimal: its text is digits, a sign and a point only
        return exp.Literal.number(str(value))
    cast = _CASTS.get(attr.category)
    if cast is not None:
        # A typed literal: PostgreSQL compares a date column with a date, not with a string.
        text = value.isoformat(sep=" ") if isinstance(value, dt.datetime) else (
            value.isoformat() if hasattr(value, "isoformat") else str(value))
        return exp.Cast(this=exp.Literal.string(text), to=exp.DataType.build(cast))
    return exp.Literal.string(str(value))


def _like_pattern(text: str, op: str) -> str:
    escaped = text.replace("!", "!!").replace("%", "!%").replace("_", "!_")
    return {"contains": f"%{escaped}%", "startswith": f"{escaped}%", "endswith": f"%{escaped}"}[op]


def compile_filter(heading: Any, f: Filter) -> Any:
    """One filter as a labjoin restriction (dict, list of dicts, dj.Not or a fragment)."""
    attr = heading[f.attribute]
    if f.op == "isnull":
        return {f.attribute: None}
    if f.op == "notnull":
        return Not({f.attribute: None})
    if f.value is None:
        raise errors.DataError(f"`{f.param}` needs a value.")
    if f.op == "in":
        values = [parse_value(attr, v) for v in f.value.split(",") if v.strip()]
        if not values:
            raise errors.DataError(f"`{f.attribute}__in` needs comma-separated values.")
        return [{f.attribute: v} for v in values]
    if f.op in ("contains", "startswith", "endswith"):
        like = exp.Like(this=exp.column(f.attribute, quoted=True),
                        expression=exp.Literal.string(_like_pattern(f.value, f.op)))
        return exp.Escape(this=like, expression=exp.Literal.string("!")).sql(dialect="mysql")
    value = parse_value(attr, f.value)
    if f.op == "exact":
        return {f.attribute: value}
    if f.op == "not":
        return Not({f.attribute: value})
    cls = {"lt": exp.LT, "lte": exp.LTE, "gt": exp.GT, "gte": exp.GTE}[f.op]
    return cls(this=exp.column(f.attribute, quoted=True), expression=_literal(attr, value)).sql(dialect="mysql")


def compile_filters(heading: Any, filters: Iterable[Filter], combine: str = "and") -> Any:
    """All ``filters`` as one restriction: an AndList (AND) or a list (OR); True for none."""
    parts = [compile_filter(heading, f) for f in filters]
    if not parts:
        return True
    if combine == "or":
        # A bare list would be read as one IN list when every part is a dict with the same
        # key; wrap each part so the OR stays an OR of conditions.
        return [AndList([p]) for p in parts]
    return AndList(parts)


def count_rows(query: Any, limit: int | None) -> tuple[int, bool]:
    """(number of rows, exact?): counting stops after ``limit`` rows (None: count them all).

    A page needs to know whether there are more pages, not that a table holds 12,345,678 rows;
    a bounded count keeps a page of a large filtered table from scanning all of it just to count.
    """
    if limit is None:
        return len(query), True
    n = len(query & Top(limit=limit + 1, order_by=None))
    return (n, True) if n <= limit else (limit, False)


def sort_order(heading: Any, sort: Iterable[tuple[str, bool]]) -> list[str]:
    """``order_by`` for fetch: the requested attributes, then the primary key as a tie-breaker
    (so that pages do not overlap)."""
    order = [f"{n} {'DESC' if d else 'ASC'}" for n, d in sort]
    named = {n for n, _ in sort}
    order += [f"{k} ASC" for k in heading.primary_key if k not in named]
    return order
