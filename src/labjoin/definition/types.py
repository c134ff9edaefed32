"""The attribute-type grammar: every type name of DataJoint 0.14 and 2.x, parsed into a TypeSpec.

:func:`parse_type` accepts, case-insensitively and with free spacing:

* 0.14 / MySQL names: ``tinyint`` ... ``bigint`` and ``int``/``integer`` (optional display
  width, ``unsigned``, ``auto_increment``), ``serial``, ``float``/``double``/``real``
  (optionally ``unsigned``), ``decimal(p,s)``/``numeric``/``dec``, ``char(n)``, ``varchar(n)``,
  ``text`` and its tiny/medium/long widths, ``enum(...)``, ``date``, ``time[(n)]``,
  ``datetime[(n)]``, ``timestamp[(n)]``, ``year``, ``bool``/``boolean``, ``uuid``, ``json``,
  ``tinyblob``/``blob``/``mediumblob``/``longblob`` (serialized Python objects, as in 0.14),
  ``attach``, ``blob@store``, ``attach@store``, ``filepath@store`` and adapters ``<name>``;
* 2.x core names: ``int8`` ... ``int64``, ``uint8`` ... ``uint64``, ``float32``, ``float64``,
  ``bytes`` and the codecs ``<blob>``, ``<attach>``, ``<blob@store>``, ``<attach@store>``,
  ``<filepath@store>``, ``<object@store>``, ``<npy@store>``, ``<hash@store>``; ``@`` with no
  name (``<blob@>``) means the default store.

:class:`TypeSpec` and :class:`Category` are defined in :mod:`labjoin.definition.typespec` and
re-exported here; see there for the comment-marker rule.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import NoReturn

from labjoin.definition.diagnostics import Problem, Span, suggest
from labjoin.definition.lexical import find_close_paren, quote_sql, split_top_level, unquote_literal
from labjoin.definition.typespec import Category, TypeSpec, split_comment
from labjoin.errors import DefinitionError

__all__ = [
    "BUILTIN_CODECS",
    "KNOWN_TYPES",
    "Category",
    "TypeSpec",
    "parse_type",
    "split_comment",
]

BUILTIN_CODECS: tuple[str, ...] = ("attach", "blob", "filepath", "hash", "npy", "object")
_CODEC_CATEGORY = {
    "attach": Category.ATTACH,
    "blob": Category.BLOB,
    "filepath": Category.FILEPATH,
    "hash": Category.HASH,
    "npy": Category.NPY,
    "object": Category.OBJECT,
}
_STORE_REQUIRED = frozenset({"filepath", "hash", "npy", "object"})


# --------------------------------------------------------------------------------------------
# The scanner. A type string is: name ['precision'] [@store | (args)] {modifier}, or <codec>.

_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_STORE = re.compile(r"[A-Za-z][\w-]*")
_CODEC_NAME = re.compile(r"[A-Za-z_][\w-]*")
_WHOLE = re.compile(r"[0-9]+")
_PRECISION = re.compile(r"precision\b", re.I)


def _skip_ws(text: str, i: int) -> int:
    while i < len(text) and text[i].isspace():
        i += 1
    return i


def _fail(text: str, start: int, end: int, message: str, *, hint: str | None = None,
          suggestion: str | None = None, code: str = "bad-type") -> NoReturn:
    """Raise a DefinitionError for ``text[start:end]`` (offsets are 0-based in ``text``)."""
    end = max(end, start + 1)
    problem = Problem(message, Span(1, start + 1, end + 1, text), hint, suggestion, code)
    shown = [f"{message}:", "    " + text, "    " + " " * start + "^" * (end - start)]
    shown.extend("    " + line for line in problem.advice())
    raise DefinitionError("\n".join(shown), [problem])


@dataclass
class _Scan:
    """A type string split into its parts, with 0-based offsets for error spans."""

    text: str
    base: str
    name_start: int
    name_end: int
    args: list[tuple[str, int, int]] | None  # top-level comma-separated arguments, stripped
    args_start: int  # offset of "(" (or of the end of the name when there are no args)
    args_end: int  # offset just past ")"
    mods: list[tuple[str, int, int]]

    def fail(self, start: int, end: int, message: str, **kw: str | None) -> NoReturn:
        _fail(self.text, start, end, message, **kw)  # type: ignore[arg-type]

    def no_args(self) -> None:
        if self.args is not None:
            self.fail(self.args_start, self.args_end, f"{self.base} takes no arguments",
                      suggestion=self.base, code="bad-arguments")

    def ints(self, low: int, high: int, what: str) -> list[int]:
        """The arguments as whole numbers; between ``low`` and ``high`` of them."""
        args = self.args or []
        if not low <= len(args) <= high:
            count = str(low) if low == high else f"{low} to {high}"
            plural = "" if high == 1 else "s"
            self.fail(self.args_start, self.args_end,
                      f"{self.base} takes {count} argument{plural} ({what}), got {len(args)}",
                      code="bad-arguments")
        out = []
        for value, start, end in args:
            if not _WHOLE.fullmatch(value):
                self.fail(start, end, f"{what} of {self.base} must be a whole number, not {value!r}",
                          code="bad-arguments")
            out.append(int(value))
        return out

    def in_range(self, value: int, low: int, high: int, what: str, index: int = 0) -> None:
        if not low <= value <= high:
            _, start, end = (self.args or [("", self.args_start, self.args_end)])[index]
            self.fail(start, end, f"{what} of {self.base} must be between {low} and {high}, not {value}",
                      code="bad-arguments")

    def modifiers(self, *, unsigned_ok: bool, auto_ok: bool) -> tuple[bool, bool]:
        """Check the trailing words; return (unsigned, auto_increment)."""
        unsigned = auto = False
        for word, start, end in self.mods:
            if word == "unsigned":
                if not unsigned_ok:
                    self._bad_unsigned(start, end)
                if unsigned or auto:
                    hint = ("write 'unsigned' before 'auto_increment'" if auto
                            else "remove the repeated 'unsigned'")
                    self.fail(start, end, "misplaced 'unsigned'", hint=hint)
                unsigned = True
            elif word == "auto_increment":
                if not auto_ok:
                    self.fail(start, end, "auto_increment applies only to integer types",
                              hint="remove 'auto_increment'")
                if auto:
                    self.fail(start, end, "repeated 'auto_increment'")
                auto = True
            else:
                self.fail(start, end, f"unexpected {word!r} after type {self.base}",
                          hint="only 'unsigned' and 'auto_increment' may follow a numeric type; "
                          "put remarks in the comment after '#'")
        return unsigned, auto

    def _bad_unsigned(self, start: int, end: int) -> NoReturn:
        if self.base.startswith("uint"):
            self.fail(start, end, f"{self.base} is already unsigned", hint="remove 'unsigned'")
        if self.base.startswith("int") and self.base[3:].isdigit():
            self.fail(start, end, f"{self.base} is signed and takes no 'unsigned'",
                      suggestion="u" + self.base, hint=f"use u{self.base} for an unsigned integer")
        self.fail(start, end, f"'unsigned' does not apply to {self.base}", hint="remove 'unsigned'")

    def mod_text(self, unsigned: bool, auto: bool) -> str:
        return (" unsigned" if unsigned else "") + (" auto_increment" if auto else "")


def _scan(text: str) -> TypeSpec:
    i = _skip_ws(text, 0)
    if i == len(text):
        _fail(text, 0, len(text), "missing type", hint="write a type after ':', e.g. 'int32'",
              code="missing-type")
    if text[i] == "<":
        return _codec(text, i)
    m = _NAME.match(text, i)
    if m is None:
        _fail(text, i, i + 1, f"a type name must start with a letter, not {text[i]!r}", code="bad-type")
    base, name_start, name_end = m.group().lower(), m.start(), m.end()
    j = _skip_ws(text, name_end)
    if base == "double":
        p = _PRECISION.match(text, j)
        if p is not None:
            base, name_end = "double precision", p.end()
            j = _skip_ws(text, name_end)
    if j < len(text) and text[j] == "@":
        return _store_form(text, base, name_start, j)
    args = None
    args_start, args_end = name_end, name_end
    if j < len(text) and text[j] == "(":
        close = find_close_paren(text, j)
        if close < 0:
            _fail(text, j, len(text), "unclosed '(' in type", hint="add the missing ')'")
        args = split_top_level(text, j + 1, close)
        if args == [("", j + 1, j + 1)]:
            args = []
        args_start, args_end = j, close + 1
        j = close + 1
    mods = []
    while True:
        j = _skip_ws(text, j)
        if j == len(text):
            break
        w = _WORD.match(text, j)
        if w is None:
            _fail(text, j, len(text.rstrip()), f"unexpected {text[j:].strip()!r} after the type",
                  hint="put remarks in the comment after '#'")
        mods.append((w.group().lower(), w.start(), w.end()))
        j = w.end()
    scan = _Scan(text, base, name_start, name_end, args, args_start, args_end, mods)
    handler = _HANDLERS.get(base)
    if handler is None:
        _unknown(scan)
    return handler(scan)


# Names people reach for that are not DataJoint types, with what to write instead.
_HINTS = {
    "string": "varchar(n)", "str": "varchar(n)", "list": "longblob", "dict": "longblob",
    "array": "longblob", "ndarray": "longblob", "object": "longblob", "pickle": "longblob",
    "float16": "float32", "half": "float32", "datetime64": "datetime", "timestamptz": "timestamp",
    "jsonb": "json", "binary": "uuid", "varbinary": "bytes", "bit": "bool", "number": "float64",
    "long": "int64", "short": "int16", "byte": "int8", "ubyte": "uint8", "smallfloat": "float32",
}


def _unknown(scan: _Scan) -> NoReturn:
    rest = scan.text[scan.name_end :].strip()
    hinted = _HINTS.get(scan.base)
    near = hinted or suggest(scan.base, _HANDLERS, cutoff=0.6)
    suggestion = near
    if near is not None and near in _HANDLERS and rest:
        # Keep what followed the misspelled name: varchr(64) -> varchar(64).
        suggestion = near + rest if rest.startswith("(") else f"{near} {rest}"
    hint = None
    if hinted is not None:
        hint = f"there is no {scan.base!r} type in DataJoint; use {hinted}"
    elif suggestion is None:
        hint = "see docs/definitions.md for the list of types"
    scan.fail(scan.name_start, scan.name_end, f"unknown attribute type {scan.base!r}",
              suggestion=suggestion, hint=hint, code="unknown-type")


def _codec(text: str, i: int) -> TypeSpec:
    close = text.find(">", i)
    if close < 0:
        _fail(text, i, len(text), "missing '>' after codec name", hint="write e.g. <blob> or <blob@store>")
    tail = text[close + 1 :].strip()
    if tail:
        start = text.index(tail, close + 1)
        _fail(text, start, start + len(tail), f"unexpected {tail!r} after {text[i:close + 1]}",
              hint="put remarks in the comment after '#'")
    inner = text[i + 1 : close]
    name_part, at, store_part = inner.partition("@")
    name = name_part.strip()
    if not _CODEC_NAME.fullmatch(name):
        what = "missing codec name" if not name else f"bad codec name {name!r}"
        _fail(text, i, close + 1, what, hint="write e.g. <blob>, <attach@store> or <mycodec>",
              code="bad-codec")
    store = store_part.strip() if at else None
    if store and not _STORE.fullmatch(store):
        start = text.index(store, i)
        _fail(text, start, start + len(store), f"bad store name {store!r}",
              hint="a store name starts with a letter and has letters, digits, '_' or '-'",
              code="bad-store")
    builtin = name.lower() in _CODEC_CATEGORY
    name = name.lower() if builtin else name
    if builtin and name in _STORE_REQUIRED and store is None:
        _fail(text, i, close + 1, f"<{name}> needs a store", suggestion=f"<{name}@>",
              hint=f"write <{name}@> for the default store or <{name}@name> for a named store",
              code="missing-store")
    category = _CODEC_CATEGORY.get(name, Category.ADAPTED)
    spelled = f"<{name}>" if store is None else f"<{name}@{store}>"
    size = "long" if builtin and name in ("blob", "attach") and store is None else None
    return TypeSpec(category, spelled, spelled, store=store, codec=name, blob_size=size)


def _store_form(text: str, base: str, name_start: int, at: int) -> TypeSpec:
    """0.14 external forms: blob@store, attach@store, filepath@store."""
    store_start = _skip_ws(text, at + 1)
    m = _STORE.match(text, store_start)
    store = m.group() if m else ""
    end = m.end() if m else store_start
    if base not in ("blob", "attach", "filepath"):
        near = "blob" if base.endswith("blob") else None
        _fail(text, name_start, at, f"{base} cannot be stored in a store ('@')",
              suggestion=f"{near}@{store}" if near else None, code="bad-store",
              hint=None if near else "only blob, attach and filepath take '@store'")
    if not store:
        _fail(text, at, end + 1, f"{base}@ needs a store name", suggestion=f"<{base}@>",
              hint=f"write {base}@name, or <{base}@> for the default store", code="missing-store")
    tail = text[end:].strip()
    if tail:
        start = text.index(tail, end)
        _fail(text, start, start + len(tail), f"unexpected {tail!r} after {base}@{store}",
              hint="put remarks in the comment after '#'")
    category = {"blob": Category.BLOB, "attach": Category.ATTACH, "filepath": Category.FILEPATH}[base]
    return TypeSpec(category, f"{base}@{store}", f"<{base}@{store}>", store=store)


# --------------------------------------------------------------------------------------------
# Handlers: one per base name, each checks arguments and modifiers and builds the TypeSpec.

_INT_BITS = {"tinyint": 8, "smallint": 16, "mediumint": 24, "int": 32, "integer": 32, "bigint": 64}
_BLOB_SIZES = {"tinyblob": "tiny", "blob": "", "mediumblob": "medium", "longblob": "long"}
_TEXT_SIZES = {"tinytext": "tiny", "text": "", "mediumtext": "medium", "longtext": "long"}


def _int_core(bits: int, unsigned: bool) -> str:
    return ("u" if unsigned else "") + f"int{32 if bits == 24 else bits}"


def _mysql_int(scan: _Scan) -> TypeSpec:
    bits = _INT_BITS[scan.base]
    width = ""
    if scan.args is not None:
        (w,) = scan.ints(1, 1, "display width")
        scan.in_range(w, 1, 255, "display width")
        width = f"({w})"
    unsigned, auto = scan.modifiers(unsigned_ok=True, auto_ok=True)
    return TypeSpec(Category.INTEGER, scan.base + width + scan.mod_text(unsigned, auto),
                    _int_core(bits, unsigned), bits=bits, unsigned=unsigned, auto_increment=auto)


def _core_int(scan: _Scan) -> TypeSpec:
    scan.no_args()
    unsigned = scan.base.startswith("u")
    bits = int(scan.base.removeprefix("u").removeprefix("int"))
    _, auto = scan.modifiers(unsigned_ok=False, auto_ok=True)
    return TypeSpec(Category.INTEGER, scan.base + scan.mod_text(False, auto), scan.base, bits=bits,
                    unsigned=unsigned, auto_increment=auto)


def _serial(scan: _Scan) -> TypeSpec:
    scan.no_args()
    scan.modifiers(unsigned_ok=False, auto_ok=False)
    return TypeSpec(Category.INTEGER, "serial", "uint64", bits=64, unsigned=True, auto_increment=True)


def _mysql_float(scan: _Scan) -> TypeSpec:
    bits = 32 if scan.base == "float" else 64
    precision = scale = None
    args = ""
    if scan.args is not None:
        nums = scan.ints(1, 2, "precision and scale")
        if len(nums) == 1:
            if scan.base != "float":
                scan.fail(scan.args_start, scan.args_end, f"{scan.base} takes (m,d) or no arguments",
                          code="bad-arguments")
            scan.in_range(nums[0], 0, 53, "precision")
            precision, bits = nums[0], (32 if nums[0] <= 24 else 64)
        else:
            precision, scale = nums
            scan.in_range(precision, 1, 255, "precision")
            scan.in_range(scale, 0, 30, "scale", 1)
            if scale > precision:
                scan.fail(scan.args_start, scan.args_end,
                          f"scale {scale} exceeds precision {precision} in {scan.base}",
                          code="bad-arguments")
        args = "(" + ",".join(str(n) for n in nums) + ")"
    unsigned, _ = scan.modifiers(unsigned_ok=True, auto_ok=False)
    return TypeSpec(Category.FLOAT, scan.base + args + scan.mod_text(unsigned, False), f"float{bits}",
                    bits=bits, unsigned=unsigned, precision=precision, scale=scale)


def _core_float(scan: _Scan) -> TypeSpec:
    scan.no_args()
    scan.modifiers(unsigned_ok=False, auto_ok=False)
    return TypeSpec(Category.FLOAT, scan.base, scan.base, bits=int(scan.base[5:]))


def _decimal(scan: _Scan) -> TypeSpec:
    precision, scale, args = 10, 0, ""
    if scan.args is not None:
        nums = scan.ints(1, 2, "precision and scale")
        precision = nums[0]
        scale = nums[1] if len(nums) == 2 else 0
        scan.in_range(precision, 1, 65, "precision")
        if len(nums) == 2:
            scan.in_range(scale, 0, 30, "scale", 1)
        if scale > precision:
            scan.fail(scan.args_start, scan.args_end,
                      f"scale {scale} exceeds precision {precision} in {scan.base}",
                      hint="the scale (digits after the point) must not exceed the precision "
                      "(all digits)", suggestion=f"{scan.base}({scale},{precision})",
                      code="bad-arguments")
        args = "(" + ",".join(str(n) for n in nums) + ")"
    unsigned, _ = scan.modifiers(unsigned_ok=True, auto_ok=False)
    return TypeSpec(Category.DECIMAL, scan.base + args + scan.mod_text(unsigned, False),
                    f"decimal({precision},{scale})", unsigned=unsigned, precision=precision, scale=scale)


def _simple(category: Category, core: str | None = None, **extra: object) -> Callable[[_Scan], TypeSpec]:
    def handler(scan: _Scan) -> TypeSpec:
        scan.no_args()
        scan.modifiers(unsigned_ok=False, auto_ok=False)
        return TypeSpec(category, scan.base, core or scan.base, **extra)  # type: ignore[arg-type]

    return handler


def _char(scan: _Scan) -> TypeSpec:
    category = Category.CHAR if scan.base == "char" else Category.VARCHAR
    limit = 255 if category is Category.CHAR else 65535
    if scan.args is None:
        if category is Category.VARCHAR:
            scan.fail(scan.name_start, scan.name_end, "varchar needs a maximum length",
                      suggestion="varchar(255)", hint="write varchar(n), e.g. varchar(255)",
                      code="bad-arguments")
        n = 1  # MySQL: char means char(1)
    else:
        (n,) = scan.ints(1, 1, "length")
        scan.in_range(n, 1, limit, "length")
    scan.modifiers(unsigned_ok=False, auto_ok=False)
    written = scan.base if scan.args is None else f"{scan.base}({n})"
    return TypeSpec(category, written, f"{scan.base}({n})", length=n)


def _text(scan: _Scan) -> TypeSpec:
    if scan.args is not None:
        scan.fail(scan.args_start, scan.args_end, f"{scan.base} takes no length",
                  hint="use varchar(n) for a string with a maximum length", code="bad-arguments")
    scan.modifiers(unsigned_ok=False, auto_ok=False)
    return TypeSpec(Category.TEXT, scan.base, scan.base, blob_size=_TEXT_SIZES[scan.base])


def _enum(scan: _Scan) -> TypeSpec:
    if not scan.args:
        scan.fail(scan.name_start, scan.args_end, "enum needs at least one value",
                  hint="write enum('a', 'b')", code="bad-arguments")
    values: list[str] = []
    seen: dict[str, str] = {}
    for raw, start, end in scan.args:
        value = unquote_literal(raw)
        if value is None:
            fixed = ",".join(quote_sql(v) if unquote_literal(v) is None else v for v, _, _ in scan.args)
            scan.fail(start, end, f"enum value {raw!r} must be quoted", suggestion=f"enum({fixed})",
                      code="bad-arguments")
        if value.lower() in seen:
            scan.fail(start, end, f"enum value {raw} repeats {quote_sql(seen[value.lower()])}",
                      hint="enum values are compared without regard to case; remove the repeat",
                      code="bad-arguments")
        seen[value.lower()] = value
        values.append(value)
    scan.modifiers(unsigned_ok=False, auto_ok=False)
    spelled = "enum(" + ",".join(quote_sql(v) for v in values) + ")"
    return TypeSpec(Category.ENUM, spelled, spelled, values=tuple(values))


def _temporal(scan: _Scan) -> TypeSpec:
    category = {"time": Category.TIME, "datetime": Category.DATETIME, "timestamp": Category.TIMESTAMP}[
        scan.base]
    fsp = 0
    if scan.args is not None:
        (fsp,) = scan.ints(1, 1, "fractional-second digits")
        scan.in_range(fsp, 0, 6, "fractional-second digits")
    scan.modifiers(unsigned_ok=False, auto_ok=False)
    written = scan.base if scan.args is None else f"{scan.base}({fsp})"
    return TypeSpec(category, written, f"{scan.base}({fsp})" if fsp else scan.base, fsp=fsp)


def _year(scan: _Scan) -> TypeSpec:
    written = "year"
    if scan.args is not None:
        (width,) = scan.ints(1, 1, "display width")
        scan.in_range(width, 4, 4, "display width")
        written = "year(4)"
    scan.modifiers(unsigned_ok=False, auto_ok=False)
    return TypeSpec(Category.YEAR, written, "year")


def _blob(scan: _Scan) -> TypeSpec:
    scan.no_args()
    scan.modifiers(unsigned_ok=False, auto_ok=False)
    return TypeSpec(Category.BLOB, scan.base, "<blob>", blob_size=_BLOB_SIZES[scan.base])


def _filepath(scan: _Scan) -> TypeSpec:
    scan.fail(scan.name_start, scan.name_end, "filepath needs a store", suggestion="filepath@store",
              hint="write filepath@<store name>, or <filepath@> for the default store",
              code="missing-store")


_HANDLERS: dict[str, Callable[[_Scan], TypeSpec]] = {
    **dict.fromkeys(_INT_BITS, _mysql_int),
    **dict.fromkeys(["int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"], _core_int),
    "serial": _serial,
    **dict.fromkeys(["float", "double", "double precision", "real"], _mysql_float),
    "float32": _core_float,
    "float64": _core_float,
    **dict.fromkeys(["decimal", "numeric", "dec"], _decimal),
    "bool": _simple(Category.BOOL, "bool"),
    "boolean": _simple(Category.BOOL, "bool"),
    "char": _char,
    "varchar": _char,
    **dict.fromkeys(_TEXT_SIZES, _text),
    "enum": _enum,
    "date": _simple(Category.DATE),
    **dict.fromkeys(["time", "datetime", "timestamp"], _temporal),
    "year": _year,
    "uuid": _simple(Category.UUID),
    "json": _simple(Category.JSON),
    **dict.fromkeys(_BLOB_SIZES, _blob),
    "bytes": _simple(Category.BYTES, blob_size="long"),
    "attach": _simple(Category.ATTACH, "<attach>", blob_size="long"),
    "filepath": _filepath,
}

KNOWN_TYPES: tuple[str, ...] = (
    *sorted(_HANDLERS),
    "blob@store", "attach@store", "filepath@store", "<blob>", "<blob@store>", "<attach>",
    "<attach@store>", "<filepath@store>", "<object@store>", "<npy@store>", "<hash@store>", "<codec>",
)


@functools.lru_cache(maxsize=2048)
def parse_type(text: str) -> TypeSpec:
    """Parse an attribute type.

    Parameters
    ----------
    text
        The type as written after ``:`` in a definition line (without the comment).

    Returns
    -------
    TypeSpec
        The parsed type. Results are cached: the same text always gives the same object.

    Raises
    ------
    DefinitionError
        When the type is unknown or malformed. ``problems[0].span`` locates the problem
        within ``text`` (line 1), and ``problems[0].suggestion`` holds the nearest valid type
        when there is one.

    Examples
    --------
    >>> parse_type("INT unsigned").core_name
    'uint32'
    >>> parse_type("<blob@>").store
    ''
    """
    return _scan(text)
