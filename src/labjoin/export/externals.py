"""Store-backed attributes in bundles: the objects travel inside the bundle file.

DataJoint 0.14's ``blob@store``, ``attach@store`` and ``filepath@store`` columns hold hashes; the
schema's ``~external_<store>`` tracking table says what each hash names, and the object lives in
the store. :class:`TrackedObjects` (the built-in handler) carries all three:

* export: the tracking rows of the exported hashes go into the bundle's own tracking tables, and
  each object's bytes into the bundle table ``~labjoin_objects`` (store, schema, hash, data);
* import: each object is put into the target's store of the same name (configured in
  ``dj.config['stores']`` on the importing side), under the target's layout, then its tracking
  row is written, then the rows that reference it (the order the stores use everywhere, so a
  garbage collection running meanwhile never removes them).

Other store-backed types (DataJoint 2.x's ``<blob@store>`` and friends, whose JSON values name
paths) need a handler registered with :func:`register`; until then exporting or importing a
table that has them raises ``UnsupportedOperation`` before anything is written.
"""

from __future__ import annotations

from typing import Any, Protocol

from .. import errors
from ..heading.heading import Heading

__all__ = ["OBJECTS_TABLE", "ExternalHandler", "TrackedObjects", "external_attributes", "handler", "register"]

OBJECTS_TABLE = "~labjoin_objects"


class ExternalHandler(Protocol):
    """Moves the objects of a table's store-backed attributes along with its rows."""

    def export_objects(self, source: Any, bundle: Any, schema: str, heading: Heading,
                       rows: list[tuple[Any, ...]]) -> None: ...

    def import_objects(self, bundle: Any, target: Any, schema: str, heading: Heading,
                       rows: list[tuple[Any, ...]]) -> None: ...


_handler: ExternalHandler | None = None


def register(new: ExternalHandler | None) -> None:
    """Install (or, with None, remove) a handler for every store-backed attribute."""
    global _handler
    _handler = new


def external_attributes(heading: Heading) -> list[str]:
    return [n for n in heading.names if heading[n].is_external]


def _tracked(heading: Heading) -> list[str]:
    from ..migrate.state import is_tracked

    return [n for n in heading.names if is_tracked(heading[n])]


def handler(heading: Heading, table: str, backend: str) -> ExternalHandler | None:
    """The handler for ``table``'s store-backed attributes (None when it has none).

    Raises UnsupportedOperation for attributes no handler can carry.
    """
    names = external_attributes(heading)
    if not names:
        return None
    if _handler is not None:
        return _handler
    other = [n for n in names if n not in _tracked(heading)]
    if other:
        raise errors.UnsupportedOperation(
            f"bundling the store-backed attribute `{other[0]}` ({heading[other[0]].declared_type}) of {table}",
            backend,
            "Bundles carry DataJoint 0.14's blob@/attach@/filepath@store objects; for this type, export a "
            "restriction without this table, or register a handler with labjoin.export.externals.register().",
        )
    return TrackedObjects()


class TrackedObjects:
    """The built-in handler: 0.14 store-backed attributes, objects stored in the bundle itself."""

    @staticmethod
    def _hashes(heading: Heading, rows: list[tuple[Any, ...]]) -> dict[str, set[Any]]:
        from ..stores.tracking import to_uuid

        by_store: dict[str, set[Any]] = {}
        names = heading.names
        for n in _tracked(heading):
            i = names.index(n)
            by_store.setdefault(heading[n].type.store, set()).update(
                to_uuid(r[i]) for r in rows if r[i] is not None)
        return by_store

    def export_objects(self, source: Any, bundle: Any, schema: str, heading: Heading,
                       rows: list[tuple[Any, ...]]) -> None:
        from ..stores import tracking
        from ..stores.registry import store_for

        bundle.query(f'CREATE TABLE IF NOT EXISTS "{OBJECTS_TABLE}" (store TEXT NOT NULL, schema_name TEXT NOT NULL, '
                     "hash BLOB NOT NULL, data BLOB NOT NULL, PRIMARY KEY (store, schema_name, hash))")
        for store_name, hashes in self._hashes(heading, rows).items():
            found = tracking.lookup(source, schema, store_name, hashes)
            missing = hashes - set(found)
            if missing:
                raise errors.MissingExternalFile(
                    f"{len(missing)} objects referenced in `{schema}` have no row in ~external_{store_name} "
                    f"(first: {sorted(h.hex for h in missing)[0]}); the source database is inconsistent."
                )
            tracking.upsert(bundle, schema, store_name, found.values())
            store = store_for(store_name)
            for h, row in found.items():
                data = store.get(row.key(schema, store.spec.subfolding))
                bundle.query(f'INSERT OR IGNORE INTO "{OBJECTS_TABLE}" VALUES (?, ?, ?, ?)',
                             (store_name, schema, h.bytes, data))

    def import_objects(self, bundle: Any, target: Any, schema: str, heading: Heading,
                       rows: list[tuple[Any, ...]]) -> None:
        from ..stores import tracking
        from ..stores.registry import store_for

        for store_name, hashes in self._hashes(heading, rows).items():
            found = tracking.lookup(bundle, schema, store_name, hashes)
            store = store_for(store_name)  # ConfigError naming the store when it is not configured here
            tracking.upsert(target, schema, store_name, found.values())
            for h, row in found.items():
                key = row.key(schema, store.spec.subfolding)
                if store.exists(key):
                    continue
                got = bundle.query(f'SELECT data FROM "{OBJECTS_TABLE}" WHERE store = ? AND schema_name = ? '
                                   "AND hash = ?", (store_name, schema, h.bytes)).fetchone()
                if got is None:
                    raise errors.MissingExternalFile(
                        f"The bundle has no object {h.hex} of store {store_name!r}; it is incomplete."
                    )
                store.put(key, bytes(got[0]))
