"""Behaviour measures, stated explicitly (reference ``ibl-system.md`` §4.1-§4.3).

* **signed contrast** = contrast_right - contrast_left (a fraction; NaN contrast counts as 0).
  "Rightward" means ``trial_response_choice == "CCW"`` (ALF choice -1). The same sign is used
  for reaction times (IBL's RT helpers used left - right, the opposite sign of its psychometric
  functions; brainlab does not reproduce that inconsistency).
* **psychometric fit**: psychofit's ``erf_psycho_2gammas``, x = signed contrast in %:
  ``P(right) = lapse_low + (1 - lapse_low - lapse_high) * (erf((x - bias) / threshold) + 1) / 2``,
  maximum likelihood with ``psychofit.mle_fit_psycho``: start ``[mean(x), 20, 0.05, 0.05]``,
  bounds ``[min(x), 0, 0, 0]``-``[max(x), 100, 1, 1]``, 5 restarts whose start points psychofit
  draws from NumPy's global generator, which brainlab seeds (and restores) around every fit, so
  a fit is reproducible.
* **performance** = n_correct / n_trials (TrialSet); **performance_easy** = fraction correct
  over trials with |signed contrast| > 0.499, NULL with no easy trial; correct = CCW with a
  positive contrast or CW with a negative one.
* **reaction time** = response - stimulus on (go-cue trigger when stimulus on is missing);
  per contrast: the median, with a 68 % bootstrap interval of the median (1000 resamples,
  seeded, percentiles 16 and 84).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import psychofit

from labjoin import errors

__all__ = [
    "FIT_SEED",
    "ContrastCounts",
    "Fit",
    "bootstrap_fit",
    "bootstrap_replicates",
    "contrast_counts",
    "fit",
    "median_ci",
    "performance_easy",
    "rt_per_contrast",
]

FIT_SEED = 0
NFITS = 5
EASY = 0.499


@dataclass(frozen=True)
class ContrastCounts:
    """Trials aggregated per signed contrast (fractions, ascending; the two zeros merged)."""

    signed_contrasts: np.ndarray
    n_trials_stim: np.ndarray
    n_trials_stim_right: np.ndarray

    @property
    def prob_choose_right(self) -> np.ndarray:
        return self.n_trials_stim_right / np.maximum(self.n_trials_stim, 1)


def contrast_counts(signed: np.ndarray, right: np.ndarray) -> ContrastCounts:
    """Aggregate per signed contrast; ``right`` is a boolean array (choice == CCW)."""
    values, inverse = np.unique(np.round(np.asarray(signed, dtype=float), 6), return_inverse=True)
    n = np.bincount(inverse, minlength=values.size)
    n_right = np.bincount(inverse, weights=np.asarray(right, dtype=float), minlength=values.size)
    return ContrastCounts(values, n.astype(int), n_right.astype(int))


@dataclass(frozen=True)
class Fit:
    """Fitted parameters (contrast in %)."""

    bias: float
    threshold: float
    lapse_low: float
    lapse_high: float

    def as_dict(self) -> dict[str, float]:
        return {"bias": self.bias, "threshold": self.threshold, "lapse_low": self.lapse_low,
                "lapse_high": self.lapse_high}


def _bounds(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    start = np.array([x.mean(), 20.0, 0.05, 0.05])
    low = np.array([x.min(), 0.0, 0.0, 0.0])
    high = np.array([x.max(), 100.0, 1.0, 1.0])
    if x.min() == x.max():  # one contrast cannot place the bias: widen so the fit still runs
        low[0], high[0] = x.min() - 100.0, x.max() + 100.0
    return start, low, high


def fit(counts: ContrastCounts, seed: int = FIT_SEED, nfits: int = NFITS) -> Fit:
    """Maximum-likelihood ``erf_psycho_2gammas`` fit with psychofit (see the module docstring).

    The same counts always give the same fit (the restarts are seeded), so fits are memoised
    by content: a training session's block fit and a single-session day's fit reuse the
    session's, which makes populating about twice as fast.
    """
    memo = (counts.signed_contrasts.tobytes(), counts.n_trials_stim.tobytes(),
            counts.n_trials_stim_right.tobytes(), seed, nfits)
    found = _FITS.get(memo)
    if found is None:
        found = _fit(counts, seed, nfits)
        if len(_FITS) >= _FITS_MAX:
            _FITS.pop(next(iter(_FITS)))
        _FITS[memo] = found
    return found


_FITS: dict[tuple[Any, ...], Fit] = {}
_FITS_MAX = 4096


def _fit(counts: ContrastCounts, seed: int, nfits: int) -> Fit:
    x = counts.signed_contrasts * 100.0
    data = np.vstack([x, counts.n_trials_stim, counts.prob_choose_right])
    start, low, high = _bounds(x)
    state = np.random.get_state()
    np.random.seed(seed)
    try:
        pars, _ = psychofit.mle_fit_psycho(data, "erf_psycho_2gammas", parstart=start, parmin=low,
                                           parmax=high, nfits=nfits)
    finally:
        np.random.set_state(state)
    return Fit(*(float(v) for v in pars))


def bootstrap_replicates(counts: ContrastCounts, n_boot: int = 100, seed: int = 1, *,
                         scheme: str = "nonparametric", nfits: int = 2) -> np.ndarray:
    """Refit ``n_boot`` resampled data sets; returns an ``(n_boot, 4)`` array of parameters.

    ``scheme="nonparametric"`` redraws the rightward count at every contrast from a binomial
    whose probability is the observed proportion smoothed by half a trial, ``(k + 0.5) / (n + 1)``,
    so that a contrast where no lapse was seen still varies. ``"parametric"`` (Wichmann & Hill
    2001) draws from the *fitted* curve instead; on the simulator its intervals are too narrow
    (a lapse fitted at 0 makes replicates without lapses: nominal 99 % intervals held the truth
    for 96.3 % of parameters), while the smoothed non-parametric ones are conservative (99.7 %;
    docs/brainlab.md, "Recovery of the ground truth").
    Each replicate is refitted with psychofit from the reference start values and bounds of
    :func:`fit`, plus ``nfits - 1`` seeded random restarts. (Starting from the point estimate
    instead is a trap: psychofit's Nelder-Mead builds its first simplex from 5 % steps of the
    start, which are nil for a lapse fitted at 0, so the replicates barely move and the
    intervals come out far too narrow.)
    """
    if scheme not in ("parametric", "nonparametric"):
        raise errors.DataError(f"bootstrap scheme {scheme!r}: use 'parametric' or 'nonparametric'.")
    rng = np.random.default_rng(seed)
    x = counts.signed_contrasts * 100.0
    start, low, high = _bounds(x)
    n = counts.n_trials_stim
    if scheme == "parametric":
        best = fit(counts)
        p = psychofit.erf_psycho_2gammas(np.array([best.bias, best.threshold, best.lapse_low, best.lapse_high]), x)
    else:
        p = (counts.n_trials_stim_right + 0.5) / (n + 1.0)
    reps = np.empty((n_boot, 4))
    state = np.random.get_state()
    np.random.seed(seed)
    try:
        for i in range(n_boot):
            right = rng.binomial(n, p)
            data = np.vstack([x, n, right / np.maximum(n, 1)])
            reps[i], _ = psychofit.mle_fit_psycho(data, "erf_psycho_2gammas", parstart=start,
                                                  parmin=low, parmax=high, nfits=nfits)
    finally:
        np.random.set_state(state)
    return reps


def bootstrap_fit(counts: ContrastCounts, n_boot: int = 100, seed: int = 1, level: float = 0.99,
                  nfits: int = 2, method: str = "percentile", scheme: str = "nonparametric",
                  replicates: np.ndarray | None = None) -> dict[str, tuple[float, float]]:
    """Bootstrap intervals of the four fit parameters at confidence ``level``.

    The replicates come from :func:`bootstrap_replicates` (or are passed in, to compute several
    levels from one set). ``method="percentile"`` gives the replicates' percentiles;
    ``"normal"`` gives the fit plus or minus z times the replicates' standard deviation, clipped
    to the bounds (steadier with few replicates).
    """
    if method not in ("percentile", "normal"):
        raise errors.DataError(f"bootstrap_fit method {method!r}: use 'percentile' or 'normal'.")
    if not 0.0 < level < 1.0:
        raise errors.DataError(f"bootstrap_fit level {level!r}: give a confidence level between 0 and 1, "
                               "e.g. 0.95.")
    arr = replicates if replicates is not None else bootstrap_replicates(
        counts, n_boot, seed, scheme=scheme, nfits=nfits)
    names = ("bias", "threshold", "lapse_low", "lapse_high")
    if method == "normal":
        from scipy.stats import norm

        x = counts.signed_contrasts * 100.0
        _, low, high = _bounds(x)
        z = float(norm.ppf((1 + level) / 2))
        best = fit(counts)
        centre = np.array([best.bias, best.threshold, best.lapse_low, best.lapse_high])
        sd = arr.std(axis=0, ddof=1)
        lo, hi = np.maximum(centre - z * sd, low), np.minimum(centre + z * sd, high)
        return {name: (float(lo[i]), float(hi[i])) for i, name in enumerate(names)}
    q = [(1 - level) / 2 * 100, (1 + level) / 2 * 100]
    return {name: tuple(float(v) for v in np.percentile(arr[:, i], q)) for i, name in enumerate(names)}


def performance_easy(signed: np.ndarray, choice: np.ndarray) -> float | None:
    """Fraction correct on |signed contrast| > 0.499 (choice as ALF: -1 CCW, +1 CW)."""
    signed = np.asarray(signed, dtype=float)
    easy = np.abs(signed) > EASY
    if not easy.any():
        return None
    correct = ((choice == -1) & (signed > 0)) | ((choice == 1) & (signed < 0))
    return float(correct[easy].mean())


def median_ci(values: np.ndarray, n_boot: int = 1000, seed: int = 0,
              alpha: float = 0.32) -> tuple[float, float, float]:
    """Median and its bootstrap ``1 - alpha`` interval (NaNs ignored); NaNs when empty."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return float("nan"), float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    samples = v[rng.integers(0, v.size, size=(n_boot, v.size))]
    meds = np.median(samples, axis=1)
    lo, hi = np.percentile(meds, [alpha / 2 * 100, (1 - alpha / 2) * 100])
    return float(np.median(v)), float(lo), float(hi)


def rt_per_contrast(signed: np.ndarray, rt: np.ndarray, with_ci: bool = True) -> dict[str, Any]:
    """Median RT (and its 68 % interval) per signed contrast."""
    contrasts = np.unique(np.round(np.asarray(signed, dtype=float), 6))
    med, lo, hi = [], [], []
    for c in contrasts:
        sel = np.isclose(signed, c)
        if with_ci:
            m, a, b = median_ci(rt[sel])
        else:
            finite = rt[sel][np.isfinite(rt[sel])]
            m, a, b = (float(np.median(finite)) if finite.size else float("nan")), np.nan, np.nan
        med.append(m)
        lo.append(a)
        hi.append(b)
    return {"signed_contrasts": contrasts, "reaction_time": np.array(med), "ci_low": np.array(lo),
            "ci_high": np.array(hi)}
