"""format_definition and parse_definition are inverses (hypothesis over generated definitions)."""

from __future__ import annotations

import tomllib
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from labjoin.definition import (
    AttributeSpec,
    Default,
    ForeignKeySpec,
    IndexSpec,
    TableDefinition,
    format_definition,
    parse_definition,
    parse_type,
)

# Printable text on one line: no control characters, surrogates or line/paragraph separators.
_TEXT = st.text(st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")), max_size=24)
_COMMENTS = _TEXT.map(str.strip).filter(lambda c: not c.startswith(":"))
_NAMES = st.from_regex(r"[a-z][a-z0-9_]{0,10}", fullmatch=True)
_REFS = ["Subject", "lab.Subject", "Session.proj(parent_id='session_id')", "master", "Rig.proj()"]


def _lit(values: st.SearchStrategy) -> st.SearchStrategy:
    return values.map(lambda v: Default("literal", v))


def _ints(low: int, high: int) -> st.SearchStrategy:
    return _lit(st.integers(low, high))


_DECIMALS = st.builds(lambda sign, i, f: f"{sign}{i}.{f:03d}", st.sampled_from(["", "-"]),
                      st.integers(0, 99999), st.integers(0, 999))
_NOW = st.builds(lambda fsp, upd: Default("current_timestamp", fsp, on_update=upd),
                 st.sampled_from([None, 3]), st.booleans())
_NONE = st.none()

# (type, defaults it can take). Types that may be in the primary key come first.
_KEYABLE = [
    ("int", _ints(-(2**31), 2**31 - 1)),
    ("tinyint unsigned", _ints(0, 255)),
    ("int64", _ints(-(2**63), 2**63 - 1)),
    ("uint8 ", _ints(0, 255)),
    ("float", _lit(st.floats(allow_nan=False, allow_infinity=False))),
    ("double", _lit(st.floats(allow_nan=False, allow_infinity=False))),
    ("decimal(8,3)", _lit(_DECIMALS)),
    ("bool", _lit(st.booleans())),
    ("varchar(24)", _lit(_TEXT)),
    ("char(4)", _lit(st.text(st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")), max_size=4))),
    ("enum('Low','high','x y',\"it's\")", _lit(st.sampled_from(["Low", "high", "x y", "it's"]))),
    ("date", _lit(st.dates().map(lambda d: d.isoformat()))),
    ("datetime(3)", _NOW),
    ("timestamp", _NOW),
    ("uuid", st.just(Default("expression", "(uuid())")) | _lit(st.uuids().map(str))),
    ("year", _ints(1901, 2155)),
    ("<mycodec>", _lit(st.integers() | st.booleans() | _TEXT | st.floats(allow_nan=False,
                                                                         allow_infinity=False))),
]
_SECONDARY_ONLY = [
    ("longblob", _NONE),
    ("<blob@raw>", _NONE),
    ("attach", _NONE),
    ("json", _lit(st.sampled_from(["{}", "[1, 2]"]))),
    ("text", _lit(_TEXT)),
    ("<object@>", _NONE),
]


@st.composite
def _attribute(draw: st.DrawFn, name: str, in_key: bool) -> AttributeSpec:
    type_text, defaults = draw(st.sampled_from(_KEYABLE if in_key else _KEYABLE + _SECONDARY_ONLY))
    choices = [_NONE, defaults] if in_key else [_NONE, defaults, st.just(Default("null"))]
    default = draw(st.one_of(*choices))
    spec = parse_type(type_text.strip())
    if default is not None and default.kind == "literal" and spec.category.name == "FLOAT":
        default = Default("literal", float(default.value))  # floats read back as float
    nullable = default is not None and default.kind == "null"
    return AttributeSpec(name, spec, nullable, default, draw(_COMMENTS), in_key)


@st.composite
def _definitions(draw: st.DrawFn) -> TableDefinition:
    n_key = draw(st.integers(0, 4))
    n_rest = draw(st.integers(0, 5))
    names = draw(st.lists(_NAMES, min_size=n_key + n_rest, max_size=n_key + n_rest, unique=True))
    items: list[AttributeSpec | ForeignKeySpec | IndexSpec] = []
    for position, name in enumerate(names):
        in_key = position < n_key
        if draw(st.integers(0, 4)) == 0:
            allowed = ["unique"] if in_key else ["nullable", "unique"]
            options = draw(st.sets(st.sampled_from(allowed)))
            items.append(ForeignKeySpec(draw(st.sampled_from(_REFS)), frozenset(options), in_key))
        else:
            items.append(draw(_attribute(name, in_key)))
        if names and draw(st.integers(0, 5)) == 0:
            entries = draw(st.lists(st.sampled_from(names), min_size=1, max_size=3, unique=True))
            items.append(IndexSpec(draw(st.booleans()), tuple(entries)))
    divider = 1 if n_rest or draw(st.booleans()) else None
    return TableDefinition(draw(_COMMENTS), tuple(items), divider)


@settings(max_examples=300, deadline=None)
@given(_definitions())
def test_parse_inverts_format(defn: TableDefinition) -> None:
    text = format_definition(defn)
    parsed = parse_definition(text)
    assert parsed == defn, text
    # Values keep their Python type, not just their value (True == 1 in Python).
    for got, want in zip(parsed.attributes, defn.attributes):
        if want.default is not None:
            assert type(got.default.value) is type(want.default.value), text
    assert (parsed.divider_line is None) == (defn.divider_line is None)
    assert format_definition(parsed) == text


_FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "definitions"
_VALID = [c["definition"] for c in tomllib.loads((_FIXTURES / "valid.toml").read_text("utf-8"))["case"]]


@given(st.sampled_from(_VALID), st.sampled_from(["", "    ", "\t"]), st.sampled_from(["\n", "\r\n"]))
def test_indentation_and_line_endings_do_not_matter(text: str, indent: str, newline: str) -> None:
    moved = newline.join(indent + line for line in text.split("\n"))
    assert parse_definition(moved) == parse_definition(text)
