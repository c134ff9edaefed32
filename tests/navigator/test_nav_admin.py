"""Administrators' forms: insert, update, delete with a cascade preview, and job actions."""

from __future__ import annotations

from urllib.parse import quote

import nav_fake_lab as fake_lab
import pytest
from nav_helpers import json_of, schema_names

S = schema_names()
SUBJ = f"/schemas/{S['subject']}/Subject"
SUBJECT = str(fake_lab.subject_uuid(0))


@pytest.fixture
def admin(client_factory, lab_url):
    return client_factory(lab_url, "ana")


def _token(client) -> str:
    return client.csrf("/account")


def test_insert_form_has_typed_fields_and_parent_choices(admin) -> None:
    data = json_of(admin.get(f"/api{SUBJ}/insert"))
    inputs = {a["name"]: a["input"] for a in data["attributes"]}
    assert inputs == {"subject_uuid": "uuid", "subject_nickname": "text", "lab_name": "text", "sex": "select",
                      "subject_birth_date": "date", "project": "text"}
    assert data["choices"] == {"lab_name": ["alab", "blab"]}
    html = admin.get(f"{SUBJ}/insert").text
    assert 'type="date"' in html and "<option>blab</option>" in html and 'name="csrf_token"' in html


def test_insert_update_and_their_errors(admin) -> None:
    token = _token(admin)
    new = "00000000-0000-0000-0000-0000000000aa"
    r = admin.post(f"{SUBJ}/insert", data={"csrf_token": token, "subject_uuid": new, "subject_nickname": "mNew",
                                           "lab_name": "alab", "sex": "F", "subject_birth_date": "2024-01-02"})
    assert r.status_code == 303 and r.headers["location"] == f"{SUBJ}/row?subject_uuid={new}"
    row = json_of(admin.get(f"/api{SUBJ}/row?subject_uuid={new}"))
    values = {a["name"]: a.get("value") for a in row["attributes"]}
    assert values["subject_nickname"] == "mNew" and values["project"] == ""  # the default
    again = admin.post(f"{SUBJ}/insert", data={"csrf_token": token, "subject_uuid": new, "subject_nickname": "x",
                                               "lab_name": "alab", "sex": "F", "subject_birth_date": "2024-01-02"})
    assert again.status_code == 409
    bad = admin.post(f"/api{SUBJ}/insert", json={"subject_uuid": new, "subject_nickname": "q", "lab_name": "alab",
                                                 "sex": "Q", "subject_birth_date": "2024-01-02"},
                     headers={"x-csrf-token": token})
    assert bad.status_code == 400 and "one of M, F, U" in json_of(bad)["error"]
    missing = admin.post(f"/api{SUBJ}/insert", json={"subject_uuid": "00000000-0000-0000-0000-0000000000ab"},
                         headers={"x-csrf-token": token})
    assert missing.status_code == 400 and "required" in json_of(missing)["error"]
    form = json_of(admin.get(f"/api{SUBJ}/update?subject_uuid={new}"))
    assert form["mode"] == "update" and form["values"]["subject_nickname"] == "mNew"
    r = admin.post(f"{SUBJ}/update?subject_uuid={new}", data={"csrf_token": token, "subject_nickname": "mRenamed",
                                                              "lab_name": "blab", "sex": "M",
                                                              "subject_birth_date": "2024-01-03", "project": "p"})
    assert r.status_code == 303
    row = json_of(admin.get(f"/api{SUBJ}/row?subject_uuid={new}"))
    values = {a["name"]: a.get("value") for a in row["attributes"]}
    assert values == {"subject_uuid": new, "subject_nickname": "mRenamed", "lab_name": "blab", "sex": "M",
                      "subject_birth_date": "2024-01-03", "project": "p"}


def test_computed_tables_have_no_forms(admin) -> None:
    r = admin.get(f"/api/schemas/{S['behavior']}/TrialSet/insert")
    assert r.status_code == 403 and "populate()" in json_of(r)["error"]


def test_delete_previews_the_cascade_then_deletes(admin) -> None:
    preview = json_of(admin.get(f"/api{SUBJ}/delete?subject_uuid={SUBJECT}"))
    counts = {c["table"]: c["rows"] for c in preview["counts"]}
    n = fake_lab.N_SESSIONS
    assert counts == {"Subject": 1, "Session": n, "TrialSet": n, "TrialSet.Trial": n * fake_lab.N_TRIALS,
                      "ProbeInsertion": 1, "Cluster": 8, "SessionPsychCurve": n, "CumulativeSummary": 1,
                      "DatePsychCurve": n, "Raster": 8, "SubjectStatus": 1}
    assert preview["total"] == sum(counts.values()) and preview["blocked"] is None
    html = admin.get(f"{SUBJ}/delete?subject_uuid={SUBJECT}").text
    assert 'id="cascade"' in html and f"Delete {preview['total']:,} rows" in html
    stale = admin.post(f"{SUBJ}/delete?subject_uuid={SUBJECT}",
                       data={"csrf_token": _token(admin), "expected_total": str(preview["total"] - 1)})
    assert stale.status_code == 409 and "data changed" in stale.text  # nothing deleted: the new preview
    assert json_of(admin.get(f"/api{SUBJ}?subject_uuid={SUBJECT}"))["total"] == 1
    r = admin.post(f"{SUBJ}/delete?subject_uuid={SUBJECT}",
                   data={"csrf_token": _token(admin), "expected_total": str(preview["total"])})
    assert r.status_code == 303 and r.headers["location"] == SUBJ
    assert json_of(admin.get(f"/api{SUBJ}?subject_uuid={SUBJECT}"))["total"] == 0
    trials = json_of(admin.get(f"/api/schemas/{S['behavior']}/TrialSet.Trial?subject_uuid={SUBJECT}"))
    assert trials["total"] == 0
    assert admin.get(f"/api{SUBJ}/delete?subject_uuid={SUBJECT}").status_code == 404


def test_deleting_a_part_row_alone_is_blocked(admin) -> None:
    key = f"subject_uuid={SUBJECT}&session_start_time={quote('2024-03-04 09:30:00')}&trial_id=1"
    url = f"/schemas/{S['behavior']}/TrialSet.Trial/delete?{key}"
    preview = json_of(admin.get("/api" + url))
    assert "master" in preview["blocked"]
    r = admin.post(url, data={"csrf_token": _token(admin), "expected_total": "1"})
    assert r.status_code == 409


def test_delete_needs_the_expected_total(admin) -> None:
    r = admin.post(f"/api{SUBJ}/delete?subject_uuid={SUBJECT}", json={}, headers={"x-csrf-token": _token(admin)})
    assert r.status_code == 400 and "expected_total" in json_of(r)["error"]


def test_job_retry_and_ignore(admin) -> None:
    jobs_url = f"/api/schemas/{S['plotting']}/jobs"
    (err,) = [j for j in json_of(admin.get(jobs_url))["jobs"] if j["status"] == "error"]
    html = admin.get(f"/schemas/{S['plotting']}/jobs").text
    assert ">Retry<" in html and ">Ignore<" in html
    token = _token(admin)
    fields = {"csrf_token": token, "table_name": err["table_name"], "key_hash": err["key_hash"]}
    r = admin.post(f"/schemas/{S['plotting']}/jobs/ignore", data=fields)
    assert r.status_code == 303
    (ignored,) = [j for j in json_of(admin.get(jobs_url))["jobs"] if j["key_hash"] == err["key_hash"]]
    assert ignored["status"] == "ignore"
    r = admin.post(f"/api/schemas/{S['plotting']}/jobs/retry", data=fields)
    assert r.status_code == 200 and json_of(r) == {"ok": True, "changed": 1}
    assert not [j for j in json_of(admin.get(jobs_url))["jobs"] if j["key_hash"] == err["key_hash"]]
    r = admin.post(f"/api/schemas/{S['plotting']}/jobs/explode", data=fields)
    assert r.status_code == 400
    r = admin.post(f"/api/schemas/{S['subject']}/jobs/retry", data=fields)
    assert r.status_code == 404
