"""One mouse's life in the lab, day by day: husbandry, training, recordings, cull.

:func:`simulate_mouse` is a pure function of a :class:`MouseTask` (the mouse's identity, the
config and the output folder): it writes the mouse's session folders and returns its LIMS
events and ground truth as a :class:`MouseResult`. Mice are independent, so they can run in
parallel processes.

Each day on water restriction the mouse is weighed and given water. On session days (weekdays
unless configured otherwise) it runs one session whose protocol follows its training status
(:mod:`.training_rules`): habituation, then ``trainingChoiceWorld`` until ``trained_1b``, then
``biasedChoiceWorld``; mice on the recording track move to the ephys rig at
``ready4ephysrig``, get 15-20 min start delays at ``ready4delay`` and, at ``ready4recording``,
a craniotomy and ``ephysChoiceWorld`` recordings, after which they are culled.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .alf_writer import SessionWriter
from .behavior import BIASED_CONTRASTS, TRAINING_CONTRAST_LEVELS, generate_session
from .config import SimulationConfig
from .ephys import generate_probe
from .identity import iso_date, iso_datetime, rng_for, session_rel_path, stable_uuid
from .learning import draw_traits, session_params
from .lims import PROTOCOLS, Catalog, lab_info
from .session_io import SessionMeta, log_datasets, log_session, write_behavior_files, write_probe_files
from .snapshots import Event, EventLog
from .training_rules import SessionTrials, decide_status

__all__ = ["MouseResult", "MouseSpec", "MouseTask", "simulate_mouse"]

HISTOLOGY_DELAY_DAYS = 5
ALIGNMENT_DELAY_DAYS = 8


@dataclass(frozen=True)
class MouseSpec:
    """Identity of one trained mouse, fixed before the simulation runs.

    ``nickname_initial`` differs from ``nickname`` when a rename is scripted for
    ``rename_day``; sessions before that day are filed under the initial nickname.
    """

    index: int
    lab_index: int
    slot: int
    nickname: str
    nickname_initial: str
    rename_day: int | None
    subject_uuid: str
    sex: str
    birth_date: dt.date
    line: str
    responsible_user: str
    learner_type: str
    ephys_track: bool
    reference_weight: float
    mistaken_session_day: int | None = None


@dataclass(frozen=True)
class MouseTask:
    """Everything a worker needs to simulate one mouse."""

    spec: MouseSpec
    config: SimulationConfig
    out_dir: str


@dataclass
class MouseResult:
    """What simulating one mouse produced (events, ground truth, totals)."""

    index: int
    events: list[Event]
    sessions: list[dict[str, Any]]
    subject: dict[str, Any]
    clusters: dict[str, list[dict[str, Any]]]
    weighings: list[tuple[int, str, float]]
    records_by_session: dict[str, list[tuple[int, str, str]]] = field(default_factory=dict)
    n_trials: int = 0
    n_spikes: int = 0
    n_files: int = 0
    n_bytes: int = 0


def _clean(value: Any) -> Any:
    """JSON-ready copy: NaN -> None, numpy scalars -> Python numbers."""
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _true_params(kind: str, params: Any, *, choices: bool = False) -> dict[str, dict[str, float]] | None:
    """Ground-truth psychometric parameters per probability-left block present in the session.

    ``choices=True`` gives those of P(rightward choice) with No-Go trials counted as not
    rightward, the quantity the pipeline fits (:meth:`SessionParams.choice_params`).
    """
    if kind == "habituation":
        return None
    blocks = params.choice_params() if choices else params.block_params()
    return blocks if kind in ("biased", "ephys") else {"0.5": blocks["0.5"]}


class _Mouse:
    """The state of one mouse while its days are simulated."""

    def __init__(self, task: MouseTask) -> None:
        self.cfg, self.spec = task.config, task.spec
        self.out_dir = Path(task.out_dir)
        self.seed = self.cfg.seed
        self.cat = Catalog(self.seed)
        self.lab = lab_info(self.spec.lab_index)
        self.rng = rng_for(self.seed, "mouse", self.spec.subject_uuid)
        self.traits = draw_traits(self.rng, self.spec.learner_type, self.cfg.trials_per_session)
        self.log = EventLog()
        self.phase = "habituation"
        self.habituation_left = int(self.rng.integers(self.cfg.habituation_sessions[0], self.cfg.habituation_sessions[1] + 1))
        self.level = 0
        self.reward_ul = 3.0
        self.history: list[SessionTrials] = []
        self.statuses: list[str] = []
        self.n_biased = 0
        self.recordings_left = 0
        self.culled: dt.date | None = None
        self.adlib_yesterday = False
        self.restriction_day = self.spec.slot % 2
        self.board = self.lab.training_boards[self.spec.slot % 2]
        self.project = "brainwide_map" if self.spec.ephys_track else "behaviour_cohort"
        self.result = MouseResult(self.spec.index, self.log.events, [], {}, {}, [])
        self.transitions: dict[str, dict[str, str]] = {}
        self.mistaken_pending = self.spec.mistaken_session_day is not None

    # -- time helpers ------------------------------------------------------------------------
    def date(self, day: int) -> dt.date:
        return self.cfg.start_date + dt.timedelta(days=day)

    def slot_time(self, day: int) -> dt.datetime:
        minutes = 8 * 60 + ((self.spec.slot // 2) * 65) % 600 + (self.spec.slot % 2) * 7
        return dt.datetime.combine(self.date(day), dt.time(0, 0)) + dt.timedelta(minutes=minutes)

    def nickname_on(self, day: int) -> str:
        renamed = self.spec.rename_day is not None and day < self.spec.rename_day
        return self.spec.nickname_initial if renamed else self.spec.nickname

    # -- records -----------------------------------------------------------------------------
    def log_subject(self) -> None:
        s, cat = self.spec, self.cat
        self.log.create(-1, "subjects.subject", s.subject_uuid, {
            "nickname": s.nickname_initial, "lab": cat.uuid("lab", self.lab.name),
            "responsible_user": cat.uuid("user", s.responsible_user),
            "projects": [cat.uuid("project", self.project)], "birth_date": iso_date(s.birth_date),
            "death_date": None, "sex": s.sex, "strain": cat.uuid("strain", "C57BL/6J"),
            "line": cat.uuid("line", s.line), "source": cat.uuid("source", "Jax"), "litter": None,
            "ear_mark": f"{s.slot % 4}L{s.slot // 4}R", "protocol_number": "1", "description": "",
            "cull_method": "", "adverse_effects": "", "actual_severity": None,
            "cage": f"{self.lab.prefix}-C{s.slot // 4 + 1:02d}", "json": {"history": {}},
        })
        when = dt.datetime.combine(self.date(-int(self.rng.integers(8, 13))), dt.time(10, 0)) + dt.timedelta(
            minutes=30 * s.slot)
        self.log.create(-1, "actions.surgery", stable_uuid(self.seed, "surgery", s.subject_uuid, "headplate"), {
            "subject": s.subject_uuid, "users": [cat.uuid("user", self.lab.users[0])],
            "location": cat.uuid("location", self.lab.surgery_room),
            "procedures": [cat.uuid("procedure", "Headplate implant")], "lab": cat.uuid("lab", self.lab.name),
            "narrative": "Headplate implanted under isoflurane; uneventful recovery.",
            "start_time": iso_datetime(when), "end_time": iso_datetime(when + dt.timedelta(minutes=45)),
            "outcome_type": "a", "implant_weight": round(float(self.rng.uniform(1.2, 1.6)), 2),
        })

    def log_restriction(self) -> str:
        pk = stable_uuid(self.seed, "restriction", self.spec.subject_uuid)
        start = self.slot_time(self.restriction_day) - dt.timedelta(minutes=40)
        self.log.create(self.restriction_day, "actions.waterrestriction", pk, {
            "subject": self.spec.subject_uuid, "users": [self.cat.uuid("user", self.spec.responsible_user)],
            "location": self.cat.uuid("location", self.board), "procedures": [self.cat.uuid("procedure", "Water restriction")],
            "lab": self.cat.uuid("lab", self.lab.name), "narrative": "",
            "start_time": iso_datetime(start), "end_time": None,
            "reference_weight": self.spec.reference_weight, "water_type": self.cat.uuid("watertype", "Water"),
        })
        return pk

    def weigh(self, day: int, when: dt.datetime) -> float:
        days_on = day - self.restriction_day
        frac = 1.0 - 0.11 * (1.0 - math.exp(-days_on / 2.5))
        weight = self.spec.reference_weight * frac + 0.015 * days_on + float(self.rng.normal(0.0, 0.2))
        weight += 0.6 if self.adlib_yesterday else 0.0
        weight = round(weight, 2)
        pk = stable_uuid(self.seed, "weighing", self.spec.subject_uuid, day)
        self.log.create(day, "actions.weighing", pk, {
            "subject": self.spec.subject_uuid, "user": self.cat.uuid("user", self.spec.responsible_user),
            "date_time": iso_datetime(when), "weight": weight,
        })
        self.result.weighings.append((day, pk, weight))
        return weight

    def water(self, day: int, when: dt.datetime, kind: str, volume: float | None, session: str | None,
              adlib: bool = False) -> None:
        pk = stable_uuid(self.seed, "water", self.spec.subject_uuid, day, kind)
        self.log.create(day, "actions.wateradministration", pk, {
            "subject": self.spec.subject_uuid, "user": self.cat.uuid("user", self.spec.responsible_user),
            "date_time": iso_datetime(when), "water_administered": None if volume is None else round(volume, 3),
            "water_type": self.cat.uuid("watertype", kind), "adlib": adlib, "session": session,
        })

    # -- the day loop ------------------------------------------------------------------------
    def run(self) -> MouseResult:
        self.log_subject()
        restriction = None
        for day in range(self.cfg.days):
            if day < self.restriction_day:
                continue
            if day == self.restriction_day:
                restriction = self.log_restriction()
            date = self.date(day)
            t = self.slot_time(day)
            weight = self.weigh(day, t - dt.timedelta(minutes=15))
            need = 0.04 * weight
            training_day = date.weekday() < 5 or self.cfg.train_on_weekends
            given = 0.0
            end_of_day = dt.datetime.combine(date, dt.time(17, 30)) + dt.timedelta(minutes=2 * self.spec.slot)
            if training_day and day > self.restriction_day and self.phase != "done":
                session_uuid, task_water, end = self.run_session(day, t)
                self.water(day, end + dt.timedelta(minutes=1), "Water 10% Sucrose", task_water, session_uuid)
                given = task_water
                end_of_day = max(end_of_day, end + dt.timedelta(minutes=30))
            self.adlib_yesterday = False
            if not training_day and self.lab.index % 2 == 0:
                self.water(day, end_of_day, "Water", None, None, adlib=True)
                self.adlib_yesterday = True
            elif given < need:
                kind = "Hydrogel" if not training_day else "Water"
                self.water(day, end_of_day, kind, need - given + float(self.rng.uniform(0.0, 0.1)), None)
            if self.phase == "done" and self.culled is None and self.spec.ephys_track:
                self.cull(day, end_of_day + dt.timedelta(minutes=30), restriction)
                break
        return self.finish()

    def next_kind(self) -> tuple[str, str, float]:
        """(protocol family, board, start delay) of the next session, from the phase."""
        if self.phase in ("habituation", "training", "biased"):
            return self.phase, self.board, 0.0
        if self.phase == "ephysrig":
            return "biased", self.lab.ephys_board, 0.0
        if self.phase == "delay":
            return "biased", self.lab.ephys_board, float(round(self.rng.uniform(900.0, 1200.0)))
        return "ephys", self.lab.ephys_board, 0.0

    def run_session(self, day: int, slot: dt.datetime) -> tuple[str, float, dt.datetime]:
        kind, board, delay = self.next_kind()
        srng = rng_for(self.seed, "session", self.spec.subject_uuid, day, 1)
        params = session_params(self.traits, srng, len(self.history), self.n_biased, kind in ("biased", "ephys"))
        start = slot + dt.timedelta(seconds=int(srng.integers(0, 600)))
        uuid, end, task_water = self.one_session(day, 1, kind, board, delay, params, srng, start)
        if self.mistaken_pending and day >= (self.spec.mistaken_session_day or 0) and kind != "ephys":
            self.mistaken_pending = False
            mrng = rng_for(self.seed, "session", self.spec.subject_uuid, day, 2)
            short = dataclasses.replace(params, n_trials=int(mrng.integers(40, 81)))
            self.one_session(day, 2, kind, board, 0.0, short, mrng, end + dt.timedelta(minutes=10), mistaken=True)
        return uuid, task_water, end

    def one_session(
        self, day: int, number: int, kind: str, board: str, delay: float, params: Any,
        srng: np.random.Generator, start: dt.datetime, mistaken: bool = False,
    ) -> tuple[str, dt.datetime, float]:
        cfg, spec = self.cfg, self.spec
        contrasts = {"habituation": (1.0,), "training": TRAINING_CONTRAST_LEVELS[self.level]}.get(kind, BIASED_CONTRASTS)
        reward = self.reward_ul if kind in ("habituation", "training") else 1.5
        t0 = float(srng.uniform(60.0, 120.0)) if kind == "ephys" else delay + float(srng.uniform(2.0, 10.0))
        data = generate_session(kind, params, contrasts, reward, srng, t0, cfg.wheel_ticks_per_revolution)
        date = self.date(day)
        nickname = self.nickname_on(day)
        session_uuid = stable_uuid(self.seed, "session", spec.subject_uuid, iso_date(date), number)
        rel = session_rel_path(self.lab.name, nickname, date, number)
        duration = data.duration + 30.0
        probes = []
        if kind == "ephys":
            minutes = float(srng.uniform(*cfg.recording_minutes))
            duration = max(minutes * 60.0, data.duration + 120.0)
            n_probes = int(srng.integers(cfg.probes_per_recording[0], cfg.probes_per_recording[1] + 1))
            templates = srng.permutation(3)
            for k in range(n_probes):
                label = f"probe{k:02d}"
                ins = stable_uuid(self.seed, "insertion", session_uuid, label)
                prng = rng_for(self.seed, "probe", ins)
                probes.append((ins, generate_probe(prng, self.seed, ins, label, data.trials, duration,
                                                   cfg.clusters_per_probe, int(templates[k]), -1 if k == 0 else 1)))
        end = start + dt.timedelta(seconds=math.ceil(duration + float(srng.uniform(30.0, 120.0))))
        meta = SessionMeta(session_uuid, spec.subject_uuid, nickname, day, date, number, start, end, PROTOCOLS[kind],
                           kind, board, delay, spec.responsible_user, self.project, rel)
        writer = SessionWriter(self.out_dir, rel)
        write_behavior_files(writer, data, meta, {"CONTRAST_SET": list(contrasts), "REWARD_AMOUNT": reward})
        for _, probe in probes:
            write_probe_files(writer, probe)
        trials = data.trials
        has_trial_set = kind != "habituation"
        st = SessionTrials.from_trials(session_uuid, start, PROTOCOLS[kind], board, delay, trials) if has_trial_set else None
        log_session(self.log, self.cat, self.lab, meta, data.n_trials, st.n_correct if st else None)
        align_day = day + ALIGNMENT_DELAY_DAYS
        records = log_datasets(self.log, self.cat, self.lab, meta, writer.files, align_day if probes else None)
        for ins, probe in probes:
            records += self.log_insertion(day, ins, session_uuid, probe, start)
        self.result.records_by_session[session_uuid] = records
        if mistaken:
            for rec_day, model, pk in records:
                self.log.delete(max(rec_day, day) + 1, model, pk)
            self.log.delete(day + 1, "actions.session", session_uuid)
        self.result.n_trials += data.n_trials
        self.result.n_files += len(writer.files)
        self.result.n_bytes += writer.n_bytes
        decision = None
        if st is not None and not mistaken:
            self.history.append(st)
            decision = decide_status(self.history, self.statuses)
            self.statuses.append(decision.status)
            self.transitions.setdefault(decision.status, {"date": iso_date(date), "session_uuid": session_uuid})
            self.advance(kind, st, decision.status, day, end)
        elif kind == "habituation" and not mistaken:
            self.habituation_left -= 1
            if self.habituation_left <= 0:
                self.phase = "training"
        self.result.sessions.append(_clean({
            "session_uuid": session_uuid, "subject_uuid": spec.subject_uuid, "lab": self.lab.name,
            "nickname": nickname, "date": iso_date(date), "number": number, "path": str(rel),
            "start_time": iso_datetime(start), "start_time_original": iso_datetime(start), "end_time": iso_datetime(end),
            "task_protocol": PROTOCOLS[kind], "kind": kind, "pybpod_board": board, "delay_sec": delay,
            "deleted": mistaken, "has_trial_set": has_trial_set, "n_trials": data.n_trials,
            "n_correct_trials": st.n_correct if st else None, "performance": st.performance if st else None,
            "performance_easy": st.performance_easy if st else None, "contrast_set": list(contrasts),
            "reward_volume_ul": reward, "learning_progress": params.progress,
            "true_params": _true_params(kind, params), "true_nogo": params.nogo if kind != "habituation" else None,
            "true_choice_params": _true_params(kind, params, choices=True),
            "true_median_rt": {"zero_contrast": params.rt_zero, "full_contrast": params.rt_easy},
            "training_status": decision.status if decision else None,
            "good_enough_for_brainwide_map": decision.good_enough_for_brainwide_map if decision else None,
            "status_evidence": decision.evidence if decision else None,
            "probes": [{"label": p.label, "insertion_uuid": ins, "n_clusters": len(p.truth),
                        "n_spikes": int(p.spikes["times"].size), "trajectory": p.trajectories[70]} for ins, p in probes],
        }))
        for _, probe in probes:
            self.result.clusters[f"{session_uuid}_{probe.label}"] = _clean(probe.truth)
            self.result.n_spikes += int(probe.spikes["times"].size)
        return session_uuid, end, float(np.sum(trials["rewardVolume"]) / 1000.0)

    def advance(self, kind: str, st: SessionTrials, status: str, day: int, end: dt.datetime) -> None:
        """Update contrast level, reward and phase after a session with a TrialSet."""
        if kind == "training":
            if st.n_trials > 200:
                self.reward_ul = max(1.5, round(self.reward_ul - 0.1, 2))
            if st.performance_easy is not None and st.performance_easy >= 0.8 and st.n_trials >= 200:
                self.level = min(self.level + 1, len(TRAINING_CONTRAST_LEVELS) - 1)
        if kind in ("biased", "ephys"):
            self.n_biased += 1
        if self.phase == "recording":
            self.recordings_left -= 1
            if self.recordings_left <= 0:
                self.phase = "done"
        elif status == "ready4recording" and self.spec.ephys_track:
            self.phase = "recording"
            self.recordings_left = int(self.rng.integers(self.cfg.recordings_per_mouse[0], self.cfg.recordings_per_mouse[1] + 1))
            self.log_craniotomy(day, end + dt.timedelta(hours=1))
        elif status == "ready4delay" and self.spec.ephys_track:
            self.phase = "delay"
        elif status == "ready4ephysrig" and self.spec.ephys_track:
            self.phase = "ephysrig"
        elif status in ("trained_1b", "ready4ephysrig", "ready4delay") and self.phase == "training":
            self.phase = "biased"

    def log_craniotomy(self, day: int, when: dt.datetime) -> None:
        pk = stable_uuid(self.seed, "surgery", self.spec.subject_uuid, "craniotomy")
        self.log.create(day, "actions.surgery", pk, {
            "subject": self.spec.subject_uuid, "users": [self.cat.uuid("user", self.lab.users[0])],
            "location": self.cat.uuid("location", self.lab.surgery_room),
            "procedures": [self.cat.uuid("procedure", "Craniotomy")], "lab": self.cat.uuid("lab", self.lab.name),
            "narrative": "Craniotomies over both hemispheres for acute probe insertions.",
            "start_time": iso_datetime(when), "end_time": iso_datetime(when + dt.timedelta(minutes=50)),
            "outcome_type": "a", "implant_weight": None,
        })

    def log_insertion(self, day: int, ins: str, session: str, probe: Any, start: dt.datetime) -> list[tuple[int, str, str]]:
        cat = self.cat
        qc = {"qc": "NOT_SET", "extended_qc": {}}
        self.log.create(day, "experiments.probeinsertion", ins, {
            "session": session, "name": probe.label, "model": cat.uuid("probemodel", "3B2"),
            "serial": f"18{int(stable_uuid(self.seed, 'serial', ins)[:8], 16) % 10**8:08d}", "json": qc,
        })
        out = [(day, "experiments.probeinsertion", ins)]
        delays = {10: 0, 30: 0, 50: HISTOLOGY_DELAY_DAYS, 70: ALIGNMENT_DELAY_DAYS}
        for prov, traj in probe.trajectories.items():
            pk = stable_uuid(self.seed, "trajectory", ins, prov)
            tday = day + delays[prov]
            self.log.create(tday, "experiments.trajectoryestimate", pk, {
                "probe_insertion": ins, **traj, "provenance": prov,
                "coordinate_system": None if prov == 10 else cat.uuid("coordinatesystem", "IBL-Allen"),
                "datetime": iso_datetime(start + dt.timedelta(days=delays[prov], hours=-1 if prov == 10 else 1)),
                "json": None,
            })
            out.append((tday, "experiments.trajectoryestimate", pk))
        self.log.update(day + HISTOLOGY_DELAY_DAYS, "experiments.probeinsertion", ins,
                        json={"qc": "NOT_SET", "extended_qc": {"tracing_exists": True}})
        self.log.update(day + ALIGNMENT_DELAY_DAYS, "experiments.probeinsertion", ins, json={
            "qc": "PASS", "extended_qc": {"tracing_exists": True, "alignment_resolved": True, "alignment_count": 1}})
        return out

    def cull(self, day: int, when: dt.datetime, restriction: str | None) -> None:
        cat = self.cat
        self.culled = self.date(day)
        self.log.update(day, "subjects.subject", self.spec.subject_uuid, death_date=iso_date(self.culled), cull_method="perfusion")
        self.log.create(day, "actions.cull", stable_uuid(self.seed, "cull", self.spec.subject_uuid), {
            "subject": self.spec.subject_uuid, "user": cat.uuid("user", self.lab.users[0]), "date": iso_date(self.culled),
            "cull_reason": cat.uuid("cullreason", "end of protocol"), "cull_method": cat.uuid("cullmethod", "perfusion"),
            "description": "Perfused for histology after the last recording.",
        })
        if restriction is not None:
            self.log.update(day, "actions.waterrestriction", restriction, end_time=iso_datetime(when))

    def finish(self) -> MouseResult:
        s = self.spec
        trial_sessions = [x for x in self.result.sessions if x["has_trial_set"] and not x["deleted"]]
        self.result.subject = _clean({
            "subject_uuid": s.subject_uuid, "lab": self.lab.name, "nickname": s.nickname,
            "nickname_initial": s.nickname_initial, "sex": s.sex, "birth_date": iso_date(s.birth_date), "line": s.line,
            "responsible_user": s.responsible_user, "responsible_user_initial": s.responsible_user,
            "learner_type": s.learner_type, "ephys_track": s.ephys_track, "reference_weight": s.reference_weight,
            "project": self.project, "traits": self.traits.as_dict(), "status_transitions": self.transitions,
            "final_status": self.statuses[-1] if self.statuses else None,
            "n_sessions": sum(not x["deleted"] for x in self.result.sessions),
            "n_sessions_with_trials": len(trial_sessions),
            "learning_trajectory": [
                {"date": x["date"], "session_uuid": x["session_uuid"], "kind": x["kind"],
                 "progress": x["learning_progress"], **x["true_params"]["0.5"]}
                for x in trial_sessions
            ],
            "restriction_start": iso_date(self.date(self.restriction_day)),
            "culled": iso_date(self.culled) if self.culled else None,
        })
        return self.result


def simulate_mouse(task: MouseTask) -> MouseResult:
    """Simulate one mouse and write its sessions under ``task.out_dir``."""
    return _Mouse(task).run()
