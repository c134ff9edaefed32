"""Injection attempts through filters, sorting, paging, projection and keys change nothing and get
a clean error (or match nothing): no value ever reaches the SQL text."""

from __future__ import annotations

import logging
from urllib.parse import quote

import nav_fake_lab as fake_lab
import pytest
from nav_helpers import json_of, schema_names

import labjoin as dj

S = schema_names()
SUBJ = f"/api/schemas/{S['subject']}/Subject"
TRIALS = f"/api/schemas/{S['behavior']}/TrialSet.Trial"
DROP = "'; DROP TABLE subject; --"
OR_TRUE = "x' OR '1'='1"

# URL, expected status, and the total expected when the request succeeds (values are data).
ATTEMPTS: list[tuple[str, int, int | None]] = [
    (f"{SUBJ}?subject_nickname={quote(OR_TRUE)}", 200, 0),
    (f"{SUBJ}?subject_nickname={quote(DROP)}", 200, 0),
    (f"{SUBJ}?subject_nickname__contains={quote(OR_TRUE)}", 200, 0),
    (f"{SUBJ}?subject_nickname__startswith={quote('%')}", 200, 0),
    (f"{SUBJ}?subject_nickname__in={quote(OR_TRUE + ',mA1')}", 200, 1),
    (f"{SUBJ}?subject_nickname__gt={quote(OR_TRUE)}", 200, 0),  # compared as a string: no "m..." sorts after "x"
    (f"{SUBJ}?subject_birth_date__gte={quote('2020-01-01 OR 1=1')}", 400, None),
    (f"{SUBJ}?subject_birth_date={quote(DROP)}", 400, None),
    (f"{SUBJ}?subject_uuid={quote(OR_TRUE)}", 400, None),
    (f"{TRIALS}?trial_id={quote('1 OR 1=1')}", 400, None),
    (f"{TRIALS}?trial_id__lt={quote('1); DELETE FROM x; --')}", 400, None),
    (f"{TRIALS}?trial_rt__gt={quote('nan')}", 400, None),
    (f"{TRIALS}?trial_response_choice={quote(OR_TRUE)}", 400, None),
    (f"{SUBJ}?{quote('subject_nickname=1 OR 1')}=x", 400, None),
    (f"{SUBJ}?{quote('subject_nickname` OR 1=1 --')}=x", 400, None),
    (f"{SUBJ}?subject_nickname__{quote('gt OR 1=1')}=x", 400, None),
    (f"{SUBJ}?_sort={quote('subject_nickname; DROP TABLE x')}", 400, None),
    (f"{SUBJ}?_sort={quote('(SELECT 1)')}", 400, None),
    (f"{SUBJ}?_sort={quote('subject_nickname desc, 1')}", 400, None),
    (f"{SUBJ}?_sort={quote('-subject_nickname--')}", 400, None),
    (f"{SUBJ}?_page={quote('1; DROP TABLE x')}", 400, None),
    (f"{SUBJ}?_page=0", 400, None),
    (f"{SUBJ}?_page=-1", 400, None),
    (f"{SUBJ}?_page=99999999999", 400, None),
    (f"{SUBJ}?_size={quote('10 UNION SELECT 1')}", 400, None),
    (f"{SUBJ}?_size=100000", 400, None),
    (f"{SUBJ}?_combine={quote('or 1=1')}", 400, None),
    (f"{SUBJ}?_col={quote('subject_nickname, (SELECT 1)')}", 400, None),
    (f"{SUBJ}?_where={quote('1=1')}", 400, None),
    (f"/api/schemas/{quote(S['subject'] + '; DROP')}/Subject", 404, None),
    (f"/api/schemas/{S['subject']}/{quote('Subject` WHERE 1 --')}", 404, None),
    (f"{SUBJ}/row?subject_uuid={quote(OR_TRUE)}", 400, None),
    (f"/api/schemas/{S['subject']}/Lab/row?lab_name={quote(OR_TRUE)}", 404, None),
    (f"/api/lab/mice?subject_nickname={quote(OR_TRUE)}", 200, 0),
    (f"/api/lab/mice?subject_nickname__contains={quote(DROP)}", 200, 0),
    (f"/api/lab/mice?_sort={quote('subject_nickname; DROP TABLE x')}", 400, None),
    (f"/api/lab/sessions?session_start_time__gte={quote(DROP)}", 400, None),
    (f"/api/lab/mouse?subject_uuid={quote(OR_TRUE)}", 400, None),
    (f"/api/schemas/{S['behavior']}/TrialSet.Trial/export.csv?trial_id={quote('1 OR 1=1')}", 400, None),
]


def _state(url: str) -> tuple[list[str], dict[str, int]]:
    conn = dj.Connection(url)
    try:
        tables = sorted(r[0] for r in conn.query("SELECT name FROM sqlite_master"))
        counts = {}
        for schema in dj.list_schemas(conn):
            for t in dj.Schema(schema, connection=conn, create_schema=False).list_tables():
                counts[f"{schema}.{t}"] = len(dj.FreeTable(conn, f"`{schema}`.`{t}`"))
        return tables, counts
    finally:
        conn.close()


@pytest.fixture
def member_on_copy(client_factory, lab_url):
    return client_factory(lab_url, "max"), lab_url


def test_injection_attempts_change_nothing_and_fail_cleanly(member_on_copy, caplog) -> None:
    client, url = member_on_copy
    before = _state(url)
    caplog.set_level(logging.DEBUG, logger="labjoin.sql")
    for attempt, status, total in ATTEMPTS:
        r = client.get(attempt)
        assert r.status_code == status, (attempt, r.text[:300])
        body = json_of(r)
        if status == 200:
            if total is not None and "total" in body:
                assert body["total"] == total, attempt
        else:
            assert body["ok"] is False and body["status"] == status and body["error"], attempt
            assert "Traceback" not in body["error"]
    sql_text = "\n".join(rec.args[0] for rec in caplog.records if rec.name == "labjoin.sql" and rec.args)
    assert sql_text, "the SQL log captured nothing"
    for needle in ("DROP", "OR '1'='1", "DELETE FROM x", "UNION"):
        assert needle not in sql_text.upper().replace("OR '1'='1'", "OR '1'='1"), needle
    assert _state(url) == before


def test_values_are_bound_parameters(member_on_copy, caplog) -> None:
    client, _ = member_on_copy
    caplog.set_level(logging.DEBUG, logger="labjoin.sql")
    marker = "zzmarker7f3a"
    client.get(f"{SUBJ}?subject_nickname__contains={marker}&subject_birth_date__lt=2030-01-01&sex=M")
    records = [rec for rec in caplog.records if rec.name == "labjoin.sql" and rec.args]
    assert any(marker in repr(rec.args[1]) for rec in records), "the value should travel as a parameter"
    assert not any(marker in rec.args[0] for rec in records), "the value must not be in the SQL text"


def test_form_values_cannot_inject(client_factory, lab_url) -> None:
    admin = client_factory(lab_url, "ana")
    before = _state(lab_url)
    token = admin.csrf("/account")
    r = admin.post(f"/schemas/{S['subject']}/Lab/insert", data={"csrf_token": token, "lab_name": DROP,
                                                                  "institution": OR_TRUE})
    assert r.status_code == 303
    after_tables, after_counts = _state(lab_url)
    assert after_tables == before[0]
    assert after_counts[f"{S['subject']}.#lab"] == before[1][f"{S['subject']}.#lab"] + 1
    row = json_of(admin.get(f"/api/schemas/{S['subject']}/Lab/row?lab_name={quote(DROP)}"))
    assert {a["name"]: a.get("value") for a in row["attributes"]} == {"lab_name": DROP, "institution": OR_TRUE}


def test_subjects_are_untouched(member_on_copy) -> None:
    client, _ = member_on_copy
    assert json_of(client.get(SUBJ))["total"] == fake_lab.N_SUBJECTS


def test_stored_markup_is_escaped_on_every_page(client_factory, lab_url) -> None:
    admin = client_factory(lab_url, "ana")
    evil = '<script>alert("x")</script>'
    r = admin.post(f"/schemas/{S['subject']}/Lab/insert", data={"csrf_token": admin.csrf("/account"),
                                                                  "lab_name": "xss", "institution": evil})
    assert r.status_code == 303
    for url in (f"/schemas/{S['subject']}/Lab", f"/schemas/{S['subject']}/Lab/row?lab_name=xss",
                f"/schemas/{S['subject']}/Lab/update?lab_name=xss"):
        html = admin.get(url).text
        assert evil not in html and "&lt;script&gt;" in html, url
