"""Values under a type change: which existing values would not survive it, and how to convert.

:func:`loss_condition` gives the SQL condition that selects the rows whose value a retype would
cut, round or refuse (``None``: every value fits). :func:`convert_expr` gives the expression
that turns an old value into the new type when the table is rebuilt (SQLite) or retyped with
``USING`` (PostgreSQL); with ``force`` it cuts strings to the new length instead of failing.
"""

from __future__ import annotations

from typing import Any

from ..heading.heading import Attribute
from ..sql.ddl import sql_type
from .diff import widens

__all__ = ["convert_expr", "loss_condition", "mysql_prepare"]


def _length_fn(backend: str) -> str:
    return "char_length" if backend == "mysql" else "length"


def loss_condition(backend: Any, col: str, old: Attribute, new: Attribute) -> tuple[str, tuple[Any, ...]] | None:
    """(SQL condition, parameters) true for rows whose ``col`` value does not fit ``new``.

    None when the new type holds every value of the old one. When no exact test exists the
    condition is ``col IS NOT NULL``: any stored value counts as at risk.
    """
    if widens(old, new) or old.type is None or new.type is None:
        return None
    name = backend.name
    q = backend.qident(col)
    ph = "?" if name == "sqlite" else "%s"
    o, n = old.type, new.type
    oc, nc = o.category.name, n.category.name
    strings = ("CHAR", "VARCHAR", "TEXT", "ENUM")
    if oc in strings and nc in ("CHAR", "VARCHAR"):
        return f"{_length_fn(name)}({q}) > {ph}", (int(n.length or 0),)
    if oc in strings and nc == "TEXT":
        return None
    if nc == "ENUM" and oc in strings:
        return f"{q} NOT IN ({', '.join([ph] * len(n.values))})", tuple(n.values)
    numeric = ("INTEGER", "FLOAT", "DECIMAL", "BOOL")
    if oc in numeric and nc == "INTEGER":
        lo, hi = n.int_range or (0, 0)
        cond = f"{q} < {ph} OR {q} > {ph}"
        if oc in ("FLOAT", "DECIMAL"):
            cond += f" OR {q} <> round({q})"
        return cond, (lo, hi)
    if oc in numeric and nc == "DECIMAL":
        bound = 10 ** (int(n.precision or 0) - int(n.scale or 0))
        return f"abs({q}) >= {ph} OR {q} <> round({q}, {int(n.scale or 0)})", (bound,)
    if oc in ("INTEGER",) and nc == "BOOL":
        return f"{q} NOT IN (0, 1)", ()
    if oc in ("BLOB", "BYTES", "ATTACH") and oc == nc and name == "mysql":
        limit = {"tiny": 255, "": 65535, "medium": 16777215}.get(n.blob_size or "long")
        return (f"length({q}) > {ph}", (limit,)) if limit else None
    return f"{q} IS NOT NULL", ()


def convert_expr(backend: Any, col: str, old: Attribute, new: Attribute, *, schema: str,
                 force: bool) -> str:
    """The SQL expression of ``old``'s column ``col`` converted to ``new``'s type.

    SQLite: the SELECT expression that fills the rebuilt table. PostgreSQL: the ``USING``
    expression of ``ALTER COLUMN ... TYPE``. MySQL converts in ``MODIFY`` itself (see
    :func:`mysql_prepare`) and gets the bare column.
    """
    q = backend.qident(col)
    if old.type is None or new.type is None:
        return q
    oc, nc = old.type.category.name, new.type.category.name
    name = backend.name
    cut = force and nc in ("CHAR", "VARCHAR") and oc in ("CHAR", "VARCHAR", "TEXT", "ENUM") and not widens(old, new)
    if name == "sqlite":
        if cut:
            return f"substr({q}, 1, {int(new.type.length or 0)})"
        if oc == "DATE" and nc in ("DATETIME", "TIMESTAMP"):
            return f"{q} || ' 00:00:00'"
        if oc in ("DATETIME", "TIMESTAMP") and nc == "DATE":
            return f"substr({q}, 1, 10)"
        if oc in ("FLOAT", "DECIMAL") and nc in ("INTEGER", "BOOL"):
            return f"CAST(round({q}) AS INTEGER)"
        if oc == "FLOAT" and nc == "DECIMAL":
            return f"round({q}, {int(new.type.scale or 0)})"
        if oc in ("INTEGER", "BOOL") and nc in ("FLOAT", "DECIMAL"):
            return f"CAST({q} AS REAL)"
        if nc in ("CHAR", "VARCHAR", "TEXT", "ENUM") and oc not in ("CHAR", "VARCHAR", "TEXT", "ENUM"):
            return f"CAST({q} AS TEXT)"
        return q
    if name == "postgresql":
        target = sql_type(new, backend, schema=schema)
        if cut:
            return f"left({q}, {int(new.type.length or 0)})::{target}"
        if oc == "INTEGER" and nc == "BOOL":
            return f"{q} <> 0"
        return f"{q}::{target}"
    return q


def mysql_prepare(backend: Any, table_sql: str, col: str, old: Attribute, new: Attribute,
                  force: bool) -> list[str]:
    """UPDATE statements that make a forced narrowing pass MySQL's strict mode."""
    if not force or old.type is None or new.type is None or widens(old, new):
        return []
    q = backend.qident(col)
    oc, nc = old.type.category.name, new.type.category.name
    if nc in ("CHAR", "VARCHAR") and oc in ("CHAR", "VARCHAR", "TEXT", "ENUM"):
        n = int(new.type.length or 0)
        return [f"UPDATE {table_sql} SET {q} = LEFT({q}, {n}) WHERE CHAR_LENGTH({q}) > {n}"]
    if oc in ("DATETIME", "TIMESTAMP") and nc == "DATE":
        return [f"UPDATE {table_sql} SET {q} = DATE({q}) WHERE {q} <> DATE({q})"]
    if oc in ("FLOAT", "DECIMAL") and nc == "INTEGER":
        return [f"UPDATE {table_sql} SET {q} = ROUND({q}) WHERE {q} <> ROUND({q})"]
    return []
