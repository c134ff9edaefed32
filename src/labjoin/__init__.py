"""labjoin: relational data pipelines for experimental labs.

DataJoint-compatible: ``import labjoin as dj`` runs existing DataJoint code on an embedded SQLite
file (the default), PostgreSQL or MySQL/MariaDB.

>>> import labjoin as dj
>>> schema = dj.Schema("lab")                     # doctest: +SKIP
"""

from __future__ import annotations

from . import errors
from .algebra.conditions import AndList, Not, Top
from .connection.connection import Connection, conn
from .errors import DataJointError
from .heading.blob import MatCell, MatStruct
from .schema import Schema, VirtualModule, create_virtual_module, list_schemas, virtual_schema
from .settings import config
from .tables.query import QueryExpression, U
from .tables.table import FreeTable, Table
from .tables.tiers import Compute, Computed, Entry, Imported, Ingest, Lookup, Manual, Part, UserTable

__version__ = "0.1.0"

schema = Schema  # DataJoint 0.14's lowercase alias

__all__ = [
    "AndList",
    "Compute",
    "Computed",
    "Connection",
    "DataJointError",
    "Diagram",
    "ERD",
    "Entry",
    "FreeTable",
    "Imported",
    "Ingest",
    "Lookup",
    "Manual",
    "MatCell",
    "MatStruct",
    "Not",
    "Part",
    "QueryExpression",
    "Schema",
    "Table",
    "Top",
    "U",
    "UserTable",
    "VirtualModule",
    "__version__",
    "config",
    "conn",
    "create_virtual_module",
    "errors",
    "export",
    "import_",
    "kill",
    "kill_quick",
    "list_schemas",
    "schema",
    "set_password",
    "virtual_schema",
]


def __getattr__(name: str) -> object:
    # The diagram pulls in layout code; load it when first asked for.
    if name in ("Diagram", "ERD", "Di"):
        from .graph.diagram_api import Diagram

        return Diagram
    # Accounts and dataset bundles are loaded when first used (DataJoint: dj.set_password, dj.kill).
    # importlib, not `from . import`: that would ask this __getattr__ again.
    import importlib

    if name in ("admin", "export"):
        return importlib.import_module(f".{name}", __name__)  # labjoin.export is callable: dj.export(...)
    if name in ("set_password", "kill", "kill_quick"):
        return getattr(importlib.import_module(".admin", __name__), name)
    if name == "import_":
        return importlib.import_module(".export", __name__).import_
    raise AttributeError(f"module 'labjoin' has no attribute {name!r}")
