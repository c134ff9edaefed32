"""Core benchmarks: labjoin against the raw database driver, measured in the same run.

Workloads (each on SQLite, PostgreSQL and MySQL/MariaDB):

1. insert N rows (int key, int, double, int) from a list of dicts. Raw: the driver's best simple
   path from the same dicts: SQLite executemany in one transaction; psycopg COPY and psycopg
   executemany (both reported); PyMySQL executemany (which it rewrites into multi-row INSERTs).
2. fetch N rows to a NumPy record array (raw: fetchall + a NumPy structured array) and to pandas
   (raw: fetchall + ``pandas.DataFrame(rows)``).
3. a restricted join, Session(100) * Trial(N), by a secondary attribute and an IN list, fetched
   to a record array. Raw: the equivalent hand-written SQL through the raw cursor, plus the same
   structured-array conversion.
4. ``fetch1`` by primary key and ``insert1``, 1000 calls each (raw: point SELECT + fetchone; one
   autocommitted single-row INSERT).
5. building and compiling a 10-operator query without running it (no raw anchor).

Run ``python benchmarks/bench_core.py --size M --write-docs`` to refresh docs/benchmarks.md.
Every table lives in a schema named ``bench_core``, dropped at the end.
"""

from __future__ import annotations

import datetime
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from _harness import (
    DOCS_PAGE,
    Measurement,
    Timing,
    command_line,
    compare,
    machine_description,
    machine_markdown,
    measurements_table,
    open_backends,
    parse_args,
    write_docs_section,
    write_json,
)

import labjoin as dj

SCHEMA = "bench_core"
N_SESSIONS = 100
N_SINGLE = 1000  # fetch1 / insert1 calls per run
N_BUILD = 200  # query builds per timed run
TARGET = 1.3  # the target for workloads 1-3: at most 1.3x the raw driver
BULK_DTYPE = np.dtype([("row_id", "<i4"), ("a", "<i4"), ("x", "<f8"), ("b", "<i4")])
JOIN_DTYPE = np.dtype([("session_id", "<i4"), ("trial_id", "<i4"), ("rig", "<i4"), ("x", "<f8"),
                       ("y", "<i4")])


@dataclass
class Tables:
    """The declared table classes and the physical names raw SQL uses for them."""

    Bulk: Any
    Single: Any
    Session: Any
    Trial: Any
    names: dict[str, str]



def declare(conn: dj.Connection, schema_name: str = SCHEMA) -> tuple[dj.Schema, Tables]:
    """Create the benchmark schema afresh (dropping a leftover from an interrupted run)."""
    dj.Schema(schema_name, connection=conn).drop(force=True)
    schema = dj.Schema(schema_name, connection=conn)

    @schema
    class Bulk(dj.Manual):
        definition = """
        row_id: int
        ---
        a: int
        x: double
        b: int
        """

    @schema
    class Single(dj.Manual):
        definition = """
        row_id: int
        ---
        a: int
        x: double
        b: int
        """

    @schema
    class Session(dj.Manual):
        definition = """
        session_id: int
        ---
        rig: int
        """

    @schema
    class Trial(dj.Manual):
        definition = """
        -> Session
        trial_id: int
        ---
        x: double
        y: int
        """

    names = {t: conn.backend.qtable(schema_name, t) for t in ("bulk", "single", "session", "trial")}
    return schema, Tables(Bulk, Single, Session, Trial, names)


def make_rows(n: int, seed: int = 0) -> list[dict[str, Any]]:
    """N rows as plain Python values, the way user code usually builds them."""
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 1000, n).tolist()
    x = rng.random(n).tolist()
    b = rng.integers(0, 10, n).tolist()
    return [{"row_id": i, "a": a[i], "x": x[i], "b": b[i]} for i in range(n)]


def make_trials(n: int, seed: int = 1) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    rng = np.random.default_rng(seed)
    per = max(1, n // N_SESSIONS)
    sessions = [{"session_id": s, "rig": s % 5} for s in range(N_SESSIONS)]
    x = rng.random(N_SESSIONS * per).tolist()
    y = rng.integers(0, 10, N_SESSIONS * per).tolist()
    trials = [{"session_id": s, "trial_id": t, "x": x[s * per + t], "y": y[s * per + t]}
              for s in range(N_SESSIONS) for t in range(per)]
    return sessions, trials


class Raw:
    """The raw-driver side: SQL text and DB-API calls on labjoin's own driver connection, so both
    sides run with the same connection settings (SQLite WAL and synchronous=NORMAL, autocommit).
    """

    def __init__(self, conn: dj.Connection) -> None:
        self.backend = conn.backend.name
        self.db = conn.raw
        self.ph = "?" if self.backend == "sqlite" else "%s"

    def named(self, name: str) -> str:
        return f":{name}" if self.backend == "sqlite" else f"%({name})s"

    def execute(self, sql: str, params: Any = None) -> Any:
        cur = self.db.cursor()
        if params is None:
            cur.execute(sql)
        else:
            cur.execute(sql, params)
        return cur

    def empty(self, table: str) -> None:
        self.execute(("DELETE FROM " if self.backend == "sqlite" else "TRUNCATE TABLE ") + table)

    def transaction(self, work: Callable[[Any], None]) -> None:
        """Run ``work(cursor)`` in one transaction, the way each driver does it simply."""
        cur = self.db.cursor()
        if self.backend == "postgresql":
            with self.db.transaction():
                work(cur)
        elif self.backend == "mysql":
            self.db.begin()
            work(cur)
            self.db.commit()
        else:
            cur.execute("BEGIN")
            work(cur)
            cur.execute("COMMIT")

    def insert_sql(self, table: str, fields: list[str]) -> str:
        return f"INSERT INTO {table} ({', '.join(fields)}) VALUES ({', '.join(map(self.named, fields))})"

    def fetchall(self, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
        rows = self.execute(sql, params).fetchall()
        # PyMySQL returns a tuple of tuples, which NumPy would read as one record.
        return rows if isinstance(rows, list) else list(rows)


# -- workloads ------------------------------------------------------------------------------------
# Each workload hands `timer` a dict of contenders ({"labjoin": ..., "<raw path>": ...}); the
# harness runs them interleaved, so machine load affects both sides of a ratio alike.
Timer = Callable[..., dict[str, Timing]]


def bench_insert(conn: dj.Connection, t: Tables, rows: list[dict[str, Any]], timer: Timer) -> list[Measurement]:
    raw, b, table = Raw(conn), conn.backend.name, t.names["bulk"]
    fields = list(rows[0])
    sql = raw.insert_sql(table, fields)
    fns: dict[str, Callable[[], None]] = {"labjoin": lambda: t.Bulk.insert(rows)}
    if b == "postgresql":
        def copy() -> None:
            def work(cur: Any) -> None:
                with cur.copy(f"COPY {table} ({', '.join(fields)}) FROM STDIN") as cp:
                    for r in rows:
                        cp.write_row((r["row_id"], r["a"], r["x"], r["b"]))
            raw.transaction(work)

        fns["psycopg COPY, 1 txn"] = copy
    label = {"sqlite": "sqlite3 executemany, 1 txn", "postgresql": "psycopg executemany, 1 txn",
             "mysql": "PyMySQL executemany, 1 txn"}[b]
    fns[label] = lambda: raw.transaction(lambda cur: cur.executemany(sql, rows))
    timings = timer(fns, setup=lambda: raw.empty(table))
    raw.empty(table)
    return [Measurement("1. insert (list of dicts)", b, timings["labjoin"], len(rows), "rows", name,
                        timings[name], TARGET) for name in fns if name != "labjoin"]


def bench_fetch(conn: dj.Connection, t: Tables, n: int, timer: Timer) -> list[Measurement]:
    raw, b = Raw(conn), conn.backend.name
    sql = f"SELECT row_id, a, x, b FROM {t.names['bulk']}"
    names = list(BULK_DTYPE.names or ())
    to_np = timer({"labjoin": lambda: t.Bulk.fetch(),
                   "raw": lambda: np.array(raw.fetchall(sql), dtype=BULK_DTYPE)})
    to_pd = timer({"labjoin": lambda: t.Bulk.fetch(format="frame"),
                   "raw": lambda: pd.DataFrame(raw.fetchall(sql), columns=names)})
    return [
        Measurement("2a. fetch → NumPy records", b, to_np["labjoin"], n, "rows",
                    "fetchall + np.array(structured)", to_np["raw"], TARGET),
        Measurement("2b. fetch → pandas", b, to_pd["labjoin"], n, "rows", "fetchall + pd.DataFrame",
                    to_pd["raw"], TARGET),
    ]


def join_query(t: Tables) -> Any:
    return (t.Session * t.Trial) & "x < 0.1" & "y in (1, 2, 3)"


def bench_join(conn: dj.Connection, t: Tables, timer: Timer) -> list[Measurement]:
    raw, b = Raw(conn), conn.backend.name
    ph = raw.ph
    sql = (f"SELECT s.session_id, t.trial_id, s.rig, t.x, t.y FROM {t.names['session']} AS s "
           f"JOIN {t.names['trial']} AS t ON s.session_id = t.session_id "
           f"WHERE t.x < {ph} AND t.y IN ({ph}, {ph}, {ph})")
    params = (0.1, 1, 2, 3)
    n_lj = len(join_query(t).fetch())
    n_raw = len(raw.fetchall(sql, params))
    if n_lj != n_raw:  # timing two different results would be meaningless
        raise dj.errors.DataJointError(f"the join returned {n_lj} rows through labjoin but {n_raw} raw")
    timings = timer({"labjoin": lambda: join_query(t).fetch(),
                     "raw": lambda: np.array(raw.fetchall(sql, params), dtype=JOIN_DTYPE)})
    return [Measurement("3. restricted join → NumPy", b, timings["labjoin"], n_lj, "rows",
                        "same SQL, fetchall + np.array", timings["raw"], TARGET, notes={"sql": sql})]


def bench_single(conn: dj.Connection, t: Tables, rows: list[dict[str, Any]], n_calls: int,
                 timer: Timer) -> list[Measurement]:
    raw, b = Raw(conn), conn.backend.name
    keys = np.random.default_rng(2).integers(0, len(rows), n_calls).tolist()
    point = f"SELECT row_id, a, x, b FROM {t.names['bulk']} WHERE row_id = {raw.ph}"

    def lj_fetch1() -> None:
        for k in keys:
            (t.Bulk & {"row_id": k}).fetch1()

    def raw_fetch1() -> None:
        for k in keys:
            raw.execute(point, (k,)).fetchone()

    one = rows[:n_calls]
    insert = raw.insert_sql(t.names["single"], list(one[0]))

    def lj_insert1() -> None:
        for r in one:
            t.Single.insert1(r)

    def raw_insert1() -> None:
        for r in one:
            raw.execute(insert, r)

    fetch1 = timer({"labjoin": lj_fetch1, "raw": raw_fetch1})
    insert1 = timer({"labjoin": lj_insert1, "raw": raw_insert1}, setup=lambda: raw.empty(t.names["single"]))
    raw.empty(t.names["single"])
    return [
        Measurement(f"4a. fetch1 by key, {n_calls} calls", b, fetch1["labjoin"], len(keys), "ops",
                    "point SELECT + fetchone", fetch1["raw"]),
        Measurement(f"4b. insert1, {n_calls} calls", b, insert1["labjoin"], len(one), "ops",
                    "single INSERT, autocommit", insert1["raw"]),
    ]


def build_query(t: Tables) -> Any:
    """Ten operators: four restrictions, a join, an antijoin, two projections, an aggregation
    and a restriction on the aggregate.
    """
    q = t.Session & "rig = 2"
    q = q * t.Trial
    q = q & "x < 0.5"
    q = q & {"y": 3}
    q = q - (t.Trial & "x > 0.9").proj()
    q = q.proj("x", "y", station="rig")
    q = q & [{"session_id": 1}, {"session_id": 2}, {"session_id": 12}]
    q = t.Session.aggr(q, n="count(*)", mean_x="avg(x)")
    return q & "n > 0"


def bench_build(conn: dj.Connection, t: Tables, n_builds: int, timer: Timer) -> list[Measurement]:
    b = conn.backend.name

    def build() -> None:
        for _ in range(n_builds):
            build_query(t)

    def build_compile() -> None:
        for _ in range(n_builds):
            build_query(t).make_sql()

    len(build_query(t))  # the query must also run: timing SQL that fails would mislead
    timings = timer({"build": build, "build+compile": build_compile})
    return [
        Measurement("5a. build 10-operator query", b, timings["build"], n_builds, "ops"),
        Measurement("5b. build + compile it (make_sql)", b, timings["build+compile"], n_builds, "ops"),
    ]


# -- driver ---------------------------------------------------------------------------------------
def run_backend(conn: dj.Connection, n: int, timer: Timer, log: Callable[[str], None],
                schema_name: str = SCHEMA) -> list[Measurement]:
    """Every workload on one backend; the schema is dropped even when a workload fails.

    The single-row and query-building loops shrink with tiny sizes (T) so smoke tests stay fast.
    """
    schema, t = declare(conn, schema_name)
    try:
        rows = make_rows(n)
        sessions, trials = make_trials(n)
        out: list[Measurement] = []
        log("insert")
        out += bench_insert(conn, t, rows, timer)
        t.Bulk.insert(rows)
        t.Session.insert(sessions)
        t.Trial.insert(trials)
        log("fetch")
        out += bench_fetch(conn, t, n, timer)
        log("join")
        out += bench_join(conn, t, timer)
        log("fetch1/insert1")
        out += bench_single(conn, t, rows, min(N_SINGLE, n // 10), timer)
        log("query building")
        out += bench_build(conn, t, min(N_BUILD, n // 50), timer)
        return out
    finally:
        schema.drop(force=True)


def main(argv: list[str] | None = None) -> list[Measurement]:
    args = parse_args(__doc__, argv)

    def timer(fns: dict[str, Callable[[], object]], setup: Callable[[], object] | None = None
              ) -> dict[str, Timing]:
        return compare(fns, setup=setup, repeat=args.repeat, warmup=args.warmup)

    measurements: list[Measurement] = []
    t0 = time.perf_counter()
    with dj.config(safemode=False), open_backends(args.backends) as conns:
        machine = machine_description(conns)
        for name, conn in conns.items():
            def log(step: str, name: str = name) -> None:
                print(f"[{name}] {time.perf_counter() - t0:7.1f} s  {step}", file=sys.stderr, flush=True)

            measurements += run_backend(conn, args.rows, timer, log)
    order = {m.workload: i for i, m in enumerate(measurements)}
    measurements.sort(key=lambda m: order[m.workload])  # group each workload's backends together
    table = measurements_table(measurements)
    date = datetime.date.today().isoformat()
    body = "\n\n".join([
        f"Measured {date} with `{command_line('bench_core.py', args)}` "
        f"({args.rows:,} rows; median of {args.repeat} runs after {args.warmup} warm-up).",
        machine_markdown(machine),
        table,
    ])
    print(body)
    if args.write_docs:
        write_docs_section(DOCS_PAGE, "bench_core", body, title="Core: insert, fetch, join, single rows, "
                           "query building (`bench_core.py`)")
        print(f"\nwrote {DOCS_PAGE}", file=sys.stderr)
    if args.json is not None:
        write_json(args.json, "bench_core.py", args, machine, measurements)
    return measurements


if __name__ == "__main__":
    main()
