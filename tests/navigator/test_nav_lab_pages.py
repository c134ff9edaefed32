"""Registered pages: the registry, list pages, detail pages, panels and their figures."""

from __future__ import annotations

import json
from urllib.parse import quote

import nav_fake_lab as fake_lab
import pytest
from nav_helpers import PREFIX, Client, json_of, make_config

from labjoin import errors
from labjoin.navigator import create_app
from labjoin.navigator import registry as nav

SUBJECT = str(fake_lab.subject_uuid(0))
SESSION = f"subject_uuid={SUBJECT}&session_start_time={quote('2024-03-08 09:30:00')}"


@pytest.fixture
def member(personas):
    return personas["member"]


def test_mice_list_pages_sorts_and_links(member) -> None:
    data = json_of(member.get("/api/lab/mice"))
    assert data["total"] == fake_lab.N_SUBJECTS and data["pages"] == 2 and len(data["rows"]) == 4
    assert [r["values"]["subject_nickname"] for r in data["rows"]] == ["mA1", "mA2", "mA3", "mB1"]
    assert data["rows"][0]["url"] == f"/lab/mouse?subject_uuid={SUBJECT}"
    page2 = json_of(member.get("/api" + data["next_url"]))  # links are page URLs; /api + URL is JSON
    assert [r["values"]["subject_nickname"] for r in page2["rows"]] == ["mB2", "mB3"]
    desc = json_of(member.get("/api/lab/mice?_sort=-subject_birth_date"))
    assert desc["rows"][0]["values"]["subject_nickname"] == "mB3"
    assert member.get("/api/lab/mice?_sort=subject_uuid").status_code == 400  # not a column


def test_mice_list_filters_and_choices(member) -> None:
    data = json_of(member.get("/api/lab/mice?lab_name=blab&subject_nickname__contains=2"))
    assert [r["values"]["subject_nickname"] for r in data["rows"]] == ["mB2"]
    filters = {f["attribute"]: f for f in data["filters"]}
    assert filters["lab_name"]["choices"] == ["alab", "blab"] and filters["sex"]["choices"] == ["F", "M"]
    assert data["applied"] == {"lab_name": "blab", "subject_nickname__contains": "2"}
    dates = json_of(member.get("/api/lab/mice?subject_birth_date__gte=2023-10-02&subject_birth_date__lte=2023-10-03"))
    assert dates["total"] == 2
    r = member.get("/api/lab/mice?project=brainwide")  # a column, but not one of the page's filters
    assert r.status_code == 400 and "cannot be filtered by `project`" in json_of(r)["error"]
    assert member.get("/api/lab/mice?lab_name__gt=a").status_code == 400  # choice fields take exact values


def test_mice_list_has_thumbnails_per_row(member) -> None:
    data = json_of(member.get("/api/lab/mice"))
    assert [t["name"] for t in data["thumbnails"]] == ["counts", "weight"]
    counts, weight = data["rows"][0]["thumbnails"]
    assert counts["data"][0]["type"] == "bar" and counts["layout"]["title"]["text"] == "mA1 trial counts"
    assert weight["layout"]["title"]["text"] == "mA1 weight"
    html = member.get("/lab/mice").text
    assert "plotly.min.js" in html and 'class="plot thumb"' in html


def test_sessions_list_filters_by_date_range_with_whole_days(member) -> None:
    # mA1's sessions start 2024-03-04 09:30 ... 2024-03-08 09:30; "to 2024-03-05" includes that day
    data = json_of(member.get("/api/lab/sessions?subject_nickname=mA1&session_start_time__gte=2024-03-05"
                              "&session_start_time__lte=2024-03-06"))
    assert [r["values"]["session_start_time"] for r in data["rows"]] == ["2024-03-06 09:30:00", "2024-03-05 09:30:00"]
    ephys = json_of(member.get("/api/lab/sessions?task_protocol=ephysChoiceWorld&_size=50"))
    assert ephys["total"] == fake_lab.N_SUBJECTS
    paged = json_of(member.get("/api/lab/sessions?_page=3"))
    assert paged["page_number"] == 3 and len(paged["rows"]) == 10 and paged["total"] == 30


def test_a_filter_through_another_table(member) -> None:
    data = json_of(member.get("/api/lab/sessions?probe_label=probe00&_size=50"))
    assert data["total"] == fake_lab.N_SUBJECTS  # the ephys sessions: those with a probe
    assert {f["attribute"]: f["choices"] for f in data["filters"]}["probe_label"] == ["probe00"]
    assert data["applied"]["probe_label"] == "probe00"
    both = json_of(member.get("/api/lab/sessions?probe_label=probe00&lab_name=alab&_size=2"))
    assert both["total"] == 3 and "probe_label=probe00" in both["next_url"]
    assert json_of(member.get("/api/lab/sessions?probe_label=probe01"))["total"] == 0
    assert member.get("/api/lab/sessions?probe_label__gt=a").status_code == 400


def test_pages_needing_missing_schemas_are_hidden(shared_url) -> None:
    reg = nav.Registry()
    reg.add(nav.ListPage(name="ghost", title="Ghost", query=lambda db: db["navigator_test_none.X"], columns=["x"],
                         requires=("navigator_test_none",)))
    reg.add(nav.ListPage(name="labs", title="Labs", query=lambda db: db[f"{PREFIX}subject.Lab"],
                         columns=["lab_name"], requires=(f"{PREFIX}subject",)))
    app = create_app(make_config(shared_url), registry=reg)
    c = Client(app)
    try:
        c.login("max")
        assert [p["name"] for p in json_of(c.get("/api"))["pages"]] == ["labs"]
        r = c.get("/api/lab/ghost")
        assert r.status_code == 404 and "navigator_test_none" in json_of(r)["error"]
        assert "Ghost" not in c.get("/lab/labs").text
    finally:
        c.close()
        app.state.navigator.database.close()


def test_mouse_page_has_fields_figures_sessions_and_links(member) -> None:
    data = json_of(member.get(f"/api/lab/mouse?subject_uuid={SUBJECT}"))
    assert data["title"] == "Mouse mA1"
    assert {f["name"]: f["value"] for f in data["fields"]}["lab_name"] == "alab"
    panels = {p["name"]: p for p in data["panels"]}
    assert panels["water"]["figures"][0]["figure"]["layout"]["title"]["text"] == "mA1 weight"
    dates = panels["dates"]
    assert dates["display"] == "slider" and [f["label"] for f in dates["figures"]] == [
        "2024-03-08", "2024-03-07", "2024-03-06"]
    sessions = panels["sessions"]
    assert sessions["count"] == fake_lab.N_SESSIONS and sessions["rows"][0]["url"].startswith("/lab/session?")
    assert data["links"] == [{"label": "See sessions", "url": "/lab/sessions?subject_nickname=mA1"}]
    html = member.get(f"/lab/mouse?subject_uuid={SUBJECT}").text
    assert 'type="range"' in html and "Water and weight" in html


def test_session_page_with_a_select_panel(member) -> None:
    data = json_of(member.get(f"/api/lab/session?{SESSION}"))
    assert data["title"] == "Session of mA1, 2024-03-08 09:30:00"
    psych, clusters = data["panels"]
    assert psych["figures"][0]["figure"]["layout"]["title"]["text"] == "mA1 session 5"
    assert clusters["kind"] == "select" and len(clusters["rows"]) == 8
    assert clusters["select_key"] == ["probe_idx", "cluster_id"]
    figs = json_of(member.get(clusters["panel_url"] + "&probe_idx=0&cluster_id=3"))
    (raster,) = figs["figures"]
    assert raster["figures"][0]["figure"]["layout"]["title"]["text"] == "raster 3"
    assert member.get(clusters["panel_url"] + "&probe_idx=0&cluster_id=99").status_code == 404
    assert member.get(clusters["panel_url"] + "&probe_idx=0").status_code == 400
    assert member.get(f"/api/lab/session/panel/nope?{SESSION}&probe_idx=0&cluster_id=1").status_code == 404
    html = member.get(f"/lab/session?{SESSION}").text
    assert "data-panel-url" in html and "data-key=" in html


def test_session_without_figures_says_not_computed(member) -> None:
    first = f"subject_uuid={SUBJECT}&session_start_time={quote('2024-03-04 09:30:00')}"
    data = json_of(member.get(f"/api/lab/session?{first}"))
    clusters = data["panels"][1]
    assert clusters["rows"] == [] and clusters["count"] == 0
    assert "None." in member.get(f"/lab/session?{first}").text


def test_detail_page_errors(member) -> None:
    assert member.get("/api/lab/mouse").status_code == 400
    assert member.get("/api/lab/mouse?subject_uuid=zzz").status_code == 400
    assert member.get(f"/api/lab/mouse?subject_uuid={fake_lab.subject_uuid(77)}").status_code == 404
    assert member.get("/api/lab/nothing").status_code == 404
    assert member.get("/api/lab/mice/panel/x").status_code == 404


def test_summary_page_for_members(member) -> None:
    data = json_of(member.get("/api/lab/summary"))
    assert data["total"] == fake_lab.N_SUBJECTS
    statuses = {r["values"]["subject_nickname"]: r["values"]["data_update_status"] for r in data["rows"]}
    assert statuses["mA1"] == "TrialSet missing" and statuses["mB1"] == "Data up to date"


def test_home_lists_the_navigation_pages(member) -> None:
    data = json_of(member.get("/api"))
    assert [p["name"] for p in data["pages"]] == ["mice", "sessions", "summary"]
    assert data["schemas_url"] == "/schemas"
    html = member.get("/").text
    assert 'href="/lab/mice"' in html and 'href="/schemas"' in html


# -- the registry --------------------------------------------------------------------------------
def _page(**kw) -> nav.ListPage:
    base = dict(name="x", title="X", query=lambda db: None, columns=["a"])
    base.update(kw)
    return nav.ListPage(**base)


def test_registry_refuses_bad_names_duplicates_and_dangling_links() -> None:
    reg = nav.Registry()
    reg.add(_page())
    with pytest.raises(errors.ConfigError, match="already registered"):
        reg.add(_page())
    with pytest.raises(errors.ConfigError, match="lower-case"):
        reg.add(_page(name="Bad Name"))
    with pytest.raises(errors.ConfigError, match="access"):
        reg.add(_page(name="y", access="everyone"))
    reg.add(_page(name="z", link=nav.Link("missing", ["a"])))
    with pytest.raises(errors.ConfigError, match="links to 'missing'"):
        reg.check()
    with pytest.raises(errors.ConfigError, match="kind"):
        nav.Field("a", kind="slider")
    with pytest.raises(errors.ConfigError, match="No page"):
        reg.get("nope")


def test_discover_loads_registration_functions(monkeypatch) -> None:
    import types

    module = types.ModuleType("navigator_test_plugin")

    def register(reg: nav.Registry) -> None:
        reg.add(_page(name="plugged"))

    module.register = register  # type: ignore[attr-defined]
    monkeypatch.setitem(__import__("sys").modules, "navigator_test_plugin", module)
    reg = nav.discover(["navigator_test_plugin:register"], entry_points=False)
    assert list(reg.pages) == ["plugged"] and reg.sources == ["navigator_test_plugin:register"]
    with pytest.raises(errors.ConfigError, match="module:function"):
        nav.discover(["navigator_test_plugin"], entry_points=False)
    with pytest.raises(errors.ConfigError, match="Cannot load"):
        nav.discover(["navigator_test_plugin:nothing"], entry_points=False)
    assert isinstance(nav.discover(entry_points=True), nav.Registry)  # whatever is installed loads


def test_public_page_whose_query_cannot_be_restricted_is_refused(shared_url) -> None:
    reg = nav.Registry()
    reg.add(nav.ListPage(name="labs", title="Labs", access="public",
                         query=lambda db: db[f"{PREFIX}subject.Lab"], columns=["lab_name"]))
    app = create_app(make_config(shared_url, public=True), registry=reg)
    c = Client(app)
    try:
        r = c.get("/api/lab/labs")
        assert r.status_code == 403 and "lacks `subject_nickname`" in json_of(r)["error"]
    finally:
        c.close()
        app.state.navigator.database.close()


def test_figure_panel_whose_query_lacks_the_page_key_is_a_config_error(shared_url) -> None:
    reg = nav.Registry()
    reg.add(nav.DetailPage(
        name="lab", title="{lab_name}", key=["lab_name"], query=lambda db: db[f"{PREFIX}subject.Lab"],
        panels=[nav.Figure("f", "F", lambda db: db[f"{PREFIX}plotting.Raster"])]))
    app = create_app(make_config(shared_url), registry=reg)
    c = Client(app)
    try:
        c.login("max")
        r = c.get("/api/lab/lab?lab_name=alab")
        assert r.status_code == 500 and "Figure panel 'f'" in json_of(r)["error"]
    finally:
        c.close()
        app.state.navigator.database.close()


def test_pages_of_a_list_in_a_non_unique_order_never_overlap(shared_url) -> None:
    reg = nav.Registry()
    reg.add(nav.ListPage(name="trials", title="Trials", query=lambda db: db[f"{PREFIX}behavior.TrialSet.Trial"],
                         columns=["trial_response_choice", "trial_id"], order_by="trial_response_choice",
                         page_size=200))
    app = create_app(make_config(shared_url), registry=reg)
    c = Client(app)
    try:
        c.login("max")
        seen: list[str] = []
        url = "/lab/trials"
        while url:
            data = json_of(c.get("/api" + url))
            seen += [json.dumps(r["key"], sort_keys=True) for r in data["rows"]]
            url = data["next_url"]
        assert len(seen) == len(set(seen)) == 1800
    finally:
        c.close()
        app.state.navigator.database.close()
