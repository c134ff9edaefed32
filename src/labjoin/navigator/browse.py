"""Data functions of the generic browser: schemas, a schema, a table page, a row.

Each function takes a :class:`~labjoin.navigator.db.Tables` lookup (the request's connection),
the validated request, and a :class:`~labjoin.navigator.urls.Urls` builder, and returns
JSON-safe data: the HTML page renders it and the JSON twin returns it as it is.
"""

from __future__ import annotations

from typing import Any

from .. import errors
from ..graph.dependencies import class_name_of
from ..sql import catalog
from .db import Tables
from .filters import (
    OPERATORS,
    TableQuery,
    anchor_columns,
    compile_filters,
    count_rows,
    seek_condition,
    seekable,
    sort_order,
    total_order,
)
from .urls import Urls
from .values import parse_key, preview, to_json

__all__ = ["attribute_info", "diagram_svg", "row_page", "schema_page", "schemas_page", "table_page"]

TIER_ORDER = ("Lookup", "Manual", "Imported", "Computed", "Part")
_INPUTS = {"INTEGER": "number", "FLOAT": "number", "DECIMAL": "number", "YEAR": "number", "DATE": "date",
           "DATETIME": "datetime", "TIMESTAMP": "datetime", "TIME": "time", "ENUM": "select", "BOOL": "bool",
           "UUID": "uuid", "JSON": "json"}
MAX_PART_ROWS = 200
# Backends on which a page is read in two steps, the keys of its rows first (ORDER BY ... LIMIT
# ... OFFSET over the key and sort columns alone), then those rows' shown columns. Measured on
# 1e6 rows (benchmarks/bench_navigator.py): MariaDB's filesort of a top-N by an unindexed
# attribute takes ~30% less time on narrow rows and skipping 500,000 rows in key order ~30% less;
# SQLite skips 500,000 rows in a third of the time. PostgreSQL is faster in one step (its heap
# rows cost the same to sort whole; a narrow index scan still visits every heap row).
NARROW_FIRST = frozenset({"sqlite", "mysql"})


def attribute_info(attr: Any) -> dict[str, Any]:
    """What pages and forms need to know about one attribute."""
    default = attr.default
    if default is not None:  # a definition.model.Default: null, current_timestamp, literal, expression
        kind = getattr(default, "kind", None)
        value = getattr(default, "value", None)
        default = {"null": "null", "current_timestamp": "CURRENT_TIMESTAMP"}.get(str(kind), value)
    return {
        "name": attr.name,
        "type": attr.declared_type,
        "category": attr.category.lower(),
        "in_key": attr.in_key,
        "nullable": attr.nullable,
        "default": to_json(default),
        "has_default": attr.default is not None,
        "comment": attr.comment,
        "blob": attr.is_blob,
        "values": list(getattr(attr.type, "values", ()) or ()),
        "input": "blob" if attr.is_blob else _INPUTS.get(attr.category, "text"),
    }


def _visible_tables(conn: Any, schema: str) -> list[str]:
    return [t for t in catalog.load_schema(conn, schema) if not t.startswith("~")]


def schemas_page(db: Tables, urls: Urls) -> dict[str, Any]:
    """Every schema with its number of tables."""
    out = []
    for s in db.schemas():
        out.append({"name": s, "tables": len(_visible_tables(db.conn, s)), "url": urls.schema(s)})
    return {"schemas": out}


def diagram_svg(db: Tables, schema: str, urls: Urls) -> str | None:
    """The schema's diagram as SVG, each table linking to its page (None for a schema with no tables)."""
    if not db.has_schema(schema):
        raise errors.MissingSchemaError(f"Schema `{schema}` does not exist in this database.")
    conn = db.conn
    key = ("navigator.svg", schema)  # cleared with the schema's catalog entries after DDL
    cache = conn._catalog_cache
    if key in cache:
        return cache[key]
    from ..graph.diagram import Diagram

    deps = conn.dependencies.load()
    nodes = {n for n in deps.nodes if deps.nodes[n].get("schema") == schema}
    svg = None
    if nodes:
        def link(node: str) -> str | None:
            data = deps.nodes[node]
            return urls.table(data.get("schema", schema), class_name_of(data["table"]))

        svg = str(Diagram.from_graph(deps, nodes).make_svg(link=link))
    cache[key] = svg
    return svg


def schema_page(db: Tables, schema: str, urls: Urls, *, diagram: bool = True,
                count_limit: int | None = None) -> dict[str, Any]:
    """The tables of ``schema`` grouped by tier, with row counts (up to ``count_limit``: beyond
    it ``rows_exact`` is false), and its diagram."""
    if not db.has_schema(schema):
        raise errors.MissingSchemaError(f"Schema `{schema}` does not exist in this database.")
    conn = db.conn
    infos = catalog.load_schema(conn, schema)
    groups: dict[str, list[dict[str, Any]]] = {t: [] for t in TIER_ORDER}
    for name in _visible_tables(conn, schema):
        ref = db.ref(schema, name)
        t = ref.free(conn)
        tier = t.tier if t.tier in groups else "Manual"
        rows, exact = count_rows(t, count_limit)
        groups[tier].append({
            "name": ref.class_name, "table_name": name, "tier": tier, "comment": infos[name].comment,
            "rows": rows, "rows_exact": exact, "url": urls.table(schema, ref.class_name),
        })
    return {
        "schema": schema,
        "tiers": [{"tier": tier, "tables": rows} for tier, rows in groups.items() if rows],
        "diagram_svg": diagram_svg(db, schema, urls) if diagram else None,
        "diagram_url": urls.diagram(schema),
        "jobs_url": urls.jobs(schema),
        "has_jobs": "~jobs" in infos,
    }


def _relatives(db: Tables, table: Any, urls: Urls) -> dict[str, list[dict[str, Any]]]:
    deps = db.conn.dependencies.load()
    node = table.full_table_name
    out: dict[str, list[dict[str, Any]]] = {"parents": [], "children": [], "parts": []}
    if node not in deps:
        return out
    for direction, edges in (("parents", deps.in_edges(node)), ("children", deps.out_edges(node))):
        for p, c in edges:
            other = p if direction == "parents" else c
            data = deps.nodes[other]
            entry = {"schema": data["schema"], "name": class_name_of(data["table"]),
                     "url": urls.table(data["schema"], class_name_of(data["table"])),
                     "attr_map": dict(deps.edges[p, c]["attr_map"])}
            kind = "parts" if direction == "children" and data.get("master") == node else direction
            out[kind].append(entry)
    return out


def table_page(db: Tables, schema: str, name: str, q: TableQuery, urls: Urls, *,
               count_limit: int | None = None) -> dict[str, Any]:
    """One page of the filtered, sorted rows of a table, with its heading and relatives.

    The rows are counted up to ``count_limit`` (all of them with ``_count=exact``); beyond it,
    ``total_exact`` is false and the pager only knows whether a next page exists. A page reached
    by a "next" or "previous" link starts at the row the link names (``_after``/``_before``,
    see :mod:`~labjoin.navigator.filters`) instead of skipping rows with OFFSET.
    """
    ref = db.ref(schema, name)
    table = ref.free(db.conn)
    heading = table.heading
    restricted = table & compile_filters(heading, q.filters, q.combine)
    pk = heading.primary_key
    if q.columns:
        shown = list(dict.fromkeys([*pk, *q.columns]))
    else:
        shown = [n for n in heading.names if not heading[n].is_blob]
    page, rows, has_next, skipped = _rows(table, restricted, q, shown) if shown else (q.page, [], False, None)
    total, exact = _total(restricted, len(rows), has_next, skipped, None if q.exact_count else count_limit)
    pages = max(1, -(-total // q.size)) if exact else None
    out_rows = [{"key": to_json({k: r[k] for k in pk}), "url": urls.row(schema, ref.class_name, {k: r[k] for k in pk}),
                 "values": {n: to_json(r[n]) for n in shown}} for r in rows]
    base = urls.table(schema, ref.class_name)
    by_position = bool(rows) and seekable(heading, total_order(heading, q.sort))
    next_params = q.params(page=page + 1, after={k: rows[-1][k] for k in pk} if by_position else None)
    prev_params = q.params(page=page - 1, before={k: rows[0][k] for k in pk} if by_position and page > 2 else None)
    return {
        "schema": schema, "table": ref.class_name, "table_name": ref.table, "tier": table.tier,
        "comment": heading.table_comment, "url": base, "schema_url": urls.schema(schema),
        "attributes": [attribute_info(heading[n]) for n in heading.names],
        "columns": shown + ([] if q.columns else [n for n in heading.names if heading[n].is_blob]),
        "filters": [{"attribute": f.attribute, "op": f.op, "value": f.value} for f in q.filters],
        "combine": q.combine, "operators": OPERATORS,
        "sort": [{"attribute": n, "desc": d} for n, d in q.sort],
        "page": page, "size": q.size, "pages": pages, "total": total, "total_exact": exact, "rows": out_rows,
        "count_url": None if exact else urls.table(schema, ref.class_name, q.params(page=page, exact_count=True)),
        "next_url": urls.table(schema, ref.class_name, next_params) if has_next else None,
        "prev_url": urls.table(schema, ref.class_name, prev_params) if page > 1 else None,
        "sort_urls": {n: urls.table(schema, ref.class_name, q.params(page=1, sort=(_toggle(q, n),)))
                      for n in heading.names if not heading[n].is_blob},
        "exports": {fmt: urls.export(schema, ref.class_name, fmt, q.params(page=1)) for fmt in ("csv", "json", "parquet")},
        "query_params": q.params(page=page),
        "relatives": _relatives(db, table, urls),
        "insert_url": urls.edit(schema, ref.class_name, "insert") if table.tier in ("Manual", "Lookup") else None,
        "base_url": base,
    }


def _total(restricted: Any, shown: int, has_next: bool, skipped: int | None, limit: int | None) -> tuple[int, bool]:
    """(number of rows, exact?) of a table page's query, counted only when the page does not tell:
    the last page of an OFFSET read ends the rows, and a page beyond ``limit`` is past the count's
    bound already (a page 20,000 need not count 10,000 rows to say "more than 10,000")."""
    if skipped is None or not (shown or not skipped):
        return count_rows(restricted, limit)  # by position, or past the end: OFFSET skipped fewer rows
    if not has_next:
        return skipped + shown, True
    if limit is not None and skipped + shown > limit:
        return limit, False
    return count_rows(restricted, limit)


def _rows(table: Any, restricted: Any, q: TableQuery, shown: list[str]
          ) -> tuple[int, list[dict[str, Any]], bool, int | None]:
    """(page number, rows, is there a next page?, rows skipped before them or None) of a table page.

    With a position (``_after``/``_before``) whose row still exists and an order that can be
    compared exactly, the rows are those after (before) it (how many rows come before them is
    not known); otherwise OFFSET skips the pages before ``_page``. A "previous" page that meets
    the first row is the first page.
    """
    heading = table.heading
    order = total_order(heading, q.sort)
    position = q.after if q.after is not None else q.before
    seek = None
    if position is not None and seekable(heading, order):
        cols = anchor_columns(heading, order)
        anchor = (table & dict(position)).proj(**{f"nav_anchor_{i}": expr for i, expr in enumerate(cols.values())})
        found = anchor.fetch(as_dict=True, limit=1)
        if found:
            values = {n: found[0][f"nav_anchor_{i}"] for i, n in enumerate(cols)}
            seek = seek_condition(heading, order, values, backward=q.before is not None)
    if seek is None:
        rows = _fetch(table, restricted, shown, sort_order(heading, q.sort), q.size + 1, q.offset)
        return q.page, rows[:q.size], len(rows) > q.size, q.offset
    if q.after is not None:
        rows = _fetch(table, restricted & seek, shown, sort_order(heading, q.sort), q.size + 1, 0)
        return q.page, rows[:q.size], len(rows) > q.size, None
    rows = _fetch(table, restricted & seek, shown, sort_order(heading, q.sort, reverse=True), q.size + 1, 0)
    if len(rows) <= q.size:  # no page before this one: show the first page, whole
        rows = _fetch(table, restricted, shown, sort_order(heading, q.sort), q.size + 1, 0)
        return 1, rows[:q.size], len(rows) > q.size, 0
    return q.page, rows[:q.size][::-1], True, None


def _fetch(table: Any, query: Any, shown: list[str], order_by: list[str], limit: int,
           offset: int) -> list[dict[str, Any]]:
    """``query.fetch(*shown, order_by=, limit=, offset=)``, on `NARROW_FIRST` backends in two
    steps when the database reads more rows than the page shows (an OFFSET, or a sort by an
    attribute outside the key): the primary keys of the page, then the shown columns of those rows
    (in that order). A page in key order from its first row reads only its own rows: one query."""
    heading = table.heading
    pk = heading.primary_key
    sorted_by = {item.split()[0] for item in order_by}
    narrow = (table.connection.backend.name in NARROW_FIRST and pk
              and (offset > 0 or not sorted_by <= set(pk))
              # a float key would not survive the trip through Python exactly on MariaDB
              and not any(heading[k].category == "FLOAT" for k in pk)
              and not set(shown) <= set(pk))
    if not narrow:
        return query.fetch(*shown, as_dict=True, order_by=order_by, limit=limit, offset=offset)
    keys = query.fetch(*pk, as_dict=True, order_by=order_by, limit=limit, offset=offset)
    if not keys:
        return []
    found = (table & keys).fetch(*shown, as_dict=True)  # a key list: an index lookup per key on every backend
    by_key = {tuple(r[k] for k in pk): r for r in found}
    rows = [by_key.get(tuple(k[n] for n in pk)) for k in keys]
    if any(r is None for r in rows):  # a row was deleted (or its key changed) between the two reads
        return query.fetch(*shown, as_dict=True, order_by=order_by, limit=limit, offset=offset)
    return rows  # type: ignore[return-value]


def row_page(db: Tables, schema: str, name: str, params: dict[str, str], urls: Urls) -> dict[str, Any] | None:
    """Every attribute of one row (blobs previewed), its parents, children (with counts) and
    part rows. None when no row has the key."""
    ref = db.ref(schema, name)
    table = ref.free(db.conn)
    heading = table.heading
    key = parse_key(heading, params)
    rows = (table & key).fetch(as_dict=True, limit=2)
    if len(rows) != 1:
        return None
    row = rows[0]
    attributes = []
    for n in heading.names:
        a = heading[n]
        entry = attribute_info(a)
        if a.is_blob:
            entry["preview"] = preview(row[n])
        else:
            entry["value"] = to_json(row[n])
        attributes.append(entry)
    rel = _relatives(db, table, urls)
    parents = []
    for p in rel["parents"]:
        pkey = {pa: row[ca] for ca, pa in p["attr_map"].items()}
        if any(v is None for v in pkey.values()):
            continue
        parents.append({"table": p["name"], "schema": p["schema"], "key": to_json(pkey),
                        "url": urls.row(p["schema"], p["name"], pkey)})
    children = []
    for c in rel["children"]:
        restriction = {ca: row[pa] for ca, pa in c["attr_map"].items()}
        child = db.table(c["schema"], c["name"])
        filters = [(ca, _param(v)) for ca, v in restriction.items()]
        children.append({"table": c["name"], "schema": c["schema"], "count": len(child & restriction),
                         "url": urls.table(c["schema"], c["name"], filters)})
    parts = []
    for p in rel["parts"]:
        part = db.table(p["schema"], p["name"])
        ph = part.heading
        restriction = {ca: row[pa] for ca, pa in p["attr_map"].items()}
        shown = [n for n in ph.names if not ph[n].is_blob]
        prow = (part & restriction).fetch(*shown, as_dict=True, limit=MAX_PART_ROWS + 1, order_by="KEY")
        parts.append({
            "table": p["name"], "schema": p["schema"], "columns": shown, "more": len(prow) > MAX_PART_ROWS,
            "count": len(part & restriction), "url": urls.table(p["schema"], p["name"],
                                                                [(k, _param(v)) for k, v in restriction.items()]),
            "rows": [{"values": {n: to_json(r[n]) for n in shown},
                      "url": urls.row(p["schema"], p["name"], {k: r[k] for k in ph.primary_key})}
                     for r in prow[:MAX_PART_ROWS]],
        })
    editable = table.tier in ("Manual", "Lookup")
    return {
        "schema": schema, "table": ref.class_name, "tier": table.tier, "key": to_json(key),
        "table_url": urls.table(schema, ref.class_name), "schema_url": urls.schema(schema),
        "attributes": attributes, "parents": parents, "children": children, "parts": parts,
        "update_url": urls.edit(schema, ref.class_name, "update", key) if editable else None,
        "delete_url": urls.edit(schema, ref.class_name, "delete", key),
    }


def _toggle(q: TableQuery, name: str) -> tuple[str, bool]:
    """The sort a click on column ``name`` asks for: ascending, or descending when it already is."""
    return (name, bool(q.sort) and q.sort[0] == (name, False))


def _param(value: Any) -> str:
    from .values import key_text

    return key_text(value)
