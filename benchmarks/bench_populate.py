"""Populate benchmarks: per-key overhead against the raw round trips, and scaling with processes.

Workloads (on SQLite, PostgreSQL and MySQL/MariaDB), for a trivial ``make`` that inserts one row:

1. ``populate()`` of N keys. Raw: the same round trips per key through the DB-API cursor
   (BEGIN, the "already there?" SELECT, the INSERT, COMMIT), keys fetched once.
2. ``populate(reserve_jobs=True)``. Raw: the reserving INSERT into ``~jobs``, BEGIN, SELECT,
   INSERT, the DELETE of the reservation and COMMIT.
3. ``populate(processes=p, reserve_jobs=True)`` for p = 1, 2, 4: keys per second and scaling
   (the machine's CPU count bounds it; the database's commit rate too).

Targets (issue #4): at most 0.5 ms per key on SQLite without reservation, 1 ms per key with
reservation on PostgreSQL. Run ``python benchmarks/bench_populate.py --size S --write-docs``.
Every table lives in a schema named ``populate_bench``, dropped at the end.
"""

from __future__ import annotations

import hashlib
import os
import platform
import sys
from typing import Any

from _harness import (
    DOCS_PAGE,
    Measurement,
    command_line,
    compare,
    machine_description,
    machine_markdown,
    markdown_table,
    measure,
    measurements_table,
    open_backends,
    parse_args,
    write_docs_section,
    write_json,
)

import labjoin as dj

SCHEMA = "populate_bench"
TARGETS_MS = {("sqlite", False): 0.5, ("postgresql", True): 1.0}


def declare(conn: Any) -> tuple[Any, Any, Any]:
    dj.Schema(SCHEMA, connection=conn).drop(force=True)
    schema = dj.Schema(SCHEMA, connection=conn)

    @schema
    class Src(dj.Manual):
        definition = """
        k: int
        """

    @schema
    class Out(dj.Computed):
        definition = """
        -> Src
        ---
        v: int
        """

        def make(self, key):
            self.insert1(dict(key, v=1))

    return schema, Src, Out


def _raw(conn: Any, n: int, reserve: bool) -> Any:
    """The per-key round trips of populate, hand-written on the DB-API connection."""
    b = conn.backend
    ph = "?" if b.name == "sqlite" else "%s"
    out, src, jobs = (b.qtable(SCHEMA, t) for t in ("__out", "src", "~jobs"))
    q = b.qident
    begin = {"sqlite": "BEGIN IMMEDIATE", "postgresql": "BEGIN",
             "mysql": "START TRANSACTION WITH CONSISTENT SNAPSHOT"}[b.name]
    exists = f"SELECT 1 FROM {out} WHERE {q('k')} = {ph} LIMIT 1"
    insert = f"INSERT INTO {out} ({q('k')}, {q('v')}) VALUES ({ph}, {ph})"
    cols = ", ".join(q(c) for c in ("table_name", "key_hash", "status", "key", "user", "host", "pid",
                                    "connection_id"))
    reserve_sql = f"INSERT INTO {jobs} ({cols}) VALUES ({', '.join([ph] * 8)})"
    done_sql = f"DELETE FROM {jobs} WHERE {q('table_name')} = {ph} AND {q('key_hash')} = {ph}"
    host, pid, blob = platform.node(), os.getpid(), b"dj0\0" + b"\0" * 16

    def run() -> None:
        raw = conn.raw
        cur = raw.cursor()
        cur.execute(f"SELECT {q('k')} FROM {src} WHERE {q('k')} NOT IN (SELECT {q('k')} FROM {out})")
        keys = [r[0] for r in cur.fetchall()][:n]
        for k in keys:
            h = hashlib.md5(str(k).encode()).hexdigest()
            if reserve:
                cur.execute(reserve_sql, ("__out", h, "reserved", blob, "bench", host, pid, 0))
            cur.execute(begin)
            cur.execute(exists, (k,))
            if cur.fetchone() is None:
                cur.execute(insert, (k, 1))
            if reserve:
                cur.execute(done_sql, ("__out", h))
            cur.execute("COMMIT")
        cur.close()

    return run


def overhead(conn: Any, name: str, n: int, args: Any) -> list[Measurement]:
    schema, src, out = declare(conn)
    src.insert([(k,) for k in range(n)])
    out.populate(max_calls=1, reserve_jobs=True)  # declares ~jobs; warms the caches

    def reset() -> None:
        with conn.transaction:
            conn.query(f"DELETE FROM {conn.backend.qtable(SCHEMA, '__out')}")
            conn.query(f"DELETE FROM {conn.backend.qtable(SCHEMA, '~jobs')}")

    found = []
    for reserve in (False, True):
        timings = compare({"labjoin": lambda r=reserve: out.populate(reserve_jobs=r), "raw": _raw(conn, n, reserve)},
                          setup=reset, repeat=args.repeat, warmup=args.warmup)
        label = "populate(reserve_jobs=True)" if reserve else "populate()"
        target_ms = TARGETS_MS.get((name, reserve))
        found.append(Measurement(f"{label}, {n} keys", name, timings["labjoin"], n, unit="ops",
                                 anchor="raw round trips", raw=timings["raw"],
                                 notes={"target_ms_per_key": target_ms}))
    schema.drop(force=True)
    return found


def scaling(conn: Any, name: str, n: int, args: Any) -> list[tuple[str, int, float]]:
    schema, src, out = declare(conn)
    src.insert([(k,) for k in range(n)])
    out.populate(max_calls=1, reserve_jobs=True)
    rows = []
    for p in (1, 2, 4):
        def reset() -> None:
            conn.query(f"DELETE FROM {conn.backend.qtable(SCHEMA, '__out')}")

        t = measure(lambda p=p: out.populate(processes=p, reserve_jobs=True), setup=reset,
                    repeat=max(1, args.repeat // 2), warmup=0)
        rows.append((name, p, t.median))
    schema.drop(force=True)
    return rows


def main(argv: list[str] | None = None) -> list[Measurement]:
    args = parse_args(__doc__, argv)
    n = max(200, args.rows // 10)
    measurements: list[Measurement] = []
    scale_rows: list[tuple[str, int, float]] = []
    with open_backends(args.backends) as conns:
        machine = machine_description(conns)
        for name, conn in conns.items():
            measurements += overhead(conn, name, n, args)
            scale_rows += scaling(conn, name, n, args)
    per_key = []
    for m in measurements:
        ms = m.labjoin.median / m.count * 1e3
        raw_ms = m.raw.median / m.count * 1e3 if m.raw else float("nan")
        target = m.notes.get("target_ms_per_key")
        verdict = "" if target is None else f"≤ {target} ms {'✓' if ms <= target else '✗'}"
        per_key.append([m.workload.split(",")[0], m.backend, f"{ms:.3f} ms", f"{raw_ms:.3f} ms",
                        f"{ms - raw_ms:+.3f} ms", verdict])
    base = {name: t for name, p, t in scale_rows if p == 1}
    scale = [[name, str(p), f"{n / t:,.0f} keys/s", f"{base[name] / t:.2f}{chr(215)}",
              f"{base[name] / t / p:.0%}"] for name, p, t in scale_rows]
    body = "\n\n".join([
        f"Command: `{command_line('bench_populate.py', args)}` ({n} keys per run; a trivial make that "
        "inserts one row).",
        "Per-key time of `populate` and of the same round trips written by hand on the driver "
        "(what labjoin adds on top is the difference):",
        markdown_table(["Workload", "Backend", "labjoin per key", "Raw per key", "Added", "Target"], per_key,
                       align="llrrrl"),
        measurements_table(measurements),
        f"Scaling: `populate(processes=p, reserve_jobs=True)`, {n} keys (this machine has "
        f"{os.cpu_count()} CPUs, which bounds it):",
        markdown_table(["Backend", "Processes", "Rate", "Speed-up", "Efficiency"], scale, align="lrrrr"),
        machine_markdown(machine),
    ])
    print(body)
    if args.write_docs:
        write_docs_section(DOCS_PAGE, "bench_populate", body, title="Populate: per-key overhead and scaling "
                           "(bench_populate.py)")
    if args.json:
        write_json(args.json, "bench_populate.py", args, machine, measurements)
    return measurements


if __name__ == "__main__":
    main(sys.argv[1:])
