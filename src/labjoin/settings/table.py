"""The table of every setting: key, kind, default, environment variables, description.

This table is the one place a setting is defined. The :class:`~labjoin.settings.Config` object,
the environment-variable mapping, the secret-file names, ``describe()``, the reference table in
``docs/configuration.md`` and the test that keeps those docs complete are all derived from it.
"""

from __future__ import annotations

import copy
import difflib
from dataclasses import dataclass
from typing import Any

from labjoin.errors import ConfigError, UnknownSettingError
from labjoin.settings.kinds import (
    MASK,
    SECRET_FIELDS,
    Boolean,
    Dictionary,
    Integer,
    Kind,
    Nullable,
    Number,
    OneOf,
    Text,
    Union,
    Url,
)

__all__ = [
    "ENV_VARS",
    "GROUPS",
    "PREFIXES",
    "SETTINGS",
    "Setting",
    "is_known",
    "lookup",
    "masked",
    "reference_table",
    "unknown_key_message",
]


@dataclass(frozen=True)
class Setting:
    """One configurable value.

    Attributes
    ----------
    key : str
        Dotted name, as in ``config['database.host']``.
    kind : Kind
        What values it accepts (see :mod:`labjoin.settings.kinds`).
    default : Any
        Value when no source sets it. Dicts are copied per :class:`Config`.
    description : str
        One sentence for the docs and ``labjoin config``.
    env : tuple of str
        Environment variables that set it, first found wins.
    origin : str
        Where the setting comes from: ``"0.14"``, ``"2.x"``, ``"0.14, 2.x"`` or ``"labjoin"``.
    secret : bool
        Masked in ``describe()`` and ``repr``; files holding it are written owner-only.
    """

    key: str
    kind: Kind
    default: Any
    description: str
    env: tuple[str, ...] = ()
    origin: str = "0.14, 2.x"
    secret: bool = False

    def validate(self, value: Any, origin: str = "set") -> Any:
        """Return ``value`` normalised for this setting, or raise ConfigError naming the problem."""
        try:
            return self.kind.validate(value)
        except ValueError as err:
            raise ConfigError(
                f"Invalid value for setting {self.key!r}: {self._show(value)} ({type(value).__name__}),"
                f" {err} (from {origin})."
            ) from None

    def parse(self, text: str, origin: str) -> Any:
        """Parse the text of an environment variable or secret file for this setting."""
        try:
            return self.kind.parse(text)
        except ValueError as err:
            raise ConfigError(
                f"Invalid value for setting {self.key!r} in {origin}: {self._show(text)}, {err}."
                f" Fix or remove {origin.split(':', 1)[-1]}."
            ) from None

    def masked(self, value: Any) -> Any:
        """``value`` as it may be shown on screen."""
        if self.secret and value is not None:
            return MASK
        return self.kind.mask(value)

    def fresh_default(self) -> Any:
        """The default, copied so that mutating it cannot leak into other configs."""
        return copy.deepcopy(self.default)

    def _show(self, value: Any) -> str:
        return MASK if self.secret else repr(value)


def _jobs(name: str, kind: Kind, default: Any, description: str) -> Setting:
    return Setting(f"jobs.{name}", kind, default, description, (f"DJ_JOBS_{name.upper()}",), "2.x")


_BOOL, _TEXT, _NTEXT = Boolean(), Text(), Nullable(Text())

SETTINGS: tuple[Setting, ...] = (
    # -- where the database is --------------------------------------------------------------
    Setting("database.url", Nullable(Url()), None,
            "SQLAlchemy-style URL of the database (sqlite:///path, postgresql://user@host:port/dbname,"
            " mysql://user@host:port); when set it wins over backend, host, port and name.",
            ("LABJOIN_DATABASE_URL",), "labjoin"),
    Setting("database.backend",
            Nullable(OneOf("sqlite", "postgresql", "mysql", aliases={"postgres": "postgresql",
                                                                    "mariadb": "mysql"})),
            None,
            "Database kind; None chooses: SQLite unless database.host is configured, then MySQL.",
            ("DJ_BACKEND",), "2.x"),
    Setting("database.host", _TEXT, "localhost",
            "Server host name, optionally host:port; configuring it (anywhere) selects a server.",
            ("DJ_HOST",)),
    Setting("database.port", Nullable(Integer(1, 65535)), None,
            "Server port; None means the backend's default (3306 MySQL, 5432 PostgreSQL).",
            ("DJ_PORT",)),
    Setting("database.user", _NTEXT, None, "User name on the server.", ("DJ_USER",)),
    Setting("database.password", _NTEXT, None,
            "Password on the server; better kept in the environment, a .secrets file or the keyring.",
            ("DJ_PASS",), secret=True),
    Setting("database.name", _TEXT, "postgres",
            "PostgreSQL database that holds the schemas (MySQL has no such level).",
            ("DJ_DATABASE_NAME",), "2.x"),
    Setting("database.reconnect", _BOOL, True,
            "Reconnect once when the connection drops outside a transaction."),
    Setting("database.use_tls", Nullable(Union(Boolean(), Dictionary())), None,
            "TLS: True requires it, False disables it, None prefers it; a dict gives driver SSL options.",
            ("DJ_USE_TLS",)),
    Setting("database.create_tables", _BOOL, True,
            "Declare missing tables when a schema decorates a class.", ("DJ_CREATE_TABLES",), "2.x"),
    Setting("connection.init_function", _NTEXT, None,
            "SQL statement run on every new connection.", origin="0.14"),
    Setting("connection.charset", _TEXT, "", "Character set of MySQL connections ('' = driver default)."),
    # -- the embedded SQLite default -----------------------------------------------------------
    Setting("home", _NTEXT, None,
            "labjoin's own directory: holds labjoin.sqlite and, without a keyring, credentials.json.",
            ("LABJOIN_HOME",), "labjoin"),
    Setting("sqlite.path", _NTEXT, None,
            "SQLite database file (':memory:' for a throw-away one); relative paths are relative to"
            " the config file that sets them.",
            ("LABJOIN_SQLITE_PATH",), "labjoin"),
    Setting("sqlite.busy_timeout", Number(minimum=0), 30.0,
            "Seconds a SQLite connection waits for another process's lock before failing.",
            origin="labjoin"),
    # -- behaviour -----------------------------------------------------------------------------
    Setting("loglevel",
            OneOf("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL", aliases={"warn": "WARNING"}),
            "INFO", "Level of the 'labjoin' logger.", ("DJ_LOG_LEVEL",)),
    Setting("safemode", _BOOL, True,
            "Ask for confirmation before deleting rows or dropping tables.",
            ("DJ_SAFEMODE",)),
    Setting("fetch_format", OneOf("array", "frame"), "array",
            "What fetch() returns by default: a NumPy record array or a pandas DataFrame.",
            origin="0.14"),
    Setting("join.semantic_check", _BOOL, False,
            "Refuse joins on namesake attributes of different lineage (DataJoint 2.x semantics).",
            origin="labjoin"),
    Setting("blob.compress", OneOf("auto", True, False), "auto",
            "Blob compression: 'auto' as DataJoint (blobs over 1000 bytes, when that makes them"
            " smaller), True = every blob that shrinks, False = never.",
            origin="labjoin"),
    Setting("enable_python_native_blobs", _BOOL, True,
            "Allow Python-only structures (dict, list, ...) in blobs (dj0 header).", origin="0.14"),
    Setting("add_hidden_timestamp", _BOOL, False,
            "Add a hidden insertion-timestamp column to newly declared tables.", origin="0.14"),
    Setting("filepath_checksum_size_limit", Nullable(Integer(minimum=0)), None,
            "Files larger than this many bytes get no checksum in filepath attributes.",
            origin="0.14"),
    # -- display -------------------------------------------------------------------------------
    Setting("display.limit", Integer(minimum=1), 12, "Rows shown when a query is printed."),
    Setting("display.width", Integer(minimum=1), 14, "Characters per column when a query is printed."),
    Setting("display.show_tuple_count", _BOOL, True, "Show the row count under a printed query."),
    Setting("display.diagram_direction", OneOf("LR", "TB"), "LR",
            "Diagram layout: left to right or top to bottom.", ("DJ_DIAGRAM_DIRECTION",), "2.x"),
    # -- storage -------------------------------------------------------------------------------
    Setting("stores", Dictionary(), {},
            "Object stores by name: {name: {protocol, location, ...}}; 2.x also 'default'.",
            ("DJ_STORES",)),
    Setting("cache", _NTEXT, None, "Local directory caching blobs fetched from stores.", origin="0.14"),
    Setting("query_cache", _NTEXT, None,
            "Directory for cached query results (conn.set_query_cache).", ("DJ_QUERY_CACHE",)),
    Setting("download_path", _TEXT, ".", "Directory attachments and filepaths are fetched into.",
            ("DJ_DOWNLOAD_PATH",)),
    # -- jobs (DataJoint 2.x) ------------------------------------------------------------------
    _jobs("auto_refresh", _BOOL, True, "populate(reserve_jobs=True) refreshes the job queue first."),
    _jobs("keep_completed", _BOOL, False, "Keep finished jobs as 'success' rows instead of deleting them."),
    _jobs("stale_timeout", Integer(minimum=0), 3600,
          "Seconds after which a pending job whose key vanished is removed."),
    _jobs("default_priority", Integer(minimum=0), 5, "Priority of new jobs (lower runs first)."),
    _jobs("version_method", Nullable(OneOf("git", "none")), None,
          "How a job records the code version: 'git' (short commit hash), 'none' or None."),
    _jobs("allow_new_pk_fields_in_computed_tables", _BOOL, False,
          "Allow computed tables to add primary-key attributes beyond their foreign keys."),
    _jobs("add_job_metadata", _BOOL, False,
          "Add hidden _job_* columns (start time, duration, version) to computed tables."),
    # -- free-form -----------------------------------------------------------------------------
    Setting("custom", Dictionary(), {},
            "Your pipeline's own settings (DataJoint convention), e.g. {'database.prefix': 'lab_'}."),
)  # fmt: skip

_BY_KEY: dict[str, Setting] = {s.key: s for s in SETTINGS}
# Every proper prefix of a dotted key ('database', 'jobs', ...): the nested groups of a JSON file
# and of attribute access (config.database.host).
PREFIXES: frozenset[str] = frozenset(
    ".".join(parts[:i]) for parts in (s.key.split(".") for s in SETTINGS) for i in range(1, len(parts))
)
GROUPS: frozenset[str] = frozenset(p for p in PREFIXES if "." not in p)
ENV_VARS: dict[str, Setting] = {name: s for s in SETTINGS for name in s.env}


def lookup(key: str) -> Setting:
    """Return the setting called ``key``, or raise UnknownSettingError with close names."""
    try:
        return _BY_KEY[key]
    except KeyError:
        raise UnknownSettingError(unknown_key_message(key)) from None


def is_known(key: str) -> bool:
    """Whether ``key`` names a setting in the table."""
    return key in _BY_KEY


def unknown_key_message(key: str) -> str:
    """'No setting named ...' with did-you-mean suggestions."""
    if key in PREFIXES:
        members = [k for k in _BY_KEY if k.startswith(key + ".")]
        return (
            f"{key!r} is a group of settings ({', '.join(members)}); set one of them, "
            f"e.g. config[{members[0]!r}], or give a dict of them."
        )
    suggestions = difflib.get_close_matches(key, _BY_KEY, n=3, cutoff=0.6)
    # 'host' or 'limit' alone: match the last part of the dotted names too.
    tail = key.rsplit(".", 1)[-1]
    suggestions += [k for k in _BY_KEY if k.rsplit(".", 1)[-1] == tail and k not in suggestions]
    message = f"No setting named {key!r}."
    if suggestions:
        message += " Did you mean " + " or ".join(repr(s) for s in suggestions[:3]) + "?"
    return message + " Put your own values under config['custom']; docs/configuration.md lists all."


def masked(key: str, value: Any) -> Any:
    """``value`` of ``key`` as it may be shown on screen; unknown keys are masked by name too."""
    if key in _BY_KEY:
        return _BY_KEY[key].masked(value)
    if key.rsplit(".", 1)[-1].lower() in SECRET_FIELDS and value is not None:
        return MASK
    return _ANY_DICT.mask(value)


_ANY_DICT = Dictionary()


def _cell(value: Any) -> str:
    return "`" + repr(value) + "`"


def reference_table() -> str:
    """The Markdown reference table of all settings, as it appears in docs/configuration.md."""
    lines = [
        "| Setting | Type | Default | Environment | From | Description |",
        "|---|---|---|---|---|---|",
    ]
    for s in SETTINGS:
        env = ", ".join(f"`{e}`" for e in s.env) or "-"
        kind = s.kind.label.replace("|", "\\|")
        lines.append(f"| `{s.key}` | {kind} | {_cell(s.default)} | {env} | {s.origin} | {s.description} |")
    return "\n".join(lines) + "\n"
