"""IBL training-status rules, as the simulator applies them to its own sessions.

This module is the single place where the simulator decides a mouse's training status. It
follows reference ``/work/shared/reference/ibl-system.md`` §4.4 ("Training status", rules as
implemented in the ``stable`` branch of the IBL pipeline), with the session measures of §3.4
(TrialSet: ``n_trials``, ``n_correct_trials``), §4.1 (psychometric fit, ``performance_easy``)
and §4.2 (reaction time = response time - stimulus-on time). The simulator moves a mouse to the
next protocol when these rules say so, and writes each session's status to the ground truth,
so the pipeline's computed ``SessionTrainingStatus`` can be checked against it.

Rules (checked top-down for each session with a TrialSet; the first that fires wins; each
status is *sticky*: kept if any earlier session of the subject holds it):

1. ``ready4recording``: the protocol contains "ephys" or "biased"; the last 3 biased/ephys
   sessions all ran on a board whose name contains "ephys"; any of them had a start delay of
   15 min or more; and those 3 sessions pass the ``ready4ephysrig`` block criteria.
2. ``ready4delay``: an earlier session is ``ready4ephysrig``, and this session is a "biased"
   protocol on an "ephys" board with n_trials > 400 and performance_easy > 0.9.
3. ``ready4ephysrig``: the protocol contains "biased"; the last 3 biased sessions each have
   n_trials > 400 and performance_easy > 0.9; the pooled trials contain prob_left 0.5, 0.2 and
   0.8 (if 0.2 or 0.8 is missing the session becomes ``trained_1b``); fitted per block, every
   lapse < 0.1 and bias(0.8) - bias(0.2) > 5; pooled median RT at zero contrast < 2 s.
4. ``trained_1b``: the last 3 sessions each have n_trials > 400 and performance_easy > 0.9; the
   current contrast set holds 0 and 6.25 %; the pooled fit has |bias| < 10, threshold < 20,
   both lapses < 0.1; pooled median RT at zero contrast < 2 s.
5. ``trained_1a``: the last 3 sessions each have n_trials > 200 and performance_easy > 0.8;
   the same contrast-set requirement; the pooled fit has |bias| < 16, threshold < 19, both
   lapses < 0.2.
6. ``untrainable``: 40 or more sessions with a TrialSet and none of the above.
7. ``in_training`` otherwise.

``good_enough_for_brainwide_map`` is independent: n_trials > 400, performance_easy > 0.9 and
"ephys" in the protocol. As in the original, the ``unbiasable`` branch (40 biased sessions)
never survives, so this module never returns it (reference §4.4, "latent bug").
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .psychometrics import PsychFit, contrast_table, fit_psychometric

__all__ = [
    "STATUS_ORDER",
    "SessionTrials",
    "StatusDecision",
    "decide_status",
    "training_statuses",
]

#: Statuses from lowest to highest (the pipeline's TrainingStatus lookup, minus ``unbiasable``).
STATUS_ORDER: tuple[str, ...] = (
    "in_training",
    "untrainable",
    "trained_1a",
    "trained_1b",
    "ready4ephysrig",
    "ready4delay",
    "ready4recording",
)

_MIN_DELAY_SEC = 15 * 60.0


@dataclass(frozen=True)
class SessionTrials:
    """One session with a TrialSet, reduced to what the rules read.

    Build it with :meth:`from_trials`; the per-session measures are computed once.

    Attributes
    ----------
    session_uuid : str
        Alyx session uuid (ONE eid).
    start_time : datetime.datetime
        Session start; sessions are ordered by it.
    task_protocol : str
        e.g. ``_iblrig_tasks_biasedChoiceWorld6.4.2``.
    pybpod_board : str
        Rig board name from ``_iblrig_taskSettings.raw.json`` (``PYBPOD_BOARD``).
    delay_sec : float
        ``SESSION_START_DELAY_SEC`` of the Alyx session JSON.
    contrast_left, contrast_right, choice, probability_left, reaction_time : numpy.ndarray
        Per-trial arrays; ``reaction_time`` is response time minus stimulus-on time.
    n_trials, n_correct, performance, performance_easy : int, int, float, float or None
        TrialSet and PsychResults measures (§3.4, §4.1).
    """

    session_uuid: str
    start_time: dt.datetime
    task_protocol: str
    pybpod_board: str
    delay_sec: float
    contrast_left: np.ndarray = field(repr=False)
    contrast_right: np.ndarray = field(repr=False)
    choice: np.ndarray = field(repr=False)
    probability_left: np.ndarray = field(repr=False)
    reaction_time: np.ndarray = field(repr=False)
    n_trials: int = 0
    n_correct: int = 0
    performance: float = 0.0
    performance_easy: float | None = None

    @classmethod
    def from_trials(
        cls,
        session_uuid: str,
        start_time: dt.datetime,
        task_protocol: str,
        pybpod_board: str,
        delay_sec: float,
        trials: dict[str, np.ndarray],
    ) -> SessionTrials:
        """Build from ALF trials arrays (keys as in ``one.alf.io.load_object(..., 'trials')``)."""
        cl = np.asarray(trials["contrastLeft"], dtype=float)
        cr = np.asarray(trials["contrastRight"], dtype=float)
        choice = np.asarray(trials["choice"])
        rt = np.asarray(trials["response_times"], dtype=float) - np.asarray(trials["stimOn_times"], dtype=float)
        n = int(choice.size)
        # TrialSet.n_correct_trials (§3.4): a zero-contrast trial never counts as correct here.
        n_correct = int(np.sum((choice == 1) & (np.nan_to_num(cl) > 0)) + np.sum((choice == -1) & (np.nan_to_num(cr) > 0)))
        signed = np.nan_to_num(cr) - np.nan_to_num(cl)
        easy = np.abs(signed) > 0.499
        if easy.any():
            correct_easy = ((choice == -1) & (signed > 0)) | ((choice == 1) & (signed < 0))
            perf_easy: float | None = float(correct_easy[easy].mean())
        else:
            perf_easy = None
        return cls(
            session_uuid=session_uuid,
            start_time=start_time,
            task_protocol=task_protocol,
            pybpod_board=pybpod_board,
            delay_sec=float(delay_sec),
            contrast_left=cl,
            contrast_right=cr,
            choice=choice,
            probability_left=np.asarray(trials["probabilityLeft"], dtype=float),
            reaction_time=rt,
            n_trials=n,
            n_correct=n_correct,
            performance=n_correct / n if n else 0.0,
            performance_easy=perf_easy,
        )

    @property
    def contrast_set(self) -> np.ndarray:
        """Distinct absolute contrasts presented (fractions)."""
        return np.unique(np.abs(np.nan_to_num(self.contrast_right) - np.nan_to_num(self.contrast_left)))

    def passes(self, min_trials: int, min_perf_easy: float) -> bool:
        """Whether ``n_trials > min_trials`` and ``performance_easy > min_perf_easy``."""
        return self.n_trials > min_trials and self.performance_easy is not None and self.performance_easy > min_perf_easy


@dataclass(frozen=True)
class StatusDecision:
    """The status of one session, with the measures that decided it.

    ``evidence`` holds the measures a rule computed (fits as dicts, RT medians, session
    counts), so a disagreement with the pipeline can be traced to a number.
    """

    session_uuid: str
    status: str
    good_enough_for_brainwide_map: bool
    evidence: dict[str, Any] = field(default_factory=dict)


def _pooled(sessions: Sequence[SessionTrials], mask_fn: Any = None) -> dict[str, np.ndarray]:
    parts: dict[str, list[np.ndarray]] = {"cl": [], "cr": [], "choice": [], "rt": [], "pl": []}
    for s in sessions:
        mask = np.ones(s.n_trials, bool) if mask_fn is None else mask_fn(s)
        parts["cl"].append(s.contrast_left[mask])
        parts["cr"].append(s.contrast_right[mask])
        parts["choice"].append(s.choice[mask])
        parts["rt"].append(s.reaction_time[mask])
        parts["pl"].append(s.probability_left[mask])
    return {k: np.concatenate(v) for k, v in parts.items()}


def _fit(pooled: dict[str, np.ndarray]) -> PsychFit:
    return fit_psychometric(contrast_table(pooled["cl"], pooled["cr"], pooled["choice"]))


def _median_rt_zero(pooled: dict[str, np.ndarray]) -> float:
    zero = (np.nan_to_num(pooled["cr"]) - np.nan_to_num(pooled["cl"])) == 0
    return float(np.median(pooled["rt"][zero])) if zero.any() else float("nan")


def _has_contrast_requirement(session: SessionTrials) -> bool:
    cs = session.contrast_set
    return bool(np.any(cs == 0) and np.any((cs > 0.001) & (cs < 0.065)))


def _block_criteria(last3: Sequence[SessionTrials], evidence: dict[str, Any]) -> str | None:
    """The ``ready4ephysrig`` criteria on 3 biased sessions: a status, or None if they fail."""
    if len(last3) < 3 or not all(s.passes(400, 0.9) for s in last3):
        return None
    pooled = _pooled(last3)
    pl = pooled["pl"]
    if not np.any(np.isclose(pl, 0.5)):
        return None
    if not (np.any(np.isclose(pl, 0.2)) and np.any(np.isclose(pl, 0.8))):
        return "trained_1b"
    fits = {}
    for p in (0.2, 0.8):
        block = {k: v[np.isclose(pl, p)] for k, v in pooled.items()}
        fits[p] = _fit(block)
    rt0 = _median_rt_zero(pooled)
    evidence.update(fit_pleft_02=fits[0.2].as_dict(), fit_pleft_08=fits[0.8].as_dict(), median_rt_zero=rt0)
    lapses_ok = all(max(f.lapse_low, f.lapse_high) < 0.1 for f in fits.values())
    if lapses_ok and fits[0.8].bias - fits[0.2].bias > 5 and rt0 < 2.0:
        return "ready4ephysrig"
    return None


def _is_biased(s: SessionTrials) -> bool:
    return "biased" in s.task_protocol


def _is_biased_or_ephys(s: SessionTrials) -> bool:
    return "biased" in s.task_protocol or "ephys" in s.task_protocol


def decide_status(history: Sequence[SessionTrials], earlier: Sequence[str]) -> StatusDecision:
    """Return the status of the last session of ``history`` (reference §4.4).

    Parameters
    ----------
    history : sequence of SessionTrials
        The subject's sessions with a TrialSet, oldest first, ending with the session to decide.
    earlier : sequence of str
        Statuses already given to the sessions before it (for stickiness).
    """
    current = history[-1]
    held = set(earlier)
    evidence: dict[str, Any] = {
        "n_trials": current.n_trials,
        "performance": current.performance,
        "performance_easy": current.performance_easy,
        "n_sessions": len(history),
    }
    brainwide = current.passes(400, 0.9) and "ephys" in current.task_protocol

    def decided(status: str) -> StatusDecision:
        return StatusDecision(current.session_uuid, status, bool(brainwide), evidence)

    # 1. ready4recording
    if "ready4recording" in held:
        return decided("ready4recording")
    if _is_biased_or_ephys(current):
        last3 = [s for s in history if _is_biased_or_ephys(s)][-3:]
        if (
            len(last3) == 3
            and all("ephys" in s.pybpod_board for s in last3)
            and any(s.delay_sec >= _MIN_DELAY_SEC for s in last3)
            and _block_criteria(last3, evidence) == "ready4ephysrig"
        ):
            return decided("ready4recording")
    # 2. ready4delay
    if "ready4delay" in held:
        return decided("ready4delay")
    if "ready4ephysrig" in held and _is_biased(current) and "ephys" in current.pybpod_board and current.passes(400, 0.9):
        return decided("ready4delay")
    # 3. ready4ephysrig
    if "ready4ephysrig" in held:
        return decided("ready4ephysrig")
    if _is_biased(current):
        outcome = _block_criteria([s for s in history if _is_biased(s)][-3:], evidence)
        if outcome is not None:
            return decided(outcome)
    last3 = list(history[-3:])
    # 4. trained_1b
    if "trained_1b" in held:
        return decided("trained_1b")
    if len(last3) == 3 and all(s.passes(400, 0.9) for s in last3) and _has_contrast_requirement(current):
        pooled = _pooled(last3)
        fit, rt0 = _fit(pooled), _median_rt_zero(pooled)
        evidence.update(fit_pooled=fit.as_dict(), median_rt_zero=rt0)
        if abs(fit.bias) < 10 and fit.threshold < 20 and fit.lapse_low < 0.1 and fit.lapse_high < 0.1 and rt0 < 2.0:
            return decided("trained_1b")
    # 5. trained_1a
    if "trained_1a" in held:
        return decided("trained_1a")
    if len(last3) == 3 and all(s.passes(200, 0.8) for s in last3) and _has_contrast_requirement(current):
        fit = _fit(_pooled(last3))
        evidence.update(fit_pooled=fit.as_dict())
        if abs(fit.bias) < 16 and fit.threshold < 19 and fit.lapse_low < 0.2 and fit.lapse_high < 0.2:
            return decided("trained_1a")
    # 6. untrainable, 7. in_training
    return decided("untrainable" if len(history) >= 40 else "in_training")


def training_statuses(sessions: Sequence[SessionTrials]) -> list[StatusDecision]:
    """Return the status of every session of one subject, in chronological order.

    The sessions are sorted by start time first, because statuses depend on order (§4.4).
    """
    ordered = sorted(sessions, key=lambda s: s.start_time)
    decisions: list[StatusDecision] = []
    for i in range(len(ordered)):
        decisions.append(decide_status(ordered[: i + 1], [d.status for d in decisions]))
    return decisions
