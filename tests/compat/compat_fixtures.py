"""Fixtures for the tests that run labjoin against the real DataJoint 0.14 package.

Test modules import them (``from compat_fixtures import ...``) and use ``MARKS`` as their
``pytestmark``; this is not a conftest.py because the root conftest is imported by name elsewhere.

They need the separate compatibility environment (``python3 run.py compat`` creates
``.venv-compat`` with ``datajoint==0.14.10`` and the DataJoint Elements). In the main environment
``datajoint`` is not importable and every test that asks for it is skipped, saying so.
"""

from __future__ import annotations

import os
import uuid
import warnings
from collections.abc import Callable, Iterator
from types import ModuleType

import pytest

import labjoin
from labjoin import errors

MYSQL_URL = os.environ.get("LABJOIN_TEST_MYSQL_URL", "mysql://root@127.0.0.1:3306")
REQUIRE = os.environ.get("LABJOIN_REQUIRE_SERVERS", "") not in ("", "0", "false")
NO_DATAJOINT = ("the real `datajoint` package is not installed here; these tests run in the compatibility "
                "environment: `python3 run.py compat`")


# DataJoint 0.14 calls APIs that its newer dependencies deprecate: not ours to fix, and not errors here.
MARKS = [pytest.mark.compat] + [pytest.mark.filterwarnings(f"ignore::{cat}:{mod}")
                                for cat in ("DeprecationWarning", "FutureWarning")
                                for mod in ("datajoint", "pyparsing", "networkx", "pandas")]


def import_real_datajoint() -> ModuleType:
    """The PyPI ``datajoint`` package, or a skip that says where these tests run."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # DataJoint 0.14 warns about its own dependencies on import
        try:
            import datajoint
        except ImportError:
            pytest.skip(NO_DATAJOINT)
    if getattr(datajoint, "__labjoin__", False):
        pytest.fail("`datajoint` is labjoin's alias here: alias_datajoint() ran in the test process.")
    return datajoint


@pytest.fixture(scope="session")
def lj_mysql() -> Iterator[labjoin.Connection]:
    """A labjoin connection to the test MariaDB/MySQL server."""
    conn = labjoin.Connection(MYSQL_URL)
    try:
        conn.ping()
    except errors.BackendUnavailableError as e:
        msg = f"MySQL server not reachable at {MYSQL_URL} ({e}). Start it, or set LABJOIN_TEST_MYSQL_URL."
        if REQUIRE:
            pytest.fail(msg + " (LABJOIN_REQUIRE_SERVERS=1 makes this a failure)")
        pytest.skip(msg)
    yield conn
    conn.close()


@pytest.fixture(scope="session")
def dj14(lj_mysql: labjoin.Connection) -> ModuleType:
    """DataJoint 0.14, configured for the same server as ``lj_mysql``."""
    dj = import_real_datajoint()
    from sqlalchemy.engine import make_url

    url = make_url(MYSQL_URL)
    dj.config["database.host"] = url.host or "127.0.0.1"
    dj.config["database.port"] = url.port or 3306
    dj.config["database.user"] = url.username or "root"
    dj.config["database.password"] = url.password or ""
    dj.config["database.use_tls"] = False
    dj.config["safemode"] = False
    dj.config["loglevel"] = "WARNING"
    dj.conn(reset=True)
    return dj


@pytest.fixture
def compat_schemas(lj_mysql: labjoin.Connection) -> Iterator[Callable[[str], str]]:
    """A factory of fresh schema names (``compat_...``), all dropped after the test."""
    made: list[str] = []

    def name(tag: str) -> str:
        made.append(f"compat_{tag}_{uuid.uuid4().hex[:8]}")
        return made[-1]

    yield name
    for n in made:
        lj_mysql.query(f"DROP DATABASE IF EXISTS `{n}`")
