"""Who may use which route: the access matrix, the public mode, sessions, CSRF, tokens, rate limits."""

from __future__ import annotations

from urllib.parse import quote

import nav_fake_lab as fake_lab
import pytest
from nav_helpers import USERS_SCHEMA, Client, json_of, schema_names
from starlette.routing import Route

import labjoin as dj
from labjoin.navigator import UserStore

S = schema_names()
SUBJECT = str(fake_lab.subject_uuid(0))  # mA1: in the public subset, with an ephys session
OTHER = str(fake_lab.subject_uuid(1))  # mB1: not public
SESSION = f"subject_uuid={SUBJECT}&session_start_time={quote('2024-03-08 09:30:00')}"
SUBJ = f"/schemas/{S['subject']}/Subject"

# (method, route path, a URL of it, access level). "home" is the home page: public in the public
# mode, members only otherwise. Every route of the app must be listed (test_every_route_is_in_the_matrix).
MATRIX: list[tuple[str, str, str, str]] = [
    ("GET", "/login", "/login", "open"),
    ("POST", "/login", "/login", "open"),
    ("POST", "/logout", "/logout", "open"),
    ("GET", "/docs", "/docs", "open"),
    ("GET", "/openapi.json", "/openapi.json", "open"),
    ("GET", "/static/plotly.min.js", "/static/plotly.min.js", "open"),
    ("GET", "/static/swagger/{name}", "/static/swagger/swagger-ui.css", "open"),
    ("GET", "/", "/", "home"),
    ("GET", "/api", "/api", "home"),
    ("GET", "/lab/{name}", "/lab/mice", "public"),
    ("GET", "/api/lab/{name}", "/api/lab/mice", "public"),
    ("GET", "/lab/{name}", f"/lab/mouse?subject_uuid={SUBJECT}", "public"),
    ("GET", "/api/lab/{name}", f"/api/lab/mouse?subject_uuid={SUBJECT}", "public"),
    ("GET", "/lab/{name}", "/lab/sessions", "public"),
    ("GET", "/lab/{name}", f"/lab/session?{SESSION}", "public"),
    ("GET", "/api/lab/{name}/panel/{panel}", f"/api/lab/session/panel/clusters?{SESSION}&probe_idx=0&cluster_id=1",
     "public"),
    ("GET", "/lab/{name}", "/lab/summary", "member"),
    ("GET", "/api/lab/{name}", "/api/lab/summary", "member"),
    ("GET", "/account", "/account", "member"),
    ("GET", "/api/account", "/api/account", "member"),
    ("POST", "/account/tokens", "/account/tokens", "member"),
    ("POST", "/account/tokens/revoke", "/account/tokens/revoke", "member"),
    ("GET", "/schemas", "/schemas", "member"),
    ("GET", "/api/schemas", "/api/schemas", "member"),
    ("GET", "/schemas/{schema}", f"/schemas/{S['subject']}", "member"),
    ("GET", "/api/schemas/{schema}", f"/api/schemas/{S['subject']}", "member"),
    ("GET", "/schemas/{schema}/diagram.svg", f"/schemas/{S['subject']}/diagram.svg", "member"),
    ("GET", "/api/schemas/{schema}/diagram.svg", f"/api/schemas/{S['subject']}/diagram.svg", "member"),
    ("GET", "/schemas/{schema}/jobs", f"/schemas/{S['plotting']}/jobs", "member"),
    ("GET", "/api/schemas/{schema}/jobs", f"/api/schemas/{S['plotting']}/jobs", "member"),
    ("GET", "/schemas/{schema}/{table}", SUBJ, "member"),
    ("GET", "/api/schemas/{schema}/{table}", f"/api{SUBJ}?sex=F", "member"),
    ("GET", "/schemas/{schema}/{table}/row", f"{SUBJ}/row?subject_uuid={SUBJECT}", "member"),
    ("GET", "/api/schemas/{schema}/{table}/row", f"/api{SUBJ}/row?subject_uuid={SUBJECT}", "member"),
    ("GET", "/schemas/{schema}/{table}/export.{fmt}", f"{SUBJ}/export.csv", "member"),
    ("GET", "/api/schemas/{schema}/{table}/export.{fmt}", f"/api{SUBJ}/export.json", "member"),
    ("GET", "/schemas/{schema}/{table}/insert", f"{SUBJ}/insert", "admin"),
    ("GET", "/api/schemas/{schema}/{table}/insert", f"/api{SUBJ}/insert", "admin"),
    ("POST", "/schemas/{schema}/{table}/insert", f"{SUBJ}/insert", "admin"),
    ("POST", "/api/schemas/{schema}/{table}/insert", f"/api{SUBJ}/insert", "admin"),
    ("GET", "/schemas/{schema}/{table}/update", f"{SUBJ}/update?subject_uuid={SUBJECT}", "admin"),
    ("GET", "/api/schemas/{schema}/{table}/update", f"/api{SUBJ}/update?subject_uuid={SUBJECT}", "admin"),
    ("POST", "/schemas/{schema}/{table}/update", f"{SUBJ}/update?subject_uuid={SUBJECT}", "admin"),
    ("POST", "/api/schemas/{schema}/{table}/update", f"/api{SUBJ}/update?subject_uuid={SUBJECT}", "admin"),
    ("GET", "/schemas/{schema}/{table}/delete", f"{SUBJ}/delete?subject_uuid={SUBJECT}", "admin"),
    ("GET", "/api/schemas/{schema}/{table}/delete", f"/api{SUBJ}/delete?subject_uuid={SUBJECT}", "admin"),
    ("POST", "/schemas/{schema}/{table}/delete", f"{SUBJ}/delete?subject_uuid={SUBJECT}", "admin"),
    ("POST", "/api/schemas/{schema}/{table}/delete", f"/api{SUBJ}/delete?subject_uuid={SUBJECT}", "admin"),
    ("POST", "/schemas/{schema}/jobs/{action}", f"/schemas/{S['plotting']}/jobs/retry", "admin"),
    ("POST", "/api/schemas/{schema}/jobs/{action}", f"/api/schemas/{S['plotting']}/jobs/ignore", "admin"),
]
PERSONAS = ("anonymous", "public", "member", "admin")


def _allowed(level: str, persona: str) -> bool:
    return {"open": True, "home": persona != "anonymous", "public": persona != "anonymous",
            "member": persona in ("member", "admin"), "admin": persona == "admin"}[level]


def _routes(routes: list) -> set[tuple[str, str]]:
    out = set()
    for r in routes:
        inner = getattr(r, "original_router", None)  # FastAPI keeps included routers as such
        if inner is not None:
            out |= _routes(inner.routes)
        elif isinstance(r, Route):
            out |= {(m, r.path) for m in r.methods or () if m != "HEAD"}
    return out


def test_every_route_is_in_the_matrix(personas) -> None:
    routes = _routes(personas["member"].app.routes)
    listed = {(m, p) for m, p, _, _ in MATRIX}
    assert routes - listed == set(), "add the new routes to MATRIX"
    assert listed - routes == set(), "MATRIX lists routes the app does not have"


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize(("method", "path", "url", "level"), MATRIX, ids=[f"{m} {u[:60]}" for m, _, u, _ in MATRIX])
def test_access_matrix(personas, persona: str, method: str, path: str, url: str, level: str) -> None:
    client = personas[persona]
    r = client.request(method, url, data={} if method == "POST" else None)
    allowed = _allowed(level, persona)
    if allowed and method == "GET":
        assert r.status_code == 200, r.text[:300]
    elif allowed:  # the role passed; the request then fails its CSRF check (no token sent)
        assert r.status_code == 403 and "security token" in r.text
    elif persona == "member":  # a member on an administrator's route
        assert r.status_code == 403 and "administrators" in r.text
    elif method == "GET" and not url.startswith("/api"):
        assert r.status_code == 303 and r.headers["location"].startswith("/login?next=")
    else:
        assert r.status_code == 401
        assert json_of(r)["ok"] is False if url.startswith("/api") else True


def test_public_mode_shows_only_the_public_subset(personas) -> None:
    public = personas["public"]
    mice = json_of(public.get("/api/lab/mice"))
    assert sorted(r["values"]["subject_nickname"] for r in mice["rows"]) == sorted(fake_lab.PUBLIC_NICKNAMES)
    assert [t["name"] for t in mice["thumbnails"]] == ["counts"]  # the weight thumbnails are not public
    sessions = json_of(public.get("/api/lab/sessions?_size=50"))
    assert sessions["total"] == 2 * fake_lab.N_SESSIONS
    assert {r["values"]["subject_nickname"] for r in sessions["rows"]} == set(fake_lab.PUBLIC_NICKNAMES)
    assert public.get(f"/api/lab/mouse?subject_uuid={OTHER}").status_code == 404
    mouse = json_of(public.get(f"/api/lab/mouse?subject_uuid={SUBJECT}"))
    assert [p["name"] for p in mouse["panels"]] == ["counts", "dates", "sessions"]  # no water and weight
    home = json_of(public.get("/api"))
    assert [p["name"] for p in home["pages"]] == ["mice", "sessions"] and home["schemas_url"] is None
    html = public.get("/lab/mice").text
    assert "Daily summary" not in html and ">Schemas<" not in html and "public data" in html


def test_members_see_everything_in_the_public_mode(personas) -> None:
    member = personas["public_member"]
    mice = json_of(member.get("/api/lab/mice?_size=20"))
    assert mice["total"] == fake_lab.N_SUBJECTS
    assert [t["name"] for t in mice["thumbnails"]] == ["counts", "weight"]
    mouse = json_of(member.get(f"/api/lab/mouse?subject_uuid={OTHER}"))
    assert [p["name"] for p in mouse["panels"]] == ["water", "counts", "dates", "sessions"]
    assert member.get("/api/lab/summary").status_code == 200


def test_public_page_whose_query_lacks_the_subset_attributes_is_refused(personas) -> None:
    # The session page's Select rows (clusters) do not carry the nickname, but the panel checks the
    # page row first; a non-public session is then not found.
    other_session = f"subject_uuid={OTHER}&session_start_time={quote('2024-03-09 10:30:00')}"
    r = personas["public"].get(f"/api/lab/session/panel/clusters?{other_session}&probe_idx=0&cluster_id=1")
    assert r.status_code == 404


def test_login_sets_a_signed_httponly_samesite_cookie_and_rotates_the_session(client_factory, lab_url) -> None:
    c = client_factory(lab_url)
    before = c.csrf()
    r = c.login("max")
    assert r.status_code == 303 and r.headers["location"] == "/"
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/" in cookie and "Secure" not in cookie
    assert c.csrf("/account") != before  # a new session id, so a planted one is useless
    assert c.get("/api/schemas").status_code == 200


def test_secure_cookies(client_factory, lab_url) -> None:
    c = client_factory(lab_url, secure_cookies=True)
    assert "Secure" in c.get("/login").headers["set-cookie"]


def test_wrong_password_and_forged_cookies_do_not_log_in(client_factory, lab_url) -> None:
    c = client_factory(lab_url)
    r = c.login("max", "wrong password")
    assert r.status_code == 401 and "Wrong user name or password" in r.text
    r = c.login("nobody", "whatever-password")
    assert r.status_code == 401
    c.http.cookies.set("labjoin_session", "eyJzaWQiOiJ4IiwidSI6Im1heCJ9.forged.signature")
    assert c.get("/api/schemas").status_code == 401


def test_login_rate_limit(client_factory, lab_url) -> None:
    c = client_factory(lab_url, login_attempts=3, login_window=60)
    for _ in range(3):
        assert c.login("max", "wrong password").status_code == 401
    r = c.login("max")  # the right password, but too many failures just now
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 0
    assert "Too many failed logins" in r.text


def test_logout_ends_the_session(client_factory, lab_url) -> None:
    c = client_factory(lab_url, "max")
    assert c.post("/logout", data={"csrf_token": c.csrf("/account")}).status_code == 303
    assert c.get("/api/schemas").status_code == 401


def test_a_password_change_or_removal_ends_sessions(client_factory, lab_url) -> None:
    c = client_factory(lab_url, "max")
    d = client_factory(lab_url, "ana")
    conn = dj.Connection(lab_url)
    store = UserStore(conn, USERS_SCHEMA)
    store.passwd("max", "a new password")
    assert c.get("/api/schemas").status_code == 401
    assert c.login("max", "a new password").status_code == 303
    store.remove("ana")
    assert d.get("/api/schemas").status_code == 401
    conn.close()


def test_csrf_token_of_another_session_is_refused(client_factory, lab_url) -> None:
    a = client_factory(lab_url, "ana")
    b = client_factory(lab_url, "ana")
    token_b = b.csrf("/account")
    r = a.post("/account/tokens", data={"csrf_token": token_b, "label": "x"})
    assert r.status_code == 403
    r = a.post("/account/tokens", data={"label": "x"}, headers={"x-csrf-token": a.csrf("/account")})
    assert r.status_code == 200


def test_login_redirects_only_to_local_paths(client_factory, lab_url) -> None:
    c = client_factory(lab_url)
    for target, expected in (("//evil.example/x", "/"), ("https://evil.example", "/"), ("/lab/mice", "/lab/mice")):
        r = c.post("/login", data={"username": "max", "password": "max-password", "csrf_token": c.csrf(),
                                   "next": target})
        assert r.headers["location"] == expected


def test_api_tokens(client_factory, lab_url) -> None:
    c = client_factory(lab_url, "ana")
    page = c.post("/account/tokens", data={"csrf_token": c.csrf("/account"), "label": "scripts"})
    token = page.text.split('id="new-token">')[1].split("<")[0]
    anon = client_factory(lab_url)
    auth = {"authorization": f"Bearer {token}"}
    assert anon.get("/api/schemas").status_code == 401
    assert anon.get("/api/schemas", headers=auth).status_code == 200
    assert "set-cookie" not in anon.get("/api/schemas", headers=auth).headers
    r = anon.post(f"/api/schemas/{S['subject']}/Lab/insert", json={"lab_name": "clab"}, headers=auth)
    assert r.status_code == 200 and json_of(r)["key"] == {"lab_name": "clab"}  # no CSRF with a token
    assert anon.get("/api/schemas", headers={"authorization": "Bearer lj_wrong"}).status_code == 401
    tokens = json_of(c.get("/api/account"))["tokens"]
    assert [t["label"] for t in tokens] == ["scripts"]
    c.post("/account/tokens/revoke", data={"csrf_token": c.csrf("/account"), "token_id": tokens[0]["id"]})
    assert anon.get("/api/schemas", headers=auth).status_code == 401


def test_anonymous_home_redirects_to_login_in_private_mode(personas) -> None:
    r = personas["anonymous"].get("/")
    assert r.status_code == 303 and r.headers["location"] == "/login?next=%2F"
    assert "Log in" in personas["anonymous"].get(r.headers["location"]).text


def test_json_requests_get_json_errors(personas) -> None:
    r = personas["anonymous"].get("/schemas", headers={"accept": "application/json"})
    assert r.status_code == 401 and json_of(r)["title"] == "Login required"
    r = personas["member"].get("/schemas/nope?_format=json")
    assert r.status_code == 404 and json_of(r)["ok"] is False


def test_clients_share_nothing(personas) -> None:
    assert isinstance(personas["member"], Client)


def test_served_under_a_path_prefix(app_factory, shared_url) -> None:
    c = Client(app_factory(shared_url), root_path="/nav")
    try:
        r = c.get("/nav/lab/mice")
        assert r.status_code == 303 and r.headers["location"].startswith("/nav/login?next=")
        assert c.login("max").status_code == 303
        html = c.get("/nav/lab/mice").text
        assert 'href="/nav/lab/mouse?' in html and 'src="/nav/static/app.js"' in html
        assert c.get("/nav/static/app.js").status_code == 200
        data = json_of(c.get("/nav/api/schemas"))
        assert all(s["url"].startswith("/nav/schemas/") for s in data["schemas"])
    finally:
        c.close()
