"""Query-algebra benchmarks: the cost of building and compiling a query, and of a restricted join
against the same SQL issued through the raw driver.

Workloads (each on SQLite, PostgreSQL and MySQL/MariaDB):

1. a 10-operator query (restrictions by string, dict and key list, a join, an antijoin, two
   projections, an aggregation and a restriction on it), per query:
   a. built (nodes only, nothing compiled);
   b. built and compiled **cold**: the statement cache is cleared before every query, so each
      one goes through the compiler and SQLAlchemy;
   c. built and compiled **warm**: the query's shape is in the statement cache and each query
      brings other values (the usual case in a ``make`` loop).
   Target: under 1 ms per query (issue #3). This is CPU work without I/O, timed with the
   process's CPU clock, so other processes on a busy machine do not inflate it.
2. a restricted join of ``Session`` (N/100 rows) and ``Trial`` (N rows, 100 per session),
   ``(Session & 'rig = 2') * (Trial & 'x < 0.5')``:
   a. fetched to a NumPy record array; raw: the same join written by hand, ``fetchall`` and
      the same structured array;
   b. counted with ``len``, 50 times per run; raw: the hand-written ``SELECT count(*)``.
   Target: labjoin within 1.2x of raw.

Run ``python benchmarks/bench_algebra.py --size M --write-docs`` (N = 1e5 trials, 1e3 sessions)
to refresh docs/benchmarks.md. The tables live in a schema named ``bench_algebra``, dropped at
the end.
"""

from __future__ import annotations

import datetime
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from _harness import (
    DOCS_PAGE,
    TIMES,
    Measurement,
    Timing,
    command_line,
    compare,
    format_duration,
    machine_description,
    machine_markdown,
    markdown_table,
    measurements_table,
    open_backends,
    parse_args,
    write_docs_section,
    write_json,
)

import labjoin as dj

SCHEMA = "bench_algebra"
PER_SESSION = 100  # trials per session
N_BUILD = 200  # queries per timed run of workload 1
N_COUNT = 50  # len() calls per timed run of workload 2b
BUILD_TARGET = 1e-3  # seconds per query (issue #3)
JOIN_TARGET = 1.2  # labjoin / raw (issue #3)
JOIN_DTYPE = np.dtype([("session_id", "<i4"), ("trial_id", "<i4"), ("rig", "<i4"), ("quality", "<f8"),
                       ("x", "<f8"), ("y", "<i4")])
Timer = Callable[..., dict[str, Timing]]


@dataclass
class Tables:
    Session: Any
    Trial: Any
    session: str  # the physical names raw SQL uses
    trial: str



def declare(conn: dj.Connection, schema_name: str = SCHEMA) -> tuple[dj.Schema, Tables]:
    """Create the schema afresh (dropping a leftover of an interrupted run)."""
    dj.Schema(schema_name, connection=conn).drop(force=True)
    schema = dj.Schema(schema_name, connection=conn)

    @schema
    class Session(dj.Manual):
        definition = """
        session_id: int
        ---
        rig: int
        quality: double
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

    q = conn.backend.qtable  # the physical names raw SQL uses, as labjoin itself quotes them
    return schema, Tables(Session, Trial, q(schema_name, "session"), q(schema_name, "trial"))


def fill(t: Tables, n: int, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    n_sessions = max(1, n // PER_SESSION)
    quality = rng.random(n_sessions).tolist()
    t.Session.insert([{"session_id": s, "rig": s % 5, "quality": quality[s]} for s in range(n_sessions)])
    x = rng.random(n_sessions * PER_SESSION).tolist()
    y = rng.integers(0, 10, n_sessions * PER_SESSION).tolist()
    t.Trial.insert([{"session_id": s, "trial_id": i, "x": x[s * PER_SESSION + i], "y": y[s * PER_SESSION + i]}
                    for s in range(n_sessions) for i in range(PER_SESSION)])


# -- workload 1: building and compiling -------------------------------------------------------------
def build_query(t: Tables, i: int = 0) -> Any:
    """Ten operators. ``i`` changes the values, never the shape."""
    q = t.Session & "rig = 2"
    q = q * t.Trial
    q = q & "x < 0.5"
    q = q & {"y": i % 10}
    q = q - (t.Trial & "x > 0.9").proj()
    q = q.proj("x", "y", station="rig")
    q = q & [{"session_id": i}, {"session_id": i + 1}, {"session_id": i + 12}]
    q = t.Session.aggr(q, n="count(*)", mean_x="avg(x)")
    return q & "n > 0"


def bench_build(conn: dj.Connection, t: Tables, n_builds: int, timer: Timer) -> list[Measurement]:
    b = conn.backend.name
    cache = conn.statement_cache

    def build() -> None:
        for i in range(n_builds):
            build_query(t, i)

    def cold() -> None:
        for i in range(n_builds):
            cache.clear()
            build_query(t, i)._statement()

    def warm() -> None:
        for i in range(n_builds):
            build_query(t, i)._statement()

    len(build_query(t))  # the query must run: timing SQL that fails would mislead
    build_query(t)._statement()  # the shape is cached for the warm runs
    timings = timer({"build": build, "cold": cold, "warm": warm}, clock=time.process_time)
    note = {"target_seconds": BUILD_TARGET}
    return [
        Measurement("1a. build a 10-operator query", b, timings["build"], n_builds, "ops", notes=note),
        Measurement("1b. build + compile, cold (cache cleared)", b, timings["cold"], n_builds, "ops", notes=note),
        Measurement("1c. build + compile, warm (cached shape)", b, timings["warm"], n_builds, "ops", notes=note),
    ]


# -- workload 2: a restricted join ------------------------------------------------------------------
def join_query(t: Tables) -> Any:
    return (t.Session & "rig = 2") * (t.Trial & "x < 0.5")


def raw_join_sql(conn: dj.Connection, t: Tables) -> tuple[str, str, tuple[Any, ...]]:
    """The join as a user would write it by hand (and its count)."""
    ph = "?" if conn.backend.name == "sqlite" else "%s"
    body = (f"FROM {t.session} AS s JOIN {t.trial} AS t ON s.session_id = t.session_id "
            f"WHERE s.rig = {ph} AND t.x < {ph}")
    select = f"SELECT s.session_id, t.trial_id, s.rig, s.quality, t.x, t.y {body}"
    return select, f"SELECT count(*) {body}", (2, 0.5)


def bench_join(conn: dj.Connection, t: Tables, timer: Timer) -> list[Measurement]:
    b = conn.backend.name
    select, count, params = raw_join_sql(conn, t)
    db = conn.raw

    def raw_rows() -> list[tuple[Any, ...]]:
        cur = db.cursor()
        cur.execute(select, params)
        rows = cur.fetchall()
        return rows if isinstance(rows, list) else list(rows)  # PyMySQL: a tuple of tuples

    def raw_count() -> int:
        cur = db.cursor()
        cur.execute(count, params)
        return int(cur.fetchone()[0])

    n_lj, n_raw = len(join_query(t).fetch()), len(raw_rows())
    if n_lj != n_raw or len(join_query(t)) != raw_count():  # timing different results would mislead
        raise dj.errors.DataJointError(f"the join returned {n_lj} rows through labjoin but {n_raw} raw")
    fetched = timer({"labjoin": lambda: join_query(t).fetch(),
                     "raw": lambda: np.array(raw_rows(), dtype=JOIN_DTYPE)})
    def lj_counts() -> None:
        for _ in range(N_COUNT):
            len(join_query(t))

    def raw_counts() -> None:
        for _ in range(N_COUNT):
            raw_count()

    counted = timer({"labjoin": lj_counts, "raw": raw_counts})
    return [
        Measurement("2a. restricted join → NumPy", b, fetched["labjoin"], n_lj, "rows",
                    "same join by hand, fetchall + np.array", fetched["raw"], JOIN_TARGET, notes={"sql": select}),
        Measurement("2b. len() of the restricted join", b, counted["labjoin"], N_COUNT, "ops",
                    "SELECT count(*) by hand", counted["raw"], JOIN_TARGET, notes={"sql": count}),
    ]


# -- driver ---------------------------------------------------------------------------------------
def run_backend(conn: dj.Connection, n: int, timer: Timer, log: Callable[[str], None],
                schema_name: str = SCHEMA) -> list[Measurement]:
    """Every workload on one backend; the schema is dropped even when a workload fails."""
    schema, t = declare(conn, schema_name)
    try:
        log("insert")
        fill(t, n)
        log("build and compile")
        out = bench_build(conn, t, min(N_BUILD, max(n // 50, 10)), timer)
        log("restricted join")
        return out + bench_join(conn, t, timer)
    finally:
        schema.drop(force=True)


def build_table(measurements: list[Measurement]) -> str:
    """Workload 1: time per query against the absolute target."""
    rows = []
    for m in measurements:
        per = m.labjoin.median / m.count
        ok = "✓" if per < BUILD_TARGET else "✗"
        target = "" if m.workload.startswith("1a") else f"< {format_duration(BUILD_TARGET)} {ok}"
        rows.append([m.workload, m.backend, format_duration(per), format_duration(m.labjoin.best / m.count), target])
    return markdown_table(["Workload", "Backend", "Per query (median)", "Per query (best run)", "Target"], rows,
                          align="llrrl")


def main(argv: list[str] | None = None) -> list[Measurement]:
    args = parse_args(__doc__, argv)

    def timer(fns: dict[str, Callable[[], object]], setup: Callable[[], object] | None = None,
              clock: Callable[[], float] = time.perf_counter) -> dict[str, Timing]:
        return compare(fns, setup=setup, repeat=args.repeat, warmup=args.warmup, clock=clock)

    measurements: list[Measurement] = []
    t0 = time.perf_counter()
    with dj.config(safemode=False), open_backends(args.backends) as conns:
        machine = machine_description(conns)
        for name, conn in conns.items():
            def log(step: str, name: str = name) -> None:
                print(f"[{name}] {time.perf_counter() - t0:7.1f} s  {step}", file=sys.stderr, flush=True)

            measurements += run_backend(conn, args.rows, timer, log)
    order = {m.workload: i for i, m in enumerate(measurements)}
    measurements.sort(key=lambda m: order[m.workload])
    building = [m for m in measurements if m.workload.startswith("1")]
    joins = [m for m in measurements if m.workload.startswith("2")]
    n_sessions = max(1, args.rows // PER_SESSION)
    body = "\n\n".join([
        f"Measured {datetime.date.today().isoformat()} with `{command_line('bench_algebra.py', args)}` "
        f"(Trial: {n_sessions * PER_SESSION:,} rows, Session: {n_sessions:,} rows; median of {args.repeat} runs "
        f"after {args.warmup} warm-up).",
        machine_markdown(machine),
        "**Building and compiling** (CPU time per query; target under 1 ms):",
        build_table(building),
        "**Restricted join** `(Session & 'rig = 2') * (Trial & 'x < 0.5')` against the same join written "
        f"by hand (target: within 1.2{TIMES}):",
        measurements_table(joins),
    ])
    print(body)
    if args.write_docs:
        write_docs_section(DOCS_PAGE, "bench_algebra", body,
                           title="Query algebra: building, compiling, a restricted join (`bench_algebra.py`)")
        print(f"\nwrote {DOCS_PAGE}", file=sys.stderr)
    if args.json is not None:
        write_json(args.json, "bench_algebra.py", args, machine, measurements)
    return measurements


if __name__ == "__main__":
    main()
