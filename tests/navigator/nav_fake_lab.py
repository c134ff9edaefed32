"""A small lab pipeline with precomputed plotly figures, and its page registration.

It stands in for brainlab in the navigator's tests: the same shapes (subjects in labs,
sessions, trials, probes and clusters, figure tables with ``plotting_data``), a few rows of
each, deterministic. ``build(conn, prefix)`` declares and fills it; ``register(reg, prefix)``
registers mice, mouse, sessions, session and summary pages over it.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import numpy as np

import labjoin as dj
from labjoin.navigator import registry as nav
from labjoin.populate.jobs import JobTable

LABS = ("alab", "blab")
N_SUBJECTS = 6
N_SESSIONS = 5
N_TRIALS = 60
PUBLIC_NICKNAMES = ("mA1", "mB2")
START = dt.datetime(2024, 3, 4, 9, 30)


def subject_uuid(i: int) -> uuid.UUID:
    return uuid.UUID(int=0x5EED0000 + i)


def figure(kind: str, x: Any, y: Any, title: str, mode: str = "lines+markers") -> dict[str, Any]:
    trace = {"type": kind, "x": list(x), "y": list(y), "name": title}
    if kind == "scatter":
        trace["mode"] = mode
    return {"data": [trace],
            "layout": {"title": {"text": title}, "margin": {"t": 30, "b": 30, "l": 40, "r": 10}}}


def schemas(prefix: str) -> dict[str, str]:
    return {name: f"{prefix}{name}" for name in ("subject", "acquisition", "behavior", "ephys", "plotting")}


def build(conn: dj.Connection, prefix: str) -> dict[str, str]:
    """Declare and fill the pipeline under ``prefix``; the schema names by module."""
    names = schemas(prefix)
    subject = dj.Schema(names["subject"], connection=conn)
    acquisition = dj.Schema(names["acquisition"], connection=conn)
    behavior = dj.Schema(names["behavior"], connection=conn)
    ephys = dj.Schema(names["ephys"], connection=conn)
    plotting = dj.Schema(names["plotting"], connection=conn)
    ctx: dict[str, Any] = {}  # the classes declared so far: foreign keys across schemas resolve here

    def on(schema: dj.Schema) -> Any:
        def declare(cls: type) -> type:
            schema(cls, context=ctx)
            ctx[cls.__name__] = cls
            return cls

        return declare

    @on(subject)
    class Lab(dj.Lookup):
        definition = """
        lab_name: varchar(32)
        ---
        institution="": varchar(64)
        """
        contents = [(name, f"{name} institute") for name in LABS]

    @on(subject)
    class Subject(dj.Manual):
        definition = """
        # a mouse
        subject_uuid: uuid
        ---
        subject_nickname: varchar(32)
        -> Lab
        sex: enum('M', 'F', 'U')
        subject_birth_date: date
        project="": varchar(32)
        """

    @on(acquisition)
    class Session(dj.Manual):
        definition = """
        -> Subject
        session_start_time: datetime
        ---
        task_protocol: varchar(64)
        session_lab: varchar(32)
        """

    @on(behavior)
    class TrialSet(dj.Imported):
        definition = """
        -> Session
        ---
        n_trials: int
        performance: float
        """

        class Trial(dj.Part):
            definition = """
            -> master
            trial_id: int
            ---
            trial_response_time: float
            trial_response_choice: enum('CCW', 'CW', 'No Go')
            trial_stim_contrast: float
            trial_rt=null: float
            """

    @on(ephys)
    class ProbeInsertion(dj.Imported):
        definition = """
        -> Session
        probe_idx: int
        ---
        probe_label: varchar(8)
        """

    @on(ephys)
    class Cluster(dj.Imported):
        definition = """
        -> ProbeInsertion
        cluster_id: int
        ---
        cluster_depth: float
        cluster_amp: float
        firing_rate: float
        cluster_waveform: longblob
        """

    @on(plotting)
    class SessionPsychCurve(dj.Computed):
        definition = """
        -> TrialSet
        ---
        plotting_data: longblob
        """

    @on(plotting)
    class CumulativeSummary(dj.Computed):
        definition = """
        -> Subject
        ---
        trial_counts: longblob
        water_weight: longblob
        """

    @on(plotting)
    class DatePsychCurve(dj.Computed):
        definition = """
        -> Subject
        session_date: date
        ---
        plotting_data: json
        """

    @on(plotting)
    class Raster(dj.Computed):
        definition = """
        -> Cluster
        ---
        plotting_data: longblob
        """

    @on(plotting)
    class SubjectStatus(dj.Computed):
        definition = """
        # the daily summary's line per subject
        -> Subject
        ---
        latest_session: datetime
        n_sessions: int
        data_update_status: varchar(255)
        """

    rng = np.random.default_rng(7)
    subjects, sessions, trialsets, trials, probes, clusters = [], [], [], [], [], []
    psych, cumulative, dates, rasters, status = [], [], [], [], []
    for i in range(N_SUBJECTS):
        lab = LABS[i % 2]
        nick = f"m{'AB'[i % 2]}{i // 2 + 1}"
        su = subject_uuid(i)
        subjects.append(dict(subject_uuid=su, subject_nickname=nick, lab_name=lab, sex="MF"[i % 2],
                             subject_birth_date=dt.date(2023, 10, 1 + i), project="brainwide" if i < 4 else ""))
        counts = []
        for s in range(N_SESSIONS):
            start = START + dt.timedelta(days=s + i, hours=i)
            protocol = "trainingChoiceWorld" if s < 3 else ("ephysChoiceWorld" if s == 4 else "biasedChoiceWorld")
            key = dict(subject_uuid=su, session_start_time=start)
            sessions.append(dict(key, task_protocol=protocol, session_lab=lab))
            contrasts = rng.choice([-1, -0.25, 0, 0.25, 1], N_TRIALS)
            perf = float(0.5 + 0.08 * s)
            trialsets.append(dict(key, n_trials=N_TRIALS, performance=perf))
            counts.append(N_TRIALS)
            for t in range(N_TRIALS):
                trials.append(dict(key, trial_id=t + 1, trial_response_time=float(t * 2.5),
                                   trial_response_choice=("CCW", "CW", "No Go")[t % 3],
                                   trial_stim_contrast=float(contrasts[t]),
                                   trial_rt=None if t % 10 == 9 else float(0.2 + 0.01 * t)))
            signed = [-100, -25, 0, 25, 100]
            psych.append(dict(key, plotting_data=figure("scatter", signed, np.round(np.linspace(0.1, 0.9, 5), 2),
                                                        f"{nick} session {s + 1}")))
            dates.append(dict(subject_uuid=su, session_date=start.date(),
                              plotting_data=figure("scatter", signed, [0.2, 0.3, 0.5, 0.7, 0.8],
                                                   f"{nick} {start.date()}")))
            if protocol == "ephysChoiceWorld":
                probes.append(dict(key, probe_idx=0, probe_label="probe00"))
                for c in range(8):
                    ckey = dict(key, probe_idx=0, cluster_id=c)
                    clusters.append(dict(ckey, cluster_depth=float(200 + 150 * c), cluster_amp=float(50 + 10 * c),
                                         firing_rate=float(1 + c), cluster_waveform=np.sin(np.linspace(0, 6, 82)) * c))
                    spikes = rng.uniform(-0.5, 1.0, 40)
                    rasters.append(dict(ckey, plotting_data=figure("scatter", spikes.round(3),
                                                                   rng.integers(1, 20, 40), f"raster {c}",
                                                                   mode="markers")))
        cumulative.append(dict(subject_uuid=su, trial_counts=figure("bar", range(1, N_SESSIONS + 1), counts,
                                                                    f"{nick} trial counts"),
                               water_weight=figure("scatter", range(1, N_SESSIONS + 1), [22.0, 21.5, 21.0, 20.8, 21.2],
                                                   f"{nick} weight")))
        status.append(dict(subject_uuid=su, latest_session=START + dt.timedelta(days=N_SESSIONS - 1 + i, hours=i),
                           n_sessions=N_SESSIONS, data_update_status="Data up to date" if i % 3 else "TrialSet missing"))
    Subject.insert(subjects)
    Session.insert(sessions)
    TrialSet.insert(trialsets, allow_direct_insert=True)
    TrialSet.Trial.insert(trials, allow_direct_insert=True)
    ProbeInsertion.insert(probes, allow_direct_insert=True)
    Cluster.insert(clusters, allow_direct_insert=True)
    SessionPsychCurve.insert(psych, allow_direct_insert=True)
    CumulativeSummary.insert(cumulative, allow_direct_insert=True)
    DatePsychCurve.insert(dates, allow_direct_insert=True)
    Raster.insert(rasters, allow_direct_insert=True)
    SubjectStatus.insert(status, allow_direct_insert=True)
    jobs = JobTable(conn, names["plotting"])
    jobs.error("__session_psych_curve", {"subject_uuid": subject_uuid(0), "session_start_time": START},
               "ValueError: the fit did not converge", "Traceback (most recent call last):\n  ...\nValueError")
    jobs.reserve("__raster", {"cluster_id": 3})
    return names


def register(reg: nav.Registry, prefix: str) -> None:
    """The lab pages over the pipeline built with ``prefix``."""
    n = schemas(prefix)

    def subjects(db: Any) -> Any:
        return db[f"{n['subject']}.Subject"]

    def sessions(db: Any) -> Any:
        return (db[f"{n['acquisition']}.Session"] * subjects(db).proj("subject_nickname", "lab_name")
                * db[f"{n['behavior']}.TrialSet"])

    cumulative = f"{n['plotting']}.CumulativeSummary"
    reg.add(nav.ListPage(
        name="mice", title="Mice", access="public", description="Every mouse, with its cumulative figures.",
        query=subjects, columns=["subject_nickname", "lab_name", "sex", "subject_birth_date", "project"],
        filters=[nav.Field("lab_name", "lab", kind="choice"), nav.Field("subject_nickname", "nickname"),
                 nav.Field("subject_birth_date", "birth date", kind="date"), nav.Field("sex", kind="choice")],
        link=nav.Link("mouse", ["subject_uuid"]), key=["subject_uuid"], order_by="subject_nickname",
        thumbnails=[nav.Figure("counts", "Trial counts", lambda db: db[cumulative], attribute="trial_counts"),
                    nav.Figure("weight", "Weight", lambda db: db[cumulative], attribute="water_weight", public=False)],
        page_size=4,
    ))
    reg.add(nav.DetailPage(
        name="mouse", title="Mouse {subject_nickname}", access="public", key=["subject_uuid"], query=subjects,
        fields=["subject_nickname", "lab_name", "sex", "subject_birth_date", "project"],
        panels=[
            nav.Figure("water", "Water and weight", lambda db: db[cumulative], attribute="water_weight",
                       public=False, width="half"),
            nav.Figure("counts", "Trial counts", lambda db: db[cumulative], attribute="trial_counts"),
            nav.Figure("dates", "Psychometric curve by date", lambda db: db[f"{n['plotting']}.DatePsychCurve"],
                       many=True, order_by="session_date DESC", limit=3, label="session_date", display="slider"),
            nav.TablePanel("sessions", "Sessions", sessions,
                           columns=["session_start_time", "task_protocol", "n_trials", "performance"],
                           link=nav.Link("session", ["subject_uuid", "session_start_time"]),
                           order_by="session_start_time DESC"),
        ],
        links=[("See sessions", nav.Link("sessions", {"subject_nickname": "subject_nickname"}))],
    ))
    reg.add(nav.ListPage(
        name="sessions", title="Sessions", access="public", query=sessions,
        columns=["subject_nickname", "lab_name", "session_start_time", "task_protocol", "n_trials"],
        filters=[nav.Field("lab_name", "lab", kind="choice"), nav.Field("subject_nickname", "nickname"),
                 nav.Field("task_protocol", "protocol", kind="choice"),
                 nav.Field("session_start_time", "date", kind="date"), nav.Field("n_trials", "trials", kind="number"),
                 nav.Field("probe_label", "probe", kind="choice", via=lambda db: db[f"{n['ephys']}.ProbeInsertion"])],
        link=nav.Link("session", ["subject_uuid", "session_start_time"]), order_by="session_start_time DESC",
        page_size=10,
    ))
    reg.add(nav.DetailPage(
        name="session", title="Session of {subject_nickname}, {session_start_time}", access="public",
        key=["subject_uuid", "session_start_time"], query=sessions,
        panels=[
            nav.Figure("psych", "Psychometric curve", lambda db: db[f"{n['plotting']}.SessionPsychCurve"]),
            nav.Select("clusters", "Clusters", key=["probe_idx", "cluster_id"],
                       rows=nav.TablePanel("cluster_rows", "Clusters", lambda db: db[f"{n['ephys']}.Cluster"],
                                           columns=["probe_idx", "cluster_id", "cluster_depth", "firing_rate"]),
                       figures=[nav.Figure("raster", "Raster", lambda db: db[f"{n['plotting']}.Raster"])]),
        ],
        links=[("Mouse", nav.Link("mouse", ["subject_uuid"]))],
    ))
    reg.add(nav.ListPage(
        name="summary", title="Daily summary", access="member",
        query=lambda db: db[f"{n['plotting']}.SubjectStatus"] * subjects(db).proj("subject_nickname", "lab_name"),
        columns=["subject_nickname", "lab_name", "latest_session", "n_sessions", "data_update_status"],
        filters=[nav.Field("lab_name", "lab", kind="choice")], link=nav.Link("mouse", ["subject_uuid"]),
        key=["subject_uuid"],
        thumbnails=[nav.Figure("counts", "Trial counts", lambda db: db[cumulative], attribute="trial_counts")],
    ))
