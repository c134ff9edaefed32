"""Object stores on a local directory: specs, DataJoint's layout and hashes, round trips, failures."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

from labjoin.errors import ChecksumError, ConfigError, MissingExternalFile, StoreError
from labjoin.stores import Store, StoreSpec, layout, store_spec

# Values computed with DataJoint 0.14.10's own hash.py and ExternalTable path methods.
HELLO_UUID = uuid.UUID("5d41402a-bc4b-2a76-b971-9d911017c592")  # uuid_from_buffer(b"hello")
FILEPATH_UUID = uuid.UUID("537136c7-08d5-97bc-c84b-a766248670f7")  # uuid_from_buffer(init_string="sub/dir/file.dat")
ATTACH_UUID = uuid.UUID("bdb73406-42a1-82b6-0f2c-4a91d3547cc5")  # notes.txt holding b"attachment body"
SAMPLE = uuid.UUID("0123456789abcdef0123456789abcdef")


@pytest.fixture
def store(tmp_path: Path) -> Store:
    location = tmp_path / "store"
    location.mkdir()
    stage = tmp_path / "stage"
    stage.mkdir()
    spec = {"protocol": "file", "location": str(location), "stage": str(stage)}
    return Store(StoreSpec.from_dict("raw", spec), max_workers=4)


# -- specs -----------------------------------------------------------------------------------


def test_spec_defaults_and_s3_fields() -> None:
    spec = StoreSpec.from_dict("raw", {"protocol": "file", "location": "/data"})
    assert spec.subfolding == (2, 2)
    assert spec.stage is None
    s3 = StoreSpec.from_dict("cloud-1", {
        "PROTOCOL": "s3", "endpoint": "minio:9000", "bucket": "b", "access_key": "a",
        "secret_key": "s", "location": "lab", "secure": "true", "subfolding": [1, 3],
    })
    assert s3.secure is True
    assert s3.subfolding == (1, 3)
    assert "secret" not in repr(s3)
    assert StoreSpec.from_dict("cloud-1", s3.to_dict()) == s3


@pytest.mark.parametrize(
    ("spec", "match"),
    [
        ({"location": "/x"}, 'missing or invalid "protocol"'),
        ({"protocol": "ftp", "location": "/x"}, 'missing or invalid "protocol"'),
        ({"protocol": "file"}, 'missing "location"'),
        ({"protocol": "s3", "endpoint": "e", "location": "l", "access_key": "a", "secret_key": "s"}, 'missing "bucket"'),
        ({"protocol": "file", "location": "/x", "bucket": "b"}, 'Invalid key "bucket"'),
        ({"protocol": "file", "location": "/x", "subfolding": [2, 0]}, "subfolding"),
        ({"protocol": "file", "location": "/x", "subfolding": [20, 20]}, "subfolding"),
        ({"protocol": "file", "location": 7}, r'\["location"\] must be a string'),
        ({"protocol": "s3", "endpoint": "e", "bucket": "b", "location": "l", "access_key": "a",
          "secret_key": "s", "secure": "maybe"}, "secure"),
    ],
)
def test_bad_specs_name_the_key(spec: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        StoreSpec.from_dict("raw", spec)


def test_store_names_and_lookup() -> None:
    with pytest.raises(ConfigError, match="Invalid store name"):
        StoreSpec.from_dict("Raw", {"protocol": "file", "location": "/x"})
    stores = {"raw": {"protocol": "file", "location": "/x"}}
    assert store_spec(stores, "raw").location == "/x"
    with pytest.raises(ConfigError, match=r"'other' is requested but not configured.*raw"):
        store_spec(stores, "other")


# -- DataJoint's layout and hashes ------------------------------------------------------------


def test_hashes_match_datajoint(tmp_path: Path) -> None:
    assert layout.blob_uuid(b"hello") == HELLO_UUID
    assert layout.filepath_uuid("sub/dir/file.dat") == FILEPATH_UUID
    note = tmp_path / "notes.txt"
    note.write_bytes(b"attachment body")
    assert layout.attachment_uuid("notes.txt", path=note) == ATTACH_UUID
    assert layout.attachment_uuid("notes.txt", b"attachment body") == ATTACH_UUID


def test_keys_match_datajoint() -> None:
    assert layout.blob_key("lab_sch", SAMPLE, (2, 2)) == "lab_sch/01/23/0123456789abcdef0123456789abcdef"
    assert layout.blob_key("lab_sch", SAMPLE, (1, 3)) == "lab_sch/0/123/0123456789abcdef0123456789abcdef"
    assert layout.blob_key("lab_sch", SAMPLE, ()) == "lab_sch/0123456789abcdef0123456789abcdef"
    assert layout.attachment_key("lab_sch", SAMPLE, "notes.txt", (2, 2)) == (
        "lab_sch/01/23/0123456789abcdef0123456789abcdef.notes.txt"
    )
    assert layout.subfold("aBCdefg", (2, 3)) == ("ab", "cde")


@pytest.mark.parametrize(
    ("location", "prefix"),
    [("/lab/store", "lab/store"), ("lab/store/", "lab/store"), ("C:\\lab\\store", "lab/store"), ("", ""),
     ("/", ""), ("./a", "a"), ("lab\\sub", "lab/sub")],
)
def test_s3_prefix_matches_datajoint(location: str, prefix: str) -> None:
    assert layout.s3_prefix(location) == prefix


def test_s3_paths_are_bucket_then_prefix() -> None:
    spec = StoreSpec.from_dict("cloud", {"protocol": "s3", "endpoint": "e", "bucket": "bk", "location": "/lab/store",
                                         "access_key": "a", "secret_key": "s"})
    store = Store(spec)
    assert store.path(store.blob_key("lab_sch", SAMPLE)) == (
        "bk/lab/store/lab_sch/01/23/0123456789abcdef0123456789abcdef"
    )


@pytest.mark.parametrize("bad", ["../escape", "/etc/passwd", "", "a/../../b"])
def test_filepath_keys_stay_inside(bad: str) -> None:
    with pytest.raises(StoreError, match="Invalid filepath"):
        layout.filepath_key(bad)


def test_bad_schema_and_attachment_names() -> None:
    with pytest.raises(StoreError, match="schema"):
        layout.blob_key("a/b", SAMPLE, (2, 2))
    with pytest.raises(StoreError, match="attachment name"):
        layout.attachment_key("s", SAMPLE, "../x", (2, 2))


# -- a local store ----------------------------------------------------------------------------


def test_blob_round_trip_and_layout_on_disk(store: Store) -> None:
    object_id = store.put_blob("lab_sch", b"hello")
    assert object_id == HELLO_UUID
    on_disk = Path(store.root) / "lab_sch" / "5d" / "41" / HELLO_UUID.hex
    assert on_disk.read_bytes() == b"hello"
    assert store.get_blob("lab_sch", object_id) == b"hello"
    key = store.blob_key("lab_sch", object_id)
    assert store.exists(key)
    assert store.size(key) == 5
    assert store.list() == [key]
    assert store.list("lab_sch/5d") == [key]
    assert store.list("nothing/here") == []


def test_same_content_is_written_once(store: Store) -> None:
    key = store.blob_key("s", store.put_blob("s", b"payload"))
    path = Path(store.path(key))
    os.utime(path, (1_000_000, 1_000_000))
    assert store.put_blob("s", b"payload") == layout.blob_uuid(b"payload")
    assert path.stat().st_mtime == 1_000_000  # not rewritten
    assert store.put(key, b"payload") is False
    assert store.put(key, b"payload", overwrite=True) is True


def test_checksum_failure(store: Store) -> None:
    object_id = store.put_blob("s", b"original")
    Path(store.path(store.blob_key("s", object_id))).write_bytes(b"tampered")
    with pytest.raises(ChecksumError, match=f"expected {object_id}"):
        store.get_blob("s", object_id)
    with pytest.raises(ChecksumError):
        store.get_blobs("s", [object_id])
    assert store.get(store.blob_key("s", object_id)) == b"tampered"  # unverified read still works


def test_missing_object(store: Store) -> None:
    with pytest.raises(MissingExternalFile, match="is missing"):
        store.get_blob("s", SAMPLE)
    with pytest.raises(FileNotFoundError):  # MissingExternalFile is also a FileNotFoundError
        store.size("s/none")
    assert not store.exists("s/none")
    store.remove("s/none")  # removing what is not there is fine
    with pytest.raises(MissingExternalFile):
        store.get_file("s/none", Path(store.root) / ".." / "out.bin")


def test_remove(store: Store) -> None:
    key = store.blob_key("s", store.put_blob("s", b"x"))
    store.remove(key)
    assert not store.exists(key)
    assert store.list() == []


def test_missing_location(tmp_path: Path) -> None:
    spec = StoreSpec.from_dict("raw", {"protocol": "file", "location": str(tmp_path / "absent")})
    with pytest.raises(StoreError, match="does not exist"):
        Store(spec).exists("x")


def test_parallel_put_many_get_many(store: Store) -> None:
    blobs = [f"blob {i}".encode() * (i + 1) for i in range(50)] + [b"blob 0"]
    ids = store.put_blobs("s", blobs)
    assert ids == [layout.blob_uuid(b) for b in blobs]
    assert ids[0] == ids[-1]
    assert len(store.list("s")) == 50
    assert store.get_blobs("s", ids) == blobs
    results = store.put_many([(f"k/{i}", b"v") for i in range(10)] + [("k/0", b"v")])
    assert results.count(True) >= 10
    assert store.get_many([f"k/{i}" for i in range(10)]) == [b"v"] * 10
    with pytest.raises(StoreError, match="checksums"):
        store.get_many(["k/0"], checksums=[])


def test_partial_files_are_not_listed(store: Store) -> None:
    Path(store.root, "s").mkdir()
    Path(store.root, "s", "obj.saving-123").write_bytes(b"half")
    assert store.list() == []


def test_attachments(store: Store, tmp_path: Path) -> None:
    src = tmp_path / "notes.txt"
    src.write_bytes(b"attachment body")
    object_id = store.put_attachment("s", src)
    assert object_id == ATTACH_UUID
    assert store.exists(store.attachment_key("s", object_id, "notes.txt"))
    downloads = tmp_path / "downloads"
    got = store.get_attachment("s", object_id, "notes.txt", downloads)
    assert got == downloads / "notes.txt"
    assert got.read_bytes() == b"attachment body"
    assert store.get_attachment("s", object_id, "notes.txt", downloads) == got  # reused
    got.write_bytes(b"someone else's notes")
    other = store.get_attachment("s", object_id, "notes.txt", downloads)
    assert other == downloads / "notes_0001.txt"
    assert other.read_bytes() == b"attachment body"
    assert got.read_bytes() == b"someone else's notes"


def test_attachment_checksum_failure_leaves_no_file(store: Store, tmp_path: Path) -> None:
    src = tmp_path / "a.bin"
    src.write_bytes(b"good")
    object_id = store.put_attachment("s", src)
    Path(store.path(store.attachment_key("s", object_id, "a.bin"))).write_bytes(b"evil")
    with pytest.raises(ChecksumError):
        store.get_attachment("s", object_id, "a.bin", tmp_path / "dl")
    assert list((tmp_path / "dl").iterdir()) == []


def test_filepaths(store: Store) -> None:
    stage = Path(store.spec.stage or "")
    src = stage / "sub" / "dir" / "file.dat"
    src.parent.mkdir(parents=True)
    src.write_bytes(b"raw data")
    record = store.put_filepath(src)
    assert record.hash == FILEPATH_UUID
    assert record.relative_path == "sub/dir/file.dat"
    assert record.contents_hash == layout.blob_uuid(b"raw data")
    assert record.size == 8
    assert Path(store.root, "sub/dir/file.dat").read_bytes() == b"raw data"
    stored = Path(store.root, "sub/dir/file.dat")
    os.utime(stored, (1_000_000, 1_000_000))
    assert store.put_filepath(src) == record
    assert stored.stat().st_mtime == 1_000_000  # same file again: nothing re-sent
    src.unlink()
    assert store.get_filepath(record.relative_path, record.contents_hash) == src
    assert src.read_bytes() == b"raw data"
    src.write_bytes(b"edited locally")
    assert store.get_filepath(record.relative_path, record.contents_hash).read_bytes() == b"raw data"


def test_filepath_outside_stage_and_without_stage(store: Store, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere.dat"
    outside.write_bytes(b"x")
    with pytest.raises(StoreError, match="not inside the stage"):
        store.put_filepath(outside)
    bare = Store(StoreSpec.from_dict("raw", {"protocol": "file", "location": store.root}))
    with pytest.raises(StoreError, match="has no 'stage'"):
        bare.put_filepath(outside)


def test_filepath_download_is_verified(store: Store) -> None:
    stage = Path(store.spec.stage or "")
    src = stage / "f.dat"
    src.write_bytes(b"v1")
    record = store.put_filepath(src)
    Path(store.root, "f.dat").write_bytes(b"v2")
    src.unlink()
    with pytest.raises(ChecksumError):
        store.get_filepath("f.dat", record.contents_hash)
    assert not src.exists()


def test_blob_cache(store: Store, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    cached = Store(store.spec, cache=tmp_path / "cache")
    object_id = cached.put_blob("s", b"hello")
    assert cached.get_blob("s", object_id) == b"hello"
    copy = tmp_path / "cache" / "5d" / "41" / HELLO_UUID.hex  # DataJoint's cache layout
    assert copy.read_bytes() == b"hello"
    copy.write_bytes(b"rotten")
    with caplog.at_level("WARNING", logger="labjoin.stores"):
        assert cached.get_blob("s", object_id) == b"hello"
    assert "does not match its hash" in caplog.text
    assert copy.read_bytes() == b"hello"
    store.remove(store.blob_key("s", object_id))
    other = cached.put_blob("s", b"other")
    assert cached.get_blobs("s", [object_id, other, object_id]) == [b"hello", b"other", b"hello"]
    with pytest.raises(MissingExternalFile):
        store.get_blob("s", object_id)  # the uncached store really lost it
