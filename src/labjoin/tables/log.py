"""The schema's ``~log`` table: DataJoint 0.14's event log, kept the same way on every backend.

DataJoint writes one row per event into ``~log`` of the schema concerned: ``created`` when it
creates the schema, ``Declared `schema`.`table``` when it declares a table, and the statement
text (cut to 255 characters) of each ``DELETE`` and ``DROP TABLE`` it runs. Events on hidden
tables (``~jobs``, ``~log`` itself) are not logged. labjoin writes the same events in the same
layout, so a schema looks the same to DataJoint whichever library worked on it; ``version``
names labjoin (``0.1.0lj``) where DataJoint writes ``0.14.10py``. Statement texts carry
placeholders where DataJoint would paste values: labjoin binds values and does not log them.

>>> schema.log.fetch("event")            # doctest: +SKIP
array(['created', 'Declared `lab`.`subject`', ...], dtype=object)
"""

from __future__ import annotations

import platform
from typing import Any

from .table import FreeTable

__all__ = ["LOG_DEFINITION", "LOG_VERSION", "LogTable", "ensure_log", "log_event"]

LOG_DEFINITION = """
# event logging table for `{database}`
id       :int unsigned auto_increment     # event order id
---
timestamp = CURRENT_TIMESTAMP : timestamp # event timestamp
version  :varchar(12)                     # datajoint version
user     :varchar(255)                    # user@host
host=""  :varchar(255)                    # system hostname
event="" :varchar(255)                    # event message
"""


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"{version('labjoin')}lj"[:12]
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "lj"


LOG_VERSION = _version()
EVENT_LENGTH = 255


def _has_log(conn: Any, schema: str) -> bool:
    from ..sql.catalog import load_schema

    return "~log" in load_schema(conn, schema)


def ensure_log(conn: Any, schema: str) -> bool:
    """Declare ``~log`` in ``schema`` unless it exists; False when that cannot happen now.

    DDL cannot run inside a transaction (MySQL would commit it), so a schema without a log
    gets one at the next event outside a transaction.
    """
    if conn._catalog_cache.get(("hidden", schema, "~log")) or _has_log(conn, schema):
        return True
    if conn.in_transaction:
        return False
    from ..schema import declare_hidden

    declare_hidden(conn, schema, "~log", LOG_DEFINITION.format(database=schema))
    return True


def _user(conn: Any) -> str:
    cache = conn._catalog_cache
    if "user" not in cache:
        cache["user"] = conn.get_user()
    return str(cache["user"])[:255]


def log_event(conn: Any, schema: str, event: str, *, table_name: str = "") -> None:
    """Append ``event`` to ``schema``'s ``~log`` (not for events on hidden ``~`` tables).

    Inside a transaction the row commits or rolls back with the change it records. A schema
    that has no ``~log`` yet and is inside a transaction is not logged (see ``ensure_log``).
    """
    if table_name.startswith("~") or not ensure_log(conn, schema):
        return
    b = conn.backend
    mark = "?" if b.name == "sqlite" else "%s"
    sql = (f"INSERT INTO {b.qtable(schema, '~log')} ({b.qident('version')}, {b.qident('user')}, "
           f"{b.qident('host')}, {b.qident('event')}) VALUES ({', '.join([mark] * 4)})")
    conn.query(sql, (LOG_VERSION, _user(conn), platform.node()[:255], event[:EVENT_LENGTH]))


class LogTable(FreeTable):
    """``schema.log``: the ``~log`` rows as a table; calling it logs an event, as in DataJoint."""

    def __init__(self, conn: Any, database: str) -> None:
        ensure_log(conn, database)
        super().__init__(conn, f"`{database}`.`~log`")

    def __call__(self, event: str) -> None:
        log_event(self.connection, self.database, event)

    def delete(self, *args: Any, **kwargs: Any) -> int:  # type: ignore[override]
        return int(self.delete_quick(get_count=True) or 0)
