"""One key at a time: reserve it, run ``make`` in its own transaction, record what happened.

A `Runner` is built once per ``populate`` call (per worker process): it resolves the make
interface, prepares the job-table statements and keeps them, so the work per key is the SQL of
the key itself. For a trivial ``make`` that inserts one row that is four statements (BEGIN, the
"already there?" check, the insert, COMMIT) and two more with reservation (the reserving insert
before, and the deletion of the reservation inside the same transaction, so the result and the
end of its job commit together).

The tripartite form (``make_fetch`` / ``make_compute`` / ``make_insert``, or a generator ``make``)
fetches and computes outside any transaction, then, inside one, fetches again and compares a
fingerprint of the two fetches before inserting: changed inputs raise `PopulateError` and
nothing is inserted.
"""

from __future__ import annotations

import enum
import hashlib
import inspect
import logging
import pickle
import random
import re
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import errors
from ..tables.insert import allow_insert
from .jobs import Reservations

__all__ = ["KeyResult", "MakeInterface", "Outcome", "PopulateOptions", "Runner", "error_message", "fingerprint"]

logger = logging.getLogger("labjoin.populate")

# Deadlocks, serialization failures and lock timeouts are the server's way of asking for a retry.
_RETRYABLE = re.compile(r"deadlock|serializ|lock wait timeout|database is locked|could not obtain lock", re.I)
MAX_ATTEMPTS = 5
INTERRUPTED_MESSAGE = ("KeyboardInterrupt: populate was interrupted while make ran; delete this row "
                       "to compute the key again")


class Outcome(enum.StrEnum):
    """What happened to one key."""

    SUCCESS = "success"  # make ran and committed
    SKIPPED = "skipped"  # the key was already in the table (another worker made it)
    RESERVED = "reserved"  # reserved elsewhere (or its job row is an error/ignore row)
    ERROR = "error"  # make raised; recorded in ~jobs with reservation
    INTERRUPTED = "interrupted"  # KeyboardInterrupt while make ran


@dataclass
class KeyResult:
    """The outcome of one key; ``error`` is the message (or the exception object, if asked for)."""

    outcome: Outcome
    key: dict[str, Any]
    error: Any = None


@dataclass(frozen=True)
class PopulateOptions:
    """The per-key options of a ``populate`` call (picklable: they travel to worker processes)."""

    reserve_jobs: bool = False
    suppress_errors: bool = False
    return_exception_objects: bool = False
    make_kwargs: tuple[tuple[str, Any], ...] = ()

    @property
    def kwargs(self) -> dict[str, Any]:
        return dict(self.make_kwargs)


def error_message(e: BaseException) -> str:
    """DataJoint's form: ``ClassName: message`` (just the class name when the message is empty)."""
    text = str(e)
    return f"{type(e).__name__}: {text}" if text else type(e).__name__


class MakeInterface:
    """How a table computes a key: a plain ``make``, or fetch / compute / insert steps."""

    def __init__(self, table: Any) -> None:
        self.table = table
        cls = type(table)
        self.has_steps = all(callable(getattr(cls, n, None)) for n in ("make_fetch", "make_compute", "make_insert"))
        make = getattr(table, "_make_tuples", None) if hasattr(cls, "_make_tuples") else None
        if make is None and "make" in _defined_names(cls):
            make = table.make
        self.make = make
        self.generator = make is not None and inspect.isgeneratorfunction(make)
        if make is None and not self.has_steps:
            raise errors.PopulateError(
                f"{cls.__name__} defines no make(self, key) method (nor make_fetch, make_compute and "
                "make_insert). Define make to compute and insert the rows of one key."
            )

    @property
    def tripartite(self) -> bool:
        return self.generator or (self.make is None and self.has_steps)

    def fetch(self, key: dict[str, Any], kwargs: dict[str, Any]) -> tuple[Any, Any]:
        """(fetched data, state to resume from) of the fetch step."""
        if self.make is not None:  # a generator make: its first yield is the fetched data
            gen = self.make(dict(key), **kwargs)
            return _as_tuple(next(gen)), gen
        return _as_tuple(self.table.make_fetch(dict(key), **kwargs)), None

    def compute(self, key: dict[str, Any], fetched: tuple[Any, ...], state: Any) -> Any:
        if state is not None:  # the generator computes when sent None, and yields the result
            computed = state.send(None)
            state.close()
            return computed
        return _as_tuple(self.table.make_compute(dict(key), *fetched))

    def insert(self, key: dict[str, Any], computed: Any, state: Any) -> None:
        if state is not None:  # a generator restarted at its fetch: sending the result inserts it
            try:
                state.send(computed)
            except StopIteration:
                return
            _drain(state)
            return
        self.table.make_insert(dict(key), *computed)


def _defined_names(cls: type) -> set[str]:
    names: set[str] = set()
    for base in cls.__mro__:
        if base.__module__.startswith("labjoin."):
            continue
        names.update(vars(base))
    return names


def _drain(gen: Any) -> None:
    for _ in gen:
        pass


def _as_tuple(value: Any) -> tuple[Any, ...]:
    # DataJoint unpacks what make_fetch returns into make_compute's arguments
    if isinstance(value, (tuple, list)):
        return tuple(value)
    return (value,)


def fingerprint(value: Any) -> str:
    """A hash of fetched data that changes when the data change (arrays by dtype, shape and bytes)."""
    h = hashlib.md5()
    _feed(h, value)
    return h.hexdigest()


def _feed(h: Any, v: Any) -> None:
    if isinstance(v, np.ndarray):
        h.update(f"nd{v.dtype.str}{v.shape}".encode())
        if v.dtype.hasobject:
            for item in v.ravel().tolist():
                _feed(h, item)
        else:
            h.update(np.ascontiguousarray(v).tobytes())
    elif isinstance(v, dict):
        h.update(b"{")
        for k in sorted(v, key=repr):
            _feed(h, k)
            _feed(h, v[k])
        h.update(b"}")
    elif isinstance(v, (list, tuple)):
        h.update(b"[" if isinstance(v, list) else b"(")
        for item in v:
            _feed(h, item)
        h.update(b"]")
    elif isinstance(v, (str, bytes, int, float, bool, type(None))):
        h.update(f"{type(v).__name__}:{v!r}".encode())
    else:
        try:
            h.update(pickle.dumps(v, protocol=5))
        except (pickle.PicklingError, TypeError, AttributeError):
            h.update(repr(v).encode())


class Runner:
    """Runs keys of one table with the options of one ``populate`` call."""

    def __init__(self, table: Any, options: PopulateOptions) -> None:
        self.table = table
        self.conn = table.connection
        self.options = options
        self.kwargs = options.kwargs
        self.interface = MakeInterface(table)
        self.jobs = (Reservations(self.conn, table.database, table.table_name)
                     if options.reserve_jobs else None)
        job_key = getattr(table, "_job_key", None)
        self._job_key: Callable[[dict[str, Any]], dict[str, Any]] = job_key if callable(job_key) else dict

    # -- the per-key path -----------------------------------------------------------------------
    def run(self, key: dict[str, Any]) -> KeyResult:
        """Reserve (if asked), make, and record the result of one key."""
        key = dict(key)
        job_key = self._job_key(key)
        if self.jobs is not None and not self.jobs.reserve(job_key):
            return KeyResult(Outcome.RESERVED, key)
        return self.guarded(key, job_key, lambda: self.with_retries(key, job_key, self._make_one))

    def guarded(self, key: dict[str, Any], job_key: dict[str, Any], step: Callable[[], Outcome]) -> KeyResult:
        """Run ``step`` for a reserved key: allow inserts, record errors, honour suppress_errors.

        KeyboardInterrupt is recorded as an interrupted job and re-raised (populate stops, the open
        transaction was rolled back); SystemExit is recorded and re-raised; any other exception is
        recorded and re-raised, or collected when ``suppress_errors``.
        """
        token = allow_insert.set(True)
        try:
            outcome = step()
        except KeyboardInterrupt as e:
            self._record(job_key, e, INTERRUPTED_MESSAGE)
            raise
        except SystemExit as e:
            self._record(job_key, e, error_message(e))
            raise
        except Exception as e:  # make is user code: any error is recorded, then raised or collected
            message = error_message(e)
            self._record(job_key, e, message)
            if not self.options.suppress_errors:
                raise
            logger.error("make(%s) of %s failed: %s", key, self.table.class_name, message)
            return KeyResult(Outcome.ERROR, key, e if self.options.return_exception_objects else message)
        finally:
            allow_insert.reset(token)
        return KeyResult(outcome, key)

    def with_retries(self, key: dict[str, Any], job_key: dict[str, Any],
                     step: Callable[[dict[str, Any], dict[str, Any]], Outcome]) -> Outcome:
        """``step(key, job_key)``, again after a deadlock or serialization failure (rolled back)."""
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                return step(key, job_key)
            except errors.DuplicateError:
                # Another worker (without reservation) committed this key first: nothing to do.
                if self._exists(key):
                    self._complete_alone(job_key)
                    return Outcome.SKIPPED
                raise
            except errors.TransactionError as e:
                if attempt == MAX_ATTEMPTS or not _RETRYABLE.search(str(e)):
                    raise
                logger.info("make(%s): %s; retrying (attempt %d)", key, str(e).splitlines()[0], attempt + 1)
                time.sleep(random.uniform(0.005, 0.05) * attempt)
        raise errors.PopulateError("unreachable: the retry loop returns or raises")  # pragma: no cover

    def _make_one(self, key: dict[str, Any], job_key: dict[str, Any]) -> Outcome:
        if self.interface.tripartite:
            return self._tripartite(key, job_key)
        return self._plain(key, job_key)

    def _plain(self, key: dict[str, Any], job_key: dict[str, Any]) -> Outcome:
        conn = self.conn
        with conn.transaction:
            if self._exists(key):
                outcome = Outcome.SKIPPED
            else:
                self.interface.make(dict(key), **self.kwargs)  # type: ignore[misc]
                outcome = Outcome.SUCCESS
            if self.jobs is not None:
                self.jobs.complete(job_key)
        return outcome

    def _tripartite(self, key: dict[str, Any], job_key: dict[str, Any]) -> Outcome:
        if self._exists(key):
            self._complete_alone(job_key)
            return Outcome.SKIPPED
        fetched, state = self.interface.fetch(key, self.kwargs)
        fetched_print = fingerprint(fetched)
        computed = self.interface.compute(key, fetched, state)
        return self.insert_computed(key, job_key, fetched_print, computed)

    def fetch_outside(self, key: dict[str, Any]) -> tuple[tuple[Any, ...], str] | None:
        """The fetch step of a tripartite make, outside any transaction; None when the key is done."""
        if self._exists(key):
            return None
        fetched, _ = self.interface.fetch(key, self.kwargs)
        return fetched, fingerprint(fetched)

    def insert_computed(self, key: dict[str, Any], job_key: dict[str, Any], fetched_print: str,
                        computed: Any) -> Outcome:
        """The transaction of a tripartite make: check, fetch again, compare, insert, complete."""
        with self.conn.transaction:
            if self._exists(key):
                outcome = Outcome.SKIPPED
            else:
                again, state = self.interface.fetch(key, self.kwargs)
                if fingerprint(again) != fetched_print:
                    raise errors.PopulateError(
                        f"Referential integrity failed: the inputs of {self.table.class_name} for {key} "
                        "changed while make_compute ran (make_fetch returned different data). Nothing was "
                        "inserted; populate again to compute the key from the new inputs."
                    )
                self.interface.insert(key, computed, state)
                outcome = Outcome.SUCCESS
            if self.jobs is not None:
                self.jobs.complete(job_key)
        return outcome

    # -- helpers --------------------------------------------------------------------------------
    def _exists(self, key: dict[str, Any]) -> bool:
        return bool(self.table & key)

    def _complete_alone(self, job_key: dict[str, Any]) -> None:
        if self.jobs is not None:
            self.jobs.complete(job_key)

    def _record(self, job_key: dict[str, Any], exc: BaseException, message: str) -> None:
        if self.jobs is None:
            return
        try:
            self.jobs.error(job_key, message, traceback.format_exc())
        except errors.DataJointError as e:  # keep the make's error; say why it is not in ~jobs
            exc.add_note(f"labjoin could not record this error in ~jobs: {error_message(e)}")

