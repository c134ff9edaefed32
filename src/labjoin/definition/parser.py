"""The table-definition parser: definition text in, TableDefinition out, every problem located.

A definition is read line by line (DataJoint's grammar, 0.14 and 2.x):

* blank lines are skipped; the first non-blank line, when it starts with ``#``, is the table
  comment; any other ``#`` line is a comment and is ignored;
* ``---`` (or 0.14's ``___``) divides the primary key from the other attributes;
* a line with ``->`` and no quote or ``#`` before it is a foreign key ``-> [options] ref``;
* ``index(a, b)`` / ``unique index(a)`` declares an index;
* anything else is an attribute ``name [= default] : type [# comment]``.

The parser knows nothing about other tables: foreign-key references are checked for Python
syntax only, and index entries are not matched against attributes (some arrive through foreign
keys). The resolver does that with the schema's registry, reusing :class:`Problem` and
:func:`suggest` for its own located errors.

Every problem is collected; then one :class:`~labjoin.errors.DefinitionError` reports all of
them, each with its line, a caret under the offending text and a suggested fix.
"""

from __future__ import annotations

import ast
import keyword
import math
import re
import warnings
from dataclasses import dataclass

from labjoin.definition.diagnostics import Problem, Span, definition_error, suggest
from labjoin.definition.lexical import find_close_paren, find_unquoted, split_top_level, unquote_literal
from labjoin.definition.model import (
    AttributeSpec,
    Default,
    ForeignKeySpec,
    IndexSpec,
    Item,
    TableDefinition,
    format_definition,
)
from labjoin.definition.types import parse_type
from labjoin.definition.typespec import Category, TypeSpec
from labjoin.errors import DefinitionError

__all__ = [
    "AttributeSpec",
    "Default",
    "ForeignKeySpec",
    "IndexSpec",
    "TableDefinition",
    "format_definition",
    "parse_definition",
]

_ATTR_NAME = re.compile(r"[a-z][a-z0-9_]*")
_INDEX = re.compile(r"(?P<unique>unique\s+)?index\s*\(", re.I)
_INDEX_LIKE = re.compile(r"(unique\s+)?index\b|unique\s*\(", re.I)
_JSON_PATH = re.compile(r"[a-z][a-z0-9_]*\s*(\.|->|\$|:).*", re.S)
_INT = re.compile(r"[+-]?\d+")
_FLOAT = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
_NOW = r"current_timestamp\s*(?:\(\s*(\d*)\s*\))?"
_CURRENT_TIMESTAMP = re.compile(_NOW + r"(\s+on\s+update\s+" + _NOW + r")?", re.I)
_FK_OPTIONS = ("nullable", "unique")
_DOTTED = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*")
_TIMESTAMPS = frozenset({Category.DATETIME, Category.TIMESTAMP, Category.ADAPTED})
_TEXTUAL = frozenset({Category.CHAR, Category.VARCHAR, Category.TEXT, Category.ENUM, Category.DATE,
                      Category.TIME, Category.DATETIME, Category.TIMESTAMP, Category.UUID, Category.JSON})


def _check_python(ref: str) -> None:
    """Raise SyntaxError unless ``ref`` is a Python expression (a plain dotted name is checked fast)."""
    if _DOTTED.fullmatch(ref) and not any(keyword.iskeyword(part) for part in ref.split(".")):
        return
    # Only the syntax is checked here; the resolver evaluates the reference later and Python
    # reports its warnings (e.g. an invalid escape in a string) then, so do not warn twice.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SyntaxWarning)
        warnings.simplefilter("ignore", DeprecationWarning)  # Python < 3.12 warns this way
        ast.parse(ref, mode="eval")


def _fix_name(name: str) -> str | None:
    """A valid attribute name close to ``name`` (SubjectID -> subject_id), or None."""
    snake = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name.strip())
    snake = re.sub(r"[^A-Za-z0-9]+", "_", snake).lower().strip("_")
    return snake if _ATTR_NAME.fullmatch(snake) else None


@dataclass
class _Line:
    """One non-blank definition line: ``text`` is stripped, offsets into it map to the raw line."""

    number: int
    raw: str
    indent: int
    text: str

    def span(self, start: int, end: int) -> Span:
        return Span(self.number, self.indent + start + 1, self.indent + max(end, start + 1) + 1, self.raw)


class _Parser:
    """State of one parse: the problems found so far and the names declared."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self.names: dict[str, int] = {}
        self.auto_increment: str | None = None

    def problem(self, line: _Line, start: int, end: int, message: str, *, hint: str | None = None,
                suggestion: str | None = None, code: str = "syntax") -> None:
        self.problems.append(Problem(message, line.span(start, end), hint, suggestion, code))

    # ---------------------------------------------------------------- foreign keys and indexes

    def foreign_key(self, line: _Line, in_key: bool) -> ForeignKeySpec | None:
        s = line.text
        arrow = s.find("->")
        before = s[:arrow].strip()
        after = s[arrow + 2 :]
        j = arrow + 2 + len(after) - len(after.lstrip())
        options: set[str] = set()
        option_spans: dict[str, tuple[int, int]] = {}
        ok = True
        if j < len(s) and s[j] == "[":
            close = s.find("]", j)
            if close < 0:
                self.problem(line, j, len(s), "unclosed '[' in foreign-key options",
                             hint="write -> [nullable] Parent", code="fk-syntax")
                return None
            pos = j + 1
            for raw_opt in s[j + 1 : close].split(","):
                word = raw_opt.strip()
                start = pos + len(raw_opt) - len(raw_opt.lstrip())
                pos += len(raw_opt) + 1
                if not word:
                    continue
                if word.lower() not in _FK_OPTIONS:
                    near = suggest(word, _FK_OPTIONS)
                    self.problem(line, start, start + len(word), f"unknown foreign-key option {word!r}",
                                 suggestion=near, code="fk-option",
                                 hint=None if near else "the options are 'nullable' and 'unique'")
                    ok = False
                    continue
                options.add(word.lower())
                option_spans[word.lower()] = (start, start + len(word))
            j = close + 1
        hash_at, _ = find_unquoted(s, "#", j)
        ref_end = hash_at if hash_at >= 0 else len(s)
        ref_raw = s[j:ref_end]
        ref = ref_raw.strip()
        ref_start = j + len(ref_raw) - len(ref_raw.lstrip())
        if before:
            words = [w.strip().lower() for w in before.strip("[]").split(",")]
            fix = None
            if ref and all(w in _FK_OPTIONS for w in words):
                fix = f"-> [{', '.join(words)}] {ref}"
            self.problem(line, 0, len(s[:arrow].rstrip()), f"unexpected {before!r} before '->'",
                         suggestion=fix, code="fk-syntax",
                         hint=None if fix else "a foreign-key line starts with '->'; to rename the "
                         "inherited attributes write -> Parent.proj(new_name='old_name')")
            ok = False
        if not ref:
            self.problem(line, arrow, ref_end, "missing table after '->'",
                         hint="write -> Parent (a table class, or a projection of one)", code="fk-syntax")
            return None
        try:
            _check_python(ref)
        except SyntaxError as err:
            # Translate to a located problem: the reference is Python, so Python's own
            # diagnosis (err.msg) says best what is wrong with it.
            at = ref_start + max((err.offset or 1) - 1, 0)
            self.problem(line, min(at, ref_start + len(ref) - 1), ref_start + len(ref),
                         f"the table reference {ref!r} is not a valid Python expression ({err.msg})",
                         hint="write -> Parent, -> module.Parent or -> Parent.proj(new='old')",
                         code="fk-syntax")
            ok = False
        if in_key and "nullable" in options:
            start, end = option_spans["nullable"]
            self.problem(line, start, end, "a primary-key foreign key cannot be nullable",
                         hint="remove 'nullable', or move the line below the '---' divider",
                         code="nullable-key")
            ok = False
        if not ok:
            return None
        return ForeignKeySpec(ref, frozenset(options), in_key, line.span(0, len(s)))

    def index(self, line: _Line) -> IndexSpec | None:
        s = line.text
        m = _INDEX.match(s)
        if m is None:
            words = re.sub(r"\s+", " ", s.split("#")[0].strip())
            fix = re.sub(r"^(unique)?\s*(index)?\s*", "", words, flags=re.I).strip("() ")
            unique = "unique " if words.lower().startswith("unique") else ""
            self.problem(line, 0, len(s), "malformed index line", code="index-syntax",
                         suggestion=f"{unique}index({fix})" if fix else None,
                         hint=None if fix else "write index(a, b) or unique index(a)")
            return None
        open_at = m.end() - 1
        close = find_close_paren(s, open_at)
        if close < 0:
            self.problem(line, open_at, len(s), "unclosed '(' in index line", hint="add the missing ')'",
                         code="index-syntax")
            return None
        tail = s[close + 1 :].strip()
        if tail and not tail.startswith("#"):
            start = s.index(tail, close + 1)
            self.problem(line, start, len(s), f"unexpected {tail!r} after the index",
                         hint="only a '# comment' may follow the closing ')'", code="index-syntax")
            return None
        entries = split_top_level(s, open_at + 1, close)
        if all(not value for value, _, _ in entries) and len(entries) == 1:
            self.problem(line, open_at, close + 1, "index lists no attributes",
                         hint="write index(a, b)", code="index-syntax")
            return None
        names: list[str] = []
        ok = True
        for value, start, end in entries:
            if not value:
                self.problem(line, start, start + 1, "empty entry in index list", code="index-syntax")
                ok = False
            elif not _ATTR_NAME.fullmatch(value) and not _JSON_PATH.fullmatch(value):
                self.problem(line, start, end, f"invalid attribute name {value!r} in index",
                             suggestion=_fix_name(value), code="bad-name")
                ok = False
            elif value in names:
                self.problem(line, start, end, f"{value!r} is listed twice in the index", code="index-syntax")
                ok = False
            else:
                names.append(value)
        if not ok:
            return None
        return IndexSpec(bool(m.group("unique")), tuple(names), line.span(0, len(s)))

    # ---------------------------------------------------------------- attributes

    def attribute(self, line: _Line, in_key: bool) -> AttributeSpec | None:
        s = line.text
        hash_at, open_quote = find_unquoted(s, "#")
        if open_quote is not None:
            self.problem(line, open_quote, len(s), "unterminated quoted string",
                         hint="close the quote", code="syntax")
            return None
        body = s[:hash_at] if hash_at >= 0 else s
        comment = s[hash_at + 1 :].strip() if hash_at >= 0 else ""
        colon, _ = find_unquoted(body, ":")
        if colon < 0:
            self.missing_colon(line, body.rstrip())
            return None
        left, type_raw = body[:colon], body[colon + 1 :]
        eq = left.find("=")
        name_raw = left if eq < 0 else left[:eq]
        name = name_raw.strip()
        name_start = len(name_raw) - len(name_raw.lstrip())
        ok = self.check_name(line, name, name_start)
        default_raw = None if eq < 0 else left[eq + 1 :]
        type_text = type_raw.strip()
        type_start = colon + 1 + len(type_raw) - len(type_raw.lstrip())
        spec: TypeSpec | None = None
        if not type_text:
            self.problem(line, colon, colon + 1, "missing type after ':'",
                         hint=f"write '{name or 'name'} : <type>', e.g. '{name or 'name'} : int32'",
                         code="missing-type")
            ok = False
        else:
            try:
                spec = parse_type(type_text)
            except DefinitionError as err:
                # Relocate the type's own problems into this line; they are reported with the rest.
                offset = line.indent + type_start
                self.problems.extend(p.moved(line.number, offset, line.raw) for p in err.problems)
                ok = False
        if comment.startswith(":"):
            self.problem(line, hash_at, len(s), "a comment must not start with ':'",
                         hint="':' at the start of a column comment is reserved for type markers; "
                         "reword the comment", code="bad-comment")
            ok = False
        default = None
        if default_raw is not None:
            default = self.default(line, default_raw, eq + 1, spec, in_key, name)
            ok = ok and default is not None
        if spec is not None:
            ok = self.check_type_rules(line, spec, default, in_key, name, name_start, type_start) and ok
        if not ok or spec is None:
            return None
        nullable = default is not None and default.kind == "null"
        return AttributeSpec(name, spec, nullable, default, comment, in_key, line.span(0, len(s)))

    def check_name(self, line: _Line, name: str, start: int) -> bool:
        if _ATTR_NAME.fullmatch(name):
            if name in self.names:
                self.problem(line, start, start + len(name),
                             f"attribute {name!r} is declared twice (first on line {self.names[name]})",
                             hint="rename or remove one of them", code="duplicate-attribute")
                return False
            self.names[name] = line.number
            return True
        fix = _fix_name(name)
        if not name:
            self.problem(line, start, start + 1, "missing attribute name before ':'", code="bad-name")
        elif name.startswith("_"):
            self.problem(line, start, start + len(name),
                         "attribute names starting with '_' are reserved for hidden platform columns",
                         suggestion=fix, code="bad-name")
        elif _ATTR_NAME.fullmatch(name.lower()):
            self.problem(line, start, start + len(name), f"attribute name {name!r} must be lower case",
                         suggestion=fix, code="bad-name")
        else:
            self.problem(line, start, start + len(name),
                         f"invalid attribute name {name!r}: a name starts with a lower-case letter "
                         "and has only lower-case letters, digits and '_'", suggestion=fix, code="bad-name")
        return False

    def missing_colon(self, line: _Line, body: str) -> None:
        parts = body.split(None, 1)
        if len(parts) == 1:
            word = parts[0]
            if word[:1].isupper() and word.replace(".", "").isidentifier():
                self.problem(line, 0, len(body), f"{word!r} is neither an attribute nor a foreign key",
                             suggestion=f"-> {word}", hint=f"to reference table {word}, write '-> {word}'",
                             code="missing-colon")
            else:
                self.problem(line, 0, len(body), f"attribute {word!r} has no type",
                             hint=f"write '{word} : <type>', e.g. '{word} : int32'", code="missing-type")
            return
        name, rest = parts
        fix = None
        if "=" not in body:
            try:
                parse_type(rest)
                fix = f"{name} : {rest}"
            except DefinitionError:
                fix = None  # not "name type" after all: fall back to the general hint
        self.problem(line, 0, len(body), "missing ':' between the attribute name and its type",
                     suggestion=fix, code="missing-colon",
                     hint=None if fix else "write 'name : type' or 'name = default : type'")

    def check_type_rules(self, line: _Line, spec: TypeSpec, default: Default | None, in_key: bool,
                         name: str, name_start: int, type_start: int) -> bool:
        type_span = (type_start, type_start + len(spec.original))
        ok = True
        if in_key and not spec.keyable:
            self.problem(line, *type_span, f"an attribute of type {spec.original} cannot be in the primary key",
                         hint="move it below the '---' divider", code="key-type")
            ok = False
        if spec.auto_increment:
            if not in_key:
                self.problem(line, *type_span, "an auto_increment attribute must be in the primary key",
                             hint="move it above the '---' divider", code="auto-increment")
                ok = False
            if self.auto_increment is not None:
                self.problem(line, *type_span, f"a table can have only one auto_increment attribute "
                             f"({self.auto_increment!r} is one already)", code="auto-increment")
                ok = False
            self.auto_increment = name
            if default is not None and default.kind != "null":
                self.problem(line, name_start, type_start, "an auto_increment attribute takes no default",
                             hint="remove '= ...'", code="bad-default")
                ok = False
        return ok

    # ---------------------------------------------------------------- defaults

    def default(self, line: _Line, raw: str, start: int, spec: TypeSpec | None, in_key: bool,
                name: str) -> Default | None:
        text = raw.strip()
        if not text:
            self.problem(line, start - 1, start, "missing default value after '='", code="bad-default",
                         hint=f"write '{name} = <value> : <type>' or remove '='")
            return None
        start += len(raw) - len(raw.lstrip())
        end = start + max(len(text), 1)

        def bad(message: str, **kw: str | None) -> None:
            self.problem(line, start, end, message, code="bad-default", **kw)  # type: ignore[arg-type]

        lower = text.lower()
        if lower == "null":
            if in_key:
                self.problem(line, start, end, "a primary-key attribute cannot be nullable (= null)",
                             hint="remove '= null', or move the attribute below the '---' divider",
                             code="nullable-key")
                return None
            return Default("null")
        if spec is not None and spec.null_default_only:
            bad(f"an attribute of type {spec.original} can only default to null",
                suggestion="null", hint=f"write '{name} = null : {spec.original}' or give no default")
            return None
        ts = _CURRENT_TIMESTAMP.fullmatch(text)
        if ts is not None:
            if spec is not None and spec.category not in _TIMESTAMPS:
                bad(f"CURRENT_TIMESTAMP is not a valid default for type {spec.original}",
                    hint="use it with datetime or timestamp attributes")
                return None
            fsp = int(ts.group(1)) if ts.group(1) else None
            return Default("current_timestamp", fsp, on_update=ts.group(2) is not None)
        if text.startswith("(") and text.endswith(")"):
            return Default("expression", text)
        quoted = text[0] in "'\""
        value: str | int | float | bool
        if quoted:
            unquoted = unquote_literal(text)
            if unquoted is None:
                bad(f"malformed quoted default {text}", hint="a default is one quoted string, e.g. \"abc\"")
                return None
            value = unquoted
        elif _INT.fullmatch(text):
            value = int(text)
        elif _FLOAT.fullmatch(text):
            value = float(text)
            if not math.isfinite(value):
                bad(f"default {text} is out of range")
                return None
        elif lower in ("true", "false"):
            value = lower == "true"
        else:
            value = text  # an unquoted word is a string, as DataJoint 0.14 reads it
        if spec is None:
            return Default("literal", value)
        converted = _convert(value, quoted, text, spec)
        if isinstance(converted, Problem):
            self.problem(line, start, end, converted.message, hint=converted.hint,
                         suggestion=converted.suggestion, code="bad-default")
            return None
        return Default("literal", converted)


def _convert(value: str | int | float | bool, quoted: bool, text: str,
             spec: TypeSpec) -> str | int | float | bool | Problem:
    """Convert a literal default to the Python value for ``spec``, or a Problem saying why not."""
    cat = spec.category
    if cat in (Category.INTEGER, Category.YEAR):
        if isinstance(value, str) and _INT.fullmatch(value.strip()):
            value = int(value)
        elif isinstance(value, bool) and cat is Category.INTEGER:
            value = int(value)  # MySQL reads TRUE/FALSE as 1/0
        if isinstance(value, bool) or not isinstance(value, int):
            return Problem(f"default {text} of {spec.original} is not a whole number")
        bounds = spec.int_range
        if bounds is not None and not bounds[0] <= value <= bounds[1]:
            return Problem(f"default {value} is outside the range of {spec.original} "
                           f"({bounds[0]} to {bounds[1]})")
        return value
    if cat in (Category.FLOAT, Category.DECIMAL):
        if isinstance(value, str) and _FLOAT.fullmatch(value.strip()):
            number_text = value.strip()
        elif isinstance(value, int | float) and not isinstance(value, bool):
            number_text = text
        else:
            return Problem(f"default {text} of {spec.original} is not a number")
        if cat is Category.DECIMAL:
            return number_text
        number = float(number_text)
        if not math.isfinite(number):
            return Problem(f"default {text} is out of range")
        return number
    if cat is Category.BOOL:
        truth = {"1": True, "0": False, "true": True, "false": False}
        key = str(value).lower() if not isinstance(value, bool) else ("true" if value else "false")
        if key not in truth:
            return Problem(f"default {text} of bool is not true or false", hint="write true, false, 1 or 0")
        return truth[key]
    if cat in _TEXTUAL:
        string = str(value) if quoted else text  # unquoted: exactly as written (0 stays "0")
        if spec.length is not None and len(string) > spec.length:
            return Problem(f"default {text} is longer than {spec.original} allows ({len(string)} > "
                           f"{spec.length})")
        if cat is Category.ENUM:
            lowered = [v.lower() for v in spec.values]
            if string.lower() not in lowered:
                near = suggest(string, spec.values)
                return Problem(f"default {text} is not one of the values of {spec.original}",
                               suggestion=near,
                               hint=None if near else "the default must be one of the enum values")
        return string
    return value  # user codecs: the codec decides


def parse_definition(text: str, *, table_name: str | None = None) -> TableDefinition:
    """Parse a table definition.

    Parameters
    ----------
    text
        The definition string, as written in the table class.
    table_name
        The table's name, used only in error messages.

    Returns
    -------
    TableDefinition
        The table comment and the attribute, foreign-key and index lines.

    Raises
    ------
    DefinitionError
        Listing every problem found, each with its line, a caret under it and a suggested fix;
        ``err.problems`` holds them as :class:`~labjoin.definition.diagnostics.Problem`.

    Examples
    --------
    >>> d = parse_definition('''
    ... # a mouse
    ... -> Lab
    ... subject_id : int unsigned   # lab-assigned id
    ... ---
    ... sex = 'U' : enum('M', 'F', 'U')
    ... ''')
    >>> [a.name for a in d.attributes], d.foreign_keys[0].ref, d.comment
    (['subject_id', 'sex'], 'Lab', 'a mouse')
    """
    if not isinstance(text, str):
        raise DefinitionError(f"A table definition must be a string, not {type(text).__name__}.")
    parser = _Parser()
    comment = ""
    first = True
    in_key = True
    divider: int | None = None
    items: list[Item] = []
    for number, raw in enumerate(text.split("\n"), 1):
        raw = raw.rstrip("\r")
        stripped = raw.strip()
        if not stripped:
            continue
        line = _Line(number, raw, len(raw) - len(raw.lstrip()), stripped)
        if first:
            first = False
            if stripped.startswith("#"):
                comment = stripped[1:].strip()
                if comment.startswith(":"):
                    parser.problem(line, 0, len(stripped), "the table comment must not start with ':'",
                                   hint="reword the comment", code="bad-comment")
                continue
        if stripped.startswith("#"):
            continue
        if stripped.startswith(("---", "___")):
            if divider is not None:
                parser.problem(line, 0, len(stripped), "a second '---' divider",
                               hint=f"the primary key already ended on line {divider}; remove this line",
                               code="second-divider")
            else:
                divider, in_key = number, False
            continue
        arrow = stripped.find("->")
        item: Item | None
        if arrow >= 0 and not any(c in stripped[:arrow] for c in "\"#'"):
            item = parser.foreign_key(line, in_key)
        elif (_INDEX_LIKE.match(stripped) and ":" not in stripped.split("#")[0]) or _INDEX.match(stripped):
            item = parser.index(line)
        else:
            item = parser.attribute(line, in_key)
        if item is not None:
            items.append(item)
    if parser.problems:
        raise definition_error(parser.problems, table_name=table_name)
    return TableDefinition(comment, tuple(items), divider)
