"""How well the pipeline recovers the simulator's ground truth (``brainlab validate``).

The simulator writes what it drew next to the data (docs/brainlab-simulator.md); this module
compares what the pipeline stored with it.

* **Training status**: the fraction of sessions whose stored ``training_status`` and
  ``good_enough_for_brainwide_map`` equal the truth's. Sessions the LIMS deleted (kept while
  the ``safe`` policy leaves their deletion pending) are listed apart.
* **Psychometric fits** (``PsychResultsBlock``). The sessions compared are those with at least
  ``min_trials`` trials; their blocks count when the contrast set reaches 6.25 % (with only
  100 % and 50 % contrasts, as early in training, threshold and lapses are not identifiable
  separately). The truth is the simulator's ``true_choice_params``: the curve of P(rightward
  choice) with No-Go trials counted as not rightward, which is what the pipeline fits (as IBL's
  did). Each block gets ``n_boot`` bootstrap replicates (:func:`psych.bootstrap_replicates`,
  the smoothed non-parametric scheme).

  - *Calibration*: for each nominal level (68 %, 95 %, 99 %), the fraction of (block,
    parameter) pairs whose interval holds the true value. Honest intervals give about the
    nominal level; intervals that are too wide give more, too narrow give less.
  - *Sessions recovered*: a session's ``k = 4 x blocks`` parameters are judged together, with
    simultaneous intervals at a family level ``L`` (Bonferroni: each interval at level
    ``1 - (1 - L) / k``); the session is recovered when every true value lies inside. A biased
    session has three blocks, so a per-parameter 99 % interval would be a 0.99^12 = 89 %
    statement about the session; the simultaneous interval keeps the session-level promise at
    ``L``.
"""

from __future__ import annotations

import concurrent.futures
import multiprocessing
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from labjoin import errors

from .analyses import psych
from .simulate import read_ground_truth

__all__ = ["PARAMETERS", "FitRecovery", "StatusAgreement", "fit_recovery", "status_agreement"]

PARAMETERS = ("bias", "threshold", "lapse_low", "lapse_high")
LOW_CONTRAST = 0.0625


@dataclass(frozen=True)
class StatusAgreement:
    """Stored training statuses against the truth."""

    n_sessions: int
    n_agree: int
    disagreements: list[dict[str, Any]] = field(repr=False)
    deleted_in_lims: list[str] = field(default_factory=list)

    @property
    def fraction(self) -> float:
        return self.n_agree / self.n_sessions if self.n_sessions else float("nan")


@dataclass(frozen=True)
class FitRecovery:
    """Coverage of the true psychometric parameters by the fits' bootstrap intervals."""

    n_sessions: int
    n_blocks: int
    n_boot: int
    method: str
    coverage: dict[float, float]
    sessions_at: dict[float, float]
    family_level: float
    sessions_recovered: float
    blocks_recovered: float
    misses: list[dict[str, Any]] = field(repr=False)

    def lines(self) -> list[str]:
        """A short human-readable report."""
        out = [f"Psychometric fits: {self.n_blocks} blocks of {self.n_sessions} sessions, "
               f"{self.n_boot} bootstrap replicates each ({self.method} intervals)"]
        if self.n_boot < 100:
            out.append("  (fewer than 100 replicates: the intervals are rough; docs/brainlab.md quotes 100)")
        out += [f"  per-parameter {level:.0%} intervals hold the truth for {cov:.1%} of (block, parameter) pairs "
                f"and for every parameter of {self.sessions_at[level]:.1%} of sessions"
                for level, cov in self.coverage.items()]
        out.append(f"  sessions recovered (every parameter of every block inside simultaneous "
                   f"{self.family_level:.0%} intervals): {self.sessions_recovered:.1%}")
        out.append(f"  blocks recovered (same, per block): {self.blocks_recovered:.1%}")
        for m in self.misses:
            out.append(f"  miss: session {m['session_uuid'][:8]} block {m['prob_left']:.1f} "
                       f"({m['n_trials']} trials): " + ", ".join(
                           f"{k} true {v['true']:.4g} outside [{v['low']:.4g}, {v['high']:.4g}]"
                           for k, v in m["outside"].items()))
        return out


def _truth_by_session(data_dir: Path | str) -> dict[str, dict[str, Any]]:
    return {s["session_uuid"]: s for s in read_ground_truth(data_dir).sessions}


def status_agreement(data_dir: Path | str) -> StatusAgreement:
    """Compare ``SessionTrainingStatus`` with the truth, session by session."""
    from . import acquisition
    from .analyses import behavior as ab

    truth = _truth_by_session(data_dir)
    rows = (ab.SessionTrainingStatus * acquisition.Session).fetch(
        "session_uuid", "training_status", "good_enough_for_brainwide_map", as_dict=True)
    wrong, deleted = [], []
    for r in rows:
        t = truth.get(str(r["session_uuid"]))
        if t is None:
            raise errors.DataError(f"Session {r['session_uuid']} is stored but not in the ground truth of "
                                   f"{data_dir}: validate against the folder this database was ingested from.")
        if t["deleted"]:  # the simulator's mistaken session: kept while its deletion is pending
            deleted.append(str(r["session_uuid"]))
            continue
        got = (r["training_status"], bool(r["good_enough_for_brainwide_map"]))
        want = (t["training_status"], bool(t["good_enough_for_brainwide_map"]))
        if got != want:
            wrong.append({"session_uuid": str(r["session_uuid"]), "date": t["date"], "stored": got, "true": want})
    n = len(rows) - len(deleted)
    return StatusAgreement(n, n - len(wrong), wrong, deleted)


def _replicates(args: tuple[np.ndarray, np.ndarray, np.ndarray, int]) -> np.ndarray:
    contrasts, n, n_right, n_boot = args
    return psych.bootstrap_replicates(psych.ContrastCounts(contrasts, n, n_right), n_boot)


def _all_replicates(counts: Sequence[psych.ContrastCounts], n_boot: int, workers: int) -> list[np.ndarray]:
    jobs = [(c.signed_contrasts, c.n_trials_stim, c.n_trials_stim_right, n_boot) for c in counts]
    if workers <= 1:
        return [_replicates(j) for j in jobs]
    # fork where there is one (labjoin's connections survive a fork, and a fork does not
    # re-import the caller's script the way spawn does); the workers only fit, they never query
    ctx = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn")
    with concurrent.futures.ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
        return list(pool.map(_replicates, jobs, chunksize=max(1, len(jobs) // (8 * workers))))


def fit_recovery(data_dir: Path | str, *, min_trials: int = 400, n_boot: int = 100,
                 levels: Sequence[float] = (0.68, 0.95, 0.99), family_level: float = 0.95,
                 method: str = "normal", workers: int = 1) -> FitRecovery:
    """Bootstrap every qualifying ``PsychResultsBlock`` fit and check it against the truth.

    Parameters
    ----------
    data_dir : path
        The simulated cohort the active pipeline was ingested from.
    min_trials : int
        Sessions with fewer trials are left out.
    n_boot : int
        Bootstrap replicates per block (each a psychofit fit of about 50 ms).
    levels : sequence of float
        Nominal per-parameter levels whose coverage is reported.
    family_level : float
        Level of the simultaneous intervals of a session (and of a block).
    method : {"percentile", "normal"}
        Interval construction from the replicates (:func:`psych.bootstrap_fit`).
    workers : int
        Processes that compute the replicates.
    """
    from . import acquisition, behavior
    from .analyses import behavior as ab

    if n_boot < 20:
        raise errors.DataError(f"n_boot={n_boot}: intervals from fewer than 20 bootstrap replicates mean "
                               "little; give n_boot >= 20 (100 or more for the reported figures).")
    truth = _truth_by_session(data_dir)
    rows = (ab.PsychResultsBlock * behavior.TrialSet * acquisition.Session & f"n_trials >= {int(min_trials)}").fetch(
        "session_uuid", "prob_left", "n_trials", "signed_contrasts", "n_trials_stim", "n_trials_stim_right",
        as_dict=True, order_by=("session_start_time", "prob_left_block"))
    rows = [r for r in rows if np.any(np.isclose(np.abs(r["signed_contrasts"]), LOW_CONTRAST))]
    if not rows:
        raise errors.DataError(f"No PsychResultsBlock with >= {min_trials} trials and 6.25 % contrasts: populate "
                               "the pipeline first (brainlab populate --data DIR), or lower min_trials.")
    counts = [psych.ContrastCounts(r["signed_contrasts"], r["n_trials_stim"], r["n_trials_stim_right"]) for r in rows]
    reps = _all_replicates(counts, n_boot, workers)

    def true_of(r: dict[str, Any]) -> dict[str, float]:
        t = truth.get(str(r["session_uuid"]))
        if t is None:
            raise errors.DataError(f"Session {r['session_uuid']} is not in the ground truth of {data_dir}: "
                                   "validate against the folder this database was ingested from.")
        blocks = t.get("true_choice_params") or t["true_params"]  # older files lack the No-Go correction
        return blocks[f"{r['prob_left']:.1f}"]

    def outside(i: int, level: float) -> dict[str, dict[str, float]]:
        """The parameters of block ``i`` whose true value lies outside its ``level`` interval."""
        ci = psych.bootstrap_fit(counts[i], level=level, method=method, replicates=reps[i])
        t = true_of(rows[i])
        return {k: {"true": t[k], "low": ci[k][0], "high": ci[k][1]} for k in PARAMETERS
                if not ci[k][0] <= t[k] <= ci[k][1]}

    sessions: dict[str, list[int]] = {}
    for i, r in enumerate(rows):
        sessions.setdefault(str(r["session_uuid"]), []).append(i)
    coverage, sessions_at = {}, {}
    for level in levels:
        n_out = [len(outside(i, level)) for i in range(len(rows))]
        coverage[level] = 1.0 - sum(n_out) / (len(PARAMETERS) * len(rows))
        sessions_at[level] = float(np.mean([not any(n_out[i] for i in idx) for idx in sessions.values()]))
    block_level = 1.0 - (1.0 - family_level) / len(PARAMETERS)
    ok_blocks = sum(not outside(i, block_level) for i in range(len(rows)))
    misses, ok_sessions = [], 0
    for idx in sessions.values():
        level = 1.0 - (1.0 - family_level) / (len(PARAMETERS) * len(idx))
        found = [(i, outside(i, level)) for i in idx]
        misses += [{"session_uuid": str(rows[i]["session_uuid"]), "prob_left": rows[i]["prob_left"],
                    "n_trials": int(np.sum(rows[i]["n_trials_stim"])), "outside": out} for i, out in found if out]
        ok_sessions += not any(out for _, out in found)
    return FitRecovery(n_sessions=len(sessions), n_blocks=len(rows), n_boot=n_boot, method=method,
                       coverage=coverage, sessions_at=sessions_at, family_level=family_level,
                       sessions_recovered=ok_sessions / len(sessions), blocks_recovered=ok_blocks / len(rows),
                       misses=misses)
