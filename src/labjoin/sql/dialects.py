"""What differs between SQLite, PostgreSQL and MySQL, kept as data.

A backend is mostly a table: how identifiers are quoted, how a table of a schema is named, which
SQL type stores each declared type, which driver errors map to which labjoin error, and a few
capability flags. Everything that cannot be data lives in a small override function here, so a
new backend is one entry in ``BACKENDS`` plus its catalog queries (``sql/catalog.py``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .. import errors

__all__ = ["BACKENDS", "Backend", "backend_for_url", "translate_error"]


@dataclass(frozen=True)
class Backend:
    """One database backend: naming, types, capabilities and error translation."""

    name: str  # 'sqlite' | 'postgresql' | 'mysql'
    quote: str  # identifier quote character
    schemas_are_namespaces: bool  # False on SQLite: one file holds every schema
    supports_copy: bool
    max_identifier: int
    # error translation: (predicate over (code, message), labjoin error class)
    error_rules: tuple[tuple[Callable[[Any, str], bool], type[errors.DataJointError]], ...] = field(
        default=(), repr=False
    )

    # -- naming -------------------------------------------------------------------------------
    def physical(self, schema: str, table: str) -> tuple[str | None, str]:
        """(schema, table) as the server sees them: SQLite flattens to one name ``schema.table``."""
        if self.schemas_are_namespaces:
            return schema, table
        return None, f"{schema}.{table}"

    def qident(self, name: str) -> str:
        q = self.quote
        return q + name.replace(q, q + q) + q

    def qtable(self, schema: str, table: str) -> str:
        s, t = self.physical(schema, table)
        return self.qident(t) if s is None else f"{self.qident(s)}.{self.qident(t)}"


def _code_in(*codes: object) -> Callable[[Any, str], bool]:
    wanted = {str(c) for c in codes}
    return lambda code, msg: str(code) in wanted


def _msg(pattern: str) -> Callable[[Any, str], bool]:
    rx = re.compile(pattern, re.I)
    return lambda code, msg: bool(rx.search(msg))


SQLITE = Backend(
    name="sqlite",
    quote='"',
    schemas_are_namespaces=False,
    supports_copy=False,
    max_identifier=1024,
    error_rules=(
        (_msg(r"UNIQUE constraint failed|PRIMARY KEY must be unique"), errors.DuplicateError),
        (_msg(r"FOREIGN KEY constraint failed"), errors.IntegrityError),
        (_msg(r"CHECK constraint failed|NOT NULL constraint failed"), errors.DataError),
        (_msg(r"no such table"), errors.MissingTableError),
        (_msg(r"database is locked|database table is locked"), errors.TransactionError),
        (_msg(r"syntax error|no such column|no such function"), errors.QuerySyntaxError),
        (_msg(r"attempt to write a readonly database"), errors.AccessError),
    ),
)

POSTGRESQL = Backend(
    name="postgresql",
    quote='"',
    schemas_are_namespaces=True,
    supports_copy=True,
    max_identifier=63,
    error_rules=(
        (_code_in("23505"), errors.DuplicateError),
        (_code_in("23503"), errors.IntegrityError),
        (_code_in("23502", "23514", "22001", "22003", "22007", "22008", "22P02", "22P05"), errors.DataError),
        (_code_in("42P01"), errors.MissingTableError),
        (_code_in("3F000"), errors.MissingSchemaError),
        (_code_in("42501", "28000", "28P01"), errors.AccessError),
        (_code_in("42601", "42703", "42883", "42803"), errors.QuerySyntaxError),
        (_code_in("40001", "40P01", "55P03"), errors.TransactionError),
        (_code_in("57P01", "08000", "08003", "08006"), errors.LostConnectionError),
        (_msg(r"server closed the connection|terminating connection|the connection is (lost|closed)|"
              r"consuming input failed"), errors.LostConnectionError),
    ),
)

MYSQL = Backend(
    name="mysql",
    quote="`",
    schemas_are_namespaces=True,
    supports_copy=False,
    max_identifier=64,
    error_rules=(
        (_code_in(1062, 1586), errors.DuplicateError),
        (_code_in(1451, 1452, 1216, 1217), errors.IntegrityError),
        (_code_in(1048, 1264, 1265, 1292, 1366, 1406, 3819, 4025, 1265, 1411), errors.DataError),
        (_code_in(1146), errors.MissingTableError),
        (_code_in(1049), errors.MissingSchemaError),
        (_code_in(1044, 1045, 1142, 1143, 1227, 1370), errors.AccessError),
        (_code_in(1064, 1054, 1305, 1055), errors.QuerySyntaxError),
        (_code_in(1205, 1213), errors.TransactionError),
        (_code_in(2006, 2013, 2014, 2055), errors.LostConnectionError),
        (_code_in(1153, 1301), errors.DataError),
    ),
)

BACKENDS: dict[str, Backend] = {b.name: b for b in (SQLITE, POSTGRESQL, MYSQL)}


def backend_for_url(url: str) -> Backend:
    """The backend of an SQLAlchemy-style URL (``sqlite:///x``, ``postgresql://``, ``mysql://``)."""
    scheme = url.split(":", 1)[0].split("+", 1)[0].lower()
    aliases = {"postgres": "postgresql", "mariadb": "mysql", "sqlite": "sqlite"}
    scheme = aliases.get(scheme, scheme)
    if scheme not in BACKENDS:
        raise errors.ConfigError(
            f"Unsupported database URL scheme {scheme!r} in {url!r}. "
            "Use sqlite:///path, postgresql://user@host:port/dbname or mysql://user@host:port."
        )
    return BACKENDS[scheme]


def _error_code(exc: BaseException) -> tuple[Any, str]:
    """(code, message) of a driver exception, whatever the driver."""
    msg = str(exc)
    args = getattr(exc, "args", None) or ()
    if args and isinstance(args[0], int):  # pymysql: (errno, message); its sqlstate is too coarse
        return args[0], str(args[1]) if len(args) > 1 else msg
    return getattr(exc, "sqlstate", None), msg  # psycopg 3: SQLSTATE


def translate_error(backend: Backend, exc: BaseException, sql: str | None = None) -> errors.DataJointError:
    """Map a driver exception to the labjoin error a user should see."""
    code, msg = _error_code(exc)
    for matches, cls in backend.error_rules:
        if matches(code, msg):
            if cls is errors.DuplicateError:
                return cls(f"Duplicate entry: {msg}. Use skip_duplicates=True to ignore duplicates, or "
                           "replace=True to overwrite them.")
            if cls is errors.IntegrityError:
                return cls(f"Referential integrity violated: {msg}. A referenced parent row is missing, or "
                           "dependent rows still reference this one (use delete() to cascade).")
            if cls is errors.UnsupportedOperation:
                return cls("query", backend.name, msg)
            return cls(msg if sql is None else f"{msg}\nSQL: {sql}")
    return errors.QueryError(f"{backend.name} error {code or ''}: {msg}" + (f"\nSQL: {sql}" if sql else ""))
