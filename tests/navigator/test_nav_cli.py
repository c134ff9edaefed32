"""``labjoin users`` and ``labjoin serve`` through click's test runner."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

import labjoin as dj
from labjoin.cli import cli
from labjoin.navigator import UserStore

SCHEMA = "navigator_test_cli_users"


@pytest.fixture
def url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'cli.sqlite'}"


def run(*args: str, stdin: str | None = None):
    return CliRunner().invoke(cli, list(args), input=stdin, catch_exceptions=False)


def test_users_add_list_passwd_token_remove(url: str) -> None:
    common = ["--url", url, "--users-schema", SCHEMA]
    r = run("users", "add", "ana", "--role", "admin", "--password-stdin", *common, stdin="a good password\n")
    assert r.exit_code == 0 and "added ana (admin)" in r.output
    r = run("users", "add", "max", *common, stdin="max password\nmax password\n")  # prompted twice
    assert r.exit_code == 0, r.output
    r = run("users", "list", *common)
    assert r.output.split() == ["ana", "admin", "max", "member"]
    conn = dj.Connection(url)
    store = UserStore(conn, SCHEMA)
    assert store.verify("ana", "a good password").role == "admin"
    r = run("users", "passwd", "ana", "--role", "member", "--password-stdin", *common, stdin="another password\n")
    assert r.exit_code == 0
    assert store.verify("ana", "a good password") is None and store.verify("ana", "another password").role == "member"
    r = run("users", "token", "max", "--label", "ci", *common)
    token = r.output.strip()
    assert token.startswith("lj_") and store.user_for_token(token).username == "max"
    r = run("users", "remove", "max", *common)
    assert r.exit_code == 0 and store.get("max") is None and store.user_for_token(token) is None
    conn.close()


def test_users_errors_are_reported(url: str) -> None:
    common = ["--url", url, "--users-schema", SCHEMA]
    with pytest.raises(dj.errors.DataError, match="at least 8"):
        run("users", "add", "ana", "--password-stdin", *common, stdin="short\n")
    with pytest.raises(dj.errors.DataError, match="User name"):
        run("users", "add", "bad name", "--password-stdin", *common, stdin="long enough\n")
    run("users", "add", "ana", "--password-stdin", *common, stdin="long enough\n")
    with pytest.raises(dj.errors.DuplicateError):
        run("users", "add", "ana", "--password-stdin", *common, stdin="long enough\n")
    with pytest.raises(dj.errors.DataError, match="no navigator user"):
        run("users", "remove", "nobody", *common)


def test_serve_builds_the_app_and_runs_uvicorn(url: str, tmp_path, monkeypatch) -> None:
    import uvicorn

    seen = {}

    def fake_run(app, **kw):
        seen["app"], seen["kw"] = app, kw

    monkeypatch.setattr(uvicorn, "run", fake_run)
    subset = tmp_path / "public.json"
    subset.write_text(json.dumps([{"subject_nickname": "m1"}]))
    r = run("serve", "--url", url, "--port", "8123", "--public", "--public-subset", str(subset),
            "--users-schema", SCHEMA, "--root-path", "/nav")
    assert r.exit_code == 0, r.output
    config = seen["app"].state.navigator.config
    assert config.public and config.public_subset.keys == ({"subject_nickname": "m1"},)
    assert seen["kw"] == {"host": "127.0.0.1", "port": 8123, "root_path": "/nav", "log_level": "info"}
    assert "http://127.0.0.1:8123/nav/" in r.output
    assert "No accounts yet" in r.output
    seen["app"].state.navigator.database.close()
    r = CliRunner().invoke(cli, ["serve", "--url", url, "--public", "--users-schema", SCHEMA])
    assert "visitors who are not logged in see no rows" in r.output
    seen["app"].state.navigator.database.close()
