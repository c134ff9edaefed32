"""Database access for the navigator: a pool of connections, table lookup by name.

A labjoin :class:`~labjoin.Connection` is one database session, with its own transaction state,
so two requests must not use one at the same time. Each request checks a connection out of the
pool when it first needs one and returns it when the response is done; the pool hands back the
most recently used connection first, so a lightly loaded server keeps using one or two
connections whose table catalogs are already loaded. The catalog each connection caches is
re-read after ``catalog_ttl`` seconds so that tables declared while the server runs appear
without a restart.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from .. import errors
from ..connection.connection import Connection
from ..graph.dependencies import class_name_of
from ..sql import catalog
from ..tables.table import FreeTable

__all__ = ["Database", "TableRef", "Tables"]


class Database:
    """A pool of connections to one database.

    Parameters
    ----------
    url
        Database URL. None uses the configured default connection's URL.
    catalog_ttl
        Seconds between re-reads of the table catalog.
    max_idle
        Idle connections kept open; more are closed when they are returned.
    """

    def __init__(self, url: str | None = None, *, catalog_ttl: float = 30.0, max_idle: int = 8) -> None:
        if url is None:
            from ..connection.connection import conn as default

            url = default().url
        self.url = url
        self.catalog_ttl = catalog_ttl
        self.max_idle = max_idle
        self._idle: list[tuple[Connection, float]] = []  # (connection, when its catalog was loaded)
        self._lock = threading.Lock()
        self.opened = 0

    def checkout(self) -> tuple[Connection, float]:
        """A connection nobody else is using (and when its catalog was last refreshed)."""
        with self._lock:
            item = self._idle.pop() if self._idle else None
        now = time.monotonic()
        if item is None:
            with self._lock:
                self.opened += 1
            return Connection(self.url), now
        conn, loaded = item
        if now - loaded > self.catalog_ttl:
            conn.invalidate_catalog()
            loaded = now
        return conn, loaded

    def checkin(self, conn: Connection, loaded: float) -> None:
        """Give a connection back. One left inside a transaction (a failed request) is closed."""
        if conn.in_transaction:
            conn.close()
            return
        with self._lock:
            if len(self._idle) < self.max_idle:
                self._idle.append((conn, loaded))
                return
        conn.close()

    @contextmanager
    def connection(self) -> Iterator[Connection]:
        """``with database.connection() as conn:`` -- checked out for the block."""
        conn, loaded = self.checkout()
        try:
            yield conn
        finally:
            self.checkin(conn, loaded)

    def invalidate(self) -> None:
        """Forget the cached catalogs of the idle connections (after DDL)."""
        with self._lock:
            self._idle = [(c, 0.0) for c, _ in self._idle]

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for c, _ in idle:
            c.close()


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
