"""``dj.Diagram``: the diagram model bound to labjoin objects (schemas, modules, tables, queries)."""

from __future__ import annotations

import types
from typing import Any

from .. import errors
from .diagram import Diagram as _Diagram

__all__ = ["Diagram"]


class Diagram(_Diagram):
    """The dependency diagram of a schema, a module, a table or a query's tables.

    >>> dj.Diagram(schema) + dj.Diagram(other_schema)      # doctest: +SKIP
    >>> dj.Diagram(Session) - 1 + 1                          # doctest: +SKIP
    """

    def _resolve(self, source: Any, context: Any) -> tuple[Any, set[str]]:
        from ..schema import Schema
        from ..tables.query import QueryExpression
        from ..tables.table import Table

        if isinstance(source, types.ModuleType) and isinstance(getattr(source, "schema", None), Schema):
            source = source.schema
        if isinstance(source, Schema):
            deps = source.connection.dependencies.load()
            return deps, {n for n in deps.nodes if deps.nodes[n].get("schema") == source.database}
        if isinstance(source, type) and issubclass(source, Table):
            source = source()
        if isinstance(source, Table):
            deps = source.connection.dependencies.load()
            return deps, {source.full_table_name}
        if isinstance(source, QueryExpression):
            deps = source.connection.dependencies.load()
            return deps, {t.full_name for t in source._node.tables()}
        if isinstance(source, str):
            return super()._resolve(source, context)
        raise errors.DataJointError(
            f"Cannot draw a diagram of {type(source).__name__}: pass a schema, a module with a `schema`, "
            "a table (class or instance) or a query."
        )

    def _default_direction(self) -> str:
        from ..settings import config

        return str(config.get("display.diagram_direction", "LR") or "LR")


ERD = Diagram
