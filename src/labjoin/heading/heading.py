"""Attributes and headings: what columns a table or query has, which form the primary key.

A heading is immutable. Query operators derive new headings from their inputs (``select``,
``rename``, ``join``), and the fetch and insert paths look up each attribute's codec from its
declared type. Computed attributes (from ``proj``/``aggr`` expressions) have no declared type
and decode as the driver returns them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from .. import errors

__all__ = ["Attribute", "Heading"]

# categories whose values are Python objects in a fetched record array
_NUMERIC_DTYPES = {"INTEGER": np.int64, "FLOAT": np.float64}
_BLOB_LIKE = {"BLOB", "BYTES", "ATTACH", "FILEPATH", "OBJECT", "NPY", "HASH", "ADAPTED"}


@dataclass(frozen=True)
class Attribute:
    """One column of a heading.

    ``type`` is the declared type (a ``definition.types.TypeSpec``), or None for an attribute
    computed by an expression. ``lineage`` names the table attribute it originates from
    (``schema.table.attr``) for semantic join checks.
    """

    name: str
    type: Any = None
    in_key: bool = False
    nullable: bool = False
    default: Any = None
    comment: str = ""
    lineage: str | None = None
    sql_type: str = ""
    expression: str | None = None  # the SQL fragment of a computed attribute

    @property
    def category(self) -> str:
        return "COMPUTED" if self.type is None else self.type.category.name

    @property
    def is_blob(self) -> bool:
        return self.category in _BLOB_LIKE

    @property
    def is_external(self) -> bool:
        return self.type is not None and getattr(self.type, "store", None) is not None

    @property
    def is_uuid(self) -> bool:
        return self.category == "UUID"

    @property
    def is_numeric(self) -> bool:
        return self.category in ("INTEGER", "FLOAT", "DECIMAL")

    @property
    def is_string(self) -> bool:
        return self.category in ("CHAR", "VARCHAR", "ENUM", "TEXT")

    @property
    def declared_type(self) -> str:
        if self.type is None:
            return "computed"
        return str(getattr(self.type, "original", "") or getattr(self.type, "core_name", ""))

    @property
    def dtype(self) -> Any:
        """The NumPy dtype of this attribute in a fetched record array."""
        if self.nullable:
            return np.float64 if self.category == "FLOAT" else object
        if self.category == "INTEGER":
            if getattr(self.type, "unsigned", False) and getattr(self.type, "bits", 32) == 64:
                return np.uint64
            return np.int64
        if self.category == "BOOL":
            return np.bool_
        return _NUMERIC_DTYPES.get(self.category, object)

    def __repr__(self) -> str:
        key = "*" if self.in_key else ""
        return f"<Attribute {key}{self.name}: {self.declared_type}>"


class Heading:
    """An ordered set of attributes with a primary key.

    >>> h = Heading([Attribute("id", in_key=True), Attribute("x")])
    >>> h.primary_key, h.secondary_attributes
    (['id'], ['x'])
    """

    __slots__ = ("_attrs", "_pk", "table_comment")

    def __init__(self, attributes: Iterable[Attribute], table_comment: str = "") -> None:
        attrs: dict[str, Attribute] = {}
        for a in attributes:
            if a.name in attrs:
                raise errors.QueryError(f"Attribute `{a.name}` appears twice in a heading.")
            attrs[a.name] = a
        self._attrs = attrs
        self._pk = [a.name for a in attrs.values() if a.in_key]
        self.table_comment = table_comment

    # -- mapping-like access --------------------------------------------------------------
    def __getitem__(self, name: str) -> Attribute:
        try:
            return self._attrs[name]
        except KeyError:
            raise self.unknown(name) from None

    def unknown(self, name: str) -> errors.UnknownAttributeError:
        from difflib import get_close_matches

        close = get_close_matches(name, list(self._attrs), n=1)
        hint = f" Did you mean `{close[0]}`?" if close else ""
        return errors.UnknownAttributeError(
            f"Attribute `{name}` is not found in the heading ({', '.join(self._attrs)}).{hint}"
        )

    def __contains__(self, name: object) -> bool:
        return name in self._attrs

    def __iter__(self) -> Iterator[str]:
        return iter(self._attrs)

    def __len__(self) -> int:
        return len(self._attrs)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Heading) and list(self._attrs.items()) == list(other._attrs.items())

    def __hash__(self) -> int:
        return hash(tuple(self._attrs))

    def __repr__(self) -> str:
        lines = []
        if self.table_comment:
            lines.append(f"# {self.table_comment}")
        for a in self._attrs.values():
            if not a.in_key and (not lines or lines[-1] != "---") and a.name == self.secondary_attributes[0]:
                lines.append("---")
            lines.append(f"{a.name}: {a.declared_type}" + (f"  # {a.comment}" if a.comment else ""))
        return "\n".join(lines)

    @property
    def attributes(self) -> Mapping[str, Attribute]:
        return self._attrs

    @property
    def names(self) -> list[str]:
        return list(self._attrs)

    @property
    def primary_key(self) -> list[str]:
        return list(self._pk)

    @property
    def secondary_attributes(self) -> list[str]:
        return [n for n, a in self._attrs.items() if not a.in_key]

    @property
    def blobs(self) -> list[str]:
        return [n for n, a in self._attrs.items() if a.is_blob]

    @property
    def non_blobs(self) -> list[str]:
        return [n for n, a in self._attrs.items() if not a.is_blob]

    @property
    def new_attributes(self) -> list[str]:
        return [n for n, a in self._attrs.items() if a.expression is not None]

    @property
    def as_dtype(self) -> np.dtype:
        return np.dtype([(n, a.dtype) for n, a in self._attrs.items()])

    # -- derivations used by the algebra ------------------------------------------------------
    def select(self, names: Iterable[str], *, renames: Mapping[str, str] | None = None) -> Heading:
        """Keep ``names`` (in heading order, primary key first); ``renames`` maps new -> old."""
        keep = set(names)
        renames = dict(renames or {})
        out = [a for n, a in self._attrs.items() if n in keep]
        for new, old in renames.items():
            out.append(replace(self[old], name=new))
        return Heading(_key_first(out), self.table_comment)

    def with_primary_key(self, key: Iterable[str]) -> Heading:
        key = list(key)
        attrs = [replace(a, in_key=a.name in key) for a in self._attrs.values()]
        by_name = {a.name: a for a in attrs}
        ordered = [by_name[k] for k in key] + [a for a in attrs if a.name not in key]
        return Heading(ordered, self.table_comment)

    def join(self, other: Heading, *, left: bool = False) -> Heading:
        """Heading of a natural join: the union, primary keys combined (ours first)."""
        attrs = list(self._attrs.values())
        for n, a in other._attrs.items():
            if n in self._attrs:
                if a.in_key and not self._attrs[n].in_key:
                    # an attribute in the other side's key stays in the joined key
                    idx = attrs.index(self._attrs[n])
                    attrs[idx] = replace(attrs[idx], in_key=True)
                continue
            attrs.append(replace(a, nullable=True) if left else a)
        return Heading(_key_first(attrs), self.table_comment)

    def extend(self, extra: Iterable[Attribute]) -> Heading:
        return Heading(_key_first([*self._attrs.values(), *extra]), self.table_comment)


def _key_first(attrs: list[Attribute]) -> list[Attribute]:
    return [a for a in attrs if a.in_key] + [a for a in attrs if not a.in_key]
