"""Shared set-up for the settings and credentials tests (not a test module).

Every test gets an environment with no labjoin or DataJoint variables, a private HOME and a
project directory (with a .git boundary) as working directory, so that no file on the machine
running the tests can leak in.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from labjoin.settings import configuration
from labjoin.settings.table import ENV_VARS


def isolate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Clean the environment; return ``tmp_path``, which holds ``home/`` and ``project/``."""
    for name in [*ENV_VARS, "XDG_DATA_HOME", "XDG_CONFIG_HOME", "USERPROFILE"]:
        monkeypatch.delenv(name, raising=False)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    project = tmp_path / "project"
    (project / ".git").mkdir(parents=True)
    monkeypatch.chdir(project)
    # A machine running the tests may have real Docker secrets mounted; never read them.
    monkeypatch.setattr(configuration, "RUN_SECRETS", tmp_path / "run-secrets")
    return tmp_path


def forget_home(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the home directory unknown: HOME unset and no passwd entry (a bare container uid)."""
    import pwd

    def no_entry(uid: int) -> object:
        raise KeyError(uid)

    monkeypatch.delenv("HOME")
    monkeypatch.setattr(pwd, "getpwuid", no_entry)


def write_json(path: Path, data: dict) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))
    return path


def write_secret(directory: Path, name: str, text: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / name).write_text(text + "\n")
    return directory / name
