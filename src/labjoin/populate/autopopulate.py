"""``key_source``, ``populate`` and ``progress`` of Imported and Computed tables (DataJoint 0.14 semantics).

``populate`` computes the keys to do once (the key source, restricted, minus the table), leaves
out keys whose ``~jobs`` row says another worker has them or they failed before (with
``reserve_jobs=True``), and hands them to a `Runner`: in this process, in ``processes=N``
worker processes, or on any ``concurrent.futures.Executor`` (``executor=``). The dependency
graph and headings come from the connection's catalog cache, loaded once, never per key.

With reservation, the worker that dies leaves a reservation that the next ``populate`` (or the
second pass of this one) recognises as stale and takes over; see `labjoin.populate.jobs`.
"""

from __future__ import annotations

import contextlib
import logging
import random
import signal
import threading
from collections.abc import Iterator
from typing import Any

from .. import errors
from .jobs import Reservations, key_hash
from .runner import KeyResult, Outcome, PopulateOptions, Runner
from .summary import PopulateResult, PopulateSummary, log_summary, progress_bar

__all__ = ["default_key_source", "key_source", "populate", "progress"]

logger = logging.getLogger("labjoin.populate")


class _KeySourceProperty:
    """``Table.key_source``: the class's own ``key_source`` when it defines one, else the default."""

    def __get__(self, obj: Any, owner: Any) -> Any:
        target = obj if obj is not None else owner()
        return default_key_source(target)


def default_key_source(table: Any) -> Any:
    """The join of the primary-key parents, each projected to its primary key (renames undone)."""
    conn = table.connection
    deps = conn.dependencies.load()
    node = table.full_table_name
    # one entry per primary foreign key: a parent referenced twice (renamed) counts twice
    parents = []
    if node in deps:
        key = set(deps.nodes[node]["primary_key"])
        parents = [(p, m) for p, _, d in deps.in_edges(node, data=True)
                   for m in d.get("attr_maps", [d["attr_map"]]) if set(m) <= key]
    if not parents:
        raise errors.PopulateError(
            f"{table.class_name} has no primary-key parent, so it has no default key_source. Declare a "
            "foreign key in its primary key, or define key_source."
        )
    from ..tables.table import FreeTable

    query = None
    for parent, attr_map in parents:
        renames = {c: p for c, p in attr_map.items() if c != p}
        q = FreeTable(conn, parent).proj(**renames)
        query = q if query is None else query * q
    return query


key_source = _KeySourceProperty()


def _target(self: Any) -> Any:
    table = self() if isinstance(self, type) else self
    target = getattr(table, "target", table)
    return target() if isinstance(target, type) else target


def _key_source_of(table: Any) -> Any:
    from ..tables.query import QueryExpression

    ks = table.key_source
    if isinstance(ks, type) and issubclass(ks, QueryExpression):
        ks = ks()
    if not isinstance(ks, QueryExpression):
        raise errors.PopulateError(
            f"key_source of {table.class_name} is a {type(ks).__name__}; it must be a query or a table class."
        )
    missing = [k for k in ks.primary_key if k not in table.heading]
    if missing:
        raise errors.PopulateError(
            f"The key_source of {table.class_name} has primary-key attributes {missing} that the table "
            "lacks. Add them to the table's primary key, or project them out of key_source."
        )
    return ks


def _todo(table: Any, restrictions: tuple[Any, ...]) -> Any:
    """The keys of the key source under ``restrictions`` (projected to its primary key)."""
    from ..algebra.conditions import AndList

    ks = _key_source_of(table)
    return (ks & AndList(restrictions)).proj() if restrictions else ks.proj()


def progress(self: Any, *restrictions: Any, display: bool = False) -> tuple[int, int]:
    """``(remaining, total)``: keys of the (restricted) key source, and those not yet in the table."""
    table = _target(self)
    todo = _todo(table, restrictions)
    total = len(todo)
    remaining = len(todo - table)
    if display:
        done = total - remaining
        print(f"{table.class_name:20s} Completed {done} of {total} ({100 * done / total if total else 100:.1f}%)",
              flush=True)
    return remaining, total


def populate(self: Any, *restrictions: Any, keys: Any = None, suppress_errors: bool = False,
             return_exception_objects: bool = False, reserve_jobs: bool = False, order: str = "original",
             limit: int | None = None, max_calls: int | None = None, display_progress: bool = False,
             processes: int = 1, make_kwargs: dict[str, Any] | None = None, return_success_count: bool = False,
             priority: int | None = None, refresh: bool | None = None, executor: Any = None) -> PopulateResult:
    """Call ``make(key)`` for every key of ``key_source`` (restricted) that is not yet in the table.

    Parameters
    ----------
    *restrictions:
        Conditions ANDed onto the key source.
    keys:
        Explicit keys instead of the key source (DataJoint 0.14).
    suppress_errors:
        Record errors (in ``~jobs`` with reservation) and go on; they are returned in ``error_list``
        as ``(key, "ExceptionClass: message")``, or ``(key, exception)`` with
        ``return_exception_objects=True``.
    reserve_jobs:
        Reserve each key in the schema's ``~jobs`` table first, so any number of processes on any
        number of machines can populate the same table; failed keys get an error row.
    order, limit, max_calls:
        ``"original"``, ``"reverse"`` or ``"random"`` order; look at most ``limit`` keys of the key
        source; call ``make`` at most ``max_calls`` times.
    display_progress:
        A progress bar (tqdm, notebook-aware) and a summary at the end.
    processes:
        Worker processes on this machine (each opens its own connection).
    make_kwargs:
        Keyword arguments passed to every ``make`` (and ``make_fetch``).
    return_success_count:
        Accepted for DataJoint 0.14 compatibility; the count is always returned.
    priority:
        DataJoint 2.x's job priorities need its per-table job queue; labjoin keeps 0.14's ``~jobs``
        table, so only ``None`` is accepted.
    refresh:
        With ``reserve_jobs``, take over stale reservations (workers that died) before starting.
        Default: the ``jobs.auto_refresh`` setting (True).
    executor:
        A ``concurrent.futures.Executor`` (a process pool, ``dask.distributed`` ``Client`` or its
        ``get_executor()``, a submitit executor...) to run ``make`` on; see docs/populate.md.

    Returns
    -------
    PopulateResult
        ``{"success_count": n, "error_list": [...]}`` with the end summary in ``.summary``.
    """
    table = _target(self)
    conn = table.connection
    if conn.in_transaction:
        raise errors.TransactionError("populate() cannot be called inside a transaction; commit it first.")
    if getattr(table, "restricted", False):
        raise errors.PopulateError(
            "Cannot populate a restricted table. Pass the conditions to populate() instead: "
            "Table.populate(condition)."
        )
    if order not in ("original", "reverse", "random"):
        raise errors.PopulateError(f"order={order!r}: use 'original', 'reverse' or 'random'.")
    if priority is not None:
        raise errors.PopulateError(
            "populate(priority=...) needs DataJoint 2.x's per-table job queue. labjoin keeps DataJoint "
            "0.14's ~jobs table, which has no priorities: restrict populate() or use order= instead."
        )
    if processes < 1:
        raise errors.PopulateError(f"processes={processes}: use 1 or more worker processes.")
    if processes > 1 and executor is not None:
        raise errors.PopulateError("Give processes=N or executor=..., not both.")
    if refresh is None:
        from ..settings import config

        refresh = bool(config.get("jobs.auto_refresh", True))
    options = PopulateOptions(reserve_jobs=reserve_jobs, suppress_errors=suppress_errors,
                              return_exception_objects=return_exception_objects,
                              make_kwargs=tuple((make_kwargs or {}).items()))
    runner = Runner(table, options)  # checks the make interface before any key is fetched
    summary = PopulateSummary(table.class_name)
    if keys is None:
        todo = (_todo(table, restrictions) - table).keys(limit=limit)
    else:
        todo = [dict(k) for k in keys][:limit] if limit else [dict(k) for k in keys]
    reserved: dict[str, dict[str, Any]] = {}  # keys another worker holds, by job hash
    if reserve_jobs:
        todo = _leave_out_jobs(runner, todo, summary, refresh, reserved)
    if order == "reverse":
        todo.reverse()
    elif order == "random":
        random.shuffle(todo)
    if max_calls is not None:
        todo = todo[:max_calls]
    logger.info("%s: %d keys to populate", table.class_name, len(todo))
    error_list: list[Any] = []
    with _sigterm_as_exit(reserve_jobs), progress_bar(len(todo), table.class_name, display_progress) as bar:
        def collect(result: KeyResult) -> None:
            summary.add(result)
            if result.outcome is Outcome.ERROR:
                error_list.append((result.key, result.error))
            elif result.outcome is Outcome.RESERVED:
                reserved[key_hash(runner._job_key(result.key))] = result.key
            bar.update(1)

        try:
            if processes > 1 and len(todo) > 1:
                from .parallel import run_processes

                run_processes(runner, todo, processes, collect)
            elif executor is not None and todo:
                from .parallel import run_executor

                run_executor(runner, todo, executor, collect)
            else:
                for key in todo:
                    collect(runner.run(key))
            if reserve_jobs and reserved:
                _second_pass(runner, reserved, summary, collect)
        finally:
            summary.finish()
            log_summary(summary, display_progress)
    return PopulateResult(summary, error_list)


def _leave_out_jobs(runner: Runner, todo: list[dict[str, Any]], summary: PopulateSummary,
                    refresh: bool, reserved: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """0.14's rule: keys with a reserved, error or ignore row are not tried (stale ones are freed)."""
    jobs: Reservations = runner.jobs  # type: ignore[assignment]
    rows = jobs.rows()
    if not rows:
        return todo
    freed = jobs.clear_stale(rows) if refresh else set()
    summary.stale_cleared += len(freed)
    status = {r.key_hash: r.status for r in rows if r.key_hash not in freed}
    keep = []
    for key in todo:
        h = key_hash(runner._job_key(key))
        s = status.get(h)
        if s is None:
            keep.append(key)
        elif s == "reserved":
            summary.reserved_elsewhere += 1
            reserved[h] = key
        else:
            summary.blocked += 1
    return keep


def _second_pass(runner: Runner, reserved: dict[str, dict[str, Any]], summary: PopulateSummary,
                 collect: Any) -> None:
    """Keys that were reserved elsewhere during this call, whose worker has died since: retry them."""
    jobs: Reservations = runner.jobs  # type: ignore[assignment]
    freed = jobs.clear_stale([r for r in jobs.rows() if r.key_hash in reserved])
    summary.stale_cleared += len(freed)
    for h in freed:
        summary.reserved_elsewhere -= 1
        collect(runner.run(reserved.pop(h)))


@contextlib.contextmanager
def _sigterm_as_exit(enabled: bool) -> Iterator[None]:
    """With reservation, SIGTERM (a scheduler stopping the job) becomes SystemExit, so the running
    make is rolled back and recorded as an error instead of leaving its reservation behind."""
    if not enabled or threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        logger.info("populate terminated by SIGTERM")
        raise SystemExit("SIGTERM received")

    old = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)
