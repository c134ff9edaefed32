"""Command line: ``python -m brainlab.simulate OUT [options]``.

A thin layer: parse options into a :class:`~brainlab.simulate.SimulationConfig`, call
:func:`~brainlab.simulate.simulate`, print a summary.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections.abc import Sequence

from labjoin.errors import ConfigError

from .config import SimulationConfig
from .simulation import simulate

__all__ = ["build_parser", "main"]


def _pair(kind: type) -> object:
    def parse(text: str) -> tuple:
        parts = text.split(",")
        if len(parts) != 2:
            raise argparse.ArgumentTypeError(f"expected LOW,HIGH, got {text!r}")
        return tuple(kind(p) for p in parts)

    return parse


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``python -m brainlab.simulate``."""
    d = SimulationConfig()
    p = argparse.ArgumentParser(prog="python -m brainlab.simulate", description="Simulate an IBL-style lab cohort.")
    p.add_argument("out", help="output folder (empty or absent)")
    p.add_argument("--seed", type=int, default=d.seed, help="random seed (default %(default)s)")
    p.add_argument("--labs", type=int, default=d.labs, help="number of labs (default %(default)s)")
    p.add_argument("--mice", type=int, default=d.mice_per_lab, help="mice per lab (default %(default)s)")
    p.add_argument("--days", type=int, default=d.days, help="simulated days (default %(default)s)")
    p.add_argument("--start-date", type=dt.date.fromisoformat, default=d.start_date, help="first day, YYYY-MM-DD")
    p.add_argument("--ephys-fraction", type=float, default=d.ephys_fraction, help="fraction of mice recorded")
    p.add_argument("--non-learners", type=float, default=d.non_learner_fraction, help="fraction of non-learners")
    p.add_argument("--trials", type=_pair(int), default=d.trials_per_session, help="trials per session LOW,HIGH")
    p.add_argument("--clusters", type=_pair(int), default=d.clusters_per_probe, help="clusters per probe LOW,HIGH")
    p.add_argument("--weekends", action="store_true", help="also train on Saturdays and Sundays")
    p.add_argument("--no-edits", action="store_true", help="do not script LIMS edits")
    p.add_argument("--workers", type=int, default=d.workers, help="worker processes (default %(default)s)")
    p.add_argument("--overwrite", action="store_true", help="replace a previous simulation in OUT")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Run the simulator from command-line arguments; return the exit status."""
    args = build_parser().parse_args(argv)
    try:
        config = SimulationConfig(
            labs=args.labs, mice_per_lab=args.mice, days=args.days, start_date=args.start_date, seed=args.seed,
            ephys_fraction=args.ephys_fraction, non_learner_fraction=args.non_learners,
            trials_per_session=args.trials, clusters_per_probe=args.clusters, train_on_weekends=args.weekends,
            scripted_edits=not args.no_edits, workers=args.workers,
        )
        s = simulate(args.out, config, overwrite=args.overwrite)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {s.out_dir}: {s.n_labs} labs, {s.n_subjects} mice, {s.n_sessions} sessions "
          f"({s.n_ephys_sessions} ephys, {s.n_probes} probes), {s.n_trials} trials, {s.n_spikes} spikes, "
          f"{s.n_files} files ({s.n_bytes / 1e6:.1f} MB), {s.n_snapshots} LIMS snapshots in {s.elapsed_seconds:.1f} s")
    print("final training status: " + ", ".join(f"{k} {v}" for k, v in s.final_status.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
