"""``behavior``: trials, wheel, rig settings and ambient sensors, read from a session's ALF files.

Tables, keys and attributes follow IBL's ``ibl_behavior`` (reference ``ibl-system.md`` §2.6, with
the file mapping of §3.4). The ``Complete*`` tables check that the required datasets are
registered on a flatiron repository; when some are missing they write ``MissingDataLog`` rows
instead, and the session is not retried until ingestion registers new files for it (then the
ingestion clears its log rows), so an incomplete session is neither lost nor retried forever.

Trial times are seconds on the session clock, as in the ALF files.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from labjoin import errors

from . import acquisition, alf, data
from .schemas import Computed, Imported, Manual, Part, classproperty, schema_for

schema = schema_for("brainlab.behavior")

#: The 8 datasets a TrialSet needs (reference §3.4), as ``collection/name``.
REQUIRED_TRIALS = [f"alf/_ibl_trials.{a}.npy" for a in (
    "feedback_times", "feedbackType", "intervals", "choice", "response_times", "contrastLeft",
    "contrastRight", "probabilityLeft")]
OPTIONAL_TRIALS = {
    "stim_on_times_status": "alf/_ibl_trials.stimOn_times.npy",
    "rep_num_status": "alf/_ibl_trials.repNum.npy",
    "included_status": "alf/_ibl_trials.included.npy",
    "ambient_sensor_data_status": "raw_behavior_data/_iblrig_ambientSensorData.raw.jsonable",
    "go_cue_times_status": "alf/_ibl_trials.goCue_times.npy",
    "go_cue_trigger_times_status": "alf/_ibl_trials.goCueTrigger_times.npy",
    "reward_volume_status": "alf/_ibl_trials.rewardVolume.npy",
    "iti_duration_status": "alf/_ibl_trials.itiDuration.npy",
}
REQUIRED_WHEEL = ["alf/_ibl_wheel.position.npy", "alf/_ibl_wheel.timestamps.npy"]
SETTINGS_FILE = ("raw_behavior_data", "_iblrig_taskSettings.raw.json")
AMBIENT_FILE = ("raw_behavior_data", "_iblrig_ambientSensorData.raw.jsonable")
CHOICE_LABELS = {-1: "CCW", 0: "No Go", 1: "CW"}


def sessions_with_files(pattern: str) -> Any:
    """Sessions with a flatiron file record whose ``collection/name`` matches a LIKE pattern."""
    return acquisition.Session & (data.FileRecord & alf.FLATIRON & f'dataset_name LIKE "{pattern}"')


@schema
class MissingDataLog(Manual):
    definition = """
    # datasets a Complete* check found missing; the session is skipped until new files arrive
    -> acquisition.Session
    check_name:             varchar(64)   # the table that checked
    missing_data:           varchar(255)  # collection/dataset_name
    ---
    n_file_records:         int           # flatiron file records the session had then
    log_ts=CURRENT_TIMESTAMP:  timestamp
    """


def _log_missing(key: dict[str, Any], check: str, missing: list[str]) -> None:
    n = len(alf.dataset_names(key))
    MissingDataLog.insert([dict(key, check_name=check, missing_data=m, n_file_records=n) for m in missing],
                          skip_duplicates=True)


@schema
class CompleteWheelSession(Computed):
    definition = """
    # sessions with complete wheel data
    -> acquisition.Session
    ---
    wheel_velocity_status:  enum('Missing', 'Complete')
    """

    @classproperty
    def key_source(cls) -> Any:
        return sessions_with_files("%wheel.position%") - (MissingDataLog & {"check_name": cls.__name__})

    def make(self, key: dict[str, Any]) -> None:
        missing = alf.missing(key, REQUIRED_WHEEL)
        if missing:
            _log_missing(key, type(self).__name__, missing)
            return
        velocity = "alf/_ibl_wheel.velocity.npy" in alf.dataset_names(key)
        self.insert1(dict(key, wheel_velocity_status="Complete" if velocity else "Missing"))


@schema
class Wheel(Imported):
    definition = """
    # raw wheel recording
    -> acquisition.Session
    ---
    wheel_start_time:       float         # (s)
    wheel_end_time:         float         # (s)
    wheel_duration:         float         # (s)
    wheel_sampling_rate:    float         # (Hz) 1 / median sample interval
    """

    @classproperty
    def key_source(cls) -> Any:
        return CompleteWheelSession

    def make(self, key: dict[str, Any]) -> None:
        wheel = alf.load_object(key, "alf", "wheel", namespace="ibl")
        ts = np.asarray(wheel["timestamps"], dtype=float)
        if ts.ndim == 2:
            ts = ts[:, 1]
        self.insert1(dict(key, wheel_start_time=float(ts[0]), wheel_end_time=float(ts[-1]),
                          wheel_duration=float(ts[-1] - ts[0]),
                          wheel_sampling_rate=float(1.0 / np.median(np.diff(ts)))))


@schema
class CompleteTrialSession(Computed):
    definition = """
    # sessions with the 8 required trials datasets; status of the optional ones
    -> acquisition.Session
    ---
    stim_on_times_status:         enum('Complete', 'Partial', 'Missing')
    rep_num_status:               enum('Complete', 'Missing')
    included_status:              enum('Complete', 'Missing')
    ambient_sensor_data_status:   enum('Complete', 'Missing')
    go_cue_times_status:          enum('Complete', 'Missing')
    go_cue_trigger_times_status:  enum('Complete', 'Missing')
    reward_volume_status:         enum('Complete', 'Missing')
    iti_duration_status:          enum('Complete', 'Missing')
    """

    @classproperty
    def key_source(cls) -> Any:
        return sessions_with_files("%trials%") - (MissingDataLog & {"check_name": cls.__name__})

    def make(self, key: dict[str, Any]) -> None:
        have = alf.dataset_names(key)
        missing = [r for r in REQUIRED_TRIALS if r not in have]
        if missing:
            _log_missing(key, type(self).__name__, missing)
            return
        row = dict(key)
        for attr, name in OPTIONAL_TRIALS.items():
            row[attr] = "Complete" if name in have else "Missing"
        if row["stim_on_times_status"] == "Complete":
            stim_on = alf.load_object(key, "alf", "trials", namespace="ibl").get("stimOn_times")
            if stim_on is not None and np.isnan(stim_on).any():
                row["stim_on_times_status"] = "Partial"
        self.insert1(row)


def _f(x: Any) -> float | None:
    x = float(x)
    return None if np.isnan(x) else x


@schema
class TrialSet(Imported):
    definition = """
    # a session's trials (ALF trials object)
    -> acquisition.Session
    ---
    n_trials:               int           # total trial numbers in this set
    n_correct_trials=null:  int           # number of the correct trials
    trials_start_time:      float         # start time of the trial set (seconds)
    trials_end_time:        float         # end time of the trial set (seconds)
    """

    @classproperty
    def key_source(cls) -> Any:
        return acquisition.Session & CompleteTrialSession

    class Trial(Part):
        definition = """
        # one trial
        -> master
        trial_id:                   int           # trial identification number (1-based)
        ---
        trial_start_time:           double        # beginning of quiescent period time (seconds)
        trial_end_time:             double        # end of iti (seconds)
        trial_response_time=null:   double        # time of "response" in choiceworld (seconds)
        trial_response_choice:      enum("CCW", "CW", "No Go")  # which choice was made
        trial_stim_on_time=null:    double        # time of stimulus in choiceworld (seconds)
        trial_stim_contrast_left:   float         # contrast of the stimulus on the left
        trial_stim_contrast_right:  float         # contrast of the stimulus on the right
        trial_feedback_time=null:   double        # time of feedback in choiceworld (seconds)
        trial_feedback_type:        tinyint       # whether feedback is positive or negative
        trial_rep_num=null:         int           # the repetition number of the trial
        trial_go_cue_time=null:     float         # time of the go cue - sound onset (seconds)
        trial_go_cue_trigger_time=null:  float    # time of the go cue trigger (seconds)
        trial_stim_prob_left=null:  float         # probability of the stimulus being present on left
        trial_reward_volume=null:   float         # reward volume of each trial
        trial_iti_duration=null:    float         # inter-trial interval
        trial_included=null:        bool          # whether the trial should be included
        """

    class ExcludedTrial(Part):
        definition = """
        -> master
        -> TrialSet.Trial
        """

    def make(self, key: dict[str, Any]) -> None:
        t = alf.load_object(key, "alf", "trials", namespace="ibl")
        n = len(t["choice"])
        for name, values in t.items():
            if len(values) != n:
                raise errors.DataError(f"trials.{name} has {len(values)} values, trials.choice has {n}: "
                                 "the ALF trials object of this session is inconsistent.")
        intervals = np.asarray(t["intervals"], dtype=float)
        choice = np.asarray(t["choice"])
        cl = np.nan_to_num(np.asarray(t["contrastLeft"], dtype=float))
        cr = np.nan_to_num(np.asarray(t["contrastRight"], dtype=float))
        n_correct = int(np.sum((choice == 1) & (cl > 0)) + np.sum((choice == -1) & (cr > 0)))
        self.insert1(dict(key, n_trials=n, n_correct_trials=n_correct,
                          trials_start_time=float(intervals[0, 0]), trials_end_time=float(intervals[-1, 1])))
        keep = ~(np.isnan(intervals[:, 1]) | np.isnan(choice.astype(float))
                 | np.isnan(np.asarray(t["probabilityLeft"], dtype=float)))

        def col(name: str) -> list[Any]:
            if name not in t:
                return [None] * n
            return [_f(v) for v in np.asarray(t[name], dtype=float)]

        cols = {
            "trial_response_time": col("response_times"), "trial_stim_on_time": col("stimOn_times"),
            "trial_feedback_time": col("feedback_times"), "trial_go_cue_time": col("goCue_times"),
            "trial_go_cue_trigger_time": col("goCueTrigger_times"),
            "trial_stim_prob_left": col("probabilityLeft"), "trial_reward_volume": col("rewardVolume"),
            "trial_iti_duration": col("itiDuration"),
        }
        rep = t.get("repNum")
        included = t.get("included")
        rows = []
        for i in np.flatnonzero(keep):
            row = dict(key, trial_id=int(i) + 1, trial_start_time=float(intervals[i, 0]),
                       trial_end_time=float(intervals[i, 1]),
                       trial_response_choice=CHOICE_LABELS[int(choice[i])],
                       trial_stim_contrast_left=float(cl[i]), trial_stim_contrast_right=float(cr[i]),
                       trial_feedback_type=int(t["feedbackType"][i]),
                       trial_rep_num=None if rep is None else int(rep[i]),
                       trial_included=None if included is None else bool(included[i]))
            for name, values in cols.items():
                row[name] = values[i]
            rows.append(row)
        self.Trial.insert(rows)


@schema
class SessionDelayAvailability(Imported):
    definition = """
    -> acquisition.Session
    ---
    error_type:             enum("raw settings not available", "session delay not available")
    """


@schema
class SessionDelay(Imported):
    definition = """
    -> acquisition.Session
    ---
    session_delay_in_secs:  float         # session delay in seconds
    session_delay_in_mins:  float         # session delay in minutes
    """

    @classproperty
    def key_source(cls) -> Any:
        # A failure is recorded in SessionDelayAvailability (filled by make) and not retried
        # until ingestion registers new files for the session and clears it.
        return TrialSet.proj() - SessionDelayAvailability

    def make(self, key: dict[str, Any]) -> None:
        try:
            settings = alf.load_json(key, *SETTINGS_FILE)
        except Exception:
            SessionDelayAvailability.insert1(dict(key, error_type="raw settings not available"),
                                             skip_duplicates=True, allow_direct_insert=True)
            return
        delay = settings.get("SESSION_START_DELAY_SEC")
        if delay is None:
            SessionDelayAvailability.insert1(dict(key, error_type="session delay not available"),
                                             skip_duplicates=True, allow_direct_insert=True)
            return
        self.insert1(dict(key, session_delay_in_secs=float(delay), session_delay_in_mins=float(delay) / 60))


@schema
class SettingsAvailability(Imported):
    definition = """
    -> acquisition.Session
    ---
    error_type:             enum("raw settings not available", "pybpod board not available")
    """


@schema
class Settings(Imported):
    definition = """
    -> acquisition.Session
    ---
    pybpod_board:           varchar(64)   # the rig name; contains "ephys" on ephys rigs
    """

    @classproperty
    def key_source(cls) -> Any:
        return TrialSet.proj() - SettingsAvailability

    def make(self, key: dict[str, Any]) -> None:
        try:
            settings = alf.load_json(key, *SETTINGS_FILE)
        except Exception:
            SettingsAvailability.insert1(dict(key, error_type="raw settings not available"),
                                         skip_duplicates=True, allow_direct_insert=True)
            return
        board = settings.get("PYBPOD_BOARD")
        if not board:
            SettingsAvailability.insert1(dict(key, error_type="pybpod board not available"),
                                         skip_duplicates=True, allow_direct_insert=True)
            return
        self.insert1(dict(key, pybpod_board=str(board)))


@schema
class AmbientSensorData(Imported):
    definition = """
    -> TrialSet.Trial
    ---
    temperature_c:          float
    air_pressure_mb:        float
    relative_humidity=null: float
    """

    @classproperty
    def key_source(cls) -> Any:
        return TrialSet & (CompleteTrialSession & {"ambient_sensor_data_status": "Complete"})

    def make(self, key: dict[str, Any]) -> None:
        values = alf.load_jsonable(key, *AMBIENT_FILE)
        trial_ids = (TrialSet.Trial & key).fetch("trial_id")
        rows = []
        for tid in trial_ids:
            if tid - 1 < len(values):
                v = values[tid - 1]
                rows.append(dict(key, trial_id=int(tid), temperature_c=v["Temperature_C"],
                                 air_pressure_mb=v["AirPressure_mb"], relative_humidity=v.get("RelativeHumidity")))
        self.insert(rows)
