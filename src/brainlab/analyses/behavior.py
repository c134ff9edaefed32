"""``analyses_behavior``: psychometric fits, reaction times, daily summaries, training status.

Tables, keys and attributes follow IBL's ``ibl_analyses_behavior`` (reference ``ibl-system.md``
§2.8); every measure is defined in :mod:`brainlab.analyses.psych` and the training-status rules
in :mod:`brainlab.analyses.training`. Session blocks are keyed ``prob_left_block`` = 20/50/80
(round(p·10)·10); the by-date part keys blocks 0 (p = 0.5), 1 (0.2) and 2 (0.8), as IBL did.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np

import labjoin as dj

from .. import acquisition, behavior, subject  # noqa: F401 (subject: named in the definitions)
from ..schemas import Computed, Lookup, Part, classproperty, schema_for
from . import psych
from .trials import Trials, fetch_trials

schema = schema_for("brainlab.analyses.behavior")

_PSYCH_COLUMNS = """
    signed_contrasts:       blob          # contrasts used in this session, right - left (fraction)
    n_trials_stim:          blob          # number of trials for each contrast
    n_trials_stim_right:    blob          # number of right choices for each contrast
    prob_choose_right:      blob          # probability of choosing right, same size as contrasts
    threshold:              float         # (%)
    bias:                   float         # (%)
    lapse_low:              float
    lapse_high:             float
"""

BIASED_PROTOCOLS = ("biased", "ephys")


def psych_row(trials: Trials) -> dict[str, Any]:
    """The contrast table and fit of some trials, as PsychResults columns."""
    counts = psych.contrast_counts(trials.signed_contrast, trials.rightward)
    fitted = psych.fit(counts)
    return dict(signed_contrasts=counts.signed_contrasts, n_trials_stim=counts.n_trials_stim,
                n_trials_stim_right=counts.n_trials_stim_right, prob_choose_right=counts.prob_choose_right,
                **fitted.as_dict())


def session_blocks(trials: Trials, task_protocol: str | None) -> dict[int, tuple[float, Trials]]:
    """{prob_left_block: (prob_left, trials)}: one per probability for biased/ephys protocols."""
    if task_protocol and any(p in task_protocol for p in BIASED_PROTOCOLS):
        out = {}
        for p in np.unique(trials.prob_left[np.isfinite(trials.prob_left)]):
            out[round(float(p) * 10) * 10] = (float(p), trials.select(np.isclose(trials.prob_left, p)))
        return out
    return {50: (0.5, trials)}


def _protocol(key: dict[str, Any]) -> str | None:
    return (acquisition.Session & key).fetch1("task_protocol")


@schema
class PsychResults(Computed):
    definition = """
    -> behavior.TrialSet
    ---
    performance:            float         # fraction of correct trials (n_correct / n_trials)
    performance_easy=null:  float         # fraction correct on |contrast| > 0.499
    """ + _PSYCH_COLUMNS

    def make(self, key: dict[str, Any]) -> None:
        trials = fetch_trials(key)
        n_trials, n_correct = (behavior.TrialSet & key).fetch1("n_trials", "n_correct_trials")
        self.insert1(dict(key, performance=n_correct / n_trials if n_trials else 0.0,
                          performance_easy=psych.performance_easy(trials.signed_contrast, trials.choice),
                          **psych_row(trials)))


@schema
class PsychResultsBlock(Computed):
    definition = """
    -> behavior.TrialSet
    prob_left_block:        int           # 20, 50 or 80 (round(prob_left * 10) * 10)
    ---
    prob_left:              float         # probability of the stimulus on the left in this block
    """ + _PSYCH_COLUMNS

    @classproperty
    def key_source(cls) -> Any:
        return behavior.TrialSet.proj()

    def make(self, key: dict[str, Any]) -> None:
        trials = fetch_trials(key)
        for block, (p, sel) in session_blocks(trials, _protocol(key)).items():
            self.insert1(dict(key, prob_left_block=block, prob_left=p, **psych_row(sel)))


def _has_rt_times() -> Any:
    return behavior.CompleteTrialSession & [
        'stim_on_times_status in ("Complete", "Partial")', 'go_cue_trigger_times_status = "Complete"']


@schema
class ReactionTime(Computed):
    definition = """
    -> PsychResults
    ---
    reaction_time:          blob          # median reaction time (s) per signed contrast of PsychResults
    """

    @classproperty
    def key_source(cls) -> Any:
        return PsychResults & _has_rt_times()

    def make(self, key: dict[str, Any]) -> None:
        trials = fetch_trials(key)
        rt = psych.rt_per_contrast(trials.signed_contrast, trials.reaction_time, with_ci=False)
        self.insert1(dict(key, reaction_time=rt["reaction_time"]))


@schema
class ReactionTimeContrastBlock(Computed):
    definition = """
    -> PsychResultsBlock
    ---
    reaction_time_contrast:   blob        # median reaction time (s) per signed contrast of the block
    reaction_time_ci_high:    blob        # 68 % bootstrap interval of the median, upper end
    reaction_time_ci_low:     blob        # lower end
    """

    @classproperty
    def key_source(cls) -> Any:
        return PsychResultsBlock & _has_rt_times()

    def make(self, key: dict[str, Any]) -> None:
        trials = fetch_trials({k: v for k, v in key.items() if k != "prob_left_block"})
        blocks = session_blocks(trials, _protocol(key))
        _, sel = blocks[key["prob_left_block"]]
        rt = psych.rt_per_contrast(sel.signed_contrast, sel.reaction_time)
        self.insert1(dict(key, reaction_time_contrast=rt["reaction_time"], reaction_time_ci_high=rt["ci_high"],
                          reaction_time_ci_low=rt["ci_low"]))


def training_day(subject_uuid: Any, date: dt.date) -> int:
    """Distinct session dates up to ``date`` whose protocol is not habituation (or is NULL)."""
    starts, protocols = (acquisition.Session & {"subject_uuid": subject_uuid}).fetch(
        "session_start_time", "task_protocol")
    dates = {s.date() for s, p in zip(starts, protocols)
             if s.date() <= date and (p is None or "habituation" not in p.lower())}
    return len(dates)


@schema
class BehavioralSummaryByDate(Computed):
    definition = """
    -> subject.Subject
    session_date:           date          # date of recording
    ---
    performance:            float         # fraction of correct trials over the day
    performance_easy=null:  float         # fraction correct on easy trials over the day
    n_trials_date:          int           # number of trials on the day
    training_day:           int           # days of training up to this date (habituation excluded)
    training_week:          int           # floor(training_day / 5)
    """

    @classproperty
    def key_source(cls) -> Any:
        return dj.U("subject_uuid", "session_date") & behavior.TrialSet.proj(
            session_date="DATE(session_start_time)")

    class PsychResults(Part):
        definition = """
        -> master
        prob_left_block:    int           # 0: p = 0.5 (and training sessions), 1: 0.2, 2: 0.8
        ---
        prob_left:          float
        """ + _PSYCH_COLUMNS

    class ReactionTimeContrast(Part):
        definition = """
        -> BehavioralSummaryByDate.PsychResults
        ---
        reaction_time_contrast:  blob
        reaction_time_ci_high:   blob
        reaction_time_ci_low:    blob
        """

    class ReactionTimeByDate(Part):
        definition = """
        -> master
        ---
        median_reaction_time:  float     # median reaction time (s) over all trials of the day
        """

    def make(self, key: dict[str, Any]) -> None:
        day = key["session_date"]
        if isinstance(day, str):  # a projected DATE() comes back as text on SQLite
            day = dt.date.fromisoformat(day[:10])
            key = dict(key, session_date=day)
        starts = (behavior.TrialSet & {"subject_uuid": key["subject_uuid"]}).fetch("session_start_time")
        sessions = [{"subject_uuid": key["subject_uuid"], "session_start_time": s} for s in starts
                    if s.date() == day]
        trials = fetch_trials(sessions)
        n_trials, n_correct = (behavior.TrialSet & sessions).fetch("n_trials", "n_correct_trials")
        total = int(np.sum(n_trials))
        tday = training_day(key["subject_uuid"], day)
        self.insert1(dict(key, performance=float(np.sum(n_correct)) / total if total else 0.0,
                          performance_easy=psych.performance_easy(trials.signed_contrast, trials.choice),
                          n_trials_date=trials.n, training_day=tday, training_week=tday // 5))
        # Blocks: training trials pool with the 0.5 trials of biased sessions (reference §4.3).
        for block, p in ((0, 0.5), (1, 0.2), (2, 0.8)):
            sel = trials.select(np.isclose(trials.prob_left, p) | (np.isnan(trials.prob_left) & (p == 0.5)))
            if sel.n == 0:
                continue
            self.PsychResults.insert1(dict(key, prob_left_block=block, prob_left=p, **psych_row(sel)))
            rt = psych.rt_per_contrast(sel.signed_contrast, sel.reaction_time)
            self.ReactionTimeContrast.insert1(dict(
                key, prob_left_block=block, reaction_time_contrast=rt["reaction_time"],
                reaction_time_ci_high=rt["ci_high"], reaction_time_ci_low=rt["ci_low"]))
        rts = trials.reaction_time[np.isfinite(trials.reaction_time)]
        if rts.size:
            self.ReactionTimeByDate.insert1(dict(key, median_reaction_time=float(np.median(rts))))


@schema
class TrainingStatus(Lookup):
    definition = """
    training_status:        varchar(32)
    """
    contents = [(s,) for s in ("untrainable", "unbiasable", "in_training", "trained_1a", "trained_1b",
                               "ready4ephysrig", "ready4delay", "ready4recording")]


@schema
class SessionTrainingStatus(Computed):
    definition = """
    -> PsychResults
    ---
    -> TrainingStatus
    good_enough_for_brainwide_map=0:  bool  # n_trials > 400, performance_easy > 0.9, ephys protocol
    """

    @classproperty
    def key_source(cls) -> Any:
        return PsychResults.proj() & behavior.Settings & behavior.SessionDelay

    def make(self, key: dict[str, Any]) -> None:
        from .training import session_status

        decision = session_status(key)
        self.insert1(dict(key, training_status=decision.status,
                          good_enough_for_brainwide_map=decision.good_enough_for_brainwide_map))
