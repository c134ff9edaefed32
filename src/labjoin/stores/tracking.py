"""DataJoint 0.14's ``~external_<store>`` tracking tables: which objects a schema keeps in a store.

Every schema that has ``blob@store``, ``attach@store`` or ``filepath@store`` columns has one
tracking table per store, declared exactly as DataJoint declares it (same columns, types, comments
and table comment), and each such column has a foreign key to its ``hash`` column (``ON UPDATE
RESTRICT ON DELETE RESTRICT``). So DataJoint reads labjoin's stores and labjoin reads DataJoint's,
and the database itself refuses to drop the record of an object a row still uses.

Writes follow one order so that garbage collection can never remove an object a row is about to
use: the tracking row is written (or its timestamp refreshed) *before* the object is uploaded and
before the referencing row is inserted; a collector deletes tracking rows one by one, each only
while no row references it, and removes the object while it still holds the row's lock.

:class:`ExternalTable` is ``schema.external[store]`` with DataJoint's API (``unused()``,
``used()``, ``delete(delete_external_files=...)``, ``fetch_external_paths()``, ``references``).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from .. import errors
from ..tables.table import FreeTable
from . import layout
from .registry import store_for

__all__ = ["TRACKING_DEFINITION", "ExternalMapping", "ExternalTable", "Reference", "TrackRow",
           "declare_tracking", "lookup", "references", "tracking_table", "upsert"]

TRACKING_PREFIX = "~external_"

# DataJoint 0.14's definition, column for column (datajoint/external.py, ExternalTable.definition).
TRACKING_DEFINITION = """
# external storage tracking
hash  : uuid    #  hash of contents (blob), of filename + contents (attach), or relative filepath (filepath)
---
size      :bigint unsigned     # size of object in bytes
attachment_name=null : varchar(255)  # the filename of an attachment
filepath=null : varchar(1000)  # relative filepath or attachment filename
contents_hash=null : uuid      # used for the filepath datatype
timestamp=CURRENT_TIMESTAMP  :timestamp   # automatic timestamp
"""

_COLUMNS = ("hash", "size", "attachment_name", "filepath", "contents_hash")
_CHUNK = 500  # hashes per IN list


@dataclass(frozen=True)
class TrackRow:
    """One row of a tracking table: an object and what names it."""

    hash: uuid.UUID
    size: int
    attachment_name: str | None = None
    filepath: str | None = None
    contents_hash: uuid.UUID | None = None

    def key(self, schema: str, subfolding: Sequence[int]) -> str:
        """Where the object lives, relative to the store's location."""
        if self.attachment_name:
            return layout.attachment_key(schema, self.hash, self.attachment_name, subfolding)
        if self.filepath:
            return layout.filepath_key(self.filepath)
        return layout.blob_key(schema, self.hash, subfolding)


@dataclass(frozen=True)
class Reference:
    """A column whose values are hashes in a tracking table."""

    schema: str
    table: str
    column: str


def tracking_table(store: str) -> str:
    return TRACKING_PREFIX + store


def declare_tracking(conn: Any, schema: str, store: str) -> None:
    """Declare ``schema.~external_<store>`` unless it exists (once per connection)."""
    from ..schema import declare_hidden

    declare_hidden(conn, schema, tracking_table(store), TRACKING_DEFINITION)


def to_param(conn: Any, value: uuid.UUID | None) -> Any:
    """A UUID as the driver stores it: ``uuid`` on PostgreSQL, 16 bytes elsewhere."""
    if value is None:
        return None
    return value if conn.backend.name == "postgresql" else value.bytes


def to_uuid(value: Any) -> uuid.UUID | None:
    """A fetched hash (16 bytes, or a UUID from PostgreSQL) as a UUID."""
    if value is None or isinstance(value, uuid.UUID):
        return value
    return uuid.UUID(bytes=bytes(value))


def _sql(conn: Any) -> tuple[Any, str]:
    b = conn.backend
    return b, "?" if b.name == "sqlite" else "%s"


def upsert(conn: Any, schema: str, store: str, rows: Iterable[TrackRow]) -> None:
    """Record objects in the tracking table; an existing row gets a fresh timestamp (as DataJoint)."""
    rows = list({r.hash: r for r in rows}.values())
    if not rows:
        return
    declare_tracking(conn, schema, store)
    b, ph = _sql(conn)
    q = b.qident
    cols = ", ".join(q(c) for c in _COLUMNS)
    sql = f"INSERT INTO {b.qtable(schema, tracking_table(store))} ({cols}) VALUES ({', '.join([ph] * 5)}) "
    if b.name == "mysql":
        sql += f"ON DUPLICATE KEY UPDATE {q('timestamp')} = CURRENT_TIMESTAMP"
    else:
        sql += f"ON CONFLICT ({q('hash')}) DO UPDATE SET {q('timestamp')} = CURRENT_TIMESTAMP"
    values = [(to_param(conn, r.hash), r.size, r.attachment_name, r.filepath, to_param(conn, r.contents_hash))
              for r in rows]
    if len(values) > 1:
        conn.query(sql, values, many=True)
    else:
        conn.query(sql, values[0])


def lookup(conn: Any, schema: str, store: str, hashes: Iterable[uuid.UUID]) -> dict[uuid.UUID, TrackRow]:
    """The tracking rows of ``hashes`` (those that exist), by hash."""
    wanted = sorted(set(hashes), key=lambda h: h.hex)
    if not wanted:
        return {}
    declare_tracking(conn, schema, store)
    b, ph = _sql(conn)
    cols = ", ".join(b.qident(c) for c in _COLUMNS)
    full = b.qtable(schema, tracking_table(store))
    out: dict[uuid.UUID, TrackRow] = {}
    for i in range(0, len(wanted), _CHUNK):
        part = wanted[i: i + _CHUNK]
        sql = f"SELECT {cols} FROM {full} WHERE {b.qident('hash')} IN ({', '.join([ph] * len(part))})"
        for h, size, name, path, contents in conn.query(sql, [to_param(conn, x) for x in part]).fetchall():
            row = TrackRow(to_uuid(h), int(size), name, path, to_uuid(contents))  # type: ignore[arg-type]
            out[row.hash] = row
    return out


def references(conn: Any, schema: str, store: str) -> list[Reference]:
    """Every column that holds hashes of ``schema.~external_<store>``.

    These are the columns with a foreign key to the tracking table (what DataJoint looks up in
    ``information_schema``), plus, in the same schema, any ``blob@store``/``attach@store``/
    ``filepath@store`` column that lacks one, so an object is never judged unused because a
    foreign key is missing.
    """
    from ..heading.introspect import heading_from_catalog
    from ..sql.catalog import list_schemas, load_schema

    target = tracking_table(store)
    found: dict[tuple[str, str, str], Reference] = {}
    for s in list_schemas(conn):
        try:
            infos = load_schema(conn, s)
        except errors.AccessError:
            continue  # an account that cannot read a schema cannot have written rows there either
        for name, info in infos.items():
            for fk in info.foreign_keys:
                if fk.parent_schema == schema and fk.parent_table == target:
                    for child, _ in fk.attr_map:
                        found[(s, name, child)] = Reference(s, name, child)
    for name in load_schema(conn, schema):
        if name.startswith("~"):
            continue
        for a in heading_from_catalog(conn, schema, name).attributes.values():
            t = a.type
            if t is not None and t.store == store and t.codec is None:
                found.setdefault((schema, name, a.name), Reference(schema, name, a.name))
    return sorted(found.values(), key=lambda r: (r.schema, r.table, r.column))


def _not_referenced(conn: Any, full: str, refs: Sequence[Reference]) -> str:
    b = conn.backend
    return " AND ".join(
        f"NOT EXISTS (SELECT 1 FROM {b.qtable(r.schema, r.table)} WHERE {b.qtable(r.schema, r.table)}."
        f"{b.qident(r.column)} = {full}.{b.qident('hash')})" for r in refs
    )


def _older_than(conn: Any, seconds: float) -> tuple[str, Any]:
    """A condition on the tracking row's timestamp (server clock), with its parameter."""
    b, ph = _sql(conn)
    col = b.qident("timestamp")
    if b.name == "mysql":
        return f"{col} <= NOW() - INTERVAL {ph} SECOND", seconds
    if b.name == "postgresql":
        return f"{col} <= LOCALTIMESTAMP - {ph} * INTERVAL '1 second'", seconds
    return f"{col} <= datetime('now', {ph})", f"-{float(seconds)} seconds"


def unused_rows(conn: Any, schema: str, store: str, *, min_age: float = 0,
                limit: int | None = None) -> list[TrackRow]:
    """Tracking rows no column references (and, with ``min_age``, older than that many seconds)."""
    declare_tracking(conn, schema, store)
    b, _ = _sql(conn)
    full = b.qtable(schema, tracking_table(store))
    where = [_not_referenced(conn, full, references(conn, schema, store))]
    params: list[Any] = []
    if min_age > 0:
        cond, param = _older_than(conn, min_age)
        where.append(cond)
        params.append(param)
    clause = " AND ".join(w for w in where if w) or "1=1"
    cols = ", ".join(f"{full}.{b.qident(c)}" for c in _COLUMNS)
    sql = f"SELECT {cols} FROM {full} WHERE {clause} ORDER BY {full}.{b.qident('hash')}"
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    return [TrackRow(to_uuid(h), int(size), name, path, to_uuid(c))  # type: ignore[arg-type]
            for h, size, name, path, c in conn.query(sql, params).fetchall()]


def delete_rows(conn: Any, schema: str, store: str, rows: Iterable[TrackRow]) -> Iterator[TrackRow]:
    """Delete each row that is still unreferenced; yield those deleted.

    Must run inside a transaction: a deleted row stays locked until the caller commits, so an
    insert that wants the same object waits, then writes the row again and uploads the object
    again if the caller removed it. A row a concurrent insert has started to use is kept: the
    ``NOT EXISTS`` test or, at the latest, the foreign key refuses its deletion.
    """
    if not conn.in_transaction:
        raise errors.TransactionError("delete_rows must run inside a transaction (see its docstring).")
    b, ph = _sql(conn)
    full = b.qtable(schema, tracking_table(store))
    refs = references(conn, schema, store)
    guard = _not_referenced(conn, full, refs)
    sql = f"DELETE FROM {full} WHERE {full}.{b.qident('hash')} = {ph}" + (f" AND {guard}" if guard else "")
    for row in rows:
        try:
            with conn.transaction:  # a savepoint: a refused delete leaves the others standing
                deleted = conn.query(sql, (to_param(conn, row.hash),)).rowcount
        except errors.IntegrityError:
            continue  # referenced since it was listed: it stays, which is the point
        if deleted:
            yield row


def remove_objects(store: Any, keys: Sequence[str]) -> list[tuple[str, str]]:
    """Remove objects in parallel; ``(key, error message)`` for each that could not be removed."""
    def one(key: str) -> tuple[str, str] | None:
        try:
            store.remove(key)
        except errors.StoreError as e:
            return key, str(e)
        return None

    if not keys:
        return []
    with ThreadPoolExecutor(max_workers=max(1, min(store.max_workers, len(keys)))) as pool:
        return [r for r in pool.map(one, keys) if r is not None]


class ExternalTable(FreeTable):
    """``schema.external[store]``: the tracking table of one store, with DataJoint's API."""

    def __init__(self, conn: Any, store: str, database: str) -> None:
        declare_tracking(conn, database, store)
        super().__init__(conn, f"`{database}`.`{tracking_table(store)}`")
        self.store = store

    def __repr__(self) -> str:
        return f"ExternalTable({self.store!r}) of schema `{self.database}`"

    @property
    def spec(self) -> dict[str, Any]:
        """The store's configuration (``dj.config['stores'][store]``, checked)."""
        return store_for(self.store).spec.to_dict()

    @property
    def references(self) -> list[dict[str, str]]:
        """The referencing columns, as DataJoint reports them."""
        return [{"referencing_table": f"`{r.schema}`.`{r.table}`", "column_name": r.column}
                for r in references(self.connection, self.database, self.store)]

    def _referenced(self) -> list[Any]:
        from ..tables.query import U

        out = []
        for r in references(self.connection, self.database, self.store):
            table = FreeTable(self.connection, f"`{r.schema}`.`{r.table}`")
            out.append((U(r.column) & table).proj(hash=r.column))
        return out

    def unused(self) -> Any:
        """The rows no column references (a query; fetch it, or pass it to ``delete``)."""
        q: Any = self
        for ref in self._referenced():
            q = q - ref
        return q

    def used(self) -> Any:
        """The rows some column references."""
        return self & self._referenced()

    def fetch_external_paths(self, **fetch_kwargs: Any) -> list[tuple[uuid.UUID, str]]:
        """``(hash, full store path)`` of every row of this (restricted) table."""
        store = store_for(self.store)
        fetch_kwargs.update(as_dict=True)
        out = []
        for item in self.fetch("hash", "size", "attachment_name", "filepath", **fetch_kwargs):
            row = TrackRow(item["hash"], int(item["size"]), item["attachment_name"], item["filepath"])
            out.append((row.hash, store.path(row.key(self.database, store.spec.subfolding))))
        return out

    def delete(self, *, delete_external_files: bool | None = None, limit: int | None = None,
               display_progress: bool = True, min_age: float = 0) -> list[tuple[uuid.UUID, str, str]]:
        """Delete the unused rows and (with ``delete_external_files=True``) their objects.

        Parameters
        ----------
        delete_external_files
            True: remove the objects too; False: only the tracking rows. Required, as in DataJoint.
        limit
            At most this many rows.
        display_progress
            Show a progress bar while objects are removed.
        min_age
            Keep rows written or refreshed less than this many seconds ago (an insert may still be
            on its way to using them).

        Returns
        -------
        list
            ``(hash, path, error message)`` for each object that could not be removed (its row is
            gone; ``labjoin gc`` removes such untracked objects later).
        """
        if delete_external_files not in (True, False):
            raise errors.DataJointError(
                "The delete_external_files argument must be set to either True or False in delete()."
            )
        from .gc import protected_keys

        conn = self.connection
        rows = unused_rows(conn, self.database, self.store, min_age=min_age, limit=limit)
        if not rows:
            return []
        store = store_for(self.store) if delete_external_files else None
        failures: list[tuple[uuid.UUID, str, str]] = []
        with conn.transaction:
            deleted = list(_progress(delete_rows(conn, self.database, self.store, rows), len(rows),
                                     display_progress and delete_external_files))
            if store is not None and deleted:
                by_key = {r.key(self.database, store.spec.subfolding): r for r in deleted}
                keep = protected_keys(conn, store, list(by_key))
                for key, message in remove_objects(store, [k for k in by_key if k not in keep]):
                    failures.append((by_key[key].hash, store.path(key), message))
        return failures


def _progress(items: Iterator[TrackRow], total: int, show: bool) -> Iterator[TrackRow]:
    if not show:
        return items
    from tqdm.auto import tqdm

    return iter(tqdm(items, total=total, desc="external objects", unit="obj"))


class ExternalMapping(Mapping[str, ExternalTable]):
    """``schema.external``: the tracking tables of a schema by store name (created on first use)."""

    def __init__(self, schema: Any) -> None:
        self.schema = schema
        self._tables: dict[str, ExternalTable] = {}

    def __repr__(self) -> str:
        lines = [f"External file tables for schema `{self.schema.database}`:"]
        lines += [f'    "{k}" {store_for(k).spec.protocol}:{store_for(k).root}' for k in self]
        return "\n".join(lines)

    def __getitem__(self, store: str) -> ExternalTable:
        if store not in self._tables:
            self._tables[store] = ExternalTable(self.schema.connection, store, self.schema.database)
        return self._tables[store]

    def _declared(self) -> list[str]:
        from ..sql.catalog import load_schema

        names = load_schema(self.schema.connection, self.schema.database)
        return sorted(n[len(TRACKING_PREFIX):] for n in names if n.startswith(TRACKING_PREFIX))

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(set(self._declared()) | set(self._tables)))

    def __len__(self) -> int:
        return len(set(self._declared()) | set(self._tables))
