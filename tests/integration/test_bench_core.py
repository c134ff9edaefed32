"""A smoke run of benchmarks/bench_core.py: every workload runs on every backend, the report and
the docs section are written, and the benchmark schema is dropped afterwards.

Nothing here asserts on a duration; the figures are for reading (docs/benchmarks.md), not for CI.
"""

from __future__ import annotations

import importlib
import json
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

import labjoin as dj

BENCH_DIR = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.fixture(scope="module")
def bench_core() -> Iterator[ModuleType]:
    sys.path.insert(0, str(BENCH_DIR))
    try:
        yield importlib.import_module("bench_core")
    finally:
        sys.path.remove(str(BENCH_DIR))


# -- workloads ------------------------------------------------------------------------------------
def test_bench_core_runs_every_workload_and_writes_its_outputs(
        bench_core: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    page = tmp_path / "benchmarks.md"
    page.write_text("# B\n\n<!-- bench_core:start -->\nold\n<!-- bench_core:end -->\n\nkept\n")
    monkeypatch.setattr(bench_core, "DOCS_PAGE", page)
    out_json = tmp_path / "core.json"
    ms = bench_core.main(["--backends", "sqlite", "--size", "T", "--repeat", "1", "--warmup", "0",
                          "--write-docs", "--json", str(out_json)])
    workloads = [m.workload.split(".")[0] for m in ms]
    assert workloads == ["1", "2a", "2b", "3", "4a", "4b", "5a", "5b"]
    assert all(m.labjoin.median > 0 for m in ms)
    assert all(m.ratio is not None for m in ms if not m.workload.startswith("5"))
    text = page.read_text()
    assert "old" not in text and "kept" in text
    assert "SQLite 3." in text and "| 3. restricted join" in text
    data = json.loads(out_json.read_text())
    assert data["size"] == "T" and len(data["measurements"]) == len(ms)
    assert "labjoin ÷ raw" in capsys.readouterr().out


def test_bench_core_drops_its_schema(bench_core: ModuleType, backend: dj.Connection) -> None:
    """On every backend: the workloads run and leave no schema behind (also the query of
    workload 5 runs, and the join returns the same rows through labjoin and raw SQL).
    """
    name = f"bench_test_{uuid.uuid4().hex[:8]}"
    one_run = {"repeat": 1, "warmup": 0}

    def timer(fns: dict, setup: object = None) -> dict:
        return bench_core.compare(fns, setup=setup, **one_run)

    with dj.config(safemode=False):
        ms = bench_core.run_backend(backend, 500, timer, lambda step: None, schema_name=name)
    assert len(ms) == (9 if backend.backend.name == "postgresql" else 8)  # two insert anchors on PG
    assert name not in dj.list_schemas(backend)
