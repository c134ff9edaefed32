"""Shared helpers for the benchmark scripts: timing, backends, machine description, reports.

Every benchmark script in this directory follows the same pattern::

    args = parse_args(__doc__)
    with open_backends(args.backends) as conns:
        ...measurements = [Measurement(...), ...]
    report = markdown_table(...)
    if args.write_docs:
        write_docs_section(DOCS_PAGE, "bench_core", section_text)

Timings are medians of ``repeat`` runs after ``warmup`` untimed runs, so one slow run (a page
cache miss, a checkpoint on the server) does not move the figure. labjoin and the raw driver are
measured in the same process, on the same connection settings, in the same run, and a benchmark
reports their ratio: absolute times differ between machines, ratios much less.

Misuse (a bad option value, a malformed results page) raises labjoin's ``ConfigError``.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import gc
import importlib.metadata
import json
import os
import platform
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from labjoin.errors import ConfigError

REPO = Path(__file__).resolve().parents[1]
DOCS_PAGE = REPO / "docs" / "benchmarks.md"

BACKENDS = ("sqlite", "postgresql", "mysql")
SERVER_URLS = {
    "postgresql": os.environ.get("LABJOIN_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"),
    "mysql": os.environ.get("LABJOIN_BENCH_MYSQL_URL", "mysql://root@127.0.0.1:3306"),
}
# T is for smoke tests of the scripts themselves; S runs in seconds (CI), M is what the docs
# report, L is for a developer with time to spare.
TIMES = "\u00d7"  # the multiplication sign, spelt out so linters do not take it for an x
SIZES = {"T": 1_000, "S": 10_000, "M": 100_000, "L": 1_000_000}

__all__ = [
    "BACKENDS",
    "DOCS_PAGE",
    "SIZES",
    "Measurement",
    "Timing",
    "command_line",
    "compare",
    "format_duration",
    "format_rate",
    "machine_description",
    "machine_markdown",
    "markdown_table",
    "measure",
    "measurements_table",
    "open_backends",
    "parse_args",
    "write_docs_section",
    "write_json",
]


# -- timing ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Timing:
    """Wall-clock seconds of each timed run of one workload."""

    runs: tuple[float, ...]

    @property
    def median(self) -> float:
        return statistics.median(self.runs)

    @property
    def best(self) -> float:
        return min(self.runs)

    @property
    def spread(self) -> float:
        """(max - min) / median: how noisy the runs were."""
        return (max(self.runs) - min(self.runs)) / self.median if self.median > 0 else 0.0


def compare(fns: dict[str, Callable[[], object]], *, setup: Callable[[], object] | None = None,
            repeat: int = 5, warmup: int = 1, clock: Callable[[], float] = time.perf_counter
            ) -> dict[str, Timing]:
    """Time several functions doing the same work, interleaved run by run.

    Round-robin order (a, b, a, b, ...) means that a change in machine load (other processes, a
    checkpoint on the database server) affects every contender alike, so their ratio stays
    meaningful on a busy machine even when absolute times drift.

    Parameters
    ----------
    fns:
        The contenders by name. A function's return value is kept until the clock stops, so
        building a result that is then thrown away is part of the cost (as it is for a user).
    setup:
        Called before every run (warm-up or timed), outside the clock: for example emptying the
        table an insert writes to.
    repeat, warmup:
        Number of timed and untimed runs of each function.
    clock:
        The clock (a parameter so tests can count calls without timing anything).

    Returns
    -------
    dict[str, Timing]
        The seconds of each timed run, by name.
    """
    if repeat < 1:
        raise ConfigError(f"repeat must be at least 1, not {repeat}")
    if warmup < 0:
        raise ConfigError(f"warmup must be at least 0, not {warmup}")
    runs: dict[str, list[float]] = {name: [] for name in fns}
    for i in range(warmup + repeat):
        for name, fn in fns.items():
            if setup is not None:
                setup()
            # Collect the previous run's garbage outside the clock, so no run is charged for
            # its predecessor's allocations.
            gc.collect()
            t0 = clock()
            result = fn()
            dt = clock() - t0
            del result
            if i >= warmup:
                runs[name].append(dt)
    return {name: Timing(tuple(r)) for name, r in runs.items()}


def measure(fn: Callable[[], object], *, setup: Callable[[], object] | None = None, repeat: int = 5,
            warmup: int = 1, clock: Callable[[], float] = time.perf_counter) -> Timing:
    """Time one function: ``warmup`` untimed runs, then ``repeat`` timed ones (see `compare`)."""
    return compare({"fn": fn}, setup=setup, repeat=repeat, warmup=warmup, clock=clock)["fn"]


@dataclass
class Measurement:
    """One line of a report: labjoin against one raw-driver anchor on one backend.

    ``count`` is the number of rows (``unit='rows'``) or operations (``unit='ops'``) one run
    handles; it turns times into rates. ``raw`` is None when there is no raw anchor (query
    building), and ``target`` is the largest acceptable labjoin/raw ratio, if there is one.
    """

    workload: str
    backend: str
    labjoin: Timing
    count: int
    unit: str = "rows"
    anchor: str = ""
    raw: Timing | None = None
    target: float | None = None
    notes: dict[str, Any] = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        """labjoin time over raw time: the median of the per-round ratios.

        `compare` runs the contenders round by round, so run i of labjoin and run i of the raw
        path happened next to each other under the same machine load. The median of their ratios
        is steadier on a busy machine than the ratio of the two medians (used when the numbers of
        runs differ).
        """
        if self.raw is None or min(self.raw.runs) <= 0:
            return None
        if len(self.labjoin.runs) == len(self.raw.runs):
            return statistics.median(a / b for a, b in zip(self.labjoin.runs, self.raw.runs))
        return self.labjoin.median / self.raw.median

    @property
    def meets_target(self) -> bool | None:
        ratio = self.ratio
        if self.target is None or ratio is None:
            return None
        return ratio <= self.target


# -- formatting -----------------------------------------------------------------------------------
def format_duration(seconds: float) -> str:
    """A duration with a unit chosen for readability: ``3.2 µs``, ``41.0 ms``, ``1.25 s``."""
    if seconds < 1e-3:
        return f"{seconds * 1e6:.1f} µs"
    if seconds < 1:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds:.2f} s"


def format_rate(count: int, seconds: float, unit: str) -> str:
    """``286k rows/s`` for row workloads, ``412 µs/op`` for per-operation workloads."""
    if unit == "ops":
        return f"{format_duration(seconds / count)}/op"
    rate = count / seconds if seconds > 0 else float("inf")
    if rate >= 1e6:
        return f"{rate / 1e6:.2f} M {unit}/s"
    if rate >= 1e3:
        return f"{rate / 1e3:.0f}k {unit}/s"
    return f"{rate:.0f} {unit}/s"


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[object]],
                   align: str | None = None) -> str:
    """A GitHub-flavoured markdown table; ``align`` has one of ``l``/``r`` per column."""
    if align is not None and len(align) != len(headers):
        raise ConfigError(f"align has {len(align)} letters but there are {len(headers)} columns")
    cells = [[str(c).replace("|", "\\|") for c in row] for row in rows]
    for row in cells:
        if len(row) != len(headers):
            raise ConfigError(f"a row has {len(row)} cells but there are {len(headers)} columns: {row}")
    widths = [max([len(h), *(len(r[i]) for r in cells)]) for i, h in enumerate(headers)]
    align = align or "l" * len(headers)
    rule = ["-" * (w - 1) + ":" if a == "r" else "-" * w for w, a in zip(widths, align)]

    def line(values: Sequence[str]) -> str:
        padded = [v.rjust(w) if a == "r" else v.ljust(w) for v, w, a in zip(values, widths, align)]
        return "| " + " | ".join(padded) + " |"

    return "\n".join([line(list(headers)), line(rule), *(line(r) for r in cells)])


def measurements_table(measurements: Sequence[Measurement]) -> str:
    """The standard report: labjoin and raw medians, their ratio and the target."""
    rows = []
    for m in measurements:
        ratio = m.ratio
        verdict = {None: "", True: "✓", False: "✗"}[m.meets_target]
        rows.append([
            m.workload,
            m.backend,
            f"{format_duration(m.labjoin.median)} ({format_rate(m.count, m.labjoin.median, m.unit)})",
            m.anchor or "—",
            "—" if m.raw is None else
            f"{format_duration(m.raw.median)} ({format_rate(m.count, m.raw.median, m.unit)})",
            "—" if ratio is None else f"{ratio:.2f}{TIMES}",
            "" if m.target is None else f"≤ {m.target:g}{TIMES} {verdict}",
        ])
    return markdown_table(["Workload", "Backend", "labjoin", "Raw path", "Raw", "labjoin ÷ raw", "Target"],
                          rows, align="llrlrrl")


# -- backends -------------------------------------------------------------------------------------
def backend_url(name: str, workdir: Path) -> str:
    """The URL the benchmarks use for ``name``: a fresh SQLite file, or the configured server."""
    if name == "sqlite":
        return f"sqlite:///{workdir / 'bench.sqlite'}"
    if name in SERVER_URLS:
        return SERVER_URLS[name]
    raise ConfigError(f"unknown backend {name!r}; choose from {', '.join(BACKENDS)}")


@contextlib.contextmanager
def open_backends(names: Sequence[str]) -> Iterator[dict[str, Any]]:
    """Connections to each named backend, checked with a ping, closed (and the SQLite file
    removed) on exit. An unreachable server raises labjoin's BackendUnavailableError, whose message
    says how to fix it; pass ``--backends`` without that server to skip it.
    """
    import labjoin as dj

    workdir = Path(tempfile.mkdtemp(prefix="bench_"))
    conns: dict[str, Any] = {}
    try:
        for name in names:
            conn = dj.Connection(backend_url(name, workdir))
            conn.ping()
            conns[name] = conn
        yield conns
    finally:
        for conn in conns.values():
            conn.close()
        shutil.rmtree(workdir, ignore_errors=True)


def server_version(conn: Any) -> str:
    """The database engine and version behind a labjoin connection, read through the raw driver."""
    name = conn.backend.name
    if name == "sqlite":
        import sqlite3

        return f"SQLite {sqlite3.sqlite_version}"
    cur = conn.raw.cursor()
    cur.execute("SELECT version()")
    text = str(cur.fetchone()[0])
    cur.close()
    if name == "postgresql":
        return " ".join(text.split()[:2])  # "PostgreSQL 15.14"
    return ("MariaDB " if "mariadb" in text.lower() else "MySQL ") + text.split("-")[0]


# -- machine --------------------------------------------------------------------------------------
def _cpu_model() -> str:
    with contextlib.suppress(OSError):  # not Linux: fall back to what platform knows
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def _memory_gib() -> float | None:
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 2**20
    return None


def _load_average() -> str:
    # Other processes on the machine (other test suites, the servers' background work) add noise;
    # the load average says how busy it was.
    try:
        one, five, _ = os.getloadavg()
    except OSError:
        return "unknown"
    return f"{one:.2f} (1 min), {five:.2f} (5 min)"


def _version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def machine_description(conns: dict[str, Any] | None = None) -> dict[str, str]:
    """What the figures were measured on: CPU, memory, OS, Python, libraries and database servers."""
    mem = _memory_gib()
    desc = {
        "CPU": f"{_cpu_model()}, {os.cpu_count()} logical CPUs",
        "Memory": "unknown" if mem is None else f"{mem:.0f} GiB",
        "OS": platform.platform(),
        "Python": platform.python_version(),
        "Load average at start": _load_average(),
        "Libraries": ", ".join(f"{p} {_version(p)}" for p in
                               ("labjoin", "numpy", "pandas", "sqlalchemy", "psycopg", "pymysql")),
    }
    for name, conn in (conns or {}).items():
        desc[f"Database ({name})"] = server_version(conn)
    return desc


def machine_markdown(desc: dict[str, str]) -> str:
    return "\n".join(f"- **{k}**: {v}" for k, v in desc.items())


# -- command line ---------------------------------------------------------------------------------
def _backend_list(text: str) -> list[str]:
    names = [n.strip().lower() for n in text.split(",") if n.strip()]
    aliases = {"postgres": "postgresql", "pg": "postgresql", "mariadb": "mysql"}
    names = [aliases.get(n, n) for n in names]
    unknown = [n for n in names if n not in BACKENDS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown backend {unknown[0] if unknown else text!r}; use a comma-separated list of "
            f"{', '.join(BACKENDS)}"
        )
    return list(dict.fromkeys(names))


def parse_args(description: str | None, argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The options every benchmark script shares.

    ``--backends sqlite,postgresql,mysql``, ``--size T|S|M|L`` (rows: 1e3, 1e4, 1e5, 1e6),
    ``--repeat`` and ``--warmup`` (timed and untimed runs per workload), ``--write-docs``
    (rewrite this script's section of docs/benchmarks.md) and ``--json PATH`` (raw timings).
    """
    parser = argparse.ArgumentParser(description=description,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backends", type=_backend_list, default=list(BACKENDS),
                        help="comma-separated backends to run (default: sqlite,postgresql,mysql)")
    parser.add_argument("--size", choices=list(SIZES), default="S",
                        help="data size: T=1e3 (smoke test), S=1e4, M=1e5, L=1e6 rows (default: S)")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per workload; the median is reported")
    parser.add_argument("--warmup", type=int, default=1, help="untimed runs before the timed ones")
    parser.add_argument("--write-docs", action="store_true",
                        help=f"rewrite this script's section of {DOCS_PAGE.relative_to(REPO)}")
    parser.add_argument("--json", type=Path, default=None, help="also write every timing to this JSON file")
    args = parser.parse_args(argv)
    if args.repeat < 1 or args.warmup < 0:
        parser.error("--repeat must be at least 1 and --warmup at least 0")
    args.rows = SIZES[args.size]
    return args


def command_line(script: str, args: argparse.Namespace) -> str:
    """The command that reproduces a run (shown next to its figures)."""
    return (f"python benchmarks/{script} --backends {','.join(args.backends)} --size {args.size} "
            f"--repeat {args.repeat} --warmup {args.warmup}")


# -- output ---------------------------------------------------------------------------------------
def write_docs_section(path: Path, name: str, body: str, *, title: str | None = None) -> None:
    """Replace the text between ``<!-- name:start -->`` and ``<!-- name:end -->`` in ``path``.

    Everything outside the markers (other scripts' sections, hand-written text) is kept. When the
    markers are missing, a new section titled ``title`` (default: ``name``) is appended.
    """
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    n_start, n_end = text.count(start), text.count(end)
    block = f"{start}\n{body.strip()}\n{end}"
    if n_start == 0 and n_end == 0:
        text = text.rstrip("\n") + f"\n\n## {title or name}\n\n{block}\n"
    elif n_start == 1 and n_end == 1 and text.index(start) < text.index(end):
        before, rest = text.split(start, 1)
        after = rest.split(end, 1)[1]
        text = before + block + after
    else:
        raise ConfigError(
            f"{path} has {n_start} '{start}' and {n_end} '{end}' markers (start before end expected "
            "once each); fix the page by hand, then run the benchmark again"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def write_json(path: Path, script: str, args: argparse.Namespace, machine: dict[str, str],
               measurements: Sequence[Measurement]) -> None:
    """Every timed run of every measurement, for comparing runs with other tools."""
    records = []
    for m in measurements:
        rec = asdict(m)
        rec["ratio"] = m.ratio
        records.append(rec)
    payload = {
        "script": script,
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "size": args.size,
        "rows": args.rows,
        "repeat": args.repeat,
        "warmup": args.warmup,
        "machine": machine,
        "measurements": records,
    }
    path.write_text(json.dumps(payload, indent=2, default=str), encoding="utf-8")
