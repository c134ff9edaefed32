"""MySQL/MariaDB's ``max_allowed_packet``: refuse a statement the server would drop the connection for.

The server rejects any statement longer than its ``max_allowed_packet`` (16 MiB by default on
MariaDB 10.11, 64 MiB on MySQL 8) by closing the connection, which the client reports as "MySQL
server has gone away" (error 2006) in the middle of sending: the transaction is lost with it and
nothing says which value was too large. PyMySQL writes ``bytes`` parameters into the statement as
hexadecimal (``X'..'``), twice their size, so a 9 MB blob already exceeds the default.

:func:`check_rows` runs before an insert or update is sent. It looks only at columns that can
hold large values, does arithmetic on lengths (no copies) and measures a statement exactly only
when it could come near the limit; a row that does not fit raises ``DataError`` saying how to raise
the limit or where to keep the value instead. labjoin does not split values into chunks: DataJoint
could not read them.
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from typing import Any

from .. import errors

__all__ = ["check_rows", "max_allowed_packet", "statement_size"]

# Categories whose values can be megabytes long; other columns add a few bytes each.
_LARGE = frozenset({"BLOB", "BYTES", "ATTACH", "TEXT", "JSON", "VARCHAR", "CHAR", "COMPUTED"})
_OVERHEAD = 64  # per value: quotes, separators, _binary prefixes, numbers
_MIB = 2**20
_SERVER_MAX = 2**30  # the largest max_allowed_packet MySQL and MariaDB accept
_SPECIAL = (b"\0", b"'", b'"', b"\\", b"\n", b"\r", b"\x1a")  # bytes C clients escape with a backslash


_limits: weakref.WeakKeyDictionary[Any, int] = weakref.WeakKeyDictionary()


def max_allowed_packet(conn: Any) -> int:
    """The session's ``max_allowed_packet`` (fixed when the session starts; read once per session)."""
    raw = conn.raw  # a reconnection (lost connection, fork) is a new session with its own value
    limit = _limits.get(raw)
    if limit is None:
        limit = _limits[raw] = int(conn.query("SELECT @@max_allowed_packet").fetchone()[0])
    return limit


def _hex_driver(conn: Any) -> bool:
    """Whether the driver sends bytes as hex (PyMySQL) rather than backslash-escaped (mysqlclient)."""
    return type(conn.raw).__module__.startswith("pymysql")


def _value_size(v: Any, hex_bytes: bool) -> int:
    if isinstance(v, (bytes, bytearray, memoryview)):
        n = memoryview(v).nbytes
        if hex_bytes:
            return 2 * n + _OVERHEAD
        data = bytes(v)
        return n + sum(data.count(c) for c in _SPECIAL) + _OVERHEAD
    if isinstance(v, str):
        from pymysql.converters import escape_string

        return len(escape_string(v).encode("utf-8", "surrogateescape")) + _OVERHEAD
    return _OVERHEAD


def statement_size(conn: Any, sql: str, row: Sequence[Any]) -> int:
    """The bytes the driver sends for ``sql`` with the parameters ``row`` (exact up to a few bytes)."""
    hex_bytes = _hex_driver(conn)
    return len(sql.encode()) + sum(_value_size(v, hex_bytes) for v in row)


def _rough(v: Any) -> int:
    if isinstance(v, (bytes, bytearray, str)):
        return len(v)
    if isinstance(v, memoryview):
        return v.nbytes
    return 0


def check_rows(conn: Any, table: Any, sql: str, fields: Sequence[str] | None,
               rows: Sequence[Sequence[Any]]) -> None:
    """Raise ``DataError`` for the first row whose statement exceeds the server's packet limit.

    Parameters
    ----------
    conn
        A MySQL connection.
    table
        The table written (for the message and the column types).
    sql
        The single-row statement.
    fields
        The attribute of each value in a row, or None to consider every value.
    rows
        The encoded rows.
    """
    if not rows:
        return
    if fields is None:
        idx = list(range(len(rows[0])))
    else:
        heading = table.heading
        idx = [i for i, f in enumerate(fields) if heading[f].category in _LARGE and not heading[f].is_external]
    if not idx:
        return
    limit = max_allowed_packet(conn)
    # Fast path: even with every byte doubled (hex, escapes) the row stays far below the limit.
    budget = (limit - len(sql) - _OVERHEAD * len(rows[0])) // 4
    for n, row in enumerate(rows):
        if sum(_rough(row[i]) for i in idx) <= budget:
            continue
        size = statement_size(conn, sql, row)
        if size > limit:
            raise _too_large(conn, table, fields, row, n, size, limit)


def _too_large(conn: Any, table: Any, fields: Sequence[str] | None, row: Sequence[Any], n: int, size: int,
               limit: int) -> errors.DataError:
    where = f"`{table.database}`.`{table.table_name}`"
    biggest = ""
    if fields is not None:
        name, value = max(zip(fields, row), key=lambda fv: _rough(fv[1]))
        biggest = f"; attribute `{name}` alone holds {_rough(value) / _MIB:.1f} MiB"
    hexnote = " (PyMySQL sends bytes as hexadecimal, twice their size)" if _hex_driver(conn) else ""
    wanted = 1 << max(size + _MIB, 1).bit_length()
    if wanted <= _SERVER_MAX:
        raise_it = (f"raise the server's limit: SET GLOBAL max_allowed_packet = {wanted} (needs the SUPER or "
                    f"SYSTEM_VARIABLES_ADMIN privilege; new connections use it), and set max_allowed_packet = "
                    f"{wanted // _MIB}M under [mysqld] in the server's configuration to keep it after a restart; or ")
    else:
        raise_it = "no server accepts a statement this large, so "
    return errors.DataError(
        f"Row {n} of the write to {where} needs a {size / _MIB:.1f} MiB statement{hexnote}{biggest}, but this "
        f"MySQL/MariaDB server accepts at most {limit / _MIB:.1f} MiB (max_allowed_packet). Sending it would drop "
        f"the connection ('server has gone away'), so nothing was sent. To store it, {raise_it}keep large values "
        "in an object store: declare the attribute as blob@store (DataJoint 0.14) or <blob@store> (2.x), with "
        "the store configured in dj.config['stores']."
    )
