"""The foreign-key graph of the database: the basis of cascades, drops, key sources and diagrams.

Nodes are full table names (```schema`.`table```) with their tier, class name, master and
comment; an edge parent -> child carries the attribute map of the foreign key (``attr_map``);
``attr_maps`` lists every foreign key from that parent when the child has several (renamed ones).
The graph covers every schema of the database, so a cascade reaches dependents in schemas
nobody imported.
It is built from the catalog cache once and rebuilt only after DDL.
"""

from __future__ import annotations

import re
from typing import Any

import networkx as nx

from ..sql.catalog import list_schemas, load_schema

__all__ = ["Dependencies", "class_name_of"]


def _camel(name: str) -> str:
    return "".join(p.capitalize() for p in name.split("_") if p)


def class_name_of(table_name: str) -> str:
    """``#subject_type`` -> ``SubjectType``; ``__session__trial`` -> ``Session.Trial``."""
    bare = table_name.lstrip("#_~")
    parts = bare.split("__")
    return ".".join(_camel(p) for p in parts)


def _master_of(schema: str, table: str) -> str | None:
    m = re.match(r"^([#_]*[a-z][a-z0-9_]*?)__[a-z][a-z0-9_]*$", table)
    if m and m.group(1).strip("_#"):
        return f"`{schema}`.`{m.group(1)}`"
    return None


class Dependencies(nx.DiGraph):
    """Foreign-key graph over every schema on the connection."""

    def __init__(self, connection: Any = None) -> None:
        super().__init__()
        self._conn = connection
        self._loaded = False

    def clear(self) -> None:  # type: ignore[override]
        super().clear()
        self._loaded = False

    def load(self, force: bool = False) -> Dependencies:
        if self._loaded and not force:
            return self
        super().clear()
        from .. import errors
        from ..tables.table import tier_of

        conn = self._conn
        for schema in list_schemas(conn):
            try:
                infos = load_schema(conn, schema)
            except errors.AccessError:
                continue  # a schema this account may not read cannot hold our dependents
            for name, info in infos.items():
                if name.startswith("~"):
                    continue
                node = f"`{schema}`.`{name}`"
                self.add_node(node, schema=schema, table=name, tier=tier_of(name),
                              class_name=class_name_of(name), master=_master_of(schema, name),
                              comment=info.comment, primary_key=list(info.primary_key))
            for name, info in infos.items():
                if name.startswith("~"):
                    continue
                child = f"`{schema}`.`{name}`"
                for fk in info.foreign_keys:
                    if fk.parent_table.startswith("~"):
                        continue  # a store's ~external_ tracking table: not part of the pipeline
                    parent = f"`{fk.parent_schema}`.`{fk.parent_table}`"
                    attr_map = dict(fk.attr_map)
                    if self.has_edge(parent, child):
                        # Another foreign key to the same parent (`-> T.proj(a='x')`, `-> T.proj(b='x')`):
                        # one edge, every key in `attr_maps`; `attr_map` stays the first one's.
                        self.edges[parent, child]["attr_maps"].append(attr_map)
                        continue
                    self.add_edge(parent, child, attr_map=attr_map, attr_maps=[attr_map],
                                  primary=set(attr_map) <= set(info.primary_key),
                                  aliased=any(k != v for k, v in attr_map.items()),
                                  nullable=any(c.nullable for c in info.columns if c.name in attr_map))
        self._loaded = True
        return self

    @property
    def nodes(self) -> Any:  # type: ignore[override]
        self.load()
        return super().nodes

    def topo_sort(self, nodes: Any = None) -> list[str]:
        """Nodes in dependency order, each part right after its master's subtree allows."""
        self.load()
        g = self if nodes is None else self.subgraph(nodes)
        return list(nx.lexicographical_topological_sort(g))

    def descendants_of(self, node: str) -> list[str]:
        self.load()
        if node not in self:
            return [node]
        sub = {node, *nx.descendants(self, node)}
        return self.topo_sort(sub)

    def relatives(self, node: str, direction: str, *, primary: bool | None, as_objects: bool,
                  fk_info: bool) -> Any:
        self.load()
        if node not in self:
            return [] if as_objects or not fk_info else {}
        edges = self.in_edges(node, data=True) if direction == "parents" else self.out_edges(node, data=True)
        out = {}
        for p, c, d in edges:
            if primary is not None and d["primary"] != primary:
                continue
            other = p if direction == "parents" else c
            out[other] = d
        if as_objects:
            from ..tables.table import FreeTable

            return [FreeTable(self._conn, n) for n in out]
        return out if fk_info else list(out)

    def lineage_of(self, node: str, direction: str, as_objects: bool) -> list[Any]:
        self.load()
        if node not in self:
            return []
        names = nx.ancestors(self, node) if direction == "ancestors" else nx.descendants(self, node)
        ordered = self.topo_sort(names | {node})
        if as_objects:
            from ..tables.table import FreeTable

            return [FreeTable(self._conn, n) for n in ordered]
        return ordered
