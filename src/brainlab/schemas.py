"""The registry of brainlab's schemas and their activation.

Every brainlab module (``brainlab.subject``, ``brainlab.analyses.behavior``, ...) creates its
schema with :func:`schema_for`, an *unactivated* ``dj.Schema()``: importing a module declares
classes but never connects, creates anything or prompts (the reference's iblenv #86 and #159
were import-time connections). One call binds them all::

    import brainlab
    brainlab.activate(prefix="brainlab_", connection=dj.conn("postgresql://..."))

or, with no call at all, the first use of any brainlab table activates every schema with the
settings of :mod:`brainlab.settings` (environment variables), so a notebook written against
``ibl_pipeline`` runs after changing only its imports.

Schema names are ``<prefix><name>``, with the IBL module names: ``reference``, ``subject``,
``action``, ``acquisition``, ``data``, ``behavior``, ``group_shared_wheel``,
``analyses_behavior``, ``ephys``, ``qc``, ``histology``, ``analyses_ephys``,
``plotting_behavior``, ``plotting_ephys``, ``public`` and ``ingest`` (bookkeeping).

Activating again with another prefix or connection rebinds every table class (a fresh
``dj.Schema`` per module, the same classes), which is how one process (the test suite) runs the
pipeline on SQLite, PostgreSQL and MySQL in turn.
"""

from __future__ import annotations

import importlib
import threading
from dataclasses import dataclass
from typing import Any

import labjoin as dj
from labjoin import errors
from labjoin.tables.table import _CLASS_FORWARD, TableMeta

from . import settings

__all__ = [
    "MODULES",
    "Activation",
    "Computed",
    "Imported",
    "Lookup",
    "Manual",
    "Part",
    "activate",
    "active",
    "classproperty",
    "drop_all",
    "schema_for",
    "schema_name",
]

#: brainlab modules in declaration order (each only references modules before it) and the
#: suffix of their schema names.
MODULES: dict[str, str] = {
    "brainlab.reference": "reference",
    "brainlab.subject": "subject",
    "brainlab.action": "action",
    "brainlab.acquisition": "acquisition",
    "brainlab.data": "data",
    "brainlab.behavior": "behavior",
    "brainlab.group_shared.wheel": "group_shared_wheel",
    "brainlab.analyses.behavior": "analyses_behavior",
    "brainlab.ephys": "ephys",
    "brainlab.qc": "qc",
    "brainlab.histology": "histology",
    "brainlab.analyses.ephys": "analyses_ephys",
    "brainlab.plotting.behavior": "plotting_behavior",
    "brainlab.plotting.ephys": "plotting_ephys",
    "brainlab.public": "public",
    "brainlab.ingest.bookkeeping": "ingest",
}

_schemas: dict[str, dj.Schema] = {}
_lock = threading.RLock()


@dataclass(frozen=True)
class Activation:
    """Where brainlab is bound: the schema-name prefix and the connection."""

    prefix: str
    connection: dj.Connection

    def schema_name(self, module: str) -> str:
        """Full schema name of a brainlab module (``"brainlab.subject"`` or ``"subject"``)."""
        return self.prefix + _suffix(module)


_active: Activation | None = None


def _suffix(module: str) -> str:
    if module in MODULES:
        return MODULES[module]
    if module in MODULES.values():
        return module
    raise errors.DataJointError(
        f"{module!r} is not a brainlab module; known: {', '.join(MODULES.values())}."
    )


def schema_name(module: str, prefix: str | None = None) -> str:
    """Schema name of ``module`` under ``prefix`` (default: the active or configured prefix)."""
    if prefix is None:
        prefix = _active.prefix if _active is not None else settings.schema_prefix()
    return prefix + _suffix(module)


def schema_for(module: str) -> dj.Schema:
    """The (unactivated) schema of a brainlab module; called once at the module's top."""
    with _lock:
        if module not in MODULES:
            raise errors.DataJointError(f"{module!r} is not listed in brainlab.schemas.MODULES.")
        if module not in _schemas:
            _schemas[module] = dj.Schema()
        return _schemas[module]


def active() -> Activation | None:
    """The current activation, or None before the first one."""
    return _active


def activate(prefix: str | None = None, connection: dj.Connection | None = None, *,
             modules: tuple[str, ...] | None = None) -> Activation:
    """Bind every brainlab schema to ``connection`` under ``prefix`` and create missing tables.

    Parameters
    ----------
    prefix : str, optional
        Schema-name prefix; default :func:`brainlab.settings.schema_prefix` (env
        ``BRAINLAB_SCHEMA_PREFIX``, default ``brainlab_``).
    connection : labjoin.Connection, optional
        Default: ``dj.conn()`` (the configured database; the embedded SQLite file by default).
    modules : tuple of str, optional
        Only for tests: the module names to import (default all of :data:`MODULES`).

    Returns
    -------
    Activation
    """
    global _active
    with _lock:
        prefix = settings.schema_prefix() if prefix is None else prefix
        conn = connection if connection is not None else dj.conn()
        wanted = Activation(prefix, conn)
        if _active is not None and _active.prefix == prefix and _active.connection is conn:
            return _active
        names = modules or tuple(MODULES)
        imported = [importlib.import_module(name) for name in names]
        _active = wanted  # set first: declaring a table may touch a lazily activated class
        try:
            for name, module in zip(names, imported):
                old = _schemas[name]
                if old.is_activated():
                    # Rebind: a fresh Schema, the same classes in their declaration order.
                    fresh = dj.Schema()
                    for cls in list(old._registry.values()):
                        fresh(cls)
                    _schemas[name] = fresh
                    module.schema = fresh
                _schemas[name].activate(wanted.schema_name(name), connection=conn)
        except BaseException:
            _active = None
            raise
        return wanted


def drop_all(activation: Activation | None = None) -> None:
    """Drop every brainlab schema of an activation (tests and ``brainlab reset``), downstream first."""
    activation = activation or _active
    if activation is None:
        return
    conn = activation.connection
    existing = set(dj.list_schemas(connection=conn))
    for module in reversed(tuple(MODULES)):
        name = activation.schema_name(module)
        if name in existing:
            dj.Schema(name, connection=conn, create_schema=False, create_tables=False).drop(force=True)


def _auto_activate(cls: type) -> None:
    # Called when a brainlab table class is used before activate(): bind everything with the
    # configured settings (this is the only implicit connection brainlab ever makes).
    if _active is None and settings.auto_activate():
        activate()
    if type.__getattribute__(cls, "database") is None:
        raise errors.DataJointError(
            f"brainlab table {cls.__name__} is not bound to a database. Call "
            "brainlab.activate(prefix=..., connection=...) first (automatic activation is off: "
            "BRAINLAB_AUTO_ACTIVATE=0)."
        )


class classproperty:
    """A read-only property of the class, also readable from instances.

    brainlab's ``key_source`` definitions use it so that the query is built when read (after
    activation), never at import, and ``Table.key_source`` works on the class as in DataJoint.
    """

    def __init__(self, func: Any) -> None:
        self.func = func
        self.__doc__ = func.__doc__

    def __get__(self, obj: Any, owner: type) -> Any:
        return self.func(owner)


class _LazyMeta(TableMeta):
    """Activates brainlab on the first use of one of its table classes."""

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        if type.__getattribute__(cls, "database") is None and _is_declared_class(cls):
            _auto_activate(cls)
        return super().__call__(*args, **kwargs)

    def __getattribute__(cls, name: str) -> Any:
        # ``database`` too: tools that look for bound tables (``labjoin worker brainlab.behavior``)
        # read it from the class, and should find brainlab bound to the default connection.
        if ((name in _CLASS_FORWARD or name == "database") and type.__getattribute__(cls, "database") is None
                and _is_declared_class(cls) and _active is None):
            _auto_activate(cls)
        return super().__getattribute__(name)


def _is_declared_class(cls: type) -> bool:
    # The tier bases below are not tables themselves.
    return type.__getattribute__(cls, "__module__") != __name__


class Manual(dj.Manual, metaclass=_LazyMeta):
    """brainlab's Manual tier (activates brainlab on first use)."""


class Lookup(dj.Lookup, metaclass=_LazyMeta):
    """brainlab's Lookup tier."""


class Imported(dj.Imported, metaclass=_LazyMeta):
    """brainlab's Imported tier."""


class Computed(dj.Computed, metaclass=_LazyMeta):
    """brainlab's Computed tier."""


class Part(dj.Part, metaclass=_LazyMeta):
    """brainlab's Part tier."""
