"""``group_shared_wheel``: wheel movements and movement-based reaction times.

Tables follow IBL's ``group_shared_wheel`` (reference ``ibl-system.md`` §2.7); the movement
detection is :mod:`brainlab.group_shared.movements` (definitions stated there).
``MovementTimes`` has one row per trial with a detected first movement; it is populated per
session (its key source is the session), so one ``make`` inserts a whole session.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import alf, behavior
from ..schemas import Computed, Imported, Part, classproperty, schema_for
from .movements import extract_moves, first_movements

schema = schema_for("brainlab.group_shared.wheel")


@schema
class WheelMoveSet(Imported):
    definition = """
    # wheel movements of a session
    -> behavior.CompleteWheelSession
    ---
    n_movements:            int           # total number of movements
    total_displacement:     float         # total displacement of the wheel (rad)
    total_distance:         float         # total distance travelled by the wheel (rad)
    n_direction_changes:    int           # total number of direction changes
    """

    class Move(Part):
        definition = """
        -> master
        move_id:            int           # movement number (0-based)
        ---
        movement_onset:     float         # (s)
        movement_offset:    float         # (s)
        max_velocity:       float         # (rad/s)
        movement_amplitude: float         # (rad) end minus start position
        """

    class DirectionChange(Part):
        definition = """
        -> WheelMoveSet.Move
        change_id:          int           # direction change number within the movement
        ---
        change_time:        float         # (s)
        """

    def make(self, key: dict[str, Any]) -> None:
        wheel = alf.load_object(key, "alf", "wheel", namespace="ibl")
        ts = np.asarray(wheel["timestamps"], dtype=float)
        pos = np.asarray(wheel["position"], dtype=float)
        moves = extract_moves(ts, pos)
        n_changes = sum(len(c) for c in moves.direction_changes)
        self.insert1(dict(key, n_movements=len(moves), total_displacement=float(pos[-1] - pos[0]),
                          total_distance=float(np.abs(np.diff(pos)).sum()), n_direction_changes=n_changes))
        self.Move.insert(
            dict(key, move_id=i, movement_onset=float(moves.onsets[i]), movement_offset=float(moves.offsets[i]),
                 max_velocity=float(moves.peak_velocities[i]), movement_amplitude=float(moves.amplitudes[i]))
            for i in range(len(moves)))
        self.DirectionChange.insert(
            dict(key, move_id=i, change_id=j, change_time=float(t))
            for i, times in enumerate(moves.direction_changes) for j, t in enumerate(times))


@schema
class MovementTimes(Computed):
    definition = """
    # the first wheel movement of each trial
    -> behavior.TrialSet.Trial
    ---
    -> WheelMoveSet.Move
    reaction_time:          float         # movement onset - min(stim on, go cue) (s)
    final_movement:         bool          # the first movement is the one that crossed the response threshold
    movement_time=null:     float         # feedback - movement onset (s)
    response_time=null:     float         # feedback - go cue (s)
    movement_onset:         float         # (s)
    """

    @classproperty
    def key_source(cls) -> Any:
        return behavior.TrialSet.proj() & WheelMoveSet

    def make(self, key: dict[str, Any]) -> None:
        onsets, offsets, ids = (WheelMoveSet.Move & key).fetch(
            "movement_onset", "movement_offset", "move_id", order_by="move_id")
        trial_id, stim_on, go_cue, response, feedback = (behavior.TrialSet.Trial & key).fetch(
            "trial_id", "trial_stim_on_time", "trial_go_cue_time", "trial_response_time",
            "trial_feedback_time", order_by="trial_id")
        if not len(trial_id):
            return
        nan = float("nan")

        def arr(x: Any) -> np.ndarray:
            return np.array([nan if v is None else v for v in x], dtype=float)

        stim_on, go_cue, response, feedback = arr(stim_on), arr(go_cue), arr(response), arr(feedback)
        start = np.fmin(stim_on, go_cue)
        end = np.fmin(response, feedback)
        moves = _Moves(arr(onsets), arr(offsets))
        fm = first_movements(moves, start, end, response)  # type: ignore[arg-type]
        rows = []
        for i in np.flatnonzero(fm.move_index >= 0):
            onset = float(fm.onset[i])
            rows.append(dict(key, trial_id=int(trial_id[i]), move_id=int(ids[fm.move_index[i]]),
                             reaction_time=onset - float(start[i]), final_movement=bool(fm.final[i]),
                             movement_time=_or_none(feedback[i] - onset),
                             response_time=_or_none(feedback[i] - go_cue[i]), movement_onset=onset))
        self.insert(rows)


class _Moves:
    """The two columns :func:`first_movements` reads, from the stored Move rows."""

    def __init__(self, onsets: np.ndarray, offsets: np.ndarray) -> None:
        self.onsets = onsets
        self.offsets = offsets

    def __len__(self) -> int:
        return int(self.onsets.size)


def _or_none(x: float) -> float | None:
    return None if np.isnan(x) else float(x)
