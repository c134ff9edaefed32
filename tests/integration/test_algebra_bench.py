"""A smoke run of benchmarks/bench_algebra.py: every workload runs on every backend, the report and
its docs section are written, and the benchmark schema is dropped. No assertion on a duration."""

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
def bench_algebra() -> Iterator[ModuleType]:
    sys.path.insert(0, str(BENCH_DIR))
    try:
        yield importlib.import_module("bench_algebra")
    finally:
        sys.path.remove(str(BENCH_DIR))


def test_bench_algebra_writes_its_report(bench_algebra: ModuleType, tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    page = tmp_path / "benchmarks.md"
    page.write_text("# B\n\n<!-- bench_algebra:start -->\nSTALE\n<!-- bench_algebra:end -->\n\nkept\n")
    monkeypatch.setattr(bench_algebra, "DOCS_PAGE", page)
    out = tmp_path / "algebra.json"
    ms = bench_algebra.main(["--backends", "sqlite", "--size", "T", "--repeat", "1", "--warmup", "0",
                             "--write-docs", "--json", str(out)])
    assert [m.workload.split(".")[0] for m in ms] == ["1a", "1b", "1c", "2a", "2b"]
    assert all(m.ratio is not None for m in ms if m.workload.startswith("2"))
    text = page.read_text()
    assert "STALE" not in text and "kept" in text and "| 1b. build + compile, cold" in text
    assert len(json.loads(out.read_text())["measurements"]) == len(ms)


def test_bench_algebra_runs_on_every_backend_and_drops_its_schema(bench_algebra: ModuleType,
                                                                  backend: dj.Connection) -> None:
    name = f"algebra_bench_{uuid.uuid4().hex[:8]}"

    def timer(fns: dict, setup: object = None, **kw: object) -> dict:
        return bench_algebra.compare(fns, setup=setup, repeat=1, warmup=0, **kw)

    with dj.config(safemode=False):
        ms = bench_algebra.run_backend(backend, 300, timer, lambda step: None, schema_name=name)
    assert len(ms) == 5  # the join returned the same rows through labjoin and by hand, or it raised
    assert name not in dj.list_schemas(backend)
