"""Object stores for ``blob@store``, ``attach@store`` and ``filepath@store`` columns.

:class:`StoreSpec` parses a ``dj.config["stores"]`` entry; :class:`Store` reads and writes
objects in a local directory or an S3-compatible bucket through fsspec, in DataJoint 0.14's
layout (:mod:`labjoin.stores.layout`). See docs/stores.md.
"""

from __future__ import annotations

from .layout import attachment_uuid, blob_uuid, file_uuid, filepath_uuid, subfold
from .spec import DEFAULT_SUBFOLDING, StoreSpec, store_spec
from .store import FilepathRecord, Store

__all__ = [
    "DEFAULT_SUBFOLDING",
    "FilepathRecord",
    "Store",
    "StoreSpec",
    "attachment_uuid",
    "blob_uuid",
    "file_uuid",
    "filepath_uuid",
    "store_spec",
    "subfold",
]
