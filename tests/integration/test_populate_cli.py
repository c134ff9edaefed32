"""``labjoin worker`` and ``labjoin jobs`` through click's CliRunner, and the worker loop itself."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from test_populate_support import FAIL_ENV, Out, fill, schema_for

import labjoin.connection.connection as connection_module
from labjoin import errors
from labjoin.cli import cli
from labjoin.populate.jobs import key_hash
from labjoin.populate.worker import WorkerSettings, parse_duration, resolve_targets, run_worker


@pytest.fixture
def populate_schema(backend):
    previous = connection_module._default
    yield from schema_for(backend)
    connection_module.set_default_connection(previous)  # the CLI sets the default connection


def _events(output: str) -> list[dict]:
    return [json.loads(line) for line in output.splitlines() if line.startswith("{")]


def test_worker_once_logs_json_lines(populate_schema, monkeypatch):
    fill(7)
    monkeypatch.setenv(FAIL_ENV, "3")
    url = populate_schema.connection.url
    result = CliRunner().invoke(cli, ["worker", "test_populate_support.Out", "--url", url, "--once", "--batch", "4"])
    assert result.exit_code == 0, result.output
    events = _events(result.output)
    kinds = [e["event"] for e in events]
    assert kinds[0] == "worker_start" and kinds[-1] == "worker_stop" and "cycle_done" in kinds
    assert events[-1]["reason"] == "once" and events[-1]["succeeded"] == 6 and events[-1]["failed"] == 1
    [err] = [e for e in events if e["event"] == "make_error"]
    assert err["key"] == {"k": 3} and err["error"] == "ValueError: bad input for k=3"
    assert sum(e["succeeded"] for e in events if e["event"] == "populate") == 6
    assert all({"time", "worker"} <= set(e) for e in events)
    assert len(Out()) == 6


def test_worker_every_and_max_duration(populate_schema):
    fill(3)
    url = populate_schema.connection.url
    result = CliRunner().invoke(cli, ["worker", "test_populate_support.Out", "--url", url, "--every", "0.05",
                                      "--max-duration", "0.3s", "--no-reserve"])
    assert result.exit_code == 0, result.output
    events = _events(result.output)
    assert events[-1]["event"] == "worker_stop" and events[-1]["reason"] == "max_duration"
    assert sum(e["event"] == "cycle_done" for e in events) >= 2
    assert len(Out()) == 3 and len(populate_schema.jobs) == 0


def test_worker_loop_with_a_fake_clock(populate_schema):
    fill(2)
    now = [0.0]
    slept: list[float] = []
    log: list[tuple] = []

    def sleep(s: float) -> None:
        slept.append(s)
        now[0] += s

    status = run_worker([Out], WorkerSettings(every=600, max_duration=1500), log=lambda e, **f: log.append((e, f)),
                        clock=lambda: now[0], sleep=sleep)
    assert status == 0 and slept == [600, 600, 300]
    assert log[-1] == ("worker_stop", {"reason": "max_duration", "succeeded": 2, "failed": 0})


def test_worker_targets_and_durations(populate_schema):
    import test_populate_support as module

    assert set(resolve_targets(["test_populate_support"])) == {module.Out, module.Master, module.Steps,
                                                               module.GenSteps}
    assert resolve_targets(["test_populate_support.Out", "test_populate_support.Out"]) == [module.Out]
    with pytest.raises(errors.PopulateError, match="not an Imported or Computed"):
        resolve_targets(["test_populate_support.Src"])
    with pytest.raises(errors.PopulateError, match="Cannot import"):
        resolve_targets(["no_such_pipeline_module"])
    assert parse_duration("1h30m") == 5400 and parse_duration("10m") == 600 and parse_duration("2.5") == 2.5
    with pytest.raises(errors.ConfigError, match="Not a duration"):
        parse_duration("ten minutes")


def test_jobs_lists_reserved_and_errors_by_table(populate_schema, monkeypatch):
    fill(4)
    url = populate_schema.connection.url
    runner = CliRunner()
    assert "no reserved or error jobs" in runner.invoke(cli, ["jobs", populate_schema.database, "--url", url]).output
    monkeypatch.setenv(FAIL_ENV, "1,2")
    Out.populate(reserve_jobs=True, suppress_errors=True)
    jobs = populate_schema.jobs
    jobs.insert1(dict(table_name=Out.table_name, key_hash=key_hash({"k": 9}), status="reserved", key={"k": 9},
                      host="elsewhere", pid=4242))
    result = runner.invoke(cli, ["jobs", "--url", url, populate_schema.database])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == f"{populate_schema.database}.{Out.table_name}: 1 reserved, 2 error"
    errors_shown = [x for x in lines if x.strip().startswith("error")]
    assert len(errors_shown) == 2 and all("ValueError: bad input for k=" in x for x in errors_shown)
    assert not any("second line" in x for x in lines)  # only the first line of each message
    assert any(x.strip().startswith("reserved") and "k=9" in x and "elsewhere:4242" in x for x in lines)
    everywhere = runner.invoke(cli, ["jobs", "--url", url])
    assert f"{populate_schema.database}.{Out.table_name}" in everywhere.output
