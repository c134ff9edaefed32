"""Settings: sources and their precedence, unknown keys, validation, attribute access, overrides."""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from settings_env import isolate, write_json, write_secret

from labjoin.errors import ConfigError, UnknownSettingError
from labjoin.settings import SETTINGS, Config, resolve_backend
from labjoin.settings.table import ENV_VARS

SRC = Path(__file__).resolve().parents[2] / "src"


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return isolate(tmp_path, monkeypatch)


# -- defaults and sources ------------------------------------------------------------------------


def test_defaults_come_from_the_settings_table() -> None:
    cfg = Config()
    for setting in SETTINGS:
        assert cfg[setting.key] == setting.default, setting.key
        assert cfg.source(setting.key) == "default"
    assert list(cfg) == [s.key for s in SETTINGS]
    assert len(cfg) == len(SETTINGS)


def test_default_dicts_are_not_shared_between_configs() -> None:
    first, second = Config(), Config()
    first["stores"]["raw"] = {"protocol": "file", "location": "/x"}
    assert second["stores"] == {}
    assert first.source("stores") == "set"
    assert second.source("stores") == "default"


def test_global_file_is_read(isolated: Path) -> None:
    path = write_json(isolated / "home" / ".datajoint_config.json", {"database.user": "alice"})
    cfg = Config()
    assert cfg["database.user"] == "alice"
    assert cfg.source("database.user") == f"file:{path}"


def test_local_file_wins_over_global_key_by_key(isolated: Path) -> None:
    write_json(isolated / "home" / ".datajoint_config.json", {"database.user": "g", "display.limit": 3})
    local = write_json(isolated / "project" / "dj_local_conf.json", {"database.user": "l"})
    cfg = Config()
    assert cfg["database.user"] == "l"
    assert cfg.source("database.user") == f"file:{local}"
    assert cfg["display.limit"] == 3


def test_project_file_is_found_upwards_and_wins_over_local(
    isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project_file = write_json(isolated / "project" / "datajoint.json", {"database": {"user": "p"}})
    deep = isolated / "project" / "a" / "b"
    deep.mkdir(parents=True)
    write_json(deep / "dj_local_conf.json", {"database.user": "l", "display.limit": 4})
    monkeypatch.chdir(deep)
    cfg = Config()
    assert cfg["database.user"] == "p"
    assert cfg.source("database.user") == f"file:{project_file}"
    assert cfg["display.limit"] == 4


def test_project_search_stops_at_the_repository_root(isolated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_json(isolated / "datajoint.json", {"database.user": "outside"})  # above project/.git
    assert Config()["database.user"] is None
    (isolated / "project" / ".git").rmdir()
    (isolated / "project" / ".hg").mkdir()
    assert Config()["database.user"] is None
    (isolated / "project" / ".hg").rmdir()
    assert Config()["database.user"] == "outside"


def test_nested_and_flat_keys_mix_in_one_file(isolated: Path) -> None:
    write_json(
        isolated / "project" / "datajoint.json",
        {
            "database": {"host": "db", "port": 5433},
            "display.limit": 7,
            "stores": {"raw": {"protocol": "file", "location": "/data"}},
        },
    )
    cfg = Config()
    assert (cfg["database.host"], cfg["database.port"], cfg["display.limit"]) == ("db", 5433, 7)
    assert cfg["stores"] == {"raw": {"protocol": "file", "location": "/data"}}


def test_secrets_next_to_project_file(isolated: Path) -> None:
    project = isolated / "project"
    write_json(project / "datajoint.json", {"database.user": "from-json"})
    secret = write_secret(project / ".secrets", "database.password", "s3cret")
    write_secret(project / ".secrets", "database.user", "from-secret")
    write_secret(project / ".secrets", "database.port", "5433")
    write_json(project / "dj_local_conf.json", {"database.password": "from-local"})
    cfg = Config()
    assert cfg["database.password"] == "s3cret"  # secrets win over dj_local_conf.json
    assert cfg.source("database.password") == f"file:{secret}"
    assert cfg["database.user"] == "from-json"  # datajoint.json wins over secrets
    assert cfg["database.port"] == 5433  # parsed from text


def test_run_secrets_directory_comes_after_the_project_secrets(isolated: Path) -> None:
    write_json(isolated / "project" / "datajoint.json", {})
    write_secret(isolated / "project" / ".secrets", "database.user", "project")
    write_secret(isolated / "run-secrets", "database.user", "run")
    write_secret(isolated / "run-secrets", "database.password", "pw")
    cfg = Config()
    assert (cfg["database.user"], cfg["database.password"]) == ("project", "pw")


def test_run_secrets_apply_without_a_project_file(isolated: Path) -> None:
    write_secret(isolated / "run-secrets", "database.password", "pw")
    write_secret(isolated / "project" / ".secrets", "database.user", "ignored")  # no datajoint.json
    cfg = Config()
    assert (cfg["database.user"], cfg["database.password"]) == (None, "pw")


def test_store_secrets_fill_unset_attributes(isolated: Path, caplog: pytest.LogCaptureFixture) -> None:
    spec = {"protocol": "s3", "location": "x", "access_key": "from-json"}
    write_json(isolated / "project" / "datajoint.json", {"stores": {"raw": spec}})
    secrets = isolated / "project" / ".secrets"
    write_secret(secrets, "stores.raw.secret_key", "sk")
    write_secret(secrets, "stores.raw.access_key", "ignored")
    write_secret(secrets, "stores.missing.secret_key", "orphan")
    with caplog.at_level(logging.WARNING, logger="labjoin.settings"):
        stores = Config()["stores"]
    assert stores["raw"] == {**spec, "secret_key": "sk"}
    assert "missing" not in stores
    assert "'missing'" in caplog.text


def test_store_secrets_without_any_store_are_reported(
    isolated: Path, caplog: pytest.LogCaptureFixture
) -> None:
    write_json(isolated / "project" / "datajoint.json", {})
    write_secret(isolated / "project" / ".secrets", "stores.raw.secret_key", "sk")
    with caplog.at_level(logging.WARNING, logger="labjoin.settings"):
        cfg = Config()
        assert (cfg["stores"], cfg.source("stores")) == ({}, "default")
    assert "'raw'" in caplog.text


def test_environment_wins_over_files(isolated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_json(isolated / "project" / "datajoint.json", {"database.host": "file-host", "safemode": True})
    monkeypatch.setenv("DJ_HOST", "env-host")
    monkeypatch.setenv("DJ_SAFEMODE", "false")
    monkeypatch.setenv("DJ_PORT", "3307")
    monkeypatch.setenv("DJ_STORES", '{"raw": {"protocol": "file", "location": "/d"}}')
    monkeypatch.setenv("DJ_LOG_LEVEL", "debug")
    cfg = Config()
    assert cfg["database.host"] == "env-host"
    assert cfg.source("database.host") == "env:DJ_HOST"
    assert cfg["safemode"] is False
    assert cfg["database.port"] == 3307
    assert cfg["stores"]["raw"]["location"] == "/d"
    assert cfg["loglevel"] == "DEBUG"


ENV_SAMPLES = {
    "LABJOIN_DATABASE_URL": ("sqlite://", "sqlite://"),
    "DJ_BACKEND": ("postgres", "postgresql"),
    "DJ_HOST": ("db", "db"),
    "DJ_PORT": ("5433", 5433),
    "DJ_USER": ("alice", "alice"),
    "DJ_PASS": ("pw", "pw"),
    "DJ_DATABASE_NAME": ("lab", "lab"),
    "DJ_USE_TLS": ("false", False),
    "DJ_CREATE_TABLES": ("no", False),
    "LABJOIN_HOME": ("/tmp/lj", "/tmp/lj"),
    "LABJOIN_SQLITE_PATH": ("lab.db", "lab.db"),
    "DJ_LOG_LEVEL": ("error", "ERROR"),
    "DJ_SAFEMODE": ("0", False),
    "DJ_DIAGRAM_DIRECTION": ("tb", "TB"),
    "DJ_STORES": ('{"raw": {"protocol": "file"}}', {"raw": {"protocol": "file"}}),
    "DJ_QUERY_CACHE": ("/tmp/qc", "/tmp/qc"),
    "DJ_DOWNLOAD_PATH": ("/tmp/dl", "/tmp/dl"),
    "DJ_JOBS_AUTO_REFRESH": ("off", False),
    "DJ_JOBS_KEEP_COMPLETED": ("yes", True),
    "DJ_JOBS_STALE_TIMEOUT": ("60", 60),
    "DJ_JOBS_DEFAULT_PRIORITY": ("1", 1),
    "DJ_JOBS_VERSION_METHOD": ("git", "git"),
    "DJ_JOBS_ALLOW_NEW_PK_FIELDS_IN_COMPUTED_TABLES": ("true", True),
    "DJ_JOBS_ADD_JOB_METADATA": ("on", True),
}


def test_every_environment_variable_reaches_its_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    assert set(ENV_SAMPLES) == set(ENV_VARS), "add a sample for each new environment variable"
    for name, (text, _) in ENV_SAMPLES.items():
        monkeypatch.setenv(name, text)
    cfg = Config()
    for name, (_, value) in ENV_SAMPLES.items():
        key = ENV_VARS[name].key
        assert (cfg[key], cfg.source(key)) == (value, f"env:{name}")


@pytest.mark.parametrize(("text", "value"), [("none", None), ("null", None), ("", None), ("git", "git")])
def test_nullable_environment_values(monkeypatch: pytest.MonkeyPatch, text: str, value: object) -> None:
    monkeypatch.setenv("DJ_JOBS_VERSION_METHOD", text)
    assert Config()["jobs.version_method"] == value


def test_empty_environment_variable_counts_as_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DJ_HOST", "")
    cfg = Config()
    assert cfg.source("database.host") == "default"
    assert resolve_backend(cfg) == "sqlite"


@pytest.mark.parametrize(
    ("name", "text"),
    [("DJ_PORT", "abc"), ("DJ_SAFEMODE", "maybe"), ("DJ_STORES", "{not json"), ("DJ_BACKEND", "oracle")],
)
def test_invalid_environment_value_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, text: str
) -> None:
    monkeypatch.setenv(name, text)
    with pytest.raises(ConfigError, match=rf"env:{name}.*{re.escape(repr(text))}"):
        Config()["safemode"]


def test_runtime_wins_over_environment_and_del_restores(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DJ_USER", "env-user")
    cfg = Config()
    cfg["database.user"] = "set-user"
    assert (cfg["database.user"], cfg.source("database.user")) == ("set-user", "set")
    del cfg["database.user"]
    assert (cfg["database.user"], cfg.source("database.user")) == ("env-user", "env:DJ_USER")
    del cfg["database.user"]  # nothing set at runtime: no error
    with pytest.raises(UnknownSettingError):
        del cfg["database.usr"]


def test_full_precedence_chain(isolated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project, home = isolated / "project", isolated / "home"
    files = {
        "global": write_json(home / ".datajoint_config.json", {"database.user": "global"}),
        "local": write_json(project / "dj_local_conf.json", {"database.user": "local"}),
        "run-secret": write_secret(isolated / "run-secrets", "database.user", "run-secret"),
        "secret": write_secret(project / ".secrets", "database.user", "secret"),
        "project": write_json(project / "datajoint.json", {"database.user": "project"}),
    }
    monkeypatch.setenv("DJ_USER", "env")
    cfg = Config()
    cfg["database.user"] = "set"
    assert cfg["database.user"] == "set"
    del cfg["database.user"]
    assert cfg["database.user"] == "env"
    monkeypatch.delenv("DJ_USER")
    cfg.reload()
    # Remove sources from the top; each time the next one down shows through.
    for name in ["project", "secret", "run-secret", "local", "global"]:
        assert cfg["database.user"] == name
        assert cfg.source("database.user") == f"file:{files[name]}"
        if name == "project":  # keep datajoint.json so its .secrets dir is still read
            write_json(files[name], {})
        else:
            files[name].unlink()
        cfg.reload()
    assert (cfg["database.user"], cfg.source("database.user")) == (None, "default")


def test_loading_is_lazy_and_reload_rereads(isolated: Path) -> None:
    cfg = Config()
    path = write_json(isolated / "project" / "dj_local_conf.json", {"display.limit": 3})
    assert cfg["display.limit"] == 3  # read on first use, after the file appeared
    write_json(path, {"display.limit": 4})
    assert cfg["display.limit"] == 3  # read once
    cfg["safemode"] = False
    cfg.reload()
    assert (cfg["display.limit"], cfg["safemode"]) == (4, False)  # runtime values survive


def test_files_false_reads_only_environment(isolated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_json(isolated / "project" / "dj_local_conf.json", {"database.user": "file"})
    monkeypatch.setenv("DJ_HOST", "env-host")
    cfg = Config(files=False)
    assert (cfg["database.user"], cfg["database.host"]) == (None, "env-host")
    assert Config(files=False, environ={})["database.host"] == "localhost"


def test_explicit_cwd_and_environ(isolated: Path) -> None:
    other = isolated / "other"
    (other / ".git").mkdir(parents=True)
    write_json(other / "datajoint.json", {"database.user": "other"})
    cfg = Config(cwd=other, environ={"DJ_HOST": "h", "HOME": str(isolated / "home")})
    assert (cfg["database.user"], cfg["database.host"]) == ("other", "h")


def test_deleted_working_directory_is_not_an_error(isolated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    gone = isolated / "gone"
    gone.mkdir()
    monkeypatch.chdir(gone)
    gone.rmdir()
    assert Config()["safemode"] is True


def test_import_has_no_side_effects_without_home(isolated: Path) -> None:
    cwd = isolated / "readonly-cwd"
    cwd.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("HOME", *ENV_VARS)}
    env["PYTHONPATH"] = str(SRC)
    code = (
        "import labjoin.settings, labjoin.credentials\n"
        "from labjoin.settings import config\n"
        "assert config.describe()\n"
        "print(config['safemode'])"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "True"
    assert list(cwd.iterdir()) == []


# -- unknown keys --------------------------------------------------------------------------------


def test_unknown_keys_from_files_are_kept_with_a_warning(
    isolated: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = write_json(
        isolated / "project" / "dj_local_conf.json", {"database.database_prefix": "lab_", "plugin": {}}
    )
    with caplog.at_level(logging.WARNING, logger="labjoin.settings"):
        cfg = Config()
        assert cfg["database.database_prefix"] == "lab_"
    assert "'database.database_prefix'" in caplog.text
    assert str(path) in caplog.text
    assert "plugin" in cfg
    assert list(cfg)[-2:] == ["database.database_prefix", "plugin"]
    assert cfg.source("plugin") == f"file:{path}"
    cfg["plugin"] = {"x": 1}  # present, so it may be replaced
    assert cfg["plugin"] == {"x": 1}


def test_unknown_key_suggests_close_names() -> None:
    cfg = Config()
    with pytest.raises(UnknownSettingError, match=r"Did you mean 'database.host'"):
        cfg["databse.host"] = "x"
    with pytest.raises(UnknownSettingError, match=r"'safemode'"):
        cfg["safe_mode"] = False
    with pytest.raises(UnknownSettingError, match=r"'display.limit'"):
        cfg["limit"]
    with pytest.raises(KeyError):  # DataJoint-era code catches KeyError
        cfg["no.such.key"]
    assert cfg.get("no.such.key", 7) == 7
    assert "no.such.key" not in cfg
    assert 3 not in cfg


def test_unknown_attribute_is_an_attribute_error() -> None:
    cfg = Config()
    with pytest.raises(UnknownSettingError, match=r"'database.host'"):
        _ = cfg.database.hots
    assert not hasattr(cfg.database, "hots")
    assert not hasattr(cfg, "_repr_html_")
    assert getattr(cfg, "nonsense", "fallback") == "fallback"


# -- validation ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("display.limit", "5", "int >= 1"),
        ("display.limit", 0, "int >= 1"),
        ("database.port", True, "int 1..65535"),
        ("database.port", 70000, "int 1..65535"),
        ("safemode", "no", "True or False"),
        ("loglevel", "LOUD", "'DEBUG'"),
        ("database.backend", "oracle", "'sqlite' | 'postgresql' | 'mysql'"),
        ("blob.compress", 1, "'auto' | True | False"),
        ("stores", [], "dict"),
        ("database.url", "http://example.org", "sqlite:///path"),
        ("sqlite.busy_timeout", -1, "number >= 0"),
        ("database.use_tls", "yes", "bool or dict"),
    ],
)
def test_assignment_is_type_checked(key: str, value: object, expected: str) -> None:
    cfg = Config()
    with pytest.raises(ConfigError) as info:
        cfg[key] = value
    message = str(info.value)
    assert repr(key) in message
    assert repr(value) in message
    assert type(value).__name__ in message
    assert expected in message
    assert cfg.source(key) == "default"


def test_secret_values_are_not_echoed_in_errors() -> None:
    with pytest.raises(ConfigError) as info:
        Config()["database.password"] = 12345
    assert "12345" not in str(info.value)


@pytest.mark.parametrize(
    ("key", "value", "stored"),
    [
        ("loglevel", "debug", "DEBUG"),
        ("loglevel", "warn", "WARNING"),
        ("database.backend", "postgres", "postgresql"),
        ("database.backend", "MariaDB", "mysql"),
        ("sqlite.busy_timeout", 5, 5.0),
        ("database.use_tls", {"ca": "/etc/ca.pem"}, {"ca": "/etc/ca.pem"}),
        ("database.use_tls", False, False),
        ("blob.compress", True, True),
        ("database.port", None, None),
    ],
)
def test_assignment_normalises(key: str, value: object, stored: object) -> None:
    cfg = Config()
    cfg[key] = value
    assert cfg[key] == stored
    assert type(cfg[key]) is type(stored)


def test_invalid_value_in_a_file_names_file_and_key(isolated: Path) -> None:
    path = write_json(isolated / "project" / "dj_local_conf.json", {"display": {"limit": "many"}})
    with pytest.raises(ConfigError, match=rf"'display.limit'.*'many'.*file:{re.escape(str(path))}"):
        Config()["safemode"]


@pytest.mark.parametrize(("text", "problem"), [("{oops", "not valid JSON.*line 1"), ("[1]", "JSON object")])
def test_malformed_file_is_reported(isolated: Path, text: str, problem: str) -> None:
    (isolated / "home" / ".datajoint_config.json").write_text(text)
    with pytest.raises(ConfigError, match=problem):
        Config()["safemode"]


def test_update_is_all_or_nothing() -> None:
    cfg = Config()
    with pytest.raises(ConfigError):
        cfg.update({"display.limit": 3, "safemode": "no"})
    assert cfg["display.limit"] == 12
    cfg.update({"display": {"limit": 3}}, safemode=False)
    assert (cfg["display.limit"], cfg["safemode"]) == (3, False)


# -- attribute style -------------------------------------------------------------------------------


def test_attribute_access_reads_and_writes_the_same_values() -> None:
    cfg = Config()
    cfg.display.limit = 5
    assert cfg["display.limit"] == 5
    cfg["database.host"] = "db"
    assert cfg.database.host == "db"
    cfg.safemode = False
    assert cfg["safemode"] is False
    cfg.stores = {"raw": {"protocol": "file", "location": "/d"}}
    assert cfg.stores["raw"]["location"] == "/d"
    assert cfg.jobs.stale_timeout == 3600
    with pytest.raises(ConfigError, match=r"database.port"):
        cfg.database.port = "3306"
    cfg.database = {"host": "x"}  # a dict sets members of the group
    assert (cfg.database.host, cfg["database.user"]) == ("x", None)
    cfg["display"] = {"width": 20}
    assert (cfg.display.width, cfg.display.limit) == (20, 5)
    with pytest.raises(UnknownSettingError, match=r"'display' is a group of settings \(display.limit"):
        cfg.display = 5
    with pytest.raises(UnknownSettingError, match="group of settings"):
        cfg["jobs"]
    assert {"database", "display", "jobs", "safemode"} <= set(dir(cfg))
    assert {"host", "port", "user"} <= set(dir(cfg.database))
    assert "'database.host': 'x'" in repr(cfg.database)


# -- overrides ----------------------------------------------------------------------------------


def test_override_restores_values_and_sources(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DJ_HOST", "env-host")
    cfg = Config()
    cfg["display.limit"] = 5
    with cfg(safemode=False, database__host="x", display__limit=6) as inner:
        assert inner is cfg
        assert (cfg["safemode"], cfg["database.host"], cfg["display.limit"]) == (False, "x", 6)
        with cfg.override(display={"limit": 7}):
            assert cfg.display.limit == 7
        assert cfg.display.limit == 6
    assert (cfg["safemode"], cfg["database.host"], cfg["display.limit"]) == (True, "env-host", 5)
    assert (cfg.source("safemode"), cfg.source("database.host")) == ("default", "env:DJ_HOST")


def test_override_restores_on_exception() -> None:
    cfg = Config()

    def failing_block() -> None:
        with cfg.override(safemode=False):
            assert cfg["safemode"] is False
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        failing_block()
    assert cfg["safemode"] is True
    assert cfg.source("safemode") == "default"


def test_override_checks_everything_before_changing_anything() -> None:
    cfg = Config()
    with pytest.raises(ConfigError, match=r"display.limit"), cfg(safemode=False, display__limit="x"):
        pytest.fail("the block must not run")
    with pytest.raises(UnknownSettingError, match="safemode"), cfg(safemode=False, safe_mode=False):
        pytest.fail("the block must not run")
    assert cfg.source("safemode") == "default"
