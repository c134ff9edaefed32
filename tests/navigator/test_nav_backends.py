"""The navigator on every backend: filters, sorting, rows, cascade previews, accounts, and the app."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator

import pytest
from nav_helpers import Client, json_of

import labjoin as dj
from labjoin.navigator import NavigatorConfig, Registry, UserStore, create_app

pytestmark = pytest.mark.backends


@pytest.fixture
def lab(backend: dj.Connection) -> Iterator[tuple[dj.Connection, str, str]]:
    """(connection, data schema, users schema), dropped afterwards."""
    tag = uuid.uuid4().hex[:8]
    name, users = f"navigator_test_{tag}", f"navigator_test_{tag}_users"
    schema = dj.Schema(name, connection=backend)

    @schema
    class Animal(dj.Manual):
        definition = """
        animal: varchar(16)
        ---
        born: date
        kind: enum('mouse', 'rat')
        weight=null: float
        note="": varchar(64)
        """

    @schema
    class Visit(dj.Manual):
        definition = """
        -> Animal
        visit_time: datetime
        ---
        score: int
        trace=null: longblob
        """

    Animal.insert([dict(animal=f"a{i}", born=dt.date(2024, 1, 1 + i), kind=("mouse", "rat")[i % 2],
                        weight=None if i == 3 else 20.0 + i, note=("50% off" if i == 1 else "plain_note"))
                   for i in range(6)])
    Visit.insert([dict(animal=f"a{i}", visit_time=dt.datetime(2024, 2, 1, 8) + dt.timedelta(hours=j), score=i * 10 + j,
                       trace=[1.0, 2.0, 3.0])
                  for i in range(6) for j in range(3)])
    yield backend, name, users
    dj.Schema(name, connection=backend).drop(force=True)
    if users in dj.list_schemas(backend):
        dj.Schema(users, connection=backend).drop(force=True)


def test_navigator_app_on_every_backend(lab) -> None:
    conn, name, users = lab
    UserStore(conn, users).add("ana", "ana-password", "admin")
    app = create_app(NavigatorConfig(url=conn.url, users_schema=users, entry_points=False), registry=Registry())
    c = Client(app)
    try:
        assert c.login("ana", "ana-password").status_code == 303
        base = f"/api/schemas/{name}/Animal"
        assert json_of(c.get(f"/api/schemas/{name}"))["tiers"][0]["tables"][0]["rows"] == 6
        assert json_of(c.get(base + "?born__gte=2024-01-03&born__lt=2024-01-05"))["total"] == 2
        assert json_of(c.get(base + "?note__contains=%25"))["total"] == 1  # a literal percent sign
        assert json_of(c.get(base + "?note__contains=_"))["total"] == 5  # a literal underscore
        assert json_of(c.get(base + "?note__startswith=PLAIN"))["total"] == 5  # case-insensitive, as everywhere
        assert json_of(c.get(base + "?weight__isnull=1"))["total"] == 1
        assert json_of(c.get(base + "?kind=rat&_combine=or&animal__in=a0,a2"))["total"] == 5
        desc = json_of(c.get(base + "?_sort=-weight&_size=2"))
        assert [r["values"]["animal"] for r in desc["rows"]] == ["a5", "a4"]  # NULL sorts as MySQL sorts it
        r = c.get(f"/api/schemas/{name}/Visit?visit_time__gte=2024-02-01 09:00:00&_sort=-score")
        visits = json_of(r)
        assert r.status_code == 200, visits
        assert visits["total"] == 12 and visits["rows"][0]["values"]["score"] == 52
        row = json_of(c.get(f"/api/schemas/{name}/Visit/row?animal=a1&visit_time=2024-02-01 09:00:00"))
        (trace,) = [a for a in row["attributes"] if a["name"] == "trace"]
        assert trace["preview"]["kind"] in ("figure", "json")
        assert [p["table"] for p in row["parents"]] == ["Animal"]
        animal = json_of(c.get(f"{base}/row?animal=a1"))
        assert animal["children"] == [{"table": "Visit", "schema": name, "count": 3,
                                       "url": f"/schemas/{name}/Visit?animal=a1"}]
        preview = json_of(c.get(f"{base}/delete?animal=a1"))
        assert {x["table"]: x["rows"] for x in preview["counts"]} == {"Animal": 1, "Visit": 3}
        token = c.csrf("/account")
        r = c.post(f"/schemas/{name}/Animal/delete?animal=a1", data={"csrf_token": token, "expected_total": "4"})
        assert r.status_code == 303 and json_of(c.get(base))["total"] == 5
        r = c.post(f"/schemas/{name}/Animal/insert", data={"csrf_token": token, "animal": "z9", "born": "2024-05-06",
                                                           "kind": "mouse", "weight": "", "note": ""})
        assert r.status_code == 303 and json_of(c.get(f"{base}/row?animal=z9"))["key"] == {"animal": "z9"}
        csv = c.get(f"/schemas/{name}/Visit/export.csv?animal=a2").text.splitlines()
        assert csv[0] == "animal,visit_time,score" and len(csv) == 4
    finally:
        c.close()
        app.state.navigator.database.close()
