"""A smoke run of benchmarks/bench_blob_db.py (size T, SQLite, local store): every workload runs,
and the docs section and the JSON are written.

Nothing here asserts on a duration; the figures are for reading (docs/benchmarks.md).
"""

from __future__ import annotations

import importlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

BENCH_DIR = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.fixture(scope="module")
def bench() -> Iterator[ModuleType]:
    sys.path.insert(0, str(BENCH_DIR))
    try:
        yield importlib.import_module("bench_blob_db")
    finally:
        sys.path.remove(str(BENCH_DIR))


def test_bench_blob_db_runs_every_workload(bench: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    page = tmp_path / "benchmarks.md"
    page.write_text("# B\n\n<!-- bench_blob_db:start -->\nold\n<!-- bench_blob_db:end -->\n\nkept\n")
    monkeypatch.setattr(bench, "DOCS_PAGE", page)
    out_json = tmp_path / "blob_db.json"
    ms = bench.main(["--backends", "sqlite", "--size", "T", "--repeat", "1", "--warmup", "0", "--stores", "local",
                     "--write-docs", "--json", str(out_json)])
    assert [m.workload.split(".")[0] for m in ms] == ["1a", "1b", "2a", "2b", "3a", "3b"]
    assert all(m.labjoin.median > 0 and m.ratio is not None for m in ms)
    assert [m.target for m in ms] == [1.5, 1.5, None, None, None, None]
    text = page.read_text()
    assert "old" not in text and "kept" in text and "| 1a. insert1 4 MB float64 array" in text
    assert json.loads(out_json.read_text())["script"] == "bench_blob_db.py"
    assert "labjoin ÷ raw" in capsys.readouterr().out
