"""ALTER statements for PostgreSQL and MySQL from a list of table changes.

Order, for every table in the plan:

1. drop the foreign keys that change or go (all tables first: a key column cannot be retyped
   or a primary key replaced while another table's foreign key points at it);
2. per table, parents first: rename, add, retype and drop columns, replace the primary key,
   drop and add indexes, add its foreign keys (the parents are final by then), comments.

PostgreSQL runs the whole list in one transaction. MySQL commits every DDL statement, so each
table's change is one ``ALTER TABLE`` (atomic by itself); see ``apply.py`` for what a failure
part-way leaves.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from ..definition import Default
from ..heading.codecs import encoder
from ..heading.heading import Attribute
from ..sql.ddl import _checks, _column_sql, _index_name, column_comment, sql_literal, sql_type
from .convert import convert_expr, mysql_prepare
from .diff import TableChange, attr_differences, key_touched
from .state import fk_identity, implicit_fk_indexes, is_tracked

__all__ = ["Statement", "default_sql", "rebuilt_fks", "server_statements"]


@dataclass(frozen=True)
class Statement:
    """One SQL statement of a plan, with its bound parameters and the table it changes."""

    sql: str
    params: tuple[Any, ...] = ()
    table: str = ""
    summary: str = ""  # shown instead of the SQL in a plan (bookkeeping statements)

    def __str__(self) -> str:
        return self.sql + (f"  -- {self.params!r}" if self.params else "")


def _with_default(a: Attribute, value: Any) -> Attribute:
    return replace(a, default=None if value is None else Default("literal", value))


def rebuilt_fks(tc: TableChange, changes: dict[str, TableChange], backend: str) -> tuple[list[Any], list[Any]]:
    """(old foreign keys to drop, new foreign keys to add) of one table.

    Besides the keys that change, every key whose own columns are retyped or whose parent's
    key changes is dropped and re-added: MySQL refuses to retype a column in a foreign key.
    """
    retyped = {o.name for o, n in tc.kept if "type" in attr_differences(o, n, backend)}
    drop = list(tc.dropped_fks)
    add = list(tc.added_fks)
    new_by_id = {fk_identity(fk): fk for fk in tc.new.foreign_keys}
    for fk in tc.old.foreign_keys:
        if fk in drop:
            continue
        parent = changes.get(f"`{fk.parent_schema}`.`{fk.parent_table}`")
        if (parent is not None and key_touched(parent, backend)) or retyped & set(fk.child_attrs):
            drop.append(fk)
            add.append(new_by_id[tc.renamed_fk(fk)])
    return drop, add


def _physical_indexes(tc: TableChange, backend: str) -> tuple[list[Any], list[tuple[Any, str]]]:
    """(indexes to create, (index, name) to drop), comparing what the backend actually holds."""
    back = {old: new for new, old in tc.renames.items()}
    new = tc.new
    desired = list(new.indexes) + [(True, tuple(fk.child_attrs)) for fk in new.foreign_keys if fk.unique]
    desired += implicit_fk_indexes(backend, new)
    fk_cols = {tuple(fk.child_attrs) for fk in new.foreign_keys} | {(a.name,) for a in new.attributes if is_tracked(a)}
    dropped_cols = {a.name for a in tc.dropped}
    current = []
    for unique, cols in tc.state.physical_indexes:
        if backend == "mysql" and not unique and tuple(back.get(c, c) for c in cols) in fk_cols:
            continue  # InnoDB's own index for a foreign key: it manages it
        if backend == "postgresql" and set(cols) & dropped_cols:
            continue  # DROP COLUMN drops it
        current.append(((unique, cols), (unique, tuple(back.get(c, c) for c in cols))))
    mapped = [m for _, m in current]
    add = [ix for ix in desired if ix not in mapped]
    drop = [(ix, tc.state.index_names.get(ix, "")) for ix, m in current if m not in desired]
    return add, drop


def _tracking_fk_sql(backend: Any, schema: str, a: Attribute) -> str:
    """The foreign key of a store-backed attribute to its store's tracking table (as DataJoint declares it)."""
    q = backend.qident
    return (f"FOREIGN KEY ({q(a.name)}) REFERENCES {backend.qtable(schema, '~external_' + a.type.store)} "
            f"({q('hash')}) ON UPDATE RESTRICT ON DELETE RESTRICT")


def _fk_sql(backend: Any, fk: Any) -> str:
    q = backend.qident
    return ("FOREIGN KEY (" + ", ".join(q(c) for c in fk.child_attrs) + ") REFERENCES "
            + backend.qtable(fk.parent_schema, fk.parent_table) + " ("
            + ", ".join(q(p) for p in fk.parent_attrs) + ") ON UPDATE CASCADE ON DELETE RESTRICT")


def _fill_update(backend: Any, table_sql: str, a: Attribute, fill: Any) -> Statement:
    q = backend.qident
    ph = "%s"
    cond = " AND ".join(f"{q(c)} IS NOT NULL" for c in fill.null_with)
    return Statement(f"UPDATE {table_sql} SET {q(a.name)} = {ph} WHERE {cond}",
                     (encoder(a, backend.name)(fill.value),), table_sql)


def server_statements(conn: Any, changes: list[TableChange], force: bool) -> list[Statement]:
    """Every statement of the plan, in execution order (PostgreSQL and MySQL)."""
    backend = conn.backend
    by_name = {tc.full_name: tc for tc in changes}
    out: list[Statement] = []
    fk_plan = {tc.full_name: rebuilt_fks(tc, by_name, backend.name) for tc in changes}
    for tc in changes:
        drops = fk_plan[tc.full_name][0]
        if not drops:
            continue
        table_sql = backend.qtable(tc.old.schema, tc.old.table)
        word = "CONSTRAINT" if backend.name == "postgresql" else "FOREIGN KEY"
        clauses = [f"DROP {word} {backend.qident(tc.state.fk_names[fk_identity(fk)])}" for fk in drops]
        if backend.name == "mysql":
            out.append(Statement(f"ALTER TABLE {table_sql} " + ", ".join(clauses), (), table_sql))
        else:
            out.extend(Statement(f"ALTER TABLE {table_sql} {c}", (), table_sql) for c in clauses)
    for tc in changes:
        adds = fk_plan[tc.full_name][1]
        if backend.name == "postgresql":
            out.extend(_postgresql(backend, tc, adds, force))
        else:
            out.extend(_mysql(backend, tc, adds, force))
    return out


def _postgresql(b: Any, tc: TableChange, fk_adds: list[Any], force: bool) -> list[Statement]:
    schema, table = tc.new.schema, tc.new.table
    t = b.qtable(schema, table)
    q = b.qident
    out: list[str | Statement] = []
    for new, old in tc.renames.items():
        out.append(f"ALTER TABLE {t} RENAME COLUMN {q(old)} TO {q(new)}")
    if tc.pk_changed:
        out.append(f"ALTER TABLE {t} DROP CONSTRAINT {q(tc.state.pk_name)}")
    add_ix, drop_ix = _physical_indexes(tc, "postgresql")
    for _, name in drop_ix:
        out.append(f"DROP INDEX {q(schema)}.{q(name)}")
    for a in tc.added:
        fill = tc.fills.get(a.name)
        value = fill.value if fill is not None and not fill.null_with else None
        out.append(f"ALTER TABLE {t} ADD COLUMN {_column_sql(_with_default(a, value), b, schema)}")
        if fill is not None and fill.null_with and fill.value is not None:
            out.append(_fill_update(b, t, a, fill))
        if value is not None and a.default != Default("literal", value):
            out.append(_set_default(b, t, a, schema))
        out.append(f"COMMENT ON COLUMN {t}.{q(a.name)} IS " + sql_literal(column_comment(a, b), b))
        if a.category == "BLOB" and not a.is_external:  # as create_table_sql: labjoin compresses blobs
            out.append(f"ALTER TABLE {t} ALTER COLUMN {q(a.name)} SET STORAGE EXTERNAL")
    for old, new in tc.kept:
        diff = attr_differences(old, new, "postgresql")
        c = q(new.name)
        if "type" in diff:
            if old.default is not None and old.default.kind != "null":
                out.append(f"ALTER TABLE {t} ALTER COLUMN {c} DROP DEFAULT")
            for check in tc.state.checks.get(old.name, []):
                out.append(f"ALTER TABLE {t} DROP CONSTRAINT {q(check)}")
            collate = f' COLLATE "{schema}"."labjoin_ci"' if new.is_string else ""
            using = convert_expr(b, new.name, old, new, schema=schema, force=force)
            out.append(f"ALTER TABLE {t} ALTER COLUMN {c} TYPE {sql_type(new, b, schema=schema)}{collate} "
                       f"USING {using}")
            for check in _checks(new, b):
                out.append(f"ALTER TABLE {t} ADD CHECK ({check})")
        if "nullable" in diff:
            if not new.nullable and old.nullable and new.default is not None and new.default.kind == "literal":
                out.append(Statement(f"UPDATE {t} SET {c} = %s WHERE {c} IS NULL",
                                     (encoder(new, "postgresql")(new.default.value),), t))
            out.append(f"ALTER TABLE {t} ALTER COLUMN {c} {'DROP' if new.nullable else 'SET'} NOT NULL")
        if "default" in diff or ("type" in diff and old.default is not None and old.default.kind != "null"):
            out.append(_set_default(b, t, new, schema))
        if diff & {"comment", "type"}:
            out.append(f"COMMENT ON COLUMN {t}.{c} IS " + sql_literal(column_comment(new, b), b))
    for a in tc.dropped:
        out.append(f"ALTER TABLE {t} DROP COLUMN {q(a.name)}")
    if tc.pk_changed:
        out.append(f"ALTER TABLE {t} ADD PRIMARY KEY (" + ", ".join(q(k) for k in tc.new.primary_key) + ")")
    for unique, cols in add_ix:
        name = _index_name(table.replace("#", ""), cols, unique, b.max_identifier)
        out.append(f"CREATE {'UNIQUE ' if unique else ''}INDEX {q(name)} ON {t} (" + ", ".join(q(c) for c in cols) + ")")
    for fk in fk_adds:
        out.append(f"ALTER TABLE {t} ADD {_fk_sql(b, fk)}")
    for a in tc.added:
        if is_tracked(a):
            out.append(f"ALTER TABLE {t} ADD {_tracking_fk_sql(b, schema, a)}")
    if tc.new.comment != tc.old.comment:
        out.append(f"COMMENT ON TABLE {t} IS " + sql_literal(tc.new.comment, b))
    return [s if isinstance(s, Statement) else Statement(s, (), t) for s in out]


def default_sql(a: Attribute, b: Any) -> str | None:
    """The DEFAULT expression ``a`` declares, as CREATE TABLE writes it (None: no default)."""
    d = a.default
    if d is None or d.kind == "null":
        return None
    if d.kind == "current_timestamp":
        fsp = int(getattr(a.type, "fsp", 0) or 0)
        return f"CURRENT_TIMESTAMP({fsp})" if fsp and b.name != "sqlite" else "CURRENT_TIMESTAMP"
    if d.kind == "expression":
        return f"({d.value})"
    value = d.value
    if a.category == "BOOL":
        value = value if isinstance(value, bool) else str(value).lower() in ("1", "true")
    return sql_literal(value, b)


def _set_default(b: Any, t: str, a: Attribute, schema: str) -> str:
    """ALTER COLUMN ... SET DEFAULT / DROP DEFAULT, as ``a`` declares it."""
    expr = default_sql(a, b)
    q = b.qident(a.name)
    if expr is None:
        return f"ALTER TABLE {t} ALTER COLUMN {q} DROP DEFAULT"
    return f"ALTER TABLE {t} ALTER COLUMN {q} SET DEFAULT {expr}"


def _mysql(b: Any, tc: TableChange, fk_adds: list[Any], force: bool) -> list[Statement]:
    schema, table = tc.new.schema, tc.new.table
    t = b.qtable(schema, table)
    q = b.qident
    before: list[Statement] = []
    after: list[Statement] = []
    clauses: list[str] = []
    for old, new in tc.kept:
        diff = attr_differences(old, new, "mysql")
        if "type" in diff:
            before.extend(Statement(s, (), t) for s in mysql_prepare(b, t, old.name, old, new, force))
        if "nullable" in diff and not new.nullable and new.default is not None and new.default.kind == "literal":
            before.append(Statement(f"UPDATE {t} SET {q(old.name)} = %s WHERE {q(old.name)} IS NULL",
                                    (encoder(new, "mysql")(new.default.value),), t))
        if diff or old.name != new.name:
            clauses.append(f"CHANGE COLUMN {q(old.name)} {_column_sql(new, b, schema)}")
    names = [a.name for a in tc.new.attributes]
    for a in tc.added:
        fill = tc.fills.get(a.name)
        value = fill.value if fill is not None and not fill.null_with else None
        i = names.index(a.name)
        where = " FIRST" if i == 0 else f" AFTER {q(names[i - 1])}"
        clauses.append(f"ADD COLUMN {_column_sql(_with_default(a, value), b, schema)}{where}")
        if fill is not None and fill.null_with and fill.value is not None:
            after.append(_fill_update(b, t, a, fill))
        if value is not None and a.default != Default("literal", value):
            after.append(Statement(_set_default(b, t, a, schema), (), t))
    for a in tc.dropped:
        clauses.append(f"DROP COLUMN {q(a.name)}")
    if tc.pk_changed:
        clauses.append("DROP PRIMARY KEY")
        clauses.append("ADD PRIMARY KEY (" + ", ".join(q(k) for k in tc.new.primary_key) + ")")
    add_ix, drop_ix = _physical_indexes(tc, "mysql")
    clauses.extend(f"DROP INDEX {q(name)}" for _, name in drop_ix)
    for unique, cols in add_ix:
        clauses.append(f"ADD {'UNIQUE ' if unique else ''}INDEX (" + ", ".join(q(c) for c in cols) + ")")
    clauses.extend(f"ADD {_fk_sql(b, fk)}" for fk in fk_adds)
    clauses.extend(f"ADD {_tracking_fk_sql(b, schema, a)}" for a in tc.added if is_tracked(a))
    if tc.new.comment != tc.old.comment:
        clauses.append("COMMENT = " + sql_literal(tc.new.comment, b))
    main = [Statement(f"ALTER TABLE {t}\n  " + ",\n  ".join(clauses), (), t)] if clauses else []
    return before + main + after
