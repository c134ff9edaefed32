"""Where DataJoint 0.14 puts objects in a store, and the hashes that name them.

These are facts about existing stores that labjoin must match so that it reads DataJoint's
objects and DataJoint reads labjoin's:

- Every hash is an MD5 digest taken as a UUID: ``UUID(bytes=md5(prefix + content).digest())``.
- A **blob** (``blob@store``) is named by the hash of its serialized bytes and stored at
  ``<location>/<schema>/<subfolded hex>/<hex>``.
- An **attachment** (``attach@store``) is named by the hash of ``file name + "\\0" + contents``
  and stored at ``<location>/<schema>/<subfolded hex>/<hex>.<file name>``.
- A **filepath** (``filepath@store``) keeps its path relative to the store's ``stage``; its row
  holds the hash of that relative path, plus the hash of the contents for verification.

"Subfolded hex" takes leading pieces of the 32-character hex digest as folder names:
``subfolding=(2, 2)`` turns ``0123abcd...`` into ``01/23``.
"""

from __future__ import annotations

import hashlib
import posixpath
import uuid
from collections.abc import Iterable
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import BinaryIO

from labjoin.errors import StoreError

__all__ = [
    "attachment_key",
    "attachment_uuid",
    "blob_key",
    "blob_uuid",
    "file_uuid",
    "filepath_key",
    "filepath_uuid",
    "s3_prefix",
    "stream_uuid",
    "subfold",
]

_CHUNK = 1 << 20


def subfold(name: str, folds: Iterable[int]) -> tuple[str, ...]:
    """Split the start of ``name`` into folder names: ``subfold("aBCdefg", (2, 3)) == ("ab", "cde")``."""
    out = []
    pos = 0
    for fold in folds:
        out.append(name[pos : pos + fold].lower())
        pos += fold
    return tuple(out)


def blob_uuid(data: bytes | bytearray | memoryview) -> uuid.UUID:
    """The name of a serialized blob: the MD5 of its bytes."""
    return uuid.UUID(bytes=hashlib.md5(data).digest())


def stream_uuid(stream: BinaryIO, prefix: bytes = b"") -> uuid.UUID:
    """MD5 of ``prefix`` followed by everything ``stream`` yields, read in 1 MiB chunks."""
    digest = hashlib.md5(prefix)
    while chunk := stream.read(_CHUNK):
        digest.update(chunk)
    return uuid.UUID(bytes=digest.digest())


def file_uuid(path: str | Path, prefix: bytes = b"") -> uuid.UUID:
    """MD5 of ``prefix`` followed by the file's contents (a filepath's ``contents_hash``)."""
    with open(path, "rb") as f:
        return stream_uuid(f, prefix)


def attachment_uuid(name: str, contents: bytes | None = None, *, path: str | Path | None = None) -> uuid.UUID:
    """The name of an attachment: MD5 of ``name + "\\0" + contents`` (from bytes or a file)."""
    prefix = name.encode() + b"\0"
    if path is not None:
        return file_uuid(path, prefix)
    return uuid.UUID(bytes=hashlib.md5(prefix + (contents or b"")).digest())


def filepath_uuid(relative_path: str) -> uuid.UUID:
    """The key of a ``filepath@store`` row: MD5 of the path relative to the stage (posix form)."""
    return uuid.UUID(bytes=hashlib.md5(relative_path.encode()).digest())


def _hashed_key(schema: str, object_id: uuid.UUID, subfolding: Iterable[int]) -> str:
    if not schema or "/" in schema:
        raise StoreError(f"Invalid schema name {schema!r} for a store path: it must be non-empty without '/'.")
    hexname = object_id.hex
    return posixpath.join(schema, *subfold(hexname, subfolding), hexname)


def blob_key(schema: str, object_id: uuid.UUID, subfolding: Iterable[int]) -> str:
    """The key of a blob relative to the store location: ``schema/01/23/0123...``."""
    return _hashed_key(schema, object_id, subfolding)


def attachment_key(schema: str, object_id: uuid.UUID, name: str, subfolding: Iterable[int]) -> str:
    """The key of an attachment: the blob key plus ``.<file name>``."""
    if not name or "/" in name or "\\" in name or name in (".", ".."):
        raise StoreError(f"Invalid attachment name {name!r}: it must be a plain file name.")
    return _hashed_key(schema, object_id, subfolding) + "." + name


def filepath_key(relative_path: str) -> str:
    """The key of a ``filepath@store`` file: its path relative to the stage, checked to stay inside."""
    rel = PurePosixPath(relative_path)
    if rel.is_absolute() or ".." in rel.parts or not rel.parts:
        raise StoreError(
            f"Invalid filepath {relative_path!r}: it must be a relative path inside the store's stage."
        )
    return rel.as_posix()


def s3_prefix(location: str) -> str:
    """The key prefix DataJoint derives from an S3 store's ``location``.

    DataJoint reads the location as a Windows or POSIX path and drops any root or drive, so
    ``"/lab/store"``, ``"lab/store/"`` and ``"C:\\\\lab\\\\store"`` all give ``"lab/store"``.
    """
    parts = PureWindowsPath(location).parts
    anchor = PureWindowsPath(location).anchor
    if anchor and parts and parts[0] == anchor:
        parts = parts[1:]
    return "/".join(p for p in parts if p not in (".", ""))
