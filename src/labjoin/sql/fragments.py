"""Portable SQL fragments: MySQL-flavoured text in, a SQLAlchemy Core expression out.

DataJoint users restrict and compute with MySQL text: ``'subject_nickname="ibl_witten_10"'``,
``session_date='date(session_start_time)'``, ``n='sum(choice="CCW")'``. This module parses such
text with sqlglot (read as MySQL: double quotes delimit strings, backticks delimit names) and
converts the syntax tree, node by node, into SQLAlchemy Core. Columns become whatever the
caller's ``resolve`` returns, every literal becomes a bound parameter, and each MySQL function
becomes a portable construct from :mod:`labjoin.sql.functions`. The result then compiles to the
same meaning on SQLite, PostgreSQL and MySQL/MariaDB.

>>> fragment = parse_fragment('subject_nickname = "ibl_witten_10"')
>>> sorted(fragment.columns), fragment.has_aggregate
(['subject_nickname'], False)

Parsing is cached by text; the conversion runs on every call because ``resolve`` differs.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from types import MappingProxyType

import sqlalchemy as sa
import sqlglot
from sqlglot import exp
from sqlglot.dialects.mysql import MySQL
from sqlglot.errors import ParseError, TokenError
from sqlglot.tokens import TokenType

from labjoin.errors import DataError, QuerySyntaxError, UnknownAttributeError
from labjoin.sql import functions as fn

__all__ = ["SUPPORTED_FUNCTIONS", "Fragment", "check_columns", "parse_fragment"]

Resolver = Callable[[str], sa.ColumnElement]


class _FragmentDialect(MySQL):
    """MySQL, except that ``replace(...)`` is the string function, never a REPLACE statement."""

    class Tokenizer(MySQL.Tokenizer):
        COMMANDS = MySQL.Tokenizer.COMMANDS - {TokenType.REPLACE}


# What users can write. The docs (docs/sql-fragments.md) describe each one per backend.
SUPPORTED_FUNCTIONS: Mapping[str, str] = MappingProxyType({
    "abs": "absolute value", "avg": "mean (aggregate)", "cast": "CAST(x AS SIGNED|UNSIGNED|CHAR|DECIMAL(p,s)|"
    "DOUBLE|FLOAT|REAL|DATE|DATETIME|TIME)", "ceil": "smallest integer >= x (also ceiling)",
    "char_length": "length in characters (also character_length)", "coalesce": "first non-NULL argument",
    "concat": "concatenation, NULL if any argument is NULL", "count": "count(*), count(x), count(distinct x)",
    "curdate": "today's date (also current_date)", "date": "date part of a datetime",
    "datediff": "days between the dates of a and b", "day": "day of month (also dayofmonth)",
    "dayofweek": "1 = Sunday ... 7 = Saturday", "exp": "e to the power x", "floor": "largest integer <= x",
    "greatest": "largest argument, NULL if any is NULL", "group_concat": "group_concat([distinct] x "
    "[order by ...] [separator s])", "hour": "hour of a datetime", "if": "if(condition, then, else)",
    "ifnull": "ifnull(x, fallback)", "instr": "instr(s, sub), also locate(sub, s): 1-based position or 0",
    "least": "smallest argument, NULL if any is NULL", "left": "left(s, n): first n characters",
    "length": "length in bytes", "ln": "natural logarithm (also log(x))", "log": "log(b, x), log2(x), log10(x)",
    "lower": "lower case (also lcase)", "max": "maximum (aggregate)", "mid": "same as substring",
    "min": "minimum (aggregate)", "minute": "minute of a datetime", "mod": "remainder (also x % y, x mod y)",
    "month": "month number", "now": "current local datetime (also current_timestamp, sysdate, localtime, "
    "localtimestamp)", "nullif": "NULL if a = b, else a", "pi": "3.14159...", "pow": "x to the power y "
    "(also power)", "quarter": "quarter of the year, 1-4", "replace": "replace(s, from, to), case-sensitive",
    "right": "right(s, n): last n characters", "round": "round(x[, d])", "second": "second of a datetime",
    "sign": "-1, 0 or 1", "sqrt": "square root, NULL for x < 0", "std": "population standard deviation "
    "(also stddev, stddev_pop)", "stddev_samp": "sample standard deviation", "substring": "substring(s, pos"
    "[, len]) (also substr)", "sum": "sum (aggregate)", "time": "time of day of a datetime",
    "timestampdiff": "timestampdiff(unit, start, end): MICROSECOND, SECOND, MINUTE, HOUR, DAY, WEEK, MONTH, "
    "QUARTER, YEAR", "trim": "trim spaces (also ltrim, rtrim)", "truncate": "truncate(x, d) toward zero",
    "unix_timestamp": "seconds since 1970-01-01 UTC", "upper": "upper case (also ucase)",
    "utc_timestamp": "current UTC datetime", "var_samp": "sample variance",
    "variance": "population variance (also var_pop)", "year": "year",
})


@dataclass(frozen=True)
class Fragment:
    """A parsed SQL fragment: its text, the attributes it names and whether it aggregates.

    Attributes
    ----------
    text : str
        The fragment as written.
    columns : frozenset of str
        The attribute names it references, lower-cased.
    has_aggregate : bool
        True if it calls an aggregate function (``count``, ``sum``, ``group_concat`` ...).
    """

    text: str
    columns: frozenset[str]
    has_aggregate: bool
    _tree: exp.Expression = field(repr=False, compare=False, hash=False)

    def to_sqlalchemy(self, resolve: Resolver) -> sa.ColumnElement:
        """Build the SQLAlchemy expression (for SELECT lists, ORDER BY and arguments).

        Parameters
        ----------
        resolve : callable
            Maps an attribute name (lower-case) to the column expression that stands for it,
            for example ``lambda name: table.c[name]`` or a computed expression.
        """
        return _Converter(resolve, self.text).value(self._tree)

    def to_condition(self, resolve: Resolver) -> sa.ColumnElement:
        """Build the expression as a condition (for WHERE and HAVING).

        Same as :meth:`to_sqlalchemy`, except that a number is true when it is non-zero, as in
        MySQL: ``A & 'is_good'`` keeps rows where ``is_good`` is not 0 on every backend.
        """
        return _Converter(resolve, self.text).condition(self._tree)


def parse_fragment(text: str) -> Fragment:
    """Parse a MySQL-flavoured SQL fragment.

    Raises
    ------
    QuerySyntaxError
        If the text does not parse, uses a construct or function that labjoin cannot run the
        same way on every backend, or nests aggregates. The message quotes the text.
    """
    if not isinstance(text, str):
        raise TypeError(f"A SQL fragment must be a str, not {type(text).__name__}.")
    return _parse_cached(text)


@lru_cache(maxsize=4096)
def _parse_cached(text: str) -> Fragment:
    tree = _parse_tree(text)
    # A dry conversion against untyped columns runs every structural check at parse time.
    try:
        _Converter(lambda name: sa.column(name), text).value(tree)
    except _Problem as problem:
        raise QuerySyntaxError(f"Cannot use the SQL fragment {text!r}: {problem}") from None
    columns = frozenset(col.name.lower() for col in tree.find_all(exp.Column))
    return Fragment(text, columns, any(isinstance(n, exp.AggFunc) for n in tree.walk()), tree)


def _parse_tree(text: str) -> exp.Expression:
    if not text.strip():
        raise QuerySyntaxError("The SQL fragment is empty. Write a condition or an expression, "
                               "for example 'subject_nickname = \"ibl_witten_10\"'.")
    try:
        return sqlglot.parse_one(text, read=_FragmentDialect, into=exp.Condition)
    except TokenError:
        position = _unclosed_quote(text)
        raise QuerySyntaxError(_located(
            text, position, 1, "a quote is not closed. Close the string with the same quote character")) from None
    except ParseError as error:
        detail = error.errors[0] if error.errors else {}
        line, column = detail.get("line", 1), detail.get("col", len(text))
        highlight = detail.get("highlight") or " "
        lines = text.splitlines() or [text]
        offset = sum(len(ln) + 1 for ln in lines[: line - 1]) + max(column - len(highlight), 0)
        description = re.sub(r"<class '[\w.]*\.(\w+)'>", r"\1", detail.get("description", str(error)))
        description = re.sub(r"Required keyword: '\w+' missing for (\w+)", r"\1 is missing an operand", description)
        raise QuerySyntaxError(_located(text, offset, len(highlight), description)) from None


def _located(text: str, offset: int, width: int, problem: str) -> str:
    """A message that quotes the text and underlines the problem."""
    line_start = text.rfind("\n", 0, offset) + 1
    line_end = text.find("\n", offset)
    line = text[line_start: line_end if line_end >= 0 else len(text)]
    caret = " " * (offset - line_start) + "^" * max(width, 1)
    return (f"Cannot parse the SQL fragment {text!r}: {problem} "
            f"(line {text.count(chr(10), 0, offset) + 1}, column {offset - line_start + 1}).\n"
            f"    {line}\n    {caret}\n"
            "Fragments are MySQL expressions: strings in '...' or \"...\", names in `...`.")


def _unclosed_quote(text: str) -> int:
    """Offset of the quote that opens a string never closed (MySQL's escapes respected)."""
    i, opened = 0, 0
    quote = ""
    while i < len(text):
        ch = text[i]
        if quote:
            if (ch == "\\" and quote != "`") or (ch == quote and text[i + 1: i + 2] == quote):
                i += 1
            elif ch == quote:
                quote = ""
        elif ch in "'\"`":
            quote, opened = ch, i
        i += 1
    return opened


def check_columns(fragment: Fragment, available: Iterable[str]) -> None:
    """Check that every attribute a fragment names is available.

    Raises
    ------
    UnknownAttributeError
        Naming each unknown attribute, with the closest available name and the full list.
    """
    names = list(available)
    by_lower = {name.lower(): name for name in names}
    unknown = sorted(fragment.columns - by_lower.keys())
    if not unknown:
        return
    hints = []
    for name in unknown:
        close = difflib.get_close_matches(name, list(by_lower), n=1, cutoff=0.6)
        hints.append(f"`{name}` (did you mean `{by_lower[close[0]]}`?)" if close else f"`{name}`")
    noun = "Attribute" if len(unknown) == 1 else "Attributes"
    raise UnknownAttributeError(
        f"{noun} {', '.join(hints)} in the SQL fragment {fragment.text!r} "
        f"{'is' if len(unknown) == 1 else 'are'} not in the query. "
        f"Available attributes: {', '.join(names) or '(none)'}."
    )


# ---------------------------------------------------------------------------------------------
# Conversion of the sqlglot tree to SQLAlchemy Core


class _Problem(Exception):
    """A construct that labjoin cannot translate; reported as QuerySyntaxError with the text."""


@dataclass(frozen=True)
class _Lit:
    """A literal whose SQL type is decided by its neighbours (``d > "2019-01-01"`` binds a date)."""

    value: str | int | float | bool | None


_Value = sa.ColumnElement | _Lit
_HANDLERS: dict[type[exp.Expression], Callable[[_Converter, exp.Expression], _Value]] = {}


def _handles(*classes: type[exp.Expression]) -> Callable:
    def register(method: Callable) -> Callable:
        _HANDLERS.update(dict.fromkeys(classes, method))
        return method

    return register


_DATE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
_DATETIME = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})[ T](\d{1,2}):(\d{1,2})(?::(\d{1,2})(?:\.(\d{1,6}))?)?")
_TIME = re.compile(r"(\d{1,2}):(\d{1,2})(?::(\d{1,2})(?:\.(\d{1,6}))?)?")


def _temporal_value(text: str, want: type) -> dt.date | dt.datetime | dt.time:
    """Read a MySQL date/datetime/time string; a datetime stays a datetime even next to a date."""
    text = text.strip()
    try:
        if want is sa.Time and (m := _TIME.fullmatch(text)):
            h, mi, s, frac = m.groups()
            return dt.time(int(h), int(mi), int(s or 0), int((frac or "0").ljust(6, "0")))
        if m := _DATETIME.fullmatch(text):
            *ymdhm, s, frac = m.groups()
            return dt.datetime(*map(int, ymdhm), int(s or 0), int((frac or "0").ljust(6, "0")))
        if m := _DATE.fullmatch(text):
            day = dt.date(*map(int, m.groups()))
            return dt.datetime.combine(day, dt.time()) if want is sa.DateTime else day
    except ValueError:
        pass  # out-of-range parts fall through to the message below
    raise DataError(f"{text!r} is not a valid {'time' if want is sa.Time else 'date'}. "
                    "Write dates as 'YYYY-MM-DD', datetimes as 'YYYY-MM-DD HH:MM:SS' and times as 'HH:MM:SS'.")


def _number(text: str) -> int | float | None:
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            return None


def _bind(lit: _Lit, peer: sa.types.TypeEngine | None = None) -> sa.ColumnElement:
    """A bound parameter for a literal, typed after the expression it meets."""
    value = lit.value
    if value is None:
        return sa.null()
    if isinstance(value, bool):
        return sa.true() if value else sa.false()
    affinity = peer._type_affinity if peer is not None else None
    if isinstance(value, str):
        if affinity is not None and issubclass(affinity, sa.Date | sa.DateTime | sa.Time):
            parsed = _temporal_value(value, affinity)
            kind = type(parsed)
            own = {dt.datetime: sa.DateTime, dt.date: sa.Date, dt.time: sa.Time}[kind]
            return sa.bindparam(None, parsed, type_=peer if issubclass(affinity, own) else own())
        if affinity is not None and issubclass(affinity, sa.Numeric | sa.Integer):
            number = _number(value.strip())
            if number is not None:
                return _bind(_Lit(number), peer)
        if affinity is not None and not issubclass(affinity, sa.types.NullType | sa.Boolean):
            return sa.bindparam(None, value, type_=peer)  # strings, and the core's own types (uuid ...)
        return sa.bindparam(None, value, type_=sa.String())
    if affinity is not None and issubclass(affinity, sa.Boolean) and value in (0, 1):
        return sa.bindparam(None, bool(value), type_=peer)
    if isinstance(value, int):
        if affinity is not None and issubclass(affinity, sa.Integer) and not issubclass(affinity, sa.Boolean):
            return sa.bindparam(None, value, type_=peer)
        return sa.bindparam(None, value, type_=sa.Integer() if abs(value) < 2**31 else sa.BigInteger())
    return sa.bindparam(None, value, type_=peer if isinstance(peer, sa.Float) else sa.Float())


def _comparable(values: list[sa.ColumnElement]) -> list[sa.ColumnElement]:
    """Operands of one comparison, made comparable as MySQL compares them.

    MySQL compares a date with a datetime as datetimes; SQLite would compare their texts
    ('2020-02-29' < '2020-02-29 00:00:00'), so there both become day numbers.
    """
    kinds = {v.type._type_affinity for v in values}
    if kinds == {sa.Date, sa.DateTime}:
        return [fn.SameClock(v) for v in values]
    return [_case_insensitive(values[0], *values[1:]), *values[1:]]


def _case_insensitive(left: sa.ColumnElement, *others: sa.ColumnElement) -> sa.ColumnElement:
    """Compare computed strings case-insensitively, as MySQL's _ci collations do.

    Columns carry their case-insensitive collation on every backend, and SQLite applies a
    column's collation to the whole comparison; a computed string (``lower(s)``, ``concat(...)``)
    compared with another non-column needs an explicit one there.
    """
    operands = (left, *others)
    if all(fn.is_string(v) for v in operands) and not any(isinstance(v, sa.ColumnClause) for v in operands):
        return fn.NoCase(left)
    return left


def _at_least(value: int | None, low: int) -> bool:
    return value is not None and value >= low


def _written_name(node: exp.Expression) -> str:
    if isinstance(node, exp.Anonymous):
        return node.name.lower()
    text = node.sql(dialect="mysql")
    return text.split("(", 1)[0].strip().lower() if "(" in text else node.key


_UNSUPPORTED = {
    exp.Subquery: "subqueries are not supported; restrict by another query instead (A & B, A - B)",
    exp.Select: "subqueries are not supported; restrict by another query instead (A & B, A - B)",
    exp.Window: "window functions (OVER ...) are not supported",
    exp.Interval: "INTERVAL arithmetic is not supported; use datediff() or timestampdiff()",
    exp.Collate: "COLLATE is not supported; string comparisons are case-insensitive on every backend",
    exp.Placeholder: "placeholders (? or %s) are not supported; write the value or restrict by a dict",
    exp.Parameter: "@variables are not supported",
    exp.Tuple: "row tuples are not supported; combine conditions with AND",
    exp.HexString: "hexadecimal literals are not supported",
    exp.BitString: "bit literals are not supported",
}


class _Converter:
    """Converts one fragment's tree; ``resolve`` maps attribute names to column expressions."""

    def __init__(self, resolve: Resolver, text: str) -> None:
        self.resolve = resolve
        self.text = text
        self.in_aggregate = False

    # -- entry points ---------------------------------------------------------------------------

    def value(self, node: exp.Expression) -> sa.ColumnElement:
        return self._guarded(lambda: self.expr(node))

    def condition(self, node: exp.Expression) -> sa.ColumnElement:
        return self._guarded(lambda: self.cond(node))

    def _guarded(self, build: Callable[[], sa.ColumnElement]) -> sa.ColumnElement:
        try:
            return build()
        except _Problem as problem:
            raise QuerySyntaxError(f"Cannot use the SQL fragment {self.text!r}: {problem}") from None

    # -- contexts -------------------------------------------------------------------------------

    def any(self, node: exp.Expression) -> _Value:
        handler = _HANDLERS.get(type(node))
        if handler is not None:
            return handler(self, node)
        for cls, message in _UNSUPPORTED.items():
            if isinstance(node, cls):
                raise _Problem(message + ".")
        if isinstance(node, exp.Func):
            return self._unknown(node)
        raise _Problem(f"{_written_name(node).upper()} is not supported in SQL fragments.")

    def expr(self, node: exp.Expression, peer: sa.types.TypeEngine | None = None) -> sa.ColumnElement:
        value = self.any(node)
        return _bind(value, peer) if isinstance(value, _Lit) else value

    def num(self, node: exp.Expression) -> sa.ColumnElement:
        """A number: booleans count as 0/1 and numeric strings as numbers, as in MySQL."""
        value = self.any(node)
        if isinstance(value, _Lit):
            if isinstance(value.value, bool):
                value = _Lit(int(value.value))
            elif isinstance(value.value, str) and (number := _number(value.value.strip())) is not None:
                value = _Lit(number)
            return _bind(value)
        if fn.is_boolean(value):
            return fn.BoolToInt(value)
        return fn.CastTo(value, "double") if fn.is_string(value) else value

    def cond(self, node: exp.Expression) -> sa.ColumnElement:
        """A condition: a number is true when non-zero."""
        value = self.expr(node)
        return value if fn.is_boolean(value) or isinstance(value, sa.Null) else fn.Truth(value)

    def temporal(self, node: exp.Expression) -> sa.ColumnElement:
        """A date/datetime argument: string literals are read as dates or datetimes."""
        value = self.any(node)
        if isinstance(value, _Lit) and isinstance(value.value, str):
            return _bind(value, sa.DateTime() if _DATETIME.fullmatch(value.value.strip()) else sa.Date())
        return _bind(value) if isinstance(value, _Lit) else value

    def group(self, nodes: list[exp.Expression]) -> list[sa.ColumnElement]:
        """Arguments that share one type (coalesce, if, in, between): literals follow the others."""
        values = [self.any(n) for n in nodes]
        peer = next((v.type for v in values if not isinstance(v, _Lit)), None)
        return [_bind(v, peer) if isinstance(v, _Lit) else v for v in values]

    @staticmethod
    def literal_int(node: exp.Expression | None) -> int | None:
        """The value of an integer literal (``2``, ``-1``), or None for anything else."""
        sign = 1
        while isinstance(node, exp.Paren | exp.Neg):
            sign, node = (-sign if isinstance(node, exp.Neg) else sign), node.this
        if isinstance(node, exp.Literal) and not node.is_string and type(value := _number(node.this)) is int:
            return sign * value
        return None

    # -- leaves ---------------------------------------------------------------------------------

    @_handles(exp.Column)
    def _column(self, node: exp.Column) -> _Value:
        if node.table:
            raise _Problem(f"qualified names such as {node.sql(dialect='mysql')} are not supported; "
                           "name the attribute alone")
        return self.resolve(node.name.lower())

    @_handles(exp.Literal, exp.National, exp.Null, exp.Boolean)
    def _literal(self, node: exp.Expression) -> _Value:
        if isinstance(node, exp.Null):
            return _Lit(None)
        if isinstance(node, exp.Boolean):
            return _Lit(bool(node.this))
        if isinstance(node, exp.National) or node.is_string:
            return _Lit(node.this)
        return _Lit(_number(node.this))

    @_handles(exp.Paren)
    def _paren(self, node: exp.Paren) -> _Value:
        return self.any(node.this)

    @_handles(exp.Neg)
    def _neg(self, node: exp.Neg) -> _Value:
        value = self.any(node.this)
        if isinstance(value, _Lit) and type(value.value) in (int, float):
            return _Lit(-value.value)
        return -self.num(node.this)

    # -- logic and comparisons ------------------------------------------------------------------

    @_handles(exp.Not)
    def _not(self, node: exp.Not) -> _Value:
        return sa.not_(self.cond(node.this))

    @_handles(exp.And, exp.Or, exp.Xor)
    def _logic(self, node: exp.Expression) -> _Value:
        a, b = self.cond(node.this), self.cond(node.expression)
        if isinstance(node, exp.Xor):
            return sa.or_(sa.and_(a, sa.not_(b)), sa.and_(sa.not_(a), b))
        return (sa.and_ if isinstance(node, exp.And) else sa.or_)(a, b)

    _OPERATORS: Mapping[type, str] = {exp.EQ: "=", exp.NEQ: "<>", exp.GT: ">", exp.GTE: ">=",
                                      exp.LT: "<", exp.LTE: "<="}

    @_handles(exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE, exp.NullSafeEQ)
    def _compare(self, node: exp.Expression) -> _Value:
        left, right = self.group([node.this, node.expression])
        if isinstance(node, exp.NullSafeEQ):
            return left.is_not_distinct_from(right)
        op = self._OPERATORS[type(node)]
        if isinstance(left, sa.Null) or isinstance(right, sa.Null):
            return left.op(op, is_comparison=True)(right)  # x = NULL is NULL in SQL, never IS NULL
        if fn.is_boolean(left) != fn.is_boolean(right):  # MySQL compares booleans as 0/1
            left, right = (fn.BoolToInt(v) if fn.is_boolean(v) else v for v in (left, right))
        left, right = _comparable([left, right])
        return left.op(op, is_comparison=True)(right)

    @_handles(exp.Is)
    def _is(self, node: exp.Is) -> _Value:
        target = node.expression
        if isinstance(target, exp.Null):
            return self.expr(node.this).is_(None)
        return fn.IsTruth(self.cond(node.this), bool(target.this))

    @_handles(exp.In)
    def _in(self, node: exp.In) -> _Value:
        if node.args.get("query") or node.args.get("unnest") or node.args.get("field"):
            raise _Problem(_UNSUPPORTED[exp.Subquery])
        if not node.expressions:
            raise _Problem("IN () needs at least one value")
        left, *items = _comparable(self.group([node.this, *node.expressions]))
        return left.in_(items)

    @_handles(exp.Between)
    def _between(self, node: exp.Between) -> _Value:
        left, low, high = _comparable(self.group([node.this, node.args["low"], node.args["high"]]))
        return left.between(low, high)

    @_handles(exp.Like, exp.RegexpLike)
    def _like(self, node: exp.Expression, escape: exp.Expression | None = None) -> _Value:
        extra = [self.expr(escape)] if escape is not None else []
        negate = bool(node.args.get("negate"))
        return fn.MatchLike(self.expr(node.this), self.expr(node.expression, sa.String()), *extra,
                            negate=negate, regexp=isinstance(node, exp.RegexpLike))

    @_handles(exp.Escape)
    def _escape(self, node: exp.Escape) -> _Value:
        if not isinstance(node.this, exp.Like):
            raise _Problem("ESCAPE belongs to LIKE")
        return self._like(node.this, node.expression)

    # -- arithmetic and conditionals ------------------------------------------------------------

    @_handles(exp.Add, exp.Sub, exp.Mul, exp.Div, exp.IntDiv, exp.Mod)
    def _arithmetic(self, node: exp.Expression) -> _Value:
        a, b = self.num(node.this), self.num(node.expression)
        build = {exp.Add: lambda: a + b, exp.Sub: lambda: a - b, exp.Mul: lambda: a * b,
                 exp.Div: lambda: fn.Divide(a, b), exp.IntDiv: lambda: fn.IntDivide(a, b),
                 exp.Mod: lambda: fn.Modulo(a, b)}
        return build[type(node)]()

    @_handles(exp.If)
    def _if(self, node: exp.If) -> _Value:
        if node.args.get("false") is None:
            raise _Problem("if() takes three arguments: if(condition, value_if_true, value_if_false)")
        then, otherwise = self.group([node.args["true"], node.args["false"]])
        return sa.case((self.cond(node.this), then), else_=otherwise)

    @_handles(exp.Case)
    def _case(self, node: exp.Case) -> _Value:
        ifs, default = node.args["ifs"], node.args.get("default")
        results = self.group([i.args["true"] for i in ifs] + ([default] if default is not None else []))
        else_ = results.pop() if default is not None else None
        if node.this is not None:  # CASE x WHEN 1 THEN ...
            subject, *keys = self.group([node.this, *(i.this for i in ifs)])
            whens = ((subject.op("=", is_comparison=True)(k), r) for k, r in zip(keys, results))
            return sa.case(*whens, else_=else_)
        return sa.case(*((self.cond(i.this), r) for i, r in zip(ifs, results)), else_=else_)

    # -- functions ------------------------------------------------------------------------------

    # Spelled and behaving the same on every backend: passed through as sa.func.<name>.
    _SAME_EVERYWHERE: Mapping[type, str] = {exp.Abs: "abs", exp.Exp: "exp", exp.Pow: "power", exp.Sign: "sign",
                                            exp.Pi: "pi", exp.Ceil: "ceil", exp.Floor: "floor"}

    @_handles(exp.Abs, exp.Exp, exp.Pow, exp.Sign, exp.Pi, exp.Ceil, exp.Floor)
    def _math(self, node: exp.Func) -> _Value:
        if node.args.get("decimals") is not None:
            raise _Problem(f"{_written_name(node)}() takes one argument")
        args = [self.num(a) for a in (node.this, node.expression) if a is not None]
        type_ = {exp.Abs: args[0].type if args else None, exp.Sign: sa.Integer()}.get(type(node), sa.Float())
        if isinstance(node, exp.Ceil | exp.Floor) and not fn.is_float(args[0]):
            type_ = sa.BigInteger()
        return getattr(sa.func, self._SAME_EVERYWHERE[type(node)])(*args, type_=type_)

    @_handles(exp.Sqrt, exp.Ln)
    def _safe_math(self, node: exp.Func) -> _Value:
        return fn.SafeMath("sqrt" if isinstance(node, exp.Sqrt) else "ln", self.num(node.this))

    @_handles(exp.Log)
    def _log(self, node: exp.Log) -> _Value:
        if node.expression is None:
            return fn.SafeMath("ln", self.num(node.this))
        return fn.LogBase(self.num(node.this), self.num(node.expression))

    @_handles(exp.Round, exp.Trunc)
    def _round(self, node: exp.Func) -> _Value:
        x, digits = self.num(node.this), node.args.get("decimals")
        if isinstance(node, exp.Trunc):
            if digits is None:
                raise _Problem("truncate() takes two arguments: truncate(x, decimals)")
            return fn.Truncate(x, self.num(digits))
        simple = digits is None or _at_least(self.literal_int(digits), 0)
        return fn.Round(x, None if digits is None else self.num(digits), simple_digits=simple)

    @_handles(exp.Coalesce, exp.Nullif)
    def _coalesce(self, node: exp.Func) -> _Value:
        args = self.group([node.this, *(node.expressions or [node.expression])])
        if isinstance(node, exp.Nullif):
            return sa.func.nullif(*args, type_=args[0].type)
        return sa.func.coalesce(*args)

    @_handles(exp.Greatest, exp.Least)
    def _extremum(self, node: exp.Func) -> _Value:
        return fn.Extremum(node.key, *self.group([node.this, *node.expressions]))

    @_handles(exp.Concat)
    def _concat(self, node: exp.Concat) -> _Value:
        return fn.Concat(*(self.expr(a) for a in node.expressions))

    @_handles(exp.Lower, exp.Upper)
    def _case_fold(self, node: exp.Func) -> _Value:
        return getattr(sa.func, node.key)(self.expr(node.this), type_=sa.String())

    @_handles(exp.Trim)
    def _trim(self, node: exp.Trim) -> _Value:
        if node.expression is not None or node.args.get("collation") is not None:
            raise _Problem("trim() with characters to remove is not supported; trim(x) removes spaces")
        name = {"LEADING": "ltrim", "TRAILING": "rtrim"}.get(str(node.args.get("position") or "").upper(), "trim")
        return getattr(sa.func, name)(self.expr(node.this), type_=sa.String())

    @_handles(exp.Length)
    def _length(self, node: exp.Length) -> _Value:
        return fn.StringFn("length" if node.args.get("binary") else "char_length", self.expr(node.this))

    @_handles(exp.Replace)
    def _replace(self, node: exp.Replace) -> _Value:
        return fn.StringFn("replace", *(self.expr(a) for a in (node.this, node.expression, node.args["replacement"])))

    @_handles(exp.StrPosition)
    def _instr(self, node: exp.StrPosition) -> _Value:
        if node.args.get("position") is not None or node.args.get("occurrence") is not None:
            raise _Problem("locate() with a start position is not supported")
        return fn.StringFn("instr", self.expr(node.this), self.expr(node.args["substr"]))

    @_handles(exp.Substring)
    def _substring(self, node: exp.Substring) -> _Value:
        return self._substring_of(node.this, node.args.get("start"), node.args.get("length"))

    def _substring_of(self, s: exp.Expression, start: exp.Expression | None,
                      length: exp.Expression | None) -> _Value:
        if start is None:
            raise _Problem("substring() needs a start position: substring(s, pos[, len])")
        simple = _at_least(self.literal_int(start), 1) and (length is None or _at_least(self.literal_int(length), 0))
        extra = [self.num(length)] if length is not None else []
        return fn.Substring(self.expr(s), self.num(start), *extra, simple=simple)

    @_handles(exp.Left, exp.Right)
    def _left_right(self, node: exp.Func) -> _Value:
        return fn.LeftRight(node.key, self.expr(node.this), self.num(node.expression))

    # -- dates and times ------------------------------------------------------------------------

    @_handles(exp.TsOrDsToDate, exp.Date)
    def _date(self, node: exp.Func) -> _Value:
        if node.args.get("format") is not None or node.expressions:
            raise _Problem("date() takes one argument")
        return fn.DateOf(self.temporal(node.this))

    @_handles(exp.Time)
    def _time(self, node: exp.Time) -> _Value:
        return fn.TimeOf(self.temporal(node.this))

    _PARTS: Mapping[type, str] = {exp.Year: "year", exp.Month: "month", exp.Day: "day", exp.DayOfMonth: "day",
                                  exp.Hour: "hour", exp.Minute: "minute", exp.Second: "second",
                                  exp.DayOfWeek: "dayofweek", exp.Quarter: "quarter"}

    @_handles(*_PARTS)
    def _date_part(self, node: exp.Func) -> _Value:
        arg = node.this
        if isinstance(arg, exp.TsOrDsToDate):  # sqlglot wraps year(d) as year(date(d)); same result
            arg = arg.this
        return fn.DatePart(self._PARTS[type(node)], self.temporal(arg))

    @_handles(exp.DateDiff)
    def _datediff(self, node: exp.DateDiff) -> _Value:
        if node.args.get("unit") is not None:
            raise _Problem("datediff() takes two dates: datediff(end, start)")
        return fn.DateDiff(self.temporal(node.this), self.temporal(node.expression))

    @_handles(exp.TimestampDiff)
    def _timestampdiff(self, node: exp.TimestampDiff) -> _Value:
        unit = node.args["unit"].name.lower().removeprefix("sql_tsi_")
        if unit not in fn.TimestampDiff.UNITS:
            raise _Problem(f"timestampdiff() unit {unit.upper()} is not one of "
                           f"{', '.join(u.upper() for u in fn.TimestampDiff.UNITS)}")
        return fn.TimestampDiff(unit, self.temporal(node.expression), self.temporal(node.this))

    @_handles(exp.CurrentDate, exp.CurrentTimestamp, exp.Localtime, exp.Localtimestamp, exp.UtcTimestamp)
    def _now(self, node: exp.Func) -> _Value:
        if any(v is not None for v in node.args.values()):
            raise _Problem(f"{_written_name(node)}() takes no arguments")
        return {exp.CurrentDate: fn.CurDate, exp.UtcTimestamp: fn.UtcNow}.get(type(node), fn.Now)()

    _ANONYMOUS: Mapping[str, tuple[int, int]] = {"now": (0, 0), "sysdate": (0, 0), "unix_timestamp": (0, 1),
                                                 "mid": (2, 3)}

    @_handles(exp.Anonymous)
    def _anonymous(self, node: exp.Anonymous) -> _Value:
        name, args = node.name.lower(), node.expressions
        if name not in self._ANONYMOUS:
            return self._unknown(node)
        low, high = self._ANONYMOUS[name]
        if not low <= len(args) <= high:
            raise _Problem(f"{name}() takes {low if low == high else f'{low} to {high}'} arguments, not {len(args)}")
        if name == "mid":
            return self._substring_of(*args, *([None] * (3 - len(args))))
        if name == "unix_timestamp":
            return fn.UnixTimestamp(*(self.temporal(a) for a in args))
        return fn.Now()

    def _unknown(self, node: exp.Expression) -> _Value:
        raise _Problem(
            f"the function {_written_name(node)}() is not supported: labjoin runs fragments the same "
            f"way on SQLite, PostgreSQL and MySQL. Supported functions: {', '.join(SUPPORTED_FUNCTIONS)}.")

    _CASTS: Mapping[str, str] = {
        **dict.fromkeys(("BIGINT", "UBIGINT", "INT", "UINT", "SMALLINT", "USMALLINT", "TINYINT", "UTINYINT",
                         "MEDIUMINT", "UMEDIUMINT"), "integer"),
        **dict.fromkeys(("CHAR", "NCHAR", "VARCHAR", "NVARCHAR", "TEXT"), "char"),
        **dict.fromkeys(("DOUBLE", "FLOAT"), "double"),
        "DECIMAL": "decimal", "DATE": "date", "DATETIME": "datetime", "TIMESTAMP": "datetime", "TIME": "time",
    }

    @_handles(exp.Cast)
    def _cast(self, node: exp.Cast) -> _Value:
        target = node.args["to"]
        kind = self._CASTS.get(target.this.name)
        params = [self.literal_int(p.this) for p in target.expressions]
        if kind is None or (kind != "decimal" and params) or None in params:
            raise _Problem(f"CAST(... AS {target.sql(dialect='mysql')}) is not supported; cast to SIGNED, "
                           "UNSIGNED, CHAR, DECIMAL(p, s), DOUBLE, DATE, DATETIME or TIME")
        precision, scale = (params + [10, 0][len(params):])[:2]
        value = self.expr(node.this)
        if fn.is_boolean(value) and kind in ("integer", "double", "decimal"):
            value = fn.BoolToInt(value)  # PostgreSQL cannot cast boolean to bigint
        return fn.CastTo(value, kind, precision, scale)

    # -- aggregates -----------------------------------------------------------------------------

    def _aggregate_argument(self, node: exp.Expression, numeric: bool = True) -> tuple[sa.ColumnElement, bool]:
        """The argument of an aggregate, and whether it was DISTINCT."""
        if self.in_aggregate:
            raise _Problem("aggregate functions cannot be nested")
        distinct = isinstance(node, exp.Distinct)
        if distinct:
            if len(node.expressions) != 1:
                raise _Problem("DISTINCT in an aggregate takes one expression")
            node = node.expressions[0]
        self.in_aggregate = True
        try:
            return (self.num(node) if numeric else self.expr(node)), distinct
        finally:
            self.in_aggregate = False

    @_handles(exp.Count)
    def _count(self, node: exp.Count) -> _Value:
        if isinstance(node.this, exp.Star):
            return sa.func.count()
        arg, distinct = self._aggregate_argument(node.this, numeric=False)
        return sa.func.count(sa.distinct(arg) if distinct else arg)

    @_handles(exp.Sum, exp.Avg, exp.Min, exp.Max)
    def _simple_aggregate(self, node: exp.AggFunc) -> _Value:
        numeric = isinstance(node, exp.Sum | exp.Avg)
        arg, distinct = self._aggregate_argument(node.this, numeric=numeric)
        if not numeric and fn.is_boolean(arg):
            arg = fn.BoolToInt(arg)  # PostgreSQL has no max(boolean)
        extra = {"type_": sa.Float()} if isinstance(node, exp.Avg) else {}
        return getattr(sa.func, node.key)(sa.distinct(arg) if distinct else arg, **extra)

    _STATS: Mapping[type, str] = {exp.StddevPop: "stddev_pop", exp.Stddev: "stddev_pop",
                                  exp.StddevSamp: "stddev_samp", exp.VariancePop: "var_pop", exp.Variance: "var_samp"}

    @_handles(*_STATS)
    def _statistic(self, node: exp.AggFunc) -> _Value:
        arg, distinct = self._aggregate_argument(node.this)
        if distinct:
            raise _Problem(f"DISTINCT is not supported in {_written_name(node)}()")
        return fn.StatAggregate(self._STATS[type(node)], arg)

    @_handles(exp.GroupConcat)
    def _group_concat(self, node: exp.GroupConcat) -> _Value:
        inner, ordered = node.this, []
        if isinstance(inner, exp.Order):
            inner, ordered = inner.this, inner.expressions
        x, distinct = self._aggregate_argument(inner, numeric=False)
        value_node = inner.expressions[0] if distinct else inner
        if distinct and any(o.this != value_node for o in ordered):
            raise _Problem("group_concat(DISTINCT x ORDER BY ...) can only be ordered by x itself")
        self.in_aggregate = True
        try:
            order = [(self.expr(o.this), bool(o.args.get("desc"))) for o in ordered]
        finally:
            self.in_aggregate = False
        separator = node.args.get("separator")
        sep = self.expr(separator) if separator is not None else sa.bindparam(None, ",", type_=sa.String())
        return fn.GroupConcat(x, sep, order, distinct, default_separator=separator is None)
