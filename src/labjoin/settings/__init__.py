"""labjoin configuration: one table of settings drives files, environment variables and docs.

>>> from labjoin.settings import config
>>> config['display.limit']          # DataJoint 0.14 style         # doctest: +SKIP
12
>>> config.display.limit = 5         # DataJoint 2.x style          # doctest: +SKIP
>>> config.database_url()            # what the connection layer opens  # doctest: +SKIP
'sqlite:////home/me/.local/share/labjoin/labjoin.sqlite'

Modules: :mod:`~labjoin.settings.table` (the settings), :mod:`~labjoin.settings.kinds` (value
types), :mod:`~labjoin.settings.sources` (environment, files, secrets),
:mod:`~labjoin.settings.configuration` (the :class:`Config` object) and
:mod:`~labjoin.settings.url` (backend and URL resolution). See docs/configuration.md.
"""

from __future__ import annotations

from labjoin.settings.configuration import Config, SettingRow, config
from labjoin.settings.table import SETTINGS, Setting, lookup, reference_table
from labjoin.settings.url import (
    DEFAULT_PORTS,
    DRIVERS,
    resolve_backend,
    resolve_database_url,
    split_host_port,
    sqlite_path,
)

__all__ = [
    "DEFAULT_PORTS",
    "DRIVERS",
    "SETTINGS",
    "Config",
    "Setting",
    "SettingRow",
    "config",
    "lookup",
    "reference_table",
    "resolve_backend",
    "resolve_database_url",
    "split_host_port",
    "sqlite_path",
]
