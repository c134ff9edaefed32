"""Ground-truth learning model: how each mouse's psychometric parameters evolve.

Each mouse gets :class:`MouseTraits` once (its learning speed and its start and end points).
Before every session :func:`session_params` turns the traits and the mouse's history (training
sessions done, biased sessions done) into the :class:`SessionParams` the trials are drawn from.

Learning progress after ``n`` training sessions is
``L(n) = ceiling * (1 - exp(-max(0, n - onset) / tau))`` plus a little day-to-day noise. Every
parameter moves linearly from its naive value (L=0) to its expert value (L=1). Non-learners
have a low ``ceiling``, so they never meet the trained criteria. In biased blocks the bias
shifts by ``+/- prior_shift / 2`` (towards the likely side), and ``prior_shift`` grows over the
biased sessions.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

__all__ = ["LEARNER_TYPES", "MouseTraits", "SessionParams", "draw_traits", "session_params"]

#: Learner types and the range of their learning time constant (in training sessions).
LEARNER_TYPES: dict[str, tuple[float, float]] = {
    "fast": (1.6, 2.6),
    "medium": (3.0, 5.0),
    "slow": (5.5, 9.0),
    "non_learner": (4.0, 8.0),
}


@dataclass(frozen=True)
class MouseTraits:
    """The fixed ground truth of one mouse's learning (all contrasts in percent)."""

    learner_type: str
    tau: float
    onset: float
    ceiling: float
    threshold_naive: float
    threshold_expert: float
    bias_naive: float
    bias_expert: float
    lapse_naive: tuple[float, float]
    lapse_expert: tuple[float, float]
    prior_shift_max: float
    prior_tau: float
    rt_zero_naive: float
    rt_zero_expert: float
    rt_easy_expert: float
    nogo_naive: float
    nogo_expert: float
    trials_naive: int
    trials_expert: int

    def as_dict(self) -> dict[str, Any]:
        """Return the traits as JSON-ready values."""
        out = asdict(self)
        out["lapse_naive"] = list(self.lapse_naive)
        out["lapse_expert"] = list(self.lapse_expert)
        return out


@dataclass(frozen=True)
class SessionParams:
    """Ground-truth parameters one session's trials are drawn from.

    ``bias`` is the bias in 50/50 blocks; in a block with probability-left ``p`` the bias is
    :meth:`bias_for`. ``rt_zero``/``rt_easy`` are the median reaction times (response minus
    stimulus onset) at 0 % and 100 % contrast.
    """

    progress: float
    bias: float
    threshold: float
    lapse_low: float
    lapse_high: float
    prior_shift: float
    rt_zero: float
    rt_easy: float
    nogo: float
    n_trials: int

    def bias_for(self, prob_left: float) -> float:
        """Bias in a block with ``probabilityLeft == prob_left`` (0.8 shifts towards left choices)."""
        if math.isclose(prob_left, 0.5):
            return self.bias
        return self.bias + (self.prior_shift / 2.0 if prob_left > 0.5 else -self.prior_shift / 2.0)

    def block_params(self) -> dict[str, dict[str, float]]:
        """Per-block psychometric parameters, keyed ``"0.2"``, ``"0.5"``, ``"0.8"``."""
        return {
            f"{p:.1f}": {
                "bias": self.bias_for(p),
                "threshold": self.threshold,
                "lapse_low": self.lapse_low,
                "lapse_high": self.lapse_high,
            }
            for p in (0.2, 0.5, 0.8)
        }

    def choice_params(self) -> dict[str, dict[str, float]]:
        """Per-block parameters of P(rightward choice) as the pipeline counts it.

        The analysis (as IBL's) keeps No-Go trials in the denominator, so what it fits is
        ``(1 - nogo) * P(right)``: the same erf with ``lapse_low' = (1 - nogo) * lapse_low`` and
        ``lapse_high' = 1 - (1 - nogo) * (1 - lapse_high)``; bias and threshold are unchanged.
        These are the values a correct fit recovers.
        """
        keep = 1.0 - self.nogo
        return {
            block: {**pars, "lapse_low": keep * pars["lapse_low"], "lapse_high": 1.0 - keep * (1.0 - pars["lapse_high"])}
            for block, pars in self.block_params().items()
        }


def draw_traits(rng: np.random.Generator, learner_type: str, trials_range: tuple[int, int]) -> MouseTraits:
    """Draw one mouse's traits.

    Parameters
    ----------
    rng : numpy.random.Generator
        The mouse's own generator.
    learner_type : str
        One of :data:`LEARNER_TYPES`.
    trials_range : tuple of int
        ``SimulationConfig.trials_per_session``: the expert's trial count is drawn from it.
    """
    tau = float(rng.uniform(*LEARNER_TYPES[learner_type]))
    non = learner_type == "non_learner"
    bias_naive = float(np.clip(rng.normal(0.0, 14.0), -30.0, 30.0))
    lo, hi = trials_range
    trials_expert = int(rng.integers(lo, hi + 1))
    return MouseTraits(
        learner_type=learner_type,
        tau=tau,
        onset=float(rng.uniform(0.0, 1.5)),
        ceiling=float(rng.uniform(0.1, 0.35)) if non else 1.0,
        threshold_naive=float(rng.uniform(55.0, 80.0)),
        threshold_expert=float(rng.uniform(7.0, 14.0)),
        bias_naive=bias_naive,
        bias_expert=float(np.clip(rng.normal(0.0, 2.5), -6.0, 6.0)),
        lapse_naive=(float(rng.uniform(0.25, 0.4)), float(rng.uniform(0.25, 0.4))),
        lapse_expert=(float(rng.uniform(0.01, 0.05)), float(rng.uniform(0.01, 0.05))),
        prior_shift_max=float(rng.uniform(14.0, 26.0)),
        prior_tau=float(rng.uniform(0.8, 1.8)),
        rt_zero_naive=float(rng.uniform(2.2, 3.5)),
        rt_zero_expert=float(rng.uniform(0.6, 1.1)),
        rt_easy_expert=float(rng.uniform(0.28, 0.42)),
        nogo_naive=float(rng.uniform(0.04, 0.1)),
        nogo_expert=float(rng.uniform(0.0, 0.006)),
        trials_naive=int(rng.integers(min(200, lo), min(320, lo) + 1)),
        trials_expert=trials_expert,
    )


def _lerp(naive: float, expert: float, progress: float) -> float:
    return naive + (expert - naive) * progress


def session_params(
    traits: MouseTraits, rng: np.random.Generator, n_training_done: int, n_biased_done: int, long_session: bool
) -> SessionParams:
    """Return the parameters of the next session.

    Parameters
    ----------
    traits : MouseTraits
        The mouse's traits.
    rng : numpy.random.Generator
        The session's generator (day-to-day noise).
    n_training_done : int
        Sessions with a TrialSet the mouse has done before this one.
    n_biased_done : int
        Biased and ephys sessions done before this one.
    long_session : bool
        Whether the rig runs the session to the expert trial count regardless of progress
        (biased and ephys sessions do).
    """
    base = traits.ceiling * (1.0 - math.exp(-max(0.0, n_training_done - traits.onset) / traits.tau))
    progress = float(np.clip(base + rng.normal(0.0, 0.02), 0.0, 1.0))
    lapse_low = _lerp(traits.lapse_naive[0], traits.lapse_expert[0], progress)
    lapse_high = _lerp(traits.lapse_naive[1], traits.lapse_expert[1], progress)
    prior = traits.prior_shift_max * (1.0 - math.exp(-(n_biased_done + 1) / traits.prior_tau))
    engaged = 1.0 if long_session else min(1.0, progress * 1.25)
    n_trials = _lerp(traits.trials_naive, traits.trials_expert, engaged) * float(rng.uniform(0.92, 1.08))
    return SessionParams(
        progress=progress,
        bias=_lerp(traits.bias_naive, traits.bias_expert, progress) + float(rng.normal(0.0, 1.0)),
        threshold=_lerp(traits.threshold_naive, traits.threshold_expert, progress) * float(rng.uniform(0.95, 1.05)),
        lapse_low=float(np.clip(lapse_low + rng.normal(0.0, 0.005), 0.0, 0.5)),
        lapse_high=float(np.clip(lapse_high + rng.normal(0.0, 0.005), 0.0, 0.5)),
        prior_shift=prior,
        rt_zero=_lerp(traits.rt_zero_naive, traits.rt_zero_expert, progress),
        rt_easy=_lerp(traits.rt_zero_naive * 0.6, traits.rt_easy_expert, progress),
        nogo=_lerp(traits.nogo_naive, traits.nogo_expert, progress),
        n_trials=max(60, round(n_trials)),
    )
