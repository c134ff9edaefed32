"""Settings: save/load/describe, database URL resolution, and the docs kept in step with the table."""

from __future__ import annotations

import doctest
import json
import os
import re
import stat
from pathlib import Path

import pytest
from settings_env import forget_home, isolate, write_json, write_secret
from sqlalchemy.engine import make_url

from labjoin.errors import ConfigError
from labjoin.settings import (
    SETTINGS,
    Config,
    configuration,
    reference_table,
    resolve_backend,
    resolve_database_url,
    split_host_port,
    sqlite_path,
)
from labjoin.settings.table import ENV_VARS

DOCS = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return isolate(tmp_path, monkeypatch)


# -- save, load, describe ----------------------------------------------------------------------


def test_save_and_load_round_trip(isolated: Path) -> None:
    cfg = Config()
    cfg.update(
        {"database.host": "db", "display.limit": 3, "stores": {"raw": {"protocol": "file", "location": "/d"}}}
    )
    cfg["custom"] = {"database.prefix": "lab_"}
    path = cfg.save(isolated / "saved.json")
    data = json.loads(path.read_text())
    assert data == {
        "database.host": "db",
        "display.limit": 3,
        "stores": {"raw": {"protocol": "file", "location": "/d"}},
        "custom": {"database.prefix": "lab_"},
    }
    other = Config(files=False, environ={})
    other.load(path)
    for key in data:
        assert other[key] == cfg[key]
        assert other.source(key) == f"file:{path}"


def test_save_nested_for_datajoint_json(isolated: Path) -> None:
    cfg = Config()
    cfg.update({"database.host": "db", "jobs.keep_completed": True, "safemode": False})
    path = cfg.save(isolated / "project" / "datajoint.json")
    assert json.loads(path.read_text()) == {
        "database": {"host": "db"},
        "safemode": False,
        "jobs": {"keep_completed": True},
    }
    assert Config()["jobs.keep_completed"] is True
    flat = cfg.save(isolated / "flat.json", nested=False)
    assert "database.host" in json.loads(flat.read_text())


def test_save_skips_environment_and_secret_file_values(
    isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_json(isolated / "project" / "datajoint.json", {"database.host": "db"})
    write_secret(isolated / "project" / ".secrets", "database.password", "pw")
    monkeypatch.setenv("DJ_USER", "env-user")
    cfg = Config()
    path = cfg.save(isolated / "out.json")
    assert json.loads(path.read_text()) == {"database.host": "db"}


def test_saved_credentials_are_owner_only(isolated: Path) -> None:
    cfg = Config()
    cfg["database.password"] = "pw"
    local = cfg.save_local()
    assert local == isolated / "project" / "dj_local_conf.json"
    assert json.loads(local.read_text())["database.password"] == "pw"
    assert stat.S_IMODE(local.stat().st_mode) == 0o600
    glob = cfg.save_global()
    assert glob == isolated / "home" / ".datajoint_config.json"
    assert stat.S_IMODE(glob.stat().st_mode) == 0o600
    del cfg["database.password"]
    cfg["stores"] = {"s3": {"protocol": "s3", "secret_key": "sk"}}
    assert stat.S_IMODE(cfg.save(isolated / "stores.json").stat().st_mode) == 0o600


def test_save_without_credentials_keeps_the_umask(isolated: Path) -> None:
    cfg = Config()
    cfg["display.limit"] = 3
    old = os.umask(0o022)
    try:
        path = cfg.save(isolated / "plain.json")
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


def test_save_over_an_existing_open_file_tightens_it(isolated: Path) -> None:
    path = isolated / "conf.json"
    path.write_text("{}")
    path.chmod(0o644)
    cfg = Config()
    cfg["database.password"] = "pw"
    cfg.save(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in isolated.iterdir() if p.name.endswith(".tmp")] == []


def test_save_to_unwritable_place_is_a_config_error(isolated: Path) -> None:
    blocker = isolated / "file"
    blocker.write_text("")
    with pytest.raises(ConfigError, match="Cannot write"):
        Config().save(blocker / "conf.json")


def test_save_global_without_home(monkeypatch: pytest.MonkeyPatch) -> None:
    forget_home(monkeypatch)
    cfg = Config()
    assert cfg["safemode"] is True  # an unknown home is not an error for reading
    with pytest.raises(ConfigError, match=r"home directory is unknown.*config.save\(path\)"):
        cfg.save_global()


def test_describe_and_repr_mask_credentials(isolated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DJ_PASS", "hunter2")
    write_json(
        isolated / "project" / "dj_local_conf.json",
        {"plugin.token": "hunter2", "plugin": {"url": "u", "password": "hunter2"}},
    )
    cfg = Config()
    cfg["database.url"] = "postgresql://alice:hunter2@db/lab"
    cfg["stores"] = {"s3": {"protocol": "s3", "access_key": "AK", "secret_key": "hunter2", "bucket": "b"}}
    rows = {row.key: row for row in cfg.describe()}
    assert rows["database.password"] == ("database.password", "***", "env:DJ_PASS")
    assert rows["database.url"].value == "postgresql://alice:***@db/lab"
    assert rows["stores"].value == {
        "s3": {"protocol": "s3", "access_key": "***", "secret_key": "***", "bucket": "b"}
    }
    assert rows["safemode"] == ("safemode", True, "default")
    assert rows["plugin.token"].value == "***"  # unknown keys are masked by name too
    assert rows["plugin"].value == {"url": "u", "password": "***"}
    assert "hunter2" not in repr(cfg)
    assert "hunter2" not in repr(cfg.database)
    assert cfg["database.password"] == "hunter2"  # masking is for display only


# -- URL resolution --------------------------------------------------------------------------------


def test_default_is_sqlite_in_the_xdg_data_directory(isolated: Path) -> None:
    cfg = Config()
    expected = isolated / "home" / ".local" / "share" / "labjoin" / "labjoin.sqlite"
    assert resolve_backend(cfg) == "sqlite"
    assert resolve_database_url(cfg) == f"sqlite:///{expected}"
    assert cfg.database_url() == f"sqlite:///{expected}"
    assert expected.parent.is_dir()
    assert not expected.exists()  # resolving never creates the database itself


def test_xdg_data_home_and_labjoin_home(isolated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(isolated / "xdg"))
    assert sqlite_path(Config()) == isolated / "xdg" / "labjoin" / "labjoin.sqlite"
    monkeypatch.setenv("XDG_DATA_HOME", "relative/ignored")
    assert sqlite_path(Config()) == isolated / "home" / ".local" / "share" / "labjoin" / "labjoin.sqlite"
    monkeypatch.setenv("LABJOIN_HOME", str(isolated / "lj"))
    assert resolve_database_url(Config()) == f"sqlite:///{isolated / 'lj' / 'labjoin.sqlite'}"


def test_explicit_sqlite_path(isolated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LABJOIN_SQLITE_PATH", str(isolated / "data" / "lab.db"))
    assert resolve_database_url(Config()) == f"sqlite:///{isolated / 'data' / 'lab.db'}"
    monkeypatch.setenv("LABJOIN_SQLITE_PATH", "rel.db")
    assert sqlite_path(Config()) == isolated / "project" / "rel.db"
    monkeypatch.setenv("LABJOIN_SQLITE_PATH", ":memory:")
    assert resolve_database_url(Config()) == "sqlite://"


def test_relative_sqlite_path_is_relative_to_its_config_file(
    isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_json(isolated / "project" / "datajoint.json", {"sqlite": {"path": "data/lab.sqlite"}})
    deep = isolated / "project" / "notebooks"
    deep.mkdir()
    monkeypatch.chdir(deep)
    assert sqlite_path(Config()) == isolated / "project" / "data" / "lab.sqlite"


@pytest.mark.parametrize(
    ("env", "url"),
    [
        ({"DJ_HOST": "db.lab.org"}, "mysql+pymysql://db.lab.org:3306"),
        ({"DJ_HOST": "localhost", "DJ_USER": "root", "DJ_PASS": ""}, "mysql+pymysql://root@localhost:3306"),
        (
            {"DJ_HOST": "db", "DJ_USER": "al ice", "DJ_PASS": "p@ss:/w%rd"},
            "mysql+pymysql://al ice:p%40ss%3A%2Fw%25rd@db:3306",
        ),
        ({"DJ_HOST": "db:3307", "DJ_PORT": "3308"}, "mysql+pymysql://db:3307"),
        ({"DJ_HOST": "db", "DJ_PORT": "3308"}, "mysql+pymysql://db:3308"),
        ({"DJ_HOST": "[::1]:5433", "DJ_BACKEND": "postgresql"}, "postgresql+psycopg://[::1]:5433/postgres"),
        ({"DJ_HOST": "::1"}, "mysql+pymysql://[::1]:3306"),
        (
            {"DJ_HOST": "db", "DJ_BACKEND": "postgresql", "DJ_USER": "alice", "DJ_PASS": "pw"},
            "postgresql+psycopg://alice:pw@db:5432/postgres",
        ),
        ({"DJ_BACKEND": "postgresql", "DJ_DATABASE_NAME": "lab"}, "postgresql+psycopg://localhost:5432/lab"),
        ({"DJ_BACKEND": "mysql"}, "mysql+pymysql://localhost:3306"),
        (
            {"LABJOIN_DATABASE_URL": "postgresql://alice@db:5433/lab", "DJ_HOST": "x"},
            "postgresql+psycopg://alice@db:5433/lab",
        ),
        ({"LABJOIN_DATABASE_URL": "postgres://alice@db/lab"}, "postgresql+psycopg://alice@db/lab"),
        ({"LABJOIN_DATABASE_URL": "postgresql+psycopg2://db/lab"}, "postgresql+psycopg2://db/lab"),
        ({"LABJOIN_DATABASE_URL": "mysql://root@127.0.0.1:3306"}, "mysql+pymysql://root@127.0.0.1:3306"),
        ({"LABJOIN_DATABASE_URL": "mariadb://root@127.0.0.1"}, "mysql+pymysql://root@127.0.0.1"),
        ({"LABJOIN_DATABASE_URL": "mysql+mysqldb://root@db"}, "mysql+mysqldb://root@db"),
        ({"LABJOIN_DATABASE_URL": "sqlite:///rel.sqlite", "DJ_HOST": "db"}, "sqlite:///rel.sqlite"),
        ({"LABJOIN_DATABASE_URL": "sqlite://"}, "sqlite://"),
    ],
)
def test_database_url_for_every_form(monkeypatch: pytest.MonkeyPatch, env: dict[str, str], url: str) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    cfg = Config()
    assert resolve_database_url(cfg) == url
    assert resolve_backend(cfg) == make_url(url).get_backend_name().replace("mariadb", "mysql")


@pytest.mark.parametrize(
    ("env", "arguments", "url"),
    [
        ({}, {"host": "db"}, "mysql+pymysql://db:3306"),
        ({}, {"host": "db", "backend": "postgres"}, "postgresql+psycopg://db:5432/postgres"),
        (
            {"DJ_HOST": "cfg", "DJ_USER": "u", "DJ_PASS": "p"},
            {"host": "db:3307", "port": 3308},
            "mysql+pymysql://u:p@db:3307",
        ),
        (
            {"DJ_HOST": "cfg"},
            {"user": "alice", "password": "pw", "port": 3310},
            "mysql+pymysql://alice:pw@cfg:3310",
        ),
        (
            {"LABJOIN_DATABASE_URL": "postgresql://a@db/lab"},
            {"user": "b", "password": "pw"},
            "postgresql+psycopg://b:pw@db/lab",
        ),
        (
            {"LABJOIN_DATABASE_URL": "postgresql://a@db/lab"},
            {"host": "other"},
            "postgresql+psycopg://a@other/lab",
        ),
        ({"LABJOIN_DATABASE_URL": "sqlite://"}, {"host": "db"}, "mysql+pymysql://db:3306"),
        (
            {"LABJOIN_DATABASE_URL": "postgresql://a@db/lab"},
            {"backend": "mysql"},
            "mysql+pymysql://localhost:3306",
        ),
        (
            {"DJ_BACKEND": "sqlite", "LABJOIN_SQLITE_PATH": ":memory:"},
            {"host": "db"},
            "mysql+pymysql://db:3306",
        ),
        ({"DJ_HOST": "db"}, {"backend": "sqlite", "user": "ignored"}, "sqlite:///"),
    ],
)
def test_explicit_arguments_replace_configured_parts(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], arguments: dict, url: str
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    cfg = Config()
    assert resolve_database_url(cfg, **arguments).startswith(url)
    if url != "sqlite:///":
        assert resolve_database_url(cfg, **arguments) == url
    expected_backend = make_url(url).get_backend_name()
    assert (
        resolve_backend(cfg, host=arguments.get("host"), backend=arguments.get("backend")) == expected_backend
    )


def test_invalid_explicit_arguments() -> None:
    with pytest.raises(ConfigError, match=r"'oracle'.*the backend argument"):
        resolve_database_url(Config(), backend="oracle")
    with pytest.raises(ConfigError, match=r"'database.port'.*'x'.*the port argument"):
        resolve_database_url(Config(), host="db", port="x")  # type: ignore[arg-type]


def test_url_password_survives_escaping(monkeypatch: pytest.MonkeyPatch) -> None:
    password = "p@ss:/w rd%?#&=ü"
    monkeypatch.setenv("DJ_HOST", "db")
    monkeypatch.setenv("DJ_USER", "alice")
    monkeypatch.setenv("DJ_PASS", password)
    url = make_url(resolve_database_url(Config()))
    assert (url.username, url.password, url.host) == ("alice", password, "db")


def test_host_configured_in_a_file_selects_mysql_even_for_localhost(isolated: Path) -> None:
    write_json(isolated / "home" / ".datajoint_config.json", {"database.host": "localhost"})
    assert resolve_database_url(Config()) == "mysql+pymysql://localhost:3306"


def test_backend_sqlite_ignores_a_configured_host(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DJ_HOST", "db")
    monkeypatch.setenv("DJ_BACKEND", "sqlite")
    assert resolve_database_url(Config()).startswith("sqlite:///")


def test_bad_port_in_host() -> None:
    assert split_host_port("db:5432") == ("db", 5432)
    assert split_host_port("db") == ("db", None)
    assert split_host_port("[fe80::1]") == ("fe80::1", None)
    with pytest.raises(ConfigError, match="Invalid port 'x'"):
        split_host_port("db:x")
    with pytest.raises(ConfigError, match="Invalid port '99999'"):
        split_host_port("db:99999")


def test_unparsable_database_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LABJOIN_DATABASE_URL", "postgresql://db:notaport/x")
    with pytest.raises(ConfigError, match="env:LABJOIN_DATABASE_URL"):
        resolve_database_url(Config())


def test_unwritable_home_asks_for_a_url_or_labjoin_home(
    isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A regular file where a directory should be fails even for root, unlike chmod.
    (isolated / "blocked").write_text("")
    monkeypatch.setenv("HOME", str(isolated / "blocked" / "home"))
    cfg = Config()
    assert cfg["safemode"] is True  # reading settings still works
    with pytest.raises(ConfigError, match=r"LABJOIN_DATABASE_URL.*LABJOIN_HOME"):
        resolve_database_url(cfg)
    monkeypatch.setenv("LABJOIN_HOME", str(isolated / "blocked" / "lj"))
    with pytest.raises(ConfigError, match=r"Cannot create .*blocked/lj.*LABJOIN_HOME"):
        resolve_database_url(Config())
    monkeypatch.setenv("LABJOIN_HOME", str(isolated / "lj"))
    assert resolve_database_url(Config()) == f"sqlite:///{isolated / 'lj' / 'labjoin.sqlite'}"


def test_unknown_home_asks_for_a_url(monkeypatch: pytest.MonkeyPatch) -> None:
    forget_home(monkeypatch)
    with pytest.raises(ConfigError, match=r"HOME is unset.*LABJOIN_DATABASE_URL"):
        resolve_database_url(Config())
    monkeypatch.setenv("LABJOIN_DATABASE_URL", "sqlite://")
    assert resolve_database_url(Config()) == "sqlite://"


# -- documentation -------------------------------------------------------------------------------

_BEGIN = re.compile(r"<!-- settings-table:begin[^>]*-->\n")
_END = "<!-- settings-table:end -->"


def _documented_block() -> str:
    text = DOCS.read_text(encoding="utf-8")
    begin = _BEGIN.search(text)
    assert begin, f"{DOCS} lost its '<!-- settings-table:begin -->' marker"
    end = text.index(_END, begin.end())
    return text[begin.end() : end]


def test_every_setting_is_documented_and_every_documented_setting_exists() -> None:
    documented = re.findall(r"^\| `([^`]+)` \|", _documented_block(), flags=re.MULTILINE)
    defined = [s.key for s in SETTINGS]
    missing = sorted(set(defined) - set(documented))
    extra = sorted(set(documented) - set(defined))
    assert not missing, f"settings missing from {DOCS.name}: {missing}"
    assert not extra, f"{DOCS.name} documents settings that do not exist: {extra}"
    assert len(documented) == len(set(documented)), "a setting is documented twice"


def test_documented_table_matches_the_settings_model() -> None:
    assert _documented_block() == reference_table(), (
        f"{DOCS.name} is out of date; replace the table between the settings-table markers with the "
        "output of: python -c 'from labjoin.settings import reference_table; print(reference_table())'"
    )


def test_environment_variables_named_in_the_docs_exist() -> None:
    text = DOCS.read_text(encoding="utf-8")
    named = set(re.findall(r"\b((?:DJ|LABJOIN)_[A-Z_]+)\b", text))
    unsupported = {"DJ_THREAD_SAFE", "DJ_AWS_"}  # listed as not supported
    assert named - set(ENV_VARS) - unsupported == set()


def test_docstring_examples_run() -> None:
    result = doctest.testmod(configuration, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0
