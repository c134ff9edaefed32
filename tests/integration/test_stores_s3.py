"""Object stores against a real S3-compatible HTTP server on loopback (moto's standalone server).

The server is started by the fixture on a free port of 127.0.0.1; labjoin talks to it through
s3fs and botocore over HTTP, exactly as it would to MinIO or AWS. Without moto or s3fs installed
the tests skip, unless LABJOIN_REQUIRE_SERVERS=1, which makes that a failure.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from labjoin.errors import BucketInaccessible, ChecksumError, MissingExternalFile
from labjoin.stores import Store, StoreSpec, layout

REQUIRE = os.environ.get("LABJOIN_REQUIRE_SERVERS", "") not in ("", "0", "false")
ACCESS_KEY, SECRET_KEY = "blob_test_key", "blob_test_secret"


def _need(module: str) -> None:
    try:
        __import__(module)
    except ImportError:
        msg = f"{module} is not installed: pip install 'moto[server]' s3fs"
        if REQUIRE:
            pytest.fail(msg + " (LABJOIN_REQUIRE_SERVERS=1 makes this a failure)")
        pytest.skip(msg)


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    _need("moto.server")
    _need("s3fs")
    _need("boto3")
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"{host}:{port}"
    finally:
        server.stop()


def _spec(endpoint: str, bucket: str, **extra: object) -> StoreSpec:
    return StoreSpec.from_dict("cloud", {
        "protocol": "s3", "endpoint": endpoint, "bucket": bucket, "location": "/blob_lab/store",
        "access_key": ACCESS_KEY, "secret_key": SECRET_KEY, "secure": False, **extra,
    })


@pytest.fixture
def s3_store(s3_endpoint: str) -> Iterator[Store]:
    import boto3

    bucket = f"blob-test-{uuid.uuid4().hex[:8]}"
    client = boto3.client("s3", endpoint_url=f"http://{s3_endpoint}", region_name="us-east-1",
                          aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY)
    client.create_bucket(Bucket=bucket)
    yield Store(_spec(s3_endpoint, bucket), max_workers=8)
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for obj in page.get("Contents", []):
            client.delete_object(Bucket=bucket, Key=obj["Key"])
    client.delete_bucket(Bucket=bucket)


def test_blob_round_trip_in_datajoint_layout(s3_store: Store) -> None:
    object_id = s3_store.put_blob("lab_sch", b"hello")
    key = f"lab_sch/5d/41/{object_id.hex}"
    assert s3_store.blob_key("lab_sch", object_id) == key
    assert s3_store.fs.cat_file(f"{s3_store.spec.bucket}/blob_lab/store/{key}") == b"hello"
    assert s3_store.get_blob("lab_sch", object_id) == b"hello"
    assert s3_store.exists(key)
    assert s3_store.size(key) == 5
    assert s3_store.list() == [key]
    s3_store.remove(key)
    assert not s3_store.exists(key)
    s3_store.remove(key)


def test_dedup_writes_once(s3_store: Store) -> None:
    key = s3_store.blob_key("s", s3_store.put_blob("s", b"payload"))
    assert s3_store.put(key, b"payload") is False
    ids = s3_store.put_blobs("s", [b"payload", b"other", b"payload"])
    assert ids[0] == ids[2]
    assert len(s3_store.list("s")) == 2


def test_checksum_failure_and_missing(s3_store: Store) -> None:
    object_id = s3_store.put_blob("s", b"original")
    s3_store.put(s3_store.blob_key("s", object_id), b"tampered", overwrite=True)
    with pytest.raises(ChecksumError):
        s3_store.get_blob("s", object_id)
    with pytest.raises(MissingExternalFile):
        s3_store.get_blob("s", layout.blob_uuid(b"never stored"))
    with pytest.raises(MissingExternalFile):
        s3_store.size("s/none")


def test_parallel_transfers(s3_store: Store) -> None:
    blobs = [os.urandom(64 << 10) for _ in range(24)]
    ids = s3_store.put_blobs("p", blobs)
    assert len(s3_store.list("p")) == 24
    assert s3_store.get_blobs("p", ids) == blobs


def test_attachment_and_filepath(s3_endpoint: str, s3_store: Store, tmp_path: Path) -> None:
    src = tmp_path / "notes.txt"
    src.write_bytes(b"attachment body")
    object_id = s3_store.put_attachment("s", src)
    got = s3_store.get_attachment("s", object_id, "notes.txt", tmp_path / "dl")
    assert got.read_bytes() == b"attachment body"

    stage = tmp_path / "stage"
    (stage / "sess").mkdir(parents=True)
    (stage / "sess" / "spikes.npy").write_bytes(b"\x93NUMPY fake")
    staged = Store(_spec(s3_endpoint, s3_store.spec.bucket or "", stage=str(stage)))
    record = staged.put_filepath(stage / "sess" / "spikes.npy")
    assert staged.exists("sess/spikes.npy")
    (stage / "sess" / "spikes.npy").unlink()
    assert staged.get_filepath(record.relative_path, record.contents_hash).read_bytes() == b"\x93NUMPY fake"


def test_missing_bucket(s3_endpoint: str) -> None:
    store = Store(_spec(s3_endpoint, "blob-test-no-such-bucket"))
    with pytest.raises(BucketInaccessible, match="does not exist"):
        store.exists("x")
