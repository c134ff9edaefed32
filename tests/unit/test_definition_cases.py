"""Definition-language cases kept as data: tests/fixtures/definitions/{valid,invalid}.toml."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from labjoin.definition import (
    AttributeSpec,
    ForeignKeySpec,
    IndexSpec,
    format_definition,
    parse_definition,
)
from labjoin.errors import DefinitionError

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "definitions"
VALID = tomllib.loads((FIXTURES / "valid.toml").read_text(encoding="utf-8"))["case"]
INVALID = tomllib.loads((FIXTURES / "invalid.toml").read_text(encoding="utf-8"))["case"]


def _actual(item: AttributeSpec | ForeignKeySpec | IndexSpec) -> dict[str, Any]:
    if isinstance(item, AttributeSpec):
        default = None
        if item.default is not None:
            default = {"kind": item.default.kind, "value": item.default.value,
                       "on_update": item.default.on_update}
        return {"attr": item.name, "type": item.type.original, "core": item.type.core_name,
                "key": item.in_key, "nullable": item.nullable, "default": default, "comment": item.comment}
    if isinstance(item, ForeignKeySpec):
        return {"fk": item.ref, "options": sorted(item.options), "key": item.in_key}
    return {"index": list(item.attributes), "unique": item.unique}


def _expected(entry: dict[str, Any], actual: dict[str, Any]) -> dict[str, Any]:
    """The fixture entry with defaults filled in; ``core`` is compared only when given."""
    if "attr" in entry:
        default = entry.get("default")
        if default is not None:
            default = {"kind": default["kind"], "value": default.get("value"),
                       "on_update": default.get("on_update", False)}
        return {"attr": entry["attr"], "type": entry["type"], "core": entry.get("core", actual.get("core")),
                "key": entry.get("key", False), "nullable": entry.get("nullable", False),
                "default": default, "comment": entry.get("comment", "")}
    if "fk" in entry:
        return {"fk": entry["fk"], "options": sorted(entry.get("options", [])), "key": entry.get("key", False)}
    return {"index": entry["index"], "unique": entry.get("unique", False)}


def test_there_are_enough_cases() -> None:
    assert len(VALID) + len(INVALID) >= 60
    names = [c["name"] for c in VALID + INVALID]
    assert len(names) == len(set(names)), "case names must be unique"


@pytest.mark.parametrize("case", VALID, ids=[c["name"] for c in VALID])
def test_valid_definition(case: dict[str, Any]) -> None:
    defn = parse_definition(case["definition"])
    assert defn.comment == case.get("comment", "")
    actual = [_actual(item) for item in defn.items]
    assert len(actual) == len(case["items"])
    for got, entry in zip(actual, case["items"]):
        # Python's == treats True == 1; the type of a default value matters, so compare it too.
        want = _expected(entry, got)
        assert got == want
        if want.get("default") is not None:
            assert type(got["default"]["value"]) is type(want["default"]["value"])
    if "divider_line" in case:
        assert defn.divider_line == case["divider_line"]
    if "formatted" in case:
        assert format_definition(defn) == case["formatted"]
    # Every item's span covers its whole (stripped) line.
    for item in defn.items:
        assert item.span is not None
        assert item.span.text == item.span.line_text.strip()
    # Canonical text reads back to the same definition, and is a fixed point of format(parse()).
    text = format_definition(defn)
    again = parse_definition(text)
    assert again == defn
    assert format_definition(again) == text


@pytest.mark.parametrize("case", INVALID, ids=[c["name"] for c in INVALID])
def test_invalid_definition(case: dict[str, Any]) -> None:
    with pytest.raises(DefinitionError) as info:
        parse_definition(case["definition"], table_name="my_table")
    err = info.value
    got = [(p.span.line, p.span.col, p.code) for p in err.problems if p.span is not None]
    want = [(e["line"], e["col"], e["code"]) for e in case["problems"]]
    assert got == want, "\n" + str(err)
    message = str(err)
    assert message.startswith(f"Table definition of `my_table` has {len(want)} problem")
    for problem, entry in zip(err.problems, case["problems"]):
        assert entry["message"] in problem.message
        if "end_col" in entry:
            assert problem.span is not None
            assert problem.span.end_col == entry["end_col"]
        if "suggestion" in entry:
            assert problem.suggestion == entry["suggestion"]
        if "hint" in entry:
            assert entry["hint"] in (problem.hint or "")
        # The message names the place and shows the source line with a caret under the span.
        assert problem.span is not None
        assert f"line {problem.span.line}, column {problem.span.col}: {problem.message}" in message
        source = problem.span.line_text.rstrip()
        indent = len(source) - len(source.lstrip())
        caret = " " * (problem.span.col - 1 - indent) + "^" * (problem.span.end_col - problem.span.col)
        assert f"      {source[indent:]}\n      {caret}\n" in message + "\n"
