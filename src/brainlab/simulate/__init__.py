"""brainlab's simulator: realistic, deterministic lab data in the field's own formats.

It writes a cohort of mice trained on the IBL task, with the files and records a real lab
produces: ALF files in the ONE folder layout (trials, wheel, spikes, clusters, channels), one
LIMS snapshot per simulated day shaped like an Alyx dump, and the ground truth behind them
(psychometric parameters, training-status transitions, cluster tuning). The same seed gives
byte-identical output. The output contract is documented in docs/brainlab-simulator.md.

>>> from brainlab.simulate import SimulationConfig, simulate, iter_days   # doctest: +SKIP
>>> summary = simulate("/tmp/cohort", SimulationConfig(seed=1, labs=2, mice_per_lab=6, days=40))
>>> for day in iter_days("/tmp/cohort"):
...     sessions = day.by_model("actions.session")

Command line: ``python -m brainlab.simulate OUT --seed 1 --labs 2 --mice 6 --days 40``.
"""

from .config import FORMAT_VERSION, SimulationConfig, SimulationSummary
from .ground_truth import GroundTruth, read_ground_truth
from .simulation import simulate
from .snapshots import DaySnapshot, SnapshotDiff, diff_snapshots, iter_days, load_snapshot
from .training_rules import SessionTrials, StatusDecision, decide_status, training_statuses

__all__ = [
    "FORMAT_VERSION",
    "DaySnapshot",
    "GroundTruth",
    "SessionTrials",
    "SimulationConfig",
    "SimulationSummary",
    "SnapshotDiff",
    "StatusDecision",
    "decide_status",
    "diff_snapshots",
    "iter_days",
    "load_snapshot",
    "read_ground_truth",
    "simulate",
    "training_statuses",
]
