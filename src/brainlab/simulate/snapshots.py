"""Daily LIMS snapshots: an event log replayed into one full dump per simulated day.

During the run every LIMS change is logged as an event ``(day, op, model, pk, fields)`` with
``op`` one of ``create`` (all fields), ``update`` (the changed fields only) or ``delete``. At the
end the log is replayed day by day; after each day the whole state is written as
``lims/<yyyy-mm-dd>_alyxfull.json``: a JSON array with one record per line, sorted by
``(model, str(pk))``, each record ``{"fields": {...}, "model": ..., "pk": ...}`` with sorted keys.
Consecutive snapshots therefore differ exactly by what changed that day, which is what an
ingestion diffs (reference ``ibl-system.md`` §3.2, step 0).

Read them back in order with :func:`iter_days`, and compare two with :func:`diff_snapshots`.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from labjoin.errors import DataError

__all__ = [
    "DaySnapshot",
    "Event",
    "EventLog",
    "SnapshotDiff",
    "diff_snapshots",
    "iter_days",
    "load_snapshot",
    "snapshot_path",
    "write_snapshots",
]

Event = tuple[int, str, str, Any, dict[str, Any] | None]
"""One LIMS change: (day index, op, model, pk, fields or None)."""

_OP_ORDER = {"create": 0, "update": 1, "delete": 2}
SNAPSHOT_DIR = "lims"


class EventLog:
    """Collects LIMS changes in the order they are made."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    def create(self, day: int, model: str, pk: Any, fields: dict[str, Any]) -> None:
        """Log a new record (all its fields)."""
        self.events.append((day, "create", model, pk, fields))

    def update(self, day: int, model: str, pk: Any, **fields: Any) -> None:
        """Log changed fields of an existing record."""
        self.events.append((day, "update", model, pk, fields))

    def delete(self, day: int, model: str, pk: Any) -> None:
        """Log the deletion of a record."""
        self.events.append((day, "delete", model, pk, None))


def snapshot_path(out_dir: Path, day: dt.date) -> Path:
    """Path of the snapshot of ``day``."""
    return Path(out_dir) / SNAPSHOT_DIR / f"{day.isoformat()}_alyxfull.json"


def _line(model: str, pk: Any, fields: dict[str, Any]) -> str:
    return json.dumps({"model": model, "pk": pk, "fields": fields}, sort_keys=True, separators=(",", ":"), allow_nan=False)


def write_snapshots(out_dir: Path, events: list[Event], start: dt.date, days: int) -> list[Path]:
    """Replay ``events`` and write one snapshot per day; return the paths in day order.

    Events of a day apply creates first, then updates, then deletes (each group in log order);
    events dated before day 0 land in the first snapshot, events after the last day are dropped.
    """
    folder = Path(out_dir) / SNAPSHOT_DIR
    folder.mkdir(parents=True, exist_ok=True)
    ordered = sorted(enumerate(events), key=lambda ie: (max(ie[1][0], 0), _OP_ORDER[ie[1][1]], ie[0]))
    state: dict[tuple[str, Any], dict[str, Any]] = {}
    lines: dict[tuple[str, Any], str] = {}
    paths = []
    i = 0
    for day in range(days):
        while i < len(ordered) and max(ordered[i][1][0], 0) <= day:
            _, op, model, pk, fields = ordered[i][1]
            key = (model, pk)
            if op == "create":
                if key in state:
                    raise DataError(f"LIMS event log creates {model} {pk} twice; fix the simulator's event log.")
                state[key] = dict(fields or {})
            elif key not in state:
                raise DataError(f"LIMS event log {op}s {model} {pk}, which does not exist on day {day}.")
            elif op == "update":
                state[key].update(fields or {})
            else:
                del state[key]
                lines.pop(key, None)
                i += 1
                continue
            lines[key] = _line(model, pk, state[key])
            i += 1
        body = ",\n".join(lines[k] for k in sorted(lines, key=lambda k: (k[0], str(k[1]))))
        path = snapshot_path(out_dir, start + dt.timedelta(days=day))
        path.write_text("[\n" + body + "\n]\n", encoding="utf-8")
        paths.append(path)
    return paths


@dataclass(frozen=True)
class DaySnapshot:
    """One day's LIMS dump.

    Attributes
    ----------
    date : datetime.date
        The simulated day (the dump is taken at its end).
    path : pathlib.Path
        The JSON file.
    records : list of dict
        ``{"model", "pk", "fields"}`` records, sorted by (model, pk).
    """

    date: dt.date
    path: Path
    records: list[dict[str, Any]] = field(repr=False)

    def by_model(self, model: str) -> dict[Any, dict[str, Any]]:
        """Map pk -> fields for every record of ``model`` (e.g. ``"actions.session"``)."""
        return {r["pk"]: r["fields"] for r in self.records if r["model"] == model}


def load_snapshot(path: Path) -> list[dict[str, Any]]:
    """Read one snapshot file into a list of records."""
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


def iter_days(out_dir: Path | str) -> Iterator[DaySnapshot]:
    """Yield the daily LIMS snapshots of a simulation, oldest first.

    Parameters
    ----------
    out_dir : path
        The folder given to :func:`brainlab.simulate.simulate`.

    Raises
    ------
    labjoin.errors.DataError
        If the folder holds no snapshots.
    """
    folder = Path(out_dir) / SNAPSHOT_DIR
    paths = sorted(folder.glob("*_alyxfull.json"))
    if not paths:
        raise DataError(f"No LIMS snapshots in {folder}; run brainlab.simulate.simulate(out_dir, config) first.")
    for path in paths:
        day = dt.date.fromisoformat(path.name.split("_", 1)[0])
        yield DaySnapshot(day, path, load_snapshot(path))


@dataclass(frozen=True)
class SnapshotDiff:
    """What changed between two dumps, as sets of ``(model, pk)``.

    ``modified`` compares the fields of records present in both (their full JSON, as the IBL
    ingestion compares ``json.dumps(fields, sort_keys=True)``).
    """

    created: set[tuple[str, Any]]
    modified: set[tuple[str, Any]]
    deleted: set[tuple[str, Any]]

    def of_model(self, model: str) -> SnapshotDiff:
        """The same diff restricted to one model."""
        def keep(keys: set[tuple[str, Any]]) -> set[tuple[str, Any]]:
            return {k for k in keys if k[0] == model}
        return SnapshotDiff(keep(self.created), keep(self.modified), keep(self.deleted))


def diff_snapshots(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> SnapshotDiff:
    """Compare two snapshots (lists of records)."""
    def index(records: list[dict[str, Any]]) -> dict[tuple[str, Any], str]:
        return {(r["model"], r["pk"]): json.dumps(r["fields"], sort_keys=True) for r in records}

    a, b = index(old), index(new)
    created = set(b) - set(a)
    deleted = set(a) - set(b)
    modified = {k for k in set(a) & set(b) if a[k] != b[k]}
    return SnapshotDiff(created, modified, deleted)
