"""The generic browser through its routes: schemas, schema, diagram, table, row, downloads, jobs."""

from __future__ import annotations

import csv
import io
import json

import nav_fake_lab as fake_lab
import pytest
from nav_helpers import json_of, schema_names

S = schema_names()
N_TRIALS_TOTAL = fake_lab.N_SUBJECTS * fake_lab.N_SESSIONS * fake_lab.N_TRIALS


@pytest.fixture
def member(personas):
    return personas["member"]


def test_schemas_lists_every_schema_with_table_counts(member) -> None:
    data = json_of(member.get("/api/schemas"))
    by_name = {s["name"]: s for s in data["schemas"]}
    assert by_name[S["subject"]]["tables"] == 2
    assert by_name[S["behavior"]]["tables"] == 2
    assert by_name[S["subject"]]["url"] == f"/schemas/{S['subject']}"
    html = member.get("/schemas").text
    assert f'href="/schemas/{S["plotting"]}"' in html


def test_schema_page_groups_tables_by_tier_with_row_counts_and_a_linked_diagram(member) -> None:
    data = json_of(member.get(f"/api/schemas/{S['behavior']}"))
    tiers = {g["tier"]: {t["name"]: t["rows"] for t in g["tables"]} for g in data["tiers"]}
    assert tiers == {"Imported": {"TrialSet": 30}, "Part": {"TrialSet.Trial": N_TRIALS_TOTAL}}
    svg = data["diagram_svg"]
    assert '<a class="node ' in svg and f'/schemas/{S["behavior"]}/TrialSet' in svg
    html = member.get(f"/schemas/{S['behavior']}").text
    assert "<svg" in html and "TrialSet.Trial" in html
    r = member.get(f"/schemas/{S['behavior']}/diagram.svg")
    assert r.status_code == 200 and r.headers["content-type"].startswith("image/svg+xml")
    assert r.text.lstrip().startswith(("<svg", "<?xml"))


def test_schema_page_of_a_missing_schema_is_404_in_the_error_shape(member) -> None:
    r = member.get("/api/schemas/navigator_test_nope")
    assert r.status_code == 404
    assert json_of(r) == {"ok": False, "status": 404, "title": "Not found",
                          "error": "Schema `navigator_test_nope` does not exist in this database."}
    html = member.get("/schemas/navigator_test_nope")
    assert html.status_code == 404 and "does not exist" in html.text and "<html" in html.text


def test_table_page_pages_with_totals_and_links(member) -> None:
    url = f"/api/schemas/{S['behavior']}/TrialSet.Trial"
    data = json_of(member.get(url + "?_size=50"))
    assert data["total"] == N_TRIALS_TOTAL and data["pages"] == -(-N_TRIALS_TOTAL // 50)
    assert len(data["rows"]) == 50 and data["prev_url"] is None
    assert "_page=2" in data["next_url"] and "_size=50" in data["next_url"]
    page2 = json_of(member.get(url + "?_size=50&_page=2"))
    keys1 = {json.dumps(r["key"], sort_keys=True) for r in data["rows"]}
    keys2 = {json.dumps(r["key"], sort_keys=True) for r in page2["rows"]}
    assert not keys1 & keys2
    last = json_of(member.get(url + f"?_size=50&_page={data['pages']}"))
    assert len(last["rows"]) == N_TRIALS_TOTAL - 50 * (data["pages"] - 1) and last["next_url"] is None
    row_url = data["rows"][0]["url"]
    assert row_url.startswith(f"/schemas/{S['behavior']}/TrialSet.Trial/row?subject_uuid=")


def test_counts_stop_at_the_limit_unless_asked_for_all(client_factory, shared_url) -> None:
    c = client_factory(shared_url, "max", count_limit=100)
    url = f"/api/schemas/{S['behavior']}/TrialSet.Trial"
    data = json_of(c.get(url + "?_size=50&_page=2"))
    assert (data["total"], data["total_exact"], data["pages"]) == (100, False, None)
    assert data["next_url"] and "_count=exact" in data["count_url"]
    assert "more than <b>100</b> rows" in c.get(url[4:]).text
    exact = json_of(c.get(url + "?_count=exact"))
    assert (exact["total"], exact["total_exact"]) == (N_TRIALS_TOTAL, True)
    last = json_of(c.get(url + f"?_size=50&_page={N_TRIALS_TOTAL // 50}"))
    assert last["next_url"] is None and len(last["rows"]) == 50
    small = json_of(c.get(url + "?trial_id=1"))
    assert (small["total"], small["total_exact"]) == (30, True)
    assert c.get(url + "?_count=roughly").status_code == 400
    mice = json_of(client_factory(shared_url, "max", count_limit=3).get("/api/lab/mice"))
    assert (mice["total"], mice["total_exact"], mice["pages"]) == (3, False, None) and mice["next_url"]


def test_table_page_sorts_ascending_and_descending_with_the_key_as_tie_breaker(member) -> None:
    url = f"/api/schemas/{S['behavior']}/TrialSet.Trial?_size=20"
    asc = json_of(member.get(url + "&_sort=trial_rt"))["rows"]
    desc = json_of(member.get(url + "&_sort=-trial_rt"))["rows"]
    rts = [r["values"]["trial_rt"] for r in desc]
    assert rts == sorted(rts, reverse=True) and rts[0] == pytest.approx(0.2 + 0.01 * 58)
    asc_rts = [r["values"]["trial_rt"] for r in asc if r["values"]["trial_rt"] is not None]
    assert asc_rts == sorted(asc_rts)
    data = json_of(member.get(url + "&_sort=-trial_rt"))
    assert data["sort"] == [{"attribute": "trial_rt", "desc": True}]
    assert "_sort=trial_rt" in data["sort_urls"]["trial_rt"] or "_sort=-trial_rt" not in data["sort_urls"]["trial_rt"]


@pytest.mark.parametrize(("query", "expected"), [
    ("trial_response_choice=CW", N_TRIALS_TOTAL // 3),
    ("trial_response_choice__not=CW", 2 * N_TRIALS_TOTAL // 3),
    ("trial_id__lte=10", 10 * 30),
    ("trial_id__gt=50&trial_id__lte=55", 5 * 30),
    ("trial_id__lt=3&_combine=or&trial_id__gt=59", 3 * 30),
    ("trial_id__in=1,2,3", 3 * 30),
    ("trial_rt__isnull=1", 6 * 30),
    ("trial_rt__notnull=1", 54 * 30),
    ("trial_response_choice__in=CW,No Go&trial_id__lte=6", 4 * 30),
])
def test_table_filters(member, query: str, expected: int) -> None:
    data = json_of(member.get(f"/api/schemas/{S['behavior']}/TrialSet.Trial?{query}"))
    assert data["total"] == expected


def test_text_date_and_uuid_filters(member) -> None:
    base = f"/api/schemas/{S['subject']}/Subject"
    assert json_of(member.get(base + "?subject_nickname__startswith=mA"))["total"] == 3
    assert json_of(member.get(base + "?subject_nickname__contains=B"))["total"] == 3
    assert json_of(member.get(base + "?subject_nickname__endswith=1"))["total"] == 2
    assert json_of(member.get(base + "?subject_birth_date__gte=2023-10-03"))["total"] == 4
    uid = str(fake_lab.subject_uuid(2))
    data = json_of(member.get(base + f"?subject_uuid={uid}"))
    assert data["total"] == 1 and data["rows"][0]["values"]["subject_nickname"] == "mA2"
    sessions = f"/api/schemas/{S['acquisition']}/Session"
    assert json_of(member.get(sessions + "?session_start_time__lt=2024-03-05 00:00:00"))["total"] == 1
    assert json_of(member.get(sessions + "?task_protocol__contains=ephys"))["total"] == 6


def test_like_wildcards_in_a_value_match_themselves(member) -> None:
    base = f"/api/schemas/{S['subject']}/Subject"
    assert json_of(member.get(base + "?subject_nickname__contains=%25"))["total"] == 0
    assert json_of(member.get(base + "?subject_nickname__contains=_"))["total"] == 0


def test_projection_returns_only_the_asked_columns_and_the_key(member) -> None:
    data = json_of(member.get(f"/api/schemas/{S['subject']}/Subject?_col=sex"))
    assert set(data["rows"][0]["values"]) == {"subject_uuid", "sex"}


def test_table_page_html_has_the_filter_builder_pager_and_downloads(member) -> None:
    html = member.get(f"/schemas/{S['behavior']}/TrialSet.Trial?trial_id__lte=3").text
    assert 'id="filter-form"' in html and 'id="attributes-json"' in html
    assert "export.csv?trial_id__lte=3" in html and "export.parquet" in html
    assert "90</b> rows" in html


def test_row_page_shows_attributes_blob_previews_parents_and_children(member) -> None:
    key = f"subject_uuid={fake_lab.subject_uuid(0)}&session_start_time=2024-03-08 09:30:00&probe_idx=0&cluster_id=2"
    data = json_of(member.get(f"/api/schemas/{S['ephys']}/Cluster/row?{key}"))
    attrs = {a["name"]: a for a in data["attributes"]}
    assert attrs["cluster_depth"]["value"] == 500.0
    wave = attrs["cluster_waveform"]["preview"]
    assert wave["kind"] == "figure" and wave["summary"] == "array float64 (82,)"
    assert len(wave["figure"]["data"][0]["y"]) == 82
    assert [p["table"] for p in data["parents"]] == ["ProbeInsertion"]
    assert data["parents"][0]["url"].startswith(f"/schemas/{S['ephys']}/ProbeInsertion/row?")
    children = {c["table"]: c["count"] for c in data["children"]}
    assert children == {"Raster": 1}
    html = member.get(f"/schemas/{S['ephys']}/Cluster/row?{key}").text
    assert "plotly.min.js" in html and 'data-figure="blob-' in html


def test_row_page_shows_part_rows_inline_and_figures_from_blobs(member) -> None:
    key = f"subject_uuid={fake_lab.subject_uuid(1)}&session_start_time=2024-03-05 10:30:00"
    data = json_of(member.get(f"/api/schemas/{S['behavior']}/TrialSet/row?{key}"))
    (part,) = data["parts"]
    assert part["table"] == "TrialSet.Trial" and part["count"] == fake_lab.N_TRIALS
    assert len(part["rows"]) == fake_lab.N_TRIALS and not part["more"]
    children = {c["table"]: c["count"] for c in data["children"]}
    assert children == {"SessionPsychCurve": 1}
    psych = json_of(member.get(f"/api/schemas/{S['plotting']}/SessionPsychCurve/row?{key}"))
    (blob,) = [a for a in psych["attributes"] if a["name"] == "plotting_data"]
    assert blob["preview"]["kind"] == "figure"
    assert blob["preview"]["figure"]["layout"]["title"]["text"] == "mB1 session 1"


def test_row_page_404_for_a_key_with_no_row_and_400_for_a_bad_key(member) -> None:
    base = f"/api/schemas/{S['subject']}/Subject/row"
    r = member.get(base + f"?subject_uuid={fake_lab.subject_uuid(99)}")
    assert r.status_code == 404 and json_of(r)["ok"] is False
    r = member.get(base + "?subject_uuid=not-a-uuid")
    assert r.status_code == 400 and "needs a UUID" in json_of(r)["error"]
    r = member.get(base)
    assert r.status_code == 400 and "subject_uuid" in json_of(r)["error"]


def test_downloads_in_three_formats_follow_the_filters(member) -> None:
    base = f"/schemas/{S['behavior']}/TrialSet.Trial/export"
    r = member.get(base + ".csv?trial_id__lte=2&_sort=-trial_id")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert len(rows) == 60 and rows[0]["trial_id"] == "2"
    assert set(rows[0]) == {"subject_uuid", "session_start_time", "trial_id", "trial_response_time",
                            "trial_response_choice", "trial_stim_contrast", "trial_rt"}
    js = json_of(member.get(base + ".json?trial_id=1"))
    assert len(js) == 30 and js[0]["trial_id"] == 1
    pq = pytest.importorskip("pyarrow.parquet")
    r = member.get(base + ".parquet?trial_id__in=1,2,3")
    table = pq.read_table(io.BytesIO(r.content))
    assert table.num_rows == 90 and "trial_rt" in table.column_names
    bad = member.get(base + ".xlsx")
    assert bad.status_code == 400 and "csv, json or parquet" in bad.text


def test_download_refuses_blobs_and_oversized_selections(client_factory, shared_url) -> None:
    c = client_factory(shared_url, "max", max_export_rows=100)
    r = c.get(f"/schemas/{S['behavior']}/TrialSet.Trial/export.csv", headers={"accept": "application/json"})
    assert r.status_code == 400 and "at most 100" in json_of(r)["error"]
    r = c.get(f"/schemas/{S['ephys']}/Cluster/export.json?_col=cluster_waveform")
    assert r.status_code == 400


def test_jobs_page_lists_errors_with_tracebacks_and_reservations(member) -> None:
    data = json_of(member.get(f"/api/schemas/{S['plotting']}/jobs"))
    summary = {s["table"]: s for s in data["summary"]}
    assert summary["SessionPsychCurve"]["error"] == 1 and summary["Raster"]["reserved"] == 1
    (err,) = [j for j in data["jobs"] if j["status"] == "error"]
    assert err["error_message"] == "ValueError: the fit did not converge"
    assert "Traceback" in err["error_stack"]
    assert err["key"]["subject_uuid"] == str(fake_lab.subject_uuid(0))
    only = json_of(member.get(f"/api/schemas/{S['plotting']}/jobs?status=reserved"))
    assert [j["status"] for j in only["jobs"]] == ["reserved"]
    assert member.get(f"/api/schemas/{S['plotting']}/jobs?status=bogus").status_code == 400
    none = json_of(member.get(f"/api/schemas/{S['subject']}/jobs"))
    assert none["jobs"] == [] and none["summary"] == []
    html = member.get(f"/schemas/{S['plotting']}/jobs").text
    assert "the fit did not converge" in html and "traceback" in html
    assert "Retry" not in html  # members see jobs; only administrators act on them


def test_openapi_and_docs_are_served_offline(member) -> None:
    spec = json_of(member.get("/openapi.json"))
    paths = set(spec["paths"])
    assert {"/api/schemas", "/api/schemas/{schema}/{table}", "/api/lab/{name}"} <= paths
    assert not any(p.startswith("/schemas") for p in paths)  # HTML pages are not API routes
    table_params = {q["name"] for q in spec["paths"]["/api/schemas/{schema}/{table}"]["get"]["parameters"]}
    assert {"_page", "_size", "_sort", "_col", "_count", "_after", "_before"} <= table_params
    docs = member.get("/docs").text
    assert "static/swagger/swagger-ui-bundle.js" in docs and "cdn" not in docs.lower()
    assert member.get("/static/swagger/swagger-ui-bundle.js").status_code == 200
    js = member.get("/static/plotly.min.js")
    assert js.status_code == 200 and len(js.content) > 1_000_000
    assert member.get("/static/app.js").status_code == 200
    assert member.get("/static/swagger/../../etc/passwd").status_code == 404
