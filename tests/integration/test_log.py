"""The schema's ``~log`` table on every backend: DataJoint 0.14's layout and events."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

import labjoin as dj
from labjoin.schema import declare_hidden
from labjoin.sql import catalog
from labjoin.tables.log import LOG_DEFINITION, LOG_VERSION


def declare(schema: dj.Schema) -> Any:
    @schema
    class Animal(dj.Manual):
        definition = """
        animal: int
        ---
        name: varchar(16)
        """

    @schema
    class Weighing(dj.Manual):
        definition = """
        -> Animal
        day: int
        ---
        grams: float
        """

    @schema
    class Total(dj.Computed):
        definition = """
        -> Animal
        ---
        n: int
        """

        def make(self, key: dict[str, Any]) -> None:
            self.insert1(dict(key, n=len(Weighing & key)))

    return Animal, Weighing, Total


def events(schema: dj.Schema) -> list[str]:
    return [e.replace(f"`{schema.database}`", "`s`") for e in schema.log.fetch("event", order_by="id")]


def test_schema_creation_and_declarations_are_logged(make_schema: Callable[..., dj.Schema]) -> None:
    schema = make_schema()
    declare(schema)
    assert events(schema) == ["created", "Declared `s`.`animal`", "Declared `s`.`weighing`",
                              "Declared `s`.`__total`"]
    row = schema.log.fetch(as_dict=True, order_by="id")[0]
    assert row["id"] == 1 and row["version"] == LOG_VERSION and row["version"].endswith("lj")
    assert row["user"] == schema.connection.get_user() and row["timestamp"] is not None
    # hidden tables stay hidden, and ~jobs work is not logged
    assert "~log" not in schema.list_tables()
    assert "Log" not in dj.VirtualModule("v", schema.database, connection=schema.connection).__dict__


def test_layout_is_datajoints(make_schema: Callable[..., dj.Schema]) -> None:
    schema = make_schema()
    heading = schema.log.heading
    assert heading.primary_key == ["id"]
    assert [a.name for a in heading.attributes.values()] == ["id", "timestamp", "version", "user", "host", "event"]
    assert catalog.load_schema(schema.connection, schema.database)["~log"].comment == (
        f"event logging table for `{schema.database}`")
    assert heading["id"].type.auto_increment and heading["version"].declared_type == "varchar(12)"


def test_deletes_and_drops_are_logged(make_schema: Callable[..., dj.Schema]) -> None:
    schema = make_schema()
    animal, weighing, total = declare(schema)
    animal.insert([(1, "a"), (2, "b"), (3, "c")])
    weighing.insert([(1, 1, 20.0), (1, 2, 21.0), (2, 1, 19.0)])
    total.populate(reserve_jobs=True)
    animal.insert1((4, "d"))
    start = len(events(schema))
    (animal & {"animal": 1}).delete(safemode=False)
    (animal & {"animal": 4}).delete_quick()
    logged = list(schema.log.fetch("event", order_by="id"))[start:]
    assert all(e.startswith("DELETE FROM ") and len(e) <= 255 for e in logged)
    # the cascade logs one DELETE per table, children first; the quick delete one more
    q = schema.connection.backend.qtable
    tables = [e.split()[2] for e in logged]
    assert sorted(tables[:2]) == sorted([q(schema.database, "__total"), q(schema.database, "weighing")])
    assert tables[2:] == [q(schema.database, "animal")] * 2
    total.drop_quick()
    assert events(schema)[-1].startswith("DROP TABLE ") and "__total" in events(schema)[-1]


def test_cancelled_delete_leaves_no_log(make_schema: Callable[..., dj.Schema]) -> None:
    schema = make_schema()
    animal, _, _ = declare(schema)
    animal.insert1((1, "a"))
    start = len(events(schema))
    def aborted() -> None:
        with schema.connection.transaction:
            (animal & {"animal": 1}).delete_quick()
            raise RuntimeError("abort")

    with pytest.raises(RuntimeError, match="abort"):
        aborted()
    assert len(events(schema)) == start and len(animal()) == 1


def test_log_is_callable_and_created_when_missing(make_schema: Callable[..., dj.Schema]) -> None:
    schema = make_schema()
    animal, _, _ = declare(schema)
    animal.insert1((1, "a"))
    conn = schema.connection
    dj.FreeTable(conn, f"`{schema.database}`.`~log`").drop_quick()
    assert "~log" not in catalog.load_schema(conn, schema.database, refresh=True)
    # inside a transaction a missing ~log cannot be declared: the event is not logged
    with conn.transaction:
        (animal & {"animal": 1}).delete_quick()
    assert "~log" not in catalog.load_schema(conn, schema.database, refresh=True)
    # outside one, the next event declares it (as DataJoint's Log does)
    schema.log("hello")
    assert events(schema) == ["hello"]


def test_declare_hidden_is_idempotent(make_schema: Callable[..., dj.Schema]) -> None:
    schema = make_schema()
    conn = schema.connection
    definition = LOG_DEFINITION.format(database=schema.database)
    declare_hidden(conn, schema.database, "~log", definition)
    conn._catalog_cache.pop(("hidden", schema.database, "~log"), None)
    declare_hidden(conn, schema.database, "~log", definition)
    assert events(schema) == ["created"]
