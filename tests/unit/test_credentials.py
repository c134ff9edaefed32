"""Credentials: settings, then the OS keyring, then the owner-only file; never a prompt."""

from __future__ import annotations

import builtins
import getpass
import json
import logging
import stat
from collections.abc import Iterator
from pathlib import Path

import keyring
import keyring.backend
import keyring.backends.fail
import pytest
from keyring.errors import PasswordSetError
from settings_env import forget_home, isolate
from sqlalchemy.engine import make_url

from labjoin.credentials import (
    credentials_path,
    get_password,
    missing_credentials_error,
    resolve_connection_url,
    store_password,
)
from labjoin.errors import ConfigError, MissingCredentialsError
from labjoin.settings import Config


class MemoryKeyring(keyring.backend.KeyringBackend):
    """A working keyring that lives in a dict (a real backend, just not a persistent one)."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.entries: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.entries.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.entries[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        del self.entries[(service, username)]


class LockedKeyring(MemoryKeyring):
    """A keyring that refuses writes with keyring's own error (a locked collection)."""

    def set_password(self, service: str, username: str, password: str) -> None:
        raise PasswordSetError("collection is locked")


class BrokenKeyring(MemoryKeyring):
    """A backend with a bug: its errors are not keyring errors and must not be hidden."""

    def get_password(self, service: str, username: str) -> str | None:
        raise ValueError("backend bug")


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    def no_prompt(*args: object, **kwargs: object) -> str:
        raise AssertionError("labjoin must never prompt")

    monkeypatch.setattr(builtins, "input", no_prompt)
    monkeypatch.setattr(getpass, "getpass", no_prompt)
    return isolate(tmp_path, monkeypatch)


@pytest.fixture
def use_keyring() -> Iterator[object]:
    """Restore the process-wide keyring after a test that installs its own backend."""
    previous = keyring.get_keyring()
    yield keyring.set_keyring
    keyring.set_keyring(previous)


@pytest.fixture
def memory_keyring(use_keyring: object) -> MemoryKeyring:
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    return backend


@pytest.fixture
def no_keyring(use_keyring: object) -> None:
    keyring.set_keyring(keyring.backends.fail.Keyring())


def test_settings_password_comes_first(
    memory_keyring: MemoryKeyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    memory_keyring.set_password("labjoin", "alice@db", "from-keyring")
    monkeypatch.setenv("DJ_PASS", "from-env")
    assert get_password("alice", "db", "postgresql", config=Config()) == "from-env"
    cfg = Config()
    cfg["database.password"] = "from-config"
    assert get_password("alice", "db", "mysql", config=cfg) == "from-config"


def test_keyring_is_used_by_service_and_user_at_host(memory_keyring: MemoryKeyring) -> None:
    memory_keyring.set_password("labjoin", "alice@db.lab.org", "kr")
    cfg = Config()
    assert get_password("alice", "db.lab.org", "postgresql", config=cfg) == "kr"
    assert get_password("bob", "db.lab.org", "postgresql", config=cfg) is None
    assert get_password("alice", "other", "postgresql", config=cfg) is None


def test_sqlite_never_has_a_password(memory_keyring: MemoryKeyring) -> None:
    cfg = Config()
    cfg["database.password"] = "pw"
    assert get_password("alice", "db", "sqlite", config=cfg) is None


def test_unavailable_keyring_is_skipped(no_keyring: None, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="labjoin.credentials"):
        assert get_password("alice", "db", "postgresql", config=Config()) is None
    assert "NoKeyringError" in caplog.text
    assert all(r.levelno == logging.DEBUG for r in caplog.records if r.name == "labjoin.credentials")


def test_other_keyring_failures_are_not_hidden(use_keyring: object) -> None:
    keyring.set_keyring(BrokenKeyring())
    with pytest.raises(ValueError, match="backend bug"):
        get_password("alice", "db", "postgresql", config=Config())


def test_store_password_into_the_keyring(memory_keyring: MemoryKeyring, isolated: Path) -> None:
    cfg = Config()
    assert store_password("alice", "db", "pw", config=cfg) == "keyring"
    assert memory_keyring.entries == {("labjoin", "alice@db"): "pw"}
    assert get_password("alice", "db", "mysql", config=cfg) == "pw"
    assert not credentials_path(cfg).exists()


@pytest.mark.parametrize("backend", [keyring.backends.fail.Keyring, LockedKeyring])
def test_store_password_without_a_keyring_writes_an_owner_only_file(
    use_keyring: object, isolated: Path, backend: type
) -> None:
    keyring.set_keyring(backend())
    cfg = Config()
    where = store_password("alice", "db", "pw", config=cfg)
    path = isolated / "home" / ".config" / "labjoin" / "credentials.json"
    assert where == str(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert json.loads(path.read_text()) == {"passwords": {"alice@db": "pw"}}
    assert get_password("alice", "db", "postgresql", config=cfg) == "pw"
    store_password("bob", "db", "pw2", config=cfg)
    store_password("alice", "db", "new", config=cfg)
    assert json.loads(path.read_text()) == {"passwords": {"alice@db": "new", "bob@db": "pw2"}}


def test_store_password_can_skip_the_keyring(memory_keyring: MemoryKeyring, isolated: Path) -> None:
    cfg = Config()
    where = store_password("alice", "db", "pw", config=cfg, use_keyring=False)
    assert where.endswith("credentials.json")
    assert memory_keyring.entries == {}
    assert get_password("alice", "db", "postgresql", config=cfg) == "pw"


def test_keyring_wins_over_the_credentials_file(memory_keyring: MemoryKeyring) -> None:
    cfg = Config()
    store_password("alice", "db", "file-pw", config=cfg, use_keyring=False)
    memory_keyring.set_password("labjoin", "alice@db", "kr-pw")
    assert get_password("alice", "db", "postgresql", config=cfg) == "kr-pw"


def test_credentials_file_location(isolated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert credentials_path(Config()) == isolated / "home" / ".config" / "labjoin" / "credentials.json"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(isolated / "xdg"))
    assert credentials_path(Config()) == isolated / "xdg" / "labjoin" / "credentials.json"
    monkeypatch.setenv("LABJOIN_HOME", str(isolated / "lj"))
    assert credentials_path(Config()) == isolated / "lj" / "credentials.json"


def test_credentials_file_without_home(monkeypatch: pytest.MonkeyPatch) -> None:
    forget_home(monkeypatch)
    with pytest.raises(ConfigError, match="LABJOIN_HOME"):
        credentials_path(Config())


def test_readable_credentials_file_is_reported(
    no_keyring: None, isolated: Path, caplog: pytest.LogCaptureFixture
) -> None:
    cfg = Config()
    path = Path(store_password("alice", "db", "pw", config=cfg))
    path.chmod(0o644)
    with caplog.at_level(logging.WARNING, logger="labjoin.credentials"):
        assert get_password("alice", "db", "mysql", config=cfg) == "pw"
    assert "chmod 600" in caplog.text


@pytest.mark.parametrize(
    ("text", "problem"), [("{nope", "not valid JSON"), ('{"alice@db": "pw"}', "passwords")]
)
def test_malformed_credentials_file(no_keyring: None, isolated: Path, text: str, problem: str) -> None:
    path = isolated / "home" / ".config" / "labjoin" / "credentials.json"
    path.parent.mkdir(parents=True)
    path.write_text(text)
    path.chmod(0o600)
    with pytest.raises(ConfigError, match=problem):
        get_password("alice", "db", "mysql", config=Config())


def test_unwritable_credentials_location(
    no_keyring: None, isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (isolated / "blocked").write_text("")
    monkeypatch.setenv("LABJOIN_HOME", str(isolated / "blocked" / "lj"))
    with pytest.raises(ConfigError, match="Cannot create"):
        store_password("alice", "db", "pw", config=Config())


def test_connection_url_gets_the_password_from_the_keyring(
    memory_keyring: MemoryKeyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    memory_keyring.set_password("labjoin", "alice@db", "p@ss")
    monkeypatch.setenv("DJ_HOST", "db:3307")
    monkeypatch.setenv("DJ_USER", "alice")
    url = make_url(resolve_connection_url(Config()))
    assert (url.drivername, url.username, url.password, url.host, url.port) == (
        "mysql+pymysql",
        "alice",
        "p@ss",
        "db",
        3307,
    )


def test_connection_url_takes_explicit_arguments(memory_keyring: MemoryKeyring) -> None:
    memory_keyring.set_password("labjoin", "bob@db2", "kr")
    assert resolve_connection_url(Config(), host="db2", user="bob", backend="postgresql") == (
        "postgresql+psycopg://bob:kr@db2:5432/postgres"
    )
    assert (
        make_url(resolve_connection_url(Config(), host="db2", user="bob", password="given")).password
        == "given"
    )


def test_connection_url_combines_a_url_with_dj_pass(
    no_keyring: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LABJOIN_DATABASE_URL", "postgresql://alice@db/lab")
    monkeypatch.setenv("DJ_PASS", "pw")
    assert resolve_connection_url(Config()) == "postgresql+psycopg://alice:pw@db/lab"


def test_connection_url_keeps_a_password_in_the_url(
    memory_keyring: MemoryKeyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    memory_keyring.set_password("labjoin", "alice@db", "other")
    monkeypatch.setenv("LABJOIN_DATABASE_URL", "mysql://alice:inurl@db")
    assert make_url(resolve_connection_url(Config())).password == "inurl"


def test_connection_url_without_any_password(no_keyring: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LABJOIN_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    assert resolve_connection_url(Config()) == "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def test_connection_url_for_sqlite_does_not_touch_the_keyring(use_keyring: object, isolated: Path) -> None:
    keyring.set_keyring(BrokenKeyring())  # would raise if asked
    url = f"sqlite:///{isolated / 'lab.sqlite'}"
    cfg = Config()
    cfg["database.url"] = url
    assert resolve_connection_url(cfg) == url


def test_missing_password_message_says_how_to_provide_one() -> None:
    error = missing_credentials_error("alice", "db.lab.org", "postgresql")
    assert isinstance(error, MissingCredentialsError)
    assert isinstance(error, ConfigError)
    message = str(error)
    for needle in [
        "'alice'",
        "db.lab.org",
        "never prompts",
        "DJ_PASS",
        "LABJOIN_DATABASE_URL",
        "config['database.password']",
        ".secrets/database.password",
        "labjoin config set-password --user alice --host db.lab.org",
        "'alice@db.lab.org'",
    ]:
        assert needle in message, needle


def test_missing_user_message() -> None:
    message = str(missing_credentials_error(None, "db", "mysql"))
    assert "No user name" in message
    assert "DJ_USER" in message
    assert "config['database.user']" in message
