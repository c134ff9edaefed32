"""Large values in rows: a tens-of-megabytes array round-trips on every backend; PostgreSQL stores
serialized blobs without its pglz pass and fetches them in binary; on MySQL/MariaDB a row larger
than the server's ``max_allowed_packet`` is refused with a clear ``DataError`` before anything is
sent, so the connection and its transaction survive (instead of "server has gone away"), and a
store-backed column carries the same value past the limit.

Durations are not asserted here; benchmarks/bench_blob_db.py measures them against the raw drivers.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import labjoin as dj
from labjoin import errors
from labjoin.connection.packet import max_allowed_packet, statement_size

MIB = 2**20


@pytest.fixture
def schema_name() -> str:
    return f"extstore_{uuid.uuid4().hex[:10]}"


@pytest.fixture
def big(make_schema: Any) -> Any:
    schema = make_schema()

    @schema
    class Big(dj.Manual):
        definition = """
        id: int
        ---
        data: longblob
        raw=null: bytes
        """

    return Big


def _fitting_mib(conn: dj.Connection, wanted: int) -> int:
    """``wanted`` MiB, or less on a MySQL server whose packet limit would refuse it."""
    if conn.backend.name != "mysql":
        return wanted
    return max(1, min(wanted, (max_allowed_packet(conn) // 2 - MIB) // MIB))


def test_large_array_round_trips(big: Any, backend: dj.Connection) -> None:
    n = _fitting_mib(backend, 32) * MIB // 8
    arr = np.random.default_rng(1).random(n)
    big.insert1({"id": 1, "data": arr})
    got = (big & {"id": 1}).fetch1("data")
    assert got.dtype == np.float64 and got.shape == arr.shape and np.array_equal(got, arr)
    matrix = arr[: n // 64 * 64].reshape(-1, 64)  # C order: transposed into column-major on the way in
    big.insert1({"id": 2, "data": matrix})
    assert np.array_equal((big & {"id": 2}).fetch1("data"), matrix)


def test_postgres_blobs_skip_pglz_and_come_back_in_binary(big: Any, backend: dj.Connection,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    if backend.backend.name != "postgresql":
        pytest.skip("PostgreSQL only")
    storage = dict(backend.query(
        "SELECT a.attname, a.attstorage FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
        "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s AND c.relname = 'big' AND a.attnum > 0",
        (big.database,)).fetchall())
    assert storage["data"] == "e" and storage["raw"] == "x"  # serialized blobs: EXTERNAL (no pglz)
    big.insert1({"id": 1, "data": np.arange(3.0), "raw": b"\x00\x01"})
    seen: list[bool] = []
    real = type(backend).query

    def query(self: Any, sql: str, args: Any = (), **kw: Any) -> Any:
        seen.append(kw.get("binary", False))
        return real(self, sql, args, **kw)

    monkeypatch.setattr(type(backend), "query", query)
    assert (big & {"id": 1}).fetch1("raw") == b"\x00\x01"
    assert seen[-1] is True
    assert big.fetch("id").tolist() == [1]
    assert seen[-1] is False  # queries without blobs keep the text protocol


def _mysql_limit(conn: dj.Connection) -> int:
    if conn.backend.name != "mysql":
        pytest.skip("MySQL/MariaDB only")
    limit = max_allowed_packet(conn)
    if limit > 64 * MIB:
        pytest.skip(f"this server's max_allowed_packet is {limit // MIB} MiB: exceeding it would take too long")
    return limit


def test_mysql_row_over_the_packet_limit_is_refused_before_sending(big: Any, backend: dj.Connection) -> None:
    limit = _mysql_limit(backend)
    too_big = np.zeros(limit // 2 // 8 + MIB // 8)  # PyMySQL doubles bytes (hex): this cannot fit
    with backend.transaction:
        big.insert1({"id": 1, "data": np.arange(3)})
        with pytest.raises(errors.DataError) as info:
            big.insert1({"id": 2, "data": too_big})
        big.insert1({"id": 3, "data": np.arange(4)})  # same connection, same transaction: still open
    message = str(info.value)
    assert "max_allowed_packet" in message and "SET GLOBAL max_allowed_packet" in message
    assert "blob@store" in message and "`data`" in message and "[mysqld]" in message
    assert sorted(big.fetch("id").tolist()) == [1, 3]
    with pytest.raises(errors.DataError, match="max_allowed_packet"):
        big.insert([{"id": 4, "data": 1}, {"id": 5, "data": 2, "raw": bytes(limit // 2 + MIB)}])
    with pytest.raises(errors.DataError, match="max_allowed_packet"):
        big.update1({"id": 1, "data": too_big})
    assert len(big) == 2


def test_mysql_packet_limit_boundary(big: Any, backend: dj.Connection) -> None:
    limit = _mysql_limit(backend)
    fits = bytes((limit - 64 * 1024) // 2)  # hex doubles it: just below the limit with the statement
    big.insert1({"id": 1, "data": 0, "raw": fits})
    assert (big & {"id": 1}).fetch1("raw") == fits
    with pytest.raises(errors.DataError):
        big.insert1({"id": 2, "data": 0, "raw": bytes(limit // 2 + 1)})


def test_mysql_statement_size_matches_what_the_driver_sends(backend: dj.Connection) -> None:
    if backend.backend.name != "mysql":
        pytest.skip("MySQL/MariaDB only")
    sql = "INSERT INTO `x`.`y` (`a`, `b`, `c`, `d`) VALUES (%s, %s, %s, %s)"
    row = (7, bytes(range(256)) * 40, "quote ' and \\ and ünïcödé" * 50, None)
    sent = len(backend.raw.cursor().mogrify(sql, row).encode("utf-8", "surrogateescape"))
    estimate = statement_size(backend, sql, row)
    assert sent <= estimate <= sent + 300  # never under: a refused row is one that would fail


def test_mysql_store_carries_values_past_the_packet_limit(make_schema: Any, backend: dj.Connection,
                                                          tmp_path: Path) -> None:
    limit = _mysql_limit(backend)
    schema = make_schema()
    with dj.config(stores={"raw": {"protocol": "file", "location": str(tmp_path)}}):

        @schema
        class Stored(dj.Manual):
            definition = """
            id: int
            ---
            data: blob@raw
            """

        arr = np.random.default_rng(2).random(limit // 8 + MIB)  # larger than the whole packet limit
        Stored.insert1({"id": 1, "data": arr})
        assert np.array_equal(Stored.fetch1("data"), arr)
