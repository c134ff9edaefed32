"""Database access for the navigator: one connection per server thread, table lookup by name.

A labjoin :class:`~labjoin.Connection` is one database session, with its own transaction state,
so threads must not share one. FastAPI runs page functions in a thread pool; each thread opens
its own connection to the same URL the first time it needs one. The table catalog each
connection caches is re-read after ``catalog_ttl`` seconds so that tables declared while the
server runs appear without a restart.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from .. import errors
from ..connection.connection import Connection
from ..graph.dependencies import class_name_of
from ..sql import catalog
from ..tables.table import FreeTable

__all__ = ["Database", "TableRef", "Tables"]


class Database:
    """Per-thread connections to one database.

    Parameters
    ----------
    url
        Database URL. None uses the configured default connection's URL.
    catalog_ttl
        Seconds between re-reads of the table catalog.
    """

    def __init__(self, url: str | None = None, *, catalog_ttl: float = 30.0) -> None:
        if url is None:
            from ..connection.connection import conn as default

            url = default().url
        self.url = url
        self.catalog_ttl = catalog_ttl
        self._local = threading.local()
        self._all: list[Connection] = []
        self._lock = threading.Lock()

    def connection(self) -> Connection:
        """This thread's connection (opened on first use)."""
        local = self._local
        conn = getattr(local, "conn", None)
        now = time.monotonic()
        if conn is None:
            conn = Connection(self.url)
            local.conn, local.loaded = conn, now
            with self._lock:
                self._all.append(conn)
        elif now - local.loaded > self.catalog_ttl:
            conn.invalidate_catalog()
            local.loaded = now
        return conn

    def invalidate(self) -> None:
        """Forget every thread's cached catalog (after DDL done through the navigator)."""
        with self._lock:
            for c in self._all:
                c.invalidate_catalog()

    def close(self) -> None:
        with self._lock:
            for c in self._all:
                c.close()
            self._all.clear()
        self._local = threading.local()

    @property
    def backend(self) -> str:
        return self.connection().backend.name


class TableRef:
    """A table found by schema and name: its catalog name, class name and tier."""

    __slots__ = ("class_name", "schema", "table")

    def __init__(self, schema: str, table: str) -> None:
        self.schema = schema
        self.table = table
        self.class_name = class_name_of(table)

    @property
    def full_name(self) -> str:
        return f"`{self.schema}`.`{self.table}`"

    def free(self, conn: Connection) -> FreeTable:
        return FreeTable(conn, self.full_name)


class Tables:
    """Look up tables on one connection by schema and table or class name.

    Registered page functions receive this object, so every query they build runs on the
    navigator's connection for the current thread::

        db["subject.Subject"] * db["subject.SubjectLab"]
        db.table("subject", "Subject")
    """

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def schemas(self) -> list[str]:
        # Cached with the connection's catalog, so DDL (which invalidates it) refreshes the list.
        cache = self.conn._catalog_cache
        if "navigator.schemas" not in cache:
            cache["navigator.schemas"] = catalog.list_schemas(self.conn)
        return list(cache["navigator.schemas"])

    def has_schema(self, schema: str) -> bool:
        return schema in self.schemas()

    def ref(self, schema: str, name: str) -> TableRef:
        """Resolve ``name`` (a table name such as ``#lookup`` or a class name such as
        ``Session.Trial``) in ``schema``; MissingSchemaError / MissingTableError otherwise."""
        if schema not in self.schemas():
            raise errors.MissingSchemaError(f"Schema `{schema}` does not exist in this database.")
        tables = catalog.load_schema(self.conn, schema)
        if name in tables and not name.startswith("~"):
            return TableRef(schema, name)
        by_class = {class_name_of(t): t for t in tables if not t.startswith("~")}
        if name in by_class:
            return TableRef(schema, by_class[name])
        raise errors.MissingTableError(
            f"Table `{name}` does not exist in schema `{schema}`. Open /schemas/{schema} for its tables."
        )

    def table(self, schema: str, name: str) -> FreeTable:
        """The table ``name`` of ``schema`` on this connection."""
        return self.ref(schema, name).free(self.conn)

    def __getitem__(self, dotted: str) -> FreeTable:
        schema, sep, name = dotted.partition(".")
        if not sep:
            raise errors.QueryError(f"Name tables as 'schema.Table', not {dotted!r}.")
        return self.table(schema, name)

    def hidden(self, schema: str, name: str) -> FreeTable | None:
        """A hidden (``~``) table of ``schema``, or None when it is not declared."""
        if schema not in self.schemas():
            raise errors.MissingSchemaError(f"Schema `{schema}` does not exist in this database.")
        if name not in catalog.load_schema(self.conn, schema):
            return None
        return FreeTable(self.conn, f"`{schema}`.`{name}`")

    @staticmethod
    def U(*attributes: str) -> Any:
        from ..tables.query import U

        return U(*attributes)
