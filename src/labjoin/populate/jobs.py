"""The schema's ``~jobs`` table (DataJoint 0.14's layout, so DataJoint workers and ours interoperate).

A key is reserved by inserting its row: the primary key (table name, key hash) makes the insert
atomic on every backend, so two workers can never run ``make`` for the same key.
"""

from __future__ import annotations

import hashlib
import os
import platform
from typing import Any

from .. import errors
from ..tables.table import FreeTable

__all__ = ["JOBS_DEFINITION", "JobTable", "key_hash"]

JOBS_DEFINITION = """
# the job reservation table for the schema
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


def key_hash(mapping: dict[str, Any]) -> str:
    """DataJoint's key hash: md5 over str() of the key's values, sorted by attribute name."""
    h = hashlib.md5()
    for _, v in sorted(mapping.items()):
        h.update(str(v).encode())
    return h.hexdigest()


class JobTable(FreeTable):
    """``schema.jobs``: reserved, error and ignore rows of every auto-populated table of the schema."""

    def __init__(self, conn: Any, database: str) -> None:
        super().__init__(conn, f"`{database}`.`~jobs`")
        from ..schema import declare_hidden

        declare_hidden(conn, database, "~jobs", JOBS_DEFINITION)

    def _row(self, table_name: str, key: dict[str, Any], status: str, **extra: Any) -> dict[str, Any]:
        conn = self.connection
        return dict(table_name=table_name, key_hash=key_hash(key), status=status, key=dict(key),
                    user=_user(conn), host=platform.node()[:255], pid=os.getpid(),
                    connection_id=conn.connection_id, **extra)

    def reserve(self, table_name: str, key: dict[str, Any]) -> bool:
        """Reserve ``key``; False when another worker holds it (or it errored, or is ignored)."""
        try:
            self.insert1(self._row(table_name, key, "reserved"))
        except errors.DuplicateError:
            return False
        return True

    def complete(self, table_name: str, key: dict[str, Any]) -> None:
        (self & {"table_name": table_name, "key_hash": key_hash(key)}).delete_quick()

    def error(self, table_name: str, key: dict[str, Any], message: str, stack: str = "") -> None:
        if len(message) > 2047:
            message = message[:2030] + "...truncated"
        self.insert1(self._row(table_name, key, "error", error_message=message, error_stack=stack),
                     replace=True)

    def ignore(self, table_name: str, key: dict[str, Any]) -> bool:
        try:
            self.insert1(self._row(table_name, key, "ignore"))
        except errors.DuplicateError:
            return False
        return True

    def delete(self, *args: Any, **kwargs: Any) -> int:  # type: ignore[override]
        kwargs.setdefault("safemode", False)
        return super().delete(*args, **kwargs)


def _user(conn: Any) -> str:
    cache = conn._catalog_cache
    if "user" not in cache:
        cache["user"] = conn.get_user()
    return str(cache["user"])[:255]
