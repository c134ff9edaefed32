"""Table.alter() on every backend: each operation changes the table and keeps the rows."""

from __future__ import annotations

import uuid
from types import SimpleNamespace

import numpy as np
import pytest

import labjoin as dj
from labjoin import errors
from labjoin.sql import catalog

pytestmark = pytest.mark.backends


@pytest.fixture
def schema_name() -> str:
    return f"tools_alt_{uuid.uuid4().hex[:8]}"


def pipeline(schema: dj.Schema) -> SimpleNamespace:
    @schema
    class Lab(dj.Lookup):
        definition = """
        lab: varchar(16)
        ---
        city: varchar(32)
        """
        contents = [("cortex", "London"), ("witten", "Princeton")]

    @schema
    class Subject(dj.Manual):
        definition = """
        # a mouse
        subject: int
        ---
        name: varchar(12)
        weight=null: float
        """

    @schema
    class Session(dj.Manual):
        definition = """
        -> Subject
        sess: int
        ---
        note="": varchar(20)
        """

        class Trial(dj.Part):
            definition = """
            -> master
            trial: int
            ---
            rt: float
            """

    @schema
    class Ref(dj.Manual):
        definition = """
        ref: int
        ---
        -> [nullable] Subject
        """

    Subject.insert([(1, "alice", 20.5), (2, "bob", None), (3, "carol-marie", 18.0)])
    Session.insert([(1, 1, "x"), (1, 2, "y"), (2, 1, "z")])
    Session.Trial.insert([(1, 1, 1, 0.5), (1, 1, 2, 0.7), (2, 1, 1, 0.9)])
    Ref.insert([dict(ref=1, subject=1), dict(ref=2, subject=None)])
    return SimpleNamespace(Lab=Lab, Subject=Subject, Session=Session, Ref=Ref)


SUBJECT = """
# a mouse
subject: int
---
name: varchar(12)
weight=null: float
"""


def redefine(cls: type, text: str) -> None:
    cls.definition = text


def rows(table: type) -> list[dict]:
    return sorted(table.fetch(as_dict=True), key=lambda r: tuple(str(v) for v in r.values()))


def test_unchanged_definition_plans_nothing(make_schema) -> None:
    p = pipeline(make_schema())
    for cls in (p.Lab, p.Subject, p.Session, p.Session.Trial, p.Ref):
        plan = cls.alter(prompt=False)
        assert plan.empty, plan.render()
    assert "Nothing to alter" in p.Subject.alter(prompt=False, dry_run=True).render()


def test_add_attributes_fill_existing_rows(make_schema) -> None:
    p = pipeline(make_schema())
    redefine(p.Subject, SUBJECT + "age=3: smallint  # weeks\nnotes=null: varchar(100)\n")
    plan = p.Subject.alter(prompt=False)
    assert "existing rows get 3" in plan.render()
    got = rows(p.Subject)
    assert [r["age"] for r in got] == [3, 3, 3]
    assert [r["notes"] for r in got] == [None, None, None]
    assert [r["name"] for r in got] == ["alice", "bob", "carol-marie"]
    h = p.Subject.heading
    assert h["age"].declared_type in ("smallint", "int16") and h["age"].comment == "weeks"
    p.Subject.insert1(dict(subject=9, name="new"))
    assert (p.Subject & "subject=9").fetch1("age") == 3
    assert p.Subject.alter(prompt=False).empty


def test_new_attribute_without_default_is_refused_on_filled_table(make_schema) -> None:
    p = pipeline(make_schema())
    redefine(p.Subject, SUBJECT + "age: int\n")
    with pytest.raises(errors.MigrationError, match="needs a default"):
        p.Subject.alter(prompt=False)


def test_drop_attribute_with_data_needs_force(make_schema) -> None:
    p = pipeline(make_schema())
    redefine(p.Subject, "subject: int\n---\nname: varchar(12)\n")
    with pytest.raises(errors.MigrationError, match="force=True"):
        p.Subject.alter(prompt=False)
    assert "weight" in p.Subject.heading  # nothing changed
    plan = p.Subject.alter(prompt=False, force=True)
    assert "discards its values in 2 rows" in plan.render()
    assert "weight" not in p.Subject.heading
    assert [r["name"] for r in rows(p.Subject)] == ["alice", "bob", "carol-marie"]


def test_drop_empty_attribute_needs_no_force(make_schema) -> None:
    p = pipeline(make_schema())
    redefine(p.Subject, SUBJECT + "extra=null: int\n")
    p.Subject.alter(prompt=False)
    redefine(p.Subject, SUBJECT)
    p.Subject.alter(prompt=False)
    assert "extra" not in p.Subject.heading


def test_rename_attribute_keeps_values(make_schema) -> None:
    p = pipeline(make_schema())
    redefine(p.Subject, "# a mouse\nsubject: int\n---\nnickname: varchar(12)  # {name} what we call it\n"
                        "weight=null: float\n")
    plan = p.Subject.alter(prompt=False)
    assert "rename `name` -> `nickname`" in plan.render()
    assert [r["nickname"] for r in rows(p.Subject)] == ["alice", "bob", "carol-marie"]
    assert p.Subject.heading["nickname"].comment == "what we call it"
    assert p.Subject.alter(prompt=False).empty  # the marker is satisfied once renamed


def test_rename_of_missing_attribute_is_an_error(make_schema) -> None:
    p = pipeline(make_schema())
    redefine(p.Subject, "subject: int\n---\nnickname: varchar(12)  # {nosuch}\nweight=null: float\n")
    with pytest.raises(errors.MigrationError, match="nosuch"):
        p.Subject.alter(prompt=False)


def test_widen_types_keeps_values(make_schema) -> None:
    p = pipeline(make_schema())
    redefine(p.Subject, "# a mouse\nsubject: int\n---\nname: varchar(64)\nweight=null: double\n")
    p.Subject.alter(prompt=False)
    got = rows(p.Subject)
    assert [r["weight"] for r in got] == [20.5, None, 18.0]
    p.Subject.insert1(dict(subject=7, name="x" * 60))
    assert p.Subject.heading["name"].type.length == 64


def test_narrowing_below_existing_values_needs_force(make_schema) -> None:
    p = pipeline(make_schema())
    redefine(p.Subject, "# a mouse\nsubject: int\n---\nname: varchar(5)\nweight=null: float\n")
    with pytest.raises(errors.MigrationError, match="1 of 3 rows"):
        p.Subject.alter(prompt=False)
    assert p.Subject.heading["name"].type.length == 12
    p.Subject.alter(prompt=False, force=True)
    assert [r["name"] for r in rows(p.Subject)] == ["alice", "bob", "carol"]
    with pytest.raises(errors.DataError):
        p.Subject.insert1(dict(subject=8, name="toolong"))


def test_narrowing_that_fits_needs_no_force(make_schema) -> None:
    p = pipeline(make_schema())
    redefine(p.Session, "-> Subject\nsess: int\n---\nnote=\"\": varchar(4)\n")
    p.Session.alter(prompt=False)
    assert [r["note"] for r in rows(p.Session)] == ["x", "y", "z"]


def test_integer_narrowing_checks_the_range(make_schema) -> None:
    p = pipeline(make_schema())
    redefine(p.Session.Trial, "-> master\ntrial: int\n---\nrt: float\nscore=300: int\n")
    p.Session.Trial.alter(prompt=False)
    redefine(p.Session.Trial, "-> master\ntrial: int\n---\nrt: float\nscore=1: tinyint\n")
    with pytest.raises(errors.MigrationError, match="do not fit tinyint"):
        p.Session.Trial.alter(prompt=False)


def test_nullable_and_default_changes(make_schema) -> None:
    p = pipeline(make_schema())
    redefine(p.Subject, "# a mouse\nsubject: int\n---\nname: varchar(12)\nweight=0: float\n")
    with pytest.raises(errors.MigrationError, match="get the default"):
        p.Subject.alter(prompt=False)
    p.Subject.alter(prompt=False, force=True)
    assert [r["weight"] for r in rows(p.Subject)] == [20.5, 0.0, 18.0]
    assert not p.Subject.heading["weight"].nullable
    p.Subject.insert1(dict(subject=5, name="e"))
    assert (p.Subject & "subject=5").fetch1("weight") == 0.0


def test_comments_change(make_schema) -> None:
    p = pipeline(make_schema())
    redefine(p.Subject, "# a lab mouse\nsubject: int\n---\nname: varchar(12)  # given name\nweight=null: float\n")
    p.Subject.alter(prompt=False)
    assert p.Subject.heading["name"].comment == "given name"
    assert p.Subject.heading.table_comment == "a lab mouse"
    assert p.Subject.alter(prompt=False).empty


def test_add_and_drop_indexes(make_schema, backend) -> None:
    p = pipeline(make_schema())
    redefine(p.Subject, SUBJECT + "index(weight)\nunique index(name)\n")
    p.Subject.alter(prompt=False)
    info = catalog.table_info(backend, p.Subject.database, p.Subject.table_name)
    assert (False, ("weight",)) in info.indexes and (True, ("name",)) in info.indexes
    with pytest.raises(errors.DuplicateError):
        p.Subject.insert1(dict(subject=11, name="alice"))
    redefine(p.Subject, SUBJECT)
    p.Subject.alter(prompt=False)
    info = catalog.table_info(backend, p.Subject.database, p.Subject.table_name)
    assert info.indexes == []
    assert len(p.Subject) == 3


def test_unique_index_over_duplicates_is_blocked(make_schema) -> None:
    p = pipeline(make_schema())
    redefine(p.Session, "-> Subject\nsess: int\n---\nnote=\"\": varchar(20)\nunique index(sess)\n")
    with pytest.raises(errors.MigrationError, match="more than once"):
        p.Session.alter(prompt=False, force=True)


def test_add_and_drop_secondary_foreign_key(make_schema) -> None:
    p = pipeline(make_schema())
    redefine(p.Subject, SUBJECT + "-> [nullable] Lab\n")
    p.Subject.alter(prompt=False)
    assert [r["lab"] for r in rows(p.Subject)] == [None, None, None]
    p.Subject.update1(dict(subject=1, lab="cortex"))
    with pytest.raises(errors.IntegrityError):
        p.Subject.update1(dict(subject=2, lab="nowhere"))
    assert "`#lab`" in " ".join(p.Subject.parents())
    # the foreign key goes, the column stays (now a plain attribute)
    redefine(p.Subject, SUBJECT + "lab=null: varchar(16)\n")
    p.Subject.alter(prompt=False)
    assert p.Subject.parents() == []
    assert (p.Subject & "subject=1").fetch1("lab") == "cortex"
    p.Subject.update1(dict(subject=2, lab="nowhere"))


def test_foreign_key_over_orphans_is_blocked(make_schema) -> None:
    p = pipeline(make_schema())
    redefine(p.Subject, SUBJECT + "lab=null: varchar(16)\n")
    p.Subject.alter(prompt=False)
    p.Subject.update1(dict(subject=1, lab="nowhere"))
    redefine(p.Subject, SUBJECT + "-> [nullable] Lab\n")
    with pytest.raises(errors.MigrationError, match="do not exist"):
        p.Subject.alter(prompt=False)


def test_primary_key_gains_an_attribute_and_dependents_follow(make_schema) -> None:
    p = pipeline(make_schema())
    before_sessions = len(p.Session)
    redefine(p.Subject, "# a mouse\nsubject: int\nversion=1: smallint\n---\nname: varchar(12)\nweight=null: float\n")
    plan = p.Subject.alter(prompt=False)
    text = plan.render()
    assert "dependent" in text and "`session`" in text and "`session__trial`" in text
    assert p.Subject.primary_key == ["subject", "version"]
    assert p.Session.primary_key == ["subject", "version", "sess"]
    assert p.Session.Trial.primary_key == ["subject", "version", "sess", "trial"]
    assert "version" in p.Ref.heading and not p.Ref.heading["version"].in_key
    assert len(p.Session) == before_sessions
    assert {r["version"] for r in rows(p.Session.Trial)} == {1}
    assert [(r["subject"], r["version"]) for r in rows(p.Ref)] == [(1, 1), (None, None)]
    # the new key works end to end: a second version of subject 1, with its own sessions
    p.Subject.insert1(dict(subject=1, version=2, name="alice2"))
    p.Session.insert1(dict(subject=1, version=2, sess=1))
    with pytest.raises(errors.IntegrityError):
        p.Session.insert1(dict(subject=1, version=3, sess=1))
    assert p.Subject.alter(prompt=False).empty
    assert p.Session.alter(prompt=False).empty


def test_primary_key_rename_follows_into_dependents(make_schema) -> None:
    p = pipeline(make_schema())
    redefine(p.Subject, "# a mouse\nmouse: int  # {subject}\n---\nname: varchar(12)\nweight=null: float\n")
    p.Subject.alter(prompt=False)
    assert p.Subject.primary_key == ["mouse"]
    assert p.Session.primary_key == ["mouse", "sess"]
    assert p.Session.Trial.primary_key == ["mouse", "sess", "trial"]
    assert sorted(r["mouse"] for r in p.Session.Trial.fetch(as_dict=True)) == [1, 1, 2]
    assert [r["mouse"] for r in rows(p.Ref)] == [1, None]
    with pytest.raises(errors.IntegrityError):
        p.Session.insert1(dict(mouse=42, sess=1))


def test_primary_key_widening_follows_into_dependents(make_schema) -> None:
    p = pipeline(make_schema())
    redefine(p.Subject, "# a mouse\nsubject: bigint\n---\nname: varchar(12)\nweight=null: float\n")
    p.Subject.alter(prompt=False)
    for cls in (p.Subject, p.Session, p.Session.Trial, p.Ref):
        assert cls.heading["subject"].type.bits == 64, cls
    big = 2**40
    p.Subject.insert1(dict(subject=big, name="big"))
    p.Session.insert1(dict(subject=big, sess=1))
    p.Session.Trial.insert1(dict(subject=big, sess=1, trial=1, rt=0.1))
    assert len(p.Session.Trial) == 4


def test_unsupported_key_changes_are_refused(make_schema) -> None:
    p = pipeline(make_schema())
    redefine(p.Session, "-> Subject\n---\nsess: int\nnote=\"\": varchar(20)\n")
    with pytest.raises(errors.MigrationError, match="primary key"):
        p.Session.alter(prompt=False)
    redefine(p.Subject, "# a mouse\nsubject: smallint\n---\nname: varchar(12)\nweight=null: float\n")
    with pytest.raises(errors.MigrationError, match="widened"):
        p.Subject.alter(prompt=False)
    redefine(p.Subject, "# a mouse\nsubject: int\nkey2: int\n---\nname: varchar(12)\nweight=null: float\n")
    with pytest.raises(errors.MigrationError, match="needs a default"):
        p.Subject.alter(prompt=False)


def test_plan_shows_sql_and_effects_without_changing(make_schema, backend) -> None:
    p = pipeline(make_schema())
    redefine(p.Subject, SUBJECT + "age=3: int\n")
    plan = p.Subject.alter(prompt=False, dry_run=True)
    text = plan.render()
    assert "(3 rows)" in text and "existing rows get 3" in text
    assert f"SQL ({backend.backend.name})" in text
    assert ("ALTER TABLE" in text) or ("INSERT INTO" in text)
    if backend.backend.name == "sqlite":
        assert "PRAGMA foreign_keys=OFF" in text and "PRAGMA foreign_key_check" in text
    assert "age" not in p.Subject.heading


def test_alter_asks_under_safemode(make_schema, monkeypatch) -> None:
    p = pipeline(make_schema())
    redefine(p.Subject, SUBJECT + "age=3: int\n")
    with dj.config(safemode=True), pytest.raises(errors.DataJointError, match="no terminal"):
        p.Subject.alter()
    assert "age" not in p.Subject.heading
    import labjoin.tables.delete as delete_module

    monkeypatch.setattr(delete_module, "_confirm", lambda prompt: False)
    with dj.config(safemode=True):
        p.Subject.alter()
    assert "age" not in p.Subject.heading
    monkeypatch.setattr(delete_module, "_confirm", lambda prompt: True)
    with dj.config(safemode=True):
        p.Subject.alter()
    assert "age" in p.Subject.heading


def test_alter_inside_a_transaction_is_refused(make_schema, backend) -> None:
    p = pipeline(make_schema())
    redefine(p.Subject, SUBJECT + "age=3: int\n")
    with pytest.raises(errors.TransactionError), backend.transaction:
        p.Subject.alter(prompt=False)


def test_failed_change_leaves_the_table_as_it_was(make_schema, backend) -> None:
    p = pipeline(make_schema())
    redefine(p.Subject, SUBJECT + "score=300: int\n")
    p.Subject.alter(prompt=False)
    redefine(p.Subject, SUBJECT + "score=1: tinyint\nextra=0: int\n")
    with pytest.raises((errors.DataError, errors.MigrationError)):
        p.Subject.alter(prompt=False, force=True)  # 300 does not fit: the database refuses
    assert "extra" not in p.Subject.heading
    assert [r["score"] for r in rows(p.Subject)] == [300, 300, 300]


def test_mysql_failure_part_way_lists_what_ran(make_schema, backend) -> None:
    from labjoin.migrate import apply_plan, plan_alter
    from labjoin.migrate.statements import Statement

    p = pipeline(make_schema())
    redefine(p.Subject, SUBJECT + "age=3: int\n")
    plan = plan_alter(p.Subject)
    plan.statements.append(Statement("ALTER TABLE no_such_table ADD COLUMN x int"))
    if backend.backend.name != "mysql":
        with pytest.raises(errors.DataJointError):
            apply_plan(backend, plan)
        assert "age" not in p.Subject.heading  # one transaction: nothing happened
        return
    with pytest.raises(errors.MigrationError, match="Ran:") as info:
        apply_plan(backend, plan)
    assert "Not run:" in str(info.value) and "no_such_table" in str(info.value)
    assert "age" in p.Subject.heading  # MySQL committed the first statement


def test_sqlite_metadata_follows(tmp_path) -> None:
    conn = dj.Connection(f"sqlite:///{tmp_path}/meta.sqlite")
    p = pipeline(dj.Schema("tools_meta", connection=conn))
    text = SUBJECT + "age=3: uint8  # weeks\n"
    redefine(p.Subject, text)
    p.Subject.alter(prompt=False)
    info = catalog.table_info(conn, p.Subject.database, p.Subject.table_name)
    assert info.definition == text
    comments = dict(conn.query('SELECT column_name, comment FROM "~labjoin_columns" WHERE schema_name = ? '
                               "AND table_name = ?", (p.Subject.database, p.Subject.table_name)).fetchall())
    assert comments["age"] == ":uint8:weeks"
    assert conn.query("PRAGMA foreign_keys").fetchone()[0] == 1
    assert not conn.query("SELECT name FROM sqlite_master WHERE name LIKE '~labjoin_alter%'").fetchall()
    assert conn.query("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()


def test_tables_with_store_backed_attributes(make_schema, tmp_path) -> None:
    store = tmp_path / "store"
    store.mkdir()
    with dj.config(stores={"raw": {"protocol": "file", "location": str(store)}}):
        schema = make_schema()

        @schema
        class Scan(dj.Manual):
            definition = """
            scan: int
            ---
            image: blob@raw
            """

        Scan.insert1(dict(scan=1, image=np.arange(6)))
        assert Scan.alter(prompt=False).empty  # the tracking key and its index are not "changes"
        Scan.definition = "scan: int\n---\nimage: blob@raw\nmask=null: blob@raw\nnote='': varchar(8)\n"
        Scan.alter(prompt=False)
        assert Scan.alter(prompt=False).empty
        Scan.insert1(dict(scan=2, image=np.ones(2), mask=np.zeros(3)))
        assert np.array_equal((Scan & "scan=1").fetch1("image"), np.arange(6))
        assert np.array_equal((Scan & "scan=2").fetch1("mask"), np.zeros(3))
        # the new column references the store's tracking table, as the first one does
        info = catalog.table_info(Scan.connection, Scan.database, Scan.table_name)
        assert sorted(tuple(c for c, _ in fk.attr_map) for fk in info.foreign_keys) == [("image",), ("mask",)]
