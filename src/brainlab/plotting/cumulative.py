"""Data for the per-subject cumulative figures and the daily lab summary, and their upkeep.

:func:`update_cumulative` is the daily job's "regenerate the cumulative figures of subjects
that changed" step (reference §3.2 step 8, ``process_cumulative_plots``): it records each
subject's latest event date (``LatestDate``, ``SubjectLatestDate``), deletes the subject's
``CumulativeSummary`` and populates it again. :func:`daily_summary` rebuilds each lab's
``DailyLabSummary``.

``data_update_status`` (per subject, about its latest session) says what is missing, in the
order the pipeline needs things: "Not uploaded to FlatIron yet" (no file record), "Missing
datasets: ..." (a missing-data log), "TrialSet not ingested yet", "Analyses not computed yet",
"Plots not computed yet", "Habituation session (no trials)" or "Data up to date".
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

import numpy as np

from .. import acquisition, action, behavior, data, subject
from ..analyses import behavior as ab
from ..plots import behavior_figs as bf
from . import behavior as pb

__all__ = ["cumulative_figures", "daily_summary", "latest_dates", "subject_summaries", "update_cumulative"]

STATUS_MARKERS = ("trained_1a", "trained_1b", "ready4ephysrig", "ready4delay", "ready4recording")


def _markers(subject_uuid: Any) -> dict[str, Any]:
    key = {"subject_uuid": subject_uuid}
    out: dict[str, Any] = {"status": {}, "ephys": []}
    starts, statuses = (ab.SessionTrainingStatus & key).fetch(
        "session_start_time", "training_status", order_by="session_start_time")
    for s, st in zip(starts, statuses):
        if st in STATUS_MARKERS and st not in out["status"]:
            out["status"][st] = s.date()
    boards = (behavior.Settings & key).fetch("session_start_time", "pybpod_board", order_by="session_start_time")
    for s, b in zip(*boards):
        if "ephys" in b:
            out["status"]["first ephys rig"] = s.date()
            break
    for s, g in zip(*(ab.SessionTrainingStatus * acquisition.Session & key & 'task_protocol LIKE "%ephys%"').fetch(
            "session_start_time", "good_enough_for_brainwide_map")):
        out["ephys"].append((s.date(), bool(g)))
    birth = (subject.Subject & key).fetch1("subject_birth_date")
    out["seven_months"] = birth + dt.timedelta(days=210) if birth else None
    return out


def cumulative_figures(subject_uuid: Any) -> dict[str, dict[str, Any] | None]:
    """The five cumulative figures of a subject (None where there is nothing to draw)."""
    key = {"subject_uuid": subject_uuid}
    markers = _markers(subject_uuid)
    figs: dict[str, dict[str, Any] | None] = {}
    starts, ends, n_trials = (behavior.TrialSet * acquisition.Session & key).fetch(
        "session_start_time", "session_end_time", "n_trials", order_by="session_start_time")
    if len(starts):
        durations = [None if e is None else (e - s).total_seconds() / 60 for s, e in zip(starts, ends)]
        figs["TrialCountsSessionDuration"] = bf.trial_counts_duration([s.date() for s in starts], list(n_trials),
                                                                      durations, markers)
    days = (ab.BehavioralSummaryByDate & key).fetch("session_date", "performance_easy", as_dict=True,
                                                    order_by="session_date")
    rts = dict(zip(*(ab.BehavioralSummaryByDate.ReactionTimeByDate & key).fetch("session_date",
                                                                               "median_reaction_time")))
    if days:
        dates = [d["session_date"] for d in days]
        figs["PerformanceReactionTime"] = bf.performance_rt(dates, [d["performance_easy"] for d in days],
                                                            [rts.get(d) for d in dates], markers)
    blocks = (ab.BehavioralSummaryByDate.PsychResults & key).fetch(as_dict=True, order_by="session_date")
    if blocks:
        neutral = [b for b in blocks if b["prob_left_block"] == 0]
        figs["ContrastHeatmap"] = bf.contrast_heatmap([b["session_date"] for b in neutral],
                                                      [b["signed_contrasts"] for b in neutral],
                                                      [b["prob_choose_right"] for b in neutral], markers)
        rows: dict[float, dict[str, list[Any]]] = {}
        for b in blocks:
            cols = rows.setdefault(round(float(b["prob_left"]), 1), defaultdict(list))
            cols["date"].append(b["session_date"])
            for name in ("threshold", "bias", "lapse_low", "lapse_high"):
                cols[name].append(b[name])
        figs["FitPars"] = bf.fit_pars_figure(rows, markers)
    figs["WaterWeight"] = _water_weight(key, markers)
    return figs


def _water_weight(key: dict[str, Any], markers: dict[str, Any]) -> dict[str, Any] | None:
    times, volumes, adlib, wtypes = (action.WaterAdministration & key).fetch(
        "administration_time", "water_administered", "adlib", "watertype_name")
    w_times, weights = (action.Weighing & key).fetch("weighing_time", "weight", order_by="weighing_time")
    if not len(times) and not len(w_times):
        return None
    per_type: dict[str, dict[dt.date, float]] = defaultdict(lambda: defaultdict(float))
    adlib_days = set()
    for t, v, a, w in zip(times, volumes, adlib, wtypes):
        if a:
            adlib_days.add(t.date())
        elif v is not None:
            per_type[w][t.date()] += float(v)
    water = {w: (sorted(d), [d[x] for x in sorted(d)]) for w, d in per_type.items()}
    colors = dict(zip(*pb.WaterTypeColor.fetch("watertype_name", "water_type_color")))
    restrictions = [dict(start=r["restriction_start_time"], end=r["restriction_end_time"],
                         reference_weight=r["reference_weight"])
                    for r in (action.WaterRestriction & key).fetch(as_dict=True) if r["reference_weight"]]
    return bf.water_weight(water, (list(w_times), [float(x) for x in weights]), restrictions, colors, markers,
                           sorted(adlib_days))


def latest_dates(subjects: list[Any]) -> dict[str, dt.date]:
    """Each subject's latest event date: a session, a weighing or a water administration."""
    out: dict[str, dt.date] = {}
    restriction = [{"subject_uuid": s} for s in subjects]
    for table, attr in ((acquisition.Session, "session_start_time"), (action.Weighing, "weighing_time"),
                        (action.WaterAdministration, "administration_time")):
        q = (table & restriction).proj(t=attr)
        for s, t in zip(*q.fetch("subject_uuid", "t")):
            day = t.date() if isinstance(t, dt.datetime) else t
            if str(s) not in out or day > out[str(s)]:
                out[str(s)] = day
    return out


def update_cumulative(subjects_changed: set[str] | list[str], today: dt.date | None = None) -> dict[str, int]:
    """Record latest dates and regenerate the cumulative figures of the given subjects."""
    subjects = sorted(set(map(str, subjects_changed)) & {str(s) for s in subject.Subject.fetch("subject_uuid")})
    if not subjects:
        return {"subjects": 0, "figures": 0}
    dates = latest_dates(subjects)
    now = dt.datetime.now().replace(microsecond=0)
    restriction = [{"subject_uuid": s} for s in dates]
    pb.LatestDate.insert([dict(subject_uuid=s, checking_ts=now, latest_date=d) for s, d in dates.items()],
                         skip_duplicates=True)
    pb.SubjectLatestDate.insert([dict(subject_uuid=s, latest_date=d) for s, d in dates.items()], replace=True)
    (pb.CumulativeSummary & restriction).delete(safemode=False)
    result = pb.CumulativeSummary.populate(restriction, suppress_errors=True)
    return {"subjects": len(dates), "figures": result["success_count"], "errors": len(result["error_list"])}


def daily_summary(today: dt.date | None = None) -> dict[str, int]:
    """Rebuild every lab's DailyLabSummary (the latest one replaces the older)."""
    from .. import reference

    labs = reference.Lab.fetch("lab_name")
    n_deleted = len(pb.DailyLabSummary & [{"lab_name": lab} for lab in labs])
    if n_deleted:
        (pb.DailyLabSummary & [{"lab_name": lab} for lab in labs]).delete(safemode=False)
    result = pb.DailyLabSummary.populate(suppress_errors=True)
    return {"labs": result["success_count"], "errors": len(result["error_list"])}


def _status_message(session: dict[str, Any], have: dict[str, set[Any]], missing: dict[Any, list[str]]) -> str:
    key = (str(session["subject_uuid"]), session["session_start_time"])
    protocol = session["task_protocol"] or ""
    if key not in have["files"]:
        return "Not uploaded to FlatIron yet"
    if "habituation" in protocol.lower():
        return "Habituation session (no trials)"
    if key not in have["trialset"]:
        if missing.get(key):
            names = ", ".join(sorted(missing[key])[:3])
            more = len(missing[key]) - 3
            return f"Missing datasets: {names}" + (f" and {more} more" if more > 0 else "")
        return "TrialSet not ingested yet"
    if key not in have["analyses"]:
        return "Analyses not computed yet"
    if key not in have["plots"]:
        return "Plots not computed yet"
    return "Data up to date"


def subject_summaries(lab_name: str) -> list[dict[str, Any]]:
    """Per subject of the lab: latest sessions, protocol, status and what is missing.

    Culled subjects are listed too (their status says so): the mice pages read their latest
    protocol and training status from here, and a lab whose only recorded mice were culled
    after recording would otherwise show nothing.
    """
    subjects = (subject.Subject & (subject.SubjectLab & {"lab_name": lab_name})).fetch(
        "subject_uuid", "subject_nickname", as_dict=True)
    if not subjects:
        return []
    culled = {str(u): d for u, d in zip(*(subject.Death & (subject.SubjectLab & {"lab_name": lab_name}))
                                         .fetch("subject_uuid", "death_date"))}
    restr = [{"subject_uuid": s["subject_uuid"]} for s in subjects]
    sessions = (acquisition.Session & restr).fetch("subject_uuid", "session_start_time", "task_protocol",
                                                     as_dict=True, order_by="session_start_time")

    def keys(q: Any) -> set[Any]:
        return {(str(s), t) for s, t in zip(*q.fetch("subject_uuid", "session_start_time"))}

    have = {"files": keys((acquisition.Session & restr) & data.FileRecord),
            "trialset": keys(behavior.TrialSet & restr), "analyses": keys(ab.SessionTrainingStatus & restr),
            "plots": keys(pb.SessionPsychCurve & restr)}
    missing: dict[Any, list[str]] = defaultdict(list)
    for s, t, m in zip(*(behavior.MissingDataLog & restr).fetch("subject_uuid", "session_start_time",
                                                                 "missing_data")):
        missing[(str(s), t)].append(m)
    status = {(str(s), t): st for s, t, st in zip(*(ab.SessionTrainingStatus & restr).fetch(
        "subject_uuid", "session_start_time", "training_status"))}
    by_subject: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in sessions:
        by_subject[str(row["subject_uuid"])].append(row)
    out = []
    for s in subjects:
        mine = by_subject.get(str(s["subject_uuid"]), [])
        row: dict[str, Any] = dict(subject_uuid=s["subject_uuid"], subject_nickname=s["subject_nickname"])
        if not mine:
            death = culled.get(str(s["subject_uuid"]))
            out.append(dict(row, data_update_status=f"Culled on {death.isoformat()}" if death else "No session yet"))
            continue
        latest = mine[-1]
        on_flatiron = [r["session_start_time"] for r in mine if (str(r["subject_uuid"]), r["session_start_time"])
                       in have["files"]]
        statuses = [status[k] for k in ((str(r["subject_uuid"]), r["session_start_time"]) for r in mine)
                    if k in status]
        protocol = latest["task_protocol"]
        n_current = int(np.sum([r["task_protocol"] == protocol for r in mine]))
        death = culled.get(str(s["subject_uuid"]))
        message = f"Culled on {death.isoformat()}" if death else _status_message(latest, have, missing)
        out.append(dict(row, latest_session_ingested=latest["session_start_time"],
                        latest_session_on_flatiron=on_flatiron[-1] if on_flatiron else None,
                        latest_task_protocol=protocol, latest_training_status=statuses[-1] if statuses else None,
                        n_sessions_current_protocol=n_current, data_update_status=message))
    return out
