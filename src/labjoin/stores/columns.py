"""Store-backed columns: encoding on insert and decoding on fetch, a whole column at a time.

``heading/codecs.py`` hands every attribute with a store here. Two storage formats exist:

- **DataJoint 0.14** (``blob@s``, ``attach@s``, ``filepath@s``): the row holds a 16-byte hash
  (``uuid`` on PostgreSQL) with a foreign key into the schema's ``~external_<s>`` tracking table
  (:mod:`labjoin.stores.tracking`); objects live at DataJoint's content-addressed keys
  (:mod:`labjoin.stores.layout`).
- **DataJoint 2.x** (``<blob@s>``, ``<attach@s>``, ``<hash@s>``, ``<object@s>``, ``<npy@s>``,
  ``<filepath@s>``): the row holds JSON metadata naming the object (:mod:`labjoin.stores.objects`).

A column is encoded and decoded in one pass: all its objects are uploaded with the store's thread
pool (duplicates once) and fetched the same way (``Store.get_blobs``/``get_many``), so fetching
a thousand rows costs about as many round trips as the pool has threads, not a thousand. Every
object is verified against its hash on the way back: a corrupted one raises ``ChecksumError`` and
a missing one ``MissingExternalFile``, each naming the store path and the row's key.

What a codec needs besides the value (the connection, the schema and table written, the rows'
keys) comes from :data:`labjoin.heading.codecs.codec_context`, set by insert and fetch.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import math
import mimetypes
import os
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import numpy as np

from .. import errors
from ..heading.codecs import CodecContext, codec_context, to_python
from ..heading.heading import Attribute
from . import layout, tracking
from .objects import NpyRef, ObjectRef, b32_hash, b32_to_uuid, hash_key, schema_key
from .registry import options_for, store_for
from .store import Store

__all__ = ["encode_external_column", "external_decoder", "external_encoder"]

T = TypeVar("T")
R = TypeVar("R")
_LEGACY = {"BLOB": "blob14", "ATTACH": "attach14", "FILEPATH": "filepath14"}
_CODECS = {"BLOB": "blob", "ATTACH": "attach", "HASH": "hash", "OBJECT": "object", "NPY": "npy",
           "FILEPATH": "filepath"}
_RESERVED = ("_hash/", "_schema/")


def _kind(attr: Attribute) -> str:
    t = attr.type
    table = _LEGACY if t.codec is None else _CODECS
    kind = table.get(attr.category)
    if kind is None:
        raise errors.UnsupportedOperation(f"type {attr.declared_type} (a user codec with a store)", "labjoin")
    return kind


def _isnull(v: Any) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def _pool_map(fn: Callable[[T], R], items: Sequence[T], workers: int) -> list[R]:
    """``map`` on a thread pool (in order; the first failure is raised), serial for one item."""
    if len(items) <= 1 or workers <= 1:
        return [fn(x) for x in items]
    with ThreadPoolExecutor(max_workers=min(workers, len(items))) as pool:
        return list(pool.map(fn, items))


def _context(attr: Attribute, action: str) -> CodecContext:
    ctx = codec_context.get()
    if ctx is None:
        raise errors.DataJointError(
            f"Attribute `{attr.name}` ({attr.declared_type}) keeps its values in a store and can only be "
            f"{action} through a table (insert/fetch), which knows the connection and schema."
        )
    return ctx


def _schema_of(attr: Attribute, ctx: CodecContext | None) -> str:
    """The schema whose ``~external_<store>`` table (and store folder) a 0.14 column uses.

    The column's foreign key to the tracking table gives its lineage
    ``schema.~external_<store>.hash``, which survives joins and renames; a query over one table
    also knows its schema.
    """
    if attr.lineage:
        schema, table, _ = [*attr.lineage.split(".", 2), "", ""][:3]
        if table.startswith(tracking.TRACKING_PREFIX):
            return schema
    if ctx is not None and ctx.database:
        return ctx.database
    raise errors.DataJointError(
        f"Cannot tell which schema's ~external_{attr.type.store} table attribute `{attr.name}` refers to: "
        "its foreign key to the tracking table is missing. Fetch it from its own table."
    )


def _where(attr: Attribute, ctx: CodecContext | None, rows: Sequence[int]) -> str:
    """Which row a failing object belongs to, for error messages."""
    if not rows:
        return f"(attribute `{attr.name}`)"
    key = None
    if ctx is not None and ctx.row_key is not None:
        key = ctx.row_key(rows[0])
    table = f" of `{ctx.database}`.`{ctx.table}`" if ctx is not None and ctx.table else ""
    more = f" and {len(rows) - 1} more row(s)" if len(rows) > 1 else ""
    return f"It is the value of attribute `{attr.name}`{table} in the row with key {key}{more}."


def _reraise(e: errors.StoreError, attr: Attribute, ctx: CodecContext | None,
             ids: Sequence[Any], candidates: Sequence[Any], text: Callable[[Any], str]) -> NoReturn:
    """Raise ``e`` again (same class) with the row that holds the failing object."""
    bad = next((c for c in candidates if text(c) in str(e)), None)
    rows = [i for i, x in enumerate(ids) if bad is not None and x == bad]
    raise type(e)(f"{e} {_where(attr, ctx, rows)}") from e


# -- encoding ----------------------------------------------------------------------------------------
def external_encoder(attr: Attribute, backend: str) -> Callable[[Any], Any]:
    """The per-value encoder: used by ``update1`` (in a write context) and by restrictions.

    In a restriction a 0.14 column can be compared with an object's hash (a ``uuid.UUID``);
    nothing else about a stored object can be searched for.
    """
    if not attr.is_external:
        if attr.category == "YEAR":
            return lambda v: int(to_python(v))
        raise errors.UnsupportedOperation(f"type {attr.declared_type}", backend)
    kind = _kind(attr)

    def enc(v: Any) -> Any:
        ctx = codec_context.get()
        if ctx is not None and ctx.writing:
            return encode_external_column(attr, backend, [v])[0]
        if kind.endswith("14") and isinstance(v, uuid.UUID):
            return v if backend == "postgresql" else v.bytes
        raise errors.QueryError(
            f"Cannot restrict by attribute `{attr.name}` ({attr.declared_type}): its values live in a store. "
            "Restrict by the primary key instead."
        )

    return enc


def encode_external_column(attr: Attribute, backend: str, values: list[Any]) -> list[Any]:
    """Store every value of one column and return what the rows hold (hashes or JSON)."""
    kind = _kind(attr)
    ctx = _context(attr, "written")
    if not ctx.writing or not ctx.database:
        raise errors.DataJointError(f"Attribute `{attr.name}` can only be written by insert or update1.")
    out: list[Any] = [None] * len(values)
    todo = [i for i, v in enumerate(values) if not _isnull(v)]
    if not todo:
        return out
    vals = [values[i] for i in todo]
    encoded = _ENCODERS[kind](attr, ctx, vals, todo)
    for i, e in zip(todo, encoded):
        out[i] = e
    return out


def _pack_all(vals: list[Any]) -> list[bytes]:
    from ..heading.blob import pack
    from ..settings import config

    compress = config.get("blob.compress", "auto")
    return [pack(v, compress=compress) for v in vals]


def _put_new(store: Store, items: dict[str, bytes]) -> None:
    """Upload objects that are not there yet (content-addressed: an existing one is identical)."""
    store.put_many(list(items.items()))


def _enc_blob14(attr: Attribute, ctx: CodecContext, vals: list[Any], rows: list[int]) -> list[Any]:
    conn, schema, name = ctx.connection, ctx.database or "", attr.type.store
    store = store_for(name)
    packed = _pack_all(vals)
    ids = [layout.blob_uuid(p) for p in packed]
    tracking.upsert(conn, schema, name, [tracking.TrackRow(i, len(p)) for i, p in zip(ids, packed)])
    _put_new(store, {store.blob_key(schema, i): p for i, p in zip(ids, packed)})
    return [tracking.to_param(conn, i) for i in ids]


def _files(attr: Attribute, vals: list[Any]) -> list[Path]:
    paths = []
    for v in vals:
        p = Path(os.fspath(v)) if isinstance(v, (str, os.PathLike)) else None
        if p is None or not p.is_file():
            raise errors.DataError(
                f"Value {v!r} does not fit attribute `{attr.name}` of type {attr.declared_type}: expected the "
                "path of an existing file."
            )
        paths.append(p)
    return paths


def _enc_attach14(attr: Attribute, ctx: CodecContext, vals: list[Any], rows: list[int]) -> list[Any]:
    conn, schema, name = ctx.connection, ctx.database or "", attr.type.store
    store = store_for(name)
    paths = _files(attr, vals)
    ids = _pool_map(lambda p: layout.attachment_uuid(p.name, path=p), paths, store.max_workers)
    tracking.upsert(conn, schema, name, [tracking.TrackRow(i, p.stat().st_size, attachment_name=p.name)
                                         for i, p in zip(ids, paths)])
    unique = {store.attachment_key(schema, i, p.name): p for i, p in zip(ids, paths)}
    _pool_map(lambda kp: store.put_file(kp[0], kp[1]), list(unique.items()), store.max_workers)
    return [tracking.to_param(conn, i) for i in ids]


def _enc_filepath14(attr: Attribute, ctx: CodecContext, vals: list[Any], rows: list[int]) -> list[Any]:
    from ..settings import config

    conn, schema, name = ctx.connection, ctx.database or "", attr.type.store
    store = store_for(name)
    stage = store.stage()
    limit = config.get("filepath_checksum_size_limit")
    records: dict[uuid.UUID, tuple[tracking.TrackRow, Path]] = {}
    ids = []
    for p in _files(attr, vals):
        p = p.absolute()
        try:
            rel = p.relative_to(stage).as_posix()
        except ValueError:
            raise errors.DataError(
                f"The file {str(p)!r} is not inside the stage {str(stage)!r} of store '{name}' "
                f"(attribute `{attr.name}`): move it under the stage, or fix the store's 'stage'."
            ) from None
        size = p.stat().st_size
        contents = None if limit is not None and size > limit else layout.file_uuid(p)
        h = layout.filepath_uuid(rel)
        records[h] = (tracking.TrackRow(h, size, filepath=rel, contents_hash=contents), p)
        ids.append(h)
    existing = tracking.lookup(conn, schema, name, records)
    for h, (row, _) in records.items():
        old = existing.get(h)
        if old is not None and old.contents_hash != row.contents_hash:
            raise errors.DataError(
                f"A different version of '{row.filepath}' has already been placed in store '{name}' "
                f"(schema `{schema}`). Give the new version another path, or delete the rows that use the old one "
                "and collect garbage first."
            )
    tracking.upsert(conn, schema, name, [r for r, _ in records.values()])

    def upload(item: tuple[tracking.TrackRow, Path]) -> None:
        row, path = item
        key = layout.filepath_key(row.filepath or "")
        if row.hash in existing and store.exists(key) and store.size(key) == row.size:
            return  # DataJoint's rule: a tracked file with the same contents is not sent again
        store.put_file(key, path, overwrite=True)

    _pool_map(upload, list(records.values()), store.max_workers)
    return [tracking.to_param(conn, h) for h in ids]


def _hash_meta(attr: Attribute, ctx: CodecContext, datas: list[bytes]) -> list[str]:
    """Store ``datas`` hash-addressed (``_hash/<schema>/...``); the JSON each row keeps."""
    name = attr.type.store or None
    store, options = store_for(name), options_for(name)
    schema = ctx.database or ""
    hashes = [b32_hash(d) for d in datas]
    keys = [hash_key(schema, h, options.subfolding) for h in hashes]
    _put_new(store, dict(zip(keys, datas)))
    return [json.dumps({"hash": h, "path": k, "schema": schema, "store": name, "size": len(d)})
            for h, k, d in zip(hashes, keys, datas)]


def _enc_hash(attr: Attribute, ctx: CodecContext, vals: list[Any], rows: list[int]) -> list[Any]:
    for v in vals:
        if not isinstance(v, (bytes, bytearray, memoryview)):
            raise errors.DataError(f"Attribute `{attr.name}` ({attr.declared_type}) takes bytes, not "
                                   f"{type(v).__name__}; use <blob@...> for Python objects.")
    return _hash_meta(attr, ctx, [bytes(v) for v in vals])


def _enc_blob(attr: Attribute, ctx: CodecContext, vals: list[Any], rows: list[int]) -> list[Any]:
    return _hash_meta(attr, ctx, _pack_all(vals))


def _enc_attach(attr: Attribute, ctx: CodecContext, vals: list[Any], rows: list[int]) -> list[Any]:
    return _hash_meta(attr, ctx, [p.name.encode() + b"\0" + p.read_bytes() for p in _files(attr, vals)])


def _row_keys(attr: Attribute, ctx: CodecContext, rows: list[int]) -> list[dict[str, Any]]:
    if ctx.row_key is None or not ctx.table:
        raise errors.DataJointError(f"Attribute `{attr.name}` ({attr.declared_type}) is stored under its row's "
                                    "primary key: write it with insert, which knows the key.")
    return [ctx.row_key(i) for i in rows]


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat()


def _enc_object(attr: Attribute, ctx: CodecContext, vals: list[Any], rows: list[int]) -> list[Any]:
    name = attr.type.store or None
    store, options = store_for(name), options_for(name)
    keys = _row_keys(attr, ctx, rows)

    def one(item: tuple[Any, dict[str, Any]]) -> str:
        v, key = item
        if isinstance(v, dict) and "path" in v:
            return json.dumps(v)  # metadata of an object already stored (DataJoint's staged insert)
        ext, data, source = None, None, None
        if isinstance(v, (bytes, bytearray, memoryview)):
            data = bytes(v)
        elif isinstance(v, tuple) and len(v) == 2:
            ext, payload = v
            data = payload.read() if hasattr(payload, "read") else bytes(payload)
        elif isinstance(v, (str, os.PathLike)):
            source = Path(os.fspath(v))
            if not source.exists():
                raise errors.DataError(f"Attribute `{attr.name}`: {str(source)!r} does not exist.")
            ext = None if source.is_dir() else (source.suffix or None)
        else:
            raise errors.DataError(f"Attribute `{attr.name}` ({attr.declared_type}) takes bytes, (ext, bytes) or "
                                   f"the path of a file or folder, not {type(v).__name__}.")
        path = schema_key(ctx.database or "", ctx.table or "", attr.name, key, ext, options.token_length)
        meta: dict[str, Any] = {"path": path, "store": name, "ext": ext, "is_dir": False, "item_count": None}
        if source is not None and source.is_dir():
            meta.update(_put_folder(store, source, path), is_dir=True)
        else:
            if data is None:
                data = source.read_bytes() if source is not None else b""
            store.put(path, data)
            meta.update(size=len(data), hash=b32_hash(data))
            mime = mimetypes.guess_type("x" + (ext or ""))[0]
            if mime:
                meta["mime_type"] = mime
        meta["timestamp"] = _now()
        return json.dumps(meta)

    return _pool_map(one, list(zip(vals, keys)), store.max_workers)


def _put_folder(store: Store, source: Path, path: str) -> dict[str, Any]:
    files = sorted(f for f in source.rglob("*") if f.is_file())
    listing = [{"path": f.relative_to(source).as_posix(), "size": f.stat().st_size} for f in files]
    _pool_map(lambda f: store.put_file(f"{path}/{f.relative_to(source).as_posix()}", f), files, store.max_workers)
    manifest = {"files": listing, "total_size": sum(x["size"] for x in listing), "item_count": len(listing),
                "created": _now()}
    store.put(f"{path}.manifest.json", json.dumps(manifest, indent=2).encode(), overwrite=True)
    return {"size": manifest["total_size"], "item_count": len(listing)}


def _enc_npy(attr: Attribute, ctx: CodecContext, vals: list[Any], rows: list[int]) -> list[Any]:
    name = attr.type.store or None
    store, options = store_for(name), options_for(name)
    keys = _row_keys(attr, ctx, rows)

    def one(item: tuple[Any, dict[str, Any]]) -> str:
        v, key = item
        if not isinstance(v, np.ndarray) or v.dtype == object:
            raise errors.DataError(f"Attribute `{attr.name}` ({attr.declared_type}) takes a NumPy array of a "
                                   f"non-object dtype, not {type(v).__name__}.")
        buf = io.BytesIO()
        np.save(buf, v, allow_pickle=False)
        data = buf.getvalue()
        path = schema_key(ctx.database or "", ctx.table or "", attr.name, key, ".npy", options.token_length)
        store.put(path, data)
        return json.dumps({"path": path, "store": name, "dtype": str(v.dtype), "shape": list(v.shape),
                           "hash": b32_hash(data)})

    return _pool_map(one, list(zip(vals, keys)), store.max_workers)


def _enc_filepath(attr: Attribute, ctx: CodecContext, vals: list[Any], rows: list[int]) -> list[Any]:
    name = attr.type.store or None
    store = store_for(name)

    def one(v: Any) -> str:
        path = str(v).replace("\\", "/")
        rel = path.lstrip("/")
        if rel.startswith(_RESERVED):
            raise errors.DataError(f"Attribute `{attr.name}`: {path!r} is in a section of the store that labjoin "
                                   "manages (_hash/, _schema/); reference files outside it.")
        layout.filepath_key(rel)  # refuses '..' and absolute paths
        if not store.exists(rel):
            raise errors.MissingExternalFile(f"Attribute `{attr.name}`: {store.path(rel)} is not in store "
                                             f"'{store.spec.name}'. <filepath@> refers to files already there.")
        return json.dumps({"path": path, "store": name, "size": store.size(rel), "is_dir": False,
                           "timestamp": _now()})

    return _pool_map(one, vals, store.max_workers)


_ENCODERS: dict[str, Callable[[Attribute, CodecContext, list[Any], list[int]], list[Any]]] = {
    "blob14": _enc_blob14, "attach14": _enc_attach14, "filepath14": _enc_filepath14, "hash": _enc_hash,
    "blob": _enc_blob, "attach": _enc_attach, "object": _enc_object, "npy": _enc_npy,
    "filepath": _enc_filepath,
}


# -- decoding ----------------------------------------------------------------------------------------
def external_decoder(attr: Attribute, backend: str, *, squeeze: bool = False,
                     download_path: str | os.PathLike[str] = ".") -> Callable[[Sequence[Any]], Any] | None:
    """The column decoder of a store-backed attribute (None for other leftover types)."""
    if not attr.is_external:
        return None
    kind = _kind(attr)

    def dec(col: Sequence[Any]) -> list[Any]:
        ctx = codec_context.get()
        if kind.endswith("14"):
            return _DECODERS14[kind](attr, ctx, [tracking.to_uuid(v) for v in col], squeeze, Path(download_path))
        metas = [None if v is None else (json.loads(v) if isinstance(v, (str, bytes)) else v) for v in col]
        return _decode_v2(kind, attr, ctx, metas, squeeze, Path(download_path))

    return dec


def _dec_blob14(attr: Attribute, ctx: CodecContext | None, ids: list[uuid.UUID | None], squeeze: bool,
                download_path: Path) -> list[Any]:
    from ..heading.blob import unpack

    schema = _schema_of(attr, ctx)
    store = store_for(attr.type.store)
    unique = list(dict.fromkeys(i for i in ids if i is not None))
    try:
        data = dict(zip(unique, store.get_blobs(schema, unique)))
    except (errors.ChecksumError, errors.MissingExternalFile) as e:
        _reraise(e, attr, ctx, ids, unique, lambda u: u.hex)
    return [None if i is None else unpack(data[i], squeeze=squeeze) for i in ids]


def _tracked(attr: Attribute, ctx: CodecContext | None, ids: list[uuid.UUID | None]
             ) -> tuple[str, Store, dict[uuid.UUID, tracking.TrackRow]]:
    ctx = ctx or _context(attr, "read")
    schema = _schema_of(attr, ctx)
    rows = tracking.lookup(ctx.connection, schema, attr.type.store, [i for i in ids if i is not None])
    missing = [n for n, i in enumerate(ids) if i is not None and i not in rows]
    if missing:
        raise errors.MissingExternalFile(
            f"`{schema}`.`~external_{attr.type.store}` has no row for hash {ids[missing[0]]}. "
            + _where(attr, ctx, missing)
        )
    return schema, store_for(attr.type.store), rows


def _dec_attach14(attr: Attribute, ctx: CodecContext | None, ids: list[uuid.UUID | None], squeeze: bool,
                  download_path: Path) -> list[Any]:
    schema, store, rows = _tracked(attr, ctx, ids)
    # Attachments of the same name go one after the other: the free name (name_0001.ext) that a
    # second, different file gets depends on what the first left there.
    by_name: dict[str, list[uuid.UUID]] = {}
    for h in dict.fromkeys(i for i in ids if i is not None):
        by_name.setdefault(rows[h].attachment_name or "", []).append(h)

    def fetch_group(group: list[uuid.UUID]) -> list[tuple[uuid.UUID, str]]:
        return [(h, str(store.get_attachment(schema, h, rows[h].attachment_name or "", download_path)))
                for h in group]

    try:
        done = dict(pair for group in _pool_map(fetch_group, list(by_name.values()), store.max_workers)
                    for pair in group)
    except (errors.ChecksumError, errors.MissingExternalFile) as e:
        _reraise(e, attr, ctx, ids, list(rows), lambda u: u.hex)
    return [None if i is None else done[i] for i in ids]


def _dec_filepath14(attr: Attribute, ctx: CodecContext | None, ids: list[uuid.UUID | None], squeeze: bool,
                    download_path: Path) -> list[Any]:
    _, store, rows = _tracked(attr, ctx, ids)
    root = store.stage() if store.spec.stage is not None else download_path.absolute()

    def get(row: tracking.TrackRow) -> str:
        rel = row.filepath or ""
        local = root / layout.filepath_key(rel)
        if local.is_file() and row.contents_hash is not None and layout.file_uuid(local) == row.contents_hash:
            return str(local)
        return str(store.get_file(layout.filepath_key(rel), local, checksum=row.contents_hash))

    unique = list(dict.fromkeys(i for i in ids if i is not None))
    try:
        done = dict(zip(unique, _pool_map(lambda h: get(rows[h]), unique, store.max_workers)))
    except (errors.ChecksumError, errors.MissingExternalFile) as e:
        _reraise(e, attr, ctx, ids, [rows[h] for h in unique], lambda r: r.filepath or "\0")
    return [None if i is None else done[i] for i in ids]


_DECODERS14: dict[str, Callable[..., list[Any]]] = {
    "blob14": _dec_blob14, "attach14": _dec_attach14, "filepath14": _dec_filepath14,
}


def _decode_v2(kind: str, attr: Attribute, ctx: CodecContext | None, metas: list[Any], squeeze: bool,
               download_path: Path) -> list[Any]:
    if kind in ("object", "npy", "filepath"):
        stores = {name: store_for(name) for name in {m.get("store") for m in metas if m is not None}}
        if kind == "npy":
            return [None if m is None else NpyRef(m, stores[m.get("store")]) for m in metas]
        return [None if m is None else ObjectRef.from_json(m, stores[m.get("store")]) for m in metas]
    data = _get_hashed(attr, ctx, metas)
    if kind == "hash":
        return data
    if kind == "blob":
        from ..heading.blob import unpack

        return [None if d is None else unpack(d, squeeze=squeeze) for d in data]
    return [None if d is None else _save_attachment(d, download_path) for d in data]


def _get_hashed(attr: Attribute, ctx: CodecContext | None, metas: list[Any]) -> list[bytes | None]:
    """Fetch hash-addressed objects, one parallel ``get_many`` per store, each verified."""
    by_store: dict[str | None, dict[str, uuid.UUID]] = {}
    for m in metas:
        if m is not None:
            by_store.setdefault(m.get("store"), {})[m["path"]] = b32_to_uuid(m["hash"])
    fetched: dict[tuple[str | None, str], bytes] = {}
    for name, wanted in by_store.items():
        store = store_for(name)
        paths = list(wanted)
        try:
            got = store.get_many(paths, checksums=[wanted[p] for p in paths])
        except (errors.ChecksumError, errors.MissingExternalFile) as e:
            _reraise(e, attr, ctx, [None if m is None else m["path"] for m in metas], paths, store.path)
        fetched.update(((name, p), d) for p, d in zip(paths, got))
    return [None if m is None else fetched[(m.get("store"), m["path"])] for m in metas]


def _save_attachment(data: bytes, download_path: Path) -> str:
    """Write ``name\\0contents`` into ``download_path`` as DataJoint 2.x does (``name_1.ext`` on a clash)."""
    name, sep, contents = data.partition(b"\0")
    if not sep:
        raise errors.DataError("An attachment object is corrupt: it has no file name separator.")
    download_path.mkdir(parents=True, exist_ok=True)
    target = download_path / name.decode()
    n = 0
    while target.exists() and target.read_bytes() != contents:
        n += 1
        target = download_path / f"{Path(name.decode()).stem}_{n}{Path(name.decode()).suffix}"
    if not target.exists():
        target.write_bytes(contents)
    return str(target)
