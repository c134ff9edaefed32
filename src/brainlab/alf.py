"""Finding and reading a session's ALF files, as the imported tables' ``make`` does.

A session's files are located through its ``FileRecord`` rows on a ``flatiron*`` repository:
``relative_path`` is relative to the data root (:func:`brainlab.settings.data_root`), so a
session filed under an old nickname (the LIMS renamed the subject later) is still found. Files
are read with one-api's ALF functions (``one.alf.io.load_object``), as the reference's
``make()`` did after downloading (``ibl-system.md`` §3.3).
"""

from __future__ import annotations

import json
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np
from one.alf import io as alfio

from labjoin import errors

from . import settings

__all__ = [
    "dataset_names",
    "load_json",
    "load_jsonable",
    "load_object",
    "missing",
    "session_folder",
]

FLATIRON = 'repo_name LIKE "flatiron%"'


def _records(key: dict[str, Any]) -> list[tuple[str, str, str]]:
    from . import data

    rows = (data.FileRecord & key & FLATIRON).fetch(
        "dataset_name", "collection", "relative_path")
    return list(zip(*rows)) if len(rows[0]) else []


def dataset_names(key: dict[str, Any]) -> set[str]:
    """``collection/dataset_name`` of every file of the session that exists on a flatiron repo."""
    return {f"{c}/{n}" for n, c, _ in _records(key)}


def missing(key: dict[str, Any], required: list[str]) -> list[str]:
    """The ``collection/name`` entries of ``required`` that the session does not have."""
    have = dataset_names(key)
    return [r for r in required if r not in have]


def session_folder(key: dict[str, Any]) -> Path:
    """The session's folder on disk (``<root>/<lab>/Subjects/<nickname>/<date>/<nnn>``)."""
    records = _records(key)
    if not records:
        raise errors.DataError(f"Session {key} has no file records on a flatiron repository.")
    _, collection, rel = records[0]
    parts = PurePosixPath(rel).parts
    depth = len(PurePosixPath(collection).parts) + 1  # the collection folders and the file name
    return settings.data_root().joinpath(*parts[:-depth])


def load_object(key: dict[str, Any], collection: str, obj: str, namespace: str | None = None,
                folder: Path | None = None) -> dict[str, np.ndarray]:
    """One ALF object of the session as a dict of arrays (``one.alf.io.load_object``)."""
    folder = folder or session_folder(key)
    path = folder / collection
    kwargs = {"namespace": namespace} if namespace else {}
    try:
        return dict(alfio.load_object(path, obj, **kwargs))
    except Exception as e:  # one raises ALFObjectNotFound, FileNotFoundError, ...
        raise errors.DataError(f"Cannot read ALF object {obj!r} in {path}: {type(e).__name__}: {e}") from e


def load_json(key: dict[str, Any], collection: str, name: str, folder: Path | None = None) -> dict[str, Any]:
    """A JSON file of the session (e.g. ``_iblrig_taskSettings.raw.json``)."""
    path = (folder or session_folder(key)) / collection / name
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise errors.DataError(f"Cannot read {path}: {e}") from e


def load_jsonable(key: dict[str, Any], collection: str, name: str, folder: Path | None = None) -> list[Any]:
    """A ``.jsonable`` file (one JSON value per line) of the session."""
    path = (folder or session_folder(key)) / collection / name
    try:
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    except (OSError, ValueError) as e:
        raise errors.DataError(f"Cannot read {path}: {e}") from e
