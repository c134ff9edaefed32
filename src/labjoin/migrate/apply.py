"""Run an alter plan: one transaction on PostgreSQL and SQLite, ordered statements on MySQL.

MySQL commits every DDL statement, so no plan there is atomic as a whole. The plan is ordered so
that every statement leaves a consistent database: each table changes in one ``ALTER TABLE``
(atomic by itself), after the foreign keys pointing at changing keys were dropped, and each
foreign key is re-added in the statement that changes its table. If a statement fails, every row
is still there and valid; what can be missing is foreign keys the remaining statements would have
re-added. The error lists the statements that ran and those that did not.
"""

from __future__ import annotations

from typing import Any

from .. import errors
from .plan import Plan

__all__ = ["apply_plan"]


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
