"""brainlab's pages (labjoin.navigator.plugins.brainlab) against brainlab's real schemas.

brainlab is declared in a fresh SQLite file and given a mouse, two sessions and their figures by
hand, so that every page runs its real queries: a change of a brainlab table or attribute that
the pages rely on fails here.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from nav_helpers import Client, json_of

import labjoin as dj
from labjoin.navigator import NavigatorConfig, PublicSubset, Registry, UserStore, create_app
from labjoin.navigator import registry as nav
from labjoin.navigator.db import Tables

brainlab = pytest.importorskip("brainlab")

PREFIX = "navigator_test_bl_"
USERS = "navigator_test_bl_users"
MOUSE = uuid.UUID(int=0xB1)
START = dt.datetime(2024, 2, 1, 9, 30)


def _figure(title: str) -> dict[str, Any]:
    return {"data": [{"type": "scatter", "x": [1, 2, 3], "y": [3, 1, 2]}], "layout": {"title": {"text": title}}}


def _fill(conn: dj.Connection) -> None:
    db = Tables(conn)

    def t(module: str, name: str) -> Any:
        return db.table(PREFIX + module, name)

    t("reference", "Lab").insert1(dict(lab_name="testlab", lab_uuid=uuid.UUID(int=1), institution="x", address="y",
                                       time_zone="UTC"), skip_duplicates=True)
    t("subject", "Subject").insert1(dict(subject_uuid=MOUSE, subject_nickname="TST_001", sex="F",
                                         subject_birth_date=dt.date(2023, 10, 1), protocol_number=1))
    t("subject", "SubjectLab").insert1(dict(subject_uuid=MOUSE, lab_name="testlab"))
    for day, protocol in ((0, "_iblrig_tasks_trainingChoiceWorld6.4.2"), (1, "_iblrig_tasks_ephysChoiceWorld6.4.2")):
        key = dict(subject_uuid=MOUSE, session_start_time=START + dt.timedelta(days=day))
        t("acquisition", "Session").insert1(dict(key, session_uuid=uuid.UUID(int=100 + day), task_protocol=protocol))
        t("behavior", "TrialSet").insert1(dict(key, n_trials=500, n_correct_trials=400, trials_start_time=0.0,
                                               trials_end_time=3000.0), allow_direct_insert=True)
        for name in ("SessionReactionTimeContrast", "SessionReactionTimeTrialNumber"):
            t("plotting_behavior", name).insert1(dict(key, plotting_data=_figure(f"{name} {day}")),
                                                 allow_direct_insert=True)
    latest = dict(subject_uuid=MOUSE, latest_date=START.date() + dt.timedelta(days=1))
    summary = t("plotting_behavior", "CumulativeSummary")
    summary.insert1(latest, allow_direct_insert=True)
    for part in ("TrialCountsSessionDuration", "WaterWeight"):
        t("plotting_behavior", f"CumulativeSummary.{part}").insert1(dict(latest, plotting_data=_figure(part)),
                                                                    allow_direct_insert=True)
    daily = dict(lab_name="testlab", last_session_time=START + dt.timedelta(days=1))
    t("plotting_behavior", "DailyLabSummary").insert1(daily, allow_direct_insert=True)
    t("plotting_behavior", "DailyLabSummary.SubjectSummary").insert1(dict(
        daily, subject_uuid=MOUSE, subject_nickname="TST_001", latest_session_ingested=START + dt.timedelta(days=1),
        latest_task_protocol="_iblrig_tasks_ephysChoiceWorld6.4.2", latest_training_status="trained_1a",
        n_sessions_current_protocol=1, data_update_status="Data up to date"), allow_direct_insert=True)


@pytest.fixture(scope="module")
def bl_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    path = tmp_path_factory.mktemp("brainlab") / "bl.sqlite"
    url = f"sqlite:///{path}"
    conn = dj.Connection(url)
    before = brainlab.active()
    brainlab.activate(prefix=PREFIX, connection=conn)
    _fill(conn)
    UserStore(conn, USERS).add("max", "max-password", "member")
    yield url
    if before is not None:  # give other tests back the binding they had
        brainlab.activate(prefix=before.prefix, connection=before.connection)


@pytest.fixture(scope="module")
def registry() -> Registry:
    from labjoin.navigator.plugins.brainlab import register

    reg = Registry()
    register(reg, prefix=PREFIX)
    reg.check()
    return reg


@pytest.fixture(scope="module")
def clients(bl_url: str, registry: Registry) -> Iterator[dict[str, Client]]:
    subset = PublicSubset.from_keys([{"subject_nickname": "TST_001"}])
    apps = [create_app(NavigatorConfig(url=bl_url, users_schema=USERS, entry_points=False, public=public,
                                       public_subset=subset), registry=registry) for public in (False, True)]
    member, public = Client(apps[0]), Client(apps[1])
    member.login("max", "max-password")
    yield {"member": member, "public": public}
    for c in (member, public):
        c.close()
    for app in apps:
        app.state.navigator.database.close()


def test_every_query_has_the_attributes_its_page_uses(bl_url: str, registry: Registry) -> None:
    conn = dj.Connection(bl_url)
    db = Tables(conn)
    try:
        assert set(registry.pages) == {"mice", "mouse", "sessions", "session", "summary"}
        for page in registry.pages.values():
            q = page.query(db)
            names = set(q.heading.names)
            if isinstance(page, nav.ListPage):
                needed = {*page.columns, *(page.key or ()), *(page.link.mapping().values() if page.link else ())}
                needed |= {f.attribute for f in page.filters if f.via is None}
                for f in page.filters:
                    if f.via is not None:
                        assert f.attribute in f.via(db).heading.names, (page.name, f.attribute)
                figures = list(page.thumbnails)
                key = list(page.key or ())
            else:
                needed = {*page.key, *(page.fields or ())}
                figures = [p for p in page.panels if isinstance(p, nav.Figure)]
                key = list(page.key)
                for p in page.panels:
                    rows = p.rows if isinstance(p, nav.Select) else p
                    if isinstance(rows, nav.TablePanel):
                        rq = set(rows.query(db).heading.names)
                        assert set(key) <= rq and set(rows.columns) <= rq, (page.name, p.name)
                    if isinstance(p, nav.Select):
                        for f in p.figures:
                            fq = set(f.query(db).heading.names)
                            assert {*key, *p.key, f.attribute} <= fq, (page.name, p.name, f.name)
            assert needed <= names, (page.name, needed - names)
            for f in figures:
                fq = set(f.query(db).heading.names)
                assert {*key, f.attribute} <= fq, (page.name, f.name)
    finally:
        conn.close()


def test_mice_mouse_sessions_session_and_summary(clients: dict[str, Client]) -> None:
    member = clients["member"]
    mice = json_of(member.get("/api/lab/mice"))
    assert mice["total"] == 1
    (row,) = mice["rows"]
    assert row["values"]["latest_training_status"] == "trained_1a"
    assert [t is not None for t in row["thumbnails"]] == [True, True, False, False]  # water, counts, 2 missing
    mouse = json_of(member.get("/api" + row["url"]))
    panels = {p["name"]: p for p in mouse["panels"]}
    assert panels["water_weight"]["figures"] and panels["trial_counts_duration"]["figures"]
    assert panels["sessions"]["count"] == 2
    sessions = json_of(member.get("/api/lab/sessions?task_protocol=_iblrig_tasks_ephysChoiceWorld6.4.2"))
    assert sessions["total"] == 1
    session = json_of(member.get("/api" + sessions["rows"][0]["url"]))
    by_name = {p["name"]: p for p in session["panels"]}
    assert by_name["session_rt_contrast"]["figures"][0]["figure"]["layout"]["title"]["text"] == \
        "SessionReactionTimeContrast 1"
    assert by_name["clusters"]["rows"] == [] and by_name["probes"]["rows"] == []
    assert json_of(member.get("/api/lab/sessions?acronym=CA1"))["total"] == 0
    summary = json_of(member.get("/api/lab/summary"))
    assert summary["rows"][0]["values"]["data_update_status"] == "Data up to date"
    for url in ("/lab/mice", row["url"], "/lab/sessions", sessions["rows"][0]["url"], "/lab/summary"):
        assert member.get(url).status_code == 200, url


def test_public_mode_hides_water_and_the_summary(clients: dict[str, Client]) -> None:
    public = clients["public"]
    mice = json_of(public.get("/api/lab/mice"))
    assert "water_weight" not in [t["name"] for t in mice["thumbnails"]]
    mouse = json_of(public.get("/api" + mice["rows"][0]["url"]))
    assert "water_weight" not in [p["name"] for p in mouse["panels"]]
    assert public.get("/api/lab/summary").status_code == 401
