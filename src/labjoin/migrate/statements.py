"""The statements of an alter plan, per backend, and the value conversions they need.

**PostgreSQL and MySQL** (:func:`server_statements`). For every table in the plan:

1. drop the foreign keys that change or go (all tables first: a key column cannot be retyped
   or a primary key replaced while another table's foreign key points at it);
2. per table, parents first: rename, add, retype and drop columns, replace the primary key,
   drop and add indexes, add its foreign keys (the parents are final by then), comments.

PostgreSQL runs the whole list in one transaction. MySQL commits every DDL statement, so each
table's change is one ``ALTER TABLE`` (atomic by itself); see ``plan.py`` for what a failure
part-way leaves.

**SQLite** (:func:`sqlite_statements`) can rename and add columns in place but cannot change a
type, a primary key, a foreign key or a check constraint. So every changed table is rebuilt, as
SQLite's documented 12-step ALTER TABLE procedure says (https://sqlite.org/lang_altertable.html,
"Making Other Kinds Of Table Schema Changes"):

1. ``PRAGMA foreign_keys=OFF`` (outside the transaction; ``plan.py`` does it);
2. begin a transaction;
3-4. create the new table under a temporary name, in the new form;
5. ``INSERT INTO new SELECT ... FROM old`` (renamed, converted and filled columns);
6. drop the old table;
7. rename the new table to the old name (never the old table away: foreign keys in other
   tables name the table, and must keep pointing at the new one);
8. recreate the indexes (and triggers);
10. ``PRAGMA foreign_key_check``: any row that no longer has its parent aborts the change;
11. commit; 12. ``PRAGMA foreign_keys=ON``.

labjoin's SQLite metadata tables (declared types and comments, the definition text) are
rewritten in the same transaction, so they always describe the tables as they are.

**Values** (:func:`loss_condition`, :func:`convert_expr`): which existing values a retype would
cut, round or refuse, and the expression that converts an old value to the new type; with
``force`` strings are cut to the new length instead of failing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any

from .. import errors
from ..definition import Default
from ..heading.codecs import encoder
from ..heading.heading import Attribute
from ..sql.ddl import (
    META_COLUMNS,
    META_TABLES,
    _checks,
    _column_sql,
    _index_name,
    column_comment,
    create_table_sql,
    sql_literal,
    sql_type,
    sqlite_metadata_rows,
)
from .diff import TableChange, attr_differences, key_touched, widens
from .state import fk_identity, implicit_fk_indexes, is_tracked

__all__ = ["TEMP_SCHEMA", "Statement", "convert_expr", "default_sql", "loss_condition", "mysql_prepare",
           "rebuilt_fks", "server_statements", "sqlite_statements"]


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
            collate = _collate_clause(new, b, schema)
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


def _collate_clause(a: Attribute, b: Any, schema: str) -> str:
    """`` COLLATE <name>`` as CREATE TABLE gives the column (PostgreSQL strings), else ``""``.

    Read from the DDL's own column text so that it names the collation the DDL uses.
    """
    m = re.search(r' COLLATE ("[^"]+"\."[^"]+"|"[^"]+"|\S+)', _column_sql(a, b, schema))
    return f" COLLATE {m.group(1)}" if m else ""


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


TEMP_SCHEMA = "~labjoin_alter"


def _select_expr(b: Any, tc: TableChange, a: Any, force: bool) -> tuple[str, tuple[Any, ...]]:
    """The SELECT expression (and its parameters) that gives existing rows their value of ``a``."""
    old = tc.old_attr(a.name)
    if old is not None:
        expr = convert_expr(b, old.name, old, a, schema=tc.new.schema, force=force)
        if old.nullable and not a.nullable and a.default is not None and a.default.kind == "literal":
            return f"coalesce({expr}, ?)", (encoder(a, "sqlite")(a.default.value),)
        return expr, ()
    fill = tc.fills.get(a.name)
    if fill is None or fill.value is None:
        dflt = default_sql(a, b)
        return (dflt if dflt is not None and fill is not None and not fill.null_with else "NULL"), ()
    value = encoder(a, "sqlite")(fill.value)
    if fill.null_with:
        cond = " OR ".join(f"{b.qident(c)} IS NULL" for c in _old_names(tc, fill.null_with))
        return f"CASE WHEN {cond} THEN NULL ELSE ? END", (value,)
    return "?", (value,)


def _old_names(tc: TableChange, names: tuple[str, ...]) -> list[str]:
    return [tc.old_name(n) or n for n in names]


def sqlite_statements(conn: Any, changes: list[TableChange], force: bool) -> list[Statement]:
    """The statements that rebuild every changed table (run with foreign keys off, in one transaction)."""
    b = conn.backend
    out: list[Statement] = []
    for tc in changes:
        schema, table = tc.new.schema, tc.new.table
        full = b.qtable(schema, table)
        tmp = b.qtable(TEMP_SCHEMA, f"{schema}.{table}")
        create = create_table_sql(b, tc.new)
        head = f"CREATE TABLE IF NOT EXISTS {full} ("
        if not create[0].startswith(head):
            raise errors.MigrationError(f"Unexpected CREATE TABLE statement for {full}: {create[0][:80]}")
        # the new table under a temporary name; every reference inside it (the schema's tracking
        # tables, parents) stays as the declaration has it
        out.append(Statement(f"CREATE TABLE {tmp} (" + create[0][len(head):], (), full))
        cols, exprs, params = [], [], []
        for a in tc.new.attributes:
            expr, p = _select_expr(b, tc, a, force)
            cols.append(b.qident(a.name))
            exprs.append(expr if expr == b.qident(a.name) else f"{expr} AS {b.qident(a.name)}")
            params.extend(p)
        out.append(Statement(f"INSERT INTO {tmp} ({', '.join(cols)})\n  SELECT {', '.join(exprs)} FROM {full}",
                             tuple(params), full))
        out.append(Statement(f"DROP TABLE {full}", (), full))
        out.append(Statement(f"ALTER TABLE {tmp} RENAME TO {b.qident(f'{schema}.{table}')}", (), full))
        out.extend(Statement(s, (), full) for s in create[1:])
        decl = replace(tc.new, definition=tc.definition if tc.definition is not None else tc.old.definition)
        trow, crows = sqlite_metadata_rows(decl, b)
        note = f"-- labjoin metadata of {full}: declared types, comments and definition rewritten"
        out.append(Statement(f'DELETE FROM "{META_COLUMNS}" WHERE schema_name = ? AND table_name = ?',
                             (schema, table), full, note))
        out.extend(Statement(f'INSERT INTO "{META_COLUMNS}" VALUES (?, ?, ?, ?)', row, full, note)
                   for row in crows)
        out.append(Statement(f'INSERT OR REPLACE INTO "{META_TABLES}" VALUES (?, ?, ?, ?)', trow, full, note))
    return out
