"""Reading trials from the database as arrays, in the ALF conventions the analyses use."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import behavior

__all__ = ["CHOICE_CODES", "Trials", "fetch_trials"]

#: trial_response_choice -> ALF choice (-1 CCW = rightward, +1 CW = leftward, 0 No Go).
CHOICE_CODES = {"CCW": -1, "CW": 1, "No Go": 0}

_FIELDS = ("subject_uuid", "session_start_time", "trial_id", "trial_start_time", "trial_end_time",
           "trial_stim_contrast_left", "trial_stim_contrast_right", "trial_response_choice",
           "trial_stim_prob_left", "trial_stim_on_time", "trial_go_cue_trigger_time", "trial_go_cue_time",
           "trial_response_time", "trial_feedback_time", "trial_feedback_type")


def _floats(values: Any) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in values], dtype=float)


@dataclass(frozen=True)
class Trials:
    """Trial arrays of one or more sessions (in session, then trial order)."""

    session_start_time: np.ndarray
    trial_id: np.ndarray
    trial_start: np.ndarray
    trial_end: np.ndarray
    contrast_left: np.ndarray
    contrast_right: np.ndarray
    choice: np.ndarray
    prob_left: np.ndarray
    stim_on: np.ndarray
    go_cue_trigger: np.ndarray
    go_cue: np.ndarray
    response: np.ndarray
    feedback: np.ndarray
    feedback_type: np.ndarray

    @property
    def n(self) -> int:
        return int(self.trial_id.size)

    @property
    def signed_contrast(self) -> np.ndarray:
        """contrast_right - contrast_left (fraction)."""
        return self.contrast_right - self.contrast_left

    @property
    def rightward(self) -> np.ndarray:
        return self.choice == -1

    @property
    def reaction_time(self) -> np.ndarray:
        """response - stimulus on, or response - go-cue trigger where stimulus on is missing."""
        ref = np.where(np.isnan(self.stim_on), self.go_cue_trigger, self.stim_on)
        return self.response - ref

    def select(self, mask: np.ndarray) -> Trials:
        """The trials where ``mask`` is true."""
        return Trials(**{name: getattr(self, name)[mask] for name in self.__dataclass_fields__})

    def as_alf(self) -> dict[str, np.ndarray]:
        """ALF-named arrays (as ``one.alf.io.load_object(..., 'trials')`` returns them)."""
        return {"contrastLeft": self.contrast_left, "contrastRight": self.contrast_right,
                "choice": self.choice, "probabilityLeft": self.prob_left,
                "response_times": self.response, "stimOn_times": self.stim_on}


def fetch_trials(restriction: Any) -> Trials:
    """Trials of ``TrialSet.Trial & restriction`` (a key, a list of keys or a query)."""
    cols = (behavior.TrialSet.Trial & restriction).fetch(*_FIELDS[1:], order_by=["session_start_time", "trial_id"])
    (start_time, trial_id, t0, t1, cl, cr, choice, pl, stim_on, trig, go, resp, fb, fbt) = cols
    return Trials(
        session_start_time=np.asarray(start_time), trial_id=np.asarray(trial_id, dtype=int),
        trial_start=_floats(t0), trial_end=_floats(t1), contrast_left=_floats(cl), contrast_right=_floats(cr),
        choice=np.array([CHOICE_CODES[c] for c in choice], dtype=int), prob_left=_floats(pl),
        stim_on=_floats(stim_on), go_cue_trigger=_floats(trig), go_cue=_floats(go), response=_floats(resp),
        feedback=_floats(fb), feedback_type=np.asarray(fbt, dtype=int))
