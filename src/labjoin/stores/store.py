"""An object store over fsspec: a local directory or an S3-compatible bucket.

:class:`Store` has two levels:

- **keys** (paths relative to the store's location): ``put``, ``get``, ``exists``, ``size``,
  ``remove``, ``list``, ``put_file``, ``get_file`` and the parallel ``put_many``/``get_many``.
  ``get`` verifies a checksum when given one.
- **content addressing** as DataJoint 0.14 lays it out (see :mod:`labjoin.stores.layout`):
  ``put_blob``/``get_blob`` (and ``put_blobs``/``get_blobs`` in parallel), ``put_attachment``/
  ``get_attachment`` and ``put_filepath``/``get_filepath``.

The store holds objects only; the ``~external_<store>`` tracking tables that record which rows
use them belong to the schema (see docs/stores.md for what the table layer calls).

Examples
--------
>>> store = Store(StoreSpec.from_dict("raw", {"protocol": "file", "location": "/tmp/lj-doc"}))
>>> h = store.put_blob("lab", b"dj0\\x00\\xff")
>>> store.get_blob("lab", h)
b'dj0\\x00\\xff'
"""

from __future__ import annotations

import contextlib
import logging
import os
import posixpath
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import fsspec
from fsspec.implementations.local import LocalFileSystem

from labjoin.errors import BucketInaccessible, ChecksumError, MissingExternalFile, StoreError

from . import layout
from .spec import StoreSpec

__all__ = ["FilepathRecord", "Store"]

T = TypeVar("T")
R = TypeVar("R")
_PARTIAL = ".saving-"  # marks a local file still being written; never listed, never read
_CACHE_SUBFOLDING = (2, 2)  # DataJoint's fixed layout of the blob cache
log = logging.getLogger("labjoin.stores")


@dataclass(frozen=True)
class FilepathRecord:
    """What a ``filepath@store`` insert records: the row's hash and the file's identity."""

    hash: uuid.UUID  # MD5 of the relative path: the value stored in the row
    relative_path: str
    contents_hash: uuid.UUID
    size: int


class Store:
    """One configured object store.

    Parameters
    ----------
    spec
        The store's validated specification.
    max_workers
        Threads used by ``put_many``/``get_many`` (and the blob and attachment variants).
    cache
        A local directory keeping copies of fetched blobs (DataJoint's ``dj.config["cache"]``),
        laid out as ``<cache>/01/23/0123...``. Cached copies are verified before use.
    filesystem
        An fsspec filesystem to use instead of the one the spec describes (for tests and for
        protocols configured outside the spec).
    """

    def __init__(
        self,
        spec: StoreSpec,
        *,
        max_workers: int = 16,
        filesystem: fsspec.AbstractFileSystem | None = None,
        cache: str | os.PathLike[str] | None = None,
    ) -> None:
        self.spec = spec
        self.max_workers = max_workers
        self.cache = None if cache is None else Path(cache)
        self._fs = filesystem
        self._lock = threading.Lock()
        if spec.protocol == "s3":
            self.root = "/".join(p for p in (spec.bucket or "", layout.s3_prefix(spec.location)) if p)
        else:
            self.root = LocalFileSystem._strip_protocol(spec.location or ".")  # absolute, posix

    def __repr__(self) -> str:
        return f"Store({self.spec.name!r}, {self.spec.protocol}://{self.root})"

    # -- the filesystem ------------------------------------------------------------------------

    @property
    def fs(self) -> fsspec.AbstractFileSystem:
        """The fsspec filesystem, opened (and checked) on first use."""
        if self._fs is None:
            with self._lock:
                if self._fs is None:
                    self._fs = self._open()
        return self._fs

    def _open(self) -> fsspec.AbstractFileSystem:
        spec = self.spec
        if spec.protocol == "file":
            if not os.path.isdir(self.root):
                raise StoreError(
                    f"Store '{spec.name}': the directory {self.root!r} does not exist. Create it, or fix "
                    f"dj.config['stores']['{spec.name}']['location']."
                )
            return fsspec.filesystem("file", auto_mkdir=True)
        try:
            import s3fs  # noqa: F401 - imported to give a clear message when it is missing
        except ImportError:
            raise StoreError(
                f"Store '{spec.name}' uses S3, which needs the s3fs package: pip install 'labjoin[s3]'."
            ) from None
        endpoint = spec.endpoint or ""
        if "://" not in endpoint:
            endpoint = ("https://" if spec.secure else "http://") + endpoint
        client_kwargs: dict[str, Any] = {"endpoint_url": endpoint}
        if not (os.environ.get("AWS_DEFAULT_REGION") or os.environ.get("AWS_REGION")):
            client_kwargs["region_name"] = "us-east-1"  # S3-compatible servers accept any region
        config_kwargs: dict[str, Any] = {}
        if spec.proxy_server:
            config_kwargs["proxies"] = {"http": spec.proxy_server, "https": spec.proxy_server}
        fs = fsspec.filesystem(
            "s3",
            key=spec.access_key,
            secret=spec.secret_key,
            client_kwargs=client_kwargs,
            config_kwargs=config_kwargs,
            use_listings_cache=False,  # other workers write too: never trust a cached listing
            skip_instance_cache=True,
        )
        try:
            accessible = fs.exists(spec.bucket)
        except OSError as e:
            raise BucketInaccessible(
                f"Store '{spec.name}': bucket {spec.bucket!r} at {endpoint} cannot be reached ({e})."
            ) from e
        if not accessible:
            raise BucketInaccessible(
                f"Store '{spec.name}': bucket {spec.bucket!r} does not exist at {endpoint} or these "
                "credentials cannot see it."
            )
        return fs

    def path(self, key: str) -> str:
        """The full fsspec path of ``key``."""
        return posixpath.join(self.root, key) if self.root else key

    @contextlib.contextmanager
    def _errors(self, action: str, key: str) -> Iterator[None]:
        # Callers see labjoin's store errors, never s3fs's or botocore's.
        try:
            yield
        except FileNotFoundError as e:
            raise MissingExternalFile(
                f"Store '{self.spec.name}': {self.path(key)} is missing (while trying to {action}). "
                "It was deleted or never uploaded; restore it from a backup or delete the rows that "
                "refer to it."
            ) from e
        except OSError as e:
            raise StoreError(f"Store '{self.spec.name}': could not {action} {self.path(key)}: {e}") from e

    # -- keys ------------------------------------------------------------------------------------

    def put(self, key: str, data: bytes | bytearray | memoryview, *, overwrite: bool = False) -> bool:
        """Store ``data`` under ``key``; return False when it already existed and was kept."""
        fs, path = self.fs, self.path(key)
        with self._errors("write", key):
            if not overwrite and fs.exists(path):
                return False
            if self.spec.protocol == "file":
                # Write then rename, so readers never see half a file (several workers may write).
                temp = f"{path}{_PARTIAL}{uuid.uuid4().hex}"
                fs.pipe_file(temp, bytes(data) if not isinstance(data, bytes) else data)
                fs.mv(temp, path)
            else:
                fs.pipe_file(path, bytes(data) if not isinstance(data, bytes) else data)
        return True

    def put_file(self, key: str, local_path: str | os.PathLike[str], *, overwrite: bool = False) -> bool:
        """Upload a local file under ``key`` without reading it into memory."""
        fs, path = self.fs, self.path(key)
        with self._errors("upload", key):
            if not overwrite and fs.exists(path):
                return False
            if self.spec.protocol == "file":
                temp = f"{path}{_PARTIAL}{uuid.uuid4().hex}"
                fs.put_file(os.fspath(local_path), temp)
                fs.mv(temp, path)
            else:
                fs.put_file(os.fspath(local_path), path)
        return True

    def get(self, key: str, *, checksum: uuid.UUID | None = None, checksum_prefix: bytes = b"") -> bytes:
        """Read ``key``; when ``checksum`` is given, check ``md5(checksum_prefix + data)`` against it.

        Raises
        ------
        MissingExternalFile
            There is no object under ``key``.
        ChecksumError
            The object's contents do not match ``checksum``.
        """
        with self._errors("read", key):
            data = self.fs.cat_file(self.path(key))
        if checksum is not None:
            actual = layout.blob_uuid(checksum_prefix + data if checksum_prefix else data)
            if actual != checksum:
                raise self._checksum_error(key, checksum, actual)
        return data

    def get_file(
        self,
        key: str,
        local_path: str | os.PathLike[str],
        *,
        checksum: uuid.UUID | None = None,
        checksum_prefix: bytes = b"",
    ) -> Path:
        """Download ``key`` to ``local_path`` (atomically), verifying ``checksum`` when given."""
        target = Path(local_path)
        target.parent.mkdir(parents=True, exist_ok=True)
        temp = target.with_name(f"{target.name}{_PARTIAL}{uuid.uuid4().hex}")
        try:
            with self._errors("download", key):
                self.fs.get_file(self.path(key), str(temp))
            if checksum is not None:
                actual = layout.file_uuid(temp, checksum_prefix)
                if actual != checksum:
                    raise self._checksum_error(key, checksum, actual)
            temp.replace(target)
        finally:
            temp.unlink(missing_ok=True)
        return target

    def _checksum_error(self, key: str, expected: uuid.UUID, actual: uuid.UUID) -> ChecksumError:
        return ChecksumError(
            f"Store '{self.spec.name}': {self.path(key)} does not match its recorded checksum "
            f"(expected {expected}, found {actual}). It was changed or corrupted after it was stored; "
            "restore it from a backup."
        )

    def exists(self, key: str) -> bool:
        """Whether an object is stored under ``key``."""
        with self._errors("check", key):
            return bool(self.fs.exists(self.path(key)))

    def size(self, key: str) -> int:
        """The size in bytes of the object under ``key``."""
        with self._errors("measure", key):
            return int(self.fs.size(self.path(key)))

    def remove(self, key: str) -> None:
        """Delete the object under ``key``; deleting a missing object is not an error."""
        fs, path = self.fs, self.path(key)
        with self._errors("delete", key), contextlib.suppress(FileNotFoundError):
            fs.rm_file(path)

    def list(self, prefix: str = "") -> list[str]:
        """Every key under ``prefix`` (recursively), sorted."""
        base = self.path(prefix.strip("/")) if prefix else self.root
        with self._errors("list", prefix):
            try:
                found = self.fs.find(base)
            except FileNotFoundError:
                return []
        root = self.fs._strip_protocol(self.root).rstrip("/") + "/" if self.root else ""
        keys = [p[len(root) :] if root and p.startswith(root) else p for p in found]
        return sorted(k for k in keys if _PARTIAL not in k)

    def put_many(self, items: Iterable[tuple[str, bytes]], *, overwrite: bool = False) -> list[bool]:
        """``put`` each ``(key, data)`` pair on a thread pool; results in input order."""
        return self._parallel(lambda kv: self.put(kv[0], kv[1], overwrite=overwrite), list(items))

    def get_many(self, keys: Sequence[str], *, checksums: Sequence[uuid.UUID | None] | None = None) -> list[bytes]:
        """``get`` each key on a thread pool (verifying ``checksums`` when given); input order."""
        if checksums is None:
            return self._parallel(self.get, list(keys))
        if len(checksums) != len(keys):
            raise StoreError(f"get_many: {len(keys)} keys but {len(checksums)} checksums.")
        return self._parallel(lambda kc: self.get(kc[0], checksum=kc[1]), list(zip(keys, checksums)))

    def _parallel(self, fn: Callable[[T], R], items: list[T]) -> list[R]:
        if len(items) <= 1 or self.max_workers <= 1:
            return [fn(it) for it in items]
        self.fs  # noqa: B018 - open the filesystem once, before the threads race to
        with ThreadPoolExecutor(max_workers=min(self.max_workers, len(items))) as pool:
            return list(pool.map(fn, items))  # re-raises the first failure, in input order

    # -- content addressing (DataJoint 0.14 layout) ------------------------------------------------

    def blob_key(self, schema: str, object_id: uuid.UUID) -> str:
        return layout.blob_key(schema, object_id, self.spec.subfolding)

    def attachment_key(self, schema: str, object_id: uuid.UUID, name: str) -> str:
        return layout.attachment_key(schema, object_id, name, self.spec.subfolding)

    def put_blob(self, schema: str, data: bytes) -> uuid.UUID:
        """Store a serialized blob under its content hash; identical blobs are written once."""
        object_id = layout.blob_uuid(data)
        self.put(self.blob_key(schema, object_id), data)
        return object_id

    def get_blob(self, schema: str, object_id: uuid.UUID) -> bytes:
        """Read a blob (from the cache when it holds it) and check it against its hash."""
        cached = self._from_cache(object_id)
        if cached is not None:
            return cached
        data = self.get(self.blob_key(schema, object_id), checksum=object_id)
        self._to_cache(object_id, data)
        return data

    def _cache_path(self, object_id: uuid.UUID) -> Path | None:
        if self.cache is None:
            return None
        return self.cache.joinpath(*layout.subfold(object_id.hex, _CACHE_SUBFOLDING), object_id.hex)

    def _from_cache(self, object_id: uuid.UUID) -> bytes | None:
        path = self._cache_path(object_id)
        if path is None or not path.is_file():
            return None
        data = path.read_bytes()
        if layout.blob_uuid(data) != object_id:
            # A damaged cache copy is only a copy: say so, and fall back to the store.
            log.warning("Cached blob %s does not match its hash; fetching it from store %r again.",
                        path, self.spec.name)
            return None
        return data

    def _to_cache(self, object_id: uuid.UUID, data: bytes) -> None:
        path = self._cache_path(object_id)
        if path is None:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        temp = path.with_name(f"{path.name}{_PARTIAL}{uuid.uuid4().hex}")
        temp.write_bytes(data)
        temp.replace(path)

    def put_blobs(self, schema: str, blobs: Iterable[bytes]) -> list[uuid.UUID]:
        """``put_blob`` many blobs in parallel; returns their hashes in input order."""
        blobs = list(blobs)
        ids = [layout.blob_uuid(b) for b in blobs]
        unique = dict(zip(ids, blobs))  # one upload per distinct content
        self.put_many([(self.blob_key(schema, i), b) for i, b in unique.items()])
        return ids

    def get_blobs(self, schema: str, object_ids: Sequence[uuid.UUID]) -> list[bytes]:
        """``get_blob`` many blobs in parallel, each verified; input order."""
        out: list[bytes | None] = [self._from_cache(i) for i in object_ids]
        todo = sorted({i for i, data in zip(object_ids, out) if data is None}, key=lambda i: i.hex)
        fetched = dict(zip(todo, self.get_many([self.blob_key(schema, i) for i in todo], checksums=todo)))
        for i, data in fetched.items():
            self._to_cache(i, data)
        return [data if data is not None else fetched[i] for i, data in zip(object_ids, out)]

    def put_attachment(self, schema: str, local_path: str | os.PathLike[str]) -> uuid.UUID:
        """Upload a file as an attachment; its hash covers its name and contents."""
        path = Path(local_path)
        object_id = layout.attachment_uuid(path.name, path=path)
        self.put_file(self.attachment_key(schema, object_id, path.name), path)
        return object_id

    def get_attachment(
        self, schema: str, object_id: uuid.UUID, name: str, download_path: str | os.PathLike[str] = "."
    ) -> Path:
        """Download an attachment into ``download_path`` and return its local path.

        A file already there with the same name and contents is reused. A different file of that
        name is left alone, and the attachment is saved as ``stem_0001.ext`` (the next free number),
        as DataJoint does.
        """
        prefix = name.encode() + b"\0"
        target = Path(download_path) / name
        stem, suffix = target.stem, target.suffix
        n = 0
        while target.is_file():
            if layout.file_uuid(target, prefix) == object_id:
                return target
            n += 1
            target = target.with_name(f"{stem}_{n:04x}{suffix}")
        key = self.attachment_key(schema, object_id, name)
        return self.get_file(key, target, checksum=object_id, checksum_prefix=prefix)

    def stage(self) -> Path:
        if self.spec.stage is None:
            raise StoreError(
                f"Store '{self.spec.name}' has no 'stage': filepath@{self.spec.name} needs the local "
                "directory its paths are relative to."
            )
        return Path(self.spec.stage).absolute()

    def put_filepath(self, local_path: str | os.PathLike[str]) -> FilepathRecord:
        """Upload a file under its path relative to the stage; identical files are not re-sent.

        Returns the :class:`FilepathRecord` the tracking table keeps. The caller (which knows the
        table) must refuse a different file under a relative path already recorded.
        """
        path = Path(local_path).absolute()
        try:
            relative = path.relative_to(self.stage()).as_posix()
        except ValueError:
            raise StoreError(
                f"The file {str(path)!r} is not inside the stage {str(self.stage())!r} of store "
                f"'{self.spec.name}'."
            ) from None
        key = layout.filepath_key(relative)
        contents = layout.file_uuid(path)
        size = path.stat().st_size
        if not self._holds(key, size, contents):
            self.put_file(key, path, overwrite=True)
        return FilepathRecord(layout.filepath_uuid(relative), relative, contents, size)

    def _holds(self, key: str, size: int, contents: uuid.UUID) -> bool:
        """Whether ``key`` already holds exactly this file (checked cheaply, else assumed not)."""
        if not self.exists(key) or self.size(key) != size:
            return False
        if self.spec.protocol != "file":
            return False  # hashing a remote copy means downloading it: uploading again is cheaper
        with self._errors("read", key), self.fs.open(self.path(key), "rb") as f:
            return layout.stream_uuid(f) == contents

    def get_filepath(self, relative_path: str, contents_hash: uuid.UUID | None = None) -> Path:
        """Make the file available under the stage and return its local path.

        A local copy whose contents match ``contents_hash`` is used as it is; otherwise the file
        is downloaded (and verified when ``contents_hash`` is given).
        """
        key = layout.filepath_key(relative_path)
        local = self.stage() / key
        if local.is_file() and contents_hash is not None and layout.file_uuid(local) == contents_hash:
            return local
        return self.get_file(key, local, checksum=contents_hash)
