"""The benchmark harness (benchmarks/_harness.py).

Nothing here asserts on a duration: the timing helpers are driven by a fake clock.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

import labjoin as dj
from labjoin import errors

BENCH_DIR = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.fixture(scope="module")
def harness() -> Iterator[ModuleType]:
    sys.path.insert(0, str(BENCH_DIR))
    try:
        yield importlib.import_module("_harness")
    finally:
        sys.path.remove(str(BENCH_DIR))


class FakeClock:
    """Advances by a scripted amount at every second reading (the stop of a timed run)."""

    def __init__(self, durations: list[float]) -> None:
        self.durations = iter(durations)
        self.now = 0.0
        self.reads = 0

    def __call__(self) -> float:
        self.reads += 1
        if self.reads % 2 == 0:
            self.now += next(self.durations)
        return self.now


# -- timing ---------------------------------------------------------------------------------------
def test_compare_interleaves_runs_and_drops_warmups(harness: ModuleType) -> None:
    calls: list[str] = []
    setups: list[int] = []
    # warm-up round: a=100, b=200 (dropped); timed rounds: a=1,2,3 and b=10,20,30
    clock = FakeClock([100, 200, 1, 10, 2, 20, 3, 30])
    timings = harness.compare({"a": lambda: calls.append("a"), "b": lambda: calls.append("b")},
                              setup=lambda: setups.append(1), repeat=3, warmup=1, clock=clock)
    assert calls == ["a", "b"] * 4  # round-robin, warm-up included
    assert len(setups) == 8  # before every run, warm-up included
    assert timings["a"].runs == (1, 2, 3)
    assert timings["b"].runs == (10, 20, 30)
    assert timings["b"].median == 20
    assert timings["b"].best == 10


def test_measure_is_compare_with_one_contender(harness: ModuleType) -> None:
    t = harness.measure(lambda: None, repeat=2, warmup=0, clock=FakeClock([4, 6]))
    assert t.runs == (4, 6)
    assert t.median == 5
    assert t.spread == pytest.approx(0.4)


@pytest.mark.parametrize(("repeat", "warmup"), [(0, 1), (1, -1)])
def test_compare_rejects_bad_counts(harness: ModuleType, repeat: int, warmup: int) -> None:
    with pytest.raises(errors.ConfigError, match="must be at least"):
        harness.compare({"a": lambda: None}, repeat=repeat, warmup=warmup)


def test_measurement_ratio_and_target(harness: ModuleType) -> None:
    T = harness.Timing
    m = harness.Measurement("w", "sqlite", T((2.0, 2.0)), 100, raw=T((1.0,)), target=1.3)
    assert m.ratio == 2.0
    assert m.meets_target is False
    m.labjoin = T((1.2,))
    assert m.meets_target is True
    assert harness.Measurement("w", "sqlite", T((1.0,)), 1).ratio is None


def test_ratio_pairs_runs_of_the_same_round(harness: ModuleType) -> None:
    T = harness.Timing
    # Round 2 ran under load on both sides: the paired ratios are 2, 2 and 1 (median 2), while
    # the ratio of the medians would be 6 / 5.
    m = harness.Measurement("w", "pg", T((1.0, 10.0, 6.0)), 1, raw=T((0.5, 5.0, 6.0)))
    assert m.ratio == pytest.approx(2.0)
    unpaired = harness.Measurement("w", "pg", T((2.0, 8.0, 4.0)), 1, raw=T((1.0, 3.0)))
    assert unpaired.ratio == pytest.approx(4.0 / 2.0)
    assert harness.Measurement("w", "sqlite", T((1.0,)), 1, raw=T((1.0,))).meets_target is None


# -- formatting -----------------------------------------------------------------------------------
@pytest.mark.parametrize(("seconds", "text"), [(3.2e-6, "3.2 µs"), (0.041, "41.0 ms"), (1.254, "1.25 s")])
def test_format_duration(harness: ModuleType, seconds: float, text: str) -> None:
    assert harness.format_duration(seconds) == text


def test_format_rate(harness: ModuleType) -> None:
    assert harness.format_rate(100_000, 0.5, "rows") == "200k rows/s"
    assert harness.format_rate(2_000_000, 1.0, "rows") == "2.00 M rows/s"
    assert harness.format_rate(10, 1.0, "rows") == "10 rows/s"
    assert harness.format_rate(1000, 0.5, "ops") == "500.0 µs/op"


def test_markdown_table_aligns_and_escapes(harness: ModuleType) -> None:
    text = harness.markdown_table(["name", "n"], [["a|b", 1], ["c", 1000]], align="lr")
    lines = text.splitlines()
    assert lines[0] == "| name |    n |"
    assert lines[1] == "| ---- | ---: |"
    assert lines[2] == "| a\\|b |    1 |"
    assert lines[3] == "| c    | 1000 |"


def test_markdown_table_rejects_ragged_rows(harness: ModuleType) -> None:
    with pytest.raises(errors.ConfigError, match="2 columns"):
        harness.markdown_table(["a", "b"], [["only one"]])
    with pytest.raises(errors.ConfigError, match="align"):
        harness.markdown_table(["a", "b"], [], align="l")


def test_measurements_table_shows_ratio_and_verdict(harness: ModuleType) -> None:
    T = harness.Timing
    ms = [harness.Measurement("1. insert", "sqlite", T((0.2,)), 1000, "rows", "executemany", T((0.1,)), 1.3),
          harness.Measurement("5. build", "mysql", T((0.01,)), 100, "ops")]
    text = harness.measurements_table(ms)
    assert f"2.00{harness.TIMES}" in text and f"≤ 1.3{harness.TIMES} ✗" in text
    assert "100.0 µs/op" in text
    assert text.count("\n") == 3


# -- docs page ------------------------------------------------------------------------------------
def test_write_docs_section_rewrites_only_its_own_section(harness: ModuleType, tmp_path: Path) -> None:
    page = tmp_path / "benchmarks.md"
    page.write_text("# B\n\nintro\n\n<!-- one:start -->\nold one\n<!-- one:end -->\n\nhand text\n\n"
                    "<!-- two:start -->\nold two\n<!-- two:end -->\n")
    harness.write_docs_section(page, "one", "new one\n")
    text = page.read_text()
    assert "<!-- one:start -->\nnew one\n<!-- one:end -->" in text
    assert "old one" not in text
    assert "old two" in text and "hand text" in text and "intro" in text
    harness.write_docs_section(page, "one", "newer")  # idempotent structure
    assert page.read_text().count("<!-- one:start -->") == 1


def test_write_docs_section_appends_a_missing_section(harness: ModuleType, tmp_path: Path) -> None:
    page = tmp_path / "benchmarks.md"
    page.write_text("# B\n")
    harness.write_docs_section(page, "three", "body", title="Three (`bench_three.py`)")
    assert page.read_text() == "# B\n\n## Three (`bench_three.py`)\n\n<!-- three:start -->\nbody\n<!-- three:end -->\n"


@pytest.mark.parametrize("text", ["<!-- one:start -->\n", "<!-- one:end -->\n<!-- one:start -->\n",
                                  "<!-- one:start -->\n<!-- one:end -->\n<!-- one:end -->\n"])
def test_write_docs_section_refuses_broken_markers(harness: ModuleType, tmp_path: Path, text: str) -> None:
    page = tmp_path / "benchmarks.md"
    page.write_text(text)
    with pytest.raises(errors.ConfigError, match="markers"):
        harness.write_docs_section(page, "one", "body")
    assert page.read_text() == text  # left untouched


def test_the_real_page_has_the_core_markers(harness: ModuleType) -> None:
    text = harness.DOCS_PAGE.read_text()
    assert text.count("<!-- bench_core:start -->") == 1
    assert text.index("<!-- bench_core:start -->") < text.index("<!-- bench_core:end -->")


# -- command line and machine ---------------------------------------------------------------------
def test_parse_args_defaults_and_aliases(harness: ModuleType) -> None:
    args = harness.parse_args("x", [])
    assert args.backends == ["sqlite", "postgresql", "mysql"]
    assert (args.size, args.rows, args.repeat, args.warmup) == ("S", 10_000, 5, 1)
    args = harness.parse_args("x", ["--backends", "pg, sqlite,pg", "--size", "M"])
    assert args.backends == ["postgresql", "sqlite"]
    assert args.rows == 100_000
    assert "--backends postgresql,sqlite --size M" in harness.command_line("bench_core.py", args)


@pytest.mark.parametrize("argv", [["--backends", "oracle"], ["--size", "XL"], ["--repeat", "0"]])
def test_parse_args_rejects_bad_options(harness: ModuleType, argv: list[str]) -> None:
    with pytest.raises(SystemExit):
        harness.parse_args("x", argv)


def test_machine_description_names_cpu_python_and_database(harness: ModuleType, tmp_path: Path) -> None:
    conn = dj.Connection(f"sqlite:///{tmp_path / 'm.sqlite'}")
    desc = harness.machine_description({"sqlite": conn})
    assert desc["Python"].count(".") == 2
    assert "logical CPUs" in desc["CPU"]
    assert desc["Database (sqlite)"].startswith("SQLite 3.")
    assert "numpy" in desc["Libraries"]
    assert harness.machine_markdown(desc).startswith("- **CPU**: ")
    conn.close()
