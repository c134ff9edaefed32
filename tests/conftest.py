"""Shared fixtures. The `backend` fixture runs a test on SQLite, PostgreSQL and MySQL.

Servers: PostgreSQL at 127.0.0.1:5432 (user postgres) and MariaDB/MySQL at 127.0.0.1:3306 (root),
overridable with LABJOIN_TEST_POSTGRES_URL / LABJOIN_TEST_MYSQL_URL. An unreachable server skips
its tests with a message, unless LABJOIN_REQUIRE_SERVERS=1 (CI), which turns that into a failure.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

import labjoin as dj
from labjoin import errors

SERVER_URLS = {
    "postgresql": os.environ.get("LABJOIN_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"),
    "mysql": os.environ.get("LABJOIN_TEST_MYSQL_URL", "mysql://root@127.0.0.1:3306"),
}
REQUIRE = os.environ.get("LABJOIN_REQUIRE_SERVERS", "") not in ("", "0", "false")
_unreachable: dict[str, str] = {}


def _server(name: str) -> dj.Connection:
    if name in _unreachable:
        pytest.skip(_unreachable[name])
    conn = dj.Connection(SERVER_URLS[name])
    try:
        conn.ping()
    except errors.BackendUnavailableError as e:
        msg = (f"{name} server not reachable at {SERVER_URLS[name]} ({e}). Start it, or set "
               f"LABJOIN_TEST_{'POSTGRES' if name == 'postgresql' else 'MYSQL'}_URL.")
        if REQUIRE:
            pytest.fail(msg + " (LABJOIN_REQUIRE_SERVERS=1 makes this a failure)")
        _unreachable[name] = msg
        pytest.skip(msg)
    return conn


@pytest.fixture(autouse=True)
def _isolated_config(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No test depends on the developer's config files or leaves settings changed."""
    with dj.config(safemode=False):
        yield


@pytest.fixture(params=["sqlite", "postgresql", "mysql"])
def backend(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dj.Connection]:
    """A connection to each backend in turn."""
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("db") / "test.sqlite"
        conn = dj.Connection(f"sqlite:///{path}")
    else:
        conn = _server(request.param)
    yield conn
    conn.close()


@pytest.fixture
def schema_name() -> str:
    return f"t_{uuid.uuid4().hex[:10]}"


@pytest.fixture
def make_schema(backend: dj.Connection, schema_name: str) -> Iterator[object]:
    """A factory of fresh schemas on the current backend, dropped after the test."""
    made: list[dj.Schema] = []

    def factory(suffix: str = "", **kw: object) -> dj.Schema:
        s = dj.Schema(schema_name + suffix, connection=backend, **kw)  # type: ignore[arg-type]
        made.append(s)
        return s

    yield factory
    for s in reversed(made):
        s.drop(force=True)
