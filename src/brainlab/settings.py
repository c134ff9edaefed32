"""brainlab's settings, read from environment variables when asked for (never at import).

| Setting | Environment variable | Default |
|---|---|---|
| schema-name prefix | ``BRAINLAB_SCHEMA_PREFIX`` | ``brainlab_`` |
| root of the ALF data (the data repository's local copy) | ``BRAINLAB_DATA_ROOT`` | none |
| activate on the first use of a table | ``BRAINLAB_AUTO_ACTIVATE`` | ``1`` |

``brainlab.activate(prefix=...)`` and the ``--data`` option of the ``brainlab`` command override
them for one process.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from labjoin import errors

__all__ = ["auto_activate", "data_root", "schema_prefix", "set_data_root"]

DEFAULT_PREFIX = "brainlab_"
_data_root: Path | None = None


def schema_prefix() -> str:
    """The schema-name prefix (``BRAINLAB_SCHEMA_PREFIX``, default ``brainlab_``)."""
    prefix = os.environ.get("BRAINLAB_SCHEMA_PREFIX", DEFAULT_PREFIX)
    if not re.fullmatch(r"[A-Za-z0-9_]*", prefix):
        raise errors.ConfigError(
            f"BRAINLAB_SCHEMA_PREFIX={prefix!r}: use only letters, digits and underscores."
        )
    return prefix


def auto_activate() -> bool:
    """Whether the first use of a brainlab table activates brainlab (``BRAINLAB_AUTO_ACTIVATE``)."""
    return os.environ.get("BRAINLAB_AUTO_ACTIVATE", "1").strip().lower() not in ("0", "false", "no", "off")


def set_data_root(path: str | Path | None) -> None:
    """Set the ALF data root for this process (overrides ``BRAINLAB_DATA_ROOT``)."""
    global _data_root
    _data_root = None if path is None else Path(path)


def data_root() -> Path:
    """Root folder of the ALF files: FileRecord.relative_path is relative to it."""
    if _data_root is not None:
        return _data_root
    env = os.environ.get("BRAINLAB_DATA_ROOT")
    if env:
        return Path(env)
    raise errors.ConfigError(
        "brainlab does not know where the ALF files are. Pass --data DIR to the brainlab "
        "command, call brainlab.settings.set_data_root(DIR), or set BRAINLAB_DATA_ROOT."
    )
