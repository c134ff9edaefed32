"""The `labjoin` commands through click's CliRunner, against real databases."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from tools_servers import server as _server

import labjoin as dj
from labjoin.cli import cli
from labjoin.connection.connection import set_default_connection


@pytest.fixture(autouse=True)
def _restore_default_connection() -> Iterator[None]:
    """The commands make their connection the process default; do not leak it into other tests."""
    yield
    set_default_connection(None)


def run(*args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False)


@pytest.fixture
def db(tmp_path: Path) -> tuple[str, str]:
    """(url, schema) of an SQLite file holding a small pipeline."""
    url = f"sqlite:///{tmp_path}/cli.sqlite"
    conn = dj.Connection(url)
    name = f"tools_cli_{uuid.uuid4().hex[:6]}"
    schema = dj.Schema(name, connection=conn)

    @schema
    class Mouse(dj.Manual):
        definition = """
        # a mouse
        mouse: int
        ---
        name: varchar(16)
        """

    @schema
    class Session(dj.Manual):
        definition = """
        -> Mouse
        day: int
        ---
        note="": varchar(32)
        """

        class Trial(dj.Part):
            definition = """
            -> master
            trial: int
            """

    Mouse.insert([(1, "a"), (2, "b")])
    Session.insert([(1, 1, "x"), (1, 2, "y"), (2, 1, "z")])
    Session.Trial.insert([(1, 1, 1), (1, 1, 2)])
    conn.close()
    return url, name


def test_schemas_tables_describe(db) -> None:
    url, name = db
    assert name in run("schemas", "--url", url).output.split()
    out = run("tables", name, "--url", url).output
    assert "mouse" in out and "Manual" in out and "session__trial" in out and "Part" in out
    lines = {line.split()[0]: line.split() for line in out.splitlines()}
    assert lines["session"][-1] == "3"
    described = run("describe", f"{name}.Session", "--url", url).output
    assert "-> Mouse" in described and "day" in described
    assert "-> Session" in run("describe", f"{name}.Session.Trial", "--url", url).output
    assert "# a mouse" in run("describe", f"{name}.mouse", "--url", url).output
    bad = CliRunner().invoke(cli, ["describe", f"{name}.Nope", "--url", url])
    assert bad.exit_code == 1 and "has no table 'Nope'" in bad.output and "Mouse" in bad.output
    missing = CliRunner().invoke(cli, ["tables", "tools_no_such", "--url", url])
    assert missing.exit_code == 1 and "does not exist" in missing.output


def test_diagram(db, tmp_path) -> None:
    url, name = db
    out = run("diagram", name, "--url", url).output
    assert "flowchart" in out or "graph" in out
    svg = tmp_path / "d.svg"
    assert "wrote" in run("diagram", name, "-o", str(svg), "--url", url).output
    text = svg.read_text()
    assert text.lstrip().startswith("<svg") or text.lstrip().startswith("<?xml")
    assert "Mouse" in text and "Session" in text
    mmd = tmp_path / "d.mmd"
    run("diagram", name, "-o", str(mmd), "--url", url)
    assert "Mouse" in mmd.read_text()
    png = tmp_path / "d.png"
    run("diagram", name, "-o", str(png), "--url", url)
    assert png.read_bytes().startswith(b"\x89PNG")
    bad = CliRunner().invoke(cli, ["diagram", name, "-o", str(tmp_path / "d.xyz"), "--url", url])
    assert bad.exit_code == 1 and ".svg" in bad.output


def test_shell(db) -> None:
    url, name = db
    out = run("shell", "--url", url, "-s", f"{name}:lab", "-c", "print(len(lab.Session), type(conn).__name__)").output
    assert out.strip() == "3 Connection"
    out = run("shell", "--url", url, "-s", name, "--plain", input=f"print(len({name}.Mouse))\n").output
    assert ">>> 2\n" in out and f"names: conn, dj, {name}" in out
    bad = CliRunner().invoke(cli, ["shell", "--url", url, "-s", f"{name}:not-a-name", "-c", "pass"])
    assert bad.exit_code == 1 and "not a Python name" in bad.output


def _module(tmp_path: Path, module: str, url: str, schema: str, mouse_body: str) -> None:
    """A pipeline module as a user writes one: its schema binds to the default connection."""
    (tmp_path / f"{module}.py").write_text(
        "import labjoin as dj\n"
        f"schema = dj.Schema({schema!r})\n\n\n"
        "@schema\n"
        "class Mouse(dj.Manual):\n"
        f"    definition = {mouse_body!r}\n"
    )


def test_alter(db, tmp_path, monkeypatch) -> None:
    url, name = db
    monkeypatch.chdir(tmp_path)
    tag = uuid.uuid4().hex[:6]
    _module(tmp_path, f"tools_cli_v1_{tag}", url, name, "\n# a mouse\nmouse: int\n---\nname: varchar(16)\n")
    out = run("alter", f"tools_cli_v1_{tag}.Mouse", "--url", url).output
    assert "Nothing to alter" in out
    _module(tmp_path, f"tools_cli_v2_{tag}", url, name,
            "\n# a mouse\nmouse: int\n---\nname: varchar(16)\nweight=0: float\n")
    target = f"tools_cli_v2_{tag}.Mouse"
    assert "existing rows get 0" in run("alter", target, "--dry-run", "--url", url).output
    declined = CliRunner().invoke(cli, ["alter", target, "--url", url], input="n\n")
    assert declined.exit_code == 1 and "Apply these changes?" in declined.output
    mouse = dj.FreeTable(dj.Connection(url), f"`{name}`.`mouse`")
    assert "weight" not in mouse.heading
    out = run("alter", target, "--url", url, input="y\n").output
    assert "altered Mouse" in out
    assert "weight" in dj.FreeTable(dj.Connection(url), f"`{name}`.`mouse`").heading
    # dropping a column that holds data needs --force
    _module(tmp_path, f"tools_cli_v3_{tag}", url, name, "\n# a mouse\nmouse: int\n---\nweight=0: float\n")
    refused = CliRunner().invoke(cli, ["alter", f"tools_cli_v3_{tag}.Mouse", "--yes", "--url", url])
    assert refused.exit_code == 1 and "--force" in refused.output
    out = run("alter", f"tools_cli_v3_{tag}.Mouse", "--yes", "--force", "--url", url).output
    assert "altered" in out
    assert "name" not in dj.FreeTable(dj.Connection(url), f"`{name}`.`mouse`").heading
    bad = CliRunner().invoke(cli, ["alter", "tools_no_such_module.Mouse", "--url", url])
    assert bad.exit_code == 1 and "Cannot import" in bad.output


def test_export_and_import(db, tmp_path) -> None:
    url, name = db
    bundle = tmp_path / "b.sqlite"
    out = run("export", f"{name}.Session", str(bundle), "--where", "mouse=1", "--where", "day=1",
              "--downstream", "--url", url).output
    assert "4 rows in 3 tables" in out  # the session, its two trials and its mouse
    again = CliRunner().invoke(cli, ["export", f"{name}.Session", str(bundle), "--url", url])
    assert again.exit_code == 1 and "overwrite" in again.output
    target = f"sqlite:///{tmp_path}/target.sqlite"
    out = run("import", str(bundle), "--url", target).output
    assert "4 rows inserted, 0 already present; 3 tables declared" in out
    out = run("import", str(bundle), "--url", target).output
    assert "0 rows inserted, 4 already present" in out
    assert run("tables", name, "--url", target).output.count("Manual") == 2


def test_config_show_and_set(tmp_path, monkeypatch) -> None:
    out = run("config").output
    assert "display.limit" in out and "default" in out
    path = tmp_path / "datajoint.json"
    out = run("config", "set", "display.limit", "5", "--file", str(path)).output
    assert "display.limit = 5" in out
    run("config", "set", "database.host", "db.lab.org", "--file", str(path))
    assert json.loads(path.read_text()) == {"display": {"limit": 5}, "database": {"host": "db.lab.org"}}
    local = tmp_path / "dj_local_conf.json"
    monkeypatch.chdir(tmp_path)
    run("config", "set", "safemode", "false", "--local")
    assert json.loads(local.read_text()) == {"safemode": False}
    for args, message in ((("display.limit", "many"), "display.limit"), (("no.such", "1"), "no.such"),
                          (("database.password", "x"), "set-password")):
        bad = CliRunner().invoke(cli, ["config", "set", *args, "--file", str(path)])
        assert bad.exit_code == 1 and message in bad.output, bad.output


def test_config_set_password(tmp_path, monkeypatch) -> None:
    import labjoin.credentials as credentials

    # no OS keyring in tests: the file is the store (and another test's keyring backend cannot leak in)
    monkeypatch.setattr(credentials, "_keyring_set", lambda username, password: False)
    monkeypatch.setattr(credentials, "_keyring_get", lambda username: None)
    with dj.config(home=str(tmp_path)):
        out = run("config", "set-password", "--user", "alice", "--host", "db.lab.org", "--password-stdin",
                  input="s3cret\n").output
        assert str(tmp_path / "credentials.json") in out
        assert credentials.get_password("alice", "db.lab.org", "postgresql") == "s3cret"
        assert (tmp_path / "credentials.json").stat().st_mode & 0o077 == 0
        bad = CliRunner().invoke(cli, ["config", "set-password", "--user", "alice", "--host", "h"])
        assert bad.exit_code == 1 and "--password-stdin" in bad.output


def test_admin_on_sqlite_is_not_applicable(db) -> None:
    url, name = db
    bad = CliRunner().invoke(cli, ["admin", "grant", "alice", name, "--url", url])
    assert bad.exit_code == 1 and "not applicable on SQLite" in bad.output


@pytest.mark.parametrize("server", ["postgresql", "mysql"])
def test_admin_commands(server: str) -> None:
    conn = _server(server)
    url = conn.url
    tag = uuid.uuid4().hex[:6]
    schema = dj.Schema(f"tools_cliadm_{tag}", connection=conn)
    user, role = f"tools_cu_{tag}", f"tools_cr_{tag}"
    try:
        @schema
        class Thing(dj.Manual):
            definition = """
            thing: int
            """

        Thing.insert1((1,))
        assert "created user" in run("admin", "user", "create", user, "--password-stdin", "--url", url,
                                     input="pw-1\n").output
        assert "read-only" in run("admin", "grant", user, schema.database, "--url", url).output
        assert "read-write" in run("admin", "grant", user, schema.database, "--read-write", "--url", url).output
        assert "created role" in run("admin", "role", "create", role, "--url", url).output
        assert "member" in run("admin", "role", "add", role, user, "--url", url).output
        listed = run("admin", "user", "list", "--url", url).output
        assert user in listed and role in listed
        assert "ID" in run("admin", "connections", "--url", url).output
        assert "no access" in run("admin", "revoke", user, schema.database, "--url", url).output
        no_tty = CliRunner().invoke(cli, ["admin", "user", "create", f"{user}x", "--url", url])
        assert no_tty.exit_code == 1 and "--password-stdin" in no_tty.output
    finally:
        for args in (("role", "drop", role), ("user", "drop", user)):
            CliRunner().invoke(cli, ["admin", *args, "--url", url])
        schema.drop(force=True)
        conn.close()
    assert user not in run("admin", "user", "list", "--url", url).output
