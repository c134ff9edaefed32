"""LIMS records shaped like an Alyx dump: ``{"model": ..., "pk": ..., "fields": {...}}``.

Field names follow Alyx's models as the IBL pipeline's ingestion reads them (reference
``ibl-system.md`` §2, §3): a foreign key is the uuid of the referenced record, a many-to-many
field is a list of uuids, a datetime is a naive lab-local ISO string and a date is
``YYYY-MM-DD``. This module builds the lab-wide catalogue (labs, users, rigs, projects, lines,
water types, dataset types, repositories, probe models, the brain-region tree) and holds the
names every other module uses; per-mouse records are built in :mod:`.mouse`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from .alf_writer import DATA_FORMATS
from .identity import LAB_NAMES, PEOPLE, iso_date, iso_datetime, stable_uuid
from .regions import REGIONS

__all__ = [
    "CULL_METHODS",
    "CULL_REASONS",
    "DATASET_TYPES",
    "LINES",
    "PROCEDURES",
    "PROJECTS",
    "PROTOCOLS",
    "WATER_TYPES",
    "Catalog",
    "LabInfo",
    "Record",
    "catalog_records",
    "lab_info",
]

Record = tuple[str, Any, dict[str, Any]]
"""A LIMS record as (model, pk, fields)."""

IBLRIG_VERSION = "6.4.2"
#: Task protocols by protocol family.
PROTOCOLS: dict[str, str] = {
    kind: f"_iblrig_tasks_{kind}ChoiceWorld{IBLRIG_VERSION}"
    for kind in ("habituation", "training", "biased", "ephys")
}
WATER_TYPES: tuple[str, ...] = ("Water", "Water 10% Sucrose", "Hydrogel", "Water 2% Citric Acid")
PROCEDURES: dict[str, str] = {
    "behavior": "Behavior training/tasks",
    "headplate": "Headplate implant",
    "craniotomy": "Craniotomy",
    "ephys": "Ephys recording with acute probe(s)",
    "restriction": "Water restriction",
}
PROJECTS: dict[str, str] = {
    "brainwide_map": "Neuropixels recordings across the brain during the biased task",
    "behaviour_cohort": "Behavioural training and learning dynamics",
}
#: Mouse lines: name -> (strain, target phenotype).
LINES: dict[str, tuple[str, str]] = {
    "C57BL/6J": ("C57BL/6J", "wild type"),
    "Thy1-GCaMP6s": ("C57BL/6J", "pan-neuronal GCaMP6s"),
}
CULL_REASONS: tuple[str, ...] = ("end of protocol", "death by experiment", "found dead")
CULL_METHODS: tuple[str, ...] = ("perfusion", "CO2")
DATA_REPOSITORY_TYPES: tuple[str, ...] = ("Fileserver",)

#: Every dataset type the simulator may register: name -> (filename pattern, description).
DATASET_TYPES: dict[str, tuple[str, str]] = {
    **{f"trials.{a}": (f"*trials.{a}*", f"trial {a}") for a in (
        "intervals", "choice", "feedbackType", "feedback_times", "response_times", "contrastLeft",
        "contrastRight", "probabilityLeft", "stimOn_times", "goCue_times", "goCueTrigger_times",
        "rewardVolume", "itiDuration", "repNum", "included", "firstMovement_times")},
    "wheel.position": ("*wheel.position*", "wheel position (rad) at each encoder tick"),
    "wheel.timestamps": ("*wheel.timestamps*", "time (s) of each wheel sample"),
    "wheelMoves.intervals": ("*wheelMoves.intervals*", "onset and offset of wheel movements"),
    "wheelMoves.peakAmplitude": ("*wheelMoves.peakAmplitude*", "signed amplitude of each movement"),
    "_iblrig_taskSettings.raw": ("_iblrig_taskSettings.raw*", "task settings written by the rig"),
    "_iblrig_ambientSensorData.raw": ("_iblrig_ambientSensorData.raw*", "rig temperature, pressure, humidity"),
    **{f"spikes.{a}": (f"spikes.{a}*", f"spike {a}") for a in (
        "times", "clusters", "amps", "depths", "templates", "samples")},
    **{f"clusters.{a}": (f"clusters.{a}*", f"cluster {a}") for a in (
        "amps", "channels", "depths", "peakToTrough", "waveforms", "waveformsChannels", "metrics",
        "uuids", "brainLocationIds_ccf_2017", "mlapdv")},
    **{f"channels.{a}": (f"channels.{a}*", f"channel {a}") for a in (
        "rawInd", "localCoordinates", "brainLocationIds_ccf_2017", "mlapdv")},
}


@dataclass(frozen=True)
class LabInfo:
    """Names of one lab's people, rigs and repositories.

    Attributes
    ----------
    name, prefix, institution, timezone : str
        Lab name (ALF ``lab``), nickname prefix of its mice, institution and time zone.
    users : tuple of str
        Usernames; the first is the lab's principal investigator.
    people : tuple of tuple of str
        (first name, last name) of each user.
    training_boards : tuple of str
        Training rigs (``PYBPOD_BOARD`` names, which are also the Alyx location names).
    ephys_board : str
        The ephys rig.
    surgery_room : str
        Location of surgeries.
    flatiron_repo, server_repo : str
        Data repositories; only ``flatiron_*`` file records count for ingestion (§3.2).
    """

    index: int
    name: str
    prefix: str
    institution: str
    timezone: str
    users: tuple[str, ...]
    people: tuple[tuple[str, str], ...]
    training_boards: tuple[str, ...]
    ephys_board: str
    surgery_room: str
    flatiron_repo: str
    server_repo: str


def lab_info(index: int) -> LabInfo:
    """Return the names of lab number ``index``."""
    name, prefix, institution, tz = LAB_NAMES[index]
    people = PEOPLE[3 * index : 3 * index + 3]
    users = tuple(f"{first[0].lower()}{last.lower()}" for first, last in people)
    return LabInfo(
        index=index,
        name=name,
        prefix=prefix,
        institution=institution,
        timezone=tz,
        users=users,
        people=people,
        training_boards=(f"_iblrig_{name}_behavior_1", f"_iblrig_{name}_behavior_2"),
        ephys_board=f"_iblrig_{name}_ephys_0",
        surgery_room=f"{name}_surgery",
        flatiron_repo=f"flatiron_{name}",
        server_repo=f"{name}_SR",
    )


class Catalog:
    """Stable uuids of named catalogue entries, the same in every process of a run.

    Examples
    --------
    >>> Catalog(1).uuid("watertype", "Water") == Catalog(1).uuid("watertype", "Water")
    True
    """

    def __init__(self, seed: int) -> None:
        self.seed = seed

    def uuid(self, kind: str, name: str) -> str:
        """The uuid of catalogue entry ``name`` of ``kind`` (e.g. ``("user", "alarkin")``)."""
        return stable_uuid(self.seed, "catalog", kind, name)


def catalog_records(seed: int, labs: int, start: dt.date) -> list[Record]:
    """Every lab-wide record, dated before ``start`` (they are in the first snapshot)."""
    cat = Catalog(seed)
    before = dt.datetime.combine(start - dt.timedelta(days=60), dt.time(9, 0))
    out: list[Record] = []
    all_users: list[str] = []
    for i in range(labs):
        lab = lab_info(i)
        out.append(("misc.lab", cat.uuid("lab", lab.name), {
            "name": lab.name, "institution": lab.institution, "address": f"{lab.institution}, Neuro Building",
            "timezone": lab.timezone, "reference_weight_pct": 0.8, "zscore_weight_pct": 0.0,
            "repositories": [cat.uuid("repo", lab.flatiron_repo), cat.uuid("repo", lab.server_repo)],
        }))
        for j, (user, (first, last)) in enumerate(zip(lab.users, lab.people)):
            all_users.append(user)
            out.append(("misc.labmember", cat.uuid("user", user), {
                "username": user, "first_name": first, "last_name": last,
                "email": f"{user}@{lab.name}.example.org", "password": "!", "is_active": True,
                "is_staff": j == 0, "is_superuser": False, "is_stock_manager": j == 0,
                "date_joined": iso_datetime(before), "last_login": iso_datetime(before),
            }))
            out.append(("misc.labmembership", cat.uuid("membership", user), {
                "user": cat.uuid("user", user), "lab": cat.uuid("lab", lab.name),
                "role": "PI" if j == 0 else "researcher", "start_date": iso_date(before.date()), "end_date": None,
            }))
        for loc in (*lab.training_boards, lab.ephys_board, lab.surgery_room):
            out.append(("misc.lablocation", cat.uuid("location", loc), {"name": loc, "lab": cat.uuid("lab", lab.name)}))
        for repo, host in ((lab.flatiron_repo, "ibl.flatironinstitute.org"), (lab.server_repo, f"{lab.name}-server.local")):
            out.append(("data.datarepository", cat.uuid("repo", repo), {
                "name": repo, "repository_type": cat.uuid("repotype", "Fileserver"), "timezone": lab.timezone,
                "hostname": host, "globus_endpoint_id": stable_uuid(seed, "globus", repo), "globus_path": f"/{lab.name}/",
                "globus_is_personal": repo == lab.server_repo, "data_url": f"https://{host}/{lab.name}/",
            }))
    for name, desc in PROJECTS.items():
        out.append(("subjects.project", cat.uuid("project", name), {
            "name": name, "description": desc, "users": [cat.uuid("user", u) for u in all_users],
        }))
    out.append(("subjects.species", cat.uuid("species", "Mus musculus"), {"name": "Mus musculus", "nickname": "Laboratory mouse"}))
    out.append(("subjects.source", cat.uuid("source", "Jax"), {"name": "Jax", "description": "The Jackson Laboratory"}))
    for strain in sorted({strain for strain, _ in LINES.values()}):
        out.append(("subjects.strain", cat.uuid("strain", strain), {"name": strain, "description": ""}))
    for line, (strain, phenotype) in LINES.items():
        out.append(("subjects.line", cat.uuid("line", line), {
            "name": line, "nickname": line, "description": "", "species": cat.uuid("species", "Mus musculus"),
            "strain": cat.uuid("strain", strain), "target_phenotype": phenotype, "is_active": True,
        }))
    out += [("actions.proceduretype", cat.uuid("procedure", p), {"name": p, "description": ""}) for p in PROCEDURES.values()]
    out += [("actions.watertype", cat.uuid("watertype", w), {"name": w}) for w in WATER_TYPES]
    out += [("actions.cullreason", cat.uuid("cullreason", r), {"name": r, "description": ""}) for r in CULL_REASONS]
    out += [("actions.cullmethod", cat.uuid("cullmethod", m), {"name": m, "description": ""}) for m in CULL_METHODS]
    out += [("data.datarepositorytype", cat.uuid("repotype", t), {"name": t}) for t in DATA_REPOSITORY_TYPES]
    for name, (ext, desc) in DATA_FORMATS.items():
        out.append(("data.dataformat", cat.uuid("format", name), {
            "name": name, "file_extension": ext, "description": desc,
            "matlab_loader_function": "", "python_loader_function": "",
        }))
    for name, (pattern, desc) in DATASET_TYPES.items():
        out.append(("data.datasettype", cat.uuid("datasettype", name), {
            "name": name, "created_by": None, "filename_pattern": pattern, "description": desc,
        }))
    out.append(("experiments.coordinatesystem", cat.uuid("coordinatesystem", "IBL-Allen"), {
        "name": "IBL-Allen", "description": "Allen CCF 2017 in um, origin at Bregma, x ML, y AP, z DV",
    }))
    out.append(("experiments.probemodel", cat.uuid("probemodel", "3B2"), {
        "name": "3B2", "probe_model": "3B2", "probe_manufacturer": "IMEC", "description": "Neuropixels 1.0",
    }))
    for r in REGIONS:
        out.append(("experiments.brainregion", r.id, {
            "name": r.name, "acronym": r.acronym, "parent": r.parent, "ontology": "CCF 2017",
            "level": r.level, "graph_order": r.graph_order,
        }))
    return out
