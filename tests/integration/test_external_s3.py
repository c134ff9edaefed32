"""Store-backed columns on an S3 store: a real S3-compatible server (moto's) on loopback.

Every type round-trips on every backend through s3fs and HTTP; a tampered object is reported with
its row; garbage collection works against the bucket (object ages from S3's LastModified); a
column's objects are fetched concurrently. Without moto or s3fs the tests skip, unless
LABJOIN_REQUIRE_SERVERS=1, which makes that a failure.
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import labjoin as dj
from labjoin import errors
from labjoin.stores import Store
from labjoin.stores.gc import collect_garbage

REQUIRE = os.environ.get("LABJOIN_REQUIRE_SERVERS", "") not in ("", "0", "false")
KEY, SECRET = "extstore_key", "extstore_secret"


def _need(module: str) -> None:
    try:
        __import__(module)
    except ImportError:
        msg = f"{module} is not installed: pip install 'moto[server]' s3fs"
        if REQUIRE:
            pytest.fail(msg + " (LABJOIN_REQUIRE_SERVERS=1 makes this a failure)")
        pytest.skip(msg)


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    for module in ("moto.server", "s3fs", "boto3"):
        _need(module)
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def schema_name() -> str:
    return f"extstore_{uuid.uuid4().hex[:10]}"


@pytest.fixture
def bucket(endpoint: str, tmp_path: Path) -> Iterator[Any]:
    import boto3

    name = f"extstore-{uuid.uuid4().hex[:8]}"
    client = boto3.client("s3", endpoint_url=f"http://{endpoint}", region_name="us-east-1",
                          aws_access_key_id=KEY, aws_secret_access_key=SECRET)
    client.create_bucket(Bucket=name)
    stage = tmp_path / "stage"
    stage.mkdir()
    spec = {"protocol": "s3", "endpoint": endpoint, "bucket": name, "location": "lab/objects",
            "access_key": KEY, "secret_key": SECRET, "secure": False, "stage": str(stage)}
    with dj.config(stores={"cloud": spec}):
        yield client, name, stage
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=name):
        for obj in page.get("Contents", []):
            client.delete_object(Bucket=name, Key=obj["Key"])
    client.delete_bucket(Bucket=name)


def _keys(client: Any, bucket: str) -> set[str]:
    out = set()
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        out |= {o["Key"] for o in page.get("Contents", [])}
    return out


@pytest.fixture
def table(make_schema: Any, bucket: Any) -> Any:
    schema = make_schema()

    @schema
    class Cloud(dj.Manual):
        definition = """
        id: int
        ---
        b14: blob@cloud
        a14=null: attach@cloud
        f14=null: filepath@cloud
        b2=null: <blob@cloud>
        a2=null: <attach@cloud>
        h2=null: <hash@cloud>
        n2=null: <npy@cloud>
        o2=null: <object@cloud>
        """

    return Cloud


def test_every_type_round_trips_on_s3(table: Any, bucket: Any, tmp_path: Path) -> None:
    client, name, stage = bucket
    att = tmp_path / "att.txt"
    att.write_bytes(b"over http")
    staged = stage / "run" / "raw.bin"
    staged.parent.mkdir()
    staged.write_bytes(b"staged bytes")
    arr = np.arange(12.0).reshape(3, 4)
    table.insert([{"id": 1, "b14": arr, "a14": att, "f14": staged, "b2": [1, "two"], "a2": att, "h2": b"hashed",
                   "n2": arr, "o2": ("json", b"{}")}, {"id": 2, "b14": 0}])
    keys = _keys(client, name)
    h = table.heading
    assert h["b14"].type.store == "cloud"
    assert any(k.startswith(f"lab/objects/{table.database}/") for k in keys)
    assert "lab/objects/run/raw.bin" in keys and any(k.startswith("lab/objects/_hash/") for k in keys)
    staged.unlink()
    row = (table & {"id": 1}).fetch1(download_path=tmp_path / "dl")
    assert np.array_equal(row["b14"], arr) and row["b2"] == [1, "two"] and row["h2"] == b"hashed"
    assert Path(row["a14"]).read_bytes() == b"over http" == Path(row["a2"]).read_bytes()
    assert Path(row["f14"]).read_bytes() == b"staged bytes"
    assert np.array_equal(row["n2"].load(), arr) and row["o2"].read() == b"{}" and row["o2"].ext == "json"


def test_tampered_s3_object_names_its_row(table: Any, bucket: Any) -> None:
    client, name, _ = bucket
    table.insert([{"id": i, "b14": np.full(4, i)} for i in range(3)])
    blob_keys = sorted(k for k in _keys(client, name) if k.startswith(f"lab/objects/{table.database}/"))
    victim = blob_keys[0]
    client.put_object(Bucket=name, Key=victim, Body=b"not what was stored")
    with pytest.raises(errors.ChecksumError, match=r"'id': \d") as info:
        table.fetch("b14")
    assert victim in str(info.value)


def test_collect_garbage_on_s3(table: Any, bucket: Any) -> None:
    client, name, _ = bucket
    table.insert([{"id": 1, "b14": "kept", "b2": "kept 2"}, {"id": 2, "b14": "gone", "b2": "gone 2", "h2": b"x"}])
    (table & {"id": 2}).delete(safemode=False)
    young = collect_garbage(table.connection, table.database, stores=["cloud"], min_age=3600)
    assert young.removed == 0 and young.stores[0].kept_young > 0
    report = collect_garbage(table.connection, table.database, stores=["cloud"], min_age=0)
    assert report.removed == 3 and not report.failed
    assert (table & {"id": 1}).fetch1("b14", "b2") == ("kept", "kept 2")
    assert len(_keys(client, name)) == 2


def test_s3_column_fetch_is_concurrent(table: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    table.insert([{"id": i, "b14": np.full(3, i), "b2": i} for i in range(6)])
    barrier = threading.Barrier(3, timeout=20)
    real_get = Store.get

    def get(self: Store, key: str, **kw: Any) -> bytes:
        barrier.wait()
        return real_get(self, key, **kw)

    monkeypatch.setattr(Store, "get", get)
    b14, b2 = table.fetch("b14", "b2", order_by="id")
    assert [int(x[0]) for x in b14] == list(range(6)) and list(b2) == list(range(6))
