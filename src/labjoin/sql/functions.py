"""Portable SQL functions: one SQLAlchemy construct per MySQL function, compiled per dialect.

DataJoint users write MySQL functions (``datediff``, ``group_concat``, ``if``, ``x / y`` ...) in
restrictions and projections. :mod:`labjoin.sql.fragments` turns each one into an element defined
here, and each element has one small ``@compiles`` function per dialect (SQLAlchemy's custom
compilation extension), so the same fragment means the same thing on SQLite, PostgreSQL and
MySQL/MariaDB. Any other dialect fails with :class:`~labjoin.errors.UnsupportedOperation`.

Rules these compilers follow:

* They branch only on structure (argument types and the element's declared attributes), never on
  bound values: SQLAlchemy caches compiled SQL by structure and re-extracts values at execution.
  Every attribute that changes the SQL is listed in ``_traverse_internals`` for the same reason.
* They may repeat an argument's compiled text; SQLAlchemy then sends the parameter twice.
* On SQLite, a few translations call helpers that :func:`install_sqlite_functions` registers on
  each DB-API connection (standard deviations, ordered ``group_concat``, ``REGEXP``).
"""

from __future__ import annotations

import math
import re
import sqlite3
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql import operators
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.sql.visitors import InternalTraversal

from labjoin.errors import UnsupportedOperation

__all__ = [
    "BoolToInt", "CastTo", "Concat", "CurDate", "DateDiff", "DateOf", "DatePart", "Divide", "Extremum",
    "GroupConcat", "IntDivide", "IsTruth", "LeftRight", "LogBase", "MatchLike", "Modulo", "NoCase", "Now", "SameClock", "Round",
    "SafeMath", "StatAggregate", "StringFn", "Substring", "TimeOf", "TimestampDiff", "Truncate", "Truth",
    "UnixTimestamp", "UtcNow", "install_sqlite_functions",
]

_DIALECTS = ("sqlite", "postgresql", "mysql")


# ---------------------------------------------------------------------------------------------
# Type tests (structure only) and compile helpers


def _affinity(expr: sa.ColumnElement) -> type:
    return expr.type._type_affinity or sa.types.NullType  # type: ignore[return-value]


def is_integer(expr: sa.ColumnElement) -> bool:
    """True if ``expr`` is typed as an integer (booleans excluded)."""
    return issubclass(_affinity(expr), sa.Integer)


def is_float(expr: sa.ColumnElement) -> bool:
    """True if ``expr`` is typed as an approximate number (Float is a Numeric in SQLAlchemy)."""
    return isinstance(expr.type, sa.Float)


def is_boolean(expr: sa.ColumnElement) -> bool:
    """True if ``expr`` is boolean-valued (a comparison, a logical operator or a bool column)."""
    if isinstance(expr, sa.BinaryExpression) and operators.is_comparison(expr.operator):
        return True  # between() is untyped in SQLAlchemy
    return issubclass(_affinity(expr), sa.Boolean)


def is_string(expr: sa.ColumnElement) -> bool:
    return issubclass(_affinity(expr), sa.String)


def is_temporal(expr: sa.ColumnElement) -> bool:
    return issubclass(_affinity(expr), sa.Date | sa.DateTime)


def _args(element: FunctionElement, compiler: SQLCompiler, kw: dict) -> list[str]:
    """The compiled arguments, parenthesized when they are operator expressions.

    Templates put arguments next to operators (``CAST(a AS REAL) / b``); grouping every
    argument that binds looser than ``*`` keeps ``i / (f + 1)`` from becoming ``i / f + 1``.
    """
    return [compiler.process(c.self_group(against=operators.mul), **kw) for c in element.clauses]


def _clauses(element: FunctionElement) -> list[sa.ColumnElement]:
    return list(element.clauses)


def _pg_text(expr: sa.ColumnElement, text: str) -> str:
    """PostgreSQL text of ``expr`` usable by string functions.

    Strings get ``COLLATE "default"``: labjoin's case-insensitive collation is nondeterministic,
    and PostgreSQL refuses LIKE, regular expressions and substring searches on those.
    """
    if is_string(expr) or _affinity(expr) is sa.types.NullType:
        return f'({text} COLLATE "default")'
    return f"CAST({text} AS TEXT)"


def _pg_timestamp(expr: sa.ColumnElement, text: str) -> str:
    return text if is_temporal(expr) else f"CAST({text} AS TIMESTAMP)"


class _Fn(FunctionElement):
    """Base of every portable function: compiled per dialect, refused elsewhere."""

    inherit_cache = True
    _fn_name = "fn"

    def __init__(self, *args: Any, type_: sa.types.TypeEngine | None = None) -> None:
        super().__init__(*args)
        if type_ is not None:
            self.type = type_


def _register(cls: type[_Fn], **per_dialect: Callable[[_Fn, SQLCompiler, dict], str]) -> None:
    """Attach one compile function per dialect; ``all=`` serves every supported dialect."""
    common = per_dialect.pop("all", None)

    @compiles(cls)
    def _refuse(element: _Fn, compiler: SQLCompiler, **kw: Any) -> str:
        raise UnsupportedOperation(
            f"SQL fragment function {element._fn_name}()", compiler.dialect.name,
            "labjoin translates fragments for SQLite, PostgreSQL and MySQL/MariaDB only.",
        )

    for dialect in _DIALECTS:
        fn = per_dialect.get(dialect, common)
        if fn is None:
            raise TypeError(f"{cls.__name__} has no compiler for {dialect}")

        def _compile(element: _Fn, compiler: SQLCompiler, _fn: Callable = fn, **kw: Any) -> str:
            return _fn(element, compiler, kw)

        compiles(cls, dialect)(_compile)


# ---------------------------------------------------------------------------------------------
# Elements whose translation is a fixed template per dialect ({0}, {1} ... are the arguments)


def _template(name: str, type_: sa.types.TypeEngine, doc: str, **templates: str) -> type[_Fn]:
    cls = type(name, (_Fn,), {"__doc__": doc, "type": type_, "inherit_cache": True, "_fn_name": name.lower()})
    _register(cls, **{
        dialect: (lambda e, c, kw, _t=template: _t.format(*_args(e, c, kw)))
        for dialect, template in templates.items()
    })
    return cls


BoolToInt = _template(
    "BoolToInt", sa.Integer(), "A boolean used as a number, ``sum(choice = 'CCW')``: PostgreSQL needs a cast.",
    postgresql="CAST({0} AS INTEGER)", all="{0}")
Truth = _template(
    "Truth", sa.Boolean(), "A number used as a condition (non-zero is true), ``A & 'flag'``.",
    all="({0} <> 0)")
SameClock = _template(
    "SameClock", sa.Float(), "A date compared with a datetime: SQLite compares their texts, so compare day numbers.",
    sqlite="julianday({0})", all="{0}")
NoCase = _template(
    "NoCase", sa.String(), "A computed string compared case-insensitively (SQLite drops the column's collation).",
    sqlite="({0} COLLATE NOCASE)", all="{0}")
Divide = _template(
    "Divide", sa.Float(), "``a / b``: never integer division; NULL when ``b`` is 0 (as in MySQL).",
    sqlite="(CAST({0} AS REAL) / {1})", postgresql="(CAST({0} AS DOUBLE PRECISION) / NULLIF({1}, 0))",
    mysql="({0} / {1})")
IntDivide = _template(
    "IntDivide", sa.BigInteger(), "``a DIV b``: the quotient truncated toward zero; NULL when ``b`` is 0.",
    sqlite="CAST({0} / {1} AS INTEGER)", mysql="({0} DIV {1})",
    postgresql="CAST(trunc(CAST({0} AS NUMERIC) / NULLIF(CAST({1} AS NUMERIC), 0)) AS BIGINT)")
LogBase = _template(
    "LogBase", sa.Float(), "``log(b, x)``, ``log2(x)``, ``log10(x)``: NULL outside the domain.",
    sqlite="log({0}, {1})", mysql="LOG({0}, {1})",
    postgresql=("CASE WHEN {0} > 0 AND {0} <> 1 AND {1} > 0 "
                "THEN ln(CAST({1} AS DOUBLE PRECISION)) / ln(CAST({0} AS DOUBLE PRECISION)) END"))
DateOf = _template(
    "DateOf", sa.Date(), "``date(x)``: the date part of a date, datetime or date-like string.",
    sqlite="date({0})", postgresql="CAST({0} AS DATE)", mysql="DATE({0})")
TimeOf = _template(
    "TimeOf", sa.Time(), "``time(x)``: the time of day in whole seconds.",
    sqlite="time({0})", postgresql="CAST(CAST({0} AS TIME) AS TIME(0))", mysql="TIME({0})")
DateDiff = _template(
    "DateDiff", sa.Integer(), "``datediff(a, b)``: whole days from date(b) to date(a).",
    sqlite="CAST(julianday(date({0})) - julianday(date({1})) AS INTEGER)",
    postgresql="(CAST({0} AS DATE) - CAST({1} AS DATE))", mysql="DATEDIFF({0}, {1})")
Now = _template(
    "Now", sa.DateTime(), "``now()``: the session's local date and time, whole seconds.",
    sqlite="datetime('now', 'localtime')", postgresql="LOCALTIMESTAMP(0)", mysql="NOW()")
UtcNow = _template(
    "UtcNow", sa.DateTime(), "``utc_timestamp()``: the current UTC date and time, whole seconds.",
    sqlite="datetime('now')", mysql="UTC_TIMESTAMP()",
    postgresql="CAST(date_trunc('second', now() AT TIME ZONE 'UTC') AS TIMESTAMP(0))")
CurDate = _template(
    "CurDate", sa.Date(), "``curdate()``, ``current_date``: today's local date.",
    sqlite="date('now', 'localtime')", postgresql="CURRENT_DATE", mysql="CURDATE()")


# ---------------------------------------------------------------------------------------------
# Elements with attributes or type-dependent translations


class IsTruth(_Fn):
    """``x IS TRUE`` / ``x IS FALSE`` (the argument is already a condition)."""

    inherit_cache = True
    type = sa.Boolean()
    _fn_name = "is true"
    _traverse_internals = [*_Fn._traverse_internals, ("truth", InternalTraversal.dp_boolean)]

    def __init__(self, cond: sa.ColumnElement, truth: bool) -> None:
        self.truth = truth
        super().__init__(cond)


_register(IsTruth, all=lambda e, c, kw: f"(({_args(e, c, kw)[0]}) IS {'TRUE' if e.truth else 'FALSE'})")


class Modulo(_Fn):
    """``mod(a, b)``, ``a % b``, ``a MOD b``: the sign of ``a``; NULL when ``b`` is 0."""

    inherit_cache = True
    _fn_name = "mod"

    def __init__(self, a: sa.ColumnElement, b: sa.ColumnElement) -> None:
        super().__init__(a, b, type_=a.type if is_integer(a) and is_integer(b) else sa.Float())


def _modulo(e: Modulo, c: SQLCompiler, kw: dict) -> str:
    a, b = _clauses(e)
    ta, tb = _args(e, c, kw)
    ints = is_integer(a) and is_integer(b)
    if c.dialect.name == "sqlite":
        # `%` truncates real operands to integers first; the math function mod() does not.
        return f"({ta} % {tb})" if ints else f"mod({ta}, {tb})"
    if ints:
        return f"mod({ta}, NULLIF({tb}, 0))"
    # PostgreSQL has mod() for integers and numeric only.
    return f"CAST(mod(CAST({ta} AS NUMERIC), NULLIF(CAST({tb} AS NUMERIC), 0)) AS DOUBLE PRECISION)"


_register(Modulo, mysql=lambda e, c, kw: "MOD({}, {})".format(*_args(e, c, kw)), all=_modulo)


class SafeMath(_Fn):
    """``sqrt(x)``, ``ln(x)``: NULL outside the domain (PostgreSQL would raise an error)."""

    inherit_cache = True
    type = sa.Float()
    _traverse_internals = [*_Fn._traverse_internals, ("fn", InternalTraversal.dp_string)]
    DOMAIN = {"sqrt": ">= 0", "ln": "> 0"}

    def __init__(self, fn: str, x: sa.ColumnElement) -> None:
        self.fn = self._fn_name = fn
        super().__init__(x)


_register(
    SafeMath,
    postgresql=lambda e, c, kw: "CASE WHEN {0} {1} THEN {2}(CAST({0} AS DOUBLE PRECISION)) END".format(
        _args(e, c, kw)[0], SafeMath.DOMAIN[e.fn], e.fn),
    all=lambda e, c, kw: f"{e.fn}({_args(e, c, kw)[0]})",
)


def _numeric_result(x: sa.ColumnElement, text: str) -> str:
    """Cast a PostgreSQL NUMERIC result back to the argument's kind of number."""
    if is_float(x):
        return f"CAST({text} AS DOUBLE PRECISION)"
    return f"CAST({text} AS BIGINT)" if is_integer(x) else text


class Round(_Fn):
    """``round(x[, d])`` with MySQL's result types; ``d`` may be negative."""

    inherit_cache = True
    _fn_name = "round"
    _traverse_internals = [*_Fn._traverse_internals, ("simple_digits", InternalTraversal.dp_boolean)]

    def __init__(self, x: sa.ColumnElement, digits: sa.ColumnElement | None, simple_digits: bool) -> None:
        # simple_digits: `d` is absent or a literal >= 0, which SQLite's round() takes as is.
        self.simple_digits = simple_digits
        args = (x,) if digits is None else (x, digits)
        super().__init__(*args, type_=sa.Float() if is_float(x) else x.type)


def _round_sqlite(e: Round, c: SQLCompiler, kw: dict) -> str:
    parts = _args(e, c, kw)
    if len(parts) == 1 or e.simple_digits:
        return f"round({', '.join(parts)})"
    x, d = parts
    # SQLite reads negative digits as 0; MySQL rounds to tens, hundreds ...
    return f"CASE WHEN {d} >= 0 THEN round({x}, {d}) ELSE round({x} / power(10.0, -({d}))) * power(10.0, -({d})) END"


def _round_pg(e: Round, c: SQLCompiler, kw: dict) -> str:
    parts = _args(e, c, kw)
    text = f"round({parts[0]})" if len(parts) == 1 else f"round(CAST({parts[0]} AS NUMERIC), {parts[1]})"
    return _numeric_result(_clauses(e)[0], text)


_register(Round, sqlite=_round_sqlite, postgresql=_round_pg,
          mysql=lambda e, c, kw: f"ROUND({', '.join(_args(e, c, kw))})")


class Truncate(_Fn):
    """``truncate(x, d)``: ``x`` cut toward zero to ``d`` decimals."""

    inherit_cache = True
    _fn_name = "truncate"

    def __init__(self, x: sa.ColumnElement, digits: sa.ColumnElement) -> None:
        super().__init__(x, digits, type_=sa.Float() if is_float(x) else x.type)


_register(
    Truncate,
    sqlite=lambda e, c, kw: "(trunc({0} * power(10.0, {1})) / power(10.0, {1}))".format(*_args(e, c, kw)),
    postgresql=lambda e, c, kw: _numeric_result(
        _clauses(e)[0], "trunc(CAST({} AS NUMERIC), {})".format(*_args(e, c, kw))),
    mysql=lambda e, c, kw: "TRUNCATE({}, {})".format(*_args(e, c, kw)),
)


class Extremum(_Fn):
    """``greatest(...)`` / ``least(...)``: NULL if any argument is NULL, as in MySQL."""

    inherit_cache = True
    _traverse_internals = [*_Fn._traverse_internals, ("which", InternalTraversal.dp_string)]

    def __init__(self, which: str, *args: sa.ColumnElement) -> None:
        self.which = self._fn_name = which
        super().__init__(*args, type_=args[0].type)


def _extremum_pg(e: Extremum, c: SQLCompiler, kw: dict) -> str:
    parts = _args(e, c, kw)
    # PostgreSQL's GREATEST/LEAST skip NULLs; MySQL's return NULL.
    any_null = " OR ".join(f"{p} IS NULL" for p in parts)
    return f"CASE WHEN {any_null} THEN NULL ELSE {e.which.upper()}({', '.join(parts)}) END"


_register(
    Extremum, postgresql=_extremum_pg,
    sqlite=lambda e, c, kw: f"{'max' if e.which == 'greatest' else 'min'}({', '.join(_args(e, c, kw))})",
    mysql=lambda e, c, kw: f"{e.which.upper()}({', '.join(_args(e, c, kw))})",
)


class CastTo(_Fn):
    """``cast(x as signed|unsigned|char|decimal(p,s)|double|date|datetime|time)``."""

    inherit_cache = True
    _fn_name = "cast"
    _traverse_internals = [
        *_Fn._traverse_internals,
        ("kind", InternalTraversal.dp_string),
        ("precision", InternalTraversal.dp_plain_obj),
        ("scale", InternalTraversal.dp_plain_obj),
    ]
    TYPES: Mapping[str, sa.types.TypeEngine] = {
        "integer": sa.BigInteger(), "char": sa.String(), "double": sa.Float(),
        "date": sa.Date(), "datetime": sa.DateTime(), "time": sa.Time(),
    }

    def __init__(self, x: sa.ColumnElement, kind: str, precision: int = 10, scale: int = 0) -> None:
        self.kind, self.precision, self.scale = kind, precision, scale
        super().__init__(x, type_=sa.Numeric(precision, scale) if kind == "decimal" else self.TYPES[kind])


def _cast_sqlite(e: CastTo, c: SQLCompiler, kw: dict) -> str:
    x, (t,) = _clauses(e)[0], _args(e, c, kw)
    if e.kind == "integer":
        # MySQL rounds numbers and truncates numeric strings; SQLite's CAST truncates both.
        exact = is_float(x) or _affinity(x) is sa.Numeric
        return f"CAST(round({t}) AS INTEGER)" if exact else f"CAST({t} AS INTEGER)"
    return {
        "char": f"CAST({t} AS TEXT)", "double": f"CAST({t} AS REAL)",
        "decimal": f"round(CAST({t} AS REAL), {e.scale})",
        "date": f"date({t})", "datetime": f"datetime({t})", "time": f"time({t})",
    }[e.kind]


def _cast_pg(e: CastTo, c: SQLCompiler, kw: dict) -> str:
    x, (t,) = _clauses(e)[0], _args(e, c, kw)
    if e.kind == "integer":  # PostgreSQL refuses CAST('2.7' AS BIGINT); MySQL reads 2
        return f"CAST(trunc(CAST({t} AS NUMERIC)) AS BIGINT)" if is_string(x) else f"CAST({t} AS BIGINT)"
    return {
        "char": f"CAST({t} AS TEXT)", "double": f"CAST({t} AS DOUBLE PRECISION)",
        "decimal": f"CAST({t} AS NUMERIC({e.precision}, {e.scale}))", "date": f"CAST({t} AS DATE)",
        # MariaDB truncates fractional seconds; PostgreSQL's TIMESTAMP(0) alone would round them.
        "datetime": f"CAST(date_trunc('second', CAST({t} AS TIMESTAMP)) AS TIMESTAMP(0))",
        "time": f"CAST(CAST({t} AS TIME) AS TIME(0))",
    }[e.kind]


def _cast_mysql(e: CastTo, c: SQLCompiler, kw: dict) -> str:
    target = {"integer": "SIGNED", "char": "CHAR", "double": "DOUBLE", "date": "DATE",
              "datetime": "DATETIME", "time": "TIME", "decimal": f"DECIMAL({e.precision}, {e.scale})"}
    return f"CAST({_args(e, c, kw)[0]} AS {target[e.kind]})"


_register(CastTo, sqlite=_cast_sqlite, postgresql=_cast_pg, mysql=_cast_mysql)


# ---------------------------------------------------------------------------------------------
# Strings


class MatchLike(_Fn):
    """``lhs [NOT] LIKE pattern [ESCAPE e]`` and ``lhs [NOT] REGEXP pattern``, case-insensitive.

    Backslash escapes ``%`` and ``_`` on every backend, as in MySQL. PostgreSQL runs ILIKE and
    ``~*`` on the text in the default collation.
    """

    inherit_cache = True
    type = sa.Boolean()
    _traverse_internals = [
        *_Fn._traverse_internals,
        ("negate", InternalTraversal.dp_boolean),
        ("regexp", InternalTraversal.dp_boolean),
    ]

    def __init__(self, lhs: sa.ColumnElement, pattern: sa.ColumnElement, *escape: sa.ColumnElement,
                 negate: bool = False, regexp: bool = False) -> None:
        self.negate, self.regexp = negate, regexp
        self._fn_name = "regexp" if regexp else "like"
        super().__init__(lhs, pattern, *escape)


BACKSLASH = "'\\'"  # the SQL literal '\', MySQL's default LIKE escape character


def _like(e: MatchLike, c: SQLCompiler, kw: dict) -> str:
    lhs, pattern, *escape = _args(e, c, kw)
    dialect = c.dialect.name
    if dialect == "postgresql":
        lhs = _pg_text(_clauses(e)[0], lhs)
        op = ("!~*" if e.negate else "~*") if e.regexp else ("NOT ILIKE" if e.negate else "ILIKE")
    else:
        op = ("NOT " if e.negate else "") + ("REGEXP" if e.regexp else "LIKE")
    if not e.regexp and (escape or dialect == "sqlite"):  # SQLite has no default escape character
        return f"({lhs} {op} {pattern} ESCAPE {escape[0] if escape else BACKSLASH})"
    return f"({lhs} {op} {pattern})"


_register(MatchLike, all=_like)


class Concat(_Fn):
    """``concat(a, b, ...)``: NULL if any argument is NULL, as in MySQL."""

    inherit_cache = True
    type = sa.String()
    _fn_name = "concat"


def _concat_pg(e: Concat, c: SQLCompiler, kw: dict) -> str:
    # PostgreSQL's concat() skips NULLs; `||` propagates them but needs text operands.
    parts = [t if is_string(x) else f"CAST({t} AS TEXT)" for x, t in zip(_clauses(e), _args(e, c, kw))]
    return f"({' || '.join(parts)})"


_register(Concat, sqlite=lambda e, c, kw: f"({' || '.join(_args(e, c, kw))})", postgresql=_concat_pg,
          mysql=lambda e, c, kw: f"CONCAT({', '.join(_args(e, c, kw))})")


class StringFn(_Fn):
    """Single-string functions: ``length`` (bytes), ``char_length``, ``replace``, ``instr``."""

    inherit_cache = True
    _traverse_internals = [*_Fn._traverse_internals, ("fn", InternalTraversal.dp_string)]
    TYPES: Mapping[str, sa.types.TypeEngine] = {
        "length": sa.Integer(), "char_length": sa.Integer(), "replace": sa.String(), "instr": sa.Integer()}
    TEMPLATES: Mapping[str, Mapping[str, str]] = {
        "length": {"sqlite": "length(CAST({0} AS BLOB))", "postgresql": "octet_length({0})", "mysql": "LENGTH({0})"},
        "char_length": {"sqlite": "length({0})", "postgresql": "char_length({0})", "mysql": "CHAR_LENGTH({0})"},
        "replace": {"sqlite": "replace({0}, {1}, {2})", "postgresql": "replace({0}, {1}, {2})",
                    "mysql": "REPLACE({0}, {1}, {2})"},
        # MySQL compares in the column's (case-insensitive) collation.
        "instr": {"sqlite": "instr(lower({0}), lower({1}))", "postgresql": "strpos(lower({0}), lower({1}))",
                  "mysql": "INSTR({0}, {1})"},
    }

    def __init__(self, fn: str, *args: sa.ColumnElement) -> None:
        self.fn = self._fn_name = fn
        super().__init__(*args, type_=self.TYPES[fn])


def _string_fn(e: StringFn, c: SQLCompiler, kw: dict) -> str:
    parts = _args(e, c, kw)
    if c.dialect.name == "postgresql":
        parts[0] = _pg_text(_clauses(e)[0], parts[0])
    return StringFn.TEMPLATES[e.fn][c.dialect.name].format(*parts)


_register(StringFn, all=_string_fn)


class Substring(_Fn):
    """``substring(s, pos[, len])``: 1-based, negative ``pos`` counts from the end, as in MySQL."""

    inherit_cache = True
    type = sa.String()
    _fn_name = "substring"
    _traverse_internals = [*_Fn._traverse_internals, ("simple", InternalTraversal.dp_boolean)]

    def __init__(self, s: sa.ColumnElement, *args: sa.ColumnElement, simple: bool) -> None:
        # simple: pos is a literal > 0 and len is absent or a literal >= 0.
        self.simple = simple
        super().__init__(s, *args)


def _substring(e: Substring, c: SQLCompiler, kw: dict) -> str:
    s, pos, *length = _args(e, c, kw)
    pg = c.dialect.name == "postgresql"
    if pg:
        s = _pg_text(_clauses(e)[0], s)
    if e.simple:
        return f"substr({', '.join([s, pos, *length])})"
    n = f"char_length({s})" if pg else f"length({s})"
    # MySQL gives '' for pos 0, for pos beyond either end, and for a negative length.
    start = f"CASE WHEN {pos} > 0 THEN {pos} WHEN {pos} < 0 AND -({pos}) <= {n} THEN {n} + {pos} + 1 ELSE {n} + 1 END"
    if not length:
        return f"substr({s}, {start})"
    return f"substr({s}, {start}, CASE WHEN {length[0]} < 0 THEN 0 ELSE {length[0]} END)"


_register(Substring, mysql=lambda e, c, kw: f"SUBSTRING({', '.join(_args(e, c, kw))})", all=_substring)


class LeftRight(_Fn):
    """``left(s, n)`` / ``right(s, n)``; ``n <= 0`` gives ''."""

    inherit_cache = True
    type = sa.String()
    _traverse_internals = [*_Fn._traverse_internals, ("side", InternalTraversal.dp_string)]

    def __init__(self, side: str, s: sa.ColumnElement, n: sa.ColumnElement) -> None:
        self.side = self._fn_name = side
        super().__init__(s, n)


def _left_right_sqlite(e: LeftRight, c: SQLCompiler, kw: dict) -> str:
    s, n = _args(e, c, kw)
    if e.side == "left":
        return f"substr({s}, 1, {n})"
    return f"CASE WHEN {n} > 0 THEN substr({s}, -({n})) WHEN {n} <= 0 THEN '' END"


_register(
    LeftRight, sqlite=_left_right_sqlite,
    # PostgreSQL's left/right drop |n| characters for a negative n; MySQL returns ''.
    postgresql=lambda e, c, kw: "{}({}, CASE WHEN {n} < 0 THEN 0 ELSE {n} END)".format(
        e.side, _pg_text(_clauses(e)[0], _args(e, c, kw)[0]), n=_args(e, c, kw)[1]),
    mysql=lambda e, c, kw: "{}({}, {})".format(e.side.upper(), *_args(e, c, kw)),
)


# ---------------------------------------------------------------------------------------------
# Dates and times


class DatePart(_Fn):
    """``year(x)``, ``month(x)``, ``day(x)``, ``hour(x)``, ..., as integers."""

    inherit_cache = True
    type = sa.Integer()
    _traverse_internals = [*_Fn._traverse_internals, ("field", InternalTraversal.dp_string)]
    SQLITE: Mapping[str, str] = {"year": "%Y", "month": "%m", "day": "%d", "hour": "%H", "minute": "%M", "second": "%S"}
    FIELDS = (*SQLITE, "dayofweek", "quarter")

    def __init__(self, field: str, x: sa.ColumnElement) -> None:
        self.field = self._fn_name = field
        super().__init__(x)


def _date_part_sqlite(e: DatePart, c: SQLCompiler, kw: dict) -> str:
    (x,) = _args(e, c, kw)
    if e.field == "dayofweek":
        return f"(CAST(strftime('%w', {x}) AS INTEGER) + 1)"
    if e.field == "quarter":
        return f"((CAST(strftime('%m', {x}) AS INTEGER) + 2) / 3)"
    return f"CAST(strftime('{DatePart.SQLITE[e.field]}', {x}) AS INTEGER)"


def _date_part_pg(e: DatePart, c: SQLCompiler, kw: dict) -> str:
    x, (t,) = _clauses(e)[0], _args(e, c, kw)
    if not (is_temporal(x) or issubclass(_affinity(x), sa.Time)):
        t = f"CAST({t} AS TIMESTAMP)"
    if e.field == "dayofweek":
        return f"CAST(EXTRACT(DOW FROM {t}) + 1 AS INTEGER)"
    if e.field == "second":  # EXTRACT(SECOND) includes the fraction; MySQL's SECOND() does not
        return f"CAST(FLOOR(EXTRACT(SECOND FROM {t})) AS INTEGER)"
    return f"CAST(EXTRACT({e.field.upper()} FROM {t}) AS INTEGER)"


_register(DatePart, sqlite=_date_part_sqlite, postgresql=_date_part_pg,
          mysql=lambda e, c, kw: f"{e.field.upper()}({_args(e, c, kw)[0]})")


class TimestampDiff(_Fn):
    """``timestampdiff(unit, start, end)``: ``end - start`` in whole units, truncated toward zero."""

    inherit_cache = True
    type = sa.BigInteger()
    _fn_name = "timestampdiff"
    _traverse_internals = [*_Fn._traverse_internals, ("unit", InternalTraversal.dp_string)]
    MILLISECONDS: Mapping[str, int] = {"second": 1000, "minute": 60_000, "hour": 3_600_000,
                                       "day": 86_400_000, "week": 604_800_000}
    MONTHS: Mapping[str, int] = {"month": 1, "quarter": 3, "year": 12}
    UNITS = ("microsecond", *MILLISECONDS, *MONTHS)

    def __init__(self, unit: str, start: sa.ColumnElement, end: sa.ColumnElement) -> None:
        self.unit = unit
        super().__init__(start, end)


def _tsdiff_sqlite(e: TimestampDiff, c: SQLCompiler, kw: dict) -> str:
    a, b = _args(e, c, kw)
    if e.unit not in TimestampDiff.MONTHS:
        # julianday() resolves ~50 microseconds; rounding to milliseconds makes the difference exact.
        ms = f"CAST(round((julianday({b}) - julianday({a})) * 86400000.0) AS INTEGER)"
        return f"({ms} * 1000)" if e.unit == "microsecond" else f"({ms} / {TimestampDiff.MILLISECONDS[e.unit]})"
    months = (f"((CAST(strftime('%Y', {b}) AS INTEGER) * 12 + CAST(strftime('%m', {b}) AS INTEGER)) - "
              f"(CAST(strftime('%Y', {a}) AS INTEGER) * 12 + CAST(strftime('%m', {a}) AS INTEGER)))")
    rest_a, rest_b = f"strftime('%d %H:%M:%f', {a})", f"strftime('%d %H:%M:%f', {b})"
    # A month counts once the day and time of day of `start` are reached (MySQL's rule).
    full = (f"({months} - CASE WHEN {months} > 0 AND {rest_b} < {rest_a} THEN 1 "
            f"WHEN {months} < 0 AND {rest_b} > {rest_a} THEN -1 ELSE 0 END)")
    return full if e.unit == "month" else f"({full} / {TimestampDiff.MONTHS[e.unit]})"


def _tsdiff_pg(e: TimestampDiff, c: SQLCompiler, kw: dict) -> str:
    a, b = (f"CAST({t} AS TIMESTAMP)" for t in _args(e, c, kw))
    if e.unit not in TimestampDiff.MONTHS:
        seconds = f"EXTRACT(EPOCH FROM ({b} - {a}))"
        scaled = {"microsecond": f"{seconds} * 1000000", "second": seconds}.get(
            e.unit, f"{seconds} / {TimestampDiff.MILLISECONDS.get(e.unit, 1000) // 1000}")
        return f"CAST(trunc({scaled}) AS BIGINT)"
    months = f"(EXTRACT(YEAR FROM age({b}, {a})) * 12 + EXTRACT(MONTH FROM age({b}, {a})))"
    return f"CAST(trunc({months} / {TimestampDiff.MONTHS[e.unit]}) AS BIGINT)"


_register(TimestampDiff, sqlite=_tsdiff_sqlite, postgresql=_tsdiff_pg,
          mysql=lambda e, c, kw: "TIMESTAMPDIFF({}, {}, {})".format(e.unit.upper(), *_args(e, c, kw)))


class UnixTimestamp(_Fn):
    """``unix_timestamp([x])``: whole seconds since 1970-01-01 00:00:00 UTC."""

    inherit_cache = True
    type = sa.BigInteger()
    _fn_name = "unix_timestamp"


def _unix_pg(e: UnixTimestamp, c: SQLCompiler, kw: dict) -> str:
    parts = _args(e, c, kw)
    source = _pg_timestamp(_clauses(e)[0], parts[0]) if parts else "now()"
    return f"CAST(floor(EXTRACT(EPOCH FROM {source})) AS BIGINT)"


_register(
    UnixTimestamp, postgresql=_unix_pg,
    sqlite=lambda e, c, kw: f"CAST(strftime('%s', {(_args(e, c, kw) or [repr('now')])[0]}) AS INTEGER)",
    mysql=lambda e, c, kw: f"UNIX_TIMESTAMP({', '.join(_args(e, c, kw))})",
)


# ---------------------------------------------------------------------------------------------
# Aggregates


class StatAggregate(_Fn):
    """``std``/``stddev``/``stddev_pop``, ``stddev_samp``, ``variance``/``var_pop``, ``var_samp``."""

    inherit_cache = True
    type = sa.Float()
    _traverse_internals = [*_Fn._traverse_internals, ("kind", InternalTraversal.dp_string)]
    KINDS = ("stddev_pop", "stddev_samp", "var_pop", "var_samp")

    def __init__(self, kind: str, x: sa.ColumnElement) -> None:
        self.kind = self._fn_name = kind
        super().__init__(x)


_register(
    StatAggregate,
    sqlite=lambda e, c, kw: f"{e.kind}({_args(e, c, kw)[0]})",  # install_sqlite_functions adds them
    postgresql=lambda e, c, kw: f"{e.kind}(CAST({_args(e, c, kw)[0]} AS DOUBLE PRECISION))",
    mysql=lambda e, c, kw: f"{e.kind.upper()}({_args(e, c, kw)[0]})",
)


class GroupConcat(_Fn):
    """``group_concat([DISTINCT] x [ORDER BY k [DESC], ...] [SEPARATOR s])``.

    The arguments are ``x, separator, *order keys``; ``descending`` holds one flag per key.
    With DISTINCT the only key allowed is ``x`` itself (PostgreSQL's rule, checked when parsed).
    """

    inherit_cache = True
    type = sa.String()
    _fn_name = "group_concat"
    _traverse_internals = [
        *_Fn._traverse_internals,
        ("distinct", InternalTraversal.dp_boolean),
        ("descending", InternalTraversal.dp_plain_obj),
        ("default_separator", InternalTraversal.dp_boolean),
    ]

    def __init__(self, x: sa.ColumnElement, separator: sa.ColumnElement,
                 order: list[tuple[sa.ColumnElement, bool]], distinct: bool, default_separator: bool) -> None:
        self.distinct, self.default_separator = distinct, default_separator
        self.descending = tuple(desc for _, desc in order)
        super().__init__(x, separator, *(key for key, _ in order))


def _group_concat_sqlite(e: GroupConcat, c: SQLCompiler, kw: dict) -> str:
    x, sep, *keys = _args(e, c, kw)
    if not keys and not e.distinct:
        return f"group_concat({x}, {sep})"
    if not keys and e.default_separator:
        return f"group_concat(DISTINCT {x})"
    # SQLite < 3.44 cannot order inside an aggregate, and its DISTINCT takes one argument only.
    flags = "".join("d" if d else "a" for d in e.descending)
    return f"labjoin_group_concat({x}, {sep}, {int(e.distinct)}, '{flags}'{''.join(', ' + k for k in keys)})"


def _order_sql(keys: list[str], descending: tuple[bool, ...]) -> str:
    # MySQL sorts NULLs first in ascending order; PostgreSQL sorts them last.
    return ", ".join(f"{k} DESC NULLS LAST" if d else f"{k} ASC NULLS FIRST" for k, d in zip(keys, descending))


def _group_concat_pg(e: GroupConcat, c: SQLCompiler, kw: dict) -> str:
    x, sep, *keys = _args(e, c, kw)
    if e.distinct:
        # string_agg(DISTINCT ...) could only be ordered by the text; array_agg keeps x's own order.
        order = f" ORDER BY {_order_sql([x], e.descending)}" if keys else ""
        return f"CASE WHEN count({x}) = 0 THEN NULL ELSE array_to_string(array_agg(DISTINCT {x}{order}), {sep}) END"
    order = f" ORDER BY {_order_sql(keys, e.descending)}" if keys else ""
    return f"string_agg(CAST({x} AS TEXT), {sep}{order})"


def _group_concat_mysql(e: GroupConcat, c: SQLCompiler, kw: dict) -> str:
    x, sep, *keys = _args(e, c, kw)
    order = ", ".join(f"{k} DESC" if d else k for k, d in zip(keys, e.descending))
    return (f"GROUP_CONCAT({'DISTINCT ' if e.distinct else ''}{x}"
            f"{' ORDER BY ' + order if keys else ''} SEPARATOR {sep})")


_register(GroupConcat, sqlite=_group_concat_sqlite, postgresql=_group_concat_pg, mysql=_group_concat_mysql)


# ---------------------------------------------------------------------------------------------
# SQLite helpers (registered per DB-API connection)


def _number(value: Any) -> float | None:
    """MySQL's reading of a value as a number: NULL stays NULL, text that is not a number is 0."""
    if value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0


class _Moments:
    """Welford's running mean and variance (stable for large values, unlike sum of squares)."""

    sample = False
    root = False

    def __init__(self) -> None:
        self.n, self.mean, self.m2 = 0, 0.0, 0.0

    def step(self, value: Any) -> None:
        x = _number(value)
        if x is None:
            return
        self.n += 1
        delta = x - self.mean
        self.mean += delta / self.n
        self.m2 += delta * (x - self.mean)

    def finalize(self) -> float | None:
        denominator = self.n - 1 if self.sample else self.n
        if denominator <= 0:
            return None if self.n == 0 or self.sample else 0.0
        variance = self.m2 / denominator
        return math.sqrt(variance) if self.root else variance


def _moments(sample: bool, root: bool) -> type[_Moments]:
    return type("Moments", (_Moments,), {"sample": sample, "root": root})


def _sort_key(value: Any) -> tuple:
    # NULL first, then numbers, then text compared case-insensitively (like a _ci collation).
    if value is None:
        return (0, 0)
    if isinstance(value, str):
        return (2, value.casefold())
    if isinstance(value, bytes):
        return (3, value)
    return (1, value)


class _GroupConcat:
    """``labjoin_group_concat(x, sep, distinct, flags, *keys)``: ordered and/or distinct concat."""

    def __init__(self) -> None:
        self.rows: list[tuple[Any, tuple]] = []
        self.separator = ","
        self.distinct = False
        self.flags = ""

    def step(self, value: Any, separator: Any, distinct: int, flags: str, *keys: Any) -> None:
        self.separator, self.distinct, self.flags = str(separator), bool(distinct), flags
        if value is not None:
            self.rows.append((value, keys))

    def finalize(self) -> str | None:
        rows = self.rows
        for position in reversed(range(len(self.flags))):  # stable sorts, last key first
            rows = sorted(rows, key=lambda r: _sort_key(r[1][position]), reverse=self.flags[position] == "d")
        texts, seen = [], set()
        for value, _ in rows:
            key = _sort_key(value)
            if self.distinct and key in seen:
                continue
            seen.add(key)
            texts.append(str(value))
        return self.separator.join(texts) if texts else None


@lru_cache(maxsize=256)
def _compiled_regexp(pattern: str) -> re.Pattern:
    return re.compile(pattern, re.IGNORECASE)


def _regexp(pattern: Any, value: Any) -> int | None:
    if pattern is None or value is None:
        return None
    return int(_compiled_regexp(str(pattern)).search(str(value)) is not None)


def _guard(fn: Callable[..., float]) -> Callable[..., float | None]:
    def call(*args: Any) -> float | None:
        numbers = [_number(a) for a in args]
        if None in numbers:
            return None
        try:
            return fn(*numbers)
        except (ValueError, ZeroDivisionError, OverflowError):
            return None  # SQLite's own math functions return NULL outside their domain

    return call


_MATH: dict[str, tuple[int, Callable[..., float]]] = {
    "sqrt": (1, math.sqrt), "power": (2, math.pow), "pow": (2, math.pow), "exp": (1, math.exp),
    "ln": (1, math.log), "log10": (1, math.log10), "log2": (1, math.log2),
    "floor": (1, math.floor), "ceil": (1, math.ceil), "ceiling": (1, math.ceil),
    "trunc": (1, math.trunc), "mod": (2, math.fmod), "pi": (0, lambda: math.pi),
}


def _floor(value: Any) -> int | float | None:
    x = _number(value)
    if x is None:
        return None
    return value if isinstance(value, int) else float(math.floor(x))


def _install_math(dbapi_connection: sqlite3.Connection) -> None:
    for name, (n_args, fn) in _MATH.items():
        dbapi_connection.create_function(name, n_args, _guard(fn), deterministic=True)
    dbapi_connection.create_function("log", 1, _guard(math.log10), deterministic=True)  # as SQLite's log(x)
    dbapi_connection.create_function("log", 2, _guard(lambda b, x: math.log(x) / math.log(b)), deterministic=True)


def install_sqlite_functions(dbapi_connection: sqlite3.Connection) -> None:
    """Register the SQL functions that translated fragments call on SQLite.

    Call it on every new DB-API connection, e.g.
    ``sqlalchemy.event.listen(engine, "connect", lambda conn, _: install_sqlite_functions(conn))``.

    Registers the aggregates ``stddev_pop``, ``stddev_samp``, ``var_pop``, ``var_samp`` and
    ``labjoin_group_concat`` (ordered or DISTINCT-with-separator ``group_concat``), the function
    ``regexp`` (for ``REGEXP``, case-insensitive), and SQLite's math functions (``sqrt``,
    ``power``, ``floor`` ...) when this SQLite library was built without them.
    """
    for kind in StatAggregate.KINDS:
        cls = _moments(sample=kind.endswith("samp"), root=kind.startswith("stddev"))
        dbapi_connection.create_aggregate(kind, 1, cls)
    dbapi_connection.create_aggregate("labjoin_group_concat", -1, _GroupConcat)
    dbapi_connection.create_function("regexp", 2, _regexp, deterministic=True)
    # SQLAlchemy's pysqlite dialect replaces floor() with Python's math.floor, which fails on NULL.
    dbapi_connection.create_function("floor", 1, _floor, deterministic=True)
    try:
        dbapi_connection.execute("SELECT sqrt(4), floor(1.5), ln(1)").fetchall()
    except sqlite3.OperationalError:  # built without SQLITE_ENABLE_MATH_FUNCTIONS
        _install_math(dbapi_connection)
