"""DDL: CREATE TABLE statements for a resolved table declaration, per backend.

On MySQL the statement is what DataJoint writes (types as declared, ``:type:`` markers in column
comments for the special types, ``ON UPDATE CASCADE ON DELETE RESTRICT`` foreign keys, InnoDB),
so DataJoint can open a labjoin schema. PostgreSQL and SQLite get the types that make every
declared type behave the same: case-insensitive strings, range checks for the small integer
types, enums as checked strings. Declared types are recorded in column comments (PostgreSQL) or
labjoin's metadata table (SQLite), from which ``sql.catalog`` rebuilds headings.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from .. import errors
from ..heading.heading import Attribute
from .dialects import Backend

__all__ = ["Declaration", "ForeignKey", "column_comment", "create_table_sql", "sql_literal", "sql_type"]

CI_COLLATION = "labjoin_ci"
#: PostgreSQL: the schema holding the one case-insensitive collation of the database. Two
#: collations of the same name in two schemas are different collations to PostgreSQL, and
#: comparing string columns that carry them (any cross-schema join on a string key) fails with
#: "could not determine which collation to use", so every schema's columns use this one.
CI_COLLATION_SCHEMA = "public"
META_TABLES = "~labjoin_tables"
META_COLUMNS = "~labjoin_columns"
META_SCHEMAS = "~labjoin_schemas"

_INT_RANGES = {8: (-(2**7), 2**7 - 1), 16: (-(2**15), 2**15 - 1), 24: (-(2**23), 2**23 - 1),
               32: (-(2**31), 2**31 - 1), 64: (-(2**63), 2**63 - 1)}
_MYSQL_INT = {8: "tinyint", 16: "smallint", 24: "mediumint", 32: "int", 64: "bigint"}


@dataclass(frozen=True)
class ForeignKey:
    parent_schema: str
    parent_table: str
    attr_map: tuple[tuple[str, str], ...]  # (child attribute, parent attribute), parent key order
    nullable: bool = False
    unique: bool = False
    in_key: bool = False

    @property
    def child_attrs(self) -> list[str]:
        return [c for c, _ in self.attr_map]

    @property
    def parent_attrs(self) -> list[str]:
        return [p for _, p in self.attr_map]

    @property
    def aliased(self) -> bool:
        return any(c != p for c, p in self.attr_map)


@dataclass
class Declaration:
    schema: str
    table: str
    comment: str
    attributes: list[Attribute]
    foreign_keys: list[ForeignKey] = field(default_factory=list)
    indexes: list[tuple[bool, tuple[str, ...]]] = field(default_factory=list)
    definition: str = ""

    @property
    def primary_key(self) -> list[str]:
        return [a.name for a in self.attributes if a.in_key]


def sql_literal(value: Any, backend: Backend) -> str:
    """A DDL default as SQL text (DDL cannot take bound parameters)."""
    if isinstance(value, bool):
        return ("TRUE" if value else "FALSE") if backend.name == "postgresql" else str(int(value))
    if isinstance(value, (int, float)):
        return repr(value)
    text = str(value).replace("'", "''")
    if backend.name == "mysql":
        text = text.replace("\\", "\\\\")
    return f"'{text}'"


def _cat(a: Attribute) -> str:
    return a.category


def sql_type(a: Attribute, backend: Backend, *, schema: str = "") -> str:
    """The column type that stores ``a`` on ``backend`` (without NULL/DEFAULT/collation)."""
    t = a.type
    cat = _cat(a)
    name = backend.name
    store = getattr(t, "store", None)
    if store is not None and getattr(t, "codec", None) is None and cat in ("BLOB", "ATTACH", "FILEPATH"):
        # 0.14 external types: a UUID pointing into the store's tracking table
        return {"mysql": "binary(16)", "postgresql": "uuid", "sqlite": "BLOB"}[name]
    if store is not None:  # 2.x object-store codecs keep JSON metadata
        return {"mysql": "json", "postgresql": "jsonb", "sqlite": "TEXT"}[name]
    if name == "mysql":
        return _mysql_type(a)
    if name == "postgresql":
        return _pg_type(a)
    return _sqlite_type(a)


def _mysql_type(a: Attribute) -> str:
    t, cat = a.type, _cat(a)
    if cat == "INTEGER":
        base = _MYSQL_INT[int(t.bits)]
        return base + (" unsigned" if t.unsigned else "") + (" auto_increment" if t.auto_increment else "")
    if cat == "FLOAT":
        return "double" if int(t.bits or 64) == 64 else "float"
    if cat == "DECIMAL":
        return f"decimal({t.precision},{t.scale})" + (" unsigned" if t.unsigned else "")
    if cat == "BOOL":
        return "tinyint(1)"  # what MySQL makes of `bool`; read back as bool
    if cat == "CHAR":
        return f"char({t.length})"
    if cat == "VARCHAR":
        return f"varchar({t.length})"
    if cat == "TEXT":
        return "longtext"
    if cat == "ENUM":
        return "enum(" + ",".join(sql_literal(v, _MYSQL) for v in t.values) + ")"
    if cat in ("DATETIME", "TIMESTAMP", "TIME"):
        base = cat.lower()
        return f"{base}({t.fsp})" if t.fsp else base
    if cat == "DATE":
        return "date"
    if cat == "YEAR":
        return "year"
    if cat == "UUID":
        return "binary(16)"
    if cat == "JSON":
        return "json"
    if cat in ("BLOB", "ATTACH", "BYTES"):
        size = getattr(t, "blob_size", "long")
        return f"{size}blob" if size in ("tiny", "medium", "long") else ("blob" if size == "" else "longblob")
    raise errors.UnsupportedOperation(f"type {a.declared_type}", "mysql")


def _pg_type(a: Attribute) -> str:
    t, cat = a.type, _cat(a)
    if cat == "INTEGER":
        bits = int(t.bits) + (1 if t.unsigned else 0)
        if t.auto_increment:
            # identity columns must be integers; an unsigned 64-bit counter fits bigint in practice
            base = "smallint" if bits <= 16 else "integer" if bits <= 32 else "bigint"
            return base + " GENERATED BY DEFAULT AS IDENTITY"
        return "smallint" if bits <= 16 else "integer" if bits <= 32 else "bigint" if bits <= 64 else "numeric(20)"
    if cat == "FLOAT":
        return "double precision" if int(t.bits or 64) == 64 else "real"
    if cat == "DECIMAL":
        return f"numeric({t.precision},{t.scale})"
    if cat == "BOOL":
        return "boolean"
    if cat in ("CHAR", "VARCHAR"):
        return f"varchar({t.length})"  # char(n) would pad with spaces; MySQL strips them
    if cat in ("TEXT", "ENUM"):
        return "text"
    if cat in ("DATETIME", "TIMESTAMP"):
        return f"timestamp({t.fsp or 0})"
    if cat == "TIME":
        return f"time({t.fsp or 0})"
    if cat == "DATE":
        return "date"
    if cat == "YEAR":
        return "smallint"
    if cat == "UUID":
        return "uuid"
    if cat == "JSON":
        return "jsonb"
    if cat in ("BLOB", "ATTACH", "BYTES"):
        return "bytea"
    raise errors.UnsupportedOperation(f"type {a.declared_type}", "postgresql")


def _sqlite_type(a: Attribute) -> str:
    cat = _cat(a)
    if cat in ("INTEGER", "BOOL", "YEAR"):
        return "INTEGER"
    if cat in ("FLOAT", "DECIMAL"):
        return "REAL"
    if cat in ("BLOB", "ATTACH", "BYTES", "UUID"):
        return "BLOB"
    return "TEXT"


def _checks(a: Attribute, backend: Backend) -> list[str]:
    """CHECK constraints that give PostgreSQL and SQLite MySQL's type limits."""
    if backend.name == "mysql":
        return []
    q = backend.qident(a.name)
    t, cat = a.type, _cat(a)
    out = []
    if cat == "INTEGER" and not t.auto_increment:
        lo, hi = _INT_RANGES[int(t.bits)]
        if t.unsigned:
            lo, hi = 0, hi * 2 + 1
        if backend.name == "sqlite" or int(t.bits) in (8, 24) or t.unsigned:
            out.append(f"{q} BETWEEN {lo} AND {hi}")
    elif cat == "DECIMAL" and backend.name == "sqlite":
        bound = 10 ** (int(t.precision) - int(t.scale))
        out.append(f"{q} > -{bound} AND {q} < {bound}")
    elif cat == "DECIMAL" and t.unsigned:
        out.append(f"{q} >= 0")
    elif cat == "YEAR":
        out.append(f"{q} BETWEEN 1901 AND 2155")  # MySQL's YEAR range
    elif cat == "BOOL" and backend.name == "sqlite":
        out.append(f"{q} IN (0, 1)")
    elif cat in ("CHAR", "VARCHAR") and backend.name == "sqlite":
        out.append(f"length({q}) <= {int(t.length)}")
    elif cat == "ENUM":
        out.append(f"{q} IN (" + ", ".join(sql_literal(v, backend) for v in t.values) + ")")
    elif cat == "UUID" and backend.name == "sqlite":
        out.append(f"length({q}) = 16")
    elif cat == "JSON" and backend.name == "sqlite":
        out.append(f"{q} IS NULL OR json_valid({q})")
    return out


def column_comment(a: Attribute, backend: Backend) -> str:
    """The column comment: DataJoint's ``:type:`` marker (where the backend needs one) + comment."""
    if a.type is None:
        return a.comment
    if backend.name != "mysql" and a.type.auto_increment:
        # the core-name marker drops the modifier; keep it so the heading knows the key is generated
        return f":{a.type.core_name} auto_increment:{a.comment}"
    return a.type.column_comment(a.comment, backend.name)


def _column_sql(a: Attribute, backend: Backend, schema: str) -> str:
    parts = [backend.qident(a.name), sql_type(a, backend, schema=schema)]
    if a.is_string and backend.name == "sqlite":
        parts.append("COLLATE NOCASE")
    elif a.is_string and backend.name == "postgresql":
        parts.append(f"COLLATE {ci_collation_sql()}")
    parts.append("NULL" if a.nullable else "NOT NULL")
    d = a.default
    if d is not None and d.kind != "null":
        if d.kind == "current_timestamp":
            if backend.name == "sqlite":
                # local time, as MySQL and PostgreSQL give (SQLite's CURRENT_TIMESTAMP is UTC)
                parts.append("DEFAULT (strftime('%Y-%m-%d %H:%M:%S', 'now', 'localtime'))")
            else:
                fsp = int(getattr(a.type, "fsp", 0) or 0)
                now = f"CURRENT_TIMESTAMP({fsp})" if fsp else "CURRENT_TIMESTAMP"
                parts.append(f"DEFAULT {now}")
                if getattr(d, "on_update", False) and backend.name == "mysql":
                    parts.append(f"ON UPDATE {now}")  # PostgreSQL and SQLite: a trigger, below
        elif d.kind == "expression":
            parts.append(f"DEFAULT ({d.value})")
        else:
            value = d.value
            if a.category == "BOOL":
                value = value if isinstance(value, bool) else str(value).lower() in ("1", "true")
            parts.append("DEFAULT " + sql_literal(value, backend))
    elif a.nullable and backend.name == "mysql":
        parts.append("DEFAULT NULL")
    if backend.name == "mysql":
        parts.append("COMMENT " + sql_literal(column_comment(a, backend), backend))
    for check in _checks(a, backend):
        parts.append(f"CHECK ({check})")
    return " ".join(parts)


def _index_name(table: str, cols: tuple[str, ...], unique: bool, limit: int) -> str:
    base = f"{table}__{'_'.join(cols)}_{'uq' if unique else 'idx'}"
    if len(base) <= limit:
        return base
    digest = hashlib.md5(base.encode()).hexdigest()[:8]
    return base[: limit - 9] + "_" + digest


def tracking_references(d: Declaration) -> list[tuple[str, str]]:
    """(column, store) of each 0.14 store-backed attribute (``blob@s``, ``attach@s``, ``filepath@s``).

    Each such column holds hashes of the schema's ``~external_<s>`` tracking table and gets a
    foreign key to it, as DataJoint declares it, so a tracked object cannot lose its record while
    a row uses it. The tracking table must exist before the table is created.
    """
    return [(a.name, a.type.store) for a in d.attributes
            if a.type is not None and a.type.store and a.type.codec is None]


def ci_collation_sql() -> str:
    """The qualified name of PostgreSQL's case-insensitive collation (see `CI_COLLATION_SCHEMA`)."""
    return f'"{CI_COLLATION_SCHEMA}"."{CI_COLLATION}"'


def create_ci_collation_sql() -> str:
    """``CREATE COLLATION IF NOT EXISTS`` of PostgreSQL's case-insensitive collation."""
    return (f"CREATE COLLATION IF NOT EXISTS {ci_collation_sql()} "
            "(provider = icu, locale = 'und-u-ks-level2', deterministic = false)")


def create_table_sql(backend: Backend, d: Declaration) -> list[str]:
    """The statements that create ``d`` (table, indexes, comments, metadata rows)."""
    q = backend.qident
    full = backend.qtable(d.schema, d.table)
    lines = [_column_sql(a, backend, d.schema) for a in d.attributes]
    pk = d.primary_key
    if not pk:
        raise errors.DefinitionError(
            f"Table {d.table} must have a primary key: add an attribute above the '---' line."
        )
    lines.append("PRIMARY KEY (" + ", ".join(q(k) for k in pk) + ")")
    for fk in d.foreign_keys:
        parent = backend.qtable(fk.parent_schema, fk.parent_table)
        lines.append(
            "FOREIGN KEY (" + ", ".join(q(c) for c in fk.child_attrs) + f") REFERENCES {parent} ("
            + ", ".join(q(p) for p in fk.parent_attrs) + ") ON UPDATE CASCADE ON DELETE RESTRICT"
        )
    tracked = tracking_references(d)
    for col, store in tracked:
        lines.append(f"FOREIGN KEY ({q(col)}) REFERENCES {backend.qtable(d.schema, '~external_' + store)} "
                     f"({q('hash')}) ON UPDATE RESTRICT ON DELETE RESTRICT")
    indexes = list(d.indexes)
    indexes += [(True, tuple(fk.child_attrs)) for fk in d.foreign_keys if fk.unique]
    if backend.name == "mysql":
        for unique, cols in indexes:
            lines.append(("UNIQUE INDEX" if unique else "INDEX") + " (" + ", ".join(q(c) for c in cols) + ")")
    body = ",\n".join(lines)
    stmts = []
    if backend.name == "postgresql" and any(a.is_string for a in d.attributes):
        stmts.append(create_ci_collation_sql())
    if backend.name == "mysql":
        stmts.append(f"CREATE TABLE IF NOT EXISTS {full} (\n{body}\n) ENGINE=InnoDB, COMMENT "
                     + sql_literal(d.comment, backend))
        return stmts
    strict = " STRICT" if backend.name == "sqlite" else ""
    stmts.append(f"CREATE TABLE IF NOT EXISTS {full} (\n{body}\n){strict}")
    # PostgreSQL and SQLite do not index foreign keys themselves; MySQL does, and joins and
    # cascades need it. Skip keys covered by a left prefix of the primary key or an index.
    covered = [tuple(pk)] + [cols for _, cols in indexes]
    for cols in [tuple(fk.child_attrs) for fk in d.foreign_keys] + [(c,) for c, _ in tracked]:
        if not any(c[: len(cols)] == cols for c in covered):
            indexes.append((False, cols))
            covered.append(cols)
    _, phys_table = backend.physical(d.schema, d.table)
    for unique, cols in indexes:
        name = _index_name(phys_table.replace("#", "").replace("~", ""), cols, unique, backend.max_identifier)
        iname = q(name)
        stmts.append(f"CREATE {'UNIQUE ' if unique else ''}INDEX IF NOT EXISTS {iname} ON {full} ("
                     + ", ".join(q(c) for c in cols) + ")")
    stmts.extend(_on_update_triggers(backend, d, full, phys_table))
    if backend.name == "postgresql":
        for a in d.attributes:
            if a.category == "BLOB" and not a.is_external:
                # Serialized blobs are compressed (or not) by labjoin; PostgreSQL's own pglz pass
                # costs ~1 s per 100 MB of numeric data and saves nothing on it.
                stmts.append(f"ALTER TABLE {full} ALTER COLUMN {q(a.name)} SET STORAGE EXTERNAL")
        stmts.append(f"COMMENT ON TABLE {full} IS " + sql_literal(d.comment, backend))
        for a in d.attributes:
            stmts.append(f"COMMENT ON COLUMN {full}.{q(a.name)} IS "
                         + sql_literal(column_comment(a, backend), backend))
    return stmts


def _on_update_triggers(backend: Backend, d: Declaration, full: str, phys_table: str) -> list[str]:
    """MySQL's ``ON UPDATE CURRENT_TIMESTAMP`` as triggers: the column is set to the current time
    when a row changes and the update did not set the column itself."""
    q = backend.qident
    out = []
    for a in d.attributes:
        if not (a.default is not None and getattr(a.default, "on_update", False)):
            continue
        name = _index_name(phys_table.replace("#", "").replace("~", ""), (a.name,), False,
                           backend.max_identifier).replace("_idx", "_touch")
        if backend.name == "sqlite":
            out.append(
                f"CREATE TRIGGER IF NOT EXISTS {q(name)} AFTER UPDATE ON {full} FOR EACH ROW "
                f"WHEN NEW.{q(a.name)} IS OLD.{q(a.name)} BEGIN UPDATE {full} SET {q(a.name)} = "
                f"strftime('%Y-%m-%d %H:%M:%S', 'now', 'localtime') WHERE rowid = NEW.rowid; END")
        elif backend.name == "postgresql":
            out.append(
                f"CREATE OR REPLACE FUNCTION {q(d.schema)}.labjoin_touch() RETURNS trigger LANGUAGE plpgsql AS "
                "$$ BEGIN IF to_jsonb(NEW) -> TG_ARGV[0] IS NOT DISTINCT FROM to_jsonb(OLD) -> TG_ARGV[0] THEN "
                "NEW := jsonb_populate_record(NEW, jsonb_build_object(TG_ARGV[0], localtimestamp)); END IF; "
                "RETURN NEW; END $$")
            out.append(f"CREATE TRIGGER {q(name)} BEFORE UPDATE ON {full} FOR EACH ROW EXECUTE FUNCTION "
                       f"{q(d.schema)}.labjoin_touch({sql_literal(a.name, backend)})")
    return out


def sqlite_metadata_rows(d: Declaration, backend: Backend) -> tuple[tuple[Any, ...], list[tuple[Any, ...]]]:
    """Rows for labjoin's SQLite metadata tables (SQLite has no comments)."""
    table_row = (d.schema, d.table, d.comment, d.definition)
    cols = [(d.schema, d.table, a.name, column_comment(a, backend)) for a in d.attributes]
    return table_row, cols


class _MySQLQuoting:
    name = "mysql"


_MYSQL: Any = _MySQLQuoting()
