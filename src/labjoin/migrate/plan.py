"""The alter plan: what changes, what it does to existing rows and dependents, and its SQL.

:func:`make_plan` turns the table changes of ``diff.py`` into a :class:`Plan`: per table, one
line per change with its effect on the rows there now (counted in the database), the values that
would be lost (refused unless ``force=True``), the changes that cannot be made at all, and the
statements for the connection's backend. ``str(plan)`` is what ``alter()`` shows before asking.

:func:`apply_plan` runs it: one transaction on PostgreSQL and SQLite, ordered statements on MySQL.
MySQL commits every DDL statement, so no plan there is atomic as a whole. The plan is ordered so
that every statement leaves a consistent database: each table changes in one ``ALTER TABLE``
(atomic by itself), after the foreign keys pointing at changing keys were dropped, and each
foreign key is re-added in the statement that changes its table. If a statement fails, every row
is still there and valid; what can be missing is foreign keys the remaining statements would have
re-added. The error lists the statements that ran and those that did not.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .. import errors
from .diff import TableChange, attr_differences
from .statements import Statement, loss_condition, rebuilt_fks, server_statements, sqlite_statements

__all__ = ["Plan", "apply_plan", "make_plan"]


@dataclass
class TablePlan:
    """One table's part of a plan: a line per change and the rows it affects."""

    name: str
    rows: int
    cause: str
    lines: list[str] = field(default_factory=list)


@dataclass
class Plan:
    """A planned schema change.

    Attributes
    ----------
    backend : str
        The backend the statements are for.
    tables : list of TablePlan
        The tables that change, parents first; the first is the one being altered.
    losses : list of str
        Changes that would lose stored values; ``alter(force=True)`` makes them anyway.
    blockers : list of str
        Changes that cannot be made (duplicates under a new unique index, rows whose parent is
        missing under a new foreign key): ``force`` does not help.
    statements : list of Statement
        What runs, in order.
    """

    backend: str
    changes: list[TableChange]
    tables: list[TablePlan]
    losses: list[str]
    blockers: list[str]
    statements: list[Statement]
    force: bool = False

    @property
    def empty(self) -> bool:
        return not self.statements

    def render(self) -> str:
        """The plan as text: changes and effects per table, then the SQL."""
        if self.empty:
            return f"Nothing to alter: {self.tables[0].name if self.tables else 'the table'} matches its definition."
        out = []
        for t in self.tables:
            head = f"{t.name} ({t.rows} rows)"
            if t.cause:
                head += f" - dependent: {t.cause}"
            out.append(head)
            out.extend(f"  - {line}" for line in t.lines)
        if self.losses:
            out.append("Data that would be lost" + (" (force=True: it will be):" if self.force else
                                                    " (refused; pass force=True to accept):"))
            out.extend(f"  ! {line}" for line in self.losses)
        if self.blockers:
            out.append("Cannot be applied:")
            out.extend(f"  x {line}" for line in self.blockers)
        out.append(f"SQL ({self.backend}):")
        out.extend("  " + line for line in _wrapped(self.backend, self.statements))
        return "\n".join(out)

    def __str__(self) -> str:
        return self.render()

    def __repr__(self) -> str:
        return self.render()


def _wrapped(backend: str, statements: list[Statement]) -> list[str]:
    body: list[str] = []
    for s in statements:
        line = s.summary or str(s).replace("\n", "\n  ") + ";"
        if not (s.summary and body and body[-1] == line):
            body.append(line)
    if backend == "sqlite":
        return ["PRAGMA foreign_keys=OFF;", "BEGIN IMMEDIATE;", *body,
                "PRAGMA foreign_key_check;  -- any row listed aborts the change", "COMMIT;",
                "PRAGMA foreign_keys=ON;"]
    if backend == "postgresql":
        return ["BEGIN;", *body, "COMMIT;"]
    return ["-- MySQL commits each statement; one ALTER TABLE per table", *body]


def _count(conn: Any, table_sql: str, cond: str, params: tuple[Any, ...]) -> int:
    return int(conn.query(f"SELECT count(*) FROM {table_sql} WHERE {cond}", params).fetchone()[0])


def _value(v: Any) -> str:
    return "NULL" if v is None else repr(v)


def _check_table(conn: Any, tc: TableChange, plan: TablePlan, losses: list[str], blockers: list[str],
                 changes: dict[str, TableChange]) -> None:
    b = conn.backend
    t = b.qtable(tc.old.schema, tc.old.table)
    rows = tc.state.rows
    name = tc.full_name
    for new, old in tc.renames.items():
        plan.lines.append(f"rename `{old}` -> `{new}`")
    for a in tc.added:
        fill = tc.fills.get(a.name)
        where = "key attribute" if a.in_key else "attribute"
        line = f"add {where} `{a.name}`: {a.declared_type}"
        if rows:
            if fill is not None and fill.value is not None:
                line += f"; existing rows get {_value(fill.value)}"
                if fill.null_with:
                    line += " (NULL where the foreign key is NULL)"
            elif a.default is not None and a.default.kind in ("current_timestamp", "expression"):
                line += "; existing rows get its default"
            else:
                line += "; existing rows get NULL"
        plan.lines.append(line)
    for old, new in tc.kept:
        diff = attr_differences(old, new, b.name)
        if not diff:
            continue
        parts = []
        if "type" in diff:
            parts.append(f"type {old.declared_type} -> {new.declared_type}")
            cond = loss_condition(b, old.name, old, new)
            if cond is not None and rows:
                n = _count(conn, t, *cond)
                if n:
                    losses.append(f"{name}: {n} of {rows} rows hold `{old.name}` values that do not fit "
                                  f"{new.declared_type}" + (" (strings are cut)" if new.is_string else ""))
        if "nullable" in diff:
            parts.append("nullable" if new.nullable else "not nullable")
            if not new.nullable and rows:
                n = _count(conn, t, f"{b.qident(old.name)} IS NULL", ())
                if n and (new.default is None or new.default.kind != "literal"):
                    blockers.append(f"{name}: {n} rows have `{old.name}` NULL and it has no default to use "
                                    "instead: declare a default, or update those rows first")
                elif n:
                    losses.append(f"{name}: {n} rows have `{old.name}` NULL; they get the default "
                                  f"{_value(new.default.value)}")
        if "default" in diff:
            parts.append("default " + (_value(new.default.value) if new.default is not None and
                                       new.default.kind != "null" else "none"))
        if "comment" in diff:
            parts.append(f"comment {new.comment!r}")
        plan.lines.append(f"change `{new.name}`: " + ", ".join(parts))
    for a in tc.dropped:
        line = f"drop attribute `{a.name}`"
        if rows:
            n = _count(conn, t, f"{b.qident(a.name)} IS NOT NULL", ())
            line += f" ({n} rows hold a value)"
            if n:
                losses.append(f"{name}: dropping `{a.name}` discards its values in {n} rows")
        plan.lines.append(line)
    if tc.pk_changed:
        plan.lines.append(f"primary key ({', '.join(tc.old.primary_key)}) -> ({', '.join(tc.new.primary_key)})")
    drop_fks, add_fks = rebuilt_fks(tc, changes, b.name)
    for fk in drop_fks:
        if fk in tc.dropped_fks:
            plan.lines.append(f"drop foreign key ({', '.join(fk.child_attrs)}) -> `{fk.parent_schema}`.`{fk.parent_table}`")
    for fk in add_fks:
        target = b.qtable(fk.parent_schema, fk.parent_table)
        if fk in tc.added_fks:
            plan.lines.append(f"add foreign key ({', '.join(fk.child_attrs)}) -> `{fk.parent_schema}`.`{fk.parent_table}`")
        else:
            plan.lines.append(f"recreate foreign key ({', '.join(fk.child_attrs)}) -> "
                              f"`{fk.parent_schema}`.`{fk.parent_table}`")
        parent_changes = f"`{fk.parent_schema}`.`{fk.parent_table}`" in changes
        if (rows and fk in tc.added_fks and not parent_changes
                and all(tc.old_name(c) is not None for c in fk.child_attrs)):
            q = b.qident
            olds = [tc.old_name(c) for c in fk.child_attrs]
            match = " AND ".join(f"p.{q(p)} = c.{q(o)}" for o, p in zip(olds, fk.parent_attrs))
            notnull = " AND ".join(f"c.{q(o)} IS NOT NULL" for o in olds)
            n = int(conn.query(f"SELECT count(*) FROM {t} c WHERE {notnull} AND NOT EXISTS "
                               f"(SELECT 1 FROM {target} p WHERE {match})").fetchone()[0])
            if n:
                blockers.append(f"{name}: {n} rows reference `{fk.parent_schema}`.`{fk.parent_table}` rows that "
                                "do not exist; delete or fix them before adding the foreign key")
    add_ix, drop_ix = tc.index_changes()
    for unique, cols in drop_ix:
        plan.lines.append(f"drop {'unique ' if unique else ''}index ({', '.join(cols)})")
    for unique, cols in add_ix:
        plan.lines.append(f"add {'unique ' if unique else ''}index ({', '.join(cols)})")
        olds = [tc.old_name(c) for c in cols]
        if unique and rows and all(o is not None for o in olds):
            qc = ", ".join(b.qident(o) for o in olds if o)
            n = int(conn.query(f"SELECT count(*) FROM (SELECT {qc} FROM {t} GROUP BY {qc} "
                               "HAVING count(*) > 1) dup").fetchone()[0])
            if n:
                blockers.append(f"{name}: {n} values of ({', '.join(cols)}) occur more than once; a unique "
                                "index cannot be added")
    if tc.new.comment != tc.old.comment:
        plan.lines.append(f"table comment {tc.new.comment!r}")


def make_plan(conn: Any, changes: list[TableChange], *, force: bool = False) -> Plan:
    """Count the effects of ``changes`` on existing rows and generate their statements."""
    backend = conn.backend.name
    tables, losses, blockers = [], [], []
    by_name = {tc.full_name: tc for tc in changes}
    live = [tc for tc in changes if not tc.is_empty(backend)]
    for tc in changes:
        tp = TablePlan(tc.full_name, tc.state.rows, tc.cause)
        _check_table(conn, tc, tp, losses, blockers, by_name)
        tables.append(tp)
    if not live:
        statements: list[Statement] = []
    elif backend == "sqlite":
        statements = sqlite_statements(conn, live, force)
    else:
        statements = server_statements(conn, live, force)
    return Plan(backend, changes, tables, losses, blockers, statements, force)


# -- applying a plan ----------------------------------------------------------------------------
def _refuse(plan: Plan) -> None:
    if plan.blockers:
        raise errors.MigrationError("The alter plan cannot be applied:\n  " + "\n  ".join(plan.blockers)
                                    + "\n\n" + plan.render())
    if plan.losses and not plan.force:
        raise errors.MigrationError(
            "The alter plan would lose data; nothing was changed. Pass force=True (labjoin alter --force) "
            "to accept:\n  " + "\n  ".join(plan.losses)
        )


def apply_plan(conn: Any, plan: Plan) -> None:
    """Execute ``plan`` on ``conn`` (refusing blocked or, without force, data-losing plans)."""
    _refuse(plan)
    if plan.empty:
        return
    if conn.in_transaction:
        raise errors.TransactionError(
            "alter() cannot run inside a transaction: schema changes commit on their own. "
            "Call it outside `with conn.transaction:`."
        )
    _declare_tracking(conn, plan)
    try:
        if plan.backend == "sqlite":
            _sqlite(conn, plan)
        elif plan.backend == "postgresql":
            with conn.transaction:
                for s in plan.statements:
                    conn.query(s.sql, s.params)
        else:
            _mysql(conn, plan)
    finally:
        conn.invalidate_catalog()


def _declare_tracking(conn: Any, plan: Plan) -> None:
    """New store-backed attributes reference their store's tracking table: declare it first."""
    from ..stores.tracking import declare_tracking
    from .state import is_tracked

    for tc in plan.changes:
        for a in tc.added:
            if is_tracked(a):
                declare_tracking(conn, tc.new.schema, a.type.store)


def _sqlite(conn: Any, plan: Plan) -> None:
    conn.query("PRAGMA foreign_keys=OFF")  # step 1: only takes effect outside a transaction
    try:
        with conn.transaction:
            for s in plan.statements:
                conn.query(s.sql, s.params)
            bad = conn.query("PRAGMA foreign_key_check").fetchall()
            if bad:
                tables = sorted({row[0] for row in bad})
                raise errors.IntegrityError(
                    f"The rebuilt tables would leave {len(bad)} rows without their parent rows (in "
                    f"{', '.join(tables)}); nothing was changed."
                )
    finally:
        conn.query("PRAGMA foreign_keys=ON")


def _mysql(conn: Any, plan: Plan) -> None:
    for done, s in enumerate(plan.statements):
        try:
            conn.query(s.sql, s.params)
        except errors.DataJointError as e:
            ran = "\n".join(f"  {x.sql};" for x in plan.statements[:done]) or "  (none)"
            rest = "\n".join(f"  {x};" for x in plan.statements[done:])
            raise errors.MigrationError(
                f"MySQL refused statement {done + 1} of {len(plan.statements)}: {e}\n"
                "MySQL commits DDL statement by statement, so the statements before it are in effect. "
                "Every row is intact; foreign keys the remaining statements re-add may be missing. Fix "
                "the cause and run alter() again, or run the remaining statements by hand.\n"
                f"Ran:\n{ran}\nNot run:\n{rest}"
            ) from e
