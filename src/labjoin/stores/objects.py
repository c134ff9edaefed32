"""DataJoint 2.x object storage: hash-addressed and schema-addressed paths, and lazy references.

2.x columns (``<blob@s>``, ``<attach@s>``, ``<hash@s>``, ``<object@s>``, ``<npy@s>``,
``<filepath@s>``) keep JSON metadata in the row; the metadata names the object's path, so a
reader never recomputes a layout. Paths are relative to the store's location:

- **hash-addressed** (``<hash@s>``, and ``<blob@s>``/``<attach@s>`` which store through it):
  ``_hash/<schema>/<hash>``, where ``<hash>`` is the MD5 of the content in lowercase Base32
  without padding (26 characters); one object per distinct content and schema. Folders are
  inserted only when the store's entry names ``subfolding``. Metadata:
  ``{"hash", "path", "schema", "store", "size"}``.
- **schema-addressed** (``<object@s>``, ``<npy@s>``): ``_schema/<schema>/<table>/<k1=v1>/.../
  <attribute>_<token><ext>``, with a random token so a rewrite never overwrites a file a reader
  may hold. Metadata as DataJoint writes it (``path, store, size, ext, is_dir, item_count,
  timestamp`` for objects; ``path, store, dtype, shape`` for arrays) plus ``hash`` (Base32 MD5 of
  a file's content), which labjoin checks on read and DataJoint ignores.

Fetching an ``<object@s>`` or ``<filepath@s>`` gives an :class:`ObjectRef`, an ``<npy@s>`` an
:class:`NpyRef`: metadata without I/O, content on demand, verified.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import io
import json
import math
import secrets
import urllib.parse
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np

from .. import errors
from . import layout
from .registry import store_for
from .store import Store

__all__ = ["HASH_PREFIX", "SCHEMA_PREFIX", "NpyRef", "ObjectRef", "b32_hash", "b32_to_uuid", "hash_key",
           "schema_key"]

HASH_PREFIX = "_hash"
SCHEMA_PREFIX = "_schema"
_TOKEN_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
_UNSAFE = set('/\\:*?"<>|')


def b32_hash(data: bytes | bytearray | memoryview) -> str:
    """DataJoint 2.x's content hash: MD5 in lowercase Base32, no padding (26 characters)."""
    return base64.b32encode(hashlib.md5(data).digest()).decode("ascii").rstrip("=").lower()


def b32_to_uuid(text: str) -> uuid.UUID:
    """The same MD5 digest as a UUID (what :meth:`Store.get` verifies against).

    Raises
    ------
    DataError
        ``text`` is not a 26-character Base32 MD5.
    """
    if len(text) != 26 or not text.isalnum():
        raise errors.DataError(f"Invalid content hash {text!r}: expected 26 lowercase Base32 characters.")
    try:
        return uuid.UUID(bytes=base64.b32decode(text.upper() + "======"))
    except ValueError as e:
        raise errors.DataError(f"Invalid content hash {text!r}: {e}.") from e


def hash_key(schema: str, content_hash: str, subfolding: tuple[int, ...] = ()) -> str:
    """``_hash/<schema>/[<folds>/]<hash>``."""
    if not schema or "/" in schema:
        raise errors.StoreError(f"Invalid schema name {schema!r} for a store path.")
    return "/".join([HASH_PREFIX, schema, *layout.subfold(content_hash, subfolding), content_hash])


def _pk_part(value: Any) -> str:
    """A primary-key value as a path segment (DataJoint 2.x's encoding)."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%dT%H-%M-%S")
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    s = str(value)
    if len(s) > 100:
        s = s[:50] + "_" + hashlib.md5(s.encode()).hexdigest()[:8]
    if any(c in _UNSAFE for c in s) or len(s) > 100:
        return urllib.parse.quote(s, safe="")
    return s


def schema_key(schema: str, table: str, attribute: str, key: Mapping[str, Any], ext: str | None,
               token_length: int = 8) -> str:
    """``_schema/<schema>/<table>/<k=v>/.../<attribute>_<token><ext>`` (a new token each call)."""
    token = "".join(secrets.choice(_TOKEN_ALPHABET) for _ in range(token_length))
    name = f"{attribute}_{token}"
    if ext:
        name += ext if ext.startswith(".") else "." + ext
    parts = [SCHEMA_PREFIX, schema, table, *(f"{k}={_pk_part(v)}" for k, v in key.items()), name]
    return "/".join(parts)


def _timestamp(value: Any) -> dt.datetime | None:
    if isinstance(value, str):
        return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    return value


@dataclass
class ObjectRef:
    """A file or folder in a store, as an ``<object@s>`` or ``<filepath@s>`` value.

    The metadata is available without I/O; ``read``, ``open``, ``download``, ``listdir`` and
    ``walk`` reach the store. ``read`` and ``download`` check the size and, when the metadata has
    one, the content hash: a changed object raises ``ChecksumError``, a missing one
    ``MissingExternalFile``.
    """

    path: str
    size: int | None
    hash: str | None = None
    ext: str | None = None
    is_dir: bool = False
    timestamp: dt.datetime | None = None
    mime_type: str | None = None
    item_count: int | None = None
    store_name: str | None = None
    _store: Store | None = field(default=None, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | str, store: Store | None = None) -> ObjectRef:
        meta = json.loads(data) if isinstance(data, str) else dict(data)
        return cls(path=meta["path"], size=meta.get("size"), hash=meta.get("hash"), ext=meta.get("ext"),
                   is_dir=bool(meta.get("is_dir", False)), timestamp=_timestamp(meta.get("timestamp")),
                   mime_type=meta.get("mime_type"), item_count=meta.get("item_count"),
                   store_name=meta.get("store"), _store=store)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"path": self.path, "store": self.store_name, "size": self.size, "hash": self.hash,
                               "ext": self.ext, "is_dir": self.is_dir,
                               "timestamp": None if self.timestamp is None else self.timestamp.isoformat()}
        if self.mime_type:
            out["mime_type"] = self.mime_type
        if self.item_count is not None:
            out["item_count"] = self.item_count
        return out

    @property
    def _backend(self) -> Store:
        return self._store if self._store is not None else store_for(self.store_name)

    @property
    def fs(self) -> Any:
        """The fsspec filesystem (for zarr, xarray, h5py through fsspec)."""
        return self._backend.fs

    @property
    def store(self) -> Any:
        """An fsspec mapper over the object (``zarr.open(ref.store)``), as in DataJoint."""
        import fsspec

        return fsspec.FSMap(self.full_path, self.fs)

    @property
    def full_path(self) -> str:
        """The object's full fsspec path."""
        return self._backend.path(self.path)

    def _check(self, data: bytes) -> bytes:
        backend = self._backend
        if self.size is not None and len(data) != self.size:
            raise errors.ChecksumError(
                f"Store '{backend.spec.name}': {backend.path(self.path)} has {len(data)} bytes but its row "
                f"records {self.size}. It was changed or truncated after it was stored; restore it from a backup."
            )
        if self.hash:
            actual = b32_hash(data)
            if actual != self.hash:
                raise errors.ChecksumError(
                    f"Store '{backend.spec.name}': {backend.path(self.path)} does not match its recorded hash "
                    f"(expected {self.hash}, found {actual}). Restore it from a backup."
                )
        return data

    def read(self) -> bytes:
        """The whole file, verified."""
        if self.is_dir:
            raise errors.DataJointError(f"{self.path} is a folder: use listdir(), walk() or open(subpath).")
        return self._check(self._backend.get(self.path))

    def open(self, subpath: str | None = None, mode: str = "rb") -> IO[Any]:
        """A file object (a file of a folder object with ``subpath``); not verified."""
        path = self.path
        if subpath:
            if not self.is_dir:
                raise errors.DataJointError(f"{self.path} is a file: subpath applies to folders only.")
            path = f"{path}/{subpath}"
        return self.fs.open(self._backend.path(path), mode)

    def listdir(self, subpath: str = "") -> list[str]:
        if not self.is_dir:
            raise errors.DataJointError(f"{self.path} is a file: use read() or open().")
        base = self._backend.path(f"{self.path}/{subpath}" if subpath else self.path)
        return sorted(p.rstrip("/").rsplit("/", 1)[-1] for p in self.fs.ls(base, detail=False))

    def walk(self) -> Iterator[tuple[str, list[str], list[str]]]:
        if not self.is_dir:
            raise errors.DataJointError(f"{self.path} is a file: walk() applies to folders.")
        base = self._backend.path(self.path)
        for root, dirs, files in self.fs.walk(base):
            yield root[len(base):].lstrip("/"), dirs, files

    def exists(self, subpath: str | None = None) -> bool:
        return self._backend.exists(f"{self.path}/{subpath}" if subpath else self.path)

    def download(self, destination: str | Path, subpath: str | None = None) -> Path:
        """Copy the object (or a file of a folder) to ``destination``; returns the local path."""
        dest = Path(destination)
        if self.is_dir and not subpath:
            dest.mkdir(parents=True, exist_ok=True)
            self.fs.get(self._backend.path(self.path) + "/", str(dest), recursive=True)
            return dest
        remote = f"{self.path}/{subpath}" if subpath else self.path
        if dest.is_dir():
            dest = dest / remote.rsplit("/", 1)[-1]
        if subpath:
            return self._backend.get_file(remote, dest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(self.read())
        return dest

    def verify(self) -> bool:
        """Check the object against its metadata (content for files, manifest sizes for folders)."""
        if not self.is_dir:
            self.read()
            return True
        manifest = json.loads(self._backend.get(f"{self.path}.manifest.json"))
        for f in manifest.get("files", []):
            size = self._backend.size(f"{self.path}/{f['path']}")
            if size != f["size"]:
                raise errors.ChecksumError(
                    f"{self.path}/{f['path']} has {size} bytes; its folder's manifest records {f['size']}."
                )
        return True

    def __repr__(self) -> str:
        return f"ObjectRef({'folder' if self.is_dir else 'file'}: {self.path}, size={self.size})"

    def __str__(self) -> str:
        return self.path


class NpyRef:
    """An ``<npy@s>`` value: shape and dtype without I/O, the array on ``load()`` (verified)."""

    __slots__ = ("_cached", "_meta", "_store")

    def __init__(self, metadata: Mapping[str, Any], store: Store | None = None) -> None:
        self._meta = dict(metadata)
        self._store = store
        self._cached: np.ndarray | None = None

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self._meta["shape"])

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(self._meta["dtype"])

    @property
    def ndim(self) -> int:
        return len(self._meta["shape"])

    @property
    def size(self) -> int:
        return math.prod(self._meta["shape"])

    @property
    def nbytes(self) -> int:
        return self.size * self.dtype.itemsize

    @property
    def path(self) -> str:
        return str(self._meta["path"])

    @property
    def store(self) -> str | None:
        return self._meta.get("store")

    @property
    def is_loaded(self) -> bool:
        return self._cached is not None

    def _backend(self) -> Store:
        return self._store if self._store is not None else store_for(self.store)

    def load(self, mmap_mode: str | None = None) -> np.ndarray:
        """The array (cached after the first load); ``mmap_mode`` maps a local store's file instead."""
        backend = self._backend()
        if mmap_mode is not None and backend.spec.protocol == "file":
            return np.load(backend.path(self.path), mmap_mode=mmap_mode, allow_pickle=False)  # type: ignore[no-any-return]
        if self._cached is None:
            data = backend.get(self.path)
            expected = self._meta.get("hash")
            if expected and b32_hash(data) != expected:
                raise errors.ChecksumError(
                    f"Store '{backend.spec.name}': {backend.path(self.path)} does not match its recorded hash "
                    f"{expected}. It was changed after it was stored; restore it from a backup."
                )
            self._cached = np.load(io.BytesIO(data), allow_pickle=False)
        return self._cached

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        arr = self.load()
        return arr.astype(dtype) if dtype is not None else arr

    def __getitem__(self, index: Any) -> Any:
        return self.load()[index]

    def __len__(self) -> int:
        if not self._meta["shape"]:
            raise TypeError("len() of a 0-dimensional array")
        return int(self._meta["shape"][0])

    def __repr__(self) -> str:
        return f"NpyRef(shape={self.shape}, dtype={self.dtype}, {'loaded' if self.is_loaded else 'not loaded'})"
