"""Connections: one database session, its transactions, statement execution and tracing.

SQLAlchemy creates the driver connection (URL parsing, connect arguments, pooling) and compiles
every statement for the backend's dialect. Execution then goes straight to the DB-API cursor:
that keeps the per-statement overhead at the driver's level and lets fetches decode whole
columns at once (``connection/fetch.py``). Transactions are explicit SQL (BEGIN / SAVEPOINT),
so nesting becomes savepoints on every backend.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import re
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from .. import errors
from ..sql.dialects import Backend, backend_for_url, translate_error

__all__ = ["Connection", "Transaction", "conn"]

logger = logging.getLogger("labjoin")
sql_logger = logging.getLogger("labjoin.sql")

Tracer = Callable[[str, Any, float], None]

# driver connections inherited through fork(): held so that no destructor closes them (see raw)
_INHERITED: list[Any] = []


def _normalize_url(url: str) -> str:
    """Pick the drivers labjoin ships with when the URL names none."""
    head, sep, rest = url.partition("://")
    if not sep:
        raise errors.ConfigError(
            f"Not a database URL: {url!r}. Use sqlite:///path, postgresql://user@host:port/dbname "
            "or mysql://user@host:port."
        )
    drivers = {"postgresql": "postgresql+psycopg", "postgres": "postgresql+psycopg",
               "mysql": "mysql+pymysql", "mariadb": "mysql+pymysql", "sqlite": "sqlite"}
    return drivers.get(head.lower(), head) + "://" + rest


class Transaction:
    """``with conn.transaction:`` or ``@conn.transaction``; nested use becomes a savepoint."""

    def __init__(self, connection: Connection) -> None:
        self._conn = connection

    def __enter__(self) -> Connection:
        self._conn._begin()
        return self._conn

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is None:
            self._conn._commit()
        else:
            self._conn._rollback()

    def __call__(self, func: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with self:
                return func(*args, **kwargs)

        return wrapper


class Connection:
    """A session with one database (SQLite file, PostgreSQL database or MySQL server).

    Parameters
    ----------
    url:
        ``sqlite:///path/file.sqlite``, ``postgresql://user@host:5432/dbname`` or
        ``mysql://user@host:3306``. Without a URL, the configured one is used (``dj.config``).
    host, user, password, port, backend:
        The DataJoint way of naming a server; ignored when ``url`` is given.

    Examples
    --------
    >>> c = Connection("sqlite://")                  # an in-memory database
    >>> with c.transaction:
    ...     _ = c.query("SELECT 1")
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        host: str | None = None,
        user: str | None = None,
        password: str | None = None,
        port: int | None = None,
        backend: str | None = None,
        init_fun: Callable[[Connection], None] | None = None,
    ) -> None:
        if url is None:
            from ..credentials import resolve_connection_url

            url = resolve_connection_url(host=host, user=user, password=password, port=port,
                                         backend=backend)
        self.url = _normalize_url(url)
        self.backend: Backend = backend_for_url(self.url)
        self._tracers: list[Tracer] = []
        self._depth = 0
        self._lock = threading.RLock()
        self._raw: Any = None
        self._pid = os.getpid()
        self._init_fun = init_fun
        self.schemas: dict[str, Any] = {}  # name -> Schema registered on this connection
        self._dependencies: Any = None
        self._catalog_cache: dict[Any, Any] = {}
        from ..sql.statement_cache import StatementCache

        self.statement_cache = StatementCache()
        self._engine = self._make_engine()
        self.dialect = self._engine.dialect
        self.database_name: str | None = make_url(self.url).database

    # -- connecting --------------------------------------------------------------------------
    def _make_engine(self) -> sa.Engine:
        url = make_url(self.url)
        kwargs: dict[str, Any] = {"poolclass": sa.pool.NullPool}
        if self.backend.name == "sqlite":
            from ..settings import config

            path = url.database
            if path and path != ":memory:":
                p = Path(path).expanduser()
                if not p.exists():
                    p.parent.mkdir(parents=True, exist_ok=True)
                    print(f"labjoin: creating the database file {p}", file=sys.stderr)
                url = url.set(database=str(p))
            timeout = float(config.get("sqlite.busy_timeout", 30) or 30)
            kwargs["connect_args"] = {"timeout": timeout, "check_same_thread": False,
                                      "isolation_level": None}
        elif self.backend.name == "mysql":
            kwargs["connect_args"] = {"autocommit": True, "charset": "utf8mb4", "binary_prefix": True}
        elif self.backend.name == "postgresql":
            kwargs["connect_args"] = {"autocommit": True}
        self.url = url.render_as_string(hide_password=False)
        return sa.create_engine(url, **kwargs)

    def connect(self) -> None:
        """Open the driver connection (done lazily by the first query)."""
        try:
            proxied = self._engine.raw_connection()
        except Exception as e:  # connect errors arrive wrapped or raw depending on the driver
            orig = getattr(e, "orig", None) or e
            if not (isinstance(e, sa.exc.DBAPIError) or self._is_driver_error(e)):
                raise
            code = translate_error(self.backend, orig)
            refused = re.search(r"password authentication failed|Access denied|role .* does not exist",
                                str(orig))
            if isinstance(code, errors.AccessError) or refused:
                raise errors.AccessError(
                    f"The server at {self._safe_url()} refused the login: {orig}. Check the user and "
                    "password (DJ_USER/DJ_PASS, dj.config['database.user'/'database.password'], the URL, "
                    "or `labjoin config set-password`)."
                ) from e
            raise errors.BackendUnavailableError(
                f"Cannot connect to {self._safe_url()}: {orig}. Check that the server is running and "
                "that the URL, user and password are right (dj.config / LABJOIN_DATABASE_URL)."
            ) from e
        except ModuleNotFoundError as e:
            raise errors.BackendUnavailableError(
                f"The driver for {self.backend.name} is not installed ({e.name}). pip install labjoin "
                "installs psycopg and pymysql; reinstall the package."
            ) from e
        self._proxied = proxied
        raw = proxied.driver_connection
        if self.backend.name == "sqlite":
            raw.isolation_level = None
            cur = raw.cursor()
            for pragma in ("PRAGMA foreign_keys=ON", "PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL"):
                cur.execute(pragma)
            cur.close()
            from ..sql.functions import install_sqlite_functions
            from ..sql.sqlite_functions import register_functions

            register_functions(raw)
            install_sqlite_functions(raw)
        elif self.backend.name == "mysql":
            cur = raw.cursor()
            cur.execute("SET SESSION sql_mode = CONCAT(@@sql_mode, ',STRICT_ALL_TABLES')")
            cur.close()
        self._raw = raw
        self._pid = os.getpid()
        if self._init_fun is not None:
            self._init_fun(self)

    def _discard(self) -> None:
        """Forget a dead driver connection without trying to roll it back or close it politely."""
        proxied = getattr(self, "_proxied", None)
        if proxied is not None:
            with contextlib.suppress(Exception):  # it is dead already: nothing to report
                proxied.invalidate()
        self._proxied = None
        self._raw = None
        self._depth = 0

    def _safe_url(self) -> str:
        return make_url(self.url).render_as_string(hide_password=True)

    @property
    def raw(self) -> Any:
        """The DB-API connection (opened on first use, reopened in a forked child process)."""
        if self._raw is not None and self._pid != os.getpid():
            # A forked child must never close the socket it inherited: closing sends the server a
            # terminate message and ends the *parent's* session. Keep the inherited objects alive
            # (so no destructor closes them) and open a connection of our own.
            _INHERITED.append((getattr(self, "_proxied", None), self._raw))
            self._engine.dispose(close=False)
            self._raw = None
            self._depth = 0
        if self._raw is None:
            self.connect()
        return self._raw

    @property
    def is_connected(self) -> bool:
        if self._raw is None:
            return False
        try:
            self.ping()
        except errors.DataJointError:
            return False
        return True

    def ping(self) -> None:
        self.query("SELECT 1").fetchall()

    def close(self) -> None:
        if self._raw is not None and self._pid == os.getpid():
            with contextlib.suppress(Exception):  # closing a dead connection: nothing left to do
                self._proxied.close()
        self._raw = None
        self._depth = 0

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "connected" if self._raw is not None else "not connected"
        return f"<labjoin.Connection {self._safe_url()} ({state})>"

    def __getstate__(self) -> dict[str, Any]:
        # Connections travel to worker processes by URL; each process opens its own.
        return {"url": self.url}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["url"])  # type: ignore[misc]

    # -- identity ----------------------------------------------------------------------------
    def get_user(self) -> str:
        if self.backend.name == "sqlite":
            return os.environ.get("USER", "sqlite")
        if self.backend.name == "postgresql":
            return str(self.query("SELECT current_user").fetchone()[0])
        return str(self.query("SELECT current_user()").fetchone()[0])

    @property
    def connection_id(self) -> int:
        """The server's id of this session (the process id on SQLite), asked once per connection."""
        raw = self.raw
        cached = self._catalog_cache.get("connection_id")
        if cached is not None and cached[0] is raw:
            return cached[1]
        if self.backend.name == "sqlite":
            value = os.getpid()
        elif self.backend.name == "postgresql":
            value = int(self.query("SELECT pg_backend_pid()").fetchone()[0])
        else:
            value = int(self.query("SELECT connection_id()").fetchone()[0])
        self._catalog_cache["connection_id"] = (raw, value)
        return value

    # -- execution ---------------------------------------------------------------------------
    def compile(self, stmt: sa.ClauseElement) -> tuple[str, Any]:
        """SQL text and driver parameters of a SQLAlchemy statement for this backend."""
        compiled = stmt.compile(dialect=self.dialect, compile_kwargs={"render_postcompile": True})
        params = compiled.construct_params()
        if compiled.positional:
            return compiled.string, tuple(params[k] for k in compiled.positiontup or ())
        return compiled.string, params

    def execute(self, stmt: sa.ClauseElement) -> Any:
        sql, params = self.compile(stmt)
        return self.query(sql, params)

    def query(self, sql: str, args: Sequence[Any] | dict[str, Any] = (), *, as_dict: bool = False,
              many: bool = False, binary: bool = False) -> Any:
        """Run SQL text with driver parameters and return the DB-API cursor (DataJoint's API).

        ``binary=True`` asks PostgreSQL for results in binary format (bytea arrives as raw bytes
        instead of hex text); other backends ignore it.
        """
        raw = self.raw
        cur = raw.cursor(binary=True) if binary and self.backend.name == "postgresql" else raw.cursor()
        t0 = time.perf_counter()
        try:
            if many:
                cur.executemany(sql, args)
            elif args or (isinstance(args, dict)):
                cur.execute(sql, args)
            else:
                cur.execute(sql)
        except Exception as e:  # translated below: users never see driver exceptions
            if self._is_driver_error(e):
                err = translate_error(self.backend, e, sql)
                if isinstance(err, errors.LostConnectionError):
                    self._discard()
                raise err from e
            raise
        if self._tracers or sql_logger.isEnabledFor(logging.DEBUG):
            dt = time.perf_counter() - t0
            for tracer in self._tracers:
                tracer(sql, args, dt)
            sql_logger.debug("%s  %r  (%.3f ms)", sql, args, dt * 1e3)
        if as_dict:
            return _DictCursor(cur)
        return cur

    def _is_driver_error(self, e: Exception) -> bool:
        mod = type(e).__module__
        return mod.startswith(("sqlite3", "psycopg", "pymysql")) or isinstance(e, sa.exc.DBAPIError)

    @contextlib.contextmanager
    def trace(self, callback: Tracer = print) -> Iterator[None]:  # type: ignore[assignment]
        """Report every statement as ``callback(sql, params, seconds)`` inside the block.

        >>> with conn.trace(print):        # doctest: +SKIP
        ...     Subject().fetch()
        """
        if callback is print:
            def callback(sql: str, params: Any, dt: float) -> None:
                print(f"[{dt * 1e3:7.2f} ms] {sql}" + (f"  -- {params!r}" if params else ""))
        self._tracers.append(callback)
        try:
            yield
        finally:
            self._tracers.remove(callback)

    # -- transactions ------------------------------------------------------------------------
    @property
    def transaction(self) -> Transaction:
        """Context manager (and decorator): commit on success, roll back on error."""
        return Transaction(self)

    @property
    def in_transaction(self) -> bool:
        return self._depth > 0

    def start_transaction(self) -> None:
        self._begin()

    def commit_transaction(self) -> None:
        self._commit()

    def cancel_transaction(self) -> None:
        self._rollback()

    def _begin(self) -> None:
        if self._depth == 0:
            begin = {"sqlite": "BEGIN IMMEDIATE", "postgresql": "BEGIN",
                     "mysql": "START TRANSACTION WITH CONSISTENT SNAPSHOT"}[self.backend.name]
            self.query(begin)
        else:
            self.query(f"SAVEPOINT labjoin_sp{self._depth}")
        self._depth += 1

    def _commit(self) -> None:
        if self._depth == 0:
            raise errors.TransactionError("commit_transaction() called with no transaction open.")
        self._depth -= 1
        if self._depth == 0:
            self.query("COMMIT")
        else:
            self.query(f"RELEASE SAVEPOINT labjoin_sp{self._depth}")

    def _rollback(self) -> None:
        if self._depth == 0:
            raise errors.TransactionError("cancel_transaction() called with no transaction open.")
        self._depth -= 1
        if self._raw is None:  # the connection died: the server already rolled back
            self._depth = 0
            return
        if self._depth == 0:
            self.query("ROLLBACK")
        else:
            self.query(f"ROLLBACK TO SAVEPOINT labjoin_sp{self._depth}")
            self.query(f"RELEASE SAVEPOINT labjoin_sp{self._depth}")

    # -- catalog -----------------------------------------------------------------------------
    @property
    def dependencies(self) -> Any:
        """The foreign-key graph of every loaded schema (``graph.dependencies.Dependencies``)."""
        if self._dependencies is None:
            from ..graph.dependencies import Dependencies

            self._dependencies = Dependencies(self)
        return self._dependencies

    def invalidate_catalog(self) -> None:
        """Forget cached headings, compiled statements and the dependency graph (after DDL)."""
        self._catalog_cache.clear()
        self.statement_cache.clear()
        if self._dependencies is not None:
            self._dependencies.clear()

    def register(self, schema: Any) -> None:
        self.schemas[schema.database] = schema


class _DictCursor:
    """Cursor wrapper whose fetches return dicts (``query(..., as_dict=True)``)."""

    def __init__(self, cur: Any) -> None:
        self._cur = cur
        self._names = [d[0] for d in cur.description] if cur.description else []

    def fetchone(self) -> dict[str, Any] | None:
        row = self._cur.fetchone()
        return None if row is None else dict(zip(self._names, row))

    def fetchall(self) -> list[dict[str, Any]]:
        return [dict(zip(self._names, r)) for r in self._cur.fetchall()]

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for r in self._cur:
            yield dict(zip(self._names, r))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._cur, name)


_default: Connection | None = None
_default_lock = threading.Lock()


def conn(host: str | None = None, user: str | None = None, password: str | None = None, *,
         url: str | None = None, reset: bool = False, init_fun: Callable[[Connection], None] | None = None,
         use_tls: Any = None) -> Connection:
    """The process-wide default connection (created on first call; ``reset=True`` recreates it).

    Importing labjoin never connects: the connection object is built here and the database is
    opened by the first query.
    """
    global _default
    with _default_lock:
        if _default is None or reset or url is not None or host is not None:
            if _default is not None and reset:
                _default.close()
            _default = Connection(url, host=host, user=user, password=password, init_fun=init_fun)
        return _default


def set_default_connection(connection: Connection | None) -> None:
    """Make ``connection`` the one ``dj.conn()`` returns (used by tests and the CLI)."""
    global _default
    _default = connection
