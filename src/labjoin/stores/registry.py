"""The stores a process uses, built from ``dj.config["stores"]`` and kept open between queries.

A store name comes from a column type (``blob@raw``, ``<npy@archive>``); ``<blob@>`` names the
default store, which DataJoint 2.x configures as ``dj.config["stores"]["default"] = "name"``.
Each name gives one :class:`~labjoin.stores.store.Store` (one fsspec filesystem, one thread pool
size), reused for as long as its configuration stays the same: changing ``dj.config["stores"]``
(or ``dj.config["cache"]``) gives a fresh store on the next use.

DataJoint 2.x adds a few keys to a store's entry (``token_length``, ``subfolding`` meaning *no*
folders unless given, ``hash_prefix``/``schema_prefix``/``filepath_prefix``, ``partition_pattern``).
They are accepted here and kept in :class:`StoreOptions`; the 0.14 keys go to
:class:`~labjoin.stores.spec.StoreSpec`, which checks them.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import ConfigError
from .spec import StoreSpec
from .store import Store

__all__ = ["StoreOptions", "default_store_name", "options_for", "resolved_name", "store_for"]

# Keys of a DataJoint 2.x store entry that a 0.14 spec does not have.
_V2_KEYS = ("token_length", "hash_prefix", "schema_prefix", "filepath_prefix", "partition_pattern")
_lock = threading.Lock()
_stores: dict[str, tuple[str, Store, StoreOptions]] = {}


@dataclass(frozen=True)
class StoreOptions:
    """What DataJoint 2.x codecs need to know about a store beyond its 0.14 spec.

    Attributes
    ----------
    subfolding
        Folder levels of hash-addressed (``_hash/``) objects: DataJoint 2.x stores them flat
        unless the store's entry names ``subfolding`` explicitly.
    token_length
        Length of the random token that makes schema-addressed (``_schema/``) paths unique.
    """

    subfolding: tuple[int, ...] = ()
    token_length: int = 8


def default_store_name() -> str:
    """The store ``<blob@>`` and friends use: ``dj.config["stores"]["default"]``.

    Raises
    ------
    ConfigError
        No default store is configured.
    """
    from ..settings import config

    stores = config.get("stores") or {}
    name = stores.get("default") if isinstance(stores, Mapping) else None
    if not isinstance(name, str) or not name:
        raise ConfigError(
            "A type with an empty store name (<blob@>, <npy@> ...) uses the default store, but none is "
            "configured: set dj.config['stores']['default'] = '<store name>', or name the store in the "
            "type (<blob@name>)."
        )
    return name


def _entry(name: str) -> tuple[dict[str, Any], str | None]:
    from ..settings import config

    stores = config.get("stores") or {}
    if not isinstance(stores, Mapping) or not isinstance(stores.get(name), Mapping):
        configured = sorted(k for k, v in (stores.items() if isinstance(stores, Mapping) else ())
                            if isinstance(v, Mapping))
        raise ConfigError(
            f"Store '{name}' is requested but not configured. Add it to dj.config['stores'] "
            f"(configured: {', '.join(configured) or 'none'})."
        )
    return dict(stores[name]), config.get("cache")


def _resolve(name: str | None) -> tuple[str, Store, StoreOptions]:
    name = name or default_store_name()
    entry, cache = _entry(name)
    # A forked worker (populate with processes=N) opens its own filesystem: an S3 client's event
    # loop and sockets do not survive fork.
    fingerprint = json.dumps([entry, cache, os.getpid()], sort_keys=True, default=str)
    with _lock:
        hit = _stores.get(name)
        if hit is not None and hit[0] == fingerprint:
            return hit
    lowered = {str(k).lower(): v for k, v in entry.items()}
    v2 = {k: lowered.pop(k) for k in _V2_KEYS if k in lowered}
    spec = StoreSpec.from_dict(name, lowered)
    token_length = v2.get("token_length", 8)
    if not isinstance(token_length, int) or not 4 <= token_length <= 16:
        raise ConfigError(f'dj.config["stores"]["{name}"]["token_length"] must be a whole number from 4 to 16, '
                          f"not {token_length!r}.")
    options = StoreOptions(spec.subfolding if "subfolding" in lowered else (), token_length)
    made = (fingerprint, Store(spec, cache=cache), options)
    with _lock:
        _stores[name] = made
    return made


def store_for(name: str | None) -> Store:
    """The open :class:`Store` for ``name`` (``""`` or None: the default store).

    Raises
    ------
    ConfigError
        The store is not configured, or its entry is invalid.
    """
    return _resolve(name)[1]


def options_for(name: str | None) -> StoreOptions:
    """The DataJoint 2.x options of the store ``name`` (see :class:`StoreOptions`)."""
    return _resolve(name)[2]


def resolved_name(name: str | None) -> str:
    """``name``, or the default store's name when ``name`` is empty."""
    return name or default_store_name()
