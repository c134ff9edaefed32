"""Blobs through the database and through object stores: labjoin against the raw driver.

Workloads:

1. one large float64 array (100 MB at sizes S and up) stored in a ``longblob`` row with
   ``insert1`` and read back with ``fetch1``, on SQLite, PostgreSQL and MySQL/MariaDB. Raw: the
   driver's binary path on the same table: the array's bytes (``ndarray.tobytes()``, converted in
   the timed run) as a bound parameter (psycopg sends ``bytes`` in binary); back, the same row
   read with ``fetchone`` and viewed with ``np.frombuffer`` past the blob header (PostgreSQL: a
   binary-format cursor). Target: at most 1.5x the raw time.
2. many small arrays (1e4 at size S; 10 float64 values each) inserted as a list of dicts and
   fetched as a column. Raw: ``executemany`` (and COPY on PostgreSQL) of ``tobytes()``, in one
   transaction; ``fetchall`` of the same rows + ``np.frombuffer`` per row. No target: labjoin writes and reads
   DataJoint's self-describing format per value, which a raw ``tobytes`` of a known dtype skips.
3. ``blob@store`` columns (1e3 x 1 MB at size M, 200 x 1 MB at S) in a local directory and in an
   S3 bucket (moto's server in its own process on loopback): insert and fetch with the store's
   thread pool (16 workers) against the same code with one worker (serial, as DataJoint 0.14).

MySQL/MariaDB only accepts statements up to ``max_allowed_packet`` (16 MiB by default on MariaDB),
and PyMySQL sends bytes as hex: for workload 1 the script raises the server's global limit for the
run (it needs the privilege) and restores it afterwards.

Run ``python benchmarks/bench_blob_db.py --size M --write-docs`` to refresh docs/benchmarks.md.
Tables live in a schema named ``bench_blob_db``, dropped at the end.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
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
from labjoin.stores import registry

SCHEMA = "bench_blob_db"
TARGET = 1.5
MIB = 2**20
# size -> (large array MiB, small blobs, store objects, store object KiB)
PLAN = {"T": (4, 1_000, 20, 64), "S": (100, 10_000, 200, 1024), "M": (100, 10_000, 1_000, 1024),
        "L": (100, 100_000, 1_000, 1024)}
S3_KEY, S3_SECRET = "bench_key", "bench_secret"


def declare(conn: dj.Connection) -> tuple[dj.Schema, Any, Any]:
    dj.Schema(SCHEMA, connection=conn).drop(force=True)
    schema = dj.Schema(SCHEMA, connection=conn)

    @schema
    class Big(dj.Manual):
        definition = """
        id: int
        ---
        data: longblob
        """

    @schema
    class Small(dj.Manual):
        definition = """
        id: int
        ---
        data: longblob
        """

    return schema, Big, Small


class Raw:
    """The raw driver on labjoin's own DB-API connection (same settings on both sides)."""

    def __init__(self, conn: dj.Connection) -> None:
        self.backend = conn.backend.name
        self.db = conn.raw
        self.ph = "?" if self.backend == "sqlite" else "%s"

    def cursor(self, binary: bool = False) -> Any:
        return self.db.cursor(binary=True) if binary and self.backend == "postgresql" else self.db.cursor()

    def empty(self, table: str) -> None:
        self.cursor().execute(("DELETE FROM " if self.backend == "sqlite" else "TRUNCATE TABLE ") + table)

    def transaction(self, work: Callable[[Any], None]) -> None:
        cur = self.cursor()
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


@contextlib.contextmanager
def mysql_packet(conn: dj.Connection, need: int, log: Callable[[str], None]) -> Iterator[bool]:
    """Raise MySQL's global max_allowed_packet to ``need`` for the block (False: not allowed)."""
    if conn.backend.name != "mysql":
        yield True
        return
    old = int(conn.query("SELECT @@global.max_allowed_packet").fetchone()[0])
    if old >= need:
        yield True
        return
    try:
        conn.query(f"SET GLOBAL max_allowed_packet = {int(need)}")
    except dj.errors.DataJointError as e:
        log(f"cannot raise max_allowed_packet ({e}); skipping the large array on MySQL")
        yield False
        return
    conn.close()  # a session reads the global limit when it starts
    try:
        yield True
    finally:
        conn.query(f"SET GLOBAL max_allowed_packet = {old}")
        conn.close()


def bench_large(conn: dj.Connection, big: Any, mib: int, timer: Callable[..., dict[str, Timing]],
                log: Callable[[str], None]) -> list[Measurement]:
    b = conn.backend.name
    arr = np.random.default_rng(0).random(mib * MIB // 8)
    payload = arr.tobytes()
    with mysql_packet(conn, 2 * mib * MIB + 64 * MIB, log) as allowed:
        if not allowed:
            return []
        raw, table = Raw(conn), conn.backend.qtable(SCHEMA, "big")
        sql = f"INSERT INTO {table} (id, data) VALUES ({raw.ph}, {raw.ph})"
        # The raw side converts the array to bytes each time, as a raw user must.
        ins = timer({"labjoin": lambda: big.insert1({"id": 1, "data": arr}),
                     "raw": lambda: raw.cursor().execute(sql, (1, arr.tobytes()))},
                    setup=lambda: raw.empty(table))
        raw.empty(table)
        big.insert1({"id": 1, "data": arr})
        select = f"SELECT data FROM {table} WHERE id = {raw.ph}"

        # Both sides read the same row: on MariaDB a 100 MB row that another row has just pushed
        # out of the 128 MB buffer pool reads markedly slower, which would favour whichever side
        # reads a different row. The raw side skips the blob header to reach the array's bytes.
        def raw_fetch() -> np.ndarray:
            cur = raw.cursor(binary=True)
            cur.execute(select, (1,))
            buf = cur.fetchone()[0]
            return np.frombuffer(buf, dtype=np.float64, offset=len(buf) - len(payload))

        got = (big & {"id": 1}).fetch1("data")
        if not np.array_equal(got, arr):
            raise dj.errors.DataJointError("the large array did not come back intact")
        fetch = timer({"labjoin": lambda: (big & {"id": 1}).fetch1("data"), "raw": raw_fetch})
        anchor = {"sqlite": "sqlite3 execute(bytes)", "postgresql": "psycopg binary param",
                  "mysql": "PyMySQL execute(bytes)"}[b]
        return [
            Measurement(f"1a. insert1 {mib} MB float64 array", b, ins["labjoin"], 1, "ops", anchor, ins["raw"],
                        TARGET, notes={"bytes": len(payload)}),
            Measurement(f"1b. fetch1 {mib} MB float64 array", b, fetch["labjoin"], 1, "ops",
                        "fetchone + np.frombuffer" + (" (binary cursor)" if b == "postgresql" else ""),
                        fetch["raw"], TARGET),
        ]


def bench_small(conn: dj.Connection, small: Any, n: int, timer: Callable[..., dict[str, Timing]]) -> list[Measurement]:
    b = conn.backend.name
    raw, table = Raw(conn), conn.backend.qtable(SCHEMA, "small")
    arrays = list(np.random.default_rng(1).random((n, 10)))
    rows = [{"id": i, "data": a} for i, a in enumerate(arrays)]
    sql = f"INSERT INTO {table} (id, data) VALUES ({raw.ph}, {raw.ph})"
    fns: dict[str, Callable[[], object]] = {"labjoin": lambda: small.insert(rows)}
    if b == "postgresql":
        def copy() -> None:
            def work(cur: Any) -> None:
                with cur.copy(f"COPY {table} (id, data) FROM STDIN") as cp:
                    for i, a in enumerate(arrays):
                        cp.write_row((i, a.tobytes()))
            raw.transaction(work)
        fns["psycopg COPY, 1 txn"] = copy
    label = {"sqlite": "sqlite3 executemany, 1 txn", "postgresql": "psycopg executemany, 1 txn",
             "mysql": "PyMySQL executemany, 1 txn"}[b]
    fns[label] = lambda: raw.transaction(
        lambda cur: cur.executemany(sql, [(i, a.tobytes()) for i, a in enumerate(arrays)]))
    ins = timer(fns, setup=lambda: raw.empty(table))
    raw.empty(table)
    small.insert(rows)
    select = f"SELECT data FROM {table}"
    width = arrays[0].nbytes

    def raw_fetch() -> list[np.ndarray]:  # the same rows; the raw side skips each blob's header
        cur = raw.cursor(binary=True)
        cur.execute(select)
        return [np.frombuffer(r[0], dtype=np.float64, offset=len(r[0]) - width) for r in cur.fetchall()]

    fetch = timer({"labjoin": lambda: small.fetch("data"), "raw": raw_fetch})
    # No target: labjoin writes and parses DataJoint's self-describing blob format (dtype, shape,
    # order) for each row, which raw tobytes/frombuffer of a known dtype skips.
    out = [Measurement(f"2a. insert {n:,} small blobs", b, ins["labjoin"], n, "rows", name, ins[name])
           for name in fns if name != "labjoin"]
    out.append(Measurement(f"2b. fetch {n:,} small blobs", b, fetch["labjoin"], n, "rows",
                           "fetchall + np.frombuffer", fetch["raw"]))
    return out


# -- object stores ------------------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def s3_server() -> Iterator[tuple[str, str]]:
    """moto's S3 server in its own process (it would otherwise share our GIL); yields (endpoint, bucket)."""
    import boto3

    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if time.monotonic() > deadline:
                raise dj.errors.StoreError(f"moto's S3 server did not start on port {port}")
            time.sleep(0.1)
        bucket = f"bench-{uuid.uuid4().hex[:8]}"
        boto3.client("s3", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1",
                     aws_access_key_id=S3_KEY, aws_secret_access_key=S3_SECRET).create_bucket(Bucket=bucket)
        yield f"127.0.0.1:{port}", bucket
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def bench_store(conn: dj.Connection, kind: str, spec: dict[str, Any], count: int, kib: int, repeat: int
                ) -> list[Measurement]:
    """``count`` objects of ``kib`` KiB into a ``blob@bench`` column and back: 16 workers vs 1."""
    b = conn.backend.name
    arrays = [np.random.default_rng(i).random(kib * 1024 // 8) for i in range(count)]
    rows = [{"id": i, "data": a} for i, a in enumerate(arrays)]
    with dj.config(stores={"bench": spec}):
        schema = dj.Schema(SCHEMA, connection=conn)

        @schema
        class Stored(dj.Manual):
            definition = """
            id: int
            ---
            data: blob@bench
            """

        store = registry.store_for("bench")

        def reset() -> None:
            Stored.delete_quick()
            schema.external["bench"].delete(delete_external_files=True, display_progress=False)

        def workers(n: int) -> Callable[[], None]:
            def set_workers() -> None:
                reset()
                store.max_workers = n
            return set_workers

        insert = {"parallel": compare({"parallel": lambda: Stored.insert(rows)}, setup=workers(16),
                                      repeat=repeat, warmup=0)["parallel"],
                  "serial": compare({"serial": lambda: Stored.insert(rows)}, setup=workers(1),
                                    repeat=repeat, warmup=0)["serial"]}
        reset()
        Stored.insert(rows)

        def fetch_with(n: int) -> Timing:
            store.max_workers = n
            return compare({"f": lambda: Stored.fetch("data")}, repeat=repeat, warmup=0)["f"]

        fetch = {"parallel": fetch_with(16), "serial": fetch_with(1)}
        store.max_workers = 16
        reset()
        Stored.drop_quick()
    size = f"{count:,} x {kib // 1024} MB" if kib >= 1024 else f"{count:,} x {kib} kB"
    return [
        Measurement(f"3a. insert {size} into blob@store ({kind})", b, insert["parallel"], count, "rows",
                    "same, 1 worker (serial)", insert["serial"]),
        Measurement(f"3b. fetch {size} from blob@store ({kind})", b, fetch["parallel"], count, "rows",
                    "same, 1 worker (serial)", fetch["serial"]),
    ]


# -- driver ---------------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> list[Measurement]:
    extra = argparse.ArgumentParser(add_help=False)
    extra.add_argument("--stores", default="local,s3", help="object-store workloads to run: local, s3, none")
    own, rest = extra.parse_known_args(argv)
    args = parse_args(__doc__, rest)
    mib, n_small, n_objects, kib = PLAN[args.size]
    kinds = [k for k in own.stores.split(",") if k in ("local", "s3")]

    def timer(fns: dict[str, Callable[[], object]], setup: Callable[[], object] | None = None) -> dict[str, Timing]:
        return compare(fns, setup=setup, repeat=args.repeat, warmup=args.warmup)

    measurements: list[Measurement] = []
    t0 = time.perf_counter()
    with dj.config(safemode=False), open_backends(args.backends) as conns:
        machine = machine_description(conns)
        for name, conn in conns.items():
            def log(step: str, name: str = name) -> None:
                print(f"[{name}] {time.perf_counter() - t0:7.1f} s  {step}", file=sys.stderr, flush=True)

            schema, big, small = declare(conn)
            try:
                log(f"large array ({mib} MB)")
                measurements += bench_large(conn, big, mib, timer, log)
                log(f"{n_small} small blobs")
                measurements += bench_small(conn, small, n_small, timer)
            finally:
                schema.drop(force=True)
        first = next(iter(conns.values()))
        store_repeat = max(1, min(args.repeat, 3))
        for kind in kinds:
            print(f"[stores] {time.perf_counter() - t0:7.1f} s  {kind}: {n_objects} x {kib} KiB",
                  file=sys.stderr, flush=True)
            with contextlib.ExitStack() as stack:
                if kind == "local":
                    where = Path(tempfile.mkdtemp(prefix="bench_store_"))
                    stack.callback(shutil.rmtree, where, True)
                    spec: dict[str, Any] = {"protocol": "file", "location": str(where)}
                else:
                    endpoint, bucket = stack.enter_context(s3_server())
                    spec = {"protocol": "s3", "endpoint": endpoint, "bucket": bucket, "location": "bench",
                            "access_key": S3_KEY, "secret_key": S3_SECRET}
                schema = dj.Schema(SCHEMA, connection=first)
                stack.callback(schema.drop, True)
                measurements += bench_store(first, kind, spec, n_objects, kib, store_repeat)
    order = {m.workload.split(" ")[0]: i for i, m in enumerate(measurements)}
    measurements.sort(key=lambda m: order[m.workload.split(" ")[0]])
    table = measurements_table(measurements)
    date = datetime.date.today().isoformat()
    body = "\n\n".join([
        f"Measured {date} with `{command_line('bench_blob_db.py', args)} --stores {own.stores}` "
        f"(median of {args.repeat} runs after {args.warmup} warm-up; object stores: median of "
        f"{max(1, min(args.repeat, 3))} runs). In 3a/3b the anchor is the same labjoin call with a "
        "one-thread store, so the ratio is the time parallel transfers take relative to serial ones.",
        machine_markdown(machine),
        table,
    ])
    print(body)
    if args.write_docs:
        write_docs_section(DOCS_PAGE, "bench_blob_db", body,
                           title="Blobs in rows and in object stores (`bench_blob_db.py`)")
        print(f"\nwrote {DOCS_PAGE}", file=sys.stderr)
    if args.json is not None:
        write_json(args.json, "bench_blob_db.py", args, machine, measurements)
    return measurements


if __name__ == "__main__":
    main()
