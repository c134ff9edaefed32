"""How each LIMS model becomes rows of brainlab tables (IBL's shadow tables, as functions).

A mapping function takes a record's pk and fields and a :class:`Resolver` (LIMS pks -> natural
keys) and returns ``[(table class, row), ...]``; the first entry is the record's main row, the
others its membership rows (users, procedures, projects, QC). :data:`MODEL_ORDER` lists the
models in foreign-key order: creates follow it, deletes run in reverse.

File records are kept only when the file exists on a ``flatiron*`` repository (reference §3.2
step 4), so a record flipping ``exists`` from false to true *creates* its FileRecord row.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from labjoin import errors

from .. import acquisition, action, data, ephys, histology, qc, reference, subject

__all__ = ["MAPPERS", "MODEL_ORDER", "Resolver", "map_record"]

Rows = list[tuple[type, dict[str, Any]]]

MODEL_ORDER = (
    "misc.lab", "misc.labmember", "misc.labmembership", "misc.lablocation", "subjects.project",
    "subjects.species", "subjects.source", "subjects.strain", "subjects.line", "actions.proceduretype",
    "actions.watertype", "actions.cullreason", "actions.cullmethod", "data.dataformat",
    "data.datarepositorytype", "data.datarepository", "data.datasettype", "experiments.coordinatesystem",
    "experiments.probemodel", "experiments.brainregion", "subjects.subject", "actions.weighing",
    "actions.waterrestriction", "actions.surgery", "actions.session", "actions.wateradministration",
    "actions.cull", "data.dataset", "data.filerecord", "experiments.probeinsertion",
    "experiments.trajectoryestimate",
)

QC_CODES = {"NOT_SET": 0, "PASS": 10, "WARNING": 30, "FAIL": 40, "CRITICAL": 50}


def _dt(value: str | None) -> dt.datetime | None:
    return None if value is None else dt.datetime.fromisoformat(value).replace(tzinfo=None)


def _date(value: str | None) -> dt.date | None:
    return None if value is None else dt.date.fromisoformat(value[:10])


def _qc(value: Any) -> int | None:
    if isinstance(value, bool):
        return 10 if value else 0
    if isinstance(value, str):
        return QC_CODES.get(value.upper())
    if isinstance(value, (int, float)) and int(value) in QC_CODES.values():
        return int(value)
    return None


class Resolver:
    """LIMS pk -> names and natural keys, from the snapshot (then the last applied fields)."""

    def __init__(self, current: dict[str, dict[Any, dict[str, Any]]],
                 previous: dict[str, dict[Any, dict[str, Any]]], session_keys: dict[str, dict[str, Any]]) -> None:
        self.current = current
        self.previous = previous
        self.session_keys = session_keys

    def fields(self, model: str, pk: Any) -> dict[str, Any]:
        for source in (self.current, self.previous):
            found = source.get(model, {}).get(pk)
            if found is not None:
                return found
        raise errors.DataError(f"The LIMS record {model} {pk} is referenced but not in the snapshot.")

    def name(self, model: str, pk: Any, field: str = "name") -> Any:
        return None if pk is None else self.fields(model, pk)[field]

    def user(self, pk: Any) -> str | None:
        return self.name("misc.labmember", pk, "username")

    def location(self, pk: Any) -> tuple[str | None, str | None]:
        if pk is None:
            return None, None
        f = self.fields("misc.lablocation", pk)
        return self.name("misc.lab", f["lab"]), f["name"]

    def session(self, pk: Any) -> dict[str, Any]:
        """The session's key: the stored one when the session is in the database (a later change
        of start time in the LIMS does not change it), else the snapshot's."""
        key = self.session_keys.get(str(pk))
        if key is None:
            f = self.fields("actions.session", pk)
            key = {"subject_uuid": f["subject"], "session_start_time": _dt(f["start_time"])}
        return dict(key)

    def dataset(self, pk: Any) -> dict[str, Any]:
        f = self.fields("data.dataset", pk)
        return dict(self.session(f["session"]), dataset_name=f["name"], collection=f["collection"])

    def probe(self, pk: Any) -> dict[str, Any]:
        f = self.fields("experiments.probeinsertion", pk)
        return dict(self.session(f["session"]), probe_idx=int(f["name"][-2:]))


def _lab(pk: Any, f: dict[str, Any], r: Resolver) -> Rows:
    return [(reference.Lab, dict(lab_name=f["name"], lab_uuid=pk, institution=f["institution"], address=f["address"],
                                 time_zone=f["timezone"], reference_weight_pct=f.get("reference_weight_pct"),
                                 zscore_weight_pct=f.get("zscore_weight_pct")))]


def _labmember(pk: Any, f: dict[str, Any], r: Resolver) -> Rows:
    return [(reference.LabMember, dict(
        user_name=f["username"], user_uuid=pk, password=f["password"], email=f.get("email"),
        last_login=_dt(f.get("last_login")), first_name=f.get("first_name"), last_name=f.get("last_name"),
        date_joined=_dt(f["date_joined"]), is_active=f["is_active"], is_staff=f["is_staff"],
        is_superuser=f["is_superuser"], is_stock_manager=f["is_stock_manager"]))]


def _labmembership(pk: Any, f: dict[str, Any], r: Resolver) -> Rows:
    return [(reference.LabMembership, dict(
        lab_name=r.name("misc.lab", f["lab"]), user_name=r.user(f["user"]), lab_membership_uuid=pk,
        role=f.get("role"), mem_start_date=_date(f.get("start_date")), mem_end_date=_date(f.get("end_date"))))]


def _lablocation(pk: Any, f: dict[str, Any], r: Resolver) -> Rows:
    return [(reference.LabLocation, dict(lab_name=r.name("misc.lab", f["lab"]), location_name=f["name"],
                                         location_uuid=pk))]


def _project(pk: Any, f: dict[str, Any], r: Resolver) -> Rows:
    rows: Rows = [(reference.Project, dict(project_name=f["name"], project_uuid=pk,
                                           project_description=f.get("description")))]
    rows += [(reference.ProjectLabMember, dict(project_name=f["name"], user_name=r.user(u))) for u in f.get("users", [])]
    return rows


def _simple(table: Callable[[], type], name: str, uuid: str, extra: dict[str, str]) -> Callable[..., Rows]:
    def mapper(pk: Any, f: dict[str, Any], r: Resolver) -> Rows:
        row = {name: f["name"], uuid: pk}
        row.update({attr: f.get(field) for attr, field in extra.items()})
        return [(table(), row)]
    return mapper


def _line(pk: Any, f: dict[str, Any], r: Resolver) -> Rows:
    return [(subject.Line, dict(
        line_name=f["name"], binomial=r.name("subjects.species", f["species"]),
        strain_name=r.name("subjects.strain", f.get("strain")), line_uuid=pk, line_description=f.get("description"),
        target_phenotype=f.get("target_phenotype"), line_nickname=f["nickname"], is_active=f["is_active"]))]


def _datarepository(pk: Any, f: dict[str, Any], r: Resolver) -> Rows:
    return [(data.DataRepository, dict(
        repo_name=f["name"], repotype_name=r.name("data.datarepositorytype", f["repository_type"]), repo_uuid=pk,
        repo_timezone=f["timezone"], repo_hostname=f.get("hostname"), globus_endpoint_id=f.get("globus_endpoint_id"),
        globus_path=f.get("globus_path"), data_url=f.get("data_url"), globus_is_personal=f.get("globus_is_personal")))]


def _datasettype(pk: Any, f: dict[str, Any], r: Resolver) -> Rows:
    return [(data.DataSetType, dict(
        dataset_type_name=f["name"], dataset_type_uuid=pk, dataset_type_created_by=r.user(f.get("created_by")),
        filename_pattern=f.get("filename_pattern"), dataset_type_description=f.get("description")))]


def _brainregion(pk: Any, f: dict[str, Any], r: Resolver) -> Rows:
    return [(reference.BrainRegion, dict(
        ontology=f.get("ontology") or "CCF 2017", acronym=f["acronym"], brain_region_name=f["name"],
        parent=f.get("parent"), brain_region_pk=int(pk), brain_region_level=f.get("level"),
        graph_order=f.get("graph_order")))]


def _subject(pk: Any, f: dict[str, Any], r: Resolver) -> Rows:
    protocol = str(f.get("protocol_number") or "0")
    key = {"subject_uuid": pk}
    rows: Rows = [(subject.Subject, dict(
        key, subject_nickname=f["nickname"], sex=f["sex"], subject_birth_date=_date(f.get("birth_date")),
        ear_mark=f.get("ear_mark"), subject_line=r.name("subjects.line", f.get("line")),
        subject_source=r.name("subjects.source", f.get("source")),
        subject_strain=r.name("subjects.strain", f.get("strain")),
        protocol_number=int(protocol) if protocol.isdigit() else 0,
        subject_description=f.get("description")))]
    if f.get("lab"):
        rows.append((subject.SubjectLab, dict(key, lab_name=r.name("misc.lab", f["lab"]))))
    if f.get("responsible_user"):
        rows.append((subject.SubjectUser, dict(key, responsible_user=r.user(f["responsible_user"]))))
    rows += [(subject.SubjectProject, dict(key, subject_project=r.name("subjects.project", p)))
             for p in f.get("projects", [])]
    if f.get("cage"):
        rows.append((subject.Caging, dict(key, cage_name=f["cage"])))
    if f.get("death_date"):
        rows.append((subject.Death, dict(key, death_date=_date(f["death_date"]))))
    if f.get("cull_method"):
        rows.append((subject.SubjectCullMethod, dict(key, cull_method=f["cull_method"])))
    return rows


def _weighing(pk: Any, f: dict[str, Any], r: Resolver) -> Rows:
    return [(action.Weighing, dict(subject_uuid=f["subject"], weighing_time=_dt(f["date_time"]), weigh_uuid=pk,
                                   weight=f["weight"], weighing_user=r.user(f.get("user"))))]


def _restriction(pk: Any, f: dict[str, Any], r: Resolver) -> Rows:
    lab, loc = r.location(f.get("location"))
    key = {"subject_uuid": f["subject"], "restriction_start_time": _dt(f["start_time"])}
    rows: Rows = [(action.WaterRestriction, dict(
        key, restriction_uuid=pk, restriction_end_time=_dt(f.get("end_time")),
        reference_weight=f.get("reference_weight"), restriction_narrative=f.get("narrative"),
        restriction_lab=lab, restriction_location=loc))]
    rows += [(action.WaterRestrictionUser, dict(key, user_name=r.user(u))) for u in f.get("users", [])]
    rows += [(action.WaterRestrictionProcedure, dict(key, procedure_type_name=r.name("actions.proceduretype", p)))
             for p in f.get("procedures", [])]
    return rows


def _surgery(pk: Any, f: dict[str, Any], r: Resolver) -> Rows:
    lab, loc = r.location(f.get("location"))
    key = {"subject_uuid": f["subject"], "surgery_start_time": _dt(f["start_time"])}
    rows: Rows = [(action.Surgery, dict(
        key, surgery_uuid=pk, surgery_end_time=_dt(f.get("end_time")), surgery_lab=lab, surgery_location=loc,
        surgery_outcome_type=f.get("outcome_type") or "None", surgery_narrative=f.get("narrative")))]
    rows += [(action.SurgeryUser, dict(key, user_name=r.user(u))) for u in f.get("users", [])]
    rows += [(action.SurgeryProcedure, dict(key, procedure_type_name=r.name("actions.proceduretype", p)))
             for p in f.get("procedures", [])]
    return rows


def _session(pk: Any, f: dict[str, Any], r: Resolver) -> Rows:
    key = r.session(pk)
    lab, loc = r.location(f.get("location"))
    rows: Rows = [(acquisition.Session, dict(
        key, session_uuid=pk, session_number=f.get("number"), session_end_time=_dt(f.get("end_time")),
        session_lab=lab, session_location=loc, task_protocol=f.get("task_protocol"), session_type=f.get("type"),
        session_narrative=f.get("narrative")))]
    rows += [(acquisition.SessionUser, dict(key, user_name=r.user(u))) for u in f.get("users", [])]
    rows += [(acquisition.SessionProcedure, dict(key, procedure_type_name=r.name("actions.proceduretype", p)))
             for p in f.get("procedures", [])]
    if f.get("projects"):
        rows.append((acquisition.SessionProject, dict(key, session_project=r.name("subjects.project",
                                                                                  f["projects"][0]))))
    if f.get("parent_session"):
        parent = r.session(f["parent_session"])
        rows.append((acquisition.ChildSession, dict(key, parent_session_start_time=parent["session_start_time"])))
    code = _qc(f.get("qc"))
    if code is not None:
        rows.append((qc.SessionQC, dict(key, session_qc=code)))
    for qtype, value in sorted((f.get("extended_qc") or {}).items()):
        code = _qc(value)
        if code is not None and qtype in _SESSION_QC_TYPES:
            rows.append((qc.SessionExtendedQC, dict(key, qc_type=qtype, session_extended_qc=code)))
    return rows


_SESSION_QC_TYPES = {"experimenter", "task", "behavior", "videoBody", "videoLeft", "videoRight", "dlc"}


def _wateradmin(pk: Any, f: dict[str, Any], r: Resolver) -> Rows:
    key = {"subject_uuid": f["subject"], "administration_time": _dt(f["date_time"])}
    rows: Rows = [(action.WaterAdministration, dict(
        key, wateradmin_uuid=pk, water_administered=f.get("water_administered"), adlib=bool(f.get("adlib")),
        watertype_name=r.name("actions.watertype", f["water_type"]), administration_user=r.user(f.get("user"))))]
    if f.get("session"):
        rows.append((acquisition.WaterAdministrationSession, dict(key, **r.session(f["session"]))))
    return rows


def _cull(pk: Any, f: dict[str, Any], r: Resolver) -> Rows:
    return [(action.Cull, dict(
        subject_uuid=f["subject"], cull_uuid=pk, cull_date=_date(f["date"]), cull_user=r.user(f.get("user")),
        cull_reason=r.name("actions.cullreason", f.get("cull_reason")),
        cull_method=r.name("actions.cullmethod", f.get("cull_method")), cull_description=f.get("description") or ""))]


def _dataset(pk: Any, f: dict[str, Any], r: Resolver) -> Rows:
    return [(data.DataSet, dict(
        r.session(f["session"]), dataset_name=f["name"], collection=f["collection"], dataset_uuid=pk,
        dataset_created_by=r.user(f.get("created_by")),
        dataset_type_name=r.name("data.datasettype", f["dataset_type"]),
        format_name=r.name("data.dataformat", f["data_format"]), created_datetime=_dt(f.get("created_datetime")),
        generating_software=f.get("generating_software"), provenance_directory=f.get("provenance_directory"),
        md5=f.get("md5"), file_size=f.get("file_size")))]


def _filerecord(pk: Any, f: dict[str, Any], r: Resolver) -> Rows:
    repo = r.name("data.datarepository", f["data_repository"])
    if not f.get("exists") or not str(repo).startswith("flatiron"):
        return []
    return [(data.FileRecord, dict(r.dataset(f["dataset"]), repo_name=repo, record_uuid=pk, exists=True,
                                   relative_path=f["relative_path"]))]


def _probeinsertion(pk: Any, f: dict[str, Any], r: Resolver) -> Rows:
    key = r.probe(pk)
    rows: Rows = [(ephys.ProbeInsertion, dict(key, probe_label=f["name"], probe_insertion_uuid=pk,
                                              probe_name=r.name("experiments.probemodel", f.get("model"))))]
    js = f.get("json") or {}
    code = _qc(js.get("qc"))
    if code is not None:
        rows.append((qc.ProbeInsertionQC, dict(key, insertion_qc=code)))
    for qtype in ("tracing_exists", "alignment_resolved"):
        code = _qc((js.get("extended_qc") or {}).get(qtype))
        if code is not None:
            rows.append((qc.ProbeInsertionExtendedQC, dict(key, qc_type=qtype, insertion_extended_qc=code)))
    return rows


def _trajectory(pk: Any, f: dict[str, Any], r: Resolver) -> Rows:
    return [(histology.ProbeTrajectoryTemp, dict(
        r.probe(f["probe_insertion"]), provenance=int(f["provenance"]),
        coordinate_system_name=r.name("experiments.coordinatesystem", f.get("coordinate_system")),
        trajectory_ts=_dt(f.get("datetime")), probe_trajectory_uuid=pk, x=f["x"], y=f["y"], z=f["z"],
        phi=f["phi"], theta=f["theta"], depth=f["depth"], roll=f.get("roll")))]


MAPPERS: dict[str, Callable[[Any, dict[str, Any], Resolver], Rows]] = {
    "misc.lab": _lab,
    "misc.labmember": _labmember,
    "misc.labmembership": _labmembership,
    "misc.lablocation": _lablocation,
    "subjects.project": _project,
    "subjects.species": _simple(lambda: subject.Species, "binomial", "species_uuid", {"species_nickname": "nickname"}),
    "subjects.source": _simple(lambda: subject.Source, "source_name", "source_uuid",
                               {"source_description": "description"}),
    "subjects.strain": _simple(lambda: subject.Strain, "strain_name", "strain_uuid",
                               {"strain_description": "description"}),
    "subjects.line": _line,
    "actions.proceduretype": _simple(lambda: action.ProcedureType, "procedure_type_name", "procedure_type_uuid",
                                     {"procedure_type_description": "description"}),
    "actions.watertype": _simple(lambda: action.WaterType, "watertype_name", "watertype_uuid", {}),
    "actions.cullreason": _simple(lambda: action.CullReason, "cull_reason", "cull_reason_uuid",
                                  {"cull_reason_description": "description"}),
    "actions.cullmethod": _simple(lambda: action.CullMethod, "cull_method", "cull_method_uuid",
                                  {"cull_method_description": "description"}),
    "data.dataformat": _simple(lambda: data.DataFormat, "format_name", "format_uuid", {
        "file_extension": "file_extension", "matlab_loader_function": "matlab_loader_function",
        "python_loader_function": "python_loader_function", "format_description": "description"}),
    "data.datarepositorytype": _simple(lambda: data.DataRepositoryType, "repotype_name", "repotype_uuid", {}),
    "data.datarepository": _datarepository,
    "data.datasettype": _datasettype,
    "experiments.coordinatesystem": _simple(lambda: reference.CoordinateSystem, "coordinate_system_name",
                                            "coordinate_system_uuid",
                                            {"coordinate_system_description": "description"}),
    "experiments.probemodel": _simple(lambda: ephys.ProbeModel, "probe_name", "probe_uuid", {
        "probe_model": "probe_model", "probe_manufacturer": "probe_manufacturer",
        "probe_description": "description"}),
    "experiments.brainregion": _brainregion,
    "subjects.subject": _subject,
    "actions.weighing": _weighing,
    "actions.waterrestriction": _restriction,
    "actions.surgery": _surgery,
    "actions.session": _session,
    "actions.wateradministration": _wateradmin,
    "actions.cull": _cull,
    "data.dataset": _dataset,
    "data.filerecord": _filerecord,
    "experiments.probeinsertion": _probeinsertion,
    "experiments.trajectoryestimate": _trajectory,
}


def map_record(model: str, pk: Any, fields: dict[str, Any], resolver: Resolver) -> Rows:
    """Rows of one LIMS record (``[]`` for a model brainlab does not ingest)."""
    mapper = MAPPERS.get(model)
    return [] if mapper is None else mapper(pk, fields, resolver)
