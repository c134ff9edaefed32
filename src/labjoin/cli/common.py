"""Shared pieces of the ``labjoin`` commands: the --url option, connecting, finding tables."""

from __future__ import annotations

import importlib
import sys
from typing import Any, NoReturn

import click

__all__ = ["connect", "fail", "load_class", "table_of", "url_option"]

url_option = click.option("--url", envvar="LABJOIN_DATABASE_URL", default=None,
                          help="Database URL (sqlite:///file, postgresql://..., mysql://...). "
                               "Default: the configured one (see `labjoin config`).")


def connect(url: str | None) -> Any:
    """The connection to use, made the default one (pipeline modules bind to it when imported)."""
    import labjoin as dj

    return dj.conn(url=url) if url else dj.conn()


def fail(err: Exception) -> NoReturn:
    """Print a labjoin error as a one-line-first message and exit with status 1."""
    raise click.ClickException(f"{type(err).__name__}: {err}")


def load_class(target: str) -> type:
    """The table class named ``MODULE.Table`` (or ``MODULE.Master.Part``), importing the module.

    The current directory is searched first, as ``python -m`` does.
    """
    from ..tables.table import Table

    if "" not in sys.path:
        sys.path.insert(0, "")
    parts = target.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        module_name = ".".join(parts[:cut])
        try:
            obj: Any = importlib.import_module(module_name)
        except ModuleNotFoundError as e:
            if e.name and module_name.startswith(e.name):
                continue  # not a module name this long: try a shorter one
            raise
        for attr in parts[cut:]:
            if not hasattr(obj, attr):
                raise click.ClickException(f"{'.'.join(parts[:cut])} has no {attr!r} (looking for {target}).")
            obj = getattr(obj, attr)
        if not (isinstance(obj, type) and issubclass(obj, Table)):
            raise click.ClickException(f"{target} is not a table class.")
        return obj
    raise click.ClickException(f"Cannot import a module from {target!r}: give MODULE.Table (e.g. lab.Session).")


def table_of(conn: Any, name: str) -> Any:
    """The table ``SCHEMA.Table`` (class name, as in a virtual module, or table name) of the database."""
    import labjoin as dj

    from ..sql import catalog

    schema, sep, rest = name.partition(".")
    if not sep or not rest:
        raise click.ClickException(f"Name a table as SCHEMA.Table (e.g. lab.Session), not {name!r}.")
    if not catalog.schema_exists(conn, schema):
        raise click.ClickException(f"Schema {schema!r} does not exist (see `labjoin schemas`).")
    if rest in catalog.load_schema(conn, schema, refresh=True):
        return dj.FreeTable(conn, f"`{schema}`.`{rest}`")
    vm = dj.VirtualModule(schema, schema, connection=conn)
    obj: Any = vm
    for attr in rest.split("."):
        obj = getattr(obj, attr, None)
        if obj is None:
            names = ", ".join(sorted(n for n, v in vars(vm).items() if isinstance(v, type)))
            raise click.ClickException(f"Schema {schema!r} has no table {rest!r}. Its tables: {names}.")
    return obj()
