"""Schema evolution: compare a table class with its table in the database, plan, and apply.

>>> Session.alter()                       # doctest: +SKIP
>>> plan = labjoin.migrate.plan_alter(Session())   # inspect without changing anything  # doctest: +SKIP

``alter()`` resolves the class definition, compares it with the catalog (``diff.py``), follows a
primary-key change into dependent tables, counts what the change does to existing rows
(``plan.py``), shows the plan and asks under safemode, and applies it: in one transaction on
PostgreSQL, by rebuilding tables inside one transaction on SQLite, statement by statement on
MySQL (``plan.py``). Changes that lose data need ``force=True``. See docs/alter.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .. import errors
from .diff import Fill, TableChange, table_changes
from .plan import Plan, apply_plan, make_plan
from .state import declaration_from_catalog, table_state

__all__ = ["Fill", "Plan", "TableChange", "alter", "apply_plan", "declaration_from_catalog", "make_plan",
           "plan_alter", "table_state"]


def _as_table(table: Any) -> Any:
    from ..tables.table import Table

    if isinstance(table, type) and issubclass(table, Table):
        table = table()
    if not isinstance(table, Table):
        raise errors.MigrationError(f"alter() works on a table class, not {type(table).__name__}.")
    if table.restricted:
        raise errors.MigrationError("alter() changes a whole table; call it on the table, not a restriction.")
    return table


def plan_alter(table: Any, *, context: Mapping[str, Any] | None = None, force: bool = False) -> Plan:
    """The plan that would bring ``table`` in line with its class definition (changes nothing).

    Parameters
    ----------
    table : Table class or instance
        A declared table whose class ``definition`` was edited.
    context : mapping, optional
        Names for resolving ``-> Parent`` (default: the context the class was declared with).
    force : bool
        Record that data-losing changes are accepted (shown in the plan).
    """
    table = _as_table(table)
    changes = table_changes(table, context)
    return make_plan(table.connection, changes, force=force)


def alter(table: Any, *, prompt: bool = True, context: Mapping[str, Any] | None = None,
          force: bool = False, dry_run: bool = False) -> Plan:
    """Alter ``table`` to match its class definition; return the plan.

    Parameters
    ----------
    prompt : bool
        Show the plan and ask before applying it, when ``dj.config['safemode']`` is on.
    force : bool
        Apply changes that discard stored values (dropping a column that holds data, narrowing a
        type below existing values). Without it such plans raise ``MigrationError``.
    dry_run : bool
        Plan only: return the plan without applying it.

    Raises
    ------
    MigrationError
        The change is not supported, cannot be applied, or would lose data without ``force``.
    """
    from ..settings import config

    table = _as_table(table)
    plan = plan_alter(table, context=context, force=force)
    if plan.empty:
        if prompt:
            print(plan.render())
        return plan
    if dry_run:
        return plan
    if plan.blockers or (plan.losses and not force):
        apply_plan(table.connection, plan)  # raises, with the reasons
    if prompt and config.get("safemode", True):
        from ..tables.delete import _confirm

        print(plan.render())
        if not _confirm("Apply these changes?"):
            print("Alter cancelled: nothing was changed.")
            return plan
    apply_plan(table.connection, plan)
    return plan
