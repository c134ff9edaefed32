"""Apply one LIMS snapshot: detect created, modified and deleted records and apply them.

**Diff.** Each snapshot record is hashed (md5 of its fields as sorted JSON) and compared with
``ingest.LimsRecord``, the records as last applied: a pk not there is *created*, another hash is
*modified*, a stored pk missing from the snapshot is *deleted* (reference §3.2 step 0).

**Units of work.** Created records are inserted a model at a time, in chunks, each chunk in one
transaction together with its ``LimsRecord`` rows; a modified or deleted record is one
transaction. A crash therefore leaves every unit either applied (and recorded) or not, and the
next run, diffing again, finishes the rest. Applying the same snapshot twice changes nothing.

**Modifications** are made in place: for each row the record maps to, the attributes whose
stored value differs from the new one are updated (``update1``) and each change is written to
``UpdateRecord`` (table, key, attribute, old, new, time). Rows the record no longer produces
(a user removed from a session, a file record no longer on flatiron) are deleted under the
deletion policy; new ones are inserted. A session keeps its key when the LIMS moves its start
time: the change is recorded with ``applied = 0`` (reference §3.2 step 1).

**Deletions** follow a stated policy (``DeletionRecord`` says what happened to each):

* ``record`` - never delete; record only.
* ``safe`` (default) - delete the record's rows and their Manual dependents (e.g. a session's
  users, datasets and file records) only if nothing imported or computed depends on them;
  otherwise leave everything and record the deletion as ``pending``, naming the derived rows.
* ``cascade`` - delete the rows and everything derived from them; the counts per table are
  written in the ``DeletionRecord``. Subjects losing a session are reported so the daily run
  recomputes their training status and summaries.

Derived data is never removed silently: either the policy says so and the record lists it, or
nothing is removed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import labjoin as dj
from labjoin import errors
from labjoin.tables.delete import plan_cascade

from .. import acquisition, behavior, data, ephys
from . import bookkeeping as bk
from .lims_map import MODEL_ORDER, Resolver, map_record

__all__ = ["POLICIES", "ApplyResult", "apply_pending", "apply_snapshot", "record_hash"]

POLICIES = ("record", "safe", "cascade")
CHUNK = 2000
#: Summaries every daily run rebuilds from scratch: they never block a deletion (they are
#: deleted with the record and listed in its DeletionRecord).
REBUILT_DAILY = ("daily_lab_summary", "cumulative_summary")


def _is_derived(full_name: str) -> bool:
    """Rows of an Imported or Computed table (or of one of their parts): names start with ``_``."""
    return full_name.split(".")[-1].strip("`\"").startswith("_")


def _rebuilt_daily(full_name: str) -> bool:
    name = full_name.split(".")[-1].strip("`\"").lstrip("_")
    return any(name.startswith(r) for r in REBUILT_DAILY)


def record_hash(fields: dict[str, Any]) -> str:
    """md5 of the fields as sorted, compact JSON."""
    return hashlib.md5(json.dumps(fields, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


@dataclass
class ApplyResult:
    """What one snapshot changed."""

    created: int = 0
    modified: int = 0
    deleted: int = 0
    updates: int = 0
    errors: int = 0
    deletions_pending: int = 0
    sessions_with_new_files: set[tuple[Any, ...]] = field(default_factory=set)
    subjects_changed: set[str] = field(default_factory=set)
    sessions_removed: list[dict[str, Any]] = field(default_factory=list)
    details: dict[str, dict[str, int]] = field(default_factory=lambda: defaultdict(lambda: defaultdict(int)))


def _norm(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        return value.item()
    return value


def _same(a: Any, b: Any) -> bool:
    a, b = _norm(a), _norm(b)
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return math.isclose(float(a), float(b), rel_tol=1e-6, abs_tol=1e-9)
    if isinstance(a, str) and isinstance(b, str):
        try:  # uuids compare case-insensitively
            return uuid.UUID(a) == uuid.UUID(b)
        except ValueError:
            return a == b
    return a == b


def _text(value: Any) -> str | None:
    value = _norm(value)
    if value is None:
        return None
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    return str(value)[:2000]


def _pk(table: Any, row: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(_norm(row[k]) for k in table.heading.primary_key)


def _key(table: Any, row: dict[str, Any]) -> dict[str, Any]:
    return {k: row[k] for k in table.heading.primary_key}


class _Applier:
    def __init__(self, conn: dj.Connection, records: list[dict[str, Any]] | None, job_id: int, policy: str) -> None:
        if policy not in POLICIES:
            raise errors.ConfigError(f"Deletion policy {policy!r} is unknown; use one of {', '.join(POLICIES)}.")
        self.conn = conn
        self.job_id = job_id
        self.policy = policy
        self.result = ApplyResult()
        self.snapshot: dict[str, dict[Any, dict[str, Any]]] = defaultdict(dict)
        for r in records or []:
            self.snapshot[r["model"]][r["pk"]] = r["fields"]
        models, pks, hashes, states = bk.LimsRecord.fetch("model", "pk", "fields_hash", "state")
        self.stored = {(m, p): (h, s) for m, p, h, s in zip(models, pks, hashes, states)}
        self.created: dict[str, list[Any]] = defaultdict(list)
        self.modified: dict[str, list[Any]] = defaultdict(list)
        self.hashes: dict[tuple[str, str], str] = {}
        for model, recs in self.snapshot.items():
            for pk, fields in recs.items():
                h = record_hash(fields)
                self.hashes[(model, str(pk))] = h
                old = self.stored.get((model, str(pk)))
                if old is None:
                    self.created[model].append(pk)
                elif old[0] != h:
                    self.modified[model].append(pk)
        present = {(m, str(p)) for m, recs in self.snapshot.items() for p in recs}
        self.deleted: dict[str, list[str]] = defaultdict(list)
        for (model, pk), (_, state) in self.stored.items():
            if records is None:  # resolving pending deletions: only those
                if state == "deleted_pending":
                    self.deleted[model].append(pk)
            elif (model, pk) not in present and state == "applied":
                self.deleted[model].append(pk)
        wanted = ([(m, p) for m in self.modified for p in self.modified[m]]
                  + [(m, p) for m in self.deleted for p in self.deleted[m]])
        if records is None:  # no snapshot: resolve references from every applied record
            wanted = list(self.stored)
        previous = self._old_fields(wanted)
        self.previous_fields = previous
        prev_by_model: dict[str, dict[Any, dict[str, Any]]] = defaultdict(dict)
        for (m, p), f in previous.items():
            prev_by_model[m][p] = f
            prev_by_model[m][_int_or(p)] = f
        uuids, subjects, starts = acquisition.Session.fetch("session_uuid", "subject_uuid", "session_start_time")
        keys = {str(u): {"subject_uuid": s, "session_start_time": t} for u, s, t in zip(uuids, subjects, starts)}
        self.resolver = Resolver(self.snapshot, prev_by_model, keys)

    def _old_fields(self, items: list[tuple[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
        out: dict[tuple[str, str], dict[str, Any]] = {}
        by_model: dict[str, list[str]] = defaultdict(list)
        for m, p in items:
            by_model[m].append(str(p))
        for m, pks in by_model.items():
            for i in range(0, len(pks), 500):
                restriction = [{"model": m, "pk": p} for p in pks[i:i + 500]]
                for p, f in zip(*(bk.LimsRecord & restriction).fetch("pk", "fields")):
                    out[(m, p)] = json.loads(_as_text(f))
        return out

    # -- created ------------------------------------------------------------------------------
    def apply_created(self) -> None:
        for model in _ordered(self.created):
            pks = self.created[model]
            for i in range(0, len(pks), CHUNK):
                chunk = pks[i:i + CHUNK]
                try:
                    with self.conn.transaction:
                        self._insert_records(model, chunk)
                except errors.DataJointError:
                    # one bad record must not block the others: retry one by one
                    for pk in chunk:
                        try:
                            with self.conn.transaction:
                                self._insert_records(model, [pk])
                        except errors.DataJointError as e:
                            self._error(model, pk, e)

    def _insert_records(self, model: str, pks: list[Any]) -> None:
        by_table: dict[Any, list[dict[str, Any]]] = {}
        for pk in pks:
            for table, row in map_record(model, pk, self.snapshot[model][pk], self.resolver):
                by_table.setdefault(table, []).append(row)
        for table, rows in by_table.items():
            table.insert(rows, skip_duplicates=True, allow_direct_insert=True)
            self._note(table, rows, "created")
        bk.LimsRecord.insert(
            [dict(model=model, pk=str(pk), fields_hash=self.hashes[(model, str(pk))],
                  fields=json.dumps(self.snapshot[model][pk], sort_keys=True), state="applied",
                  applied_job=self.job_id) for pk in pks], replace=True)
        if model == "actions.session":
            for row in by_table.get(acquisition.Session, []):
                self.resolver.session_keys[str(row["session_uuid"])] = {
                    "subject_uuid": row["subject_uuid"], "session_start_time": row["session_start_time"]}
        self.result.created += len(pks)

    def _note(self, table: Any, rows: list[dict[str, Any]], what: str) -> None:
        self.result.details[table.__name__][what] += len(rows)
        if table is data.FileRecord:
            for r in rows:
                self.result.sessions_with_new_files.add((str(r["subject_uuid"]), r["session_start_time"]))
        for r in rows:
            if "subject_uuid" in r:
                self.result.subjects_changed.add(str(r["subject_uuid"]))

    # -- modified -----------------------------------------------------------------------------
    def apply_modified(self) -> None:
        for model in _ordered(self.modified):
            for pk in self.modified[model]:
                try:
                    with self.conn.transaction:
                        self._modify(model, pk)
                except errors.DataJointError as e:
                    self._error(model, pk, e)

    def _modify(self, model: str, pk: Any) -> None:
        old_fields = self.previous_fields.get((model, str(pk)), {})
        new_fields = self.snapshot[model][pk]
        old_rows = map_record(model, pk, old_fields, self.resolver) if old_fields else []
        new_rows = map_record(model, pk, new_fields, self.resolver)
        tables: list[Any] = []
        old_by: dict[Any, dict[tuple[Any, ...], dict[str, Any]]] = defaultdict(dict)
        new_by: dict[Any, dict[tuple[Any, ...], dict[str, Any]]] = defaultdict(dict)
        for table, row in new_rows:
            new_by[table][_pk(table, row)] = row
            tables.append(table)
        for table, row in old_rows:
            old_by[table][_pk(table, row)] = row
            tables.append(table)
        for table in dict.fromkeys(tables):
            new, old = new_by[table], old_by[table]
            for row in new.values():
                key = _key(table, row)
                stored = (table & key).fetch(as_dict=True)
                if not stored:
                    table.insert1(row, allow_direct_insert=True)
                    self._note(table, [row], "created")
                    continue
                changes = {a: v for a, v in row.items() if a not in key and not _same(v, stored[0].get(a))}
                if changes:
                    table.update1({**key, **changes})
                    for attr, value in changes.items():
                        self._audit(table, key, attr, stored[0].get(attr), value, True, "")
                    self._note(table, [row], "updated")
            for pkv, row in old.items():
                if pkv not in new:
                    # a row the record no longer produces: never more than the safe policy allows
                    self._remove(table, _key(table, row), "cascade" if self.policy == "cascade" else "safe")
        if model == "actions.session":
            self._check_start_time(pk, old_fields, new_fields)
        bk.LimsRecord.update1(dict(model=model, pk=str(pk), fields_hash=self.hashes[(model, str(pk))],
                                   fields=json.dumps(new_fields, sort_keys=True), state="applied",
                                   applied_job=self.job_id))
        self.result.modified += 1

    def _check_start_time(self, pk: Any, old: dict[str, Any], new: dict[str, Any]) -> None:
        key = self.resolver.session(pk)
        lims_start = dt.datetime.fromisoformat(new["start_time"])
        if lims_start != key["session_start_time"]:
            already = bk.UpdateRecord & {"table_name": acquisition.Session.full_table_name.replace("`", ""),
                                         "pk_hash": _pk_hash(key), "attribute": "session_start_time",
                                         "updated_value": _text(lims_start)}
            if not len(already):
                self._audit(acquisition.Session, key, "session_start_time", key["session_start_time"], lims_start,
                            False, "The LIMS moved the session's start time; the session keeps its key "
                            "(it is identified by session_uuid).")

    def _audit(self, table: Any, key: dict[str, Any], attr: str, old: Any, new: Any, applied: bool,
               narrative: str) -> None:
        last = bk.UpdateRecord.fetch("update_id", order_by="update_id DESC", limit=1)
        next_id = int(last[0]) + 1 if len(last) else 1
        bk.UpdateRecord.insert1(dict(
            update_id=next_id, table_name=table.full_table_name.replace("`", ""), pk_hash=_pk_hash(key),
            pk_dict=json.dumps({k: _text(v) for k, v in key.items()}, sort_keys=True), attribute=attr,
            original_value=_text(old), updated_value=_text(new), applied=applied, narrative=narrative,
            update_ts=dt.datetime.now().replace(microsecond=0), job_id=self.job_id))
        self.result.updates += 1

    # -- deleted ------------------------------------------------------------------------------
    def apply_deleted(self) -> None:
        for model in reversed(_ordered(self.deleted)):
            for pk in self.deleted[model]:
                try:
                    with self.conn.transaction:
                        self._delete_record(model, pk)
                except errors.DataJointError as e:
                    self._error(model, pk, e)

    def _delete_record(self, model: str, pk: str) -> None:
        fields = self.previous_fields.get((model, pk), {})
        rows = map_record(model, _int_or(pk), fields, self.resolver) if fields else []
        status, removed, notes = "applied", 0, []
        if self.policy == "record":
            status = "recorded"
            notes.append("policy 'record': nothing deleted")
        elif rows:
            table, row = rows[0]
            removed, note, blocked = self._remove(table, _key(table, row), self.policy)
            notes.append(note)
            if blocked:
                status = "pending"
        else:
            notes.append("the record had no rows in the database")
        bk.DeletionRecord.insert1(dict(
            model=model, pk=pk, policy=self.policy, deletion_status=status, rows_deleted=removed,
            narrative="; ".join(notes)[:4000], deletion_ts=dt.datetime.now().replace(microsecond=0),
            job_id=self.job_id), replace=True)
        if status == "applied":
            (bk.LimsRecord & {"model": model, "pk": pk}).delete_quick()
        else:
            bk.LimsRecord.update1(dict(model=model, pk=pk, state="deleted_pending"))
            self.result.deletions_pending += 1
        self.result.deleted += 1

    def _remove(self, table: Any, key: dict[str, Any], policy: str) -> tuple[int, str, bool]:
        """Delete ``table & key`` under the policy; (rows deleted, note, blocked)."""
        target = table & key
        if not len(target):
            return 0, f"{table.__name__} {_brief(key)}: not in the database", False
        plan = plan_cascade(target, part_integrity="cascade")
        counts = [(name, len(t)) for name, t in plan]
        counts = [(n, c) for n, c in counts if c]
        derived = [(n, c) for n, c in counts if _is_derived(n) and not _rebuilt_daily(n)
                   and n != table.full_table_name]
        listing = ", ".join(f"{n.replace('`', '')}: {c}" for n, c in counts)
        if derived and policy == "safe":
            names = ", ".join(f"{n.replace('`', '')}: {c}" for n, c in derived)
            return 0, f"{table.__name__} {_brief(key)} kept: derived rows depend on it ({names})", True
        if table is acquisition.Session:
            self.result.sessions_removed.append(dict(key))
        if "subject_uuid" in key:
            self.result.subjects_changed.add(str(key["subject_uuid"]))
        target.delete(safemode=False, part_integrity="cascade")
        total = sum(c for _, c in counts)
        self.result.details[table.__name__]["deleted"] += 1
        return total, f"deleted {listing}", False

    def _error(self, model: str, pk: Any, e: Exception) -> None:
        self.result.errors += 1
        bk.UpdateError.insert1(dict(model=model, pk=str(pk), job_id=self.job_id,
                                    error_message=f"{type(e).__name__}: {e}"[:2000]), skip_duplicates=True)

    # -- missing-data logs --------------------------------------------------------------------
    def clear_missing_logs(self) -> int:
        """Let sessions that received new files be checked again (their logs are cleared)."""
        keys = [{"subject_uuid": s, "session_start_time": t} for s, t in self.result.sessions_with_new_files]
        cleared = 0
        for i in range(0, len(keys), 500):
            chunk = keys[i:i + 500]
            with self.conn.transaction:
                for table in (behavior.MissingDataLog, ephys.EphysMissingDataLog, behavior.SessionDelayAvailability,
                              behavior.SettingsAvailability):
                    cleared += (table & chunk).delete_quick(get_count=True) or 0
        return cleared


def _brief(key: dict[str, Any]) -> str:
    return json.dumps({k: _text(v) for k, v in key.items()}, sort_keys=True)


def _pk_hash(key: dict[str, Any]) -> str:
    return hashlib.md5(_brief(key).encode()).hexdigest()


def _as_text(value: Any) -> str:
    return value.decode() if isinstance(value, (bytes, bytearray, memoryview)) else str(value)


def _int_or(pk: Any) -> Any:
    try:
        return int(pk)
    except (TypeError, ValueError):
        return pk


def _ordered(models: dict[str, Any]) -> list[str]:
    known = [m for m in MODEL_ORDER if m in models]
    return known + sorted(m for m in models if m not in MODEL_ORDER)


def apply_snapshot(conn: dj.Connection, records: list[dict[str, Any]], job_id: int, policy: str = "safe",
                   step: Any = None) -> ApplyResult:
    """Diff ``records`` (one snapshot) against ``LimsRecord`` and apply it (module docstring).

    ``step(name)`` is a context manager that times each step (the daily job passes one).
    """
    from contextlib import nullcontext

    def timed(name: str) -> Any:
        return step(name) if step is not None else nullcontext()

    with timed("load_snapshot") as detail:
        applier = _Applier(conn, records, job_id, policy)
        if detail is not None:
            detail.update(records=len(records), created=sum(map(len, applier.created.values())),
                          modified=sum(map(len, applier.modified.values())),
                          deleted=sum(map(len, applier.deleted.values())))
    result = applier.result
    with timed("apply_created") as detail:
        applier.apply_created()
        if detail is not None:
            detail.update(records=result.created, errors=result.errors,
                          rows={t: v["created"] for t, v in result.details.items() if v.get("created")})
    with timed("apply_modified") as detail:
        applier.apply_modified()
        if detail is not None:
            detail.update(records=result.modified, field_updates=result.updates, errors=result.errors)
    with timed("apply_deleted") as detail:
        applier.apply_deleted()
        if detail is not None:
            detail.update(records=result.deleted, pending=result.deletions_pending, policy=policy)
    with timed("clear_missing_logs") as detail:
        cleared = applier.clear_missing_logs()
        if detail is not None:
            detail.update(sessions_with_new_files=len(result.sessions_with_new_files), log_rows_cleared=cleared)
    return result


def apply_pending(conn: dj.Connection, job_id: int, policy: str = "cascade") -> ApplyResult:
    """Apply the deletions left ``pending`` by the safe policy, now under ``policy``.

    This is the explicit, recorded way to let derived data go (``brainlab deletions --apply``).
    """
    applier = _Applier(conn, None, job_id, policy)
    applier.apply_deleted()
    return applier.result
