"""``dj.export``: write restricted rows, everything they reference, and optionally everything that
depends on them, into one SQLite file that is itself a labjoin database.

Which rows go in:

1. the **seeds**: the rows of the query (for a query over several tables, each table's rows that
   match it);
2. with ``downstream=True``, every row that references an exported row, transitively, table by
   table in dependency order (a part of an exported master, a computed result of an exported
   session, ...);
3. every row that an exported row references, transitively, so that every foreign key in the
   bundle resolves: tables in reverse dependency order, each asked only for the keys its
   exported children name.

Only keys are kept in memory; rows stream into the bundle as they are read. The bundle's
tables are declared from the source catalog (same schemas, table names, tiers, types, comments)
and filled with foreign-key checks off, then checked once at the end.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import errors
from ..heading.introspect import heading_from_catalog
from ..migrate.state import declaration_from_catalog
from ..sql import catalog
from .externals import handler as external_handler
from .load import CHUNK, convert_rows, fetch_by_keys, insert_rows

__all__ = ["BUNDLE_INFO", "ExportReport", "export"]

BUNDLE_INFO = "~labjoin_bundle"


@dataclass
class ExportReport:
    """What ``export`` wrote: rows per table (``schema.table``), in dependency order."""

    path: Path
    rows: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.rows.values())

    def __str__(self) -> str:
        lines = [f"{self.path}: {self.total} rows in {len(self.rows)} tables"]
        lines += [f"  {name:50s} {n:>8d}" for name, n in self.rows.items()]
        return "\n".join(lines)


def _seeds(source: Any) -> list[tuple[str, Any]]:
    """(node, query restricted to that node's table) for each table the query reads."""
    from ..tables.query import QueryExpression
    from ..tables.table import FreeTable, Table

    if isinstance(source, (list, tuple)):
        return [s for item in source for s in _seeds(item)]
    if isinstance(source, type) and issubclass(source, QueryExpression):
        source = source()
    if isinstance(source, Table):
        return [(source.full_table_name, source)]
    if isinstance(source, QueryExpression):
        out = []
        for node in source._node.tables():
            table = FreeTable(source.connection, node.full_name)
            out.append((node.full_name, table & source))
        return out
    raise errors.DataJointError(
        f"export() takes a table, a restricted table or a query (or a list of them), not {type(source).__name__}."
    )


class _Exporter:
    def __init__(self, conn: Any, bundle: Any, path: Path) -> None:
        self.conn = conn
        self.bundle = bundle
        self.path = path
        self.deps = conn.dependencies.load()
        self.keys: dict[str, set[tuple[Any, ...]]] = defaultdict(set)
        self.needed: dict[str, set[tuple[Any, ...]]] = defaultdict(set)
        self.report = ExportReport(path)
        self._meta: dict[str, tuple[str, str, Any, list[str]]] = {}

    def meta(self, node: str) -> tuple[str, str, Any, list[str]]:
        """(schema, table, heading, primary key) of a node."""
        if node not in self._meta:
            data = self.deps.nodes[node]
            heading = heading_from_catalog(self.conn, data["schema"], data["table"])
            self._meta[node] = (data["schema"], data["table"], heading, heading.primary_key)
        return self._meta[node]

    def foreign_keys(self, node: str) -> list[tuple[str, dict[str, str]]]:
        """(parent node, {child column: parent column}) of each foreign key of ``node``.

        From the catalog, not the graph: two foreign keys to the same parent (``-> Lab`` and
        ``-> Lab.proj(previous_lab='lab')``) are one edge in the graph.
        """
        schema, table = self.deps.nodes[node]["schema"], self.deps.nodes[node]["table"]
        return [(f"`{fk.parent_schema}`.`{fk.parent_table}`", dict(fk.attr_map))
                for fk in catalog.table_info(self.conn, schema, table).foreign_keys
                if not fk.parent_table.startswith("~")]

    def write(self, node: str, rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        """Write the rows not yet exported; record their keys and the keys they reference."""
        schema, table, heading, pk = self.meta(node)
        names = heading.names
        pk_pos = [names.index(k) for k in pk]
        fresh = []
        for r in rows:
            key = tuple(r[i] for i in pk_pos)
            if key not in self.keys[node]:
                self.keys[node].add(key)
                fresh.append(r)
        if not fresh:
            return []
        for parent, attr_map in self.foreign_keys(node):
            ppk = self.meta(parent)[3]
            by_parent = {p: c for c, p in attr_map.items()}
            pos = [names.index(by_parent[p]) for p in ppk]
            for r in fresh:
                value = tuple(r[i] for i in pos)
                if None not in value:
                    self.needed[parent].add(value)
        handler = external_handler(heading, node, self.conn.backend.name)
        if handler is not None:
            handler.export_objects(self.conn, self.bundle, schema, heading, fresh)
        converted = convert_rows(fresh, heading, names, self.conn.backend.name, "sqlite")
        insert_rows(self.bundle, schema, table, names, pk, converted)
        self.report.rows[f"{schema}.{table}"] = self.report.rows.get(f"{schema}.{table}", 0) + len(fresh)
        return fresh

    def seed(self, node: str, query: Any) -> None:
        names = self.meta(node)[2].names
        sql, params = query._statement("select", names)
        cur = self.conn.query(sql, params)
        while rows := cur.fetchmany(CHUNK):
            self.write(node, [tuple(r) for r in rows])

    def downstream(self, node: str, sources: set[str]) -> None:
        """Rows of ``node`` that reference an exported row of a table in ``sources``."""
        schema, table, heading, _ = self.meta(node)
        for parent, attr_map in self.foreign_keys(node):
            if parent not in sources:
                continue
            ppk = self.meta(parent)[3]
            by_parent = {p: c for c, p in attr_map.items()}
            cols = [by_parent[p] for p in ppk]
            for rows in fetch_by_keys(self.conn, schema, table, heading.names, cols, sorted(self.keys[parent], key=repr)):
                self.write(node, rows)

    def upstream(self, node: str) -> None:
        """Rows of ``node`` that exported rows reference and that are not exported yet."""
        missing = self.needed[node] - self.keys[node]
        if not missing:
            return
        schema, table, heading, pk = self.meta(node)
        for rows in fetch_by_keys(self.conn, schema, table, heading.names, pk, sorted(missing, key=repr)):
            self.write(node, rows)


def _declare(conn: Any, bundle: Any, nodes: list[str]) -> None:
    from ..schema import Schema, _run_ddl
    from ..tables.describe import describe
    from ..tables.table import FreeTable

    deps = conn.dependencies
    made: set[str] = set()
    for node in nodes:
        schema, table = deps.nodes[node]["schema"], deps.nodes[node]["table"]
        if schema not in made:
            Schema(schema, connection=bundle)
            made.add(schema)
        decl = declaration_from_catalog(conn, schema, table)
        if not decl.definition:
            decl.definition = describe(FreeTable(conn, node))
        _run_ddl(bundle, decl)


def export(query_or_table: Any, path: str | Path, *, downstream: bool = False, overwrite: bool = False) -> ExportReport:
    """Write the rows of ``query_or_table`` and everything they reference into an SQLite bundle.

    Parameters
    ----------
    query_or_table : table, restricted table, query, or a list of them
        The rows to hand over (``Session & key``).
    path : str or Path
        The bundle file to create (``.sqlite``). It is a labjoin SQLite database with the same
        schemas, tables and tiers as the source; open it with ``dj.Connection('sqlite:///path')``
        or load it into any database with :func:`~labjoin.export.import_`.
    downstream : bool
        Also export every row that depends on the exported rows (parts, computed results, ...).
    overwrite : bool
        Replace ``path`` if it exists (otherwise that is an error).

    Returns
    -------
    ExportReport
        Rows written per table.
    """
    from ..connection.connection import Connection

    seeds = _seeds(query_or_table)
    if not seeds:
        raise errors.DataJointError("export() was given nothing to export.")
    conn = seeds[0][1].connection
    path = Path(path)
    if path.exists():
        if not overwrite:
            raise errors.DataJointError(f"{path} exists; pass overwrite=True to replace it, or choose another name.")
        path.unlink()
    deps = conn.dependencies.load()
    seed_nodes = {n for n, _ in seeds}
    down: set[str] = set()
    if downstream:
        for n in seed_nodes:
            down |= set(deps.descendants_of(n))
        down -= seed_nodes
    import networkx as nx

    closure = seed_nodes | down
    for n in list(closure):
        closure |= nx.ancestors(deps, n)
    order = deps.topo_sort(closure)
    for n in order:  # refuse store-backed attributes before writing anything
        data = deps.nodes[n]
        external_handler(heading_from_catalog(conn, data["schema"], data["table"]), n, conn.backend.name)
    bundle = Connection(f"sqlite:///{path}")
    try:
        _declare(conn, bundle, order)
        bundle.query("PRAGMA foreign_keys=OFF")  # rows arrive children first; checked at the end
        ex = _Exporter(conn, bundle, path)
        with bundle.transaction:
            for node, query in seeds:
                ex.seed(node, query)
            for node in order:
                if node in down:
                    ex.downstream(node, seed_nodes | down)
            for node in reversed(order):
                ex.upstream(node)
            bad = bundle.query("PRAGMA foreign_key_check").fetchall()
            if bad:
                raise errors.IntegrityError(
                    f"The bundle would hold {len(bad)} rows whose parent rows are missing (first in {bad[0][0]}); "
                    "nothing was written. This is a labjoin bug: please report it."
                )
            _write_info(bundle, conn, seeds, downstream)
        bundle.query("PRAGMA foreign_keys=ON")
    except BaseException:
        bundle.close()
        path.unlink(missing_ok=True)
        raise
    bundle.close()
    ex.report.rows = {f"{deps.nodes[n]['schema']}.{deps.nodes[n]['table']}":
                      ex.report.rows.get(f"{deps.nodes[n]['schema']}.{deps.nodes[n]['table']}", 0) for n in order}
    return ex.report


def _write_info(bundle: Any, conn: Any, seeds: list[tuple[str, Any]], downstream: bool) -> None:
    from .. import __version__

    bundle.query(f'CREATE TABLE IF NOT EXISTS "{BUNDLE_INFO}" (key TEXT PRIMARY KEY, value TEXT NOT NULL)')
    info = {
        "format": "labjoin-bundle-1",
        "labjoin": __version__,
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "source": conn._safe_url(),
        "seeds": ", ".join(n for n, _ in seeds),
        "downstream": str(bool(downstream)).lower(),
        "sqlite": sqlite3.sqlite_version,
    }
    bundle.query(f'INSERT OR REPLACE INTO "{BUNDLE_INFO}" VALUES (?, ?)', list(info.items()), many=True)
