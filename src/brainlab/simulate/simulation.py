"""The simulator's entry point: :func:`simulate`.

It decides the cohort (who is a fast, slow or non-learner; who is recorded), runs every mouse
(in parallel processes when ``config.workers > 1``), adds the scripted LIMS edits, and writes
the daily LIMS snapshots, the ground truth, the region tree and ``manifest.json``.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import shutil
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from labjoin.errors import ConfigError

from .config import FORMAT_VERSION, SimulationConfig, SimulationSummary
from .ground_truth import GROUND_TRUTH_DIR, dump_json
from .identity import iso_date, iso_datetime, rng_for, stable_uuid
from .lims import LINES, Catalog, catalog_records, lab_info
from .mouse import MouseResult, MouseSpec, MouseTask, simulate_mouse
from .regions import regions_csv
from .snapshots import Event, write_snapshots

__all__ = ["simulate"]

_LEARNER_CYCLE = ("fast", "medium", "slow", "fast", "medium")
_SPEED_RANK = {"fast": 0, "medium": 1, "slow": 2, "non_learner": 3}


def _cohort(config: SimulationConfig) -> list[MouseSpec]:
    """Identities of all mice, with learner types, recording track and scripted renames."""
    rng = rng_for(config.seed, "cohort")
    n = config.n_mice
    order = [int(i) for i in rng.permutation(n)]
    n_non = round(config.non_learner_fraction * n)
    learner = {}
    for rank, idx in enumerate(order):
        learner[idx] = "non_learner" if rank < n_non else _LEARNER_CYCLE[(rank - n_non) % len(_LEARNER_CYCLE)]
    candidates = sorted((i for i in range(n) if learner[i] != "non_learner"), key=lambda i: (_SPEED_RANK[learner[i]], order.index(i)))
    ephys = set(candidates[: round(config.ephys_fraction * n)])
    edits = config.scripted_edits and config.days >= 4
    rename_idx, mistaken_idx = 1 % n, 4 % n
    specs = []
    for lab_idx in range(config.labs):
        lab = lab_info(lab_idx)
        for slot in range(config.mice_per_lab):
            g = lab_idx * config.mice_per_lab + slot
            mrng = rng_for(config.seed, "identity", lab.name, slot)
            sex = "F" if mrng.random() < 0.5 else "M"
            nickname = f"{lab.prefix}_{slot + 1:03d}"
            renamed = edits and g == rename_idx
            specs.append(MouseSpec(
                index=g,
                lab_index=lab_idx,
                slot=slot,
                nickname=nickname,
                nickname_initial=f"{lab.prefix}{slot + 1:03d}" if renamed else nickname,
                rename_day=min(5, config.days - 2) if renamed else None,
                subject_uuid=stable_uuid(config.seed, "subject", lab.name, nickname),
                sex=sex,
                birth_date=config.start_date - dt.timedelta(days=int(mrng.integers(56, 85))),
                line="Thy1-GCaMP6s" if mrng.random() < 0.25 else "C57BL/6J",
                responsible_user=lab.users[1 + slot % 2],
                learner_type=learner[g],
                ephys_track=g in ephys,
                reference_weight=round(float(mrng.uniform(23.0, 28.0) if sex == "M" else mrng.uniform(19.0, 23.0)), 1),
                mistaken_session_day=min(3, config.days - 2) if edits and g == mistaken_idx else None,
            ))
    return specs


def _run_mice(tasks: list[MouseTask], workers: int) -> list[MouseResult]:
    if workers == 1 or len(tasks) == 1:
        return [simulate_mouse(t) for t in tasks]
    # Recorded mice cost most; start them first so the pool stays busy to the end.
    ordered = sorted(tasks, key=lambda t: (not t.spec.ephys_track, t.spec.index))
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=min(workers, len(tasks)), mp_context=ctx) as pool:
        results = list(pool.map(simulate_mouse, ordered, chunksize=1))
    return sorted(results, key=lambda r: r.index)


class _Edits:
    """The scripted LIMS edits: they append events and patch the ground truth."""

    def __init__(self, config: SimulationConfig, specs: list[MouseSpec], results: list[MouseResult]) -> None:
        self.cfg, self.specs, self.results = config, specs, results
        self.cat = Catalog(config.seed)
        self.events: list[Event] = []
        self.log: list[dict[str, Any]] = []
        self.history: dict[str, dict[str, list[dict[str, str]]]] = {}

    def note(self, kind: str, day: int, model: str, pk: Any, **details: Any) -> None:
        date = self.cfg.start_date + dt.timedelta(days=day)
        self.log.append({"kind": kind, "day": day, "date": iso_date(date), "model": model, "pk": pk, **details})

    def _history_update(self, day: int, subject: str, field: str, old: str, when: dt.datetime) -> None:
        hist = self.history.setdefault(subject, {})
        hist.setdefault(field, []).append({"date_time": iso_datetime(when) + "+00:00", "value": old})
        self.events.append((day, "update", "subjects.subject", subject, {"json": {"history": {k: list(v) for k, v in hist.items()}}}))

    def apply(self) -> None:
        n = len(self.specs)
        days = self.cfg.days
        for spec in self.specs:
            if spec.rename_day is not None:
                when = dt.datetime.combine(self.cfg.start_date + dt.timedelta(days=spec.rename_day), dt.time(11, 0))
                self.events.append((spec.rename_day, "update", "subjects.subject", spec.subject_uuid, {"nickname": spec.nickname}))
                self._history_update(spec.rename_day, spec.subject_uuid, "nickname", spec.nickname_initial, when)
                self.note("subject_renamed", spec.rename_day, "subjects.subject", spec.subject_uuid, field="nickname",
                          old=spec.nickname_initial, new=spec.nickname)
        self._weight(self.results[0 % n], min(4, days - 2))
        self._user(self.specs[2 % n], self.results[2 % n], min(10, days - 2))
        self._start_time(self.results[3 % n])
        self._late_files(self.results[5 % n], min(6, days - 2))
        self._duplicate_subject(min(2, days - 2))
        for spec, res in zip(self.specs, self.results):
            for s in res.sessions:
                if s["deleted"]:
                    self.note("session_deleted", s["_day"] + 1, "actions.session", s["session_uuid"],
                              note="mistaken session; its datasets and file records are deleted too")
            if res.subject["culled"]:
                day = (dt.date.fromisoformat(res.subject["culled"]) - self.cfg.start_date).days
                self.note("subject_culled", day, "subjects.subject", spec.subject_uuid, field="death_date",
                          old=None, new=res.subject["culled"])

    def _weight(self, res: MouseResult, min_day: int) -> None:
        for day, pk, weight in res.weighings:
            if day >= min_day and day + 1 < self.cfg.days:
                digits = f"{weight:.2f}"
                swapped = digits[1] + digits[0] + digits[2:] if digits[0] != digits[1] else f"{weight + 1.0:.2f}"
                wrong = float(swapped)
                for ev in res.events:
                    if ev[2] == "actions.weighing" and ev[3] == pk and ev[4] is not None:
                        ev[4]["weight"] = wrong
                self.events.append((day + 1, "update", "actions.weighing", pk, {"weight": weight}))
                self.note("weight_corrected", day + 1, "actions.weighing", pk, field="weight", old=wrong, new=weight,
                          created_day=day)
                return

    def _user(self, spec: MouseSpec, res: MouseResult, day: int) -> None:
        lab = lab_info(spec.lab_index)
        new = lab.users[1] if spec.responsible_user != lab.users[1] else lab.users[2]
        when = dt.datetime.combine(self.cfg.start_date + dt.timedelta(days=day), dt.time(14, 0))
        self.events.append((day, "update", "subjects.subject", spec.subject_uuid, {"responsible_user": self.cat.uuid("user", new)}))
        self._history_update(day, spec.subject_uuid, "responsible_user", self.cat.uuid("user", spec.responsible_user), when)
        res.subject["responsible_user"] = new
        self.note("responsible_user_changed", day, "subjects.subject", spec.subject_uuid, field="responsible_user",
                  old=spec.responsible_user, new=new)

    def _start_time(self, res: MouseResult) -> None:
        for s in res.sessions:
            day = s["_day"]
            if s["has_trial_set"] and not s["deleted"] and day + 1 < self.cfg.days:
                old = dt.datetime.fromisoformat(s["start_time"])
                new = iso_datetime(old + dt.timedelta(seconds=1))
                self.events.append((day + 1, "update", "actions.session", s["session_uuid"], {"start_time": new}))
                s["start_time"] = new
                self.note("session_start_moved", day + 1, "actions.session", s["session_uuid"], field="start_time",
                          old=s["start_time_original"], new=new)
                return

    def _late_files(self, res: MouseResult, min_day: int) -> None:
        for s in res.sessions:
            day = s["_day"]
            if s["has_trial_set"] and not s["deleted"] and day >= min_day and day + 1 < self.cfg.days:
                late = {pk for d, model, pk in res.records_by_session[s["session_uuid"]] if model == "data.filerecord" and d == day}
                for ev in res.events:
                    if ev[2] == "data.filerecord" and ev[3] in late and ev[1] == "create" and ev[4] is not None:
                        ev[4]["exists"] = False
                for pk in sorted(late):
                    self.events.append((day + 1, "update", "data.filerecord", pk, {"exists": True}))
                self.note("files_arrived_late", day + 1, "data.filerecord", None, session_uuid=s["session_uuid"],
                          n_records=len(late), note="file records exist=false on the session day, true the next day")
                return

    def _duplicate_subject(self, day: int) -> None:
        lab = lab_info(0)
        nickname = f"{lab.prefix}_{self.cfg.mice_per_lab + 1:03d}"
        pk = stable_uuid(self.cfg.seed, "subject", lab.name, nickname, "duplicate")
        first = self.specs[0]
        self.events.append((day, "create", "subjects.subject", pk, {
            "nickname": nickname, "lab": self.cat.uuid("lab", lab.name),
            "responsible_user": self.cat.uuid("user", first.responsible_user), "projects": [],
            "birth_date": iso_date(first.birth_date), "death_date": None, "sex": first.sex,
            "strain": self.cat.uuid("strain", LINES[first.line][0]), "line": self.cat.uuid("line", first.line),
            "source": self.cat.uuid("source", "Jax"), "litter": None, "ear_mark": "", "protocol_number": "1",
            "description": f"entered twice by mistake (same mouse as {first.nickname})", "cull_method": "",
            "adverse_effects": "", "actual_severity": None, "cage": "", "json": {"history": {}},
        }))
        self.events.append((day + 1, "delete", "subjects.subject", pk, None))
        self.note("subject_created", day, "subjects.subject", pk, nickname=nickname, note="duplicate entry")
        self.note("subject_deleted", day + 1, "subjects.subject", pk, nickname=nickname, note="duplicate entry removed")


def _prepare(out_dir: Path, overwrite: bool) -> None:
    if out_dir.exists() and any(out_dir.iterdir()):
        if not overwrite:
            raise ConfigError(f"Output folder {out_dir} is not empty; choose a new folder or pass overwrite=True.")
        if not (out_dir / "manifest.json").exists():
            raise ConfigError(f"Refusing to overwrite {out_dir}: it holds no manifest.json, so it is not a "
                              "simulation output. Choose an empty folder.")
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)


def simulate(out_dir: Path | str, config: SimulationConfig | None = None, overwrite: bool = False) -> SimulationSummary:
    """Simulate a cohort and write it to ``out_dir``.

    Parameters
    ----------
    out_dir : path
        Output folder; it must be empty or absent (or a previous simulation with ``overwrite``).
    config : SimulationConfig, optional
        Sizes and seed; the defaults give 2 labs x 6 mice x 40 days.
    overwrite : bool
        Replace a previous simulation output in ``out_dir``.

    Returns
    -------
    SimulationSummary
        Counts of what was written.

    Examples
    --------
    >>> from brainlab.simulate import SimulationConfig, simulate
    >>> summary = simulate("/tmp/cohort", SimulationConfig(seed=1), overwrite=True)  # doctest: +SKIP
    """
    config = config or SimulationConfig()
    out = Path(out_dir)
    _prepare(out, overwrite)
    t_start = time.perf_counter()
    specs = _cohort(config)
    results = _run_mice([MouseTask(s, config, str(out)) for s in specs], config.workers)
    for res in results:
        for s in res.sessions:
            s["_day"] = (dt.date.fromisoformat(s["date"]) - config.start_date).days
    edits = _Edits(config, specs, results)
    if config.scripted_edits and config.days >= 4:
        edits.apply()
    events: list[Event] = [(-1, "create", m, pk, f) for m, pk, f in catalog_records(config.seed, config.labs, config.start_date)]
    for res in results:
        events.extend(res.events)
    events.extend(edits.events)
    paths = write_snapshots(out, events, config.start_date, config.days)

    sessions = sorted((s for r in results for s in r.sessions), key=lambda s: (s["subject_uuid"], s["start_time"], s["number"]))
    for s in sessions:
        s.pop("_day")
    gt = out / GROUND_TRUTH_DIR
    dump_json(gt / "subjects.json", [r.subject for r in results])
    dump_json(gt / "sessions.json", sessions)
    dump_json(gt / "edits.json", sorted(edits.log, key=lambda e: (e["day"], e["kind"], str(e["pk"]))))
    for r in results:
        for key, rows in r.clusters.items():
            dump_json(gt / "clusters" / f"{key}.json", rows)
    (out / "reference").mkdir(exist_ok=True)
    (out / "reference" / "brain_regions.csv").write_text(regions_csv(), encoding="utf-8")

    final: dict[str, int] = {}
    for r in results:
        status = r.subject["final_status"] or "none"
        final[status] = final.get(status, 0) + 1
    summary = SimulationSummary(
        out_dir=out,
        config=config,
        n_labs=config.labs,
        n_users=3 * config.labs,
        n_subjects=len(specs),
        n_sessions=sum(len(r.sessions) for r in results),
        n_ephys_sessions=sum(1 for s in sessions if s["kind"] == "ephys"),
        n_probes=sum(len(s["probes"]) for s in sessions),
        n_trials=sum(r.n_trials for r in results),
        n_spikes=sum(r.n_spikes for r in results),
        n_files=sum(r.n_files for r in results),
        n_bytes=sum(r.n_bytes for r in results),
        n_snapshots=len(paths),
        final_status=dict(sorted(final.items())),
        elapsed_seconds=time.perf_counter() - t_start,
    )
    dump_json(out / "manifest.json", {
        "format_version": FORMAT_VERSION,
        "generator": "brainlab.simulate",
        "summary": summary.to_json(),
        "labs": [lab_info(i).name for i in range(config.labs)],
        "snapshots": [p.relative_to(out).as_posix() for p in paths],
    })
    return summary
