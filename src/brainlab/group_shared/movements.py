"""Wheel movements from a rotary-encoder trace, and the first movement of each trial.

The wheel is recorded as one sample per encoder tick (ALF ``_ibl_wheel.position`` in radians,
``_ibl_wheel.timestamps`` in seconds), so position only changes while the wheel turns. A
**movement** is a run of ticks with no gap longer than ``min_gap`` (0.1 s) whose displacement
range reaches ``pos_thresh`` (0.05 rad, about 8 ticks of a 1024-tick encoder, as ibllib's
``extract_wheel_moves`` default of 8 ticks); its **onset** is its first tick and its **offset**
its last. Per movement: peak velocity (largest tick-to-tick speed, after a 3-tick running mean,
in rad/s), amplitude (end minus start position) and the times the direction reverses.

The **first movement** of a trial (reference ``ibl-system.md`` §2.7) is the first movement whose
onset falls in the trial's response window ``[min(stimOn, goCue), min(response, feedback)]``; a
movement already under way when the window opens does not count. It is **final** when it is
also the movement during which the response threshold was crossed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["FirstMovements", "Moves", "extract_moves", "first_movements"]

MIN_GAP = 0.1
POS_THRESH = 0.05


@dataclass(frozen=True)
class Moves:
    """Detected movements (arrays of equal length, in time order)."""

    onsets: np.ndarray
    offsets: np.ndarray
    amplitudes: np.ndarray
    peak_velocities: np.ndarray
    direction_changes: list[np.ndarray]

    def __len__(self) -> int:
        return int(self.onsets.size)


def extract_moves(timestamps: np.ndarray, position: np.ndarray, min_gap: float = MIN_GAP,
                  pos_thresh: float = POS_THRESH) -> Moves:
    """Detect movements in a tick-sampled wheel trace.

    Parameters
    ----------
    timestamps, position : numpy.ndarray
        ALF wheel timestamps (s, increasing) and position (rad).
    min_gap : float
        A pause longer than this (s) ends a movement.
    pos_thresh : float
        Smallest displacement range (rad) that counts as a movement.
    """
    t = np.asarray(timestamps, dtype=float)
    p = np.asarray(position, dtype=float)
    if t.ndim == 2:
        t = t[:, 1]
    if t.size < 2:
        empty = np.empty(0)
        return Moves(empty, empty, empty, empty, [])
    # group boundaries: a gap longer than min_gap, or a sample with no position change after a gap
    breaks = np.flatnonzero(np.diff(t) > min_gap) + 1
    starts = np.concatenate(([0], breaks))
    ends = np.concatenate((breaks, [t.size]))
    onsets, offsets, amps, peaks, changes = [], [], [], [], []
    for a, b in zip(starts, ends):
        # include the sample before the group: it holds the resting position the move left from
        lo = a - 1 if a > 0 else a
        seg_p = p[lo:b]
        if seg_p.size < 2 or np.ptp(seg_p) < pos_thresh:
            continue
        seg_t = t[a:b]
        dp = np.diff(p[a:b]) if b - a > 1 else np.zeros(1)
        dt = np.diff(seg_t) if b - a > 1 else np.ones(1)
        speed = np.abs(dp) / np.maximum(dt, 1e-6)
        if speed.size >= 3:
            speed = np.convolve(speed, np.ones(3) / 3, mode="same")
        sign = np.sign(dp[dp != 0])
        flip = np.flatnonzero(np.diff(sign) != 0) + 1 if sign.size > 1 else np.empty(0, int)
        moving_t = seg_t[1:][dp != 0] if dp.size else seg_t
        onsets.append(seg_t[0])
        offsets.append(seg_t[-1])
        amps.append(float(p[b - 1] - seg_p[0]))
        peaks.append(float(speed.max()) if speed.size else 0.0)
        changes.append(moving_t[flip] if flip.size else np.empty(0))
    return Moves(np.array(onsets), np.array(offsets), np.array(amps), np.array(peaks), changes)


@dataclass(frozen=True)
class FirstMovements:
    """Per trial: index of the first movement (-1 if none), and whether it is the final one."""

    move_index: np.ndarray
    onset: np.ndarray
    final: np.ndarray


def first_movements(moves: Moves, window_start: np.ndarray, window_end: np.ndarray,
                    response_times: np.ndarray) -> FirstMovements:
    """The first movement of each trial's response window (see the module docstring)."""
    start = np.asarray(window_start, dtype=float)
    end = np.asarray(window_end, dtype=float)
    response = np.asarray(response_times, dtype=float)
    idx = np.searchsorted(moves.onsets, start, side="left")
    move_index = np.full(start.size, -1)
    ok = idx < len(moves)
    cand = np.where(ok, idx, 0)
    if len(moves):
        ok &= moves.onsets[cand] <= end
    move_index[ok] = cand[ok]
    onset = np.full(start.size, np.nan)
    final = np.zeros(start.size, bool)
    if len(moves):
        onset[ok] = moves.onsets[cand[ok]]
        final[ok] = (moves.onsets[cand[ok]] <= response[ok]) & (response[ok] <= moves.offsets[cand[ok]] + 1e-9)
    return FirstMovements(move_index, onset, final)
