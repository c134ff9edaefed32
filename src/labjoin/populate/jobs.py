"""The schema's ``~jobs`` table, in DataJoint 0.14's layout, so DataJoint workers and ours share it.

A key is reserved by inserting the row ``(table_name, key_hash)``: the primary key makes that
insert atomic on every backend (on SQLite too: one writer at a time, with WAL and a busy
timeout), so two workers never run ``make`` for the same key. ``complete`` deletes the row,
``error`` replaces it by an error row, ``ignore`` inserts an ignore row.

Stale reservations
------------------
A worker killed with ``kill -9`` leaves its ``reserved`` row behind. Such a row is *stale* when
the worker that wrote it is gone:

* PostgreSQL: its ``connection_id`` (the server process id, ``pg_backend_pid()``) is not in
  ``pg_stat_activity``;
* MySQL: its ``connection_id`` (``connection_id()``) is not in ``information_schema.processlist``.
  Without the PROCESS privilege MySQL lists only the account's own connections, so a reservation
  made by another account is then never judged stale;
* SQLite (one host): it was written on this host and its ``pid`` is not a live process here.

The server drops a dead client's connection as soon as the client's socket closes, which the
kernel does when the process dies, so a killed worker's reservation becomes stale within moments.
Stale rows are removed by ``clear_stale`` (one query for the live connections, one delete); the
delete names the exact row it judged (``connection_id`` and ``pid`` included), so a reservation
taken again meanwhile is never removed. DataJoint reads the table unchanged: no column was added.
"""

from __future__ import annotations

import hashlib
import os
import platform
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from .. import errors
from ..heading.codecs import encoder
from ..tables.table import FreeTable

__all__ = ["ERROR_MESSAGE_LENGTH", "JOBS_DEFINITION", "JobRow", "JobTable", "Reservations", "key_hash"]

ERROR_MESSAGE_LENGTH = 2047
TRUNCATION_APPENDIX = "...truncated"

JOBS_DEFINITION = """
# job reservation table for `{database}`
table_name  :varchar(255)  # className of the table
key_hash  :char(32)  # key hash
---
status  :enum('reserved','error','ignore')  # if tuple is missing, the job is available
key=null  :blob  # structure containing the key
error_message=""  :varchar(2047)  # error message returned if failed
error_stack=null  :mediumblob  # error stack if failed
user=""  :varchar(255)  # database user
host=""  :varchar(255)  # system hostname
pid=0  :int unsigned  # system process id
connection_id = 0  : bigint unsigned  # connection_id()
timestamp=CURRENT_TIMESTAMP  :timestamp  # automatic timestamp
"""

_ROW_FIELDS = ("table_name", "key_hash", "status", "key", "error_message", "error_stack", "user", "host",
               "pid", "connection_id")


def key_hash(mapping: dict[str, Any]) -> str:
    """DataJoint's key hash: md5 over ``str()`` of the key's values, sorted by attribute name."""
    h = hashlib.md5()
    for _, v in sorted(mapping.items()):
        h.update(str(v).encode())
    return h.hexdigest()


def truncate_message(message: str) -> str:
    """An error message cut to the column's 2047 characters, marked as DataJoint marks it."""
    if len(message) <= ERROR_MESSAGE_LENGTH:
        return message
    return message[: ERROR_MESSAGE_LENGTH - len(TRUNCATION_APPENDIX)] + TRUNCATION_APPENDIX


@dataclass(frozen=True)
class JobRow:
    """What ``clear_stale`` needs to know about one reservation."""

    key_hash: str
    status: str
    user: str
    host: str
    pid: int
    connection_id: int


def connection_id(conn: Any) -> int:
    """The server's id for this connection, asked once per driver connection (not per key)."""
    raw = conn.raw  # opens (or reopens after a fork or a lost connection) the driver connection
    key = ("populate.connection_id", os.getpid(), id(raw))
    cache = conn._catalog_cache
    if key not in cache:
        cache[key] = int(conn.connection_id)
    return int(cache[key])


def database_user(conn: Any) -> str:
    cache = conn._catalog_cache
    if "user" not in cache:
        cache["user"] = conn.get_user()
    return str(cache["user"])[:255]


class Reservations:
    """Fast job-table statements for one target table, prepared once per ``populate`` call.

    Each method is one SQL statement (``blocked`` and ``clear_stale`` two): SQL text is built once
    and values are encoded by the jobs heading's encoders, so reserving costs one round trip.
    """

    def __init__(self, conn: Any, database: str, table_name: str) -> None:
        jobs = JobTable(conn, database)
        self.conn = conn
        self.database = database
        self.table_name = table_name
        b = conn.backend
        self._backend = b.name
        heading = jobs.heading
        self._enc = {f: encoder(heading[f], b.name) for f in _ROW_FIELDS}
        self._full = b.qtable(database, "~jobs")
        q = b.qident
        ph = "?" if b.name == "sqlite" else "%s"
        self._ph = ph
        cols = ", ".join(q(f) for f in _ROW_FIELDS)
        values = ", ".join([ph] * len(_ROW_FIELDS))
        insert = f"INSERT INTO {self._full} ({cols}) VALUES ({values})"
        # A duplicate is the normal "taken by someone else" answer: on PostgreSQL and SQLite it is
        # asked for without raising (no error in the server log per contended key).
        self._reserve_sql = insert if b.name == "mysql" else insert + " ON CONFLICT DO NOTHING"
        self._ignore_sql = self._reserve_sql
        updates = [f for f in _ROW_FIELDS if f not in ("table_name", "key_hash")]
        if b.name == "mysql":
            sets = ", ".join(f"{q(f)} = VALUES({q(f)})" for f in updates)
            self._error_sql = f"{insert} ON DUPLICATE KEY UPDATE {sets}, {q('timestamp')} = CURRENT_TIMESTAMP"
        else:
            sets = ", ".join(f"{q(f)} = excluded.{q(f)}" for f in updates)
            self._error_sql = (f"{insert} ON CONFLICT ({q('table_name')}, {q('key_hash')}) DO UPDATE SET "
                               f"{sets}, {q('timestamp')} = CURRENT_TIMESTAMP")
        where = f"{q('table_name')} = {ph} AND {q('key_hash')} = {ph}"
        self._complete_sql = f"DELETE FROM {self._full} WHERE {where}"
        self._stale_sql = (f"DELETE FROM {self._full} WHERE {where} AND {q('status')} = 'reserved' "
                           f"AND {q('connection_id')} = {ph} AND {q('pid')} = {ph}")
        self._rows_sql = (f"SELECT {q('key_hash')}, {q('status')}, {q('user')}, {q('host')}, {q('pid')}, "
                          f"{q('connection_id')} FROM {self._full} WHERE {q('table_name')} = {ph}")
        self._host = platform.node()[:255]

    # -- one statement each -------------------------------------------------------------------
    def _values(self, key: dict[str, Any], status: str, message: str = "", stack: Any = None) -> tuple:
        e = self._enc
        conn = self.conn
        return (e["table_name"](self.table_name), key_hash(key), e["status"](status), e["key"](dict(key)),
                e["error_message"](message), None if stack is None else e["error_stack"](stack),
                database_user(conn), self._host, os.getpid(), connection_id(conn))

    def reserve(self, key: dict[str, Any]) -> bool:
        """Reserve ``key``; False when its row exists (reserved elsewhere, error or ignore)."""
        return self._insert(self._reserve_sql, self._values(key, "reserved"))

    def ignore(self, key: dict[str, Any]) -> bool:
        return self._insert(self._ignore_sql, self._values(key, "ignore"))

    def _insert(self, sql: str, values: tuple) -> bool:
        try:
            cur = self.conn.query(sql, values)
        except errors.DuplicateError:
            return False
        return self._backend == "mysql" or cur.rowcount == 1

    def complete(self, key: dict[str, Any]) -> None:
        """Delete the reservation (inside the make's transaction, so it commits with the result)."""
        self.conn.query(self._complete_sql, (self.table_name, key_hash(key)))

    def error(self, key: dict[str, Any], message: str, stack: str | None = None) -> None:
        """Record (or replace by) an error row; it commits on its own."""
        self.conn.query(self._error_sql, self._values(key, "error", truncate_message(message), stack))

    # -- queue state ------------------------------------------------------------------------------
    def rows(self) -> list[JobRow]:
        """Every job row of this table (reserved, error and ignore)."""
        cur = self.conn.query(self._rows_sql, (self.table_name,))
        return [JobRow(str(h), str(s), str(u or ""), str(host or ""), int(p or 0), int(c or 0))
                for h, s, u, host, p, c in cur.fetchall()]

    def clear_stale(self, rows: Iterable[JobRow] | None = None) -> set[str]:
        """Delete the stale reservations among ``rows`` (default: all of this table's); their hashes."""
        rows = self.rows() if rows is None else list(rows)
        reserved = [r for r in rows if r.status == "reserved"]
        if not reserved:
            return set()
        live = live_connections(self.conn)
        stale = [r for r in reserved if is_stale(self.conn, r, live)]
        if stale:
            self.conn.query(self._stale_sql, [(self.table_name, r.key_hash, r.connection_id, r.pid)
                                               for r in stale], many=True)
        return {r.key_hash for r in stale}


def live_connections(conn: Any) -> tuple[set[int], set[str]] | None:
    """(live connection ids, users seen) on a server; None on SQLite (judged by pid instead)."""
    b = conn.backend.name
    if b == "sqlite":
        return None
    if b == "postgresql":
        rows = conn.query("SELECT pid, usename FROM pg_stat_activity").fetchall()
        return {int(r[0]) for r in rows if r[0] is not None}, {str(r[1]) for r in rows if r[1]}
    rows = conn.query("SELECT id, user FROM information_schema.processlist").fetchall()
    return {int(r[0]) for r in rows}, {str(r[1]) for r in rows}


def is_stale(conn: Any, row: JobRow, live: tuple[set[int], set[str]] | None) -> bool:
    """The documented rule (module docstring): is the worker behind this reservation gone?

    ``live`` is what `live_connections` returned (read once for many rows).
    """
    if row.status != "reserved":
        return False
    b = conn.backend.name
    if b == "sqlite":
        if row.host != platform.node()[:255] or row.pid <= 0:
            return False  # another host: its processes cannot be seen from here
        return not _pid_alive(row.pid)
    if live is None:
        live = live_connections(conn) or (set(), set())
    ids, users = live
    if row.connection_id in ids:
        return False
    if b == "mysql":
        me = database_user(conn).split("@")[0]
        owner = row.user.split("@")[0]
        # Without PROCESS the list holds only our own account's connections: judge only those.
        if owner != me and users <= {me}:
            return False
    return True


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, under another user
    return True


class JobTable(FreeTable):
    """``schema.jobs``: the reserved, error and ignore rows of every auto-populated table of a schema.

    Read it as any table (``schema.jobs & 'status="error"'``); delete rows to retry their keys:
    ``(schema.jobs & 'status="error"').delete()``.
    """

    def __init__(self, conn: Any, database: str) -> None:
        super().__init__(conn, f"`{database}`.`~jobs`")
        from ..schema import declare_hidden
        from ..sql import catalog

        try:
            declare_hidden(conn, database, "~jobs", JOBS_DEFINITION.format(database=database))
        except errors.DataJointError:
            # Workers starting together race to declare it; losing that race is fine.
            catalog.invalidate(conn, database)
            if "~jobs" not in catalog.load_schema(conn, database):
                raise

    def _reservations(self, table_name: str) -> Reservations:
        return Reservations(self.connection, self.database, table_name)

    def reserve(self, table_name: str, key: dict[str, Any]) -> bool:
        """Reserve ``key`` of ``table_name``; False when its row exists (taken, error or ignore)."""
        return self._reservations(table_name).reserve(key)

    def complete(self, table_name: str, key: dict[str, Any]) -> None:
        self._reservations(table_name).complete(key)

    def error(self, table_name: str, key: dict[str, Any], error_message: str,
              error_stack: str | None = None) -> None:
        self._reservations(table_name).error(key, error_message, error_stack)

    def ignore(self, table_name: str, key: dict[str, Any]) -> bool:
        return self._reservations(table_name).ignore(key)

    def clear_stale(self, table_name: str | None = None) -> int:
        """Delete the stale reservations (of one table, or of all); the number deleted."""
        names = [table_name] if table_name else sorted(set((self & 'status="reserved"').fetch("table_name")))
        return sum(len(self._reservations(n).clear_stale()) for n in names)

    @property
    def stale(self) -> Any:
        """The stale reservations, as a restriction of this table."""
        rows = (self & 'status="reserved"').fetch("table_name", "key_hash", "user", "host", "pid", "connection_id",
                                                  as_dict=True)
        live = live_connections(self.connection)
        keys = [{"table_name": r["table_name"], "key_hash": r["key_hash"]} for r in rows
                if is_stale(self.connection, JobRow(r["key_hash"], "reserved", r["user"] or "", r["host"] or "",
                                                    int(r["pid"] or 0), int(r["connection_id"] or 0)), live)]
        return self & keys

    def delete(self, *args: Any, **kwargs: Any) -> int:  # type: ignore[override]
        """Delete these job rows at once (no cascade, no prompt: nothing depends on them)."""
        return int(self.delete_quick(get_count=True) or 0)

    def drop(self, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
        self.drop_quick()


@dataclass
class JobEntry:
    """One reserved or error row, as ``labjoin jobs`` shows it."""

    schema: str
    table_name: str
    status: str
    key: Any
    first_line: str
    host: str
    pid: int
    timestamp: Any
    stale: bool = False


def jobs_overview(conn: Any, schemas: Iterable[str] | None = None) -> list[JobEntry]:
    """The reserved and error rows of every ``~jobs`` table (of ``schemas``), sorted by table.

    Reservations are marked ``stale`` by the rule in this module's docstring.
    """
    from ..sql import catalog

    names = list(schemas) if schemas is not None else catalog.list_schemas(conn)
    live = live_connections(conn)
    out: list[JobEntry] = []
    for schema in names:
        if "~jobs" not in catalog.load_schema(conn, schema, refresh=True):
            continue
        jobs = JobTable(conn, schema)
        rows = (jobs & 'status in ("reserved", "error")').fetch(
            "table_name", "key_hash", "status", "key", "error_message", "user", "host", "pid", "connection_id",
            "timestamp", as_dict=True, order_by=("table_name", "status", "timestamp"))
        for r in rows:
            message = str(r["error_message"] or "")
            row = JobRow(r["key_hash"], r["status"], str(r["user"] or ""), str(r["host"] or ""), int(r["pid"] or 0),
                         int(r["connection_id"] or 0))
            out.append(JobEntry(schema, r["table_name"], r["status"], r["key"],
                                message.splitlines()[0] if message else "", row.host, row.pid, r["timestamp"],
                                stale=is_stale(conn, row, live)))
    return out
