"""The hook through which store-backed attributes (``blob@store``, ``attach@store``,
``filepath@store``) travel with a bundle.

Rows of such attributes hold references (hashes) into a store's tracking table, while the objects
live in the store. A bundle that carries these rows must also carry the tracking rows and the
objects. The object stores provide that through a handler registered here::

    labjoin.export.externals.register(handler)

where ``handler.export_objects(source, bundle_path, schema, table, attributes, rows)`` copies the
referenced objects next to the bundle, and ``handler.import_objects(bundle_path, target, schema,
table, attributes, rows)`` puts them into the target's stores. Until a handler is registered,
exporting or importing a table with store-backed attributes raises ``UnsupportedOperation`` before
anything is written.
"""

from __future__ import annotations

from typing import Any, Protocol

from .. import errors
from ..heading.heading import Heading

__all__ = ["ExternalHandler", "external_attributes", "handler", "register"]


class ExternalHandler(Protocol):
    def export_objects(self, source: Any, bundle_path: str, schema: str, table: str,
                       attributes: list[str], rows: list[tuple[Any, ...]]) -> None: ...

    def import_objects(self, bundle_path: str, target: Any, schema: str, table: str,
                       attributes: list[str], rows: list[tuple[Any, ...]]) -> None: ...


_handler: ExternalHandler | None = None


def register(new: ExternalHandler | None) -> None:
    """Install (or, with None, remove) the handler that moves store objects with bundles."""
    global _handler
    _handler = new


def external_attributes(heading: Heading) -> list[str]:
    return [n for n in heading.names if heading[n].is_external]


def handler(heading: Heading, table: str, backend: str) -> ExternalHandler | None:
    """The handler for ``table``'s store-backed attributes (None when it has none).

    Raises UnsupportedOperation when the table has some and no handler is registered.
    """
    names = external_attributes(heading)
    if not names:
        return None
    if _handler is None:
        raise errors.UnsupportedOperation(
            f"bundling the store-backed attribute `{names[0]}` of {table}", backend,
            "Objects in stores cannot travel in a bundle yet; export a restriction without this table "
            "(or its dependents), or register a handler with labjoin.export.externals.register()."
        )
    return _handler
