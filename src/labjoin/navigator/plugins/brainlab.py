"""brainlab's pages: mice, a mouse, sessions, a session (behaviour and ephys), the daily summary.

A registration plugin, loaded through the ``labjoin.navigator`` entry point (``brainlab =
"labjoin.navigator.plugins.brainlab:register"``) like any other: the generic navigator never
imports it, and it imports nothing from brainlab's tables. It reads brainlab's figure registry
(:mod:`brainlab.plots.registry`: which table and attribute hold each precomputed figure, keyed
how) and its schema names (``BRAINLAB_SCHEMA_PREFIX``, default ``brainlab_``), and builds every
query from the navigator's table lookup. Each page names the schemas it reads, so on a database
without brainlab the pages stay hidden.

The pages follow IBL's navigator (reference ibl-system.md §6.3): mice with filters (lab,
nickname, latest protocol, training status, latest session date, project) and the cumulative
figures as thumbnails; the mouse page with its cumulative figures (water and weight for members
only), the three latest days, an animated psychometric curve over its sessions and its session
list; sessions with filters (brain region, protocol, training status, dates) and server-side
paging; the session page with its behaviour figures, probes (driftmap, depth PETH) and clusters
(raster, PSTH, autocorrelogram, waveform, amplitude over time), and the brain regions its probes
cross; the daily lab summary for members.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from .. import registry as nav

__all__ = ["register"]

log = logging.getLogger("labjoin.navigator")


def register(reg: nav.Registry, prefix: str | None = None) -> None:
    """Register brainlab's pages for the schemas under ``prefix`` (default: brainlab's configured one)."""
    try:
        from brainlab.plots.registry import figures_for
        from brainlab.schemas import schema_name
    except ImportError as e:  # brainlab is not installed in this environment: no lab pages
        log.info("brainlab pages not registered: %s", e)
        return
    s = {m: schema_name(f"brainlab.{m}", prefix) for m in (
        "subject", "acquisition", "behavior", "analyses.behavior", "ephys", "histology", "plotting.behavior",
        "plotting.ephys")}

    def table(module: str, name: str) -> Callable[[Any], Any]:
        return lambda db: db.table(s[module], name)

    def figure(spec: Any, **kw: Any) -> nav.Figure:
        def query(db: Any) -> Any:
            return db.table(spec.schema_name(prefix), spec.table)

        if spec.extra_key and "latest_date" in spec.extra_key:
            kw.setdefault("order_by", "latest_date DESC")  # the newest cumulative figure
        elif spec.extra_key:
            kw.setdefault("many", True)
            kw.setdefault("display", "select")
            kw.setdefault("label", list(spec.extra_key))
        return nav.Figure(spec.name, spec.title, query, attribute=spec.attribute, public=not spec.internal, **kw)

    def subjects(db: Any) -> Any:
        return (db.table(s["subject"], "Subject").proj("subject_nickname", "sex", "subject_birth_date", "subject_line")
                * db.table(s["subject"], "SubjectLab").proj("lab_name"))

    def latest_summary(db: Any) -> Any:
        from labjoin import U

        daily = db.table(s["plotting.behavior"], "DailyLabSummary")
        return (db.table(s["plotting.behavior"], "DailyLabSummary.SubjectSummary")
                & U("lab_name").aggr(daily, last_session_time="max(last_session_time)"))

    def mice(db: Any) -> Any:
        return subjects(db).extend(latest_summary(db).proj(
            "latest_session_ingested", "latest_task_protocol", "latest_training_status"))

    def sessions(db: Any) -> Any:
        base = (db.table(s["acquisition"], "Session").proj("task_protocol", "session_end_time", "session_uuid")
                * subjects(db).proj("subject_nickname", "lab_name"))
        return (base.extend(db.table(s["behavior"], "TrialSet").proj("n_trials", "n_correct_trials"))
                .extend(db.table(s["analyses.behavior"], "SessionTrainingStatus").proj(
                    "training_status", "good_enough_for_brainwide_map")))

    behaviour_schemas = (s["subject"], s["acquisition"], s["plotting.behavior"])
    everything = (*behaviour_schemas, s["behavior"], s["analyses.behavior"])
    thumbnails = [figure(f) for f in figures_for("mouse") if f.name != "fit_pars"]

    reg.add(nav.ListPage(
        name="mice", title="Mice", access="public", requires=everything,
        description="Every mouse, its latest protocol and training status, and its cumulative figures.",
        query=mice, key=["subject_uuid"], order_by="subject_nickname",
        columns=["subject_nickname", "lab_name", "sex", "subject_birth_date", "latest_task_protocol",
                 "latest_training_status", "latest_session_ingested"],
        filters=[nav.Field("lab_name", "lab", kind="choice"), nav.Field("subject_nickname", "nickname"),
                 nav.Field("latest_task_protocol", "latest protocol", kind="choice"),
                 nav.Field("latest_training_status", "training status", kind="choice"),
                 nav.Field("latest_session_ingested", "last session", kind="date"),
                 nav.Field("subject_project", "project", kind="choice", via=table("subject", "SubjectProject"))],
        link=nav.Link("mouse", ["subject_uuid"]), thumbnails=thumbnails, page_size=10,
    ))
    reg.add(nav.DetailPage(
        name="mouse", title="Mouse {subject_nickname}", access="public", requires=everything,
        key=["subject_uuid"], query=mice,
        fields=["subject_nickname", "subject_uuid", "lab_name", "sex", "subject_birth_date", "subject_line",
                "latest_task_protocol", "latest_training_status", "latest_session_ingested"],
        panels=[
            *(figure(f, width="full" if f.name in ("water_weight", "fit_pars") else "half")
              for f in figures_for("mouse")),
            *(figure(f, many=True, order_by="session_date DESC", limit=3, label="session_date", display="select",
                     width="third") for f in figures_for("date")),
            nav.Figure("psych_sessions", "Psychometric curve, session by session",
                       table("plotting.behavior", "SessionPsychCurve"), many=True, order_by="session_start_time DESC",
                       limit=100, label="session_start_time", display="slider", width="full"),
            nav.TablePanel("sessions", "Sessions", sessions, order_by="session_start_time DESC",
                           columns=["session_start_time", "task_protocol", "n_trials", "training_status"],
                           link=nav.Link("session", ["subject_uuid", "session_start_time"])),
        ],
        links=[("See its sessions", nav.Link("sessions", {"subject_nickname": "subject_nickname"}))],
    ))
    reg.add(nav.ListPage(
        name="sessions", title="Sessions", access="public", requires=everything,
        description="Every session; filter by mouse, lab, protocol, training status, date or brain region.",
        query=sessions, order_by="session_start_time DESC", page_size=25,
        columns=["subject_nickname", "lab_name", "session_start_time", "task_protocol", "n_trials",
                 "training_status", "good_enough_for_brainwide_map"],
        filters=[nav.Field("lab_name", "lab", kind="choice"), nav.Field("subject_nickname", "nickname"),
                 nav.Field("task_protocol", "protocol", kind="choice"),
                 nav.Field("training_status", "training status", kind="choice"),
                 nav.Field("session_start_time", "date", kind="date"),
                 nav.Field("acronym", "brain region", kind="choice", via=table("histology", "ProbeBrainRegion"))],
        link=nav.Link("session", ["subject_uuid", "session_start_time"]),
    ))
    cluster_rows = nav.TablePanel(
        "cluster_rows", "Clusters",
        lambda db: (db.table(s["ephys"], "DefaultCluster").proj("cluster_depth", "cluster_amp", "cluster_channel")
                    * db.table(s["ephys"], "DefaultCluster.Metrics").proj("firing_rate", "num_spikes")),
        columns=["probe_idx", "cluster_id", "cluster_depth", "cluster_amp", "firing_rate"],
        order_by=["probe_idx", "cluster_depth DESC"], limit=1000)
    reg.add(nav.DetailPage(
        name="session", title="Session of {subject_nickname}, {session_start_time}", access="public",
        requires=everything, key=["subject_uuid", "session_start_time"], query=sessions,
        fields=["subject_nickname", "lab_name", "session_start_time", "session_end_time", "task_protocol",
                "session_uuid", "n_trials", "n_correct_trials", "training_status", "good_enough_for_brainwide_map"],
        panels=[
            *(figure(f, width="third") for f in figures_for("session")),
            nav.Select("probes", "Probes", key=["probe_idx"], figures=[figure(f) for f in figures_for("probe")],
                       rows=nav.TablePanel("probe_rows", "Probes", table("ephys", "ProbeInsertion"),
                                           columns=["probe_idx", "probe_label"])),
            nav.Select("clusters", "Clusters", key=["probe_idx", "cluster_id"], rows=cluster_rows,
                       figures=[figure(f) for f in figures_for("cluster")]),
            nav.TablePanel("regions", "Brain regions along the probes", table("histology", "ProbeBrainRegion"),
                           columns=["probe_idx", "acronym"], order_by=["probe_idx", "acronym"], width="half"),
        ],
        links=[("Mouse", nav.Link("mouse", ["subject_uuid"]))],
    ))
    reg.add(nav.ListPage(
        name="summary", title="Daily summary", access="member", requires=everything,
        description="Each lab's mice on the latest daily run: what was ingested and what is missing.",
        query=lambda db: latest_summary(db) * db.table(s["subject"], "SubjectLab").proj(),
        key=["subject_uuid"], order_by=["lab_name", "subject_nickname"],
        columns=["lab_name", "subject_nickname", "latest_session_ingested", "latest_task_protocol",
                 "latest_training_status", "n_sessions_current_protocol", "data_update_status"],
        filters=[nav.Field("lab_name", "lab", kind="choice"), nav.Field("subject_nickname", "nickname"),
                 nav.Field("latest_task_protocol", "latest protocol", kind="choice"),
                 nav.Field("latest_training_status", "training status", kind="choice"),
                 nav.Field("latest_session_ingested", "latest session", kind="date")],
        link=nav.Link("mouse", ["subject_uuid"]), thumbnails=thumbnails, page_size=10,
    ))
