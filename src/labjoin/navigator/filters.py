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

Paging by position (keyset paging): the "next" and "previous" links of a table page carry
``_after`` / ``_before``, an opaque token naming the primary key of the last (first) row shown.
The page then asks for the rows that sort after (before) that row, ``WHERE (sort values, key) >
(the row's)``, instead of skipping ``OFFSET`` rows: the cost of a page no longer grows with its
depth. The token holds only the row's key: the sort values are read back from the database when
the page is asked for (exactly, as the database compares them: MariaDB prints a ``float`` with
six digits, so a value carried through the URL would not be the stored one). A token whose row is
gone, or an order that paging by position cannot express exactly, falls back to ``_page``.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlglot import exp

from .. import errors
from ..algebra.conditions import AndList, Not, Top
from .values import key_text, parse_key, parse_value

__all__ = ["OPERATORS", "Filter", "TableQuery", "compile_filters", "count_rows", "decode_position",
           "encode_position", "parse_table_query", "seek_condition", "seekable", "sort_order", "total_order"]

OPERATORS: dict[str, str] = {
    "exact": "=", "not": "≠", "lt": "<", "lte": "≤", "gt": ">", "gte": "≥",
    "contains": "contains", "startswith": "starts with", "endswith": "ends with",
    "in": "in (comma-separated)", "isnull": "is null", "notnull": "is not null",
}
_ORDERED = ("INTEGER", "FLOAT", "DECIMAL", "DATE", "DATETIME", "TIMESTAMP", "YEAR", "TIME",
            "CHAR", "VARCHAR", "TEXT", "ENUM")
_STRINGS = ("CHAR", "VARCHAR", "TEXT", "ENUM")
_NUMBERS = ("INTEGER", "FLOAT", "DECIMAL", "YEAR")
RESERVED = frozenset({"_sort", "_page", "_size", "_combine", "_format", "_col", "_count", "_after", "_before"})
# Types whose order the database's comparison operators reproduce exactly on every backend, so
# that "after this row" selects the rows that ORDER BY puts after it. Not ENUM (MySQL sorts an
# enum by its position in the declaration but compares it with text as text), DECIMAL (a literal
# would pass through a float), UUID (a fragment compares a uuid column with text, not with a
# uuid: PostgreSQL refuses, SQLite and MariaDB compare bytes with text), BOOL, TIME, JSON.
_SEEKABLE = frozenset({"INTEGER", "FLOAT", "DATE", "DATETIME", "TIMESTAMP", "YEAR", "CHAR", "VARCHAR"})
MAX_TOKEN = 2_000  # characters of an _after/_before token; a primary key's text is far shorter


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
    after: Mapping[str, Any] | None = None  # the primary key of the row this page follows (``_after``)
    before: Mapping[str, Any] | None = None  # ... or precedes (``_before``)

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.size

    def params(self, **changes: Any) -> list[tuple[str, str]]:
        """URL parameters of this query with ``changes`` (page=, sort=, size=) applied.

        A position (``_after``/``_before``) is kept only when given in ``changes`` (``after=`` or
        ``before=``, a primary key): a link to another page, order or size starts from ``_page``.
        """
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
        for name in ("after", "before"):
            if changes.get(name) is not None:
                out.append((f"_{name}", encode_position(changes[name])))
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
    positions: dict[str, Mapping[str, Any]] = {}
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
        elif name in ("_after", "_before"):
            positions[name[1:]] = decode_position(heading, value, name)
        elif name.startswith("_"):
            raise errors.DataError(
                f"Unknown parameter `{name}`. Use attribute=value, attribute__op=value (op: "
                f"{', '.join(OPERATORS)}), _combine, _sort, _page, _size, _col, _count, _after or _before."
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
    if len(positions) > 1:
        raise errors.DataError("A page follows one row or precedes one: pass `_after` or `_before`, not both.")
    q = TableQuery(tuple(filters), combine, sort, page, size, tuple(columns), extra, exact_count,
                   positions.get("after"), positions.get("before"))
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


def total_order(heading: Any, sort: Iterable[tuple[str, bool]]) -> list[tuple[str, bool]]:
    """(attribute, descending?) pairs: the requested attributes, then the primary key as a
    tie-breaker, so that no two rows tie and pages do not overlap."""
    order = list(sort)
    named = {n for n, _ in order}
    return order + [(k, False) for k in heading.primary_key if k not in named]


def sort_order(heading: Any, sort: Iterable[tuple[str, bool]], *, reverse: bool = False) -> list[str]:
    """``order_by`` for fetch: :func:`total_order` as text (each direction flipped with
    ``reverse``: the same rows in the opposite order, NULLs included, since NULLs sort first
    ascending and last descending on every backend)."""
    return [f"{n} {'DESC' if d != reverse else 'ASC'}" for n, d in total_order(heading, sort)]


# -- paging by position -------------------------------------------------------------------------
def encode_position(key: Mapping[str, Any]) -> str:
    """The ``_after``/``_before`` token of a row: its primary key, as URL-safe base64 of JSON."""
    text = json.dumps({k: key_text(v) for k, v in key.items()}, separators=(",", ":"), ensure_ascii=False)
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_position(heading: Any, token: str, name: str = "_after") -> dict[str, Any]:
    """The primary key in an ``_after``/``_before`` token, each value parsed as its attribute's
    type. DataError for anything that is not a token this table's pages make."""
    bad = errors.DataError(
        f"`{name}` is not a position in this table; follow the page links, or use `_page` to go to a page."
    )
    if len(token) > MAX_TOKEN:
        raise bad
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode())
    except (binascii.Error, ValueError):
        raise bad from None
    pk = heading.primary_key
    if (not pk or not isinstance(data, dict) or set(data) != set(pk)
            or not all(isinstance(v, str) for v in data.values())):
        raise bad
    return parse_key(heading, data)


def seekable(heading: Any, order: Iterable[tuple[str, bool]]) -> bool:
    """Whether rows after a position in ``order`` can be selected with comparisons (see
    `_SEEKABLE`); otherwise pages use OFFSET."""
    return bool(heading.primary_key) and all(heading[n].category in _SEEKABLE for n, _ in order)


def anchor_columns(heading: Any, order: Iterable[tuple[str, bool]]) -> dict[str, str]:
    """What to fetch of the anchor row: each attribute of the order by name, floats as DOUBLE
    (exact: MariaDB sends a ``float`` as six significant digits, PostgreSQL a ``real`` as the
    shortest text of a float4)."""
    return {n: f"CAST(`{n}` AS DOUBLE)" if heading[n].category == "FLOAT" else n for n, _ in order}


def seek_condition(heading: Any, order: list[tuple[str, bool]], anchor: Mapping[str, Any],
                   backward: bool = False) -> str | None:
    """A restriction selecting the rows that sort after (``backward``: before) the row whose
    values of the ``order`` attributes are ``anchor``; None when a value cannot be compared
    exactly (a NaN or an infinity).

    ``(a, b) > (x, y)`` is written out as ``a > x OR (a = x AND b > y)``, which every backend
    accepts in mixed directions. NULLs sort first ascending and last descending, so "after a
    NULL" ascending means "not NULL", and descending "after x" includes the NULLs. When the
    first attribute is not nullable, a redundant ``a >= x`` lets a planner (PostgreSQL) start an
    index scan at the position instead of filtering from the first row.
    """
    terms: list[exp.Expression] = []
    same: list[exp.Expression] = []
    for name, desc in order:
        attr, value = heading[name], anchor[name]
        if isinstance(value, float) and not math.isfinite(value):
            return None
        col = exp.column(name, quoted=True)
        later_is_smaller = desc != backward
        if value is None:
            after = None if later_is_smaller else exp.Not(this=exp.Is(this=col, expression=exp.Null()))
            equal: exp.Expression = exp.Is(this=col, expression=exp.Null())
        else:
            lit = _literal(attr, value)
            after = (exp.LT if later_is_smaller else exp.GT)(this=col, expression=lit)
            if later_is_smaller and attr.nullable:
                after = exp.or_(after, exp.Is(this=col, expression=exp.Null()))
            equal = exp.EQ(this=col, expression=lit.copy())
        if after is not None:
            terms.append(exp.and_(*same, after) if same else after)
        same.append(equal)
    if not terms:
        return "0 = 1"  # the anchor is the last row of this order: nothing follows it
    cond: exp.Expression = exp.or_(*terms) if len(terms) > 1 else terms[0]
    first, desc = order[0]
    if not heading[first].nullable and anchor[first] is not None:
        bound = (exp.LTE if desc != backward else exp.GTE)(this=exp.column(first, quoted=True),
                                                            expression=_literal(heading[first], anchor[first]))
        cond = exp.and_(bound, exp.paren(cond))
    return cond.sql(dialect="mysql")
