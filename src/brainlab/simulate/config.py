"""Configuration and result types of the simulator.

:class:`SimulationConfig` holds every knob of a simulated cohort; it validates itself when built,
so a bad value fails at once with a message that names the fix. :class:`SimulationSummary` is
what :func:`brainlab.simulate.simulate` returns.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from labjoin.errors import ConfigError

__all__ = ["FORMAT_VERSION", "SimulationConfig", "SimulationSummary"]

#: Version of the on-disk output contract (docs/brainlab-simulator.md). Bump on any change.
FORMAT_VERSION = "1.0"

_RANGE_FIELDS = (
    "trials_per_session",
    "habituation_sessions",
    "recordings_per_mouse",
    "probes_per_recording",
    "clusters_per_probe",
    "recording_minutes",
)


@dataclass(frozen=True)
class SimulationConfig:
    """Sizes and settings of one simulated cohort.

    Parameters
    ----------
    labs : int
        Number of labs (1-8).
    mice_per_lab : int
        Mice trained in each lab (1-50).
    days : int
        Calendar days simulated; one LIMS snapshot is written per day.
    start_date : datetime.date
        First simulated day. Subjects, headplate surgeries and lab records are dated before it.
    seed : int
        Seed of every random draw. The same seed and config give byte-identical output.
    ephys_fraction : float
        Fraction of all mice put on the recording track. They are picked among the fastest
        learners; once ``ready4ephysrig`` they move to the ephys rig and, once
        ``ready4recording``, are recorded with Neuropixels probes and then culled.
    non_learner_fraction : float
        Fraction of mice whose psychometric parameters never reach the trained criteria.
    trials_per_session : tuple of int
        Range of the number of trials of an engaged, trained mouse; early sessions have fewer.
    habituation_sessions : tuple of int
        Range of the number of ``habituationChoiceWorld`` sessions before training starts.
    train_on_weekends : bool
        Whether sessions also run on Saturdays and Sundays (default: weekdays only).
    recordings_per_mouse : tuple of int
        Range of the number of ``ephysChoiceWorld`` recording sessions per recorded mouse.
    probes_per_recording : tuple of int
        Range of the number of probes inserted per recording (1-2).
    clusters_per_probe : tuple of int
        Range of the number of sorted clusters per probe.
    recording_minutes : tuple of float
        Range of the length of an ephys recording in minutes (the task plus a spontaneous
        period after it).
    wheel_ticks_per_revolution : int
        Rotary-encoder resolution; wheel samples are written at each tick, as the rig does.
    scripted_edits : bool
        Whether to script the LIMS edits (weight correction, renames, deletions, ...).
    workers : int
        Processes used to simulate mice in parallel (1 runs everything in this process).
    """

    labs: int = 2
    mice_per_lab: int = 6
    days: int = 40
    start_date: dt.date = dt.date(2024, 1, 8)
    seed: int = 0
    ephys_fraction: float = 0.35
    non_learner_fraction: float = 0.2
    trials_per_session: tuple[int, int] = (450, 900)
    habituation_sessions: tuple[int, int] = (2, 3)
    train_on_weekends: bool = False
    recordings_per_mouse: tuple[int, int] = (1, 2)
    probes_per_recording: tuple[int, int] = (1, 2)
    clusters_per_probe: tuple[int, int] = (30, 80)
    recording_minutes: tuple[float, float] = (40.0, 60.0)
    wheel_ticks_per_revolution: int = 1024
    scripted_edits: bool = True
    workers: int = 2

    def __post_init__(self) -> None:
        if isinstance(self.start_date, str):
            object.__setattr__(self, "start_date", _parse_date(self.start_date))
        for name in _RANGE_FIELDS:
            value = getattr(self, name)
            if not (isinstance(value, tuple | list) and len(value) == 2):
                raise ConfigError(f"SimulationConfig.{name} must be a (low, high) pair, got {value!r}.")
            if value[0] > value[1] or value[0] < 0:
                raise ConfigError(
                    f"SimulationConfig.{name}={value!r}: give 0 <= low <= high, e.g. {name}=(1, 2)."
                )
            object.__setattr__(self, name, tuple(value))
        self._check_int("labs", 1, 8)
        self._check_int("mice_per_lab", 1, 50)
        self._check_int("days", 1, 3650)
        self._check_int("workers", 1, 64)
        self._check_int("wheel_ticks_per_revolution", 64, 16384)
        for name in ("ephys_fraction", "non_learner_fraction"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ConfigError(f"SimulationConfig.{name}={value!r} must lie in [0, 1].")
        if self.trials_per_session[0] < 50:
            raise ConfigError("SimulationConfig.trials_per_session must start at 50 trials or more.")
        if not 1 <= self.probes_per_recording[0] <= self.probes_per_recording[1] <= 2:
            raise ConfigError("SimulationConfig.probes_per_recording must lie within (1, 2).")
        if self.clusters_per_probe[0] < 1:
            raise ConfigError("SimulationConfig.clusters_per_probe must start at 1 or more.")
        if self.recording_minutes[0] < 5.0:
            raise ConfigError("SimulationConfig.recording_minutes must start at 5 minutes or more.")
        if not isinstance(self.seed, int) or self.seed < 0:
            raise ConfigError(f"SimulationConfig.seed={self.seed!r} must be a non-negative integer.")

    def _check_int(self, name: str, low: int, high: int) -> None:
        value = getattr(self, name)
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            raise ConfigError(f"SimulationConfig.{name}={value!r} must be an integer in [{low}, {high}].")

    @property
    def n_mice(self) -> int:
        """Total number of trained mice."""
        return self.labs * self.mice_per_lab

    @property
    def end_date(self) -> dt.date:
        """Last simulated day (inclusive)."""
        return self.start_date + dt.timedelta(days=self.days - 1)

    def to_json(self) -> dict[str, Any]:
        """Return the config as JSON-ready values (dates as ISO strings, ranges as lists)."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, dt.date):
                value = value.isoformat()
            elif isinstance(value, tuple):
                value = list(value)
            out[f.name] = value
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SimulationConfig:
        """Rebuild a config written by :meth:`to_json` (e.g. from ``manifest.json``)."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ConfigError(f"Unknown SimulationConfig fields {unknown}; known fields are {sorted(names)}.")
        kwargs = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}
        return cls(**kwargs)


def _parse_date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise ConfigError(f"start_date {text!r} is not an ISO date; write it as YYYY-MM-DD.") from exc


@dataclass(frozen=True)
class SimulationSummary:
    """What one call of :func:`brainlab.simulate.simulate` produced.

    Attributes
    ----------
    out_dir : pathlib.Path
        Root of the output (see docs/brainlab-simulator.md for the layout).
    config : SimulationConfig
        The configuration used.
    n_labs, n_users, n_subjects : int
        Entities created (``n_subjects`` counts trained mice, not the scripted duplicate).
    n_sessions : int
        Sessions written to disk (habituation, training, biased, ephys, and the scripted
        mistaken session that the LIMS later deletes).
    n_ephys_sessions, n_probes : int
        Recording sessions and probe insertions.
    n_trials, n_spikes : int
        Trials over all sessions, spikes over all probes.
    n_files, n_bytes : int
        Data files written under the lab folders and their total size.
    n_snapshots : int
        Daily LIMS snapshots written.
    final_status : dict
        Number of subjects per final training status (from the rules).
    elapsed_seconds : float
        Wall-clock time of the run (not written to disk, so the output stays deterministic).
    """

    out_dir: Path
    config: SimulationConfig
    n_labs: int
    n_users: int
    n_subjects: int
    n_sessions: int
    n_ephys_sessions: int
    n_probes: int
    n_trials: int
    n_spikes: int
    n_files: int
    n_bytes: int
    n_snapshots: int
    final_status: dict[str, int] = field(default_factory=dict)
    elapsed_seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        """Return the deterministic part of the summary as JSON-ready values."""
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        out.pop("elapsed_seconds")
        out["out_dir"] = "."
        # The worker count changes nothing in the output, so it stays out of it.
        out["config"] = {k: v for k, v in self.config.to_json().items() if k != "workers"}
        return out
