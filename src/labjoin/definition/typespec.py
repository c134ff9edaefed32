"""Category and TypeSpec: what a parsed attribute type is, and the comment markers it implies.

The grammar that produces a :class:`TypeSpec` lives in :mod:`labjoin.definition.types`
(:func:`~labjoin.definition.types.parse_type`).

Comment markers
---------------
DataJoint records the declared type of special columns in the column comment as a
``:type:`` prefix, because the SQL type alone cannot tell (``binary(16)`` could be a uuid or an
external blob). :meth:`TypeSpec.comment_marker` gives that prefix:

* **MySQL/MariaDB** (byte-compatible with existing DataJoint databases): a marker only where
  DataJoint writes one -- ``uuid``, ``bytes``, ``attach``, ``blob@s``, ``attach@s``,
  ``filepath@s`` (0.14 spellings, written as declared) and every ``<codec>`` form (2.x,
  written as its core name, e.g. ``:<blob@s>:``). Plain SQL types (integers, floats, strings,
  temporal types, bool, json, serialized ``longblob``) get None, so 0.14 can read the table.
* **PostgreSQL and SQLite**: ``:<core name>:`` (``:uint32:``, ``:varchar(64):``, ``:<blob>:``),
  because no existing DataJoint database constrains us there and keeping the declared type makes
  introspection exact; except the 0.14 store types, which keep DataJoint's spelling
  (``:blob@s:``), because they are stored differently from their 2.x namesakes (``<blob@s>``).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace

from labjoin.errors import ConfigError

__all__ = ["Category", "TypeSpec", "split_comment"]


class Category(enum.Enum):
    """What kind of value an attribute holds, independent of spelling and backend."""

    INTEGER = "integer"
    FLOAT = "float"
    DECIMAL = "decimal"
    BOOL = "bool"
    CHAR = "char"
    VARCHAR = "varchar"
    TEXT = "text"  # unbounded strings: tinytext/text/mediumtext/longtext
    ENUM = "enum"
    DATE = "date"
    TIME = "time"
    DATETIME = "datetime"
    TIMESTAMP = "timestamp"
    YEAR = "year"
    UUID = "uuid"
    JSON = "json"
    BLOB = "blob"  # serialized Python object (DataJoint blob format)
    BYTES = "bytes"  # raw bytes, never serialized (2.x ``bytes``)
    ATTACH = "attach"
    FILEPATH = "filepath"
    OBJECT = "object"
    NPY = "npy"
    HASH = "hash"
    ADAPTED = "adapted"  # user codec / 0.14 AttributeAdapter ``<name>``


# Values of these categories live outside the row or are opaque: no default but null, no key.
_NULL_DEFAULT_ONLY = frozenset(
    {Category.BLOB, Category.BYTES, Category.ATTACH, Category.FILEPATH, Category.OBJECT, Category.NPY,
     Category.HASH}
)
_NOT_KEYABLE = _NULL_DEFAULT_ONLY | {Category.JSON, Category.TEXT}
_STRINGS = frozenset({Category.CHAR, Category.VARCHAR, Category.TEXT, Category.ENUM})
_BACKENDS = {"mysql": "mysql", "mariadb": "mysql", "postgresql": "postgresql", "postgres": "postgresql",
             "sqlite": "sqlite"}


@dataclass(frozen=True)
class TypeSpec:
    """A parsed attribute type.

    Parameters
    ----------
    category
        The kind of value (:class:`Category`).
    original
        The type as written, normalized: single spaces, no spaces inside parentheses, keywords
        in lower case; enum values, store names and user codec names keep their case
        (``int unsigned``, ``decimal(5,2)``, ``enum('M','F')``, ``blob@Raw``).
    core_name
        The canonical 2.x-style name (``uint32``, ``float64``, ``varchar(64)``, ``<blob@raw>``).
        ``auto_increment`` and ``unsigned`` on floats/decimals are not part of it; ``mediumint``
        widens to ``int32``.
    bits
        8, 16, 24 (mediumint), 32 or 64 for integers; 32 or 64 for floats; else None.
    unsigned, auto_increment
        Integer (and MySQL float/decimal) modifiers.
    length
        Maximum length of char/varchar.
    precision, scale
        decimal(p,s); also the MySQL ``float(p)`` / ``double(m,d)`` arguments when written.
    fsp
        Fractional-second digits (0-6) of time, datetime and timestamp; 0 when not written.
    values
        The enum values, in order, with their case.
    store
        None for in-row values; the store name for ``blob@s``/``<blob@s>`` and the like;
        ``""`` for the default store (``<blob@>``).
    codec
        The codec name for ``<name>`` forms (``blob``, ``attach``, ..., or a user codec), None
        for 0.14 spellings. ``codec is not None`` tells 2.x storage formats from 0.14 ones.
    blob_size
        MySQL width of blob/text columns: ``'tiny'``, ``''``, ``'medium'`` or ``'long'``.
    """

    category: Category
    original: str
    core_name: str
    bits: int | None = None
    unsigned: bool = False
    auto_increment: bool = False
    length: int | None = None
    precision: int | None = None
    scale: int | None = None
    fsp: int | None = None
    values: tuple[str, ...] = ()
    store: str | None = None
    codec: str | None = None
    blob_size: str | None = None

    def __str__(self) -> str:
        return self.original

    @property
    def is_external(self) -> bool:
        """True when values live in an object store rather than in the row."""
        return self.store is not None

    @property
    def is_string(self) -> bool:
        """True for char, varchar, text and enum."""
        return self.category in _STRINGS

    @property
    def null_default_only(self) -> bool:
        """True for blob-like types, whose only allowed default is null."""
        return self.category in _NULL_DEFAULT_ONLY

    @property
    def keyable(self) -> bool:
        """False for types that cannot be part of a primary key (blobs, files, json, text)."""
        return self.category not in _NOT_KEYABLE

    @property
    def int_range(self) -> tuple[int, int] | None:
        """Smallest and largest value of an integer type, else None."""
        if self.category is not Category.INTEGER or self.bits is None:
            return None
        if self.unsigned:
            return 0, 2**self.bits - 1
        return -(2 ** (self.bits - 1)), 2 ** (self.bits - 1) - 1

    def comment_marker(self, backend: str) -> str | None:
        """The ``:type:`` prefix to write before the column comment, or None.

        Parameters
        ----------
        backend
            ``"mysql"`` (or ``"mariadb"``), ``"postgresql"`` (or ``"postgres"``) or ``"sqlite"``.

        Returns
        -------
        str or None
            On MySQL, DataJoint's own marker for special types (``:uuid:``, ``:attach:``,
            ``:blob@s:``, ``:<blob>:`` ...) and None for plain SQL types. On PostgreSQL and
            SQLite always ``:<core_name>:``. See the module docstring for the rule.

        Examples
        --------
        >>> from labjoin.definition.types import parse_type
        >>> parse_type("blob@raw").comment_marker("mysql")
        ':blob@raw:'
        >>> parse_type("int unsigned").comment_marker("mysql") is None
        True
        >>> parse_type("int unsigned").comment_marker("sqlite")
        ':uint32:'
        """
        kind = _BACKENDS.get(backend.lower())
        if kind is None:
            raise ConfigError(f"Unknown backend {backend!r}: expected 'mysql', 'postgresql' or 'sqlite'.")
        if kind != "mysql" and (self.codec is not None or self.store is None):
            return f":{self.core_name}:"
        # 0.14 store types keep their spelling everywhere: the row holds a hash into ~external_<s>,
        # where their 2.x namesakes (<blob@s>) hold JSON, and introspection must tell them apart.
        if self.codec is not None:
            return f":{self.core_name}:"
        cat = self.category
        if cat is Category.UUID:
            return ":uuid:"
        if cat is Category.BYTES:
            return ":bytes:"
        if cat is Category.ATTACH:
            return ":attach:" if self.store is None else f":attach@{self.store}:"
        if cat is Category.BLOB and self.store is not None:
            return f":blob@{self.store}:"
        if cat is Category.FILEPATH:
            return f":filepath@{self.store}:"
        return None

    def column_comment(self, comment: str, backend: str) -> str:
        """The column comment to store: the marker (if any) followed by the user's comment."""
        return (self.comment_marker(backend) or "") + comment

    def without_auto_increment(self) -> TypeSpec:
        """This type without ``auto_increment``, as a foreign key copies it into a child table.

        ``original`` is rewritten to match (``serial`` becomes ``bigint unsigned``), so the
        spelling and the flags never disagree.

        Examples
        --------
        >>> from labjoin.definition.types import parse_type
        >>> parse_type("int unsigned auto_increment").without_auto_increment().original
        'int unsigned'
        """
        if not self.auto_increment:
            return self
        original = "bigint unsigned" if self.original == "serial" else self.original
        original = original.removesuffix(" auto_increment")
        return replace(self, original=original, auto_increment=False)


def split_comment(comment: str) -> tuple[str | None, str]:
    """Split a stored column comment into its ``:type:`` marker and the user's comment.

    Parameters
    ----------
    comment
        The comment as read from the catalog.

    Returns
    -------
    tuple
        ``(type_text, user_comment)``; ``type_text`` is None when there is no marker. Pass it to
        :func:`parse_type`. Colons inside quotes, parentheses and angle brackets (an enum value
        ``'a:b'``) do not end the marker.

    Examples
    --------
    >>> split_comment(":blob@raw:the raw trace")
    ('blob@raw', 'the raw trace')
    >>> split_comment("plain comment")
    (None, 'plain comment')
    """
    if not comment.startswith(":"):
        return None, comment
    depth = 0
    quote: str | None = None
    for i in range(1, len(comment)):
        ch = comment[i]
        if quote is not None:
            if ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
        elif ch in "(<":
            depth += 1
        elif ch in ")>":
            depth -= 1
        elif ch == ":" and depth == 0:
            return (comment[1:i] or None), comment[i + 1 :]
    return None, comment
