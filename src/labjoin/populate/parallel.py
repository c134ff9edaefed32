"""``populate(processes=N)`` and ``populate(executor=...)``: where ``make`` runs, and how results come back.

Processes (one machine)
    A pool of N worker processes (``fork`` where the platform has it, so tables declared in a
    notebook need not be importable). The parent closes its connection before forking: a child
    must never touch the parent's socket. Each worker builds one `Runner` and opens its own
    connection; keys are handed out one at a time, so the workers never compete for a key, and
    with ``reserve_jobs`` other machines' workers are kept off too.

Executors (a cluster)
    Any ``concurrent.futures.Executor`` (a ``dask.distributed`` ``Client`` is turned into its
    executor). The integrity guarantees do not depend on where the computation runs:

    * a table with ``make_fetch`` / ``make_compute`` / ``make_insert``: the parent reserves the key,
      fetches its inputs, and sends only ``make_compute(key, *fetched)`` to the executor: a pure
      function of data, so cluster nodes need neither database access nor credentials. When the
      result comes back the parent runs the usual transaction: the key is checked, the inputs are
      fetched again and compared with the first fetch, and ``make_insert`` writes the rows;
    * a plain ``make`` (or a generator make): the whole per-key step (reservation, transaction,
      make, completion) runs in the executor's worker, on that worker's own connection (a
      `Connection` pickles as its URL). The table class travels by reference (importable pipeline
      modules) or by value (cloudpickle executors); if its schema is not active in the worker, it
      is activated there with the parent's database name, without declaring anything.

    A bounded number of keys is in flight at a time, so an error stops the run promptly and a
    large key source does not queue all its inputs at once.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import multiprocessing as mp
import os
import pickle
import signal
import sys
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from .. import errors
from .runner import KeyResult, MakeInterface, Outcome, PopulateOptions, Runner, _as_tuple

__all__ = ["run_executor", "run_processes"]

Collect = Callable[[KeyResult], None]


@dataclass
class _Raised:
    """An exception that must stop the parent's populate (raised in a worker, carried back)."""

    key: dict[str, Any]
    error: BaseException
    remote_traceback: str


def _portable(e: BaseException) -> BaseException:
    """The exception itself if it pickles, else a PopulateError with its message."""
    try:
        pickle.loads(pickle.dumps(e))
    except Exception:  # unpicklable exception objects (open files, locks...): keep the message
        from .runner import error_message

        return errors.PopulateError(error_message(e))
    return e


def _portable_result(result: KeyResult) -> KeyResult:
    if isinstance(result.error, BaseException):
        result.error = _portable(result.error)
    return result


def _run_here(runner: Runner, key: dict[str, Any]) -> KeyResult | _Raised:
    """One key in a worker; exceptions that must stop populate come back as `_Raised`."""
    try:
        return _portable_result(runner.run(key))
    except KeyboardInterrupt:
        return KeyResult(Outcome.INTERRUPTED, dict(key))
    except (Exception, SystemExit) as e:  # carried to the parent, which raises it there
        return _Raised(dict(key), _portable(e), traceback.format_exc())


def _raise(raised: _Raised) -> None:
    e = raised.error
    e.add_note(f"raised by make({raised.key}) in a worker process:\n{raised.remote_traceback}")
    raise e


def _deliver(item: KeyResult | _Raised, collect: Collect) -> None:
    if isinstance(item, _Raised):
        _raise(item)
    collect(item)  # type: ignore[arg-type]
    if item.outcome is Outcome.INTERRUPTED:  # type: ignore[union-attr]
        raise KeyboardInterrupt


# -- processes ----------------------------------------------------------------------------------
_worker_runner: Runner | None = None
_busy = False


def _worker_sigterm(signum: int, frame: Any) -> None:
    """SIGTERM in a pool worker (the parent terminating the pool, or a scheduler).

    Idle, the worker just ends (no transaction is open, nothing is reserved). In the middle of a
    key it raises SystemExit, so the make is rolled back and recorded, and arms SIGALRM, whose
    default action ends the worker shortly after it has reported: a pool worker that caught the
    signal must not wait for tasks that will never come.
    """
    if not _busy:
        os._exit(128 + signum)
    signal.setitimer(signal.ITIMER_REAL, 0.5)
    raise SystemExit("SIGTERM received")


def _init_worker(table: Any, options: PopulateOptions) -> None:
    global _worker_runner
    signal.signal(signal.SIGALRM, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, _worker_sigterm)
    _worker_runner = Runner(table, options)


def _work(key: dict[str, Any]) -> KeyResult | _Raised:
    global _busy
    if _worker_runner is None:  # pragma: no cover - the pool always runs the initializer first
        raise errors.PopulateError("populate worker process started without its table")
    _busy = True
    try:
        return _run_here(_worker_runner, key)
    finally:
        _busy = False


def _context() -> Any:
    return mp.get_context("fork" if "fork" in mp.get_all_start_methods() else "spawn")


def run_processes(runner: Runner, keys: list[dict[str, Any]], processes: int, collect: Collect) -> None:
    """Run ``keys`` on a pool of ``processes`` workers (results in completion order)."""
    runner.conn.close()  # a forked child must not inherit (and later close) the parent's socket
    n = min(processes, len(keys))
    pool = _context().Pool(n, initializer=_init_worker, initargs=(runner.table, runner.options))
    try:
        for item in pool.imap_unordered(_work, keys, chunksize=1):
            _deliver(item, collect)
        pool.close()
    except BaseException:
        pool.terminate()
        raise
    finally:
        pool.join()


# -- executors ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class _TableSpec:
    """What a remote worker needs to rebuild the table: its class, database and connection URL."""

    cls: type
    database: str
    url: str


_remote_runners: dict[Any, Runner] = {}


def _bind(spec: _TableSpec) -> Any:
    """The table in this (remote) process, bound to the caller's database.

    A class whose schema is active here on that database is used as it is. Otherwise its schema is
    activated here (nothing is declared), for the class and for the tables of its module that
    were unbound or bound to the same other database (their ``make`` refers to them by name).
    """
    cls = spec.cls
    if cls.database == spec.database and getattr(cls, "_connection", None) is not None:
        return cls()
    from ..connection.connection import Connection
    from ..schema import Schema
    from ..tables.tiers import Part, UserTable

    previous = cls.database
    schema = Schema(spec.database, connection=Connection(spec.url), create_schema=False, create_tables=False)
    module = sys.modules.get(cls.__module__)
    peers = list(vars(module).values()) if module is not None else []
    for obj in [*peers, cls]:
        if (isinstance(obj, type) and issubclass(obj, UserTable) and not issubclass(obj, Part)
                and obj.database in (None, previous) and getattr(obj, "definition", None) is not None):
            schema(obj)
    return cls()


def _remote_run(spec: _TableSpec, options: PopulateOptions, key: dict[str, Any]) -> KeyResult | _Raised:
    """The whole per-key step of a plain make, in an executor's worker process."""
    cache_key = (os.getpid(), spec, options)
    runner = _remote_runners.get(cache_key)
    if runner is None:
        runner = _remote_runners[cache_key] = Runner(_bind(spec), options)
    return _run_here(runner, key)


def _remote_compute(cls: type, key: dict[str, Any], fetched: tuple[Any, ...]) -> Any:
    """``make_compute`` alone, on data: needs no database."""
    obj = object.__new__(cls)  # no schema needed: make_compute works on the fetched data only
    return _as_tuple(cls.make_compute(obj, dict(key), *fetched))  # type: ignore[attr-defined]


def _as_executor(executor: Any) -> Any:
    if not isinstance(executor, cf.Executor) and callable(getattr(executor, "get_executor", None)):
        return executor.get_executor()  # dask.distributed.Client
    if not callable(getattr(executor, "submit", None)):
        raise errors.PopulateError(
            f"executor={type(executor).__name__} has no submit(); pass a concurrent.futures.Executor "
            "(ProcessPoolExecutor, a dask.distributed Client, a submitit executor...)."
        )
    return executor


def _window(ex: Any) -> int:
    workers = getattr(ex, "_max_workers", None)
    client = getattr(ex, "_client", None)
    if workers is None and client is not None:
        with contextlib.suppress(Exception):  # a dask client that cannot say: use the default
            workers = sum(client.nthreads().values())
    return max(4, 2 * int(workers or 16))


def run_executor(runner: Runner, keys: list[dict[str, Any]], executor: Any, collect: Collect) -> None:
    """Run ``keys`` with ``make`` (or only ``make_compute``) on ``executor``."""
    ex = _as_executor(executor)
    # A process pool may fork at its first submit: the child must not inherit an open socket.
    runner.conn.close()
    interface: MakeInterface = runner.interface
    if interface.make is None and interface.has_steps:
        _remote_compute_steps(runner, keys, ex, collect)
    else:
        _remote_make(runner, keys, ex, collect)


def _spec(runner: Runner) -> _TableSpec:
    table = runner.table
    return _TableSpec(type(table), table.database, runner.conn.url)


def _bounded(ex: Any, items: Iterator[Any], submit: Callable[[Any], Any | None],
             done: Callable[[Any, Any], None]) -> None:
    """Keep at most ``_window(ex)`` futures in flight; ``submit`` may decline an item (None)."""
    limit = _window(ex)
    pending: dict[Any, Any] = {}
    try:
        exhausted = False
        while pending or not exhausted:
            while not exhausted and len(pending) < limit:
                item = next(items, None)
                if item is None:
                    exhausted = True
                    break
                fut = submit(item)
                if fut is not None:
                    pending[fut] = item
            if not pending:
                continue
            finished, _ = cf.wait(list(pending), return_when=cf.FIRST_COMPLETED)
            for fut in finished:
                done(pending.pop(fut), fut)
    except BaseException:
        for fut in pending:
            fut.cancel()
        raise


def _remote_make(runner: Runner, keys: list[dict[str, Any]], ex: Any, collect: Collect) -> None:
    spec, options = _spec(runner), runner.options

    def done(key: Any, fut: Any) -> None:
        _deliver(fut.result(), collect)

    _bounded(ex, iter(keys), lambda key: ex.submit(_remote_run, spec, options, key), done)


def _remote_compute_steps(runner: Runner, keys: list[dict[str, Any]], ex: Any, collect: Collect) -> None:
    cls = type(runner.table)

    def submit(key: dict[str, Any]) -> Any | None:
        job_key = runner._job_key(key)
        if runner.jobs is not None and not runner.jobs.reserve(job_key):
            collect(KeyResult(Outcome.RESERVED, dict(key)))
            return None
        fetched: list[Any] = []

        def fetch_step() -> Outcome:
            got = runner.fetch_outside(key)
            if got is None:
                runner._complete_alone(job_key)
                return Outcome.SKIPPED
            fetched.append(got)
            return Outcome.SUCCESS

        result = runner.guarded(key, job_key, fetch_step)
        if not fetched:  # already in the table, or make_fetch failed (recorded or raised)
            collect(result)
            return None
        data, print_ = fetched[0]
        future = ex.submit(_remote_compute, cls, dict(key), data)
        future.labjoin_fetch = (job_key, print_)
        return future

    def done(key: dict[str, Any], fut: Any) -> None:
        job_key, print_ = fut.labjoin_fetch

        def insert_step() -> Outcome:
            computed = fut.result()  # make_compute's exception is raised (and recorded) here
            return runner.with_retries(key, job_key,
                                       lambda k, j: runner.insert_computed(k, j, print_, computed))

        collect(runner.guarded(key, job_key, insert_step))

    _bounded(ex, iter(keys), submit, done)
