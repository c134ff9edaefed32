"""Located problems in table definitions: spans, problems, suggestions and their rendering.

The parser never stops at the first problem. It collects a :class:`Problem` for each one it
finds, each carrying a :class:`Span` that says where it is, and raises a single
:class:`~labjoin.errors.DefinitionError` at the end. The message shows every problem the way a
compiler would::

    Table definition of `session` has 2 problems:

      line 3, column 18: unknown attribute type 'inte'
          subject_id : inte   # the subject
                       ^^^^
          did you mean 'int'?

      line 6, column 14: a primary-key attribute cannot be nullable
          ...

The resolver (which knows the schema's tables and the codec registry) reuses the same pieces:
it builds :class:`Problem` objects for the spans the parser recorded and raises them with
:func:`definition_error`, using :func:`suggest` for "did you mean".
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from labjoin.errors import DefinitionError

__all__ = ["Problem", "Span", "definition_error", "render_problems", "suggest"]


@dataclass(frozen=True)
class Span:
    """Where something sits in a definition string.

    Parameters
    ----------
    line
        1-based line number within the definition string (``definition.split("\\n")``). A
        definition that starts with a newline, as triple-quoted ones do, has an empty line 1.
    col
        1-based column of the first character, counted in ``line_text`` (indentation included,
        so it matches the column in the Python source of a triple-quoted definition).
    end_col
        1-based column just past the last character (exclusive), so ``end_col - col`` is the
        width of the span.
    line_text
        The whole line as written, without its newline.
    """

    line: int
    col: int
    end_col: int
    line_text: str

    @property
    def text(self) -> str:
        """The text the span covers."""
        return self.line_text[self.col - 1 : self.end_col - 1]

    def moved(self, line: int, col_offset: int, line_text: str) -> Span:
        """Return this span placed on another line, shifted right by ``col_offset`` columns.

        Used to relocate a problem found in a fragment (for example a type string) into the
        definition line the fragment came from.
        """
        return Span(line, self.col + col_offset, self.end_col + col_offset, line_text)


@dataclass(frozen=True)
class Problem:
    """One located problem in a table definition.

    Parameters
    ----------
    message
        What is wrong, in one sentence without a trailing period.
    span
        Where it is, or None for problems that belong to the whole definition.
    hint
        How to fix it, as a sentence (shown under the caret line).
    suggestion
        The text that should replace the span, when there is one obvious fix (for tools; the
        rendered message shows ``did you mean '<suggestion>'?`` when there is no hint).
    code
        A stable machine-readable kind, e.g. ``"unknown-type"`` (see docs/definitions.md).
    """

    message: str
    span: Span | None = None
    hint: str | None = None
    suggestion: str | None = None
    code: str = "syntax"

    def moved(self, line: int, col_offset: int, line_text: str) -> Problem:
        """Return this problem with its span relocated (see :meth:`Span.moved`)."""
        if self.span is None:
            return self
        return replace(self, span=self.span.moved(line, col_offset, line_text))

    def render(self) -> str:
        """Render the problem as a few lines: location and message, source line, caret, fix."""
        if self.span is None:
            lines = [self.message]
        else:
            span = self.span
            lines = [f"line {span.line}, column {span.col}: {self.message}"]
            source = span.line_text.rstrip()
            indent = len(source) - len(source.lstrip())
            # Show the line without its class-body indentation and move the caret to match.
            start = max(span.col - 1 - indent, 0)
            width = max(span.end_col - span.col, 1)
            lines.append("    " + source[indent:])
            lines.append("    " + " " * start + "^" * width)
        lines.extend("    " + line for line in self.advice())
        return "\n".join(lines)

    def advice(self) -> list[str]:
        """The fix, as lines: the hint, then "did you mean" unless the hint already says it."""
        out = [self.hint] if self.hint else []
        if self.suggestion is not None and not (self.hint and self.suggestion in self.hint):
            out.append(f"did you mean {self.suggestion!r}?")
        return out


def render_problems(problems: Sequence[Problem], *, table_name: str | None = None) -> str:
    """Render every problem into one message, in line order.

    Parameters
    ----------
    problems
        The problems to show (at least one).
    table_name
        Name of the table being declared, used in the heading line when given.

    Returns
    -------
    str
        A heading line followed by one indented block per problem.
    """
    ordered = sorted(problems, key=lambda p: (p.span.line, p.span.col) if p.span else (0, 0))
    what = f"Table definition of `{table_name}`" if table_name else "Table definition"
    count = len(ordered)
    heading = f"{what} has {count} problem{'s' if count != 1 else ''}:"
    blocks = ["\n".join("  " + ln for ln in p.render().split("\n")) for p in ordered]
    return heading + "\n\n" + "\n\n".join(blocks)


def definition_error(problems: Sequence[Problem], *, table_name: str | None = None) -> DefinitionError:
    """Build the single :class:`DefinitionError` that reports ``problems``.

    The caller raises it: ``raise definition_error(problems, table_name="session")``. The
    error's ``problems`` attribute holds the :class:`Problem` objects in line order.
    """
    ordered = sorted(problems, key=lambda p: (p.span.line, p.span.col) if p.span else (0, 0))
    return DefinitionError(render_problems(ordered, table_name=table_name), ordered)


def suggest(name: str, choices: Iterable[str], *, cutoff: float = 0.6) -> str | None:
    """Return the choice closest to ``name``, or None when nothing is close enough.

    Matching ignores case (``subject`` finds ``Subject``) and otherwise uses
    :func:`difflib.get_close_matches`, so typos such as ``Subjct`` find ``Subject``.

    Parameters
    ----------
    name
        The name that was not found.
    choices
        The names that exist.
    cutoff
        Similarity threshold in [0, 1] passed to difflib.

    Returns
    -------
    str or None
        The closest choice, spelled as in ``choices``.

    Examples
    --------
    >>> suggest("Subjct", ["Session", "Subject", "Mouse"])
    'Subject'
    >>> suggest("xyz", ["Session", "Subject"]) is None
    True
    """
    by_lower: dict[str, str] = {}
    for choice in choices:
        by_lower.setdefault(choice.lower(), choice)
    key = name.lower()
    if key in by_lower:
        return by_lower[key]
    found = difflib.get_close_matches(key, list(by_lower), n=1, cutoff=cutoff)
    return by_lower[found[0]] if found else None
