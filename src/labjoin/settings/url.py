"""Which database to open: the effective backend and SQLAlchemy URL derived from the settings.

The rules, in order:

1. ``database.url`` (``LABJOIN_DATABASE_URL``) when set;
2. otherwise a server when ``database.backend`` names one, or when ``database.host`` is
   configured anywhere (the DataJoint habit ``DJ_HOST=...`` means MySQL unless ``DJ_BACKEND``
   says ``postgresql``), built from host, port, user, password and, for PostgreSQL,
   ``database.name``;
3. otherwise SQLite at :func:`sqlite_path`.

Explicit arguments (``dj.conn(host=..., user=..., password=..., port=..., backend=...)``)
replace the matching parts of that result; an explicit host always selects a server.
"""

from __future__ import annotations

import os
from pathlib import Path

from labjoin.errors import ConfigError
from labjoin.settings.configuration import Config, config_or_default
from labjoin.settings.kinds import URL_BACKENDS
from labjoin.settings.sources import home_dir
from labjoin.settings.table import lookup

__all__ = [
    "DEFAULT_PORTS",
    "DRIVERS",
    "SQLITE_FILE",
    "resolve_backend",
    "resolve_database_url",
    "split_host_port",
    "sqlite_path",
]

DEFAULT_PORTS = {"postgresql": 5432, "mysql": 3306}
# Drivers labjoin installs; SQLAlchemy's own defaults (psycopg2, mysqlclient) may be missing.
DRIVERS = {"sqlite": "sqlite", "postgresql": "postgresql+psycopg", "mysql": "mysql+pymysql"}
SQLITE_FILE = "labjoin.sqlite"
_FIX = "Set LABJOIN_DATABASE_URL (e.g. sqlite:////data/lab.sqlite) or LABJOIN_HOME to a writable directory."


def resolve_backend(cfg: Config | None = None, *, host: str | None = None, backend: str | None = None) -> str:
    """The backend the settings select: ``'sqlite'``, ``'postgresql'`` or ``'mysql'``.

    ``host`` and ``backend`` are explicit arguments (``dj.conn(host=...)``) and win over the
    settings; an explicit host always means a server.
    """
    cfg = config_or_default(cfg)
    if backend is not None:
        return lookup("database.backend").validate(backend, "the backend argument")
    url = cfg["database.url"]
    for configured in (_url_backend(url) if url else None, cfg["database.backend"]):
        if configured and not (host is not None and configured == "sqlite"):
            return configured
    if host is not None or cfg.is_configured("database.host"):
        return "mysql"
    return "sqlite"


def _url_backend(url: str) -> str:
    return URL_BACKENDS[url.split(":", 1)[0].split("+", 1)[0].lower()]


def split_host_port(host: str) -> tuple[str, int | None]:
    """Split ``'host:port'`` (DataJoint accepts a port in the host), IPv6 literals included."""
    if host.startswith("["):  # [::1]:5432
        address, _, rest = host[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
    elif host.count(":") == 1:
        address, port = host.split(":")
    else:  # a name, an IPv4 address or a bare IPv6 address
        return host, None
    if not port:
        return address, None
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(f"Invalid port {port!r} in database.host {host!r}; use host:port with a number.")
    return address, int(port)


def resolve_database_url(
    cfg: Config | None = None,
    *,
    host: str | None = None,
    user: str | None = None,
    password: str | None = None,
    port: int | None = None,
    backend: str | None = None,
) -> str:
    """The effective SQLAlchemy URL, password included (see the module docstring for the rules).

    Bare ``postgresql://`` and ``mysql://`` URLs get the drivers labjoin installs
    (``postgresql+psycopg``, ``mysql+pymysql``). For the default SQLite file the directory is
    created.

    Parameters
    ----------
    cfg : Config, optional
        Settings to use; the process-wide ``config`` by default.
    host, user, password, port, backend : optional
        Explicit values, as given to ``dj.conn(...)``; they replace the configured ones. A
        ``host`` may carry a port (``'db:3307'``), which then wins over ``port``.

    Raises
    ------
    ConfigError
        If ``database.url`` or an argument is invalid, or the default SQLite directory cannot
        be created.
    """
    from sqlalchemy.engine import URL, make_url
    from sqlalchemy.exc import ArgumentError

    cfg = config_or_default(cfg)
    backend = resolve_backend(cfg, host=host, backend=backend)
    configured = cfg["database.url"]
    if configured and _url_backend(configured) == backend:
        try:
            url = make_url(configured)
        except (ArgumentError, ValueError) as err:  # ValueError: a port that is not a number
            raise ConfigError(
                f"database.url (from {cfg.source('database.url')}) does not parse: {err}."
            ) from None
        if "+" not in url.drivername or url.drivername.startswith(("postgres+", "mariadb+")):
            driver = url.drivername.partition("+")[2]
            url = url.set(drivername=f"{backend}+{driver}" if driver else DRIVERS[backend])
    elif backend == "sqlite":
        path = sqlite_path(cfg)
        url = URL.create("sqlite", database=None if path is None else str(path))
    else:
        config_host, host_port = split_host_port(cfg["database.host"])
        url = URL.create(
            DRIVERS[backend],
            username=cfg["database.user"],
            password=cfg["database.password"],
            host=config_host,
            port=host_port or cfg["database.port"] or DEFAULT_PORTS[backend],
            database=cfg["database.name"] if backend == "postgresql" else None,
        )
    if backend != "sqlite":
        if port is not None:
            url = url.set(port=lookup("database.port").validate(port, "the port argument"))
        if host is not None:
            address, host_port = split_host_port(host)
            url = url.set(host=address, port=host_port or url.port)
        if user is not None:
            url = url.set(username=user)
        if password is not None:
            url = url.set(password=password)
    return url.render_as_string(hide_password=False)


def sqlite_path(cfg: Config | None = None) -> Path | None:
    """The SQLite database file the settings select; None for an in-memory database.

    ``sqlite.path`` when set (relative paths are taken from the directory of the config file
    that sets them, else the working directory); otherwise ``$LABJOIN_HOME/labjoin.sqlite``;
    otherwise ``$XDG_DATA_HOME/labjoin/labjoin.sqlite``, by default
    ``~/.local/share/labjoin/labjoin.sqlite``. The directory of a derived (not explicitly
    configured) location is created.

    Raises
    ------
    ConfigError
        If the default directory cannot be created or written (read-only or unknown home).
    """
    cfg = config_or_default(cfg)
    explicit = cfg["sqlite.path"]
    if explicit:
        if explicit == ":memory:":
            return None
        path = Path(explicit).expanduser()
        source = cfg.source("sqlite.path")
        if not path.is_absolute() and source.startswith("file:"):
            path = Path(source[5:]).parent / path
        return Path(os.path.abspath(path))
    if cfg["home"]:
        directory = Path(cfg["home"]).expanduser()
    else:
        data_home = cfg.environ.get("XDG_DATA_HOME", "")
        if os.path.isabs(data_home):
            directory = Path(data_home) / "labjoin"
        else:
            home = home_dir(cfg.environ)
            if home is None:
                raise ConfigError(f"No place for the default SQLite database: HOME is unset. {_FIX}")
            directory = home / ".local" / "share" / "labjoin"
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ConfigError(
            f"Cannot create {directory} for the default SQLite database ({err.strerror}). {_FIX}"
        ) from err
    if not os.access(directory, os.W_OK | os.X_OK):
        raise ConfigError(
            f"{directory} is not writable, so the default SQLite database cannot live there. {_FIX}"
        )
    return Path(os.path.abspath(directory / SQLITE_FILE))
