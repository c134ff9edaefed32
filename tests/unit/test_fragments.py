"""SQL fragments compile to the expected SQL and parameters on each dialect (no database).

The expected SQL lives in tests/fixtures/fragments/compiled.json, one entry per fragment, so a
change to a translation shows up as a readable diff. After an intended change, regenerate it
with ``python tests/unit/test_fragments.py`` and review the diff.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects.mssql import pyodbc as mssql_pyodbc
from sqlalchemy.dialects.mysql import pymysql
from sqlalchemy.dialects.postgresql import psycopg
from sqlalchemy.dialects.sqlite import pysqlite

from labjoin.errors import DataError, QuerySyntaxError, UnknownAttributeError, UnsupportedOperation
from labjoin.sql.fragments import SUPPORTED_FUNCTIONS, Fragment, check_columns, parse_fragment

ROOT = Path(__file__).resolve().parents[2]
SNAPSHOT = ROOT / "tests" / "fixtures" / "fragments" / "compiled.json"
DOCS = ROOT / "docs" / "sql-fragments.md"

# The drivers labjoin uses; SQLite with named parameters so the snapshots read well.
DIALECTS = {
    "sqlite": pysqlite.dialect(paramstyle="named"),
    "postgresql": psycopg.dialect(),
    "mysql": pymysql.dialect(),
}
TABLE = sa.table(
    "t",
    sa.column("id", sa.Integer), sa.column("i", sa.Integer), sa.column("f", sa.Float),
    sa.column("n", sa.Numeric(8, 3)), sa.column("s", sa.String(32)), sa.column("s2", sa.String(32)),
    sa.column("d", sa.Date), sa.column("dt", sa.DateTime), sa.column("b", sa.Boolean), sa.column("g", sa.Integer),
)


def resolve(name: str) -> sa.ColumnElement:
    return TABLE.c[name]


# What users write, as DataJoint users do: restrictions, projections and aggregates.
FRAGMENTS = [
    's2="ibl_witten_10"', 'dt > "2019-01-01"', 'd = "2019-01-01"', 'd > "2019-01-01 12:00"', "s in ('M','F')",
    "s not in ('abc')", "i between 1 and 3", "i not between 1 and 3", "i is null", "i is not null",
    'i = null', 'i <=> null', 's like "ibl%"', 's not like "a%"', r's2 like "a\_b"', 's2 like "a!_b" escape "!"',
    's regexp "^ab"', 's not regexp "c$"', "b", "not b", "b = 1", "b = true", "b is true", "b is not false", "i",
    "not i", "i and f", "i or b", "i xor b", "f > 1.4", "i > '2'", "(i > 0 and f > 1) or s = 'xyz'",
    "lower(s) = 'abc'", "concat(s, '-', s2) = 'abc-x'", "i + 1", "i - f", "i * 2", "-i", "i / 4", "i / (f + 1)",
    "i div 3", "i % 3", "mod(f, 2)", "abs(f)", "sign(f)", "ceil(f)", "ceiling(i)", "floor(f)", "round(f)",
    "round(f, 1)", "round(i, -1)", "round(f, g)", "truncate(f, 1)", "sqrt(f)", "pow(f, 2)", "power(2, i)",
    "exp(1)", "ln(f)", "log(f)", "log(2, 8)", "log10(f)", "log2(i)", "pi()", "greatest(i, 2)", "least(f, i)",
    "ifnull(i, 0)", "coalesce(s, s2, 'none')", "nullif(i, 0)", "if(i > 0, 'pos', 'neg')", "if(b, 1, 0)",
    "case when i > 2 then 'big' when i < 0 then 'neg' else 'small' end", "case g when 1 then 'one' end",
    "concat(s, i)", "upper(s2)", "lcase(s2)", "length(s)", "char_length(s2)", "substring(s2, 2)",
    "substring(s2, 2, 3)", "substring(s2, -3, 2)", "substr(s2, g)", "mid(s2, 2, 2)", "left(s2, 3)",
    "right(s2, 3)", "replace(s2, '_', '-')", "instr(s2, 'B')", "locate('_', s2)", "trim(s)", "ltrim(s)",
    "rtrim(s)", "date(dt)", "date('2019-05-06 10:11:12')", "time(dt)", "year(d)", "month(dt)", "day(d)",
    "dayofmonth(dt)", "hour(dt)", "minute(dt)", "second(dt)", "dayofweek(d)", "quarter(d)",
    "datediff(d, '2019-01-01')", "timestampdiff(MINUTE, '2019-01-01', dt)", "timestampdiff(MICROSECOND, d, dt)",
    "timestampdiff(MONTH, d, dt)", "timestampdiff(YEAR, d, dt)", "now()", "curdate()", "current_timestamp",
    "sysdate()", "utc_timestamp()", "unix_timestamp(dt)", "unix_timestamp()", "dt < now()", "cast(f as signed)",
    "cast(s2 as signed)", "cast(b as unsigned)", "cast(i as char)", "cast(n as decimal(6,1))", "cast(i as double)",
    "cast('2019-01-02' as date)", "cast(d as datetime)", "cast(dt as time)", "count(*)", "count(i)",
    "count(distinct s)", "sum(i)", "sum(distinct g)", "avg(f)", "min(s)", "max(dt)", 'sum(s2="CCW")',
    "avg(b)", "avg(i > 0)", "max(b)", "std(f)", "stddev(i)", "stddev_samp(f)", "variance(f)", "var_pop(i)",
    "var_samp(f)", "group_concat(s)", "group_concat(distinct g)", 'group_concat(s order by s desc separator ";")',
    "group_concat(i order by f desc, id)", "group_concat(distinct s order by s separator '|')",
    "sum(i) / count(*)", "count(*) > 1",
]


# Fragments that are not conditions by themselves, used as restrictions (`A & "i"`): MySQL
# treats a number as true when it is not 0. Their snapshots come from Fragment.to_condition.
CONDITIONS = ["i", "not i", "i and f", "i or b", "i xor b", "b", "not b", "if(i > 0, f, 0)", "sum(s2 = 'CCW')"]


def compiled(text: str, condition: bool = False) -> dict[str, dict[str, object]]:
    fragment = parse_fragment(text)
    expression = fragment.to_condition(resolve) if condition else fragment.to_sqlalchemy(resolve)
    out = {}
    for name, dialect in DIALECTS.items():
        c = expression.compile(dialect=dialect)
        out[name] = {"sql": str(c), "params": {k: repr(v) for k, v in sorted(c.params.items())}}
    return out


def _cases() -> dict[str, tuple[str, bool]]:
    """Snapshot keys: the fragment, or 'WHERE <fragment>' for the condition form."""
    return {**{text: (text, False) for text in FRAGMENTS}, **{f"WHERE {t}": (t, True) for t in CONDITIONS}}


def _snapshot() -> dict[str, dict]:
    return json.loads(SNAPSHOT.read_text(encoding="utf-8"))


@pytest.mark.parametrize("key", list(_cases()))
def test_compiled_sql_matches_snapshot(key: str) -> None:
    expected = _snapshot().get(key)
    assert expected is not None, f"no snapshot for {key!r}; run python {__file__}"
    assert compiled(*_cases()[key]) == expected


def test_snapshot_has_no_stale_entries() -> None:
    assert set(_snapshot()) == set(_cases())


def test_every_supported_function_has_a_snapshot() -> None:
    written = " ".join(FRAGMENTS).lower()
    missing = [name for name in SUPPORTED_FUNCTIONS if not re.search(rf"\b{name}\b", written)]
    assert missing == []


def test_every_supported_function_is_documented() -> None:
    docs = DOCS.read_text(encoding="utf-8")
    assert [name for name in SUPPORTED_FUNCTIONS if f"`{name}" not in docs] == []


def test_literals_are_bound_never_pasted() -> None:
    evil = "x'; DROP TABLE t; --"
    text = f'concat(s, "{evil}") = "{evil}" and i in (12345, 67890) and dt > "2019-01-01"'
    for name, entry in compiled(text, condition=True).items():
        assert "DROP" not in entry["sql"] and "12345" not in entry["sql"] and "2019" not in entry["sql"], name
        assert repr(evil) in entry["params"].values()


# -- parsing ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "columns", "aggregate"), [
    ('subject_nickname="ibl_witten_10"', {"subject_nickname"}, False),
    ("Session_Start_Time > '2019'", {"session_start_time"}, False),
    ("`Weird Name` = 1", {"weird name"}, False),
    ("count(*)", set(), True),
    ('sum(choice = "CCW") / count(trial_id)', {"choice", "trial_id"}, True),
    ("group_concat(a order by b)", {"a", "b"}, True),
    ("if(x > 0, y, z)", {"x", "y", "z"}, False),
    ("now()", set(), False),
])
def test_parse_reports_columns_and_aggregates(text: str, columns: set[str], aggregate: bool) -> None:
    fragment = parse_fragment(text)
    assert fragment == Fragment(text, frozenset(columns), aggregate, fragment._tree)
    assert fragment.columns == columns
    assert fragment.has_aggregate is aggregate


def test_parse_is_cached_and_conversion_is_fresh() -> None:
    assert parse_fragment("i > 1") is parse_fragment("i > 1")
    first, second = (parse_fragment("i > 1").to_sqlalchemy(resolve) for _ in range(2))
    assert first is not second
    assert str(first.compile()) == str(second.compile())


def test_double_quotes_are_strings_and_backticks_are_names() -> None:
    sql = compiled('`s` = "s"')["postgresql"]
    assert sql == {"sql": "t.s = %(param_1)s::VARCHAR", "params": {"param_1": "'s'"}}


def test_unknown_dialect_fails_one_declared_way() -> None:
    expression = parse_fragment("datediff(d, dt)").to_sqlalchemy(resolve)
    with pytest.raises(UnsupportedOperation, match=r"datediff\(\) is not supported on mssql"):
        expression.compile(dialect=mssql_pyodbc.dialect())


def test_custom_elements_have_distinct_cache_keys() -> None:
    # SQLAlchemy caches compiled SQL by structure; attributes must be part of the key.
    keys = {
        parse_fragment(f"timestampdiff({unit}, d, dt)").to_sqlalchemy(resolve)._generate_cache_key().key
        for unit in ("MINUTE", "HOUR", "MONTH")
    }
    assert len(keys) == 3


# -- errors -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "pattern"), [
    ("x >> ", r"Cannot parse the SQL fragment 'x >> ': BitwiseRightShift is missing an operand \(line 1, column 4\)"),
    ("x = 1 y", r"Invalid expression / Unexpected token \(line 1, column 7\)\.\n    x = 1 y\n          \^"),
    ('x = "abc', r"a quote is not closed.*column 5\)\.\n    x = \"abc\n        \^"),
    ("x = (1", r"Expecting \)"),
    ("x=1; drop table y", r"column 6.*\n.*\n         \^\^\^\^"),
    ("   ", r"The SQL fragment is empty"),
    ("a\nand b >", r"line 2"),
])
def test_syntax_errors_quote_the_text_and_point_at_the_problem(text: str, pattern: str) -> None:
    with pytest.raises(QuerySyntaxError, match=pattern):
        parse_fragment(text)


@pytest.mark.parametrize(("text", "pattern"), [
    ("date_format(d, '%Y')", r"the function date_format\(\) is not supported.*Supported functions: abs, avg"),
    ("foo(x) > 1", r"the function foo\(\) is not supported"),
    ("md5(s)", r"md5\(\) is not supported"),
    ("x in (select a from b)", r"subqueries are not supported"),
    ("exists (select 1)", r"not supported"),
    ("sum(x) over ()", r"window functions"),
    ("d + interval 1 day", r"INTERVAL arithmetic is not supported"),
    ("date_add(d, interval 1 day)", r"date_add\(\) is not supported"),
    ("s = 'a' collate utf8_bin", r"COLLATE is not supported"),
    ("x = ?", r"placeholders"),
    ("x = @v", r"@variables"),
    ("(a, b) = (1, 2)", r"row tuples"),
    ("t.x = 1", r"qualified names such as t\.x"),
    ("sum(count(x))", r"aggregate functions cannot be nested"),
    ("count(distinct a, b)", r"DISTINCT in an aggregate takes one expression"),
    ("group_concat(distinct a order by b)", r"can only be ordered by x itself"),
    ("x in ()", r"IN \(\) needs at least one value"),
    ("timestampdiff(fortnight, a, b)", r"unit FORTNIGHT is not one of MICROSECOND"),
    ("cast(x as json)", r"CAST\(\.\.\. AS JSON\) is not supported"),
    ("cast(x as char(3))", r"CAST\(\.\.\. AS CHAR\(3\)\) is not supported"),
    ("if(x, 1)", r"if\(\) takes three arguments"),
    ("now(3)", r"now\(\) takes 0 arguments, not 1"),
    ("trim(both 'x' from s)", r"trim\(\) with characters"),
    ("locate('a', s, 2)", r"locate\(\) with a start position"),
    ("truncate(x)", r"truncate\(\) takes two arguments"),
    ("0x1F = x", r"hexadecimal literals"),
])
def test_untranslatable_constructs_are_refused_when_parsed(text: str, pattern: str) -> None:
    with pytest.raises(QuerySyntaxError, match=pattern) as info:
        parse_fragment(text)
    assert repr(text) in str(info.value)


def test_unknown_function_error_lists_every_supported_function() -> None:
    with pytest.raises(QuerySyntaxError) as info:
        parse_fragment("soundex(s)")
    assert all(name in str(info.value) for name in SUPPORTED_FUNCTIONS)


@pytest.mark.parametrize("text", ["d = '2019-13-01'", "datediff(d, 'yesterday')", "dt > '2019/01/01'"])
def test_values_that_are_not_dates_are_data_errors(text: str) -> None:
    with pytest.raises(DataError, match="is not a valid date"):
        parse_fragment(text).to_sqlalchemy(resolve)


def test_fragment_must_be_text() -> None:
    with pytest.raises(TypeError, match="must be a str, not int"):
        parse_fragment(1)  # type: ignore[arg-type]


# -- check_columns ------------------------------------------------------------------------------


def test_check_columns_accepts_known_attributes_in_any_case() -> None:
    check_columns(parse_fragment("Subject_Nickname = 'x' and n > 1"), ["subject_nickname", "n", "other"])


def test_check_columns_names_the_attribute_suggests_and_lists() -> None:
    fragment = parse_fragment("subject_nicknme = 'x'")
    with pytest.raises(UnknownAttributeError) as info:
        check_columns(fragment, ["subject_nickname", "session_start_time"])
    assert isinstance(info.value, KeyError)
    assert str(info.value) == (
        "Attribute `subject_nicknme` (did you mean `subject_nickname`?) in the SQL fragment "
        "\"subject_nicknme = 'x'\" is not in the query. Available attributes: subject_nickname, session_start_time.")


def test_check_columns_lists_every_unknown_attribute() -> None:
    with pytest.raises(UnknownAttributeError, match=r"Attributes `alpha` \(did you mean `alpa`\?\), `zzz` in .* are not"):
        check_columns(parse_fragment("zzz + alpha"), ["alpa"])


def update_snapshot() -> None:
    """Rewrite the snapshot from the current translations (review the diff before committing)."""
    blocks = []
    for key, (text, condition) in _cases().items():
        entries = compiled(text, condition).items()
        lines = [f"  {json.dumps(d)}: {json.dumps(entry, ensure_ascii=False)}" for d, entry in entries]
        blocks.append(f" {json.dumps(key, ensure_ascii=False)}: {{\n" + ",\n".join(lines) + "\n }")
    SNAPSHOT.write_text("{\n" + ",\n".join(blocks) + "\n}\n", encoding="utf-8")


if __name__ == "__main__":
    update_snapshot()
    sys.stdout.write(f"wrote {SNAPSHOT}\n")
