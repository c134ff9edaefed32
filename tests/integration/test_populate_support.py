"""Tables and helpers shared by the populate tests (this module holds no tests).

The classes live at module level, undecorated, so worker processes (forked pools, Dask workers
started with ``spawn``) can import them by name; each test binds them to its fresh schema with
`bind`. Make calls are counted in *side tables* (one SQLite file per process, so workers never
wait on each other there): each call appends a row in its own autocommitted statement, outside
the make's transaction, so calls whose transaction rolled back (or whose worker was killed) are
counted too.
"""

from __future__ import annotations

import os
import sqlite3
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

import labjoin as dj

PREFIX = "populate_test_"
CALLS_ENV = "LABJOIN_POPULATE_TEST_CALLS"  # path of the side database
HANG_ENV = "LABJOIN_POPULATE_TEST_HANG"  # "k": make of that key waits (to be killed)
FAIL_ENV = "LABJOIN_POPULATE_TEST_FAIL"  # comma-separated keys whose make raises


_side: dict[tuple[int, str], sqlite3.Connection] = {}


def set_env(name: str, value: str) -> None:
    """Set an environment variable in this process (sent to already running Dask workers)."""
    os.environ[name] = value


def record_call(table: str, key: dict) -> None:
    """Append one row per make call to this process's side table (no lock shared with others)."""
    folder = os.environ.get(CALLS_ENV)
    if not folder:
        return
    pid = os.getpid()
    side = _side.get((pid, folder))
    if side is None:
        side = _side[pid, folder] = sqlite3.connect(Path(folder) / f"calls-{pid}.sqlite", isolation_level=None)
        side.execute("PRAGMA synchronous=OFF")
        side.execute("CREATE TABLE IF NOT EXISTS calls (tbl TEXT, k INTEGER, pid INTEGER)")
    side.execute("INSERT INTO calls VALUES (?, ?, ?)", (table, int(key["k"]), pid))


class Src(dj.Manual):
    definition = """
    k: int
    ---
    x: double
    """


class Out(dj.Computed):
    definition = """
    -> Src
    ---
    y: double
    """

    def make(self, key):
        record_call("out", key)
        fail = os.environ.get(FAIL_ENV, "")
        if str(key["k"]) in fail.split(","):
            raise ValueError(f"bad input for k={key['k']}\nsecond line of the message")
        if os.environ.get(HANG_ENV) == str(key["k"]):
            self.insert1(dict(key, y=-1.0))  # written, never committed: the worker is killed here
            Path(os.environ[HANG_ENV + "_FILE"]).write_text(str(os.getpid()))
            time.sleep(120)
        x = (Src & key).fetch1("x")
        self.insert1(dict(key, y=2 * x))


class Master(dj.Computed):
    definition = """
    -> Src
    ---
    n: int
    """

    class Piece(dj.Part):
        definition = """
        -> master
        i: int
        ---
        v: double
        """

    def make(self, key):
        record_call("master", key)
        n = 3
        self.insert1(dict(key, n=n))
        self.Piece.insert([dict(key, i=i, v=float(i)) for i in range(n)])
        if str(key["k"]) in os.environ.get(FAIL_ENV, "").split(","):
            raise RuntimeError(f"failed after inserting the master and {n} parts")
        if os.environ.get(HANG_ENV) == str(key["k"]):
            Path(os.environ[HANG_ENV + "_FILE"]).write_text(str(os.getpid()))
            time.sleep(120)


class Steps(dj.Computed):
    """Tripartite make: fetch and compute outside the transaction, insert inside it."""

    definition = """
    -> Src
    ---
    total: double
    """

    def make_fetch(self, key):
        return ((Src & key).fetch1("x"), np.arange(3.0))

    def make_compute(self, key, x, arr):
        record_call("steps", key)
        if os.environ.get("LABJOIN_POPULATE_TEST_CHANGE") == str(key["k"]):
            Src.update1(dict(key, x=x + 100))  # the inputs change while we compute
        return (float(x + arr.sum()),)

    def make_insert(self, key, total):
        self.insert1(dict(key, total=total))


class GenSteps(dj.Computed):
    """The generator form of the tripartite make (DataJoint's own default make shape)."""

    definition = """
    -> Src
    ---
    total: double
    """

    def make(self, key):
        x = (Src & key).fetch1("x")
        computed = yield (x,)
        if computed is None:
            if os.environ.get("LABJOIN_POPULATE_TEST_CHANGE") == str(key["k"]):
                Src.update1(dict(key, x=x + 100))
            computed = (x * 10,)
            yield computed
        self.insert1(dict(key, total=computed[0]))
        yield


TABLES = (Src, Out, Master, Steps, GenSteps)


def bind(schema: dj.Schema, tables=TABLES) -> None:
    for t in tables:
        schema(t)


def fill(n: int) -> None:
    Src.insert([(k, float(k)) for k in range(n)])


@contextmanager
def side_database(tmp_path: Path) -> Iterator[Path]:
    """A fresh folder of side tables (one SQLite file per process), named in the environment."""
    path = tmp_path / f"calls-{uuid.uuid4().hex[:6]}"
    path.mkdir()
    old = os.environ.get(CALLS_ENV)
    os.environ[CALLS_ENV] = str(path)
    try:
        yield path
    finally:
        if old is None:
            os.environ.pop(CALLS_ENV, None)
        else:
            os.environ[CALLS_ENV] = old


def call_rows(path: Path) -> list[tuple[str, int, int]]:
    rows: list[tuple[str, int, int]] = []
    for f in sorted(path.glob("calls-*.sqlite")):
        with sqlite3.connect(f) as side:
            rows += side.execute("SELECT tbl, k, pid FROM calls").fetchall()
        side.close()
    return rows


def calls(path: Path, table: str) -> dict[int, int]:
    """{key: number of make calls} over every process's side table."""
    counts: dict[int, int] = {}
    for tbl, k, _ in call_rows(path):
        if tbl == table:
            counts[k] = counts.get(k, 0) + 1
    return counts


def schema_for(backend: dj.Connection) -> Iterator[dj.Schema]:
    """A fresh schema named after this stream, with every support table bound to it (for fixtures)."""
    name = PREFIX + uuid.uuid4().hex[:8]
    schema = dj.Schema(name, connection=backend)
    bind(schema)
    yield schema
    schema.drop(force=True)
