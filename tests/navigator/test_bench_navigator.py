"""A smoke run of benchmarks/bench_navigator.py on SQLite at the smallest size: every page it times
answers, the report has a line per page, and its schemas are dropped. No duration is asserted."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

import labjoin as dj

BENCH_DIR = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.fixture
def bench() -> Iterator[ModuleType]:
    sys.path.insert(0, str(BENCH_DIR))
    try:
        yield importlib.import_module("bench_navigator")
    finally:
        sys.path.remove(str(BENCH_DIR))


def test_bench_navigator_runs(bench: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bench, "N_MICE", 6)  # a small lab: the smoke run checks the pages, not their speed
    monkeypatch.setattr(bench, "N_DAYS", 5)
    conn = dj.Connection(f"sqlite:///{tmp_path / 'b.sqlite'}")
    with dj.config(safemode=False):
        rows = bench.run_backend(conn, 1000, repeat=1, warmup=1, log=lambda _: None)
    assert len(rows) == 11 and {r[1] for r in rows} == {"sqlite"}
    assert all(r[2].endswith(("ms", "µs", "s")) for r in rows)
    assert not [s for s in dj.list_schemas(conn) if s.startswith("navigator_bench_")]
    conn.close()
