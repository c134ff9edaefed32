"""Server connections for tests that need a particular backend, not each in turn.

The same rules as the `backend` fixture in tests/conftest.py: the servers' URLs can be overridden
with LABJOIN_TEST_POSTGRES_URL / LABJOIN_TEST_MYSQL_URL, and an unreachable server skips the test
unless LABJOIN_REQUIRE_SERVERS=1 makes that a failure. (A module of its own: `conftest` is not a
unique module name once several test directories have one.)
"""

from __future__ import annotations

import os

import pytest

import labjoin as dj
from labjoin import errors

URLS = {
    "postgresql": os.environ.get("LABJOIN_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"),
    "mysql": os.environ.get("LABJOIN_TEST_MYSQL_URL", "mysql://root@127.0.0.1:3306"),
}


def server(name: str) -> dj.Connection:
    """A new connection to the `name` server, or a skip (a failure under LABJOIN_REQUIRE_SERVERS=1)."""
    conn = dj.Connection(URLS[name])
    try:
        conn.ping()
    except errors.BackendUnavailableError as e:
        msg = f"{name} server not reachable at {URLS[name]} ({e})."
        if os.environ.get("LABJOIN_REQUIRE_SERVERS", "") not in ("", "0", "false"):
            pytest.fail(msg + " (LABJOIN_REQUIRE_SERVERS=1 makes this a failure)")
        pytest.skip(msg)
    return conn
