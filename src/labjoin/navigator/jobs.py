"""Data functions of the jobs page: reserved, error and ignored jobs of a schema's ``~jobs`` table.

The table has DataJoint 0.14's layout (``labjoin.populate.jobs``). Retrying a job deletes its
row, so that the next ``populate(reserve_jobs=True)`` tries the key again; ignoring it sets its
status to ``ignore``, so that workers skip it. Reservations whose worker is gone are marked
stale (``labjoin.populate.jobs.is_stale``). Columns added to the table later are shown too.
"""

from __future__ import annotations

from typing import Any

from .. import errors
from ..graph.dependencies import class_name_of
from ..populate.jobs import JobRow, is_stale, live_connections
from .db import Tables
from .urls import Urls
from .values import to_json

__all__ = ["job_action", "jobs_page"]

MAX_JOBS = 500
STATUSES = ("reserved", "error", "ignore")


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode(errors="replace")
    if isinstance(value, (list, tuple)):
        return "\n".join(str(v) for v in value)
    return str(value)


def jobs_page(db: Tables, schema: str, urls: Urls, *, status: str | None = None,
              table: str | None = None) -> dict[str, Any]:
    """Counts per table and status, and the newest jobs (optionally one status / table)."""
    if status is not None and status not in STATUSES:
        raise errors.DataError(f"`status` is one of {', '.join(STATUSES)}; {status!r} is not.")
    jobs = db.hidden(schema, "~jobs")
    out: dict[str, Any] = {"schema": schema, "schema_url": urls.schema(schema), "statuses": list(STATUSES),
                           "status": status, "table": table, "summary": [], "jobs": [],
                           "retry_url": urls.job_action(schema, "retry"),
                           "ignore_url": urls.job_action(schema, "ignore")}
    if jobs is None:
        return out
    names = jobs.heading.names
    counts: dict[str, dict[str, int]] = {}
    for r in jobs.fetch("table_name", "status", as_dict=True):
        counts.setdefault(r["table_name"], dict.fromkeys(STATUSES, 0))
        counts[r["table_name"]][r["status"]] = counts[r["table_name"]].get(r["status"], 0) + 1
    out["summary"] = [{"table": _label(t), "table_name": t, **c} for t, c in sorted(counts.items())]
    restriction: dict[str, Any] = {}
    if status:
        restriction["status"] = status
    if table:
        restriction["table_name"] = table
    order = "timestamp DESC" if "timestamp" in names else "KEY"
    rows = (jobs & restriction).fetch(as_dict=True, order_by=order, limit=MAX_JOBS)
    live = live_connections(db.conn) if any(r["status"] == "reserved" for r in rows) else None
    for r in rows:
        entry = {n: to_json(r[n], summarize=True) for n in names if n not in ("key", "error_stack")}
        entry["key"] = to_json(r.get("key"), summarize=True)
        entry["error_stack"] = _text(r.get("error_stack"))
        entry["table"] = _label(r["table_name"])
        entry["stale"] = r["status"] == "reserved" and is_stale(db.conn, JobRow(
            r["key_hash"], r["status"], str(r.get("user") or ""), str(r.get("host") or ""), int(r.get("pid") or 0),
            int(r.get("connection_id") or 0)), live)
        out["jobs"].append(entry)
    return out


def _label(table_name: str) -> str:
    """``__session_stats`` -> ``SessionStats``; DataJoint stores table names with the backticks."""
    bare = table_name.split(".")[-1].strip("`")
    return class_name_of(bare)


def job_action(db: Tables, schema: str, action: str, table_name: str, key_hash: str) -> int:
    """Retry (delete the row) or ignore (status 'ignore') one job; the number of rows changed."""
    jobs = db.hidden(schema, "~jobs")
    if jobs is None:
        raise errors.MissingTableError(f"Schema `{schema}` has no jobs table.")
    if action not in ("retry", "ignore"):
        raise errors.DataError(f"Job action {action!r}: use 'retry' or 'ignore'.")
    row = jobs & {"table_name": table_name, "key_hash": key_hash}
    if not row:
        return 0
    if action == "retry":
        return int(row.delete_quick(get_count=True) or 0)
    jobs.update1({"table_name": table_name, "key_hash": key_hash, "status": "ignore"})
    return 1
