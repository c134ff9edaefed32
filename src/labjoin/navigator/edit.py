"""Data functions of the admin forms: insert, update, and delete with a cascade preview.

Form fields arrive as text and are parsed per attribute type (:func:`values.parse_value`);
blobs cannot be entered in a form. A delete is planned with
:func:`labjoin.tables.delete.plan_cascade` and its rows per table are shown before anything
is deleted; the confirmation carries the total it was shown, and if the data changed in
between, the new preview is shown instead of deleting.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .. import errors
from ..graph.dependencies import class_name_of
from ..tables.delete import plan_cascade
from .browse import attribute_info
from .db import Tables
from .urls import Urls
from .values import parse_key, parse_value, to_json

__all__ = ["delete_preview", "delete_row", "form_page", "insert_row", "update_row"]

EDITABLE_TIERS = ("Manual", "Lookup")
MAX_CHOICES = 200


def _editable(db: Tables, schema: str, name: str) -> Any:
    table = db.table(schema, name)
    if table.tier not in EDITABLE_TIERS:
        raise errors.AccessError(
            f"{name} is a {table.tier} table: its rows come from populate(), not from forms. "
            "Only Manual and Lookup tables can be edited here."
        )
    return table


def _choices(db: Tables, table: Any) -> dict[str, list[Any]]:
    """Values to pick from for attributes that reference a small parent table by one attribute."""
    deps = db.conn.dependencies.load()
    out: dict[str, list[Any]] = {}
    node = table.full_table_name
    if node not in deps:
        return out
    for parent, _ in deps.in_edges(node):
        attr_map = deps.edges[parent, node]["attr_map"]
        if len(attr_map) != 1:
            continue
        (child_attr, parent_attr), = attr_map.items()
        data = deps.nodes[parent]
        ptable = db.table(data["schema"], class_name_of(data["table"]))
        if len(ptable) <= MAX_CHOICES:
            out[child_attr] = [to_json(v) for v in ptable.fetch(parent_attr, order_by=parent_attr)]
    return out


def form_page(db: Tables, schema: str, name: str, urls: Urls, params: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The fields of an insert form, or of an update form filled with the row's values."""
    table = _editable(db, schema, name)
    heading = table.heading
    values: dict[str, Any] = {}
    key = None
    if params is not None:
        key = parse_key(heading, params)
        rows = (table & key).fetch(*[n for n in heading.names if not heading[n].is_blob], as_dict=True, limit=1)
        if not rows:
            raise errors.MissingTableError(f"No row of {name} has the key {to_json(key)}.")
        values = {n: to_json(v) for n, v in rows[0].items()}
    return {
        "schema": schema, "table": name, "mode": "update" if key else "insert", "key": to_json(key),
        "attributes": [attribute_info(heading[n]) for n in heading.names],
        "values": values, "choices": _choices(db, table),
        "table_url": urls.table(schema, name),
        "action": urls.edit(schema, name, "update", key) if key else urls.edit(schema, name, "insert"),
    }


def _row_from_form(heading: Any, form: Mapping[str, str], *, update: bool) -> dict[str, Any]:
    row: dict[str, Any] = {}
    for n in heading.names:
        a = heading[n]
        if a.is_blob or (update and a.in_key):
            continue
        text = form.get(n)
        if text is None or text == "":
            if a.nullable:
                row[n] = None
            elif a.default is None and not update:
                raise errors.MissingAttributeError(f"`{n}` is required.")
            continue
        row[n] = parse_value(a, text)
    return row


def insert_row(db: Tables, schema: str, name: str, form: Mapping[str, str]) -> dict[str, Any]:
    """Insert the row described by ``form``; its primary key."""
    table = _editable(db, schema, name)
    row = _row_from_form(table.heading, form, update=False)
    table.insert1(row)
    return {k: row[k] for k in table.heading.primary_key if k in row}


def update_row(db: Tables, schema: str, name: str, params: Mapping[str, str], form: Mapping[str, str]) -> dict[str, Any]:
    """Change the secondary attributes of the row with the key in ``params``; its key."""
    table = _editable(db, schema, name)
    key = parse_key(table.heading, params)
    row = _row_from_form(table.heading, form, update=True)
    table.update1({**key, **row})
    return key


def delete_preview(db: Tables, schema: str, name: str, params: Mapping[str, str], urls: Urls) -> dict[str, Any]:
    """What deleting one row would delete: rows per table along the cascade (children first)."""
    table = db.table(schema, name)
    key = parse_key(table.heading, params)
    restricted = table & key
    if not restricted:
        raise errors.MissingTableError(f"No row of {name} has the key {to_json(key)}.")
    out: dict[str, Any] = {"schema": schema, "table": name, "key": to_json(key),
                           "row_url": urls.row(schema, name, key), "action": urls.edit(schema, name, "delete", key),
                           "counts": [], "total": 0, "blocked": None}
    try:
        plan = plan_cascade(restricted)
    except errors.PartIntegrityError as e:
        out["blocked"] = str(e)
        return out
    for _name, t in plan:
        n = len(t)
        if n:
            out["counts"].append({"schema": t.database, "table": class_name_of(t.table_name), "rows": n,
                                  "url": urls.table(t.database, class_name_of(t.table_name))})
    out["total"] = sum(c["rows"] for c in out["counts"])
    return out


def delete_row(db: Tables, schema: str, name: str, params: Mapping[str, str], expected_total: int,
               urls: Urls) -> dict[str, Any]:
    """Delete the row and its dependents if the cascade still has ``expected_total`` rows.

    Returns ``{"deleted": n}``, or the new preview with ``"changed": True`` when the data
    changed since the preview was shown.
    """
    preview = delete_preview(db, schema, name, params, urls)
    if preview["blocked"]:
        raise errors.PartIntegrityError(preview["blocked"])
    if preview["total"] != expected_total:
        return {**preview, "changed": True}
    table = db.table(schema, name)
    key = parse_key(table.heading, params)
    (table & key).delete(safemode=False)
    return {"deleted": preview["total"], "counts": preview["counts"], "table_url": urls.table(schema, name)}
