"""The type grammar: every type name (tests/fixtures/definitions/types.toml), markers, errors."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from labjoin.definition import KNOWN_TYPES, Category, TypeSpec, parse_type, split_comment
from labjoin.definition.types import BUILTIN_CODECS
from labjoin.errors import ConfigError, DefinitionError

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "definitions"
DATA = tomllib.loads((FIXTURES / "types.toml").read_text(encoding="utf-8"))
TYPES = DATA["type"]
ERRORS = DATA["type_error"]


def _expected(case: dict[str, Any]) -> TypeSpec:
    return TypeSpec(
        category=Category[case["category"]],
        original=case["original"],
        core_name=case["core"],
        bits=case.get("bits"),
        unsigned=case.get("unsigned", False),
        auto_increment=case.get("auto_increment", False),
        length=case.get("length"),
        precision=case.get("precision"),
        scale=case.get("scale"),
        fsp=case.get("fsp"),
        values=tuple(case.get("values", ())),
        store=case.get("store"),
        codec=case.get("codec"),
        blob_size=case.get("blob_size"),
    )


@pytest.mark.parametrize("case", TYPES, ids=[c["text"] for c in TYPES])
def test_parse_type(case: dict[str, Any]) -> None:
    spec = parse_type(case["text"])
    assert spec == _expected(case)
    assert spec.comment_marker("mysql") == case.get("mysql_marker")
    # The normalized spelling and the core name both read back.
    assert parse_type(spec.original) == spec
    core = parse_type(spec.core_name)
    assert (core.category, core.core_name, core.store, core.values) == (
        spec.category, spec.core_name, spec.store, spec.values)


def _base(original: str) -> str:
    if original.startswith("double precision"):
        return "double precision"
    return re.split(r"[(@ ]", original, maxsplit=1)[0]


def test_every_type_name_has_a_case() -> None:
    covered = {_base(c["original"]) for c in TYPES if not c["original"].startswith("<")}
    plain = {name for name in KNOWN_TYPES if not name.startswith("<") and "@" not in name}
    # (filepath is covered by filepath@data: alone it is an error, see types.toml.)
    assert plain - covered == set()
    codecs = {c["codec"] for c in TYPES if c.get("codec") in BUILTIN_CODECS}
    assert codecs == set(BUILTIN_CODECS)


@pytest.mark.parametrize("case", ERRORS, ids=[c["text"] or "<empty>" for c in ERRORS])
def test_type_error(case: dict[str, Any]) -> None:
    with pytest.raises(DefinitionError) as info:
        parse_type(case["text"])
    (problem,) = info.value.problems
    assert problem.code == case["code"]
    assert case["message"] in problem.message
    assert problem.span is not None
    assert problem.span.line == 1
    assert problem.span.col == case["col"]
    assert problem.span.line_text == case["text"]
    if "suggestion" in case:
        assert problem.suggestion == case["suggestion"]
        assert f"did you mean {case['suggestion']!r}?" in str(info.value) or problem.hint
    # The message shows the type with a caret under the problem.
    caret = " " * (problem.span.col - 1) + "^" * (problem.span.end_col - problem.span.col)
    assert f"    {case['text']}\n    {caret}" in str(info.value)


def test_every_suggestion_is_itself_valid() -> None:
    for case in ERRORS:
        fix = case.get("suggestion")
        if fix and "(n)" not in fix:
            parse_type(fix)


# ---------------------------------------------------------------------------- comment markers


@pytest.mark.parametrize(
    ("text", "mysql", "postgresql"),
    [
        ("int unsigned", None, ":uint32:"),
        ("varchar(64)", None, ":varchar(64):"),
        ("enum('a:b','c')", None, ":enum('a:b','c'):"),
        ("longblob", None, ":<blob>:"),
        ("json", None, ":json:"),
        ("bool", None, ":bool:"),
        ("datetime(3)", None, ":datetime(3):"),
        ("uuid", ":uuid:", ":uuid:"),
        ("bytes", ":bytes:", ":bytes:"),
        ("attach", ":attach:", ":<attach>:"),
        ("blob@raw", ":blob@raw:", ":blob@raw:"),
        ("attach@raw", ":attach@raw:", ":attach@raw:"),
        ("filepath@raw", ":filepath@raw:", ":filepath@raw:"),
        ("<blob>", ":<blob>:", ":<blob>:"),
        ("<blob@>", ":<blob@>:", ":<blob@>:"),
        ("<graph>", ":<graph>:", ":<graph>:"),
    ],
)
def test_comment_marker(text: str, mysql: str | None, postgresql: str) -> None:
    spec = parse_type(text)
    assert spec.comment_marker("mysql") == mysql
    assert spec.comment_marker("MariaDB") == mysql
    assert spec.comment_marker("postgresql") == postgresql
    assert spec.comment_marker("postgres") == postgresql
    assert spec.comment_marker("sqlite") == postgresql
    # What is written reads back: the marker splits off and parses to the same category.
    stored = spec.column_comment("user words: here", "sqlite")
    marker, comment = split_comment(stored)
    assert comment == "user words: here"
    assert marker is not None
    assert parse_type(marker).core_name == spec.core_name
    # blob@s (a hash into ~external_s) and <blob@s> (JSON) are stored differently: they stay apart
    legacy_store = spec.store is not None and spec.codec is None
    assert (parse_type(marker).store is not None and parse_type(marker).codec is None) == legacy_store


def test_comment_marker_unknown_backend() -> None:
    with pytest.raises(ConfigError, match="Unknown backend 'oracle'"):
        parse_type("int").comment_marker("oracle")


@pytest.mark.parametrize(
    ("comment", "expected"),
    [
        ("plain", (None, "plain")),
        ("", (None, "")),
        (":uuid:", ("uuid", "")),
        (":blob@raw:the trace", ("blob@raw", "the trace")),
        (":<blob@>:x:y", ("<blob@>", "x:y")),
        (":enum('a:b','c'):note", ("enum('a:b','c')", "note")),
        (":unterminated", (None, ":unterminated")),
        ("::empty", (None, "empty")),
    ],
)
def test_split_comment(comment: str, expected: tuple[str | None, str]) -> None:
    assert split_comment(comment) == expected


def test_column_comment_without_marker() -> None:
    assert parse_type("int").column_comment("count", "mysql") == "count"
    assert parse_type("uuid").column_comment("id", "mysql") == ":uuid:id"


# ---------------------------------------------------------------------------- properties


def test_spec_properties() -> None:
    assert parse_type("tinyint unsigned").int_range == (0, 255)
    assert parse_type("int8").int_range == (-128, 127)
    assert parse_type("mediumint").int_range == (-(2**23), 2**23 - 1)
    assert parse_type("float").int_range is None
    assert parse_type("<blob@s>").is_external
    assert parse_type("<blob@>").is_external
    assert not parse_type("longblob").is_external
    assert parse_type("enum('a')").is_string
    assert parse_type("text").is_string
    assert not parse_type("json").is_string
    assert parse_type("bytes").null_default_only
    assert not parse_type("json").null_default_only
    assert not parse_type("json").keyable
    assert parse_type("uuid").keyable
    assert str(parse_type("INT  Unsigned")) == "int unsigned"


def test_parse_type_is_cached_and_specs_are_immutable() -> None:
    spec = parse_type("varchar(12)")
    assert parse_type("varchar(12)") is spec
    with pytest.raises(AttributeError):
        spec.length = 3  # type: ignore[misc]
    assert hash(spec) == hash(parse_type("VARCHAR(12)"))


_SPELLINGS = [
    ("int unsigned auto_increment", "int unsigned auto_increment"),
    ("decimal(5,2) unsigned", "decimal(5,2) unsigned"),
    ("varchar(64)", "varchar(64)"),
    ("enum('Ab','cD')", "enum('Ab','cD')"),
    ("datetime(3)", "datetime(3)"),
    ("double precision", "double precision"),
    ("blob@Raw", "blob@Raw"),
    ("<attach@Raw>", "<attach@Raw>"),
    ("uint16", "uint16"),
]


def _respell(draw: st.DrawFn, text: str) -> str:
    """Change keyword case and spacing the way people write types, keeping quoted/store text."""
    out = []
    protected = False  # inside quotes, or a store name after '@'
    quote = ""
    for ch in text:
        if quote:
            out.append(ch)
            quote = "" if ch == quote else quote
            continue
        if ch in "'\"":
            quote = ch
            out.append(ch)
            continue
        if ch == "@":
            protected = True
        if ch in "(),@<>" or ch == " ":
            pad = draw(st.sampled_from(["", " ", "  ", "\t"]))
            out.append((ch if ch != " " else " " + pad) + (pad if ch in "(,@<" else ""))
            continue
        out.append(ch if protected else draw(st.sampled_from([ch.lower(), ch.upper()])))
    return "".join(out)


@given(data=st.data())
def test_case_and_spacing_do_not_matter(data: st.DataObject) -> None:
    text, original = data.draw(st.sampled_from(_SPELLINGS))
    respelled = _respell(data.draw, text)
    assert parse_type(respelled).original == original
    assert parse_type(respelled) == parse_type(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("int unsigned auto_increment", "int unsigned"), ("serial", "bigint unsigned"),
     ("uint16 auto_increment", "uint16"), ("int(11) auto_increment", "int(11)"), ("int", "int")],
)
def test_without_auto_increment(text: str, expected: str) -> None:
    spec = parse_type(text).without_auto_increment()
    assert spec.original == expected
    assert not spec.auto_increment
    assert spec == parse_type(expected)
