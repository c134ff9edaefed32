"""``dj.import_``: load a bundle (or any labjoin SQLite database) into a database of any backend.

Schemas and tables missing in the target are declared from the bundle's definitions (same names,
tiers, types and keys); tables that exist must have the bundle's attributes. Rows are inserted
parents first, in one transaction, and rows whose primary key exists in the target are skipped,
so importing the same bundle twice, or two bundles that share upstream rows, is safe.

The row-moving helpers here serve both directions (``collect.py`` uses them to write bundles).
Values travel in their stored form where the backends agree: serialized blobs, attachments and
raw bytes are copied byte for byte (never unpacked and packed again), so a blob is identical in
the bundle and after import. Every other column is decoded with the source backend's codec and
encoded with the target's (a MySQL ``binary(16)`` uuid becomes a PostgreSQL ``uuid``, a MySQL
``datetime`` becomes SQLite text, ...).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import errors
from ..heading.codecs import column_decoder, encoder
from ..heading.heading import Heading
from ..heading.introspect import heading_from_catalog
from ..migrate.state import declaration_from_catalog
from ..sql import catalog
from .externals import handler as external_handler

__all__ = ["CHUNK", "ImportReport", "convert_rows", "fetch_by_keys", "import_", "insert_rows", "select_sql"]

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



@dataclass
class ImportReport:
    """Rows inserted and skipped (already present) per table, and the tables declared."""

    inserted: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)
    declared: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        lines = [f"{sum(self.inserted.values())} rows inserted, {sum(self.skipped.values())} already present; "
                 f"{len(self.declared)} tables declared"]
        lines += [f"  {name:50s} {self.inserted[name]:>8d} new {self.skipped[name]:>8d} present"
                  for name in self.inserted]
        return "\n".join(lines)


def _check_compatible(target: Any, bundle: Any, schema: str, table: str) -> None:
    """Refuse a target table that cannot take the bundle's rows as they are."""
    have = heading_from_catalog(target, schema, table)
    want = heading_from_catalog(bundle, schema, table)
    name = f"`{schema}`.`{table}`"
    missing = [n for n in want.names if n not in have]
    if missing:
        raise errors.MigrationError(
            f"{name} in the target has no attribute `{missing[0]}`, which the bundle's rows carry. Alter the "
            "table (Table.alter) or import into another database."
        )
    if have.primary_key != want.primary_key:
        raise errors.MigrationError(
            f"{name} has primary key ({', '.join(have.primary_key)}) in the target but "
            f"({', '.join(want.primary_key)}) in the bundle; the rows cannot be matched."
        )
    extra = [n for n in have.names if n not in want and not have[n].nullable and have[n].default is None]
    if extra:
        raise errors.MigrationError(
            f"{name} in the target requires `{extra[0]}`, which the bundle's rows do not have."
        )


def _reset_identity(target: Any, schema: str, table: str, heading: Any) -> None:
    """PostgreSQL identity columns: continue after the imported values, not from 1."""
    if target.backend.name != "postgresql":
        return
    b = target.backend
    for name in heading.names:
        if getattr(heading[name].type, "auto_increment", False):
            full = b.qtable(schema, table)
            target.query(f"SELECT setval(pg_get_serial_sequence(%s, %s), coalesce(max({b.qident(name)}), 0) + 1, "
                         f"false) FROM {full}", (full, name))


def import_(bundle: str | Path, connection: Any = None) -> ImportReport:
    """Load the bundle at ``bundle`` into ``connection`` (default: ``dj.conn()``).

    Returns
    -------
    ImportReport
        Rows inserted and skipped per ``schema.table``, and the tables that were declared.

    Raises
    ------
    MigrationError
        A table exists in the target with attributes or a key that the bundle's rows do not fit.
    """
    from ..connection.connection import Connection
    from ..connection.connection import conn as default_connection
    from ..schema import Schema, _run_ddl

    path = Path(bundle)
    if not path.is_file():
        raise errors.DataJointError(f"No bundle at {path}: give the path of a file written by dj.export().")
    target = connection if connection is not None else default_connection()
    if target.in_transaction:
        raise errors.TransactionError("import_() declares tables and cannot run inside a transaction.")
    source = Connection(f"sqlite:///{path}")
    report = ImportReport()
    try:
        deps = source.dependencies.load()
        order = deps.topo_sort()
        for node in order:  # refuse store-backed attributes before changing anything
            d = deps.nodes[node]
            external_handler(heading_from_catalog(source, d["schema"], d["table"]), node, target.backend.name)
        schemas: set[str] = set()
        for node in order:
            schema, table = deps.nodes[node]["schema"], deps.nodes[node]["table"]
            if schema not in schemas:
                Schema(schema, connection=target)
                schemas.add(schema)
            if table in catalog.load_schema(target, schema, refresh=True):
                _check_compatible(target, source, schema, table)
            else:
                _run_ddl(target, declaration_from_catalog(source, schema, table))
                report.declared.append(f"{schema}.{table}")
        with target.transaction:
            for node in order:
                _copy_table(source, target, deps.nodes[node]["schema"], deps.nodes[node]["table"], path, report)
    finally:
        source.close()
    return report


def _copy_table(source: Any, target: Any, schema: str, table: str, path: Path, report: ImportReport) -> None:
    heading = heading_from_catalog(source, schema, table)
    names = heading.names
    pk = heading.primary_key
    b = target.backend
    count = f"SELECT count(*) FROM {b.qtable(schema, table)}"
    before = int(target.query(count).fetchone()[0])
    total = 0
    handler = external_handler(heading, f"`{schema}`.`{table}`", b.name)
    cur = source.query(select_sql(source, schema, table, names))
    while rows := cur.fetchmany(CHUNK):
        rows = [tuple(r) for r in rows]
        if handler is not None:
            handler.import_objects(source, target, schema, heading, rows)
        insert_rows(target, schema, table, names, pk, convert_rows(rows, heading, names, "sqlite", b.name))
        total += len(rows)
    inserted = int(target.query(count).fetchone()[0]) - before
    key = f"{schema}.{table}"
    report.inserted[key] = inserted
    report.skipped[key] = total - inserted
    if inserted:
        _reset_identity(target, schema, table, heading)
