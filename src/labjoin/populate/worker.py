"""``labjoin worker``: populate a pipeline's tables in a loop, on as many machines as you like.

Each cycle populates every target table in dependency order, in batches of ``batch`` keys
(``populate(reserve_jobs=True, suppress_errors=True, max_calls=batch)``) until a batch finds
nothing left to do, then sleeps until the next cycle (``every``). Workers on other machines
share the work through the schema's ``~jobs`` table; a worker that dies leaves a reservation
the others take over (see `labjoin.populate.jobs`). Every event is one JSON object per line
on stdout (``event``, ``time``, ``worker`` and the event's fields), ready for a log collector.
"""

from __future__ import annotations

import importlib
import json
import os
import platform
import re
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TextIO

from .. import errors

__all__ = ["WorkerSettings", "parse_duration", "resolve_targets", "run_worker"]

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str | float | None) -> float | None:
    """Seconds in ``"90"``, ``"30s"``, ``"10m"``, ``"1h30m"`` or ``"2d"`` (None stays None)."""
    if text is None:
        return None
    if isinstance(text, (int, float)):
        return float(text)
    s = text.strip().lower()
    try:
        return float(s)
    except ValueError:
        pass
    parts = re.findall(r"(\d+(?:\.\d+)?)\s*([smhd])", s)
    if not parts or re.sub(r"(\d+(?:\.\d+)?)\s*([smhd])", "", s).strip():
        raise errors.ConfigError(f"Not a duration: {text!r}. Write it as 90, 30s, 10m, 1h30m or 2d.")
    return sum(float(n) * _UNITS[u] for n, u in parts)


def resolve_targets(names: Iterable[str]) -> list[type]:
    """Auto-populated table classes named ``module`` (all of its tables) or ``module.Table``."""
    from ..tables.tiers import Computed, Imported

    found: list[type] = []
    for name in names:
        module, attr = _import_prefix(name)
        if attr is None:
            tables = [v for v in vars(module).values()
                      if isinstance(v, type) and issubclass(v, (Imported, Computed)) and v.database is not None]
            if not tables:
                raise errors.PopulateError(
                    f"Module {name} has no Imported or Computed tables bound to a schema; name its tables "
                    "as module.Table, or activate its schema on import."
                )
        else:
            obj: Any = module
            for part in attr.split("."):
                obj = getattr(obj, part, None)
                if obj is None:
                    raise errors.PopulateError(f"{name}: {module.__name__} has no attribute {attr!r}.")
            if not (isinstance(obj, type) and issubclass(obj, (Imported, Computed))):
                raise errors.PopulateError(f"{name} is not an Imported or Computed table class.")
            tables = [obj]
        found.extend(t for t in tables if t not in found)
    return _in_dependency_order(found)


def _import_prefix(name: str) -> tuple[Any, str | None]:
    parts = name.split(".")
    for i in range(len(parts), 0, -1):
        mod = ".".join(parts[:i])
        try:
            module = importlib.import_module(mod)
        except ModuleNotFoundError as e:
            if e.name and not mod.startswith(e.name) and e.name != mod:
                raise  # the module exists but one of its own imports is missing
            continue
        rest = ".".join(parts[i:]) or None
        return module, rest
    raise errors.PopulateError(f"Cannot import {name!r}: no module of that name on the Python path.")


def _in_dependency_order(tables: list[type]) -> list[type]:
    if len(tables) < 2:
        return tables
    conn = tables[0]._connection_or_default()  # type: ignore[attr-defined]
    order = {n: i for i, n in enumerate(conn.dependencies.topo_sort())}
    return sorted(tables, key=lambda t: order.get(t.full_table_name, len(order)))


@dataclass
class WorkerSettings:
    """What ``labjoin worker`` was asked to do."""

    every: float = 600.0
    once: bool = False
    max_duration: float | None = None
    reserve: bool = True
    order: str = "random"
    batch: int = 100


class JsonLog:
    """One JSON object per line: ``{"time": ..., "worker": "host:pid", "event": ..., ...}``."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream
        self.worker = f"{platform.node()}:{os.getpid()}"

    def __call__(self, event: str, **fields: Any) -> None:
        record = {"time": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "worker": self.worker, "event": event, **fields}
        stream = self.stream or sys.stdout
        stream.write(json.dumps(record, default=str) + "\n")
        stream.flush()


def run_worker(tables: list[type], settings: WorkerSettings, log: Callable[..., None] | None = None,
               clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep) -> int:
    """Populate ``tables`` in cycles until ``once``, ``max_duration`` or a signal stops it.

    Returns the process exit status: 0 after a normal stop (including SIGTERM), 130 after Ctrl-C.
    """
    log = log or JsonLog()
    start = clock()
    deadline = None if settings.max_duration is None else start + settings.max_duration
    log("worker_start", tables=[t.__name__ for t in tables], every=settings.every, once=settings.once,
        max_duration=settings.max_duration, reserve=settings.reserve)
    cycle = 0
    totals = {"succeeded": 0, "failed": 0}
    try:
        while True:
            cycle += 1
            t0 = clock()
            for table in tables:
                if deadline is not None and clock() >= deadline:
                    break
                _populate_table(table, settings, log, cycle, totals, deadline, clock)
            log("cycle_done", cycle=cycle, seconds=round(clock() - t0, 3), **totals)
            if settings.once:
                return _stop(log, "once", totals)
            now = clock()
            if deadline is not None and now >= deadline:
                return _stop(log, "max_duration", totals)
            wait = max(0.0, settings.every - (now - t0))
            if deadline is not None:
                wait = min(wait, deadline - now)
            log("sleep", seconds=round(wait, 3))
            sleep(wait)
    except KeyboardInterrupt:
        _stop(log, "interrupted", totals)
        return 130
    except SystemExit as e:  # SIGTERM during a reserved populate: the running make was recorded
        return _stop(log, f"signal: {e}", totals)


def _stop(log: Callable[..., None], reason: str, totals: dict[str, int]) -> int:
    log("worker_stop", reason=reason, **totals)
    return 0


def _populate_table(table: type, settings: WorkerSettings, log: Callable[..., None], cycle: int,
                    totals: dict[str, int], deadline: float | None, clock: Callable[[], float]) -> None:
    name = table.__name__
    while deadline is None or clock() < deadline:
        try:
            result = table.populate(reserve_jobs=settings.reserve, suppress_errors=True, order=settings.order,
                                    max_calls=settings.batch)
        except errors.DataJointError as e:  # the table cannot be populated now (server down...)
            log("populate_failed", cycle=cycle, table=name, error=f"{type(e).__name__}: {e}".splitlines()[0])
            return
        s = result.summary
        totals["succeeded"] += s.succeeded
        totals["failed"] += s.failed
        for key, message in result["error_list"]:
            log("make_error", cycle=cycle, table=name, key=key, error=str(message).splitlines()[0])
        log("populate", cycle=cycle, table=name, succeeded=s.succeeded, failed=s.failed, skipped=s.skipped,
            reserved_elsewhere=s.reserved_elsewhere, stale_cleared=s.stale_cleared, seconds=round(s.seconds, 3))
        if s.succeeded + s.failed + s.skipped < settings.batch:
            return  # nothing more this cycle: the key source is done, or the rest is taken
