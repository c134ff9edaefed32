"""Introspection: schemas, tables, columns, keys and foreign keys, read from each backend's catalog.

Everything about a table is read in bulk per schema (a handful of queries, whatever the number
of tables) and cached on the connection, so opening a 100-table schema or building the
dependency graph costs a few round trips. ``invalidate`` drops the cache after DDL.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from .. import errors
from .ddl import META_COLUMNS, META_SCHEMAS, META_TABLES

__all__ = ["ColumnInfo", "ForeignKeyInfo", "TableInfo", "list_schemas", "load_schema"]

SYSTEM_SCHEMAS = {
    "mysql": {"information_schema", "mysql", "performance_schema", "sys"},
    "postgresql": {"information_schema", "pg_catalog", "pg_toast", "public"},
}


@dataclass
class ColumnInfo:
    name: str
    sql_type: str
    nullable: bool
    default: str | None  # SQL text of the default as the catalog reports it
    comment: str
    in_key: bool
    auto_increment: bool = False


@dataclass
class ForeignKeyInfo:
    parent_schema: str
    parent_table: str
    attr_map: list[tuple[str, str]]  # (child column, parent column)
    name: str = ""


@dataclass
class TableInfo:
    schema: str
    name: str
    comment: str
    columns: list[ColumnInfo]
    primary_key: list[str]
    foreign_keys: list[ForeignKeyInfo] = field(default_factory=list)
    indexes: list[tuple[bool, tuple[str, ...]]] = field(default_factory=list)
    json_columns: set[str] = field(default_factory=set)  # MariaDB stores json as checked longtext
    definition: str = ""


def list_schemas(conn: Any) -> list[str]:
    b = conn.backend.name
    if b == "sqlite":
        ensure_sqlite_metadata(conn)
        return [r[0] for r in conn.query(f'SELECT schema_name FROM "{META_SCHEMAS}" ORDER BY schema_name')]
    if b == "postgresql":
        rows = conn.query("SELECT nspname FROM pg_namespace ORDER BY nspname").fetchall()
    else:
        rows = conn.query("SELECT schema_name FROM information_schema.schemata ORDER BY schema_name").fetchall()
    return [r[0] for r in rows if r[0] not in SYSTEM_SCHEMAS[b] and not r[0].startswith("pg_")]


def schema_exists(conn: Any, schema: str) -> bool:
    b = conn.backend.name
    if b == "sqlite":
        ensure_sqlite_metadata(conn)
        return conn.query(f'SELECT 1 FROM "{META_SCHEMAS}" WHERE schema_name = ?', (schema,)).fetchone() is not None
    if b == "postgresql":
        return conn.query("SELECT 1 FROM pg_namespace WHERE nspname = %(s)s", {"s": schema}).fetchone() is not None
    return conn.query("SELECT 1 FROM information_schema.schemata WHERE schema_name = %s",
                      (schema,)).fetchone() is not None


def ensure_sqlite_metadata(conn: Any) -> None:
    if conn._catalog_cache.get("sqlite_meta"):
        return
    for stmt in (
        f'CREATE TABLE IF NOT EXISTS "{META_SCHEMAS}" (schema_name TEXT PRIMARY KEY, '
        "created TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP)",
        f'CREATE TABLE IF NOT EXISTS "{META_TABLES}" (schema_name TEXT NOT NULL, table_name TEXT NOT NULL, '
        "comment TEXT NOT NULL DEFAULT '', definition TEXT NOT NULL DEFAULT '', "
        "PRIMARY KEY (schema_name, table_name))",
        f'CREATE TABLE IF NOT EXISTS "{META_COLUMNS}" (schema_name TEXT NOT NULL, table_name TEXT NOT NULL, '
        "column_name TEXT NOT NULL, comment TEXT NOT NULL DEFAULT '', "
        "PRIMARY KEY (schema_name, table_name, column_name))",
    ):
        conn.query(stmt)
    conn._catalog_cache["sqlite_meta"] = True


def load_schema(conn: Any, schema: str, *, refresh: bool = False) -> dict[str, TableInfo]:
    """Every table of ``schema`` (cached on the connection)."""
    key = ("schema", schema)
    if not refresh and key in conn._catalog_cache:
        return conn._catalog_cache[key]
    loader = {"sqlite": _load_sqlite, "postgresql": _load_postgresql, "mysql": _load_mysql}[conn.backend.name]
    infos = loader(conn, schema)
    conn._catalog_cache[key] = infos
    return infos


def table_info(conn: Any, schema: str, table: str) -> TableInfo:
    infos = load_schema(conn, schema)
    if table not in infos:
        infos = load_schema(conn, schema, refresh=True)
    try:
        return infos[table]
    except KeyError:
        raise errors.MissingTableError(
            f"Table `{schema}`.`{table}` is not declared. Declare it by decorating its class with the "
            "schema, or check the schema and table names."
        ) from None


def invalidate(conn: Any, schema: str | None = None) -> None:
    if schema is None:
        conn.invalidate_catalog()
    else:
        cache = conn._catalog_cache
        for key in [k for k in cache if isinstance(k, tuple) and len(k) > 1 and k[1] == schema]:
            del cache[key]  # the schema's table list, headings and hidden-table markers
        conn.statement_cache.clear()
        if conn._dependencies is not None:
            conn._dependencies.clear()


# -- SQLite ------------------------------------------------------------------------------------
def _load_sqlite(conn: Any, schema: str) -> dict[str, TableInfo]:
    ensure_sqlite_metadata(conn)
    prefix = schema + "."
    names = [r[0][len(prefix):] for r in conn.query(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND substr(name, 1, ?) = ? ORDER BY name",
        (len(prefix), prefix)).fetchall()]
    comments = {(r[0], r[1]): r[2] for r in conn.query(
        f'SELECT table_name, column_name, comment FROM "{META_COLUMNS}" WHERE schema_name = ?', (schema,))}
    tmeta = {r[0]: (r[1], r[2]) for r in conn.query(
        f'SELECT table_name, comment, definition FROM "{META_TABLES}" WHERE schema_name = ?', (schema,))}
    out: dict[str, TableInfo] = {}
    for name in names:
        phys = conn.backend.qident(prefix + name)
        cols, pk = [], []
        for _cid, cname, ctype, notnull, dflt, pkpos in conn.query(f"PRAGMA table_info({phys})").fetchall():
            cols.append(ColumnInfo(cname, ctype, not notnull, dflt, comments.get((name, cname), ""), pkpos > 0))
            if pkpos:
                pk.append((pkpos, cname))
        fks: dict[int, ForeignKeyInfo] = {}
        for row in conn.query(f"PRAGMA foreign_key_list({phys})").fetchall():
            fid, _seq, ptable, frm, to = row[:5]
            ps, _, pt = ptable.partition(".")
            fks.setdefault(fid, ForeignKeyInfo(ps, pt, [])).attr_map.append((frm, to))
        indexes = []
        for _seq, iname, unique, origin, _partial in conn.query(f"PRAGMA index_list({phys})").fetchall():
            if origin == "pk":
                continue
            icols = [r[2] for r in conn.query(f"PRAGMA index_info({conn.backend.qident(iname)})").fetchall()]
            indexes.append((bool(unique), tuple(icols)))
        comment, definition = tmeta.get(name, ("", ""))
        out[name] = TableInfo(schema, name, comment, cols, [c for _, c in sorted(pk)],
                              list(reversed(list(fks.values()))), indexes, definition=definition)
    return out


# -- PostgreSQL --------------------------------------------------------------------------------
def _load_postgresql(conn: Any, schema: str) -> dict[str, TableInfo]:
    p = {"s": schema}
    tables = conn.query(
        "SELECT c.oid, c.relname, coalesce(obj_description(c.oid, 'pg_class'), '') FROM pg_class c "
        "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %(s)s AND c.relkind IN ('r', 'p') "
        "ORDER BY c.relname", p).fetchall()
    by_oid = {oid: name for oid, name, _ in tables}
    out = {name: TableInfo(schema, name, comment, [], []) for _, name, comment in tables}
    if not tables:
        return out
    cols = conn.query(
        "SELECT a.attrelid, a.attname, format_type(a.atttypid, a.atttypmod), NOT a.attnotnull, "
        "pg_get_expr(d.adbin, d.adrelid), coalesce(col_description(a.attrelid, a.attnum), ''), "
        "a.attidentity <> '' "
        "FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
        "LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum "
        "WHERE n.nspname = %(s)s AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attrelid, a.attnum", p).fetchall()
    pks = conn.query(
        "SELECT i.indrelid, a.attname FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid "
        "JOIN pg_namespace n ON n.oid = c.relnamespace "
        "JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord) ON TRUE "
        "JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum "
        "WHERE n.nspname = %(s)s AND i.indisprimary ORDER BY i.indrelid, k.ord", p).fetchall()
    pkset: dict[str, list[str]] = defaultdict(list)
    for oid, att in pks:
        if oid in by_oid:
            pkset[by_oid[oid]].append(att)
    for oid, name, ctype, nullable, default, comment, ident in cols:
        if oid in by_oid:
            t = by_oid[oid]
            out[t].columns.append(ColumnInfo(name, ctype, nullable, default, comment, name in pkset[t], ident))
    for t, keys in pkset.items():
        out[t].primary_key = keys
    fks = conn.query(
        "SELECT con.conrelid, con.conname, pn.nspname, pc.relname, ca.attname, pa.attname "
        "FROM pg_constraint con JOIN pg_namespace n ON n.oid = con.connamespace "
        "JOIN pg_class pc ON pc.oid = con.confrelid JOIN pg_namespace pn ON pn.oid = pc.relnamespace "
        "JOIN LATERAL unnest(con.conkey, con.confkey) WITH ORDINALITY AS k(ck, pk, ord) ON TRUE "
        "JOIN pg_attribute ca ON ca.attrelid = con.conrelid AND ca.attnum = k.ck "
        "JOIN pg_attribute pa ON pa.attrelid = con.confrelid AND pa.attnum = k.pk "
        "WHERE n.nspname = %(s)s AND con.contype = 'f' ORDER BY con.conrelid, con.oid, k.ord", p).fetchall()
    fkmap: dict[tuple[int, str], ForeignKeyInfo] = {}
    for oid, cname, ps, pt, ccol, pcol in fks:
        if oid in by_oid:
            fk = fkmap.get((oid, cname))
            if fk is None:
                fk = fkmap[(oid, cname)] = ForeignKeyInfo(ps, pt, [], cname)
                out[by_oid[oid]].foreign_keys.append(fk)
            fk.attr_map.append((ccol, pcol))
    idx = conn.query(
        "SELECT i.indrelid, i.indexrelid, i.indisunique, a.attname FROM pg_index i "
        "JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
        "JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord) ON TRUE "
        "JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum "
        "WHERE n.nspname = %(s)s AND NOT i.indisprimary ORDER BY i.indrelid, i.indexrelid, k.ord", p).fetchall()
    groups: dict[tuple[int, int], tuple[bool, list[str]]] = {}
    for oid, iid, unique, att in idx:
        groups.setdefault((oid, iid), (unique, []))[1].append(att)
    for (oid, _), (unique, atts) in groups.items():
        if oid in by_oid:
            out[by_oid[oid]].indexes.append((bool(unique), tuple(atts)))
    return out


# -- MySQL -------------------------------------------------------------------------------------
def _load_mysql(conn: Any, schema: str) -> dict[str, TableInfo]:
    p = (schema,)
    tables = conn.query(
        "SELECT table_name, table_comment FROM information_schema.tables WHERE table_schema = %s "
        "AND table_type = 'BASE TABLE' ORDER BY table_name", p).fetchall()
    out = {name: TableInfo(schema, name, comment or "", [], []) for name, comment in tables}
    if not tables:
        return out
    for t, name, ctype, nullable, default, comment, key, extra in conn.query(
        "SELECT table_name, column_name, column_type, is_nullable, column_default, column_comment, column_key, "
        "extra FROM information_schema.columns WHERE table_schema = %s ORDER BY table_name, ordinal_position",
        p).fetchall():
        if t in out:
            out[t].columns.append(ColumnInfo(name, ctype, nullable == "YES", default, comment or "",
                                             key == "PRI", "auto_increment" in (extra or "")))
    pk: dict[str, list[str]] = defaultdict(list)
    fkmap: dict[tuple[str, str], ForeignKeyInfo] = {}
    for t, cname, col, ps, pt, pcol in conn.query(
        "SELECT table_name, constraint_name, column_name, referenced_table_schema, referenced_table_name, "
        "referenced_column_name FROM information_schema.key_column_usage WHERE table_schema = %s "
        "ORDER BY table_name, constraint_name, ordinal_position", p).fetchall():
        if t not in out:
            continue
        if cname == "PRIMARY":
            pk[t].append(col)
        elif pt is not None:
            fk = fkmap.get((t, cname))
            if fk is None:
                fk = fkmap[(t, cname)] = ForeignKeyInfo(ps, pt, [], cname)
                out[t].foreign_keys.append(fk)
            fk.attr_map.append((col, pcol))
    for t, keys in pk.items():
        out[t].primary_key = keys
    fknames = {(t, c) for t, c in fkmap}
    groups: dict[tuple[str, str], tuple[bool, list[str]]] = {}
    for t, iname, non_unique, col in conn.query(
        "SELECT table_name, index_name, non_unique, column_name FROM information_schema.statistics "
        "WHERE table_schema = %s AND index_name <> 'PRIMARY' ORDER BY table_name, index_name, seq_in_index",
        p).fetchall():
        if t in out and (t, iname) not in fknames:
            groups.setdefault((t, iname), (not non_unique, []))[1].append(col)
    for (t, _), (unique, cols) in groups.items():
        out[t].indexes.append((unique, tuple(cols)))
    try:
        checks = conn.query(
            "SELECT table_name, constraint_name, check_clause FROM information_schema.check_constraints "
            "WHERE constraint_schema = %s", p).fetchall()
    except errors.DataJointError:
        checks = []  # MySQL < 8.0.16 has no check constraints view: no MariaDB-style json columns
    for t, cname, clause in checks:
        if t in out and re.match(r"\s*json_valid\(", clause or "", re.I):
            out[t].json_columns.add(cname)
    return out


def table_size(conn: Any, schema: str, table: str) -> int:
    """Bytes the table (with its indexes) occupies on disk, as the backend reports it."""
    b = conn.backend
    if b.name == "postgresql":
        return int(conn.query("SELECT pg_total_relation_size(%s::regclass)",
                              (b.qtable(schema, table),)).fetchone()[0])
    if b.name == "mysql":
        row = conn.query("SELECT data_length + index_length FROM information_schema.tables "
                         "WHERE table_schema = %s AND table_name = %s", (schema, table)).fetchone()
        return int(row[0] or 0) if row else 0
    name = f"{schema}.{table}"
    try:  # the dbstat virtual table counts pages exactly where SQLite was built with it
        row = conn.query("SELECT coalesce(sum(pgsize), 0) FROM dbstat WHERE name IN "
                         "(SELECT name FROM sqlite_master WHERE tbl_name = ?)", (name,)).fetchone()
        return int(row[0])
    except (errors.QuerySyntaxError, errors.MissingTableError):
        page = int(conn.query("PRAGMA page_size").fetchone()[0])
        rows = int(conn.query(f"SELECT count(*) FROM {b.qident(name)}").fetchone()[0])
        return page * max(1, rows // 50)  # rough: without dbstat SQLite cannot say
