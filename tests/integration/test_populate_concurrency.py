"""Many workers on one table: exactly-once makes, kill -9 recovery, stale reservations, processes=N.

Workers are forked processes, each with its own connection (as on separate machines); make
calls are counted in a side database outside the make transactions (see test_populate_support).
"""

from __future__ import annotations

import multiprocessing as mp
import os
import platform
import signal
import time
import traceback

import pytest
from test_populate_support import (
    FAIL_ENV,
    HANG_ENV,
    Master,
    Out,
    call_rows,
    calls,
    fill,
    schema_for,
    side_database,
)

import labjoin as dj
from labjoin.populate.jobs import key_hash

N_KEYS = 2000
N_WORKERS = 4
ctx = mp.get_context("fork")


@pytest.fixture
def populate_schema(backend):
    yield from schema_for(backend)


def _worker(table: type, queue: object, start: object, order: str) -> None:
    start.wait(30)  # type: ignore[attr-defined]
    try:
        conn = table.connection
        if conn.backend.name == "postgresql":
            # Each commit waits for the WAL flush; on a shared, busy test server that, not labjoin,
            # sets the pace. Exactly-once does not depend on durability, so skip the wait here.
            conn.query("SET synchronous_commit TO OFF")
        r = table.populate(reserve_jobs=True, order=order)
        queue.put(("ok", r.summary.as_dict(), r["error_list"]))  # type: ignore[attr-defined]
    except BaseException as e:  # reported to the test, which fails with it
        queue.put(("raised", repr(e), traceback.format_exc()))  # type: ignore[attr-defined]


def _start_workers(conn: dj.Connection, table: type, orders: list[str]) -> tuple[list, object]:
    conn.close()  # the children open their own connections
    queue, start = ctx.Queue(), ctx.Event()
    procs = [ctx.Process(target=_worker, args=(table, queue, start, o)) for o in orders]
    for p in procs:
        p.start()
    start.set()
    return procs, queue


def test_four_workers_compute_every_key_exactly_once(populate_schema, tmp_path):
    fill(N_KEYS)
    with side_database(tmp_path) as side:
        t0 = time.perf_counter()
        procs, queue = _start_workers(populate_schema.connection, Out, ["original", "original", "reverse", "random"])
        results = [queue.get(timeout=180) for _ in procs]  # type: ignore[attr-defined]
        for p in procs:
            p.join(30)
        elapsed = time.perf_counter() - t0
        problems = [r for r in results if r[0] != "ok" or r[2]]
        assert not problems, problems  # no deadlock or lock error reached any worker
        assert all(p.exitcode == 0 for p in procs)
        made = calls(side, "out")
    assert len(made) == N_KEYS and set(made.values()) == {1}, "a key was computed twice or never"
    assert sum(r[1]["succeeded"] for r in results) == N_KEYS
    assert sum(r[1]["succeeded"] > 0 for r in results) >= 2, "the work was not shared"
    assert len(Out()) == N_KEYS and len(populate_schema.jobs) == 0
    print(f"{populate_schema.connection.backend.name}: {N_WORKERS} workers x {N_KEYS} keys in {elapsed:.2f} s")


def _wait_for(predicate, timeout: float = 20.0) -> None:
    t0 = time.monotonic()
    while not predicate():
        if time.monotonic() - t0 > timeout:
            raise AssertionError("condition not reached in time")
        time.sleep(0.05)


def test_kill_9_mid_make_leaves_nothing_and_key_is_taken_over(populate_schema, tmp_path, monkeypatch):
    fill(5)
    flag = tmp_path / "hanging"
    monkeypatch.setenv(HANG_ENV, "2")
    monkeypatch.setenv(HANG_ENV + "_FILE", str(flag))
    with side_database(tmp_path) as side:
        procs, _ = _start_workers(populate_schema.connection, Master, ["original"])
        monkeypatch.delenv(HANG_ENV)  # only the victim hangs
        _wait_for(flag.exists)
        victim = procs[0]
        os.kill(victim.pid, signal.SIGKILL)
        victim.join(10)
        assert victim.exitcode == -signal.SIGKILL
        # nothing partial: the master row and its parts were never committed
        assert len(Master & "k=2") == 0 and len(Master.Piece & "k=2") == 0
        jobs = populate_schema.jobs
        assert len(jobs & 'status="reserved"') == 1
        _wait_for(lambda: len(jobs.stale) == 1)  # the server notices the closed socket
        result = Master.populate(reserve_jobs=True)
        assert result.summary.stale_cleared == 1
        assert result["success_count"] == 3  # keys 2, 3 and 4
        assert len(Master()) == 5 and len(Master.Piece()) == 15 and len(jobs) == 0
        assert calls(side, "master") == {0: 1, 1: 1, 2: 2, 3: 1, 4: 1}


def _dead_pid() -> int:
    p = ctx.Process(target=os._exit, args=(0,))
    p.start()
    p.join()
    return int(p.pid)


def test_stale_rule_takes_over_dead_workers_only(populate_schema):
    conn = populate_schema.connection
    fill(3)
    jobs = populate_schema.jobs
    other = dj.Connection(conn.url)  # a live worker elsewhere
    dead = _dead_pid()
    host = platform.node()
    base = dict(table_name=Out.table_name, status="reserved", user=conn.get_user(), host=host)
    jobs.insert1(dict(base, key_hash=key_hash({"k": 0}), key={"k": 0}, pid=dead, connection_id=2**40))
    jobs.insert1(dict(base, key_hash=key_hash({"k": 1}), key={"k": 1}, pid=os.getpid(),
                      connection_id=other.connection_id))
    if conn.backend.name == "sqlite":  # another host's pid cannot be judged from here
        jobs.insert1(dict(base, key_hash=key_hash({"k": 2}), key={"k": 2}, pid=dead, host="elsewhere",
                          connection_id=dead))
    live_owner = {"sqlite": 1, "postgresql": 1, "mysql": 1}[conn.backend.name]
    assert len(jobs.stale) == 1
    result = Out.populate(reserve_jobs=True)
    s = result.summary
    assert s.stale_cleared == 1 and s.succeeded == 3 - live_owner - (conn.backend.name == "sqlite")
    assert s.reserved_elsewhere == live_owner + (conn.backend.name == "sqlite")
    assert jobs.clear_stale() == 0
    other.close()


def test_processes_run_each_key_once_and_parent_keeps_working(populate_schema, tmp_path, monkeypatch):
    fill(40)
    monkeypatch.setenv(FAIL_ENV, "7")
    with side_database(tmp_path) as side:
        result = Out.populate(processes=2, reserve_jobs=True, suppress_errors=True, display_progress=False)
        made = calls(side, "out")
        pids = {pid for _, _, pid in call_rows(side)}
    assert result["success_count"] == 39 and [k for k, _ in result["error_list"]] == [{"k": 7}]
    assert result["error_list"][0][1].startswith("ValueError: bad input for k=7")
    assert len(made) == 40 and set(made.values()) == {1}
    # the pool decides how keys are spread: under load one worker may take all 40 of them
    assert 1 <= len(pids) <= 2 and os.getpid() not in pids
    assert len(Out()) == 39  # the parent's connection reopened after the pool
    assert (populate_schema.jobs & 'status="error"').fetch1("key") == {"k": 7}
    with pytest.raises(ValueError, match="bad input for k=7"):
        Out.populate(processes=2)


def test_processes_keyboard_interrupt_in_a_worker_stops_populate(populate_schema, monkeypatch):
    fill(6)
    original = Out.make

    def make(self, key):
        if key["k"] == 1:
            raise KeyboardInterrupt
        original(self, key)

    monkeypatch.setattr(Out, "make", make)
    with pytest.raises(KeyboardInterrupt):
        Out.populate(processes=2, reserve_jobs=True)
    jobs = populate_schema.jobs
    row = (jobs & {"key_hash": key_hash({"k": 1})}).fetch1()
    assert row["error_message"].startswith("KeyboardInterrupt")
    # the other worker was stopped too: its make (if one ran) was recorded, or its reservation is stale
    reserved = jobs & 'status="reserved"'
    _wait_for(lambda: len(reserved.stale) == len(reserved))
