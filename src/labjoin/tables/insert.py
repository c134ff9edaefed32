"""Insert and update: rows in any form, checked against the heading, encoded per attribute and
sent in bulk (PostgreSQL COPY, multi-row statements, one executemany) inside one transaction.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterable, Mapping
from operator import itemgetter
from pathlib import Path
from typing import Any

import numpy as np

from .. import errors
from ..heading.codecs import codec_scope, encode_column, encoder

__all__ = ["allow_insert", "insert", "update1"]

# Set while a make() runs: inserts into auto-populated tables are allowed there.
allow_insert: contextvars.ContextVar[bool] = contextvars.ContextVar("labjoin_allow_insert", default=False)

COPY_THRESHOLD = 200  # rows; below this a multi-row INSERT is as fast and simpler


def _rows_as_columns(table: Any, rows: Any) -> tuple[list[str], list[list[Any]] | None, list[Any] | None]:
    """Normalize any accepted input to (field names, columns) or (field names per row, rows)."""
    heading = table.heading
    if isinstance(rows, (str, Path)) and str(rows).endswith(".csv"):
        import pandas as pd

        rows = pd.read_csv(rows)
    if type(rows).__name__ == "DataFrame":
        df = rows
        if not (len(df.index.names) == 1 and df.index.names[0] is None):
            df = df.reset_index()
        names = [str(c) for c in df.columns]
        return names, [df[c].tolist() for c in df.columns], None
    if type(rows).__module__.startswith("polars") or (type(rows).__name__ == "Table" and hasattr(rows, "to_pydict")):
        d = rows.to_pydict() if hasattr(rows, "to_pydict") else rows.to_dict(as_series=False)
        return list(d), [list(v) for v in d.values()], None
    if isinstance(rows, np.ndarray) and rows.dtype.names:
        names = list(rows.dtype.names)
        return names, [rows[n].tolist() if rows[n].dtype != object else list(rows[n]) for n in names], None
    if isinstance(rows, Mapping):
        raise errors.DataJointError("insert() takes a list of rows; use insert1() for a single dict.")
    rows = list(rows) if isinstance(rows, Iterable) else rows
    if not isinstance(rows, list):
        raise errors.DataJointError(f"insert() cannot take {type(rows).__name__}; pass a list of dicts or tuples.")
    if rows and all(type(r) is dict for r in rows):
        keys = rows[0].keys()
        if all(r.keys() == keys for r in rows):  # the usual case: one set of fields, read by column
            names = list(keys)
            return names, [[r[k] for r in rows] for k in names], None
    if rows and all(type(r) is tuple for r in rows):
        width = len(heading.names)
        if all(len(r) == width for r in rows):
            return heading.names, [list(map(itemgetter(i), rows)) for i in range(width)], None
    return [], None, [_row_dict(heading, r) for r in rows]


def _row_dict(heading: Any, r: Any) -> dict[str, Any]:
    if isinstance(r, Mapping):
        return dict(r)
    if isinstance(r, np.void):
        return dict(zip(r.dtype.names or (), r.item() if r.dtype.names is None else tuple(r)))
    if isinstance(r, (tuple, list)):
        names = heading.names
        if len(r) != len(names):
            raise errors.DataJointError(
                f"A positional row has {len(r)} values but the table has {len(names)} attributes "
                f"({', '.join(names)}). Give every attribute in heading order, or insert dicts."
            )
        return dict(zip(names, r))
    raise errors.DataJointError(f"Cannot insert a row of type {type(r).__name__}; use a dict or a tuple.")


def _check_fields(table: Any, fields: list[str], ignore_extra: bool) -> list[str]:
    heading = table.heading
    extra = [f for f in fields if f not in heading]
    if extra and not ignore_extra:
        raise errors.UnknownAttributeError(
            f"Attribute `{extra[0]}` is not in the heading of {table.class_name} ({', '.join(heading.names)}). "
            "Pass ignore_extra_fields=True to drop unknown fields."
        )
    keep = [f for f in fields if f in heading]
    for name in heading.names:
        a = heading[name]
        if name not in keep and ((a.in_key and not getattr(a.type, "auto_increment", False))
                                 or (not a.nullable and a.default is None and not a.in_key)):
            raise errors.MissingAttributeError(
                f"Attribute `{name}` of {table.class_name} has no value and no default; include it in every row."
            )
    return keep


def insert(table: Any, rows: Any, *, replace: bool = False, skip_duplicates: bool = False,
           ignore_extra_fields: bool = False, allow_direct_insert: bool | None = None,
           chunk_size: int | None = None) -> None:
    from .query import QueryExpression

    if table.restricted:
        raise errors.DataJointError("Cannot insert into a restricted table; insert into the table itself.")
    # Imported, Computed and their parts: the names start with "_" (DataJoint's prefixes)
    if table.table_name.startswith("_") and not (allow_direct_insert or allow_insert.get()):
        raise errors.DataJointError(
            f"Inserts into an auto-populated table ({table.class_name}) can only be done inside its make "
            "method. Pass allow_direct_insert=True to insert directly."
        )
    conn = table.connection
    if isinstance(rows, QueryExpression) or (isinstance(rows, type) and issubclass(rows, QueryExpression)):
        return _insert_select(table, rows() if isinstance(rows, type) else rows, skip_duplicates, ignore_extra_fields)
    names, columns, dict_rows = _rows_as_columns(table, rows)
    groups: list[tuple[list[str], list[tuple[Any, ...]]]] = []
    heading = table.heading
    backend = conn.backend.name
    if columns is None:
        # rows with differing fields: one statement per set of fields
        by_fields: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for r in dict_rows or []:
            by_fields.setdefault(tuple(r), []).append(r)
        column_groups = [(list(f), [[r[k] for r in g] for k in f]) for f, g in by_fields.items()]
    else:
        column_groups = [(names, columns)]
    for fields, cols in column_groups:
        keep = _check_fields(table, fields, ignore_extra_fields)
        pk = [(k, cols[fields.index(k)]) for k in heading.primary_key if k in fields]
        # store-backed codecs write objects under this table's schema (and its rows' keys)
        with codec_scope(conn, database=table.database, table=table.table_name, writing=True,
                         row_key=lambda i, pk=pk: {k: col[i] for k, col in pk}):
            encoded = [encode_column(heading[n], backend, cols[fields.index(n)]) for n in keep]
        groups.append((keep, list(zip(*encoded))))
    if len(groups) == 1 and len(groups[0][1]) == 1:
        # one row is one statement, atomic by itself: no BEGIN/COMMIT round trips
        _execute_insert(table, groups[0][0], groups[0][1], replace=replace, skip_duplicates=skip_duplicates,
                        chunk_size=chunk_size)
        return None
    with conn.transaction:
        for keep, values in groups:
            if values:
                _execute_insert(table, keep, values, replace=replace, skip_duplicates=skip_duplicates,
                                chunk_size=chunk_size)
    return None


def _insert_sql(table: Any, fields: list[str], *, replace: bool, skip_duplicates: bool) -> str:
    conn = table.connection
    b = conn.backend
    q = b.qident
    full = b.qtable(table.database, table.table_name)
    cols = ", ".join(q(f) for f in fields)
    ph = "?" if b.name == "sqlite" else "%s"
    sql = f"INSERT INTO {full} ({cols}) VALUES ({', '.join([ph] * len(fields))})"
    pk = table.heading.primary_key
    secondary = [f for f in fields if f not in pk]
    if replace:
        if b.name == "mysql":
            sets = ", ".join(f"{q(f)} = VALUES({q(f)})" for f in secondary) or f"{q(pk[0])} = {q(pk[0])}"
            sql += f" ON DUPLICATE KEY UPDATE {sets}"
        else:
            conflict = ", ".join(q(k) for k in pk)
            sets = ", ".join(f"{q(f)} = excluded.{q(f)}" for f in secondary)
            sql += f" ON CONFLICT ({conflict}) " + (f"DO UPDATE SET {sets}" if sets else "DO NOTHING")
    elif skip_duplicates:
        if b.name == "mysql":
            sql += f" ON DUPLICATE KEY UPDATE {q(pk[0])} = {q(pk[0])}"
        else:
            sql += " ON CONFLICT DO NOTHING"
    return sql


def _execute_insert(table: Any, fields: list[str], values: list[tuple[Any, ...]], *, replace: bool,
                    skip_duplicates: bool, chunk_size: int | None) -> None:
    conn = table.connection
    b = conn.backend
    if b.supports_copy and not replace and not skip_duplicates and len(values) >= COPY_THRESHOLD:
        _copy(table, fields, values)
        return
    sql = _insert_sql(table, fields, replace=replace, skip_duplicates=skip_duplicates)
    if b.name == "mysql":  # a row over max_allowed_packet would cost the connection: refuse it first
        from ..connection.packet import check_rows

        check_rows(conn, table, sql, fields, values)
    step = chunk_size or len(values)
    for i in range(0, len(values), step):
        part = values[i: i + step]
        if len(part) == 1:
            conn.query(sql, part[0])
        else:
            conn.query(sql, part, many=True)


def _copy(table: Any, fields: list[str], values: list[tuple[Any, ...]]) -> None:
    """PostgreSQL COPY: about ten times the rate of multi-row INSERTs."""
    conn = table.connection
    b = conn.backend
    full = b.qtable(table.database, table.table_name)
    sql = f"COPY {full} ({', '.join(b.qident(f) for f in fields)}) FROM STDIN"
    raw = conn.raw
    try:
        with raw.cursor() as cur, cur.copy(sql) as copy:
            for row in values:
                copy.write_row(row)
    except Exception as e:  # translated: users never see driver exceptions
        if conn._is_driver_error(e):
            from ..sql.dialects import translate_error

            raise translate_error(b, e, sql) from e
        raise


def _insert_select(table: Any, query: Any, skip_duplicates: bool, ignore_extra_fields: bool) -> None:
    conn = table.connection
    fields = [n for n in query.heading.names if n in table.heading or not ignore_extra_fields]
    _check_fields(table, fields, ignore_extra_fields)
    stmt = query._compiler().select(query._node, fields)
    select_sql, params = conn.compile(stmt)
    b = conn.backend
    full = b.qtable(table.database, table.table_name)
    cols = ", ".join(b.qident(f) for f in fields)
    sql = f"INSERT INTO {full} ({cols}) {select_sql}"
    if skip_duplicates:
        pk = table.heading.primary_key
        if b.name == "mysql":
            sql += f" ON DUPLICATE KEY UPDATE {b.qident(pk[0])} = {b.qident(pk[0])}"
        else:
            sql = f"INSERT INTO {full} ({cols}) SELECT * FROM ({select_sql}) AS _src WHERE TRUE ON CONFLICT DO NOTHING"
    with conn.transaction:
        conn.query(sql, params)


def update1(table: Any, row: Mapping[str, Any]) -> None:
    """Change secondary attributes of one existing row (DataJoint's ``update1``)."""
    if table.restricted:
        raise errors.DataJointError("update1 cannot be called on a restricted table; call it on the table.")
    heading = table.heading
    row = dict(row)
    missing = [k for k in heading.primary_key if k not in row]
    if missing:
        raise errors.MissingAttributeError(
            f"update1 needs the full primary key; `{missing[0]}` is missing."
        )
    for k in row:
        heading[k]
    key = {k: row[k] for k in heading.primary_key}
    updates = {k: v for k, v in row.items() if k not in key}

    if not updates:
        raise errors.DataJointError("update1 was given no secondary attribute to change.")
    conn = table.connection
    b = conn.backend
    if len(table & key) != 1:
        raise errors.DataJointError(f"update1 can only update one existing row; {key} matches none.")
    ph = "?" if b.name == "sqlite" else "%s"
    sets, params = [], []
    for k, v in updates.items():
        a = heading[k]
        if v is None and a.default is not None and a.default.kind != "null":
            sets.append(f"{b.qident(k)} = DEFAULT" if b.name != "sqlite" else f"{b.qident(k)} = NULL")
        else:
            sets.append(f"{b.qident(k)} = {ph}")
            with codec_scope(conn, database=table.database, table=table.table_name, writing=True,
                             row_key=lambda i: dict(key)):
                params.append(encoder(a, b.name)(v))
    where = " AND ".join(f"{b.qident(k)} = {ph}" for k in key)
    params += [encoder(heading[k], b.name)(v) for k, v in key.items()]
    sql = f"UPDATE {b.qtable(table.database, table.table_name)} SET {', '.join(sets)} WHERE {where}"
    if b.name == "mysql":
        from ..connection.packet import check_rows

        check_rows(conn, table, sql, None, [tuple(params)])
    with conn.transaction:
        conn.query(sql, tuple(params))
