"""Trials and wheel data of one behaviour session, drawn from the ground-truth model.

A trial follows the IBL task (reference ``ibl-system.md`` §3.4 and the task description on the
public site): a quiescent period, then the visual stimulus and the go cue together; the mouse
turns the wheel until the stimulus reaches the centre (a response), or does nothing for 60 s
(a No-Go); feedback follows at once (a reward of ``rewardVolume`` uL if correct, a noise burst
if not); the stimulus stays 1 s after a correct choice and 2 s after an error; then a 0.5 s
inter-trial interval. Choices come from :func:`~brainlab.simulate.psychometrics.psychometric`
with the session's ground-truth parameters. Reaction times (response minus stimulus onset) are
log-normal with a median that falls with contrast. The wheel follows minimum-jerk movements and
is sampled at each encoder tick, as the rig's rotary encoder reports it.

Conventions: ``choice == -1`` is a counter-clockwise turn, which reports a stimulus on the
right (pipeline "CCW" = rightward); it moves the wheel position (radians) up. Times are in
seconds from the start of acquisition.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .learning import SessionParams

__all__ = [
    "BIASED_CONTRASTS",
    "TRAINING_CONTRAST_LEVELS",
    "SessionData",
    "generate_session",
]

#: Contrast sets of trainingChoiceWorld, introduced one level at a time as the mouse improves.
TRAINING_CONTRAST_LEVELS: tuple[tuple[float, ...], ...] = (
    (1.0, 0.5),
    (1.0, 0.5, 0.25),
    (1.0, 0.5, 0.25, 0.125),
    (1.0, 0.5, 0.25, 0.125, 0.0625, 0.0),
)
#: Contrast set of biasedChoiceWorld and ephysChoiceWorld.
BIASED_CONTRASTS: tuple[float, ...] = (1.0, 0.25, 0.125, 0.0625, 0.0)

#: Wheel turn (rad) that brings the stimulus to the centre: 35 deg of visual angle at 4 deg/mm
#: of wheel surface on a 31 mm radius wheel.
RESPONSE_THRESHOLD_RAD = 35.0 / 4.0 / 31.0
NOGO_TIMEOUT_S = 60.0
_UNBIASED_TRIALS = 90

_S_GRID = np.linspace(0.0, 1.0, 513)
_MINJERK = 10 * _S_GRID**3 - 15 * _S_GRID**4 + 6 * _S_GRID**5


@dataclass
class SessionData:
    """The arrays of one session, keyed by ALF attribute, plus a few totals.

    Attributes
    ----------
    trials : dict
        ``_ibl_trials.<attribute>`` arrays (habituation sessions lack ``choice``,
        ``response_times``, ``probabilityLeft`` and ``firstMovement_times``, as on the rig).
    wheel : dict
        ``position`` (rad) and ``timestamps`` (s), one sample per encoder tick.
    wheel_moves : dict
        ``intervals`` (n, 2) and ``peakAmplitude`` (rad, signed) of every wheel movement.
    ambient : list of dict
        One ambient-sensor reading per trial (``_iblrig_ambientSensorData.raw.jsonable``).
    duration : float
        Time of the end of the last trial.
    """

    trials: dict[str, np.ndarray]
    wheel: dict[str, np.ndarray]
    wheel_moves: dict[str, np.ndarray]
    ambient: list[dict[str, float]] = field(repr=False)
    duration: float = 0.0

    @property
    def n_trials(self) -> int:
        """Number of trials."""
        return int(self.trials["intervals"].shape[0])

    def ambient_jsonable(self) -> bytes:
        """The ambient readings as JSON lines (the ``.jsonable`` format)."""
        # Formatted by hand (same text as json.dumps with sorted keys): json.dumps per line is slow.
        return "".join(
            f'{{"AirPressure_mb": {r["AirPressure_mb"]!r}, "RelativeHumidity": {r["RelativeHumidity"]!r}, '
            f'"Temperature_C": {r["Temperature_C"]!r}}}\n'
            for r in self.ambient
        ).encode()


def _block_probabilities(n: int, rng: np.random.Generator) -> np.ndarray:
    """90 unbiased trials, then alternating 0.2/0.8 blocks of 20-100 trials (exponential, mean 60)."""
    p = np.full(n, 0.5)
    i = _UNBIASED_TRIALS
    current = 0.2 if rng.random() < 0.5 else 0.8
    while i < n:
        length = 101
        while not 20 <= length <= 100:
            length = int(20.5 + rng.exponential(40.0))
        p[i : i + length] = current
        i += length
        current = 1.0 - current
    return np.round(p, 1)


def _draw_choices(
    kind: str, params: SessionParams, contrasts: tuple[float, ...], p_left: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Sides, contrasts, choices and repeat numbers, trial by trial (repeats need the past)."""
    n = p_left.size
    u = rng.random((n, 4))
    side = np.empty(n, np.int64)  # -1 stimulus left, +1 right
    contrast = np.empty(n)
    choice = np.empty(n, np.int64)
    rep = np.zeros(n, np.int64)
    for i in range(n):
        repeat = kind == "training" and i > 0 and contrast[i - 1] >= 0.5 and choice[i - 1] != -side[i - 1]
        if repeat:
            side[i], contrast[i], rep[i] = side[i - 1], contrast[i - 1], rep[i - 1] + 1
        else:
            side[i] = -1 if u[i, 0] < p_left[i] else 1
            contrast[i] = contrasts[min(int(u[i, 1] * len(contrasts)), len(contrasts) - 1)]
        x = side[i] * contrast[i] * 100.0
        p_right = params.lapse_low + (1 - params.lapse_low - params.lapse_high) * (
            math.erf((x - params.bias_for(p_left[i])) / params.threshold) + 1
        ) / 2
        if u[i, 2] < params.nogo:
            choice[i] = 0
        else:
            choice[i] = -1 if u[i, 3] < p_right else 1
    return side, contrast, choice, rep


def _move_times(onset: np.ndarray, duration: np.ndarray, fraction: np.ndarray) -> np.ndarray:
    """Times at which a minimum-jerk movement has covered ``fraction`` of its amplitude."""
    return onset + duration * np.interp(fraction, _MINJERK, _S_GRID)


def _wheel_from_moves(
    onsets: np.ndarray, durations: np.ndarray, amplitudes: np.ndarray, ticks_per_rev: int
) -> tuple[np.ndarray, np.ndarray]:
    """Tick-by-tick wheel samples of non-overlapping movements (sorted by onset)."""
    tick = 2 * np.pi / ticks_per_rev
    start_pos = np.concatenate([[0.0], np.cumsum(amplitudes)[:-1]])
    end_pos = start_pos + amplitudes
    k_start = np.floor(start_pos / tick + 1e-9).astype(np.int64)
    k_end = np.floor(end_pos / tick + 1e-9).astype(np.int64)
    n_ticks = np.abs(k_end - k_start)
    idx = np.repeat(np.arange(onsets.size), n_ticks)
    step = np.arange(idx.size) - np.repeat(np.cumsum(n_ticks) - n_ticks, n_ticks) + 1
    direction = np.sign(amplitudes)[idx]
    # Moving up, the j-th tick crossed is k_start + j; moving down, the first is k_start itself.
    level = np.where(direction > 0, k_start[idx] + step, k_start[idx] - step + 1)
    position = level * tick
    fraction = np.clip((position - start_pos[idx]) / amplitudes[idx], 0.0, 1.0)
    times = _move_times(onsets[idx], durations[idx], fraction)
    position = np.where(direction > 0, position, position - tick)
    return np.concatenate([[0.0], times]), np.concatenate([[0.0], position])


def generate_session(
    kind: str,
    params: SessionParams,
    contrasts: tuple[float, ...],
    reward_ul: float,
    rng: np.random.Generator,
    t0: float,
    ticks_per_rev: int,
) -> SessionData:
    """Draw the trials and wheel data of one session.

    Parameters
    ----------
    kind : {"habituation", "training", "biased", "ephys"}
        The protocol family.
    params : SessionParams
        Ground-truth parameters of this session.
    contrasts : tuple of float
        Contrast set (fractions).
    reward_ul : float
        Reward volume of a correct trial (uL).
    rng : numpy.random.Generator
        The session's generator.
    t0 : float
        Start of the first trial (s); includes any start delay.
    ticks_per_rev : int
        Rotary-encoder resolution.
    """
    habituation = kind == "habituation"
    n = int(rng.integers(60, 151)) if habituation else params.n_trials
    p_left = _block_probabilities(n, rng) if kind in ("biased", "ephys") else np.full(n, 0.5)
    side, contrast, choice, rep = _draw_choices(kind, params, contrasts, p_left, rng)
    if habituation:
        choice = np.zeros(n, np.int64)
    correct = (choice == -side) if not habituation else np.ones(n, bool)
    quiescent = 0.2 + np.minimum(rng.exponential(0.35, n), 0.3)
    stim_delay = rng.uniform(0.01, 0.035, n)
    cue_delay = rng.uniform(0.0005, 0.0015, n)
    median_rt = params.rt_easy + (params.rt_zero - params.rt_easy) * np.exp(-contrast * 10.0)
    rt = np.clip(median_rt * rng.lognormal(0.0, 0.35, n), 0.12, NOGO_TIMEOUT_S - 1)
    if habituation:
        rt = rng.uniform(1.0, 1.1, n)  # the stimulus glides to the centre on its own
    response = np.where(choice == 0, NOGO_TIMEOUT_S, rt) if not habituation else rt
    feedback_delay = rng.uniform(0.0001, 0.0005, n)
    post = np.where(correct, 1.0, 2.0) + 0.5 + rng.uniform(0.0, 0.02, n)
    if habituation:
        post = post + rng.uniform(4.0, 12.0, n)
    durations = quiescent + stim_delay + response + feedback_delay + post
    gaps = rng.uniform(0.001, 0.01, n)
    starts = t0 + np.concatenate([[0.0], np.cumsum(durations + gaps)[:-1]])
    trigger = starts + quiescent
    stim_on = trigger + stim_delay
    response_times = stim_on + response
    feedback_times = response_times + feedback_delay
    ends = starts + durations

    # Wheel: the choice movement crosses the threshold exactly at the response time.
    moving = choice != 0
    amp = -choice * RESPONSE_THRESHOLD_RAD * rng.uniform(1.15, 1.5, n)
    dur = rng.uniform(0.12, 0.3, n)
    s_cross = np.interp(RESPONSE_THRESHOLD_RAD / np.maximum(np.abs(amp), 1e-9), _MINJERK, _S_GRID)
    dur = np.minimum(dur, np.maximum(rt - 0.05, 0.02) / s_cross)
    onset = response_times - dur * s_cross
    first_move = np.where(moving, onset, np.nan)
    wiggle = rng.random(n) < (0.6 if habituation else 0.25)
    w_on = np.where(moving, onset + dur, feedback_times) + rng.uniform(0.1, 0.4, n)
    w_dur = rng.uniform(0.1, 0.25, n)
    w_amp = np.where(rng.random(n) < 0.5, -1.0, 1.0) * (0.02 + np.abs(rng.normal(0.0, 0.04, n)))
    onsets = np.concatenate([onset[moving], w_on[wiggle]])
    mdur = np.concatenate([dur[moving], w_dur[wiggle]])
    mamp = np.concatenate([amp[moving], w_amp[wiggle]])
    order = np.argsort(onsets, kind="stable")
    onsets, mdur, mamp = onsets[order], mdur[order], mamp[order]
    timestamps, position = _wheel_from_moves(onsets, mdur, mamp, ticks_per_rev)

    cl = np.where(side < 0, contrast, np.nan)
    cr = np.where(side > 0, contrast, np.nan)
    trials: dict[str, np.ndarray] = {
        "intervals": np.column_stack([starts, ends]),
        "contrastLeft": cl,
        "contrastRight": cr,
        "feedbackType": np.where(correct, 1, -1).astype(np.int64),
        "feedback_times": feedback_times,
        "stimOn_times": stim_on,
        "goCue_times": trigger + cue_delay,
        "goCueTrigger_times": trigger,
        "rewardVolume": np.where(correct, reward_ul, 0.0),
        "itiDuration": np.full(n, 0.5),
    }
    if not habituation:
        trials.update(
            choice=choice,
            response_times=response_times,
            probabilityLeft=p_left,
            firstMovement_times=first_move,
            repNum=rep,
            included=np.ones(n, bool),
        )
    temp = 22.0 + rng.normal(0, 0.3) + np.cumsum(rng.normal(0, 0.01, n))
    ambient = [
        {"Temperature_C": round(float(t), 2), "AirPressure_mb": round(float(p), 2), "RelativeHumidity": round(float(h), 2)}
        for t, p, h in zip(temp, 1013.0 + rng.normal(0, 0.5, n), 45.0 + rng.normal(0, 1.0, n))
    ]
    return SessionData(
        trials=trials,
        wheel={"position": position, "timestamps": timestamps},
        wheel_moves={"intervals": np.column_stack([onsets, onsets + mdur]), "peakAmplitude": mamp},
        ambient=ambient,
        duration=float(ends[-1]),
    )
