"""The psychometric model of the IBL task and its maximum-likelihood fit.

The model is ``erf_psycho_2gammas`` (reference ``ibl-system.md`` §4.1), with ``x`` the signed
contrast in percent (right minus left)::

    P(right) = gamma1 + (1 - gamma1 - gamma2) * (erf((x - mu) / sigma) + 1) / 2

with parameters ``[bias mu, threshold sigma, lapse_low gamma1, lapse_high gamma2]``. The
simulator draws choices from it, and :func:`fit_psychometric` fits it the way the pipeline does
(§4.1): Nelder-Mead on the binomial negative log-likelihood, a 1e7 penalty outside the bounds,
start ``[mean(x), 20, 0.05, 0.05]``, bounds ``[min(x), 0, 0, 0]``-``[max(x), 100, 1, 1]`` and
``nfits`` restarts, the later ones uniform within the bounds from a seeded generator.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize
from scipy.special import erf

from labjoin.errors import DataError

__all__ = [
    "ContrastTable",
    "PsychFit",
    "contrast_table",
    "fit_psychometric",
    "psychometric",
]

_EPS = np.finfo(float).eps
_PENALTY = 1e7


def psychometric(
    x: np.ndarray | float, bias: float, threshold: float, lapse_low: float, lapse_high: float
) -> np.ndarray:
    """Return P(rightward choice) at signed contrast ``x`` (percent).

    Examples
    --------
    >>> float(psychometric(0.0, 0.0, 10.0, 0.1, 0.1))
    0.5
    """
    x = np.asarray(x, dtype=float)
    return lapse_low + (1.0 - lapse_low - lapse_high) * (erf((x - bias) / threshold) + 1.0) / 2.0


@dataclass(frozen=True)
class ContrastTable:
    """Choices aggregated per signed contrast, as the pipeline's PsychResults stores them.

    Attributes
    ----------
    signed_contrasts : numpy.ndarray
        Distinct signed contrasts in percent (right minus left), ascending; the two zeros
        (stimulus left at 0 % and right at 0 %) are merged.
    n_trials : numpy.ndarray
        Trials per contrast, No-Go trials included.
    n_right : numpy.ndarray
        Rightward (``choice == -1``, "CCW") trials per contrast.
    """

    signed_contrasts: np.ndarray
    n_trials: np.ndarray
    n_right: np.ndarray

    @property
    def prob_right(self) -> np.ndarray:
        """Fraction of rightward choices per contrast."""
        return self.n_right / self.n_trials


def contrast_table(contrast_left: np.ndarray, contrast_right: np.ndarray, choice: np.ndarray) -> ContrastTable:
    """Aggregate trials per signed contrast (NaN contrasts count as 0, as in the pipeline).

    Parameters
    ----------
    contrast_left, contrast_right : numpy.ndarray
        ALF ``trials.contrastLeft`` / ``contrastRight`` (fractions, NaN on the other side).
    choice : numpy.ndarray
        ALF ``trials.choice``: -1 rightward (CCW), +1 leftward (CW), 0 No-Go.
    """
    signed = np.round((np.nan_to_num(contrast_right) - np.nan_to_num(contrast_left)) * 100.0, 6)
    values, inverse = np.unique(signed, return_inverse=True)
    n = np.bincount(inverse, minlength=values.size).astype(float)
    n_right = np.bincount(inverse, weights=(choice == -1).astype(float), minlength=values.size)
    return ContrastTable(values, n, n_right)


@dataclass(frozen=True)
class PsychFit:
    """A fitted psychometric curve; ``nll`` is the negative log-likelihood at the optimum."""

    bias: float
    threshold: float
    lapse_low: float
    lapse_high: float
    nll: float

    def as_dict(self) -> dict[str, float]:
        """Return the four parameters (no likelihood) as a dict."""
        return {
            "bias": self.bias,
            "threshold": self.threshold,
            "lapse_low": self.lapse_low,
            "lapse_high": self.lapse_high,
        }


def _neg_log_likelihood(
    params: np.ndarray, x: np.ndarray, n_right: np.ndarray, n_left: np.ndarray, low: tuple[float, ...],
    high: tuple[float, ...],
) -> float:
    # Plain float comparisons: this runs ~500 times per fit, numpy reductions would dominate.
    bias, threshold, lapse_low, lapse_high = params
    if not (
        low[0] <= bias <= high[0] and 0.0 < threshold <= high[1]
        and 0.0 <= lapse_low <= high[2] and 0.0 <= lapse_high <= high[3]
    ):
        return _PENALTY
    prob = lapse_low + (1.0 - lapse_low - lapse_high) * (erf((x - bias) / threshold) + 1.0) / 2.0
    np.clip(prob, _EPS, 1.0 - _EPS, out=prob)
    return float(-(n_right @ np.log(prob) + n_left @ np.log(1.0 - prob)))


def fit_psychometric(table: ContrastTable, nfits: int = 5, seed: int = 0) -> PsychFit:
    """Fit ``erf_psycho_2gammas`` by maximum likelihood (reference §4.1).

    Parameters
    ----------
    table : ContrastTable
        Aggregated choices (see :func:`contrast_table`).
    nfits : int
        Number of Nelder-Mead runs; the first starts at ``[mean(x), 20, 0.05, 0.05]``, the
        others at points drawn uniformly within the bounds.
    seed : int
        Seed of the restart points, so a fit is reproducible.

    Returns
    -------
    PsychFit
        The best of the runs.
    """
    x = table.signed_contrasts.astype(float)
    n_right = table.n_right.astype(float)
    n_left = table.n_trials.astype(float) - n_right
    low = np.array([x.min(), 0.0, 0.0, 0.0])
    high = np.array([x.max(), 100.0, 1.0, 1.0])
    if x.min() == x.max():
        # A single contrast cannot constrain the bias; widen its bounds so the fit still runs.
        low[0], high[0] = x.min() - 100.0, x.max() + 100.0
    if nfits < 1:
        raise DataError(f"fit_psychometric needs nfits >= 1, got {nfits}.")
    rng = np.random.default_rng(seed)
    runs = []
    for i in range(nfits):
        start = np.array([x.mean(), 20.0, 0.05, 0.05]) if i == 0 else rng.uniform(low, high)
        runs.append(
            minimize(
                _neg_log_likelihood,
                start,
                args=(x, n_right, n_left, tuple(low), tuple(high)),
                method="Nelder-Mead",
                options={"xatol": 1e-4, "fatol": 1e-4, "maxiter": 800, "maxfev": 800},
            )
        )
    # The first run wins ties, so adding restarts never changes an already-optimal answer.
    best = min(runs, key=lambda res: float(res.fun))
    bias, threshold, lapse_low, lapse_high = (float(v) for v in best.x)
    return PsychFit(bias, threshold, lapse_low, lapse_high, float(best.fun))
