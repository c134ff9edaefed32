"""Write a simulated session to disk and log its LIMS records.

:func:`write_behavior_files` writes the trials, wheel and raw rig files of a session;
:func:`write_probe_files` the spike-sorting output of one probe; :func:`log_session` logs the
``actions.session`` record and :func:`log_datasets` a ``data.dataset`` plus ``data.filerecord``
records for each file. Datasets derived from histology (brain locations) are registered on
the day the alignment is done, not the day of the recording, as in the real workflow.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from .alf_writer import SessionWriter, WrittenFile
from .behavior import SessionData
from .ephys import ProbeData
from .identity import iso_datetime, stable_uuid
from .lims import IBLRIG_VERSION, Catalog, LabInfo
from .snapshots import EventLog

__all__ = ["SessionMeta", "log_datasets", "log_session", "write_behavior_files", "write_probe_files"]

HISTOLOGY_DATASETS = frozenset(
    {"channels.brainLocationIds_ccf_2017", "channels.mlapdv", "clusters.brainLocationIds_ccf_2017", "clusters.mlapdv"}
)


@dataclass(frozen=True)
class SessionMeta:
    """Identity and timing of one session (what the Alyx session record holds)."""

    uuid: str
    subject_uuid: str
    nickname: str
    day: int
    date: dt.date
    number: int
    start: dt.datetime
    end: dt.datetime
    protocol: str
    kind: str
    board: str
    delay_sec: float
    user: str
    project: str
    rel_path: PurePosixPath


def write_behavior_files(writer: SessionWriter, data: SessionData, meta: SessionMeta, settings: dict[str, Any]) -> None:
    """Write ``alf/_ibl_trials.*``, ``alf/_ibl_wheel.*``, ``alf/_ibl_wheelMoves.*`` and the raw rig files."""
    writer.npy_object("alf", "trials", data.trials, namespace="ibl")
    writer.npy_object("alf", "wheel", data.wheel, namespace="ibl")
    writer.npy_object("alf", "wheelMoves", data.wheel_moves, namespace="ibl")
    task_settings = {
        "PYBPOD_BOARD": meta.board,
        "PYBPOD_PROTOCOL": meta.protocol,
        "PYBPOD_SUBJECTS": [meta.nickname],
        "SUBJECT_NAME": meta.nickname,
        "SESSION_DATETIME": iso_datetime(meta.start),
        "SESSION_NUMBER": f"{meta.number:03d}",
        "SESSION_START_DELAY_SEC": meta.delay_sec,
        "IBLRIG_VERSION_TAG": IBLRIG_VERSION,
        "QUIESCENT_PERIOD": 0.2,
        "RESPONSE_WINDOW": 60,
        "ITI_CORRECT": 1,
        "ITI_ERROR": 2,
        "STIM_GAIN": 4.0,
        **settings,
    }
    writer.json("raw_behavior_data", "taskSettings", "raw", task_settings, namespace="iblrig")
    writer.jsonable("raw_behavior_data", "ambientSensorData", "raw", data.ambient_jsonable(), namespace="iblrig")


def write_probe_files(writer: SessionWriter, probe: ProbeData) -> None:
    """Write ``alf/<probe>/spikes.*``, ``clusters.*`` and ``channels.*``."""
    collection = f"alf/{probe.label}"
    writer.npy_object(collection, "spikes", probe.spikes)
    writer.npy_object(collection, "clusters", probe.clusters)
    writer.npy_object(collection, "channels", probe.channels)
    writer.parquet(collection, "clusters", "metrics", probe.metrics)
    writer.csv_column(collection, "clusters", "uuids", "uuids", probe.cluster_uuids)


def log_session(log: EventLog, cat: Catalog, lab: LabInfo, meta: SessionMeta, n_trials: int, n_correct: int | None) -> None:
    """Log the ``actions.session`` record on the session's day."""
    procedures = [cat.uuid("procedure", "Behavior training/tasks")]
    if meta.kind == "ephys":
        procedures.append(cat.uuid("procedure", "Ephys recording with acute probe(s)"))
    log.create(meta.day, "actions.session", meta.uuid, {
        "subject": meta.subject_uuid,
        "users": [cat.uuid("user", meta.user)],
        "location": cat.uuid("location", meta.board),
        "procedures": procedures,
        "lab": cat.uuid("lab", lab.name),
        "projects": [cat.uuid("project", meta.project)],
        "type": "Experiment",
        "number": meta.number,
        "parent_session": None,
        "narrative": "",
        "start_time": iso_datetime(meta.start),
        "end_time": iso_datetime(meta.end),
        "task_protocol": meta.protocol,
        "json": {"SESSION_START_DELAY_SEC": meta.delay_sec, "IBLRIG_VERSION_TAG": IBLRIG_VERSION, "IS_MOCK": False},
        "qc": 0,
        "extended_qc": {},
        "n_trials": n_trials,
        "n_correct_trials": n_correct,
    })


def log_datasets(
    log: EventLog,
    cat: Catalog,
    lab: LabInfo,
    meta: SessionMeta,
    files: list[WrittenFile],
    histology_day: int | None,
) -> list[tuple[int, str, str]]:
    """Log a dataset and its file records for each file; return ``(day, model, pk)`` of each record.

    Histology-derived datasets are logged on ``histology_day`` (never, if it is None).
    Every dataset gets a file record on the lab's FlatIron repository; raw rig files also get
    one on the lab server (which the pipeline ignores, reference §3.2 step 4).
    """
    logged: list[tuple[int, str, str]] = []
    created = meta.end + dt.timedelta(minutes=20)
    for wf in files:
        day = meta.day
        if wf.dataset_type in HISTOLOGY_DATASETS:
            if histology_day is None:
                continue
            day = histology_day
        ds = stable_uuid(cat.seed, "dataset", meta.uuid, wf.collection, wf.name)
        log.create(day, "data.dataset", ds, {
            "name": wf.name,
            "session": meta.uuid,
            "dataset_type": cat.uuid("datasettype", wf.dataset_type),
            "data_format": cat.uuid("format", wf.data_format),
            "collection": wf.collection,
            "revision": None,
            "created_by": cat.uuid("user", meta.user),
            "created_datetime": iso_datetime(created + dt.timedelta(days=day - meta.day)),
            "file_size": wf.size,
            "md5": wf.md5,
            "version": IBLRIG_VERSION,
            "generating_software": "brainlab.simulate",
            "provenance_directory": None,
            "default_dataset": True,
            "protected": False,
            "qc": 0,
            "tags": [],
        })
        logged.append((day, "data.dataset", ds))
        repos = [lab.flatiron_repo] + ([lab.server_repo] if wf.collection == "raw_behavior_data" else [])
        for repo in repos:
            fr = stable_uuid(cat.seed, "filerecord", ds, repo)
            log.create(day, "data.filerecord", fr, {
                "dataset": ds,
                "data_repository": cat.uuid("repo", repo),
                "relative_path": f"{meta.rel_path}/{wf.collection}/{wf.name}",
                "exists": True,
            })
            logged.append((day, "data.filerecord", fr))
    return logged
