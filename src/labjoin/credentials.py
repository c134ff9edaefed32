"""Database passwords: from the settings, the OS keyring, or labjoin's owner-only credentials file.

labjoin never prompts. :func:`get_password` looks, in order, at

1. the settings (``database.password``: ``DJ_PASS``, config files, ``.secrets/``, runtime);
2. the OS keyring, service ``'labjoin'``, username ``'<user>@<host>'``, when one is usable;
3. the credentials file :func:`store_password` writes when there is no keyring
   (``$LABJOIN_HOME/credentials.json`` or ``~/.config/labjoin/credentials.json``, mode 0600);

and returns None when none has a password. A keyring that is missing or not usable (a headless
JupyterHub server without a Secret Service) is skipped, never an error.

The connection layer calls :func:`resolve_connection_url`, which is
:func:`labjoin.settings.resolve_database_url` with the password filled in from here, and raises
:func:`missing_credentials_error` when the server rejects a login without a password.
"""

from __future__ import annotations

import json
import logging
import os
import stat
from pathlib import Path

from labjoin.errors import ConfigError, MissingCredentialsError
from labjoin.settings import Config, resolve_backend, resolve_database_url
from labjoin.settings.configuration import config_or_default
from labjoin.settings.sources import home_dir, read_json_object, write_file

__all__ = [
    "CREDENTIALS_FILE",
    "KEYRING_SERVICE",
    "credentials_path",
    "get_password",
    "keyring_username",
    "missing_credentials_error",
    "resolve_connection_url",
    "store_password",
]

log = logging.getLogger("labjoin.credentials")

KEYRING_SERVICE = "labjoin"
CREDENTIALS_FILE = "credentials.json"


def keyring_username(user: str, host: str) -> str:
    """The keyring entry name for an account: ``'<user>@<host>'``."""
    return f"{user}@{host}"


def credentials_path(cfg: Config | None = None) -> Path:
    """Where :func:`store_password` keeps passwords when there is no keyring.

    ``$LABJOIN_HOME/credentials.json`` when ``home`` is set, else
    ``$XDG_CONFIG_HOME/labjoin/credentials.json`` (default ``~/.config/labjoin/``).
    """
    cfg = config_or_default(cfg)
    if cfg["home"]:
        return Path(cfg["home"]).expanduser() / CREDENTIALS_FILE
    config_home = cfg.environ.get("XDG_CONFIG_HOME", "")
    if os.path.isabs(config_home):
        return Path(config_home) / "labjoin" / CREDENTIALS_FILE
    home = home_dir(cfg.environ)
    if home is None:
        raise ConfigError("No place for a credentials file: HOME is unset. Set LABJOIN_HOME.")
    return home / ".config" / "labjoin" / CREDENTIALS_FILE


def _keyring_get(username: str) -> str | None:
    try:
        import keyring
        from keyring.errors import KeyringError
    except ImportError:
        log.debug("The keyring package is not installed; skipping the OS keyring.")
        return None
    try:
        return keyring.get_password(KEYRING_SERVICE, username)
    except KeyringError as err:
        log.debug("The OS keyring is not usable (%s: %s); skipping it.", type(err).__name__, err)
        return None


def _keyring_set(username: str, password: str) -> bool:
    try:
        import keyring
        from keyring.errors import KeyringError
    except ImportError:
        log.debug("The keyring package is not installed; using the credentials file.")
        return False
    try:
        keyring.set_password(KEYRING_SERVICE, username, password)
    except KeyringError as err:
        log.debug(
            "The OS keyring is not usable (%s: %s); using the credentials file.", type(err).__name__, err
        )
        return False
    return True


def _read_file(path: Path) -> dict[str, str]:
    if not path.exists():
        return {}
    if path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        log.warning("Credentials file %s is readable by other users; run: chmod 600 %s", path, path)
    passwords = read_json_object(path, "Credentials file").get("passwords")
    if not isinstance(passwords, dict):
        raise ConfigError(f'Credentials file {path} must hold {{"passwords": {{"user@host": "..."}}}}.')
    return passwords


def get_password(user: str | None, host: str, backend: str, *, config: Config | None = None) -> str | None:
    """The password for ``user`` on ``host``, or None if none is known (never prompts).

    Parameters
    ----------
    user, host : str
        The account, as in the URL being opened (host without port).
    backend : str
        ``'sqlite'`` (never has a password), ``'postgresql'`` or ``'mysql'``.
    config : Config, optional
        Settings to consult; the global ``labjoin.settings.config`` by default.
    """
    if backend == "sqlite":
        return None
    cfg = config_or_default(config)
    password = cfg["database.password"]
    if password is not None:
        return password
    if user is None:  # keyring entries and the credentials file are per user
        return None
    username = keyring_username(user, host)
    password = _keyring_get(username)
    if password is not None:
        return password
    return _read_file(credentials_path(cfg)).get(username)


def store_password(
    user: str, host: str, password: str, *, config: Config | None = None, use_keyring: bool = True
) -> str:
    """Remember a password for ``user`` on ``host``; return where: ``'keyring'`` or a file path.

    The OS keyring is used when it is usable (and ``use_keyring``); otherwise the password goes
    into the credentials file (:func:`credentials_path`), created owner-only (0600) in an
    owner-only directory.
    """
    username = keyring_username(user, host)
    if use_keyring and _keyring_set(username, password):
        return "keyring"
    path = credentials_path(config_or_default(config))
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as err:
        raise ConfigError(f"Cannot create {path.parent} for the credentials file: {err.strerror}.") from err
    passwords = _read_file(path)
    passwords[username] = password
    write_file(path, json.dumps({"passwords": passwords}, indent=4) + "\n", private=True)
    return str(path)


def resolve_connection_url(
    config: Config | None = None,
    *,
    host: str | None = None,
    user: str | None = None,
    password: str | None = None,
    port: int | None = None,
    backend: str | None = None,
) -> str:
    """The URL to connect with: :func:`~labjoin.settings.resolve_database_url` (same arguments)
    plus, when it has no password, one from :func:`get_password`."""
    from sqlalchemy.engine import make_url

    cfg = config_or_default(config)
    explicit = {"host": host, "user": user, "password": password, "port": port, "backend": backend}
    url = make_url(resolve_database_url(cfg, **explicit))
    backend = resolve_backend(cfg, host=host, backend=backend)
    if backend != "sqlite" and url.password is None and url.host:
        found = get_password(url.username, url.host, backend, config=cfg)
        if found is not None:
            url = url.set(password=found)
    return url.render_as_string(hide_password=False)


def missing_credentials_error(user: str | None, host: str, backend: str) -> MissingCredentialsError:
    """The error to raise when a server needs a user or password labjoin does not have."""
    if user is None:
        return MissingCredentialsError(
            f"No user name for the {backend} server {host}. labjoin never prompts; set one with "
            "DJ_USER=<name>, config['database.user'] = '<name>', or in LABJOIN_DATABASE_URL "
            f"({backend}://<name>@{host})."
        )
    return MissingCredentialsError(
        f"No password for {user!r} on the {backend} server {host}. labjoin never prompts; give it "
        "in one of these ways:\n"
        "  - environment: DJ_PASS=<password>, or inside LABJOIN_DATABASE_URL\n"
        "  - config: config['database.password'] = '<password>', or a file .secrets/database.password "
        "(chmod 600) next to datajoint.json\n"
        f"  - keyring: labjoin config set-password --user {user} --host {host} (OS keyring service "
        f"'{KEYRING_SERVICE}', username '{keyring_username(user, host)}'; without a keyring it goes "
        "to an owner-only credentials file)"
    )
