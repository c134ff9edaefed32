"""Moving rows between databases: read raw rows in chunks, convert each column between backends,
insert while skipping rows that exist.

Values travel in their stored form where the backends agree: serialized blobs, attachments and
raw bytes are copied byte for byte (never unpacked and packed again), so a blob is identical in
the bundle and after import. Every other column is decoded with the source backend's codec and
encoded with the target's (a MySQL ``binary(16)`` uuid becomes a PostgreSQL ``uuid``, a MySQL
``datetime`` becomes SQLite text, ...).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from ..heading.codecs import column_decoder, encoder
from ..heading.heading import Heading

__all__ = ["CHUNK", "convert_rows", "fetch_by_keys", "insert_rows", "placeholder", "select_sql"]

CHUNK = 500  # keys per SELECT and rows per executemany: well under every backend's parameter limit

_RAW = ("BLOB", "ATTACH", "BYTES")


def placeholder(conn: Any) -> str:
    return "?" if conn.backend.name == "sqlite" else "%s"


def select_sql(conn: Any, schema: str, table: str, names: Sequence[str]) -> str:
    b = conn.backend
    return f"SELECT {', '.join(b.qident(n) for n in names)} FROM {b.qtable(schema, table)}"


def fetch_by_keys(conn: Any, schema: str, table: str, names: Sequence[str], key_names: Sequence[str],
                  keys: Sequence[tuple[Any, ...]]) -> Iterator[list[tuple[Any, ...]]]:
    """The rows of ``table`` whose ``key_names`` equal one of ``keys``, a chunk at a time.

    ``keys`` hold raw values as this connection's driver returned them, so they bind back unchanged.
    """
    b = conn.backend
    ph = placeholder(conn)
    base = select_sql(conn, schema, table, names)
    cols = [b.qident(k) for k in key_names]
    for i in range(0, len(keys), CHUNK):
        chunk = keys[i: i + CHUNK]
        if len(cols) == 1:
            where = f"{cols[0]} IN ({', '.join([ph] * len(chunk))})"
            params: list[Any] = [k[0] for k in chunk]
        else:
            one = "(" + " AND ".join(f"{c} = {ph}" for c in cols) + ")"
            where = " OR ".join([one] * len(chunk))
            params = [v for k in chunk for v in k]
        rows = conn.query(f"{base} WHERE {where}", tuple(params)).fetchall()
        if rows:
            yield [tuple(r) for r in rows]


def convert_rows(rows: list[tuple[Any, ...]], heading: Heading, names: Sequence[str], source: str,
                 target: str) -> list[tuple[Any, ...]]:
    """Raw rows from a ``source`` backend as driver values for a ``target`` backend."""
    columns = list(zip(*rows)) if rows else [() for _ in names]
    out = []
    for name, values in zip(names, columns):
        a = heading[name]
        if a.category in _RAW and not a.is_external:
            out.append([None if v is None else bytes(v) for v in values])
            continue
        if a.is_external:  # the stored reference, not the object: never fetch from the store here
            out.append(_reference(a, values, target))
            continue
        decode = column_decoder(a, source)
        decoded = decode(list(values)) if decode is not None else list(values)
        enc = encoder(a, target)
        out.append([enc(v) for v in decoded])
    return list(zip(*out))


def _reference(a: Any, values: Sequence[Any], target: str) -> list[Any]:
    """Store references as the target stores them: 0.14 hashes are uuids, 2.x values JSON text."""
    import json
    import uuid

    if getattr(a.type, "codec", None) is None:
        uuids = [None if v is None else v if isinstance(v, uuid.UUID) else uuid.UUID(bytes=bytes(v)) for v in values]
        return [None if u is None else u if target == "postgresql" else u.bytes for u in uuids]
    return [None if v is None else v if isinstance(v, str) else json.dumps(v) for v in values]


def insert_rows(conn: Any, schema: str, table: str, names: Sequence[str], primary_key: Sequence[str],
                rows: list[tuple[Any, ...]]) -> None:
    """Insert ``rows`` (driver values), skipping any whose primary key (or unique value) exists."""
    if not rows:
        return
    b = conn.backend
    ph = placeholder(conn)
    cols = ", ".join(b.qident(n) for n in names)
    sql = f"INSERT INTO {b.qtable(schema, table)} ({cols}) VALUES ({', '.join([ph] * len(names))})"
    if b.name == "mysql":
        k = b.qident(primary_key[0])
        sql += f" ON DUPLICATE KEY UPDATE {k} = {k}"
    else:
        sql += " ON CONFLICT DO NOTHING"
    for i in range(0, len(rows), CHUNK):
        conn.query(sql, rows[i: i + CHUNK], many=True)
