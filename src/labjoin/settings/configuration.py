"""The :class:`Config` object: layered settings with DataJoint 0.14 and 2.x access styles.

Sources, highest precedence first:

1. runtime: ``config[key] = value``, ``config.load(path)``, ``with config(...)``
2. environment variables (``DJ_HOST``, ``LABJOIN_DATABASE_URL``, ...)
3. ``datajoint.json``, searched from the working directory upwards to a .git/.hg boundary
4. secret files: ``.secrets/`` next to that datajoint.json, then ``/run/secrets/datajoint/``
5. ``./dj_local_conf.json``
6. ``~/.datajoint_config.json``
7. defaults from :data:`~labjoin.settings.table.SETTINGS`

Sources 2-6 are read on first use, not at import, and again after :meth:`Config.reload`.
"""

from __future__ import annotations

import copy
import json
import logging
import os
import pprint
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple

from labjoin.errors import ConfigError, UnknownSettingError
from labjoin.settings.sources import (
    GLOBAL_CONFIG,
    LOCAL_CONFIG,
    RUN_SECRETS,
    SECRETS_DIR,
    Layer,
    find_project_config,
    flatten,
    home_dir,
    read_env,
    read_json,
    read_secrets,
    write_file,
)
from labjoin.settings.table import PREFIXES, SETTINGS, is_known, lookup, masked, unknown_key_message

__all__ = ["Config", "SettingRow", "config", "config_or_default"]

log = logging.getLogger("labjoin.settings")


class SettingRow(NamedTuple):
    """One line of :meth:`Config.describe`: the value is masked when it is a credential."""

    key: str
    value: Any
    source: str


class Config(Mapping[str, Any]):
    """Layered labjoin settings.

    Parameters
    ----------
    files : bool
        Read config files and secret directories. ``False`` gives a config made only of
        defaults, environment variables and what you set.
    environ : Mapping of str to str, optional
        Environment to read; ``os.environ`` by default. Pass ``{}`` to ignore the environment.
    cwd : path, optional
        Directory where datajoint.json's search and dj_local_conf.json start; the working
        directory at first use by default.

    Examples
    --------
    >>> cfg = Config(files=False, environ={})
    >>> cfg['display.limit'] = 5
    >>> cfg.display.limit
    5
    >>> with cfg(safemode=False, database__host='db.lab.org'):
    ...     (cfg.safemode, cfg['database.host'])
    (False, 'db.lab.org')
    >>> cfg.source('database.host'), cfg.safemode
    ('default', True)
    """

    def __init__(
        self,
        *,
        files: bool = True,
        environ: Mapping[str, str] | None = None,
        cwd: str | os.PathLike[str] | None = None,
    ) -> None:
        object.__setattr__(self, "_files", files)
        object.__setattr__(self, "_environ", os.environ if environ is None else environ)
        object.__setattr__(self, "_cwd", None if cwd is None else Path(cwd))
        object.__setattr__(self, "_runtime", {})
        object.__setattr__(self, "_layers", None)
        object.__setattr__(self, "_secret_dirs", ())
        object.__setattr__(self, "_lock", threading.Lock())
        object.__setattr__(self, "_defaults", {s.key: s.fresh_default() for s in SETTINGS})

    _files: bool
    _environ: Mapping[str, str]
    _cwd: Path | None
    _runtime: Layer
    _layers: list[Layer] | None
    _secret_dirs: tuple[Path, ...]
    _lock: threading.Lock
    _defaults: dict[str, Any]

    # -- loading ---------------------------------------------------------------------------

    @property
    def environ(self) -> Mapping[str, str]:
        """The environment this config reads (also used for HOME and XDG_DATA_HOME)."""
        return self._environ

    def _loaded(self) -> list[Layer]:
        layers = self._layers
        if layers is None:
            with self._lock:  # two threads touching config first must not read files twice
                layers = self._layers
                if layers is None:
                    layers = self._read_sources()
                    object.__setattr__(self, "_layers", layers)
        return layers

    def _read_sources(self) -> list[Layer]:
        layers = [read_env(self._environ)]
        if not self._files:
            return layers
        cwd = self._start_dir()
        project = find_project_config(cwd) if cwd else None
        secret_dirs = [project.parent / SECRETS_DIR] if project else []
        secret_dirs.append(RUN_SECRETS)
        secret_dirs = [d for d in secret_dirs if d.is_dir()]
        object.__setattr__(self, "_secret_dirs", tuple(secret_dirs))
        if project:
            layers.append(read_json(project))
        store_secrets: list[dict[str, dict[str, str]]] = []
        for directory in secret_dirs:
            layer, stores = read_secrets(directory)
            layers.append(layer)
            store_secrets.append(stores)
        local = cwd / LOCAL_CONFIG if cwd else None
        if local and local.is_file():
            layers.append(read_json(local))
        home = home_dir(self._environ)
        if home and (home / GLOBAL_CONFIG).is_file():
            layers.append(read_json(home / GLOBAL_CONFIG))
        for stores in store_secrets:
            self._fill_store_secrets(layers, stores)
        return layers

    def _start_dir(self) -> Path | None:
        if self._cwd is not None:
            return self._cwd.resolve()
        try:
            return Path.cwd()
        except FileNotFoundError:
            # The working directory was deleted under us; there is nothing local to read.
            log.debug("Working directory no longer exists; skipping datajoint.json and dj_local_conf.json.")
            return None

    def _fill_store_secrets(self, layers: list[Layer], secrets: dict[str, dict[str, str]]) -> None:
        """Fill unset attributes of configured stores from ``stores.<name>.<attr>`` secret files."""
        if not secrets:
            return
        owner = next((layer for layer in layers if "stores" in layer), {})
        stores, source = owner.get("stores", ({}, ""))
        merged = copy.deepcopy(stores)
        for name, attrs in secrets.items():
            if not isinstance(merged.get(name), dict):
                log.warning("Secret files for store %r are ignored: no such store is configured.", name)
                continue
            for attr, value in attrs.items():
                merged[name].setdefault(attr, value)
        if owner:
            owner["stores"] = (merged, source)

    def reload(self) -> None:
        """Read environment variables and files again on next use; runtime settings are kept."""
        object.__setattr__(self, "_layers", None)

    # -- dict-style access (DataJoint 0.14) ----------------------------------------------------

    def _entry(self, key: str) -> tuple[Any, str] | None:
        if key in self._runtime:
            return self._runtime[key]
        for layer in self._loaded():
            if key in layer:
                return layer[key]
        if key in self._defaults:
            return self._defaults[key], "default"
        return None

    def __getitem__(self, key: str) -> Any:
        entry = self._entry(key)
        if entry is None:
            raise UnknownSettingError(unknown_key_message(key))
        return entry[0]

    def __setitem__(self, key: str, value: Any) -> None:
        """Set a value (checked); a dict for a group sets its members: ``config['display'] = {'limit': 5}``."""
        self._runtime.update(self._checked({key: value}))

    def __delitem__(self, key: str) -> None:
        """Forget a runtime assignment: the value falls back to the environment, files or default."""
        if key not in self._runtime and self._entry(key) is None:
            raise UnknownSettingError(unknown_key_message(key))
        self._runtime.pop(key, None)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self._entry(key) is not None

    def __iter__(self) -> Iterator[str]:
        seen = set(self._defaults)
        yield from self._defaults
        for layer in (self._runtime, *self._loaded()):
            for key in layer:
                if key not in seen:
                    seen.add(key)
                    yield key

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def get(self, key: str, default: Any = None) -> Any:
        """``config[key]``, or ``default`` when no such setting exists."""
        entry = self._entry(key)
        return default if entry is None else entry[0]

    def update(self, other: Mapping[str, Any] | None = None, /, **kwargs: Any) -> None:
        """Set several values at once; nothing changes if any of them is invalid."""
        self._runtime.update(self._checked({**(other or {}), **kwargs}))

    def _checked(self, values: Mapping[str, Any], source: str = "set") -> Layer:
        """Validate ``values`` (dotted keys or nested groups) into a runtime layer."""
        checked: Layer = {}
        for key, value in flatten(values).items():
            if is_known(key):
                checked[key] = (lookup(key).validate(value, source), source)
            elif self._entry(key) is not None:  # an unknown key a file brought in
                checked[key] = (value, source)
            else:
                raise UnknownSettingError(unknown_key_message(key))
        return checked

    # -- attribute access (DataJoint 2.x) ------------------------------------------------------

    def _attribute(self, key: str) -> Any:
        if key in PREFIXES and not is_known(key):
            return _Group(self, key)
        return self[key]

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):  # Python and IPython probe private names; they are not settings
            raise AttributeError(name)
        return self._attribute(name)

    def __setattr__(self, name: str, value: Any) -> None:
        self[name] = value

    def __dir__(self) -> list[str]:
        names = {key.split(".")[0] for key in self._defaults}
        return sorted(set(super().__dir__()) | names)

    # -- temporary overrides ---------------------------------------------------------------------

    @contextmanager
    def override(self, **values: Any) -> Iterator[Config]:
        """Set values for the duration of a ``with`` block, then restore them, even on error.

        Keys use ``__`` for the dot (``database__host='x'``), or a dict per group
        (``display={'limit': 3}``). All values are checked before any is applied.
        """
        changes = self._checked({key.replace("__", "."): value for key, value in values.items()})
        saved = {key: self._runtime.get(key) for key in changes}
        self._runtime.update(changes)
        try:
            yield self
        finally:
            for key, previous in saved.items():
                if previous is None:
                    self._runtime.pop(key, None)
                else:
                    self._runtime[key] = previous

    def __call__(self, **values: Any) -> Any:
        """``with config(safemode=False, database__host='x'):`` (the DataJoint 0.14 spelling)."""
        return self.override(**values)

    # -- provenance ----------------------------------------------------------------------------

    def source(self, key: str) -> str:
        """Where the current value of ``key`` comes from.

        Returns ``'default'``, ``'set'`` (assigned at runtime, including an in-place change of
        a default dict such as ``config['stores']['raw'] = {...}``), ``'env:DJ_HOST'`` or
        ``'file:/path/of/file'`` (config files, files loaded with :meth:`load`, secret files).
        """
        entry = self._entry(key)
        if entry is None:
            raise UnknownSettingError(unknown_key_message(key))
        value, source = entry
        if source == "default" and value != lookup(key).default:
            return "set"
        return source

    def is_configured(self, key: str) -> bool:
        """Whether some source other than the defaults gives ``key`` its value."""
        return self.source(key) != "default"

    def describe(self) -> list[SettingRow]:
        """Every setting with its value (credentials masked) and source, for ``labjoin config``."""
        rows = []
        for key in self:
            rows.append(SettingRow(key, masked(key, self[key]), self.source(key)))
        return rows

    def __repr__(self) -> str:
        shown = {row.key: row.value for row in self.describe()}
        return f"Config({pprint.pformat(shown, sort_dicts=False)})"

    # -- files ---------------------------------------------------------------------------------

    def load(self, path: str | os.PathLike[str]) -> None:
        """Apply a JSON config file (flat dotted keys or nested groups) as runtime settings."""
        layer = read_json(Path(path).expanduser().resolve())
        self._runtime.update(layer)

    def save(self, path: str | os.PathLike[str], *, nested: bool | None = None) -> Path:
        """Write the configured settings to a JSON file and return its path.

        Written: every value not at its default, except those from environment variables and
        secret files (they belong to the environment; writing them would copy credentials into
        a file). A file that holds a credential is made owner-only (0600).

        Parameters
        ----------
        path : path
            File to write; it is replaced atomically.
        nested : bool, optional
            Group keys as ``{"database": {"host": ...}}`` (DataJoint 2.x) instead of
            ``{"database.host": ...}`` (0.14). By default nested only for ``datajoint.json``.
        """
        path = Path(path).expanduser()
        values = {key: self[key] for key in self if self._persistable(key)}
        private = any(masked(key, value) != value for key, value in values.items())
        if nested is None:
            nested = path.name == "datajoint.json"
        data: dict[str, Any] = {}
        for key, value in values.items():
            target = data
            if nested and not is_known(key.split(".")[0]):
                *groups, key = key.split(".")
                for group in groups:
                    target = target.setdefault(group, {})
            target[key] = value
        write_file(path, json.dumps(data, indent=4) + "\n", private=private)
        return path

    def _persistable(self, key: str) -> bool:
        source = self.source(key)
        if source == "default" or source.startswith("env:"):
            return False
        return not any(Path(source[5:]).parent == d for d in self._secret_dirs)

    def save_local(self) -> Path:
        """Write ``./dj_local_conf.json`` (DataJoint 0.14's per-directory config)."""
        return self.save((self._start_dir() or Path(".")) / LOCAL_CONFIG, nested=False)

    def save_global(self) -> Path:
        """Write ``~/.datajoint_config.json`` (DataJoint 0.14's per-user config)."""
        home = home_dir(self._environ)
        if home is None:
            raise ConfigError(
                "Cannot save the global config: the home directory is unknown (HOME is unset). "
                "Use config.save(path) or config.save_local() instead."
            )
        return self.save(home / GLOBAL_CONFIG, nested=False)

    # -- derived values --------------------------------------------------------------------------

    def database_url(self) -> str:
        """The effective SQLAlchemy URL; see :func:`labjoin.settings.resolve_database_url`."""
        from labjoin.settings.url import resolve_database_url

        return resolve_database_url(self)


class _Group:
    """``config.database``: attribute access to the settings under one dotted prefix."""

    __slots__ = ("_config", "_prefix")

    def __init__(self, cfg: Config, prefix: str) -> None:
        object.__setattr__(self, "_config", cfg)
        object.__setattr__(self, "_prefix", prefix)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return self._config._attribute(f"{self._prefix}.{name}")

    def __setattr__(self, name: str, value: Any) -> None:
        self._config[f"{self._prefix}.{name}"] = value

    def _keys(self) -> list[str]:
        return [key for key in self._config if key.startswith(self._prefix + ".")]

    def __dir__(self) -> list[str]:
        return sorted({key[len(self._prefix) + 1 :].split(".")[0] for key in self._keys()})

    def __repr__(self) -> str:
        shown = {
            row.key: row.value for row in self._config.describe() if row.key.startswith(self._prefix + ".")
        }
        return f"<settings {self._prefix}: {shown}>"


config = Config()
"""The process-wide configuration that ``dj.config`` refers to."""


def config_or_default(cfg: Config | None) -> Config:
    """``cfg``, or the process-wide :data:`config` when None: library functions accept either."""
    return config if cfg is None else cfg
