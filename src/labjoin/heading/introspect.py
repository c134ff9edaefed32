"""Rebuild a table's heading from the catalog: declared types, defaults, comments and lineage.

Declared types come from the ``:type:`` marker of the column comment where there is one (always
on PostgreSQL and SQLite, for special types on MySQL, as DataJoint writes them), otherwise from
the SQL type. So a heading reads the same whether labjoin or DataJoint declared the table.
"""

from __future__ import annotations

import re
from typing import Any

from .. import errors
from ..definition import split_comment
from ..sql.catalog import ColumnInfo, TableInfo, table_info
from .heading import Attribute, Heading

__all__ = ["declared_type_text", "heading_from_catalog"]



def _mysql_type_text(col: ColumnInfo, info: TableInfo) -> str:
    if col.sql_type.lower().startswith("enum("):
        return "enum" + col.sql_type[4:]  # keep the values' case
    t = col.sql_type.lower()
    if col.name in info.json_columns:
        return "json"
    if re.fullmatch(r"tinyint\(1\)", t):
        return "bool"
    m = re.fullmatch(r"(tinyint|smallint|mediumint|int|integer|bigint)(\(\d+\))?( unsigned)?( zerofill)?", t)
    if m:
        text = m.group(1) + (m.group(3) or "")
        return text + (" auto_increment" if col.auto_increment else "")
    if t.startswith(("double", "float", "real")):
        return t.split("(")[0].replace(" unsigned", "") + (" unsigned" if "unsigned" in t else "")
    if t.startswith("binary(16)"):
        return "uuid"
    if t in ("text", "mediumtext", "longtext", "tinytext"):
        return "varchar(65535)" if t == "text" else "longtext"
    return t


def _pg_type_text(col: ColumnInfo) -> str:
    t = col.sql_type.lower()
    table = {"smallint": "smallint", "integer": "int", "bigint": "bigint", "real": "float",
             "double precision": "double", "boolean": "bool", "date": "date", "uuid": "uuid",
             "jsonb": "json", "json": "json", "bytea": "bytes", "text": "longtext"}
    if t in table:
        return table[t]
    m = re.fullmatch(r"(?:character varying|varchar)\((\d+)\)", t)
    if m:
        return f"varchar({m.group(1)})"
    m = re.fullmatch(r"(?:character|char)\((\d+)\)", t)
    if m:
        return f"char({m.group(1)})"
    m = re.fullmatch(r"numeric\((\d+),(\d+)\)", t)
    if m:
        return f"decimal({m.group(1)},{m.group(2)})"
    m = re.fullmatch(r"timestamp(?:\((\d)\))? without time zone", t)
    if m:
        return f"datetime({m.group(1)})" if m.group(1) and m.group(1) != "0" else "datetime"
    m = re.fullmatch(r"time(?:\((\d)\))? without time zone", t)
    if m:
        return "time"
    return t


def _sqlite_type_text(col: ColumnInfo) -> str:
    t = col.sql_type.upper()
    return {"INTEGER": "bigint", "REAL": "double", "TEXT": "longtext", "BLOB": "bytes"}.get(t, col.sql_type)


def declared_type_text(col: ColumnInfo, info: TableInfo, backend: str) -> tuple[str, str]:
    """(declared type, user comment) of one column."""
    marker, comment = split_comment(col.comment or "")
    if marker:
        return marker, comment
    if backend == "mysql":
        return _mysql_type_text(col, info), col.comment or ""
    if backend == "postgresql":
        return _pg_type_text(col), col.comment or ""
    return _sqlite_type_text(col), col.comment or ""


def _default(col: ColumnInfo, backend: str) -> Any:
    from ..definition.parser import Default

    d = col.default
    if d is None or str(d).upper() == "NULL":
        return Default("null", None) if col.nullable else None
    text = str(d).strip()
    if re.match(r"^(current_timestamp|now\(\)|localtimestamp)", text, re.I) or "'now'" in text:
        return Default("current_timestamp", None)
    if backend == "postgresql":
        if "nextval(" in text:
            return None
        text = re.sub(r"::[\w\s\".]+(\[\])?$", "", text).strip()
    if backend == "sqlite" and text.startswith("(") and text.endswith(")"):
        text = text[1:-1]
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return Default("literal", text[1:-1].replace(text[0] * 2, text[0]))
    try:
        return Default("literal", int(text))
    except ValueError:
        pass
    try:
        return Default("literal", float(text))
    except ValueError:
        pass
    if text.lower() in ("true", "false"):
        return Default("literal", text.lower() == "true")
    return Default("literal", text) if backend == "mysql" else Default("expression", text)


def heading_from_catalog(conn: Any, schema: str, table: str) -> Heading:
    """The heading of ``schema.table`` as the catalog describes it (cached per connection)."""
    key = ("heading", schema, table)
    cache = conn._catalog_cache
    if key in cache:
        return cache[key]
    from ..definition.types import parse_type

    info = table_info(conn, schema, table)
    backend = conn.backend.name
    lineage = _lineage(conn, info)
    attrs = []
    for col in info.columns:
        text, comment = declared_type_text(col, info, backend)
        try:
            spec = parse_type(text)
        except errors.DefinitionError:
            spec = None  # a type labjoin does not know: values are passed through as the driver returns them
        attrs.append(Attribute(col.name, spec, in_key=col.name in info.primary_key, nullable=col.nullable,
                               default=_default(col, backend), comment=comment,
                               lineage=lineage.get(col.name), sql_type=col.sql_type))
    order = {n: i for i, n in enumerate(info.primary_key)}
    attrs.sort(key=lambda a: (0, order[a.name]) if a.in_key else (1, 0))
    heading = Heading(attrs, info.comment)
    cache[key] = heading
    return heading


def _lineage(conn: Any, info: TableInfo, _depth: int = 0) -> dict[str, str]:
    """Where each attribute originates: its own table, or the ancestor a foreign key copies it from."""
    out = {c.name: f"{info.schema}.{info.name}.{c.name}" for c in info.columns if c.name in info.primary_key}
    if _depth > 64:
        return out
    for fk in info.foreign_keys:
        try:
            parent = table_info(conn, fk.parent_schema, fk.parent_table)
        except errors.MissingTableError:
            continue
        parent_lineage = _lineage(conn, parent, _depth + 1)
        for child_col, parent_col in fk.attr_map:
            if parent_col in parent_lineage:
                out[child_col] = parent_lineage[parent_col]
    return out
