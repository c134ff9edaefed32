"""Garbage collection: remove stored objects that no row of any table references any more.

Deleting rows leaves their objects in the store (other rows may share them: identical content is
stored once). :func:`collect_garbage` finds, for one schema, every object no row of any table in
the database uses, and removes it:

1. **tracked 0.14 objects**: rows of ``~external_<store>`` no column references, with their
   objects (deleted row by row under the row's lock, see :mod:`labjoin.stores.tracking`);
2. **untracked 0.14 objects**: files under ``<location>/<schema>/`` in DataJoint's layout whose
   hash no tracking table of the schema records (left by a failed delete or a crashed upload);
3. **2.x objects**: files under ``_hash/<schema>/`` and ``_schema/<schema>/`` that no JSON
   metadata of a ``<blob@>``, ``<attach@>``, ``<hash@>``, ``<object@>`` or ``<npy@>`` column names.

An object is kept when any row uses it by any route: through another schema's tracking table (a
``filepath@`` file is shared by every schema that records the same relative path), through
another store configured on the same location, or through a 2.x ``<filepath@>`` column. Objects
younger than ``min_age`` seconds are kept too: an insert uploads its object before its row is
committed (2.x always; DataJoint 0.14 too), so a young unreferenced object may be about to be
used. Run ``labjoin gc --dry-run`` to see what would go.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .. import errors
from . import tracking
from .layout import filepath_uuid
from .objects import HASH_PREFIX, SCHEMA_PREFIX
from .registry import store_for
from .store import Store

__all__ = ["GcReport", "StoreReport", "collect_garbage", "protected_keys"]

_HEX_KEY = re.compile(r"(?:[^/]+/)*([0-9a-f]{32})(?:\.[^/]+)?\Z")


@dataclass
class StoreReport:
    """What collection did (or, in a dry run, would do) in one store for one schema."""

    store: str
    tracked_rows: int = 0  # unused ~external_ rows removed
    objects: list[str] = field(default_factory=list)  # keys removed (relative to the location)
    bytes: int = 0  # size of the removed objects, where known
    kept_young: int = 0  # unreferenced but younger than min_age
    kept_shared: int = 0  # unused here but used through another route
    errors: list[tuple[str, str]] = field(default_factory=list)  # (key or store, message)


@dataclass
class GcReport:
    schema: str
    dry_run: bool
    stores: list[StoreReport] = field(default_factory=list)

    @property
    def removed(self) -> int:
        return sum(len(s.objects) for s in self.stores)

    @property
    def failed(self) -> bool:
        return any(s.errors for s in self.stores)

    def summary(self) -> str:
        verb = "would remove" if self.dry_run else "removed"
        lines = []
        for s in self.stores:
            lines.append(f"store '{s.store}': {verb} {len(s.objects)} object(s) ({s.bytes / 2**20:.1f} MiB) and "
                         f"{s.tracked_rows} tracking row(s); kept {s.kept_young} too young, {s.kept_shared} "
                         "used elsewhere")
            lines += [f"  error: {key}: {msg}" for key, msg in s.errors]
        return "\n".join(lines) or f"schema `{self.schema}`: no store to collect"


def _root(store: Store) -> tuple[str, str | None, str]:
    return store.spec.protocol, store.spec.endpoint, store.root


def _configured() -> list[str]:
    from ..settings import config

    stores = config.get("stores") or {}
    return sorted(k for k, v in stores.items() if isinstance(v, dict) or hasattr(v, "keys"))


def _tracking_tables(conn: Any, schema: str) -> list[str]:
    from ..sql.catalog import load_schema

    names = load_schema(conn, schema, refresh=True)
    return sorted(n[len(tracking.TRACKING_PREFIX):] for n in names if n.startswith(tracking.TRACKING_PREFIX))


def _v2_columns(conn: Any) -> Iterable[tuple[str, str, str, str | None]]:
    """(schema, table, column, store name) of every 2.x store-backed column in the database."""
    from ..heading.introspect import heading_from_catalog
    from ..sql.catalog import list_schemas, load_schema

    for s in list_schemas(conn):
        try:
            infos = load_schema(conn, s)
        except errors.AccessError:
            continue
        for name in infos:
            if name.startswith("~"):
                continue
            for a in heading_from_catalog(conn, s, name).attributes.values():
                if a.type is not None and a.type.store is not None and a.type.codec is not None:
                    yield s, name, a.name, a.type.store or None


def _v2_referenced(conn: Any, root: tuple[str, str | None, str]) -> set[str]:
    """Every path a 2.x row names in a store on ``root``."""
    out: set[str] = set()
    b = conn.backend
    for s, table, col, declared in _v2_columns(conn):
        sql = f"SELECT {b.qident(col)} FROM {b.qtable(s, table)} WHERE {b.qident(col)} IS NOT NULL"
        for (value,) in conn.query(sql).fetchall():
            meta = json.loads(value) if isinstance(value, (str, bytes)) else value
            name = meta.get("store", declared)
            try:
                same = _root(store_for(name)) == root
            except errors.ConfigError:
                same = False  # a store this process does not configure cannot be the one collected
            if same and meta.get("path"):
                out.add(str(meta["path"]).lstrip("/"))
    return out


def protected_keys(conn: Any, store: Store, keys: Sequence[str]) -> set[str]:
    """Those of ``keys`` that a row still uses through another tracking table or a 2.x column."""
    if not keys:
        return set()
    root = _root(store)
    from ..sql.catalog import list_schemas

    wanted: dict[uuid.UUID, set[str]] = {}
    for key in keys:  # a key names its hash (blobs, attachments), or is a filepath's relative path
        m = _HEX_KEY.match(key)
        if m:
            wanted.setdefault(uuid.UUID(m.group(1)), set()).add(key)
        wanted.setdefault(filepath_uuid(key), set()).add(key)
    keep: set[str] = set()
    b = conn.backend
    ph = "?" if b.name == "sqlite" else "%s"
    for s in list_schemas(conn):
        for name in _tracking_tables(conn, s):
            try:
                other = store_for(name)
            except errors.ConfigError:
                continue
            if _root(other) != root:
                continue
            full = b.qtable(s, tracking.tracking_table(name))
            guard = tracking._not_referenced(conn, full, tracking.references(conn, s, name))
            if not guard:
                continue  # nothing references this table: it protects nothing
            hashes = list(wanted)
            for i in range(0, len(hashes), 500):
                part = hashes[i: i + 500]
                sql = (f"SELECT {b.qident('hash')}, {b.qident('attachment_name')}, {b.qident('filepath')} "
                       f"FROM {full} WHERE {b.qident('hash')} IN ({', '.join([ph] * len(part))}) AND NOT ({guard})")
                for h, att, path in conn.query(sql, [tracking.to_param(conn, x) for x in part]).fetchall():
                    row = tracking.TrackRow(tracking.to_uuid(h), 0, att, path)  # type: ignore[arg-type]
                    keep.add(row.key(s, other.spec.subfolding))
    keep |= _v2_referenced(conn, root) & set(keys)
    return keep & set(keys)


def _listing(store: Store, prefix: str) -> dict[str, float | None]:
    """Keys under ``prefix`` with their age in seconds (None when the store does not say)."""
    base = store.path(prefix)
    try:
        found = store.fs.find(base, detail=True)
    except FileNotFoundError:
        return {}
    except OSError as e:
        raise errors.StoreError(f"Store '{store.spec.name}': could not list {base}: {e}") from e
    root = store.fs._strip_protocol(store.root).rstrip("/") + "/" if store.root else ""
    now = time.time()
    out: dict[str, float | None] = {}
    for path, info in found.items():
        key = path[len(root):] if root and path.startswith(root) else path
        if ".saving-" in key or info.get("type") == "directory":
            continue
        stamp = info.get("mtime", info.get("LastModified"))
        if isinstance(stamp, dt.datetime):
            stamp = stamp.timestamp()
        out[key] = None if stamp is None else now - float(stamp)
    return out


def _old_enough(age: float | None, min_age: float) -> bool:
    return min_age <= 0 or (age is not None and age >= min_age)


def collect_garbage(conn: Any, schema: str, *, stores: Sequence[str] | None = None, dry_run: bool = False,
                    min_age: float = 0.0) -> GcReport:
    """Remove the objects of ``schema`` that no row references (see the module docstring).

    Parameters
    ----------
    conn
        A connection to the database (every schema in it is searched for references).
    schema
        The schema whose objects are collected.
    stores
        Store names to collect (default: every store configured in ``dj.config['stores']`` and
        every store the schema has a tracking table for).
    dry_run
        Report what would be removed and change nothing.
    min_age
        Keep objects (and tracking rows) younger than this many seconds.
    """
    from ..sql.catalog import schema_exists

    if not schema_exists(conn, schema):
        raise errors.MissingSchemaError(f"Schema `{schema}` does not exist; nothing to collect.")
    tracked = _tracking_tables(conn, schema)
    names = list(stores) if stores else sorted(set(_configured()) | set(tracked))
    report = GcReport(schema, dry_run)
    for name in names:
        part = StoreReport(name)
        report.stores.append(part)
        try:
            store = store_for(name)
            if name in tracked:  # only a store this schema tracks objects in holds its 0.14 objects
                _collect_tracked(conn, schema, name, store, part, dry_run, min_age)
                _collect_untracked(conn, schema, tracked, store, part, dry_run, min_age)
            _collect_v2(conn, schema, store, part, dry_run, min_age)
        except (errors.StoreError, errors.ConfigError) as e:
            part.errors.append((name, str(e)))
    return report


def _collect_tracked(conn: Any, schema: str, name: str, store: Store, part: StoreReport, dry_run: bool,
                     min_age: float) -> None:
    rows = tracking.unused_rows(conn, schema, name, min_age=min_age)
    if min_age > 0:
        part.kept_young += len(tracking.unused_rows(conn, schema, name)) - len(rows)
    if not rows:
        return
    folds = store.spec.subfolding
    if dry_run:
        keys = {r.key(schema, folds): r for r in rows}
        shared = protected_keys(conn, store, list(keys))
        part.tracked_rows += len(rows)
        part.kept_shared += len(shared)
        part.objects += [k for k in keys if k not in shared]
        part.bytes += sum(r.size for k, r in keys.items() if k not in shared)
        return
    with conn.transaction:
        deleted = list(tracking.delete_rows(conn, schema, name, rows))
        keys = {r.key(schema, folds): r for r in deleted}
        shared = protected_keys(conn, store, list(keys))
        todo = [k for k in keys if k not in shared]
        failed = dict(tracking.remove_objects(store, todo))
    part.tracked_rows += len(deleted)
    part.kept_shared += len(shared)
    part.objects += [k for k in todo if k not in failed]
    part.bytes += sum(keys[k].size for k in todo if k not in failed)
    part.errors += list(failed.items())


def _collect_untracked(conn: Any, schema: str, tracked: list[str], store: Store, part: StoreReport,
                       dry_run: bool, min_age: float) -> None:
    listing = {k: age for k, age in _listing(store, schema + "/").items() if _HEX_KEY.match(k)}
    if not listing:
        return
    known: set[uuid.UUID] = set()
    b = conn.backend
    for other in tracked:  # every tracking table of the schema: stores may share a location
        full = b.qtable(schema, tracking.tracking_table(other))
        known |= {tracking.to_uuid(h) for (h,) in conn.query(f"SELECT {b.qident('hash')} FROM {full}").fetchall()}
    orphans = []
    for key, age in listing.items():
        m = _HEX_KEY.match(key)
        if m is None or uuid.UUID(m.group(1)) in known:
            continue
        if not _old_enough(age, min_age):
            part.kept_young += 1
            continue
        orphans.append(key)
    _remove(conn, store, orphans, part, dry_run)


def _collect_v2(conn: Any, schema: str, store: Store, part: StoreReport, dry_run: bool, min_age: float) -> None:
    listing = {**_listing(store, f"{HASH_PREFIX}/{schema}/"), **_listing(store, f"{SCHEMA_PREFIX}/{schema}/")}
    if not listing:
        return
    referenced = _v2_referenced(conn, _root(store))
    folders = tuple(p + "/" for p in referenced)
    orphans = []
    for key, age in listing.items():
        base = key[: -len(".manifest.json")] if key.endswith(".manifest.json") else key
        if key in referenced or base in referenced or key.startswith(folders):
            continue
        if not _old_enough(age, min_age):
            part.kept_young += 1
            continue
        orphans.append(key)
    _remove(conn, store, orphans, part, dry_run)


def _remove(conn: Any, store: Store, keys: list[str], part: StoreReport, dry_run: bool) -> None:
    if not keys:
        return
    shared = protected_keys(conn, store, keys)
    keys = [k for k in keys if k not in shared]
    part.kept_shared += len(shared)
    sizes = {}
    for k in keys:
        try:
            sizes[k] = store.size(k)
        except errors.MissingExternalFile:
            sizes[k] = 0  # gone meanwhile: nothing to free
    failed = {} if dry_run else dict(tracking.remove_objects(store, keys))
    part.objects += [k for k in keys if k not in failed]
    part.bytes += sum(sizes[k] for k in keys if k not in failed)
    part.errors += list(failed.items())
