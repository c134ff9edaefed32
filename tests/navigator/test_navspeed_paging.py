"""Paging by position (``_after``/``_before``) returns exactly the rows of OFFSET paging, on every
backend: ties in the sort columns, NULLs, floats that MariaDB prints with six digits, descending
and mixed orders, string and uuid keys, filters; a "previous" walk returns the same pages; a
position whose row is gone falls back to ``_page``; bad tokens get the navigator's clean error."""

from __future__ import annotations

import base64
import datetime as dt
import json
import logging
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

import pytest
from nav_helpers import Client, json_of

import labjoin as dj
from labjoin import errors
from labjoin.navigator import NavigatorConfig, Registry, UserStore, create_app
from labjoin.navigator.filters import encode_position

pytestmark = pytest.mark.backends

N_ROWS = 40
SIZE = 6
SCORES = [0.1, None, 0.3, 1 / 3, 0.1, 2.5e-7, None, -0.7]  # float32: not one survives six digits
# case variants tie under every backend's collation; quotes and backslashes must survive as literals
WORDS = ["ab", "AB", "b", "", "Zz", "ab", "a'b", "a\\b", 'a"b', "%_", "a\\'"]


SERVER_URLS = {
    "postgresql": os.environ.get("LABJOIN_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"),
    "mysql": os.environ.get("LABJOIN_TEST_MYSQL_URL", "mysql://root@127.0.0.1:3306"),
}
REQUIRE = os.environ.get("LABJOIN_REQUIRE_SERVERS", "") not in ("", "0", "false")


@contextmanager
def _paging_app(conn: dj.Connection) -> Iterator[tuple[Client, str, dj.Connection]]:
    """(logged-in client, schema, connection) over tables built for paging, dropped afterwards."""
    tag = uuid.uuid4().hex[:8]
    name, users = f"navspeed_test_{tag}", f"navspeed_test_{tag}_users"
    schema = dj.Schema(name, connection=conn)

    @schema
    class Reading(dj.Manual):
        definition = """
        grp: varchar(8)
        idx: int
        ---
        score=null: float
        big: double
        day: date
        at=null: datetime
        word: varchar(16)
        kind: enum('x', 'y')
        uid: uuid
        note=null: longblob
        """

    @schema
    class Tag(dj.Manual):
        definition = """
        tag_uuid: uuid
        ---
        weight: int
        """

    Reading.insert([dict(grp=("g1", "G2", "g3")[i % 3], idx=i // 3, score=SCORES[i % len(SCORES)],
                         big=float(i % 4) / 3, day=dt.date(2024, 1, 1 + i % 5),
                         at=None if i % 7 == 0 else dt.datetime(2024, 2, 1, 8, i % 3, 30),
                         word=WORDS[i % len(WORDS)], kind="xy"[i % 2], uid=uuid.UUID(int=(i * 7919) % 97),
                         note=[i]) for i in range(N_ROWS)])
    Tag.insert([dict(tag_uuid=uuid.UUID(int=i * 104729 + 1), weight=i % 3) for i in range(15)])
    UserStore(conn, users).add("ana", "ana-password", "admin")
    app = create_app(NavigatorConfig(url=conn.url, users_schema=users, entry_points=False), registry=Registry())
    client = Client(app)
    try:
        assert client.login("ana", "ana-password").status_code == 303
        yield client, name, conn
    finally:
        client.close()
        app.state.navigator.database.close()
        dj.Schema(name, connection=conn).drop(force=True)
        dj.Schema(users, connection=conn).drop(force=True)


@pytest.fixture(scope="module", params=["sqlite", "postgresql", "mysql"])
def shared_client(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
                  ) -> Iterator[tuple[Client, str, dj.Connection]]:
    """The paging tables on each backend, built once per module for the tests that only read."""
    if request.param == "sqlite":
        conn = dj.Connection(f"sqlite:///{tmp_path_factory.mktemp('paging') / 'paging.sqlite'}")
    else:
        conn = dj.Connection(SERVER_URLS[request.param])
        try:
            conn.ping()
        except errors.BackendUnavailableError as e:
            msg = f"{request.param} is unreachable: {e}"
            if REQUIRE:
                pytest.fail(msg + " (LABJOIN_REQUIRE_SERVERS=1 makes this a failure)")
            pytest.skip(msg)
    try:
        with _paging_app(conn) as made:
            yield made
    finally:
        conn.close()


@pytest.fixture
def app_client(backend: dj.Connection) -> Iterator[tuple[Client, str, dj.Connection]]:
    """The paging tables on each backend, for one test that changes them."""
    with _paging_app(backend) as made:
        yield made


def _get(client: Client, url: str) -> dict[str, Any]:
    r = client.get(url if url.startswith("/api/") else "/api" + url)
    assert r.status_code == 200, (url, r.text[:500])
    return json_of(r)


def _params(url: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(url).query))


def _offset_pages(client: Client, base: str, query: str) -> list[list[Any]]:
    pages, n = [], 1
    while n < 50:
        data = _get(client, f"{base}?{query}&_size={SIZE}&_page={n}")
        pages.append([r["key"] for r in data["rows"]])
        if not data["next_url"]:
            return pages
        n += 1
    raise AssertionError("OFFSET paging does not end")


def _walk(client: Client, base: str, query: str) -> tuple[list[list[Any]], list[list[Any]], list[str]]:
    """Pages following "next" from page 1, then following "previous" back from the last, and
    the links followed."""
    forward, links = [], []
    data = _get(client, f"{base}?{query}&_size={SIZE}")
    while True:
        forward.append([r["key"] for r in data["rows"]])
        assert data["page"] == len(forward) < 50, data["next_url"]
        if not data["next_url"]:
            break
        links.append(data["next_url"])
        data = _get(client, data["next_url"])
    backward = [[r["key"] for r in data["rows"]]]
    while data["prev_url"]:
        links.append(data["prev_url"])
        data = _get(client, data["prev_url"])
        backward.append([r["key"] for r in data["rows"]])
        assert len(backward) < 50, data["prev_url"]
        assert data["page"] == len(forward) - len(backward) + 1
    return forward, backward[::-1], links


SORTS = [
    ("", True),
    ("_sort=score", True),
    ("_sort=-score", True),
    ("_sort=big,-day", True),
    ("_sort=-word,score", True),
    ("_sort=at", True),
    ("_sort=-at,word", True),
    ("_sort=score&idx__gt=2&grp__in=g1,G2", True),
    ("_sort=-big&score__notnull=1&_col=big", True),
    ("_sort=kind", False),  # an enum: OFFSET paging
    ("_sort=-uid", False),  # a uuid: OFFSET paging
]


@pytest.mark.parametrize(("query", "by_position"), SORTS)
def test_position_paging_matches_offset_paging(shared_client, caplog, query: str, by_position: bool) -> None:
    client, name, _ = shared_client
    base = f"/api/schemas/{name}/Reading"
    expected = _offset_pages(client, base, query)
    assert sum(map(len, expected)) > 2 * SIZE
    flat = [tuple(sorted(k.items())) for page in expected for k in page]
    assert len(set(flat)) == len(flat), "OFFSET pages overlap"
    caplog.set_level(logging.DEBUG, logger="labjoin.sql")
    forward, backward, links = _walk(client, base, query)
    assert forward == expected
    assert backward == expected
    tokens = [("_after" in _params(u)) or ("_before" in _params(u)) for u in links]
    # the link back to page 1 is a plain page 1; every other link names a row when the order allows
    assert tokens == [by_position and _params(u).get("_page") not in (None, "1") for u in links]
    # ... and each of those pages read its row's position instead of falling back to OFFSET
    sql = [rec.args[0] for rec in caplog.records if rec.name == "labjoin.sql" and rec.args]
    assert sum("nav_anchor_0" in text for text in sql) == sum(tokens)


def test_uuid_keys_page_by_offset(shared_client) -> None:
    client, name, _ = shared_client
    base = f"/api/schemas/{name}/Tag"
    for query in ("_sort=-weight", "_sort=tag_uuid", ""):
        expected = _offset_pages(client, base, query)
        forward, backward, links = _walk(client, base, query)
        assert forward == expected and backward == expected
        assert not [u for u in links if "_after" in u or "_before" in u]


def test_links_keep_filters_and_drop_the_position_elsewhere(shared_client) -> None:
    client, name, _ = shared_client
    data = _get(client, f"/api/schemas/{name}/Reading?_sort=-score&idx__lt=9&_size=4")
    nxt = _get(client, data["next_url"])
    assert _params(data["next_url"])["idx__lt"] == "9"
    assert {"_after", "_page"} <= set(_params(data["next_url"]))
    for url in [*nxt["sort_urls"].values(), *nxt["exports"].values(), nxt["count_url"] or ""]:
        assert "_after" not in url and "_before" not in url, url
    assert ["_page", "2"] in nxt["query_params"]


def test_a_removed_row_falls_back_to_the_page_number(app_client) -> None:
    client, name, conn = app_client
    base = f"/api/schemas/{name}/Reading"
    first = _get(client, f"{base}?_sort=score&_size={SIZE}")
    last = first["rows"][-1]["key"]
    (dj.FreeTable(conn, f"`{name}`.`reading`") & last).delete(safemode=False)
    followed = _get(client, first["next_url"])
    assert followed["page"] == 2
    assert followed["rows"] == _get(client, f"{base}?_sort=score&_size={SIZE}&_page=2")["rows"]


def test_previous_from_a_shrunken_table_shows_the_first_page(app_client) -> None:
    client, name, conn = app_client
    base = f"/api/schemas/{name}/Reading"
    page3 = _get(client, _get(client, _get(client, f"{base}?_size={SIZE}")["next_url"])["next_url"])
    assert page3["page"] == 3 and "_before" in _params(page3["prev_url"])
    keep = [r["key"] for r in page3["rows"]]
    table = dj.FreeTable(conn, f"`{name}`.`reading`")
    (table - keep).delete(safemode=False)  # rows before page 3 are gone: "previous" is the start
    back = _get(client, page3["prev_url"])
    assert back["page"] == 1 and back["prev_url"] is None
    assert [r["key"] for r in back["rows"]] == keep


def _token(payload: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


def test_bad_positions_get_a_clean_error(shared_client, caplog) -> None:
    client, name, _ = shared_client
    base = f"/api/schemas/{name}/Reading?_sort=-score"
    bad = [
        "not-a-token!", "%%%", _token([1, 2]), _token({"grp": "g1"}), _token({"grp": "g1", "idx": 1}),
        _token({"grp": "g1", "idx": "1 OR 1=1"}), _token({"grp": "g1", "idx": "2", "extra": "x"}),
        "x" * 5000, base64.urlsafe_b64encode(b"\xff\xfe").decode(),
    ]
    caplog.set_level(logging.DEBUG, logger="labjoin.sql")
    for token in bad:
        for param in ("_after", "_before"):
            r = client.get(f"{base}&{param}={quote(token)}")
            body = json_of(r)
            assert r.status_code == 400, (token, r.text[:300])
            assert body["ok"] is False and body["status"] == 400, body
            assert param in body["error"] or "`idx`" in body["error"], body
            assert "Traceback" not in body["error"]
    both = encode_position({"grp": "g1", "idx": 1})
    r = client.get(f"{base}&_after={both}&_before={both}")
    assert r.status_code == 400 and "not both" in json_of(r)["error"]
    # A string key is data: an injection attempt names no row, and the page falls back to _page.
    evil = encode_position({"grp": "g1' OR '1'='1", "idx": 1})
    data = _get(client, f"{base}&_after={evil}&_page=2&_size={SIZE}")
    assert data["page"] == 2
    assert data["rows"] == _get(client, f"{base}&_page=2&_size={SIZE}")["rows"]
    sql_text = "\n".join(rec.args[0] for rec in caplog.records if rec.name == "labjoin.sql" and rec.args)
    assert "OR '1'='1" not in sql_text and "1 OR 1=1" not in sql_text


def test_tokens_round_trip_keys(shared_client) -> None:
    from labjoin.navigator.filters import decode_position

    _, name, conn = shared_client
    for table, key in (("reading", {"grp": "naïve 'q\"", "idx": -3}), ("tag", {"tag_uuid": uuid.UUID(int=42)})):
        heading = dj.FreeTable(conn, f"`{name}`.`{table}`").heading
        token = encode_position(key)
        assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
        assert decode_position(heading, token) == key


def test_pages_count_only_when_they_must(shared_client, caplog) -> None:
    _, name, conn = shared_client
    app = create_app(NavigatorConfig(url=conn.url, users_schema=f"{name}_users", entry_points=False, count_limit=10),
                     registry=Registry())
    client = Client(app)
    try:
        assert client.login("ana", "ana-password").status_code == 303
        base = f"/api/schemas/{name}/Reading?_sort=-score&_size={SIZE}"
        caplog.set_level(logging.DEBUG, logger="labjoin.sql")

        def page(query: str) -> tuple[dict[str, Any], bool]:
            caplog.clear()
            data = _get(client, base + query)
            counted = any("count(" in rec.args[0].lower() for rec in caplog.records
                          if rec.name == "labjoin.sql" and rec.args)
            return data, counted

        first, counted = page("")
        assert (first["total"], first["total_exact"], counted) == (10, False, True)
        last_page = -(-N_ROWS // SIZE)
        last, counted = page(f"&_page={last_page}")  # the last page ends the rows: no count
        assert (last["total"], last["total_exact"], last["pages"], counted) == (N_ROWS, True, last_page, False)
        deep, counted = page("&_page=3")  # 12 rows skipped: more than the bound, no count
        assert (deep["total"], deep["total_exact"], counted) == (10, False, False)
        beyond, counted = page("&_page=50")  # no rows: the page cannot tell
        assert (beyond["rows"], beyond["total"], beyond["total_exact"], counted) == ([], 10, False, True)
        exact, counted = page("&_count=exact")
        assert (exact["total"], exact["total_exact"], counted) == (N_ROWS, True, True)
        few, counted = page("&idx=1")  # one short page: its rows are the total
        assert (few["total"], few["total_exact"], counted) == (3, True, False)
        by_position, counted = page(f"&_page=2&_after={encode_position(first['rows'][-1]['key'])}")
        assert (by_position["total"], by_position["total_exact"], counted) == (10, False, True)
    finally:
        client.close()
        app.state.navigator.database.close()


def test_keys_first_where_it_pays(shared_client, caplog) -> None:
    """SQLite and MariaDB read the keys of a sorted or skipped-to page first, then those rows;
    PostgreSQL, and any page that reads only its own rows, use one query."""
    client, name, conn = shared_client
    base = f"/api/schemas/{name}/Reading"
    caplog.set_level(logging.DEBUG, logger="labjoin.sql")

    def selects(query: str) -> list[str]:
        caplog.clear()
        _get(client, f"{base}?{query}")
        return [rec.args[0] for rec in caplog.records if rec.name == "labjoin.sql" and rec.args
                and "reading" in rec.args[0] and "count(" not in rec.args[0].lower()]

    two_steps = conn.backend.name in ("sqlite", "mysql")
    for query in ("_sort=-score&_size=5", "_page=3&_size=5", "_sort=word&_page=2&_size=5"):
        sql = selects(query)
        keys_only = [s for s in sql if s.split("FROM")[0].count(",") == 1]  # SELECT grp, idx
        assert len(sql) == (2 if two_steps else 1), (query, sql)
        assert len(keys_only) == (1 if two_steps else 0), (query, sql)
    assert len(selects("_size=5")) == 1  # page 1 in key order reads its own rows only
