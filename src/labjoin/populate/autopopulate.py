"""make / key_source / populate / progress for Imported and Computed tables (DataJoint 0.14 semantics).

Each ``make(key)`` runs in its own transaction, so a master and its parts appear together or not
at all. The heading and key source are computed once per ``populate`` call, never per key.
With ``reserve_jobs=True`` keys are reserved atomically in the schema's ``~jobs`` table, so any
number of processes (on any number of machines) can populate the same table.
"""

from __future__ import annotations

import logging
import random
import traceback
from typing import Any

from .. import errors
from ..tables.insert import allow_insert

__all__ = ["key_source", "populate", "progress"]

logger = logging.getLogger("labjoin")


class _KeySourceProperty:
    def __get__(self, obj: Any, owner: Any) -> Any:
        target = obj if obj is not None else owner()
        custom = type(target).__dict__.get("key_source") if not isinstance(
            type(target).__dict__.get("key_source"), _KeySourceProperty) else None
        if custom is not None:
            return custom
        return default_key_source(target)


def default_key_source(table: Any) -> Any:
    """The join of the primary-key parents, each projected to its primary key (renames undone)."""
    conn = table.connection
    deps = conn.dependencies.load()
    parents = [(p, d) for p, c, d in deps.in_edges(table.full_table_name, data=True) if d["primary"]]
    if not parents:
        raise errors.PopulateError(
            f"{table.class_name} has no primary-key parent, so it has no default key_source. Declare a "
            "foreign key in its primary key, or define key_source."
        )
    from ..tables.table import FreeTable

    query = None
    for parent, d in parents:
        renames = {c: p for c, p in d["attr_map"].items() if c != p}
        q = FreeTable(conn, parent).proj(**renames)
        query = q if query is None else query * q
    return query


key_source = _KeySourceProperty()


def _resolve_key_source(table: Any) -> Any:
    ks = table.key_source
    if isinstance(ks, type):
        ks = ks()
    return ks


def _todo(table: Any, restrictions: tuple[Any, ...]) -> Any:
    ks = _resolve_key_source(table)
    missing = [k for k in ks.primary_key if k not in table.heading]
    if missing:
        raise errors.PopulateError(
            f"The key_source of {table.class_name} has attributes {missing} that the table lacks."
        )
    from ..algebra.conditions import AndList

    todo = ks & AndList(restrictions) if restrictions else ks
    return todo.proj() - table


def progress(self: Any, *restrictions: Any, display: bool = False) -> tuple[int, int]:
    """(remaining, total) keys of the key source."""
    ks = _resolve_key_source(self)
    from ..algebra.conditions import AndList

    ks = ks & AndList(restrictions) if restrictions else ks
    total = len(ks.proj())
    remaining = len(ks.proj() - self)
    if display:
        print(f"{self.class_name}: completed {total - remaining} of {total} "
              f"({(total - remaining) / total * 100 if total else 100:.1f}%)")
    return remaining, total


def populate(self: Any, *restrictions: Any, keys: Any = None, suppress_errors: bool = False,
             return_exception_objects: bool = False, reserve_jobs: bool = False, order: str = "original",
             limit: int | None = None, max_calls: int | None = None, display_progress: bool = False,
             processes: int = 1, make_kwargs: dict[str, Any] | None = None, return_success_count: bool = False,
             priority: int | None = None, refresh: bool | None = None, executor: Any = None) -> dict[str, Any]:
    """Call ``make(key)`` for every key of ``key_source`` not yet in the table."""
    table = self if not isinstance(self, type) else self()
    conn = table.connection
    if conn.in_transaction:
        raise errors.TransactionError("populate() cannot be called inside a transaction.")
    if order not in ("original", "reverse", "random"):
        raise errors.PopulateError(f"order={order!r}: use 'original', 'reverse' or 'random'.")
    if keys is None:
        keys = _todo(table, restrictions).keys(limit=limit)
    else:
        keys = list(keys)[:limit] if limit else list(keys)
    if order == "reverse":
        keys.reverse()
    elif order == "random":
        random.shuffle(keys)
    if max_calls is not None:
        keys = keys[:max_calls]
    jobs = table._jobs() if reserve_jobs else None
    error_list: list[Any] = []
    success = 0
    iterator: Any = keys
    if display_progress:
        from tqdm.auto import tqdm

        iterator = tqdm(keys, desc=table.class_name)
    for key in iterator:
        if jobs is not None and not jobs.reserve(table.table_name, key):
            continue
        try:
            status = _make_one(table, key, make_kwargs or {})
        except (KeyboardInterrupt, SystemExit) as e:
            if jobs is not None:
                jobs.error(table.table_name, key, "KeyboardInterrupt: populate was interrupted",
                           traceback.format_exc())
            raise e
        except Exception as e:
            if jobs is not None:
                jobs.error(table.table_name, key, f"{type(e).__name__}: {e}", traceback.format_exc())
            if not suppress_errors:
                raise
            logger.warning("make(%s) failed: %s: %s", key, type(e).__name__, e)
            error_list.append((key, e if return_exception_objects else f"{type(e).__name__}: {e}"))
        else:
            if jobs is not None:
                jobs.complete(table.table_name, key)
            success += status
    return {"success_count": success, "error_list": error_list}


def _make_one(table: Any, key: dict[str, Any], make_kwargs: dict[str, Any]) -> int:
    conn = table.connection
    token = allow_insert.set(True)
    try:
        if hasattr(table, "make_fetch") and hasattr(table, "make_compute") and hasattr(table, "make_insert"):
            return _tripartite(table, key, make_kwargs)
        with conn.transaction:
            if key in table:  # another process made it meanwhile
                return 0
            make = getattr(table, "make", None) or getattr(table, "_make_tuples", None)
            if make is None:
                raise errors.PopulateError(f"{table.class_name} defines no make(self, key) method.")
            make(dict(key), **make_kwargs)
        return 1
    finally:
        allow_insert.reset(token)


def _digest(value: Any) -> str:
    import hashlib
    import pickle

    try:
        return hashlib.md5(pickle.dumps(value, protocol=5)).hexdigest()
    except (pickle.PicklingError, TypeError):
        return hashlib.md5(repr(value).encode()).hexdigest()


def _tripartite(table: Any, key: dict[str, Any], make_kwargs: dict[str, Any]) -> int:
    """make_fetch and make_compute outside the transaction; re-fetch and compare inside it."""
    conn = table.connection
    fetched = table.make_fetch(dict(key), **make_kwargs)
    fetched = fetched if isinstance(fetched, tuple) else (fetched,)
    computed = table.make_compute(dict(key), *fetched)
    computed = computed if isinstance(computed, tuple) else (computed,)
    with conn.transaction:
        if key in table:
            return 0
        again = table.make_fetch(dict(key), **make_kwargs)
        again = again if isinstance(again, tuple) else (again,)
        if _digest(again) != _digest(fetched):
            raise errors.PopulateError(
                f"The inputs of {table.class_name} for {key} changed while make_compute ran "
                "(make_fetch returned different data). Nothing was inserted; populate again."
            )
        table.make_insert(dict(key), *computed)
    return 1
