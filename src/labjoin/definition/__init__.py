"""The table-definition language: parse definitions and types, report located problems.

Pure Python, no database. :func:`parse_definition` turns a definition string into a
:class:`TableDefinition`; :func:`parse_type` turns a type string into a :class:`TypeSpec`;
:func:`format_definition` renders a definition back to canonical text. Invalid input raises one
:class:`~labjoin.errors.DefinitionError` that lists every problem with its line, a caret under
it and a suggested fix (``err.problems`` holds them as :class:`Problem` objects).

The language is described in docs/definitions.md.
"""

from labjoin.definition.diagnostics import Problem, Span, definition_error, render_problems, suggest
from labjoin.definition.model import (
    AttributeSpec,
    Default,
    ForeignKeySpec,
    IndexSpec,
    TableDefinition,
    format_definition,
)
from labjoin.definition.parser import parse_definition
from labjoin.definition.types import BUILTIN_CODECS, KNOWN_TYPES, parse_type
from labjoin.definition.typespec import Category, TypeSpec, split_comment

__all__ = [
    "BUILTIN_CODECS",
    "KNOWN_TYPES",
    "AttributeSpec",
    "Category",
    "Default",
    "ForeignKeySpec",
    "IndexSpec",
    "Problem",
    "Span",
    "TableDefinition",
    "TypeSpec",
    "definition_error",
    "format_definition",
    "parse_definition",
    "parse_type",
    "render_problems",
    "split_comment",
    "suggest",
]
