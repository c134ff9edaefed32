"""populate(executor=...): a process pool and a real dask.distributed LocalCluster.

Plain makes run whole in the executor's workers (own connections); tripartite makes send only
make_compute there and insert in the caller, with the inputs checked again.
"""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import pytest
from test_populate_support import (
    CALLS_ENV,
    FAIL_ENV,
    Out,
    Steps,
    call_rows,
    calls,
    fill,
    schema_for,
    set_env,
    side_database,
)

from labjoin import errors


@pytest.fixture
def populate_schema(backend):
    yield from schema_for(backend)


@pytest.fixture(scope="module")
def dask_client():
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                       silence_logs=50)
    client = distributed.Client(cluster)
    yield client
    client.close()
    cluster.close()


def test_process_pool_runs_plain_make_in_workers(populate_schema, tmp_path, monkeypatch):
    fill(12)
    monkeypatch.setenv(FAIL_ENV, "5")
    with side_database(tmp_path) as side, ProcessPoolExecutor(2) as pool:
        result = Out.populate(executor=pool, reserve_jobs=True, suppress_errors=True)
        rows = call_rows(side)
    assert result["success_count"] == 11
    [(key, message)] = result["error_list"]
    assert key == {"k": 5} and message.startswith("ValueError: bad input")
    assert {pid for _, _, pid in rows} - {os.getpid()}, "make did not run in the pool"
    assert os.getpid() not in {pid for _, _, pid in rows}
    assert len(Out()) == 11 and (populate_schema.jobs & 'status="error"').fetch1("key") == {"k": 5}
    monkeypatch.delenv(FAIL_ENV)
    with ProcessPoolExecutor(2) as pool:
        assert Out.populate(executor=pool, reserve_jobs=True)["success_count"] == 0  # the error row stays
        populate_schema.jobs.delete()
        assert Out.populate(executor=pool)["success_count"] == 1


def test_process_pool_errors_are_raised_in_the_caller(populate_schema, monkeypatch):
    fill(4)
    monkeypatch.setenv(FAIL_ENV, "2")
    with ProcessPoolExecutor(2) as pool, pytest.raises(ValueError, match="bad input for k=2"):
        Out.populate(executor=pool)


def test_tripartite_compute_runs_remotely_and_inserts_here(populate_schema, tmp_path, monkeypatch):
    fill(8)
    with side_database(tmp_path) as side, ProcessPoolExecutor(2) as pool:
        result = Steps.populate(executor=pool, reserve_jobs=True)
        compute_pids = {pid for tbl, _, pid in call_rows(side) if tbl == "steps"}
    assert result["success_count"] == 8 and os.getpid() not in compute_pids
    assert sorted(Steps.fetch("total")) == [3.0 + k for k in range(8)]
    assert len(populate_schema.jobs) == 0


def test_tripartite_remote_compute_detects_changed_inputs(populate_schema, monkeypatch):
    fill(3)
    conn = populate_schema.connection

    class Changing(ThreadPoolExecutor):
        """Changes k=1's input while its make_compute is out on the executor."""

        def submit(self, fn, *args, **kwargs):
            if args and args[1] == {"k": 1}:
                with conn.transaction:
                    conn.query(f"UPDATE {conn.backend.qtable(populate_schema.database, 'src')} SET "
                               f"{conn.backend.qident('x')} = 50 WHERE {conn.backend.qident('k')} = 1")
            return super().submit(fn, *args, **kwargs)

    with Changing(2) as ex:
        result = Steps.populate(executor=ex, suppress_errors=True)
    assert result["success_count"] == 2
    assert "changed while make_compute ran" in result["error_list"][0][1]
    assert len(Steps & "k=1") == 0


def test_executor_argument_checks(populate_schema):
    fill(2)
    with pytest.raises(errors.PopulateError, match="submit"):
        Out.populate(executor=object())
    with pytest.raises(errors.PopulateError, match="not both"):
        Out.populate(executor=ThreadPoolExecutor(1), processes=2)


def test_dask_local_cluster(populate_schema, tmp_path, dask_client):
    fill(30)
    with side_database(tmp_path) as side:
        dask_client.run(set_env, CALLS_ENV, str(side))  # the workers started earlier
        result = Out.populate(executor=dask_client, reserve_jobs=True)
        steps = Steps.populate(executor=dask_client)
        made = calls(side, "out")
        pids = {pid for _, _, pid in call_rows(side)}
    assert result["success_count"] == 30 and steps["success_count"] == 30
    assert len(made) == 30 and set(made.values()) == {1}
    assert os.getpid() not in pids and len(pids) >= 1
    assert sorted(Out.fetch("y")) == [2.0 * k for k in range(30)]
    assert len(populate_schema.jobs) == 0
