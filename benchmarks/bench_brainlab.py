"""brainlab: daily ingestion and population time per simulated session, on each backend.

A simulated cohort is ingested day by day (``brainlab.ingest.daily.run_daily``: one LIMS snapshot
per day, then populate behaviour, analyses, ephys and figures, the cumulative figures and the lab
summary), as the ``brainlab daily`` job and ``labjoin demo`` do. The times come from the job
records (``ingest.Job.Step``), summed over the run and divided by the sessions ingested.

Sizes (``--size``): T = 1 mouse x 36 days (20 sessions, one recording), S = 1 lab x 2 mice x 40
days (48 sessions, one recording), M = the demo cohort, 2 labs x 6 mice x 40 days (about 300 sessions, 6 recordings); L = M.
There is no raw-driver baseline: the figure is the pipeline's own cost per session. Schemas are
named ``brainlab_bench_*`` and dropped at the end. Run
``python benchmarks/bench_brainlab.py --size S --write-docs``.
"""

from __future__ import annotations

import collections
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _harness import (
    DOCS_PAGE,
    command_line,
    machine_description,
    machine_markdown,
    markdown_table,
    open_backends,
    parse_args,
    write_docs_section,
)

from brainlab import schemas
from brainlab.simulate import SimulationConfig, simulate

PREFIX = "brainlab_bench_"
INGEST_STEPS = ("load_snapshot", "apply_created", "apply_modified", "apply_deleted", "clear_missing_logs")


def cohort(size: str) -> SimulationConfig:
    from brainlab.demo import demo_config

    if size == "T":
        return demo_config(small=True)
    if size == "S":
        return SimulationConfig(seed=1, labs=1, mice_per_lab=2, days=40, ephys_fraction=0.5)
    return demo_config(small=False)


def run(conn: Any, data_dir: Path) -> dict[str, Any]:
    from brainlab import acquisition, behavior
    from brainlab.analyses import psych, training
    from brainlab.ingest import bookkeeping as bk
    from brainlab.ingest.daily import run_daily

    # start each backend cold: fits are memoised by content within a process
    psych._FITS.clear()
    training.clear_cache()
    activation = schemas.Activation(PREFIX, conn)
    schemas.drop_all(activation)
    t0 = time.perf_counter()
    schemas.activate(prefix=PREFIX, connection=conn)
    declare = time.perf_counter() - t0
    t1 = time.perf_counter()
    errors = sum(report.n_errors for _, _, report in run_daily(data_dir, backtrack_days=30))
    total = time.perf_counter() - t1
    steps: dict[str, float] = collections.defaultdict(float)
    for task, duration in zip(*bk.Job.Step.fetch("task", "duration_s")):
        steps[task] += float(duration or 0)
    out = {"declare": declare, "total": total, "steps": dict(steps), "sessions": len(acquisition.Session),
           "trial_sets": len(behavior.TrialSet), "errors": errors, "days": len(bk.Job)}
    schemas.drop_all(activation)
    return out


def main(argv: list[str] | None = None) -> dict[str, dict[str, Any]]:
    args = parse_args(__doc__, argv)
    cfg = cohort(args.size)
    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="bench_brainlab_") as tmp:
        data_dir = Path(tmp) / "cohort"
        t = time.perf_counter()
        summary = simulate(data_dir, cfg)
        simulate_s = time.perf_counter() - t
        with open_backends(args.backends) as conns:
            machine = machine_description(conns)
            for name, conn in conns.items():
                results[name] = run(conn, data_dir)
    rows = []
    for name, r in results.items():
        n = r["sessions"]
        ingest = sum(r["steps"].get(s, 0.0) for s in INGEST_STEPS)
        populate = r["total"] - ingest
        rows.append([name, f"{n}", f"{r['days']}", f"{r['total']:.1f} s", f"{ingest / n * 1e3:.0f} ms",
                     f"{populate / n * 1e3:.0f} ms", f"{r['total'] / n:.2f} s", f"{r['declare']:.1f} s",
                     str(r["errors"])])
    step_names = sorted({s for r in results.values() for s in r["steps"]},
                        key=lambda s: next(iter(results.values()))["steps"].get(s, 0), reverse=True)
    step_rows = [[s, *[f"{r['steps'].get(s, 0.0) / r['sessions'] * 1e3:.0f} ms" for r in results.values()]]
                 for s in step_names]
    body = "\n\n".join([
        f"Command: `{command_line('bench_brainlab.py', args)}`. Cohort: {cfg.labs} lab(s) x {cfg.mice_per_lab} "
        f"mice x {cfg.days} days: {summary.n_sessions} sessions ({summary.n_ephys_sessions} ephys, "
        f"{summary.n_probes} probes), {summary.n_trials:,} trials, {summary.n_spikes:,} spikes; simulated in "
        f"{simulate_s:.1f} s.",
        "Ingested day by day (one `brainlab daily` run per snapshot: ingest, populate, cumulative figures, "
        "lab summary). Per session = the run's time divided by the sessions ingested:",
        markdown_table(["Backend", "Sessions", "Days", "Total", "Ingest / session", "Populate / session",
                        "All / session", "Declaring the schemas", "Populate errors"], rows, align="lrrrrrrrr"),
        "Where the time goes (each daily step, summed over the run, per session):",
        markdown_table(["Step", *results.keys()], step_rows, align="l" + "r" * len(results)),
        machine_markdown(machine),
    ])
    print(body)
    if args.write_docs:
        write_docs_section(DOCS_PAGE, "bench_brainlab", body,
                           title="brainlab: ingest and populate per session (bench_brainlab.py)")
    return results


if __name__ == "__main__":
    main(sys.argv[1:])
