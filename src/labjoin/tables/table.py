"""Table: a query over one base table, plus the operations that change it."""

from __future__ import annotations

import re
from typing import Any

from .. import errors
from ..algebra import nodes as N
from ..heading.introspect import heading_from_catalog
from .query import QueryExpression

__all__ = ["FreeTable", "Table", "TableMeta"]


_CLASS_FORWARD = frozenset({
    "insert", "insert1", "update1", "fetch", "fetch1", "delete", "delete_quick", "drop", "drop_quick",
    "populate", "progress", "describe", "heading", "primary_key", "proj", "aggr", "restrict", "join",
    "extend", "to_dicts", "to_pandas", "to_arrays", "to_arrow", "to_polars", "keys", "head", "tail",
    "parents", "children", "ancestors", "descendants", "parts", "make_sql", "is_declared",
    "size_on_disk", "preview", "connection", "tier", "alter",
})


class TableMeta(type):
    """Lets the class itself act as the query of its whole table: ``Subject & key``,
    ``Subject * Session``, ``Subject.insert1(row)``, ``Subject.fetch()`` (DataJoint allows all of these).
    """

    def __getattribute__(cls, name: str) -> Any:
        if name in _CLASS_FORWARD and type.__getattribute__(cls, "database") is not None:
            return getattr(cls(), name)
        return type.__getattribute__(cls, name)

    def __and__(cls, other: Any) -> Any:
        return cls() & other

    def __sub__(cls, other: Any) -> Any:
        return cls() - other

    def __mul__(cls, other: Any) -> Any:
        return cls() * other

    def __add__(cls, other: Any) -> Any:
        return cls() + other

    def __matmul__(cls, other: Any) -> Any:
        return cls() @ other

    def __xor__(cls, other: Any) -> Any:
        return cls() ^ other

    def __iter__(cls) -> Any:
        return iter(cls())

    def __contains__(cls, item: Any) -> bool:
        # DataJoint compares a key dict with whole rows here (always False); test membership instead
        return item in cls()

    def __len__(cls) -> int:
        return len(cls())


class Table(QueryExpression, metaclass=TableMeta):
    """The base of every table class (and of ``FreeTable``)."""

    database: str | None = None
    table_name: str = ""
    definition: str | None = None
    _restriction_node: N.Node | None = None

    def __init__(self) -> None:
        if self.database is None:
            raise errors.DataJointError(
                f"Class {type(self).__name__} is not associated with a schema. Decorate it with @schema."
            )

    @property
    def connection(self) -> Any:
        conn = type(self)._connection
        if conn is None:
            from ..connection.connection import conn as default

            conn = default()
        return conn

    @property
    def heading(self) -> Any:
        return heading_from_catalog(self.connection, self.database, self.table_name)

    @property
    def _table_node(self) -> N.TableNode:
        return N.TableNode(self.database, self.table_name, self.heading)

    @property
    def _node(self) -> N.Node:
        return self._restriction_node if self._restriction_node is not None else self._table_node

    def _derive(self, node: N.Node) -> QueryExpression:
        # Restricting a table keeps it a table (so `(T & key).delete()` works); anything else
        # becomes a plain query.
        probe = node
        while isinstance(probe, (N.Restrict, N.TopNode)):
            probe = probe.child
        if isinstance(probe, N.TableNode) and probe.schema == self.database and probe.name == self.table_name:
            clone = object.__new__(type(self))
            clone.__dict__.update(self.__dict__)
            clone._restriction_node = node
            return clone
        return QueryExpression(node, self.connection)

    @property
    def restricted(self) -> bool:
        return self._restriction_node is not None

    @property
    def full_table_name(self) -> str:
        return f"`{self.database}`.`{self.table_name}`"

    @property
    def class_name(self) -> str:
        return type(self).__name__

    @property
    def is_declared(self) -> bool:
        from ..sql.catalog import load_schema

        return self.table_name in load_schema(self.connection, self.database)

    @property
    def tier(self) -> str:
        return tier_of(self.table_name)

    # -- data manipulation (implemented in tables/insert.py and tables/delete.py) --------------
    def insert(self, rows: Any, replace: bool = False, skip_duplicates: bool = False,
               ignore_extra_fields: bool = False, allow_direct_insert: bool | None = None,
               chunk_size: int | None = None) -> None:
        from .insert import insert

        insert(self, rows, replace=replace, skip_duplicates=skip_duplicates,
               ignore_extra_fields=ignore_extra_fields, allow_direct_insert=allow_direct_insert,
               chunk_size=chunk_size)

    def insert1(self, row: Any, **kwargs: Any) -> None:
        self.insert((row,), **kwargs)

    def update1(self, row: dict[str, Any]) -> None:
        from .insert import update1

        update1(self, row)

    def delete_quick(self, get_count: bool = False) -> int | None:
        from .delete import delete_quick

        return delete_quick(self, get_count=get_count)

    def delete(self, transaction: bool = True, safemode: bool | None = None, force_parts: bool = False,
               force_masters: bool = False, *, prompt: bool | None = None,
               part_integrity: str | None = None) -> int:
        from .delete import delete

        if part_integrity is None:
            part_integrity = "cascade" if force_masters else ("ignore" if force_parts else "enforce")
        return delete(self, transaction=transaction, safemode=safemode if prompt is None else prompt,
                      part_integrity=part_integrity)

    def drop_quick(self) -> None:
        from .delete import drop_quick

        drop_quick(self)

    def drop(self, safemode: bool | None = None, *, prompt: bool | None = None,
             part_integrity: str = "enforce") -> None:
        from .delete import drop

        drop(self, safemode=safemode if prompt is None else prompt, part_integrity=part_integrity)

    # -- structure ----------------------------------------------------------------------------
    def alter(self, prompt: bool = True, context: Any = None, *, force: bool = False,
              dry_run: bool = False) -> Any:
        """Change the table to match the class definition; return the plan (see docs/alter.md)."""
        from ..migrate import alter

        return alter(self, prompt=prompt, context=context, force=force, dry_run=dry_run)

    def describe(self, context: Any = None, printout: bool = False) -> str:
        from .describe import describe

        text = describe(self)
        if printout:
            print(text)
        return text

    def parents(self, primary: bool | None = None, as_objects: bool = False,
                foreign_key_info: bool = False) -> Any:
        return self.connection.dependencies.relatives(self.full_table_name, "parents", primary=primary,
                                                       as_objects=as_objects, fk_info=foreign_key_info)

    def children(self, primary: bool | None = None, as_objects: bool = False,
                 foreign_key_info: bool = False) -> Any:
        return self.connection.dependencies.relatives(self.full_table_name, "children", primary=primary,
                                                       as_objects=as_objects, fk_info=foreign_key_info)

    def ancestors(self, as_objects: bool = False) -> list[Any]:
        return self.connection.dependencies.lineage_of(self.full_table_name, "ancestors", as_objects)

    def descendants(self, as_objects: bool = False) -> list[Any]:
        return self.connection.dependencies.lineage_of(self.full_table_name, "descendants", as_objects)

    def parts(self, as_objects: bool = False) -> list[Any]:
        deps = self.connection.dependencies
        names = [n for n in deps.nodes if deps.nodes[n].get("master") == self.full_table_name]
        return [FreeTable(self.connection, n) for n in names] if as_objects else names

    @property
    def size_on_disk(self) -> int:
        from ..sql.catalog import table_size

        return table_size(self.connection, self.database, self.table_name)


_TIER_PATTERNS = (("Part", re.compile(r"^[#_]*[a-z][a-z0-9_]*?__[a-z][a-z0-9_]*$")),
                  ("Computed", re.compile(r"^__[a-z]")), ("Imported", re.compile(r"^_[a-z]")),
                  ("Lookup", re.compile(r"^#[a-z]")), ("Jobs", re.compile(r"^~")),
                  ("Manual", re.compile(r"^[a-z]")))


def tier_of(table_name: str) -> str:
    """The tier a table name encodes (DataJoint's prefixes: ``#``, ``_``, ``__``, ``master__part``)."""
    for tier, rx in _TIER_PATTERNS:
        if rx.search(table_name):
            if tier == "Part" and table_name.startswith("__") and "__" not in table_name[2:]:
                continue
            return tier
    return "Unknown"


class FreeTable(Table):
    """A table named by its full name, with no class: ``FreeTable(conn, '`lab`.`subject`')``."""

    def __init__(self, conn: Any, full_table_name: str | None = None) -> None:
        if full_table_name is None and isinstance(conn, str):
            from ..connection.connection import conn as default

            conn, full_table_name = default(), conn
        m = re.fullmatch(r"[`\"]?([^`\".]+)[`\"]?\.[`\"]?([^`\"]+)[`\"]?", str(full_table_name))
        if m is None:
            raise errors.DataJointError(
                f"FreeTable needs a full table name like `schema`.`table`, not {full_table_name!r}."
            )
        self.database, self.table_name = m.group(1), m.group(2)
        self._free_connection = conn

    @property
    def connection(self) -> Any:
        return self._free_connection

    def __repr__(self) -> str:
        return f"FreeTable({self.full_table_name})\n" + super().__repr__()
