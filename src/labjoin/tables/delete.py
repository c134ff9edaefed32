"""Delete and drop, cascading along the foreign-key graph.

The cascade is planned before anything is deleted: starting from the restricted table, every
descendant is restricted by the rows its parents lose, along every foreign-key path (several
paths into one table are ORed). Master-part integrity is checked on the plan, with the masters'
keys materialized up front. Then the preview (rows per table) is shown, and the rows are
deleted children first, in one transaction. Nothing depends on parsing server error messages.
"""

from __future__ import annotations

import sys
from typing import Any

from .. import errors
from ..algebra import conditions as C
from ..algebra import nodes as N
from .log import ensure_log, log_event

__all__ = ["delete", "delete_quick", "drop", "drop_quick", "plan_cascade"]


def _free(conn: Any, name: str) -> Any:
    from .table import FreeTable

    return FreeTable(conn, name)


def _delete_where_sql(table: Any) -> tuple[str, Any]:
    """``DELETE FROM t WHERE (pk) IN (SELECT pk FROM <restricted t>)``, portable to all backends."""
    conn = table.connection
    b = conn.backend
    full = b.qtable(table.database, table.table_name)
    if not table.restricted:
        return f"DELETE FROM {full}", ()
    pk = table.heading.primary_key
    stmt = table._compiler().select(table._node, pk)
    sub, params = conn.compile(stmt)
    cols = ", ".join(b.qident(k) for k in pk)
    if b.name == "mysql":
        # MySQL refuses a subquery on the table being deleted from unless it is materialized.
        sub = f"SELECT * FROM ({sub}) AS _keys"
    lhs = f"({cols})" if len(pk) > 1 else cols
    return f"DELETE FROM {full} WHERE {lhs} IN ({sub})", params


def delete_quick(table: Any, get_count: bool = False) -> int | None:
    """Delete the rows of this (restricted) table with no cascade and no prompt."""
    conn = table.connection
    sql, params = _delete_where_sql(table)
    cur = conn.query(sql, params)
    count = cur.rowcount
    log_event(conn, table.database, sql, table_name=table.table_name)
    return count if get_count else None


def plan_cascade(table: Any, part_integrity: str = "enforce") -> list[tuple[str, Any]]:
    """(table name, restricted table) for the root and every dependent row set, in deletion order
    (children first)."""
    conn = table.connection
    deps = conn.dependencies.load()
    root = table.full_table_name
    if part_integrity not in ("enforce", "ignore", "cascade"):
        raise errors.DataJointError(
            f"part_integrity={part_integrity!r}: use 'enforce', 'ignore' or 'cascade'."
        )
    restricted: dict[str, Any] = {root: table}

    def propagate(start: str) -> None:
        for node in deps.descendants_of(start):
            if node == start:
                continue
            terms = []
            for parent in deps.predecessors(node):
                if parent not in restricted:
                    continue
                # the parent's doomed keys, named as the child names them, along each foreign
                # key from this parent (a child may reference it several times, renamed)
                for attr_map in deps.edges[parent, node]["attr_maps"]:
                    renames = {c: p for c, p in attr_map.items() if c != p}
                    terms.append(restricted[parent].proj(**renames))
            if terms:
                child = _free(conn, node)
                cond = C.c_or([C.Semi(t._node) for t in terms])
                restricted[node] = child._derive(N.Restrict(child._table_node, cond))

    propagate(root)
    if deps.nodes.get(root, {}).get("master") and part_integrity == "enforce":
        master = deps.nodes[root]["master"]
        raise errors.PartIntegrityError(
            f"Cannot delete from part table {root} without deleting from its master {master}. Delete from "
            "the master instead, or pass part_integrity='ignore' (0.14: force_parts=True)."
        )
    if part_integrity != "ignore":
        for node in list(restricted):
            master = deps.nodes.get(node, {}).get("master")
            if not master or master in restricted or node == root:
                continue
            if part_integrity == "enforce":
                if len(restricted[node]):
                    raise errors.PartIntegrityError(
                        f"Deleting these rows would delete rows of part table {node} without its master "
                        f"{master}. Delete from the master, or pass part_integrity='cascade' (0.14: "
                        "force_masters=True) to delete the masters too. Nothing was deleted."
                    )
            else:  # cascade: materialize the masters' keys now, then cascade from them
                keys = (_free(conn, master) & restricted[node].proj()).keys()
                restricted[master] = _free(conn, master) & keys
                propagate(master)
    order = deps.topo_sort(set(restricted) & set(deps.nodes)) if root in deps else [root]
    return [(n, restricted[n]) for n in reversed(order) if n in restricted]


def _confirm(prompt: str) -> bool:
    if not sys.stdin or not sys.stdin.isatty():
        raise errors.DataJointError(
            "safemode is on and there is no terminal to confirm on. Pass safemode=False (or prompt=False), "
            "or set dj.config['safemode'] = False."
        )
    return input(prompt + " [yes, No]: ").strip().lower() in ("yes", "y")


def delete(table: Any, *, transaction: bool = True, safemode: bool | None = None,
           part_integrity: str = "enforce") -> int:
    from ..settings import config

    conn = table.connection
    safemode = config.get("safemode", True) if safemode is None else safemode
    if transaction and conn.in_transaction and safemode:
        raise errors.TransactionError("delete() inside a transaction cannot prompt; pass safemode=False.")
    plan = plan_cascade(table, part_integrity)
    if not conn.in_transaction:  # the ~log rows go in the delete's transaction: declare first
        for schema in {t.database for _, t in plan}:
            ensure_log(conn, schema)
    counts: dict[str, int] = {}
    try:
        with conn.transaction:
            for name, t in plan:
                sql, params = _delete_where_sql(t)
                counts[name] = conn.query(sql, params).rowcount
                log_event(conn, t.database, sql, table_name=t.table_name)
            if safemode:
                for name, n in reversed(list(counts.items())):
                    if n:
                        print(f"Deleting {n} rows from {name}")
                if not _confirm("Commit deletes?"):
                    raise _Cancelled()
    except _Cancelled:
        print("Deletes cancelled: nothing was deleted.")
        return 0
    return counts.get(table.full_table_name, 0)


class _Cancelled(errors.DataJointError):
    pass


def drop_quick(table: Any) -> None:
    conn = table.connection
    b = conn.backend
    if conn.in_transaction:
        raise errors.TransactionError("Tables cannot be dropped inside a transaction.")
    if not table.is_declared:
        return
    sql = f"DROP TABLE {b.qtable(table.database, table.table_name)}"
    conn.query(sql)
    if b.name == "sqlite":
        from ..sql.ddl import META_COLUMNS, META_TABLES

        for meta in (META_TABLES, META_COLUMNS):
            conn.query(f'DELETE FROM "{meta}" WHERE schema_name = ? AND table_name = ?',
                       (table.database, table.table_name))
    from ..sql.catalog import invalidate

    invalidate(conn, table.database)
    log_event(conn, table.database, sql, table_name=table.table_name)


def drop(table: Any, *, safemode: bool | None = None, part_integrity: str = "enforce") -> None:
    from ..settings import config

    if table.restricted:
        raise errors.DataJointError("A restricted table cannot be dropped; drop the table itself.")
    conn = table.connection
    deps = conn.dependencies.load()
    root = table.full_table_name
    master = deps.nodes.get(root, {}).get("master") if root in deps else None
    if master and part_integrity == "enforce":
        raise errors.PartIntegrityError(
            f"Cannot drop part table {root} on its own: drop its master {master}, or pass part_integrity='ignore'."
        )
    names = deps.descendants_of(root) if root in deps else [root]
    # parts of dropped masters go too
    for n in list(names):
        for p in deps.nodes:
            if deps.nodes[p].get("master") == n and p not in names:
                names.append(p)
    names = deps.topo_sort(set(names)) if root in deps else names
    safemode = config.get("safemode", True) if safemode is None else safemode
    if safemode:
        for n in names:
            print(f"{n} ({len(_free(conn, n))} rows)")
        if not _confirm("Proceed?"):
            return
    for n in reversed(names):
        _free(conn, n).drop_quick()
