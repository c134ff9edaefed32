"""Any text in, a result or a DefinitionError out: the parser never fails any other way."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from labjoin.definition import (
    Problem,
    TableDefinition,
    TypeSpec,
    format_definition,
    parse_definition,
    parse_type,
)
from labjoin.errors import DefinitionError

# Text made mostly of the characters the grammar cares about, so the fuzzer reaches deep paths.
_PIECES = st.sampled_from([
    "a", "x_1", "Ab", " ", "  ", "\t", ":", "=", "#", "'", '"', "\\", "(", ")", ",", "@", "<", ">",
    "[", "]", "->", "---", "___", "null", "CURRENT_TIMESTAMP", "on update", "int", "unsigned",
    "auto_increment", "varchar(8)", "decimal", "enum", "blob", "attach", "filepath", "index",
    "unique", "nullable", "-1", "1.5e3", "true", "<blob@>", "uuid", "json", "proj", ".", "\n",
])
_FUZZ = st.lists(_PIECES, max_size=40).map("".join) | st.text(max_size=80)


def _check_problems(problems: list[Problem]) -> None:
    assert problems, "a DefinitionError must carry at least one located problem"
    for p in problems:
        assert p.message
        if p.span is not None:
            assert p.span.line >= 1
            assert 1 <= p.span.col < p.span.end_col
            assert p.span.col <= len(p.span.line_text) + 1


@settings(max_examples=400, deadline=None)
@given(_FUZZ)
def test_parse_type_total(text: str) -> None:
    try:
        spec = parse_type(text)
    except DefinitionError as err:
        problems = err.problems
    else:
        assert isinstance(spec, TypeSpec)
        assert parse_type(spec.original) == spec
        return
    assert len(problems) == 1
    _check_problems(problems)


@settings(max_examples=400, deadline=None)
@given(_FUZZ)
def test_parse_definition_total(text: str) -> None:
    try:
        defn = parse_definition(text)
    except DefinitionError as err:
        problems = err.problems
    else:
        assert isinstance(defn, TableDefinition)
        assert parse_definition(format_definition(defn)) == defn
        return
    _check_problems(problems)
    lines = text.split("\n")
    for p in problems:
        assert p.span is not None
        assert p.span.line_text == lines[p.span.line - 1].rstrip("\r")
