"""What a parsed table definition is: immutable line objects, and rendering them back to text.

:func:`~labjoin.definition.parser.parse_definition` builds a :class:`TableDefinition`;
:func:`format_definition` renders one back to canonical definition text (``describe()`` uses
it). ``parse_definition(format_definition(d)) == d`` for every valid ``d``: spans are not part
of equality (``compare=False``), so two definitions that say the same thing compare equal
wherever they were written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from labjoin.definition.diagnostics import Problem, Span, definition_error
from labjoin.definition.lexical import quote_literal
from labjoin.definition.typespec import Category, TypeSpec

__all__ = [
    "AttributeSpec",
    "Default",
    "DefaultKind",
    "ForeignKeySpec",
    "IndexSpec",
    "Item",
    "TableDefinition",
    "format_definition",
    "render_default",
]

DefaultKind = Literal["null", "current_timestamp", "literal", "expression"]
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


@dataclass(frozen=True)
class Default:
    """The default value of an attribute.

    Parameters
    ----------
    kind
        ``'null'`` (``= null``: the attribute is nullable), ``'current_timestamp'``
        (``= CURRENT_TIMESTAMP``), ``'literal'`` (a constant) or ``'expression'`` (a
        parenthesized SQL expression, ``= (uuid())``, passed to the database as written).
    value
        For literals, the Python value converted for the attribute's type: int for integers and
        year, float for floats, bool for bool, str for decimals (exact digits, e.g. ``'1.50'``)
        and for every string, temporal, uuid and json type. For user codecs, int/float/bool
        when unquoted and str when quoted. For ``current_timestamp``, the fractional-second
        digits when written as ``CURRENT_TIMESTAMP(n)``, else None. For expressions, the text.
    on_update
        True for ``CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP``.
    """

    kind: DefaultKind
    value: str | int | float | bool | None = None
    on_update: bool = False


@dataclass(frozen=True)
class AttributeSpec:
    """An attribute line: ``name [= default] : type [# comment]``.

    ``nullable`` is True exactly when the default is ``null``. ``in_key`` is True for lines
    above the ``---`` divider.
    """

    name: str
    type: TypeSpec
    nullable: bool = False
    default: Default | None = None
    comment: str = ""
    in_key: bool = False
    span: Span | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class ForeignKeySpec:
    """A foreign-key line: ``-> [options] ref``.

    ``ref`` is the Python expression after the arrow (``Subject``, ``lab.Subject``,
    ``Subject.proj(parent='subject_id')``), checked for syntax only; the resolver evaluates it.
    ``options`` holds the lower-cased options, a subset of ``{'nullable', 'unique'}``.
    """

    ref: str
    options: frozenset[str] = frozenset()
    in_key: bool = False
    span: Span | None = field(default=None, compare=False, repr=False)

    @property
    def nullable(self) -> bool:
        """True when declared ``-> [nullable] ...``."""
        return "nullable" in self.options

    @property
    def unique(self) -> bool:
        """True when declared ``-> [unique] ...``."""
        return "unique" in self.options


@dataclass(frozen=True)
class IndexSpec:
    """An index line: ``index(a, b)`` or ``unique index(a)``.

    ``attributes`` are the entries as written (attribute names, or JSON-path expressions).
    Whether they name declared or inherited attributes is checked by the resolver.
    """

    unique: bool
    attributes: tuple[str, ...]
    span: Span | None = field(default=None, compare=False, repr=False)


Item = AttributeSpec | ForeignKeySpec | IndexSpec


@dataclass(frozen=True)
class TableDefinition:
    """A parsed table definition.

    Parameters
    ----------
    comment
        The table comment (the first line, when it starts with ``#``), without the ``#``.
    items
        Attribute, foreign-key and index lines in the order written.
    divider_line
        Line number of the ``---`` divider, or None when there is none (then every attribute
        and foreign key is in the primary key). Not part of equality.

    Raises
    ------
    DefinitionError
        When built with a primary-key item after a secondary one.
    """

    comment: str
    items: tuple[Item, ...]
    divider_line: int | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        secondary_seen = False
        for item in self.items:
            if isinstance(item, IndexSpec):
                continue
            if item.in_key and secondary_seen:
                name = item.name if isinstance(item, AttributeSpec) else f"-> {item.ref}"
                raise definition_error([Problem(
                    f"primary-key item {name!r} follows a secondary item", item.span,
                    hint="primary-key lines must all come before the '---' divider",
                    code="key-order")])
            secondary_seen = secondary_seen or not item.in_key

    @property
    def attributes(self) -> tuple[AttributeSpec, ...]:
        """The attribute lines (not the attributes inherited through foreign keys)."""
        return tuple(i for i in self.items if isinstance(i, AttributeSpec))

    @property
    def foreign_keys(self) -> tuple[ForeignKeySpec, ...]:
        """The foreign-key lines."""
        return tuple(i for i in self.items if isinstance(i, ForeignKeySpec))

    @property
    def indexes(self) -> tuple[IndexSpec, ...]:
        """The index lines."""
        return tuple(i for i in self.items if isinstance(i, IndexSpec))

    @property
    def primary_key_items(self) -> tuple[AttributeSpec | ForeignKeySpec, ...]:
        """Attribute and foreign-key lines above the divider, in order."""
        return tuple(i for i in self.items if not isinstance(i, IndexSpec) and i.in_key)


def render_default(default: Default, type_: TypeSpec) -> str:
    """The text that declares ``default`` for an attribute of type ``type_``."""
    if default.kind == "null":
        return "null"
    if default.kind == "current_timestamp":
        fsp = f"({default.value})" if default.value is not None else ""
        return "CURRENT_TIMESTAMP" + fsp + (" ON UPDATE CURRENT_TIMESTAMP" if default.on_update else "")
    if default.kind == "expression":
        return str(default.value)
    value = default.value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    text = str(value)
    if type_.category is Category.DECIMAL and _NUMBER.fullmatch(text):
        return text
    return quote_literal(text)


def _render_item(item: Item) -> str:
    if isinstance(item, AttributeSpec):
        left = item.name
        if item.default is not None:
            left += " = " + render_default(item.default, item.type)
        if not item.comment:
            return f"{left:<20} : {item.type.original}"
        return f"{left:<20} : {item.type.original:<28} # {item.comment}"
    if isinstance(item, ForeignKeySpec):
        options = [o for o in ("nullable", "unique") if o in item.options]
        return "-> " + (f"[{', '.join(options)}] " if options else "") + item.ref
    return ("unique " if item.unique else "") + f"index ({', '.join(item.attributes)})"


def format_definition(defn: TableDefinition) -> str:
    """Render a definition as canonical text, one line per item, ending with a newline.

    Parameters
    ----------
    defn
        The definition to render.

    Returns
    -------
    str
        ``# comment`` (when there is one), the primary-key lines, ``---`` (when the definition
        has secondary lines or had a divider), then the rest. Index lines stay where they were.

    Raises
    ------
    DefinitionError
        When a comment contains a line break and could not be read back.

    Examples
    --------
    >>> from labjoin.definition import parse_definition
    >>> print(format_definition(parse_definition("id:int # key\\n---\\nx=null:float")), end="")
    id                   : int                          # key
    ---
    x = null             : float
    """
    comments = [defn.comment] + [getattr(i, "comment", "") for i in defn.items]
    if any("\n" in c or "\r" in c for c in comments):
        raise definition_error([Problem("a comment contains a line break", None,
                                        hint="comments must fit on one line", code="bad-comment")])
    lines = [f"# {defn.comment}"] if defn.comment else []
    divided = False
    for item in defn.items:
        if not divided and not isinstance(item, IndexSpec) and not item.in_key:
            lines.append("---")
            divided = True
        lines.append(_render_item(item))
    if not divided and defn.divider_line is not None:
        lines.append("---")
    return "".join(line + "\n" for line in lines)
