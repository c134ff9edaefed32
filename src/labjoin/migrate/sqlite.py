"""SQLite: rebuild each changed table, as SQLite's documented 12-step ALTER TABLE procedure says.

SQLite can rename and add columns in place but cannot change a type, a primary key, a foreign
key or a check constraint. So every changed table is rebuilt (https://sqlite.org/lang_altertable.html,
"Making Other Kinds Of Table Schema Changes"):

1. ``PRAGMA foreign_keys=OFF`` (outside the transaction; ``apply.py`` does it);
2. begin a transaction;
3-4. create the new table under a temporary name, in the new form;
5. ``INSERT INTO new SELECT ... FROM old`` (renamed, converted and filled columns);
6. drop the old table;
7. rename the new table to the old name (never the old table away: foreign keys in other
   tables name the table, and must keep pointing at the new one);
8. recreate the indexes;
10. ``PRAGMA foreign_key_check``: any row that no longer has its parent aborts the change;
11. commit; 12. ``PRAGMA foreign_keys=ON``.

labjoin's metadata tables (declared types and comments, the definition text) are rewritten in
the same transaction, so they always describe the tables as they are.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from .. import errors
from ..heading.codecs import encoder
from ..sql.ddl import META_COLUMNS, META_TABLES, create_table_sql, sqlite_metadata_rows
from .convert import convert_expr
from .diff import TableChange
from .sql_server import Statement, default_sql

__all__ = ["TEMP_SCHEMA", "sqlite_statements"]

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
