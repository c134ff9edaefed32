"""describe(): a table's definition rebuilt from the database (foreign keys folded back)."""

from __future__ import annotations

from typing import Any

from ..graph.dependencies import class_name_of
from ..sql.catalog import table_info

__all__ = ["describe"]


def _ref(conn: Any, schema: str, parent_schema: str, parent_table: str) -> str:
    name = class_name_of(parent_table)
    return name if parent_schema == schema else f"{parent_schema}.{name}"


def describe(table: Any) -> str:
    conn = table.connection
    info = table_info(conn, table.database, table.table_name)
    heading = table.heading
    lines = [f"# {info.comment}"] if info.comment else []
    inherited: dict[str, Any] = {}
    for fk in info.foreign_keys:
        if fk.parent_table.startswith("~"):
            continue  # blob@s columns reference ~external_s; their type line says so
        for child, _ in fk.attr_map:
            inherited.setdefault(child, fk)
    done: set[int] = set()
    in_key = True
    for name in heading.names:
        a = heading[name]
        if in_key and not a.in_key:
            lines.append("---")
            in_key = False
        fk = inherited.get(name)
        if fk is not None:
            if id(fk) in done:
                continue
            done.add(id(fk))
            ref = _ref(conn, table.database, fk.parent_schema, fk.parent_table)
            renames = {c: p for c, p in fk.attr_map if c != p}
            if renames:
                ref += ".proj(" + ", ".join(f"{c}='{p}'" for c, p in renames.items()) + ")"
            opts = "[nullable] " if a.nullable else ""
            lines.append(f"-> {opts}{ref}")
            continue
        default = ""
        if a.default is not None:
            d = a.default
            if d.kind == "null":
                default = "=null"
            elif d.kind == "current_timestamp":
                default = "=CURRENT_TIMESTAMP"
            else:
                default = "=" + (repr(d.value) if isinstance(d.value, str) else str(d.value))
        comment = f"  # {a.comment}" if a.comment else ""
        lines.append(f"{name}{default}: {a.declared_type}{comment}")
    if in_key:
        lines.append("---")
    for unique, cols in info.indexes:
        fk_cols = [tuple(c for c, _ in fk.attr_map) for fk in info.foreign_keys]
        if not unique and cols in fk_cols:
            continue
        lines.append(("unique index" if unique else "index") + f"({', '.join(cols)})")
    return "\n".join(lines) + "\n"
