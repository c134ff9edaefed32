"""Training status, computed chronologically per subject (reference ``ibl-system.md`` §4.4).

The rules are those of :mod:`brainlab.simulate.training_rules` (one implementation for the
simulator and the pipeline, so the pipeline can be checked against the simulator's ground
truth). What differs from IBL's ``SessionTrainingStatus.make``:

* **Order independence.** IBL read the statuses already stored for earlier sessions, so the
  result depended on populating sessions in chronological order (a late TrialSet, or a
  session populated out of order, gave wrong sticky statuses). Here the status of a session is
  computed from the subject's whole history up to it: every earlier session's status is
  recomputed in order (memoised per process), so any populate order gives the same rows.
* **The 'unbiasable' bug is not reproduced.** In IBL, once a subject had 40 biased sessions
  without reaching ``ready4ephysrig``, the code assigned 'unbiasable' to a local variable and
  went on, so a later rule overwrote it and 'unbiasable' was never stored. The rules here give
  the statuses IBL actually produced, so the ``TrainingStatus`` lookup lists 'unbiasable' (for
  compatibility) but no session gets it.

The fits inside the rules use the simulator's maximum-likelihood fit of the same
``erf_psycho_2gammas`` model with the same start values and bounds as psychofit.
"""

from __future__ import annotations

import threading
from typing import Any

from .. import acquisition, behavior
from ..simulate.training_rules import SessionTrials, StatusDecision, decide_status
from .trials import fetch_trials

__all__ = ["clear_cache", "session_status", "subject_history"]

_lock = threading.Lock()
_trials_cache: dict[tuple[Any, ...], SessionTrials] = {}
_decisions: dict[tuple[Any, ...], tuple[list[tuple[Any, ...]], list[StatusDecision]]] = {}


def clear_cache() -> None:
    """Forget memoised histories (after data were deleted or re-imported)."""
    with _lock:
        _trials_cache.clear()
        _decisions.clear()


def _scope() -> tuple[Any, ...]:
    return (id(behavior.TrialSet.connection), behavior.TrialSet.database)


def subject_history(subject_uuid: Any, until: Any) -> list[SessionTrials]:
    """The subject's sessions with a TrialSet, rig settings and delay, started up to ``until``."""
    query = (behavior.TrialSet * acquisition.Session * behavior.Settings * behavior.SessionDelay
             & {"subject_uuid": subject_uuid})
    starts, uuids, protocols, boards, delays, n_trials = query.fetch(
        "session_start_time", "session_uuid", "task_protocol", "pybpod_board", "session_delay_in_secs",
        "n_trials", order_by="session_start_time")
    history = []
    scope = _scope()
    for start, uid, protocol, board, delay, n in zip(starts, uuids, protocols, boards, delays, n_trials):
        if start > until:
            break
        cache_key = (*scope, str(uid), start, int(n))
        item = _trials_cache.get(cache_key)
        if item is None:
            trials = fetch_trials({"subject_uuid": subject_uuid, "session_start_time": start})
            item = SessionTrials.from_trials(str(uid), start, protocol or "", board or "", float(delay),
                                             trials.as_alf())
            _trials_cache[cache_key] = item
        history.append(item)
    return history


def session_status(key: dict[str, Any]) -> StatusDecision:
    """Status of the session ``key`` from its subject's history (see the module docstring)."""
    history = subject_history(key["subject_uuid"], key["session_start_time"])
    ident = [(s.session_uuid, s.start_time, s.n_trials) for s in history]
    memo_key = (*_scope(), str(key["subject_uuid"]))
    with _lock:
        known_ident, known = _decisions.get(memo_key, ([], []))
        n_common = 0
        while n_common < min(len(known_ident), len(ident)) and known_ident[n_common] == ident[n_common]:
            n_common += 1
        decisions = list(known[:n_common])
    for i in range(n_common, len(history)):
        decisions.append(decide_status(history[: i + 1], [d.status for d in decisions]))
    with _lock:
        old_ident, _ = _decisions.get(memo_key, ([], []))
        if len(ident) >= len(old_ident):
            _decisions[memo_key] = (ident, decisions)
    return decisions[-1]
