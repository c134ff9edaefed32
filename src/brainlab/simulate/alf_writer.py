"""Write one session's files in the ONE folder layout and remember what was written.

File names come from one-api (:func:`brainlab.simulate.identity.alf_name`, i.e.
``one.alf.spec.to_alf``). Each file is serialised in memory first, so its size and MD5 are known
for the LIMS dataset record without reading the file back.
"""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np
import pandas as pd

from .identity import alf_name

__all__ = ["DATA_FORMATS", "SessionWriter", "WrittenFile"]

#: Data formats (Alyx ``data.dataformat``): name -> (file extension, description).
DATA_FORMATS: dict[str, tuple[str, str]] = {
    "npy": (".npy", "NumPy array"),
    "parquet": (".pqt", "Apache Parquet table"),
    "csv": (".csv", "Comma-separated values"),
    "json": (".json", "JSON document"),
    "jsonable": (".jsonable", "One JSON document per line"),
}
_FORMAT_OF_EXT = {ext.lstrip("."): name for name, (ext, _) in DATA_FORMATS.items()}


@dataclass(frozen=True)
class WrittenFile:
    """One file written to a session folder.

    Attributes
    ----------
    collection : str
        Folder inside the session (``alf``, ``alf/probe00``, ``raw_behavior_data``).
    name : str
        ALF file name, e.g. ``_ibl_trials.choice.npy`` (the Alyx dataset name).
    dataset_type : str
        Alyx dataset type, e.g. ``trials.choice`` or ``_iblrig_taskSettings.raw``.
    data_format : str
        Key of :data:`DATA_FORMATS`.
    size : int
        Bytes.
    md5 : str
        Hex MD5 of the content.
    """

    collection: str
    name: str
    dataset_type: str
    data_format: str
    size: int
    md5: str


def _dataset_type(obj: str, attribute: str, namespace: str | None, timescale: tuple[str, ...] | None) -> str:
    attr = attribute + ("_" + "_".join(timescale) if timescale else "")
    return f"_{namespace}_{obj}.{attr}" if namespace == "iblrig" else f"{obj}.{attr}"


class SessionWriter:
    """Writes files under ``root / session_rel`` and records each as a :class:`WrittenFile`.

    Parameters
    ----------
    root : pathlib.Path
        Output root (the folder holding the lab folders).
    session_rel : pathlib.PurePosixPath
        ``<lab>/Subjects/<nickname>/<date>/<nnn>``.
    """

    def __init__(self, root: Path, session_rel: PurePosixPath) -> None:
        self.root = root
        self.session_rel = session_rel
        self.files: list[WrittenFile] = []

    def _write(
        self,
        collection: str,
        obj: str,
        attribute: str,
        ext: str,
        payload: bytes,
        namespace: str | None = None,
        timescale: tuple[str, ...] | None = None,
    ) -> None:
        name = alf_name(obj, attribute, ext, namespace=namespace, timescale=timescale)
        folder = self.root / self.session_rel / collection
        folder.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(payload)
        self.files.append(
            WrittenFile(
                collection=collection,
                name=name,
                dataset_type=_dataset_type(obj, attribute, namespace, timescale),
                data_format=_FORMAT_OF_EXT[ext],
                size=len(payload),
                md5=hashlib.md5(payload).hexdigest(),
            )
        )

    def npy_object(
        self, collection: str, obj: str, arrays: dict[str, np.ndarray], namespace: str | None = None
    ) -> None:
        """Write every array of an ALF object as ``[_<namespace>_]<obj>.<attribute>.npy``.

        An attribute such as ``brainLocationIds_ccf_2017`` is split into attribute and timescale,
        as ALF names it.
        """
        for key in sorted(arrays):
            attribute, timescale = key, None
            if key.endswith("_ccf_2017"):
                attribute, timescale = key[: -len("_ccf_2017")], ("ccf", "2017")
            buf = io.BytesIO()
            np.save(buf, np.ascontiguousarray(arrays[key]), allow_pickle=False)
            self._write(collection, obj, attribute, "npy", buf.getvalue(), namespace, timescale)

    def parquet(self, collection: str, obj: str, attribute: str, table: pd.DataFrame) -> None:
        """Write a table as ``<obj>.<attribute>.pqt`` (no index)."""
        buf = io.BytesIO()
        table.to_parquet(buf, index=False, engine="pyarrow")
        self._write(collection, obj, attribute, "pqt", buf.getvalue())

    def csv_column(self, collection: str, obj: str, attribute: str, column: str, values: list[str]) -> None:
        """Write a one-column CSV with a header (e.g. ``clusters.uuids.csv``)."""
        text = column + "\n" + "".join(v + "\n" for v in values)
        self._write(collection, obj, attribute, "csv", text.encode())

    def json(self, collection: str, obj: str, attribute: str, content: dict[str, Any], namespace: str) -> None:
        """Write a JSON document (sorted keys, indented) such as ``_iblrig_taskSettings.raw.json``."""
        payload = (json.dumps(content, indent=1, sort_keys=True) + "\n").encode()
        self._write(collection, obj, attribute, "json", payload, namespace)

    def jsonable(self, collection: str, obj: str, attribute: str, payload: bytes, namespace: str) -> None:
        """Write JSON lines such as ``_iblrig_ambientSensorData.raw.jsonable``."""
        self._write(collection, obj, attribute, "jsonable", payload, namespace)

    @property
    def n_bytes(self) -> int:
        """Total bytes written so far."""
        return sum(f.size for f in self.files)
