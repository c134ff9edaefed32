"""Where settings come from: environment variables, JSON files and secret directories.

Each reader returns a *layer*: ``{key: (value, source)}`` with values already validated, where
``source`` is ``'env:NAME'`` or ``'file:/absolute/path'``. :class:`~labjoin.settings.Config`
stacks the layers in precedence order; nothing here knows about that order.

Reading is cheap (a few ``stat`` calls and small JSON files) and never writes anything;
:func:`write_file` is the one writer, used by ``Config.save`` and the credentials file.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from labjoin.errors import ConfigError
from labjoin.settings.table import ENV_VARS, PREFIXES, is_known, lookup

__all__ = [
    "GLOBAL_CONFIG",
    "LOCAL_CONFIG",
    "PROJECT_CONFIG",
    "RUN_SECRETS",
    "Layer",
    "find_project_config",
    "flatten",
    "home_dir",
    "read_env",
    "read_json",
    "read_json_object",
    "read_secrets",
    "write_file",
]

log = logging.getLogger("labjoin.settings")

Layer = dict[str, tuple[Any, str]]

PROJECT_CONFIG = "datajoint.json"  # DataJoint 2.x, searched upwards from the working directory
LOCAL_CONFIG = "dj_local_conf.json"  # DataJoint 0.14, in the working directory
GLOBAL_CONFIG = ".datajoint_config.json"  # DataJoint 0.14, in the home directory
SECRETS_DIR = ".secrets"  # next to datajoint.json
RUN_SECRETS = Path("/run/secrets/datajoint")  # Docker and Kubernetes secret mounts


def home_dir(environ: Mapping[str, str]) -> Path | None:
    """The user's home directory, or None when it cannot be known.

    ``HOME`` first; without it the password database (JupyterHub spawners and cron jobs may run
    with HOME unset). Returns None rather than raising, so that callers can skip home-based
    files and say what to configure instead.
    """
    home = environ.get("HOME") or environ.get("USERPROFILE")
    if home:
        return Path(home)
    try:
        import pwd
    except ImportError:  # Windows without USERPROFILE
        return None
    try:
        return Path(pwd.getpwuid(os.getuid()).pw_dir)
    except KeyError:  # a container uid with no passwd entry
        return None


def find_project_config(start: Path) -> Path | None:
    """Search ``start`` and its parents for datajoint.json, stopping at a .git or .hg boundary."""
    for directory in (start, *start.parents):
        candidate = directory / PROJECT_CONFIG
        if candidate.is_file():
            return candidate
        if (directory / ".git").exists() or (directory / ".hg").exists():
            return None
    return None


def flatten(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Turn nested groups (2.x: ``{"database": {"host": ...}}``) into dotted keys (0.14).

    Dict-valued settings (``stores``, ``custom``) stay whole; a dict under a group name is
    descended into; anything else is kept under its own (possibly unknown) key.
    """
    flat: dict[str, Any] = {}
    for name, value in data.items():
        key = prefix + name
        if not is_known(key) and key in PREFIXES and isinstance(value, Mapping):
            flat.update(flatten(value, key + "."))
        else:
            flat[key] = value
    return flat


def _validated(flat: Mapping[str, Any], source: str) -> Layer:
    layer: Layer = {}
    for key, value in flat.items():
        if is_known(key):
            layer[key] = (lookup(key).validate(value, source), source)
        else:
            # Configs written for other DataJoint versions carry keys labjoin has no use for;
            # refusing them would break shared config files, so keep them and say so.
            log.warning("Unknown setting %r in %s is kept but not used.", key, source[5:])
            layer[key] = (value, source)
    return layer


def read_json_object(path: Path, what: str = "Config file") -> dict[str, Any]:
    """The JSON object in ``path``; ConfigError naming ``what`` and the path if it is not one."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise ConfigError(
            f"Cannot read {what.lower()} {path}: {err.strerror}. Fix its permissions or remove it."
        ) from err
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise ConfigError(
            f"{what} {path} is not valid JSON: {err.msg} at line {err.lineno}, column {err.colno}."
        ) from None
    if not isinstance(data, dict):
        raise ConfigError(f"{what} {path} must hold a JSON object, not {type(data).__name__}.")
    return data


def read_json(path: Path) -> Layer:
    """Read a config file (flat dotted keys, nested groups, or a mix)."""
    return _validated(flatten(read_json_object(path)), f"file:{path}")


def read_env(environ: Mapping[str, str]) -> Layer:
    """The settings given by environment variables. Empty variables count as unset."""
    layer: Layer = {}
    for name, setting in ENV_VARS.items():
        text = environ.get(name)
        if text and setting.key not in layer:
            source = f"env:{name}"
            layer[setting.key] = (setting.parse(text, source), source)
    return layer


def read_secrets(directory: Path) -> tuple[Layer, dict[str, dict[str, str]]]:
    """Read a secrets directory: one file per setting, named by its key.

    Returns the layer and, separately, store credentials from files named
    ``stores.<store>.<attribute>``, which fill attributes of a store defined elsewhere.
    """
    layer: Layer = {}
    store_secrets: dict[str, dict[str, str]] = {}
    try:
        entries = sorted(p for p in directory.iterdir() if p.is_file() and not p.name.startswith("."))
    except OSError as err:
        raise ConfigError(f"Cannot list secrets directory {directory}: {err.strerror}.") from err
    for path in entries:
        source = f"file:{path}"
        try:
            text = path.read_text(encoding="utf-8").rstrip("\r\n")
        except OSError as err:
            raise ConfigError(f"Cannot read secret file {path}: {err.strerror}.") from err
        if not text:
            continue
        name = path.name
        parts = name.split(".")
        if parts[0] == "stores" and len(parts) == 3:
            store_secrets.setdefault(parts[1], {})[parts[2]] = text
        elif is_known(name):
            layer[name] = (lookup(name).parse(text, source), source)
        else:
            log.warning("Unknown setting %r (secret file %s) is kept but not used.", name, path)
            layer[name] = (text, source)
    return layer, store_secrets


def write_file(path: Path, text: str, *, private: bool) -> None:
    """Write ``text`` to ``path`` atomically; ``private`` makes it owner-only (0600).

    The file is created with its final mode (never world-readable for a moment) in the same
    directory and then renamed over ``path``, so a crash leaves the old file intact.
    """
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o666)
    except OSError as err:
        raise ConfigError(f"Cannot write {path}: {err.strerror}. Choose a writable location.") from err
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            if private:
                os.fchmod(handle.fileno(), 0o600)  # a left-over tmp file keeps its old mode
            handle.write(text)
        os.replace(tmp, path)
    except OSError as err:
        tmp.unlink(missing_ok=True)
        raise ConfigError(f"Cannot write {path}: {err.strerror}. Choose a writable location.") from err
