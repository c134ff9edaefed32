"""populate on every backend: DataJoint 0.14 semantics, errors, interruption, tripartite make, overhead."""

from __future__ import annotations

import os
import re
import signal

import pytest
from test_populate_support import (
    FAIL_ENV,
    GenSteps,
    Master,
    Out,
    Src,
    Steps,
    calls,
    fill,
    schema_for,
    side_database,
)

from labjoin import errors
from labjoin.populate.jobs import key_hash


@pytest.fixture
def populate_schema(backend):
    yield from schema_for(backend)


@pytest.fixture
def failing(monkeypatch):
    def set_keys(*keys: int) -> None:
        monkeypatch.setenv(FAIL_ENV, ",".join(map(str, keys)))

    return set_keys


def test_populate_returns_datajoint_dict_and_summary(populate_schema):
    fill(5)
    assert Out.progress() == (5, 5)
    result = Out.populate()
    assert result == {"success_count": 5, "error_list": []}
    s = result.summary
    assert (s.succeeded, s.failed, s.skipped, s.reserved_elsewhere) == (5, 0, 0, 0)
    assert Out.progress() == (0, 5)
    assert sorted(Out.fetch("y")) == [0.0, 2.0, 4.0, 6.0, 8.0]
    assert Out.populate() == {"success_count": 0, "error_list": []}
    with pytest.raises(errors.DataJointError, match="auto-populated"):
        Out.insert1(dict(k=99, y=1.0))


def test_restrictions_order_limit_max_calls_keys(populate_schema):
    fill(10)
    assert Out.populate("k < 3")["success_count"] == 3
    assert Out.progress("k < 5") == (2, 5)
    assert Out.populate(order="reverse", max_calls=2)["success_count"] == 2
    assert set(Out.fetch("k")) == {0, 1, 2, 9, 8}
    assert Out.populate(limit=1)["success_count"] == 1  # limit: keys looked at
    assert Out.populate(keys=[{"k": 7}])["success_count"] == 1
    assert Out.populate(order="random")["success_count"] == 3
    with pytest.raises(errors.PopulateError, match="order"):
        Out.populate(order="sideways")
    with pytest.raises(errors.PopulateError, match="restricted"):
        (Out & "k=1").populate()
    with pytest.raises(errors.PopulateError, match="priorit"):
        Out.populate(priority=1)


def test_populate_refused_inside_transaction(populate_schema):
    conn = populate_schema.connection
    with conn.transaction, pytest.raises(errors.TransactionError, match="inside a transaction"):
        Out.populate()


def test_master_and_parts_commit_together_or_not_at_all(populate_schema, failing):
    fill(4)
    failing(2)
    result = Master.populate(suppress_errors=True)
    assert result["success_count"] == 3
    [(key, message)] = result["error_list"]
    assert key == {"k": 2} and message.startswith("RuntimeError: failed after inserting")
    assert len(Master & "k=2") == 0 and len(Master.Piece & "k=2") == 0
    assert len(Master.Piece()) == 9


def test_errors_raise_or_are_collected_and_recorded(populate_schema, failing):
    fill(4)
    failing(1, 3)
    with pytest.raises(ValueError, match="bad input for k=1"):
        Out.populate(reserve_jobs=True)
    jobs = populate_schema.jobs
    row = (jobs & {"key_hash": key_hash({"k": 1})}).fetch1()
    assert row["status"] == "error" and row["table_name"] == Out.table_name
    assert row["error_message"].startswith("ValueError: bad input for k=1")
    assert "Traceback" in row["error_stack"] and row["key"] == {"k": 1}
    # errored keys are left out of later reserved runs; suppress_errors records new ones and goes on
    result = Out.populate(reserve_jobs=True, suppress_errors=True)
    assert result["success_count"] == 1 and result.summary.blocked == 1
    assert [k for k, _ in result["error_list"]] == [{"k": 3}]
    assert len(jobs & 'status="error"') == 2 and len(jobs & 'status="reserved"') == 0
    objs = Out.populate(suppress_errors=True, return_exception_objects=True)["error_list"]
    assert [type(e) for _, e in objs] == [ValueError, ValueError]
    # retry: fix the cause, delete the error rows, populate again
    failing()
    assert (jobs & 'status="error"').delete() == 2
    assert Out.populate(reserve_jobs=True)["success_count"] == 2
    assert len(jobs) == 0 and len(Out()) == 4


def test_message_truncated_to_column(populate_schema, monkeypatch):
    fill(1)

    def make(self, key):
        raise ValueError("x" * 5000)

    monkeypatch.setattr(Out, "make", make)
    Out.populate(reserve_jobs=True, suppress_errors=True)
    message = populate_schema.jobs.fetch1("error_message")
    assert len(message) == 2047 and message.endswith("...truncated")


def test_ignore_rows_are_left_out(populate_schema):
    fill(3)
    assert populate_schema.jobs.ignore(Out.table_name, {"k": 0})
    assert not populate_schema.jobs.ignore(Out.table_name, {"k": 0})
    assert Out.populate(reserve_jobs=True)["success_count"] == 2
    assert Out.populate()["success_count"] == 1  # without reservation the job table is not read


def test_keyboard_interrupt_is_recorded_and_stops(populate_schema, monkeypatch):
    fill(6)
    original = Out.make

    def make(self, key):
        if key["k"] == 3:
            self.insert1(dict(key, y=0.0))
            raise KeyboardInterrupt
        original(self, key)

    monkeypatch.setattr(Out, "make", make)
    with pytest.raises(KeyboardInterrupt):
        Out.populate(reserve_jobs=True, suppress_errors=True)
    assert sorted(Out.fetch("k")) == [0, 1, 2]  # the interrupted make was rolled back
    jobs = populate_schema.jobs
    row = jobs.fetch1()
    assert row["status"] == "error" and row["error_message"].startswith("KeyboardInterrupt")
    assert not populate_schema.connection.in_transaction
    monkeypatch.setattr(Out, "make", original)
    jobs.delete()
    assert Out.populate(reserve_jobs=True)["success_count"] == 3


def test_sigterm_and_system_exit_are_reraised(populate_schema, monkeypatch):
    fill(3)

    def make(self, key):
        os.kill(os.getpid(), signal.SIGTERM)  # with reservation SIGTERM becomes SystemExit

    monkeypatch.setattr(Out, "make", make)
    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(SystemExit, match="SIGTERM"):
        Out.populate(reserve_jobs=True, suppress_errors=True)
    assert signal.getsignal(signal.SIGTERM) is before
    msg = populate_schema.jobs.fetch1("error_message")
    assert msg == "SystemExit: SIGTERM received"


def test_tripartite_make_and_changed_inputs(populate_schema, tmp_path, monkeypatch):
    fill(4)
    with side_database(tmp_path) as side:
        monkeypatch.setenv("LABJOIN_POPULATE_TEST_CHANGE", "2")
        result = Steps.populate(suppress_errors=True)
        assert result["success_count"] == 3
        [(key, message)] = result["error_list"]
        assert key == {"k": 2} and "changed while make_compute ran" in message
        assert len(Steps & "k=2") == 0
        assert (Src & "k=2").fetch1("x") == 102.0
        monkeypatch.delenv("LABJOIN_POPULATE_TEST_CHANGE")
        assert Steps.populate()["success_count"] == 1
        assert (Steps & "k=2").fetch1("total") == 105.0
        assert calls(side, "steps") == {0: 1, 1: 1, 2: 2, 3: 1}
    monkeypatch.setenv("LABJOIN_POPULATE_TEST_CHANGE", "1")
    with pytest.raises(errors.PopulateError, match="changed"):
        GenSteps.populate("k=1")
    monkeypatch.delenv("LABJOIN_POPULATE_TEST_CHANGE")
    assert GenSteps.populate()["success_count"] == 4
    assert sorted(GenSteps.fetch("total")) == [0.0, 30.0, 1010.0, 1020.0]  # k=1, 2 changed


def test_make_kwargs_and_missing_make(populate_schema, monkeypatch):
    fill(2)
    seen = []

    def make(self, key, scale=1):
        seen.append(scale)
        self.insert1(dict(key, y=scale))

    monkeypatch.setattr(Out, "make", make)
    Out.populate(make_kwargs={"scale": 7})
    assert seen == [7, 7]
    monkeypatch.delattr(Out, "make")
    with pytest.raises(errors.PopulateError, match="defines no make"):
        Out.populate()


def test_custom_key_source(populate_schema, monkeypatch):
    fill(6)
    monkeypatch.setattr(Out, "key_source", Src & "k >= 4", raising=False)
    assert Out.progress() == (2, 2)
    assert Out.populate()["success_count"] == 2
    monkeypatch.setattr(Out, "key_source", Src.proj(other="k"), raising=False)
    with pytest.raises(errors.PopulateError, match="lacks"):
        Out.populate()


def test_display_progress_prints_summary(populate_schema, capsys):
    fill(3)
    Out.populate(display_progress=True)
    captured = capsys.readouterr()
    assert "Out: 3 succeeded, 0 failed, 0 skipped, 0 reserved elsewhere" in captured.out
    assert "3/3" in captured.err  # the tqdm bar


CATALOG = re.compile(r"information_schema|pg_catalog|pg_attribute|pg_class|sqlite_master|PRAGMA|~labjoin_",
                     re.I)


@pytest.mark.parametrize(("reserve", "budget"), [(False, 4), (True, 7)])
def test_statements_per_key_are_bounded(populate_schema, monkeypatch, reserve, budget):
    """Guards against DataJoint 2.3.0's regression (59 catalog queries per key)."""
    conn = populate_schema.connection
    fill(60)

    def trivial(self, key):
        self.insert1(dict(key, y=1.0))

    monkeypatch.setattr(Out, "make", trivial)
    Out.populate(max_calls=1, reserve_jobs=reserve)  # declares ~jobs and warms the caches
    counts = []
    for n in (10, 30):
        seen: list[str] = []

        def tracer(sql, params, dt, seen=seen):
            seen.append(sql)

        with conn.trace(tracer):
            assert Out.populate(max_calls=n, reserve_jobs=reserve)["success_count"] == n
        counts.append(len(seen))
        assert not [s for s in seen if CATALOG.search(s)], "catalog queries while populating"
    per_key = (counts[1] - counts[0]) / 20
    assert per_key <= budget, f"{per_key} statements per key"
    assert per_key == (6 if reserve else 4)
