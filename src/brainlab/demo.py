"""The demo behind ``labjoin demo``: simulate a cohort, ingest it day by day, populate everything.

The full cohort is 2 labs x 6 mice x 40 days (about 300 sessions, a few ephys recordings);
``small`` is 1 lab x 1 mouse x 36 days with one short recording (for CI and a quick look). The
simulated data folder is reused when it holds the same simulation. The demo owns the schemas
under its prefix: it drops them first, so each run starts from an empty pipeline (pass
``keep=True`` to continue an existing run instead; ingestion is idempotent).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import labjoin as dj

from . import schemas, settings
from .simulate import SimulationConfig, simulate

__all__ = ["DemoResult", "demo_config", "describe", "run_and_report", "run_demo"]


def demo_config(small: bool = False) -> SimulationConfig:
    """The simulation the demo runs."""
    if small:
        return SimulationConfig(seed=1, labs=1, mice_per_lab=1, days=36, ephys_fraction=1.0,
                                non_learner_fraction=0.0, clusters_per_probe=(8, 12))
    return SimulationConfig(seed=1, labs=2, mice_per_lab=6, days=40)


@dataclass
class DemoResult:
    """What the demo made and where."""

    database: str
    data_dir: Path
    prefix: str
    seconds: dict[str, float] = field(default_factory=dict)
    rows: dict[str, dict[str, int]] = field(default_factory=dict)
    n_sessions: int = 0
    populate_errors: int = 0


def default_data_dir(small: bool) -> Path:
    """``<labjoin data directory>/brainlab-demo[-small]`` (next to the default SQLite file)."""
    from labjoin.settings import config, sqlite_path

    path = sqlite_path(config)
    base = path.parent if path is not None else Path.cwd()
    return base / ("brainlab-demo-small" if small else "brainlab-demo")


def _same_simulation(data_dir: Path, cfg: SimulationConfig) -> bool:
    manifest = data_dir / "manifest.json"
    if not manifest.exists():
        return False
    stored = json.loads(manifest.read_text())["summary"]["config"]
    wanted = cfg.to_json()
    wanted.pop("workers", None)
    return stored == wanted


def run_demo(url: str | None = None, data_dir: Path | None = None, small: bool = False, prefix: str | None = None,
             keep: bool = False, echo: Callable[[str], None] = print, progress: bool = True) -> DemoResult:
    """Run the demo; returns what was made (see the module docstring)."""
    from tqdm.auto import tqdm

    from .ingest.daily import run_daily, snapshots_in

    cfg = demo_config(small)
    data_dir = Path(data_dir) if data_dir else default_data_dir(small)
    conn = dj.Connection(url) if url else dj.conn()
    prefix = settings.schema_prefix() if prefix is None else prefix
    result = DemoResult(database=repr(conn), data_dir=data_dir, prefix=prefix)
    t0 = time.perf_counter()
    if _same_simulation(data_dir, cfg):
        echo(f"Using the simulated cohort in {data_dir}")
    else:
        echo(f"Simulating {cfg.labs} lab(s) x {cfg.mice_per_lab} mice x {cfg.days} days into {data_dir} ...")
        summary = simulate(data_dir, cfg, overwrite=(data_dir / "manifest.json").exists())
        echo(f"  {summary.n_sessions} sessions ({summary.n_ephys_sessions} ephys, {summary.n_probes} probes), "
             f"{summary.n_trials:,} trials, {summary.n_spikes:,} spikes, {summary.n_files:,} files")
    result.seconds["simulate"] = time.perf_counter() - t0
    if not keep:
        schemas.drop_all(schemas.Activation(prefix, conn))
    activation = schemas.activate(prefix=prefix, connection=conn)
    settings.set_data_root(data_dir)
    days = snapshots_in(data_dir)
    echo(f"Ingesting {len(days)} daily LIMS snapshots into {conn!r} (schemas {prefix}*), populating after each")
    t1 = time.perf_counter()
    bar = tqdm(days, desc="daily runs", unit="day", disable=not progress)
    for day, _ in bar:
        for _, res, report in run_daily(data_dir, dates=[day], backtrack_days=30):
            result.populate_errors += report.n_errors
            bar.set_postfix_str(f"{day} +{res.created} ~{res.modified} -{res.deleted}")
    result.seconds["ingest_and_populate"] = time.perf_counter() - t1
    result.rows = _counts(activation)
    from . import acquisition

    result.n_sessions = len(acquisition.Session)
    return result


def _counts(activation: schemas.Activation) -> dict[str, dict[str, int]]:
    """Rows per table, per schema."""
    out: dict[str, dict[str, int]] = {}
    for module in schemas.MODULES:
        schema = schemas._schemas[module]
        counts = {}
        for cls in schema:
            counts[cls.__name__] = len(cls())
        out[activation.schema_name(module)] = counts
    return out


def describe(result: DemoResult) -> list[str]:
    """Human-readable lines: what was created and where."""
    total = sum(sum(t.values()) for t in result.rows.values())
    lines = [
        f"Done in {sum(result.seconds.values()):.0f} s (simulate {result.seconds.get('simulate', 0):.0f} s, "
        f"ingest + populate {result.seconds.get('ingest_and_populate', 0):.0f} s).",
        f"Database: {result.database}",
        f"Simulated data (ALF files, LIMS snapshots, ground truth): {result.data_dir}",
        f"{len(result.rows)} schemas, {total:,} rows, {result.n_sessions} sessions:",
    ]
    for schema_name, tables in result.rows.items():
        filled = {k: v for k, v in tables.items() if v}
        top = ", ".join(f"{k} {v:,}" for k, v in sorted(filled.items(), key=lambda kv: -kv[1])[:4])
        lines.append(f"  {schema_name:<32} {len(tables):>3} tables, {sum(tables.values()):>9,} rows  ({top})")
    if result.populate_errors:
        lines.append(f"{result.populate_errors} populate errors: see `brainlab jobs` and the ~jobs tables.")
    lines += [
        "Try:",
        "  python -c \"from brainlab.analyses import behavior as ba; print(ba.SessionTrainingStatus())\"",
        f"  brainlab jobs{'' if result.prefix == settings.DEFAULT_PREFIX else ' --prefix ' + result.prefix}"
        "          # the daily runs and their steps",
        "  labjoin serve          # browse it (mice, sessions, figures)",
        f"  brainlab validate --data {result.data_dir}{'' if result.prefix == settings.DEFAULT_PREFIX else ' --prefix ' + result.prefix}"
        "   # the results against the simulator's ground truth",
    ]
    return lines


def run_and_report(url: str | None, data_dir: Path | None, small: bool, prefix: str | None, keep: bool,
                   echo: Callable[[str], None]) -> DemoResult:
    """``labjoin demo``: run, then print what was created and where."""
    result = run_demo(url=url, data_dir=data_dir, small=small, prefix=prefix, keep=keep, echo=echo)
    for line in describe(result):
        echo(line)
    return result
