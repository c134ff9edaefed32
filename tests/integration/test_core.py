"""The core, on every backend: declare, insert, fetch, restrict, join, aggregate, delete, drop."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from types import SimpleNamespace

import numpy as np
import pytest

import labjoin as dj
from labjoin import errors


def declare_pipeline(schema: dj.Schema) -> SimpleNamespace:
    @schema
    class Lab(dj.Lookup):
        definition = """
        lab: varchar(32)
        ---
        institution: varchar(100)
        """
        contents = [("cortex", "UCL"), ("witten", "Princeton")]

    @schema
    class Subject(dj.Manual):
        definition = """
        # a mouse
        subject_uuid: uuid
        ---
        nickname: varchar(64)
        sex: enum("M", "F", "U")
        birth_date=null: date
        -> [nullable] Lab
        weight=null: decimal(6,2)   # grams
        alive=1: bool
        info=null: json
        """

    @schema
    class Session(dj.Manual):
        definition = """
        -> Subject
        session_start_time: datetime
        ---
        n_trials: int
        """

        class Trial(dj.Part):
            definition = """
            -> master
            trial: int
            ---
            choice: tinyint
            rt: float
            """

    @schema
    class Stat(dj.Computed):
        definition = """
        -> Session
        ---
        mean_rt: double
        n: int
        """

        def make(self, key):
            rt = (Session.Trial & key).fetch("rt")
            self.insert1(dict(key, mean_rt=float(rt.mean()), n=len(rt)))

    @schema
    class Note(dj.Manual):
        definition = """
        -> Session
        note_id: int
        ---
        text: varchar(255)
        """

    return SimpleNamespace(Lab=Lab, Subject=Subject, Session=Session, Stat=Stat, Note=Note)


U1 = uuid.UUID("11111111-1111-1111-1111-111111111111")
U2 = uuid.UUID("22222222-2222-2222-2222-222222222222")
T0 = dt.datetime(2021, 1, 1, 10, 0, 0)
T1 = dt.datetime(2021, 1, 2, 9, 30, 0)


@pytest.fixture
def p(make_schema):
    ns = declare_pipeline(make_schema())
    ns.Subject.insert([
        dict(subject_uuid=U1, nickname="m1", sex="M", lab="cortex", weight=20.5, birth_date="2020-01-01",
             info={"cage": 3}),
        dict(subject_uuid=U2, nickname="m2", sex="f"),
    ])
    ns.Session.insert([dict(subject_uuid=U1, session_start_time=T0, n_trials=3),
                       dict(subject_uuid=U1, session_start_time=T1, n_trials=2)])
    ns.Session.Trial.insert(
        [dict(subject_uuid=U1, session_start_time=T0, trial=i, choice=i % 2, rt=0.1 * (i + 1)) for i in range(3)]
        + [dict(subject_uuid=U1, session_start_time=T1, trial=i, choice=1, rt=0.5) for i in range(2)])
    return ns


def test_lookup_contents_and_types_round_trip(p):
    assert len(p.Lab()) == 2
    row = (p.Subject & {"subject_uuid": U1}).fetch1()
    assert row["subject_uuid"] == U1 and isinstance(row["subject_uuid"], uuid.UUID)
    assert row["birth_date"] == dt.date(2020, 1, 1)
    assert row["weight"] == Decimal("20.50") and isinstance(row["weight"], Decimal)
    assert row["alive"] is True
    assert row["info"] == {"cage": 3}
    other = (p.Subject & {"subject_uuid": U2}).fetch1()
    assert other["sex"] == "F"  # enum values are stored in their declared spelling
    assert other["birth_date"] is None and other["lab"] is None and other["weight"] is None
    s = (p.Session & {"session_start_time": T0}).fetch1("session_start_time")
    assert s == T0 and isinstance(s, dt.datetime)


def test_case_insensitive_string_comparison(p):
    assert len(p.Subject & {"sex": "m"}) == 1
    assert len(p.Subject & {"nickname": "M1"}) == 1
    assert len(p.Subject & {"lab": "CORTEX"}) == 1


def test_fetch_forms(p):
    rec = p.Subject.fetch(order_by="nickname")
    assert rec.dtype.names == ("subject_uuid", "nickname", "sex", "birth_date", "lab", "weight", "alive", "info")
    assert list(rec["nickname"]) == ["m1", "m2"]
    dicts = p.Session.fetch(as_dict=True, order_by="session_start_time desc")
    assert [d["n_trials"] for d in dicts] == [2, 3]
    keys = p.Session.fetch("KEY", order_by="KEY")
    assert keys == [{"subject_uuid": U1, "session_start_time": T0}, {"subject_uuid": U1, "session_start_time": T1}]
    n, rt = p.Session.Trial.fetch("trial", "rt", order_by=("session_start_time", "trial"))
    assert list(n) == [0, 1, 2, 0, 1] and n.dtype == np.int64
    assert np.allclose(rt, [0.1, 0.2, 0.3, 0.5, 0.5]) and rt.dtype == np.float64
    frame = p.Session.fetch(format="frame")
    assert list(frame.index.names) == ["subject_uuid", "session_start_time"]
    assert len(p.Session.Trial.fetch(limit=2, offset=1, order_by="KEY")) == 2
    assert p.Session.to_dicts(order_by="KEY")[0]["n_trials"] == 3
    assert list(p.Session.to_pandas().columns) == ["n_trials"]
    assert len(p.Session.keys()) == 2
    assert len(p.Session.Trial.head(3)) == 3


def test_fetch1_errors_say_how_many(p):
    with pytest.raises(errors.DataJointError, match=r"exactly one row.*has 2"):
        p.Session.fetch1()
    with pytest.raises(errors.DataJointError, match="has 0"):
        (p.Session & {"n_trials": 99}).fetch1()
    assert (p.Session & {"n_trials": 3}).fetch1("n_trials") == 3


def test_restrictions(p):
    T = p.Session.Trial
    assert len(T & []) == 0
    assert len(T - []) == 5
    assert len(T & dj.AndList([])) == 5
    assert len(T - dj.AndList([])) == 0
    assert len(T & True) == 5 and len(T & False) == 0
    assert len(T & [{"trial": 0}, {"trial": 1}]) == 4
    assert len(T & {"trial": 0, "not_an_attr": 5}) == 2
    assert len(T & dj.Not({"trial": 0})) == 3
    assert len((T & {"trial": 0}) & {"choice": 0}) == 1
    assert len(p.Session & (T & {"trial": 2})) == 1
    assert len(p.Session - (T & {"trial": 2})) == 1
    assert len(p.Subject & p.Session) == 1 and len(p.Subject - p.Session) == 1
    assert {"subject_uuid": U1} in p.Subject
    with pytest.raises(errors.QueryError, match="Invalid restriction"):
        T & None


def test_restriction_by_many_keys(p):
    keys = [{"trial": i, "subject_uuid": U1, "session_start_time": T0} for i in range(3)]
    assert len(p.Session.Trial & keys) == 3
    many = [{"trial": i} for i in range(12000)]  # more than one IN chunk
    assert len(p.Session.Trial & many) == 5


def test_join_proj_aggr_union(p):
    j = p.Subject * p.Session
    assert len(j) == 2 and set(j.primary_key) == {"subject_uuid", "session_start_time"}
    renamed = p.Session.proj(start="session_start_time")
    assert "start" in renamed.primary_key
    assert set(p.Session.proj().heading.names) == {"subject_uuid", "session_start_time"}
    assert set(p.Subject.proj("nickname").heading.names) == {"subject_uuid", "nickname"}
    assert set(p.Subject.proj(..., "-info").heading.names) == set(p.Subject.heading.names) - {"info"}
    with pytest.raises(errors.QueryError):
        p.Subject * p.Subject.proj(nickname2="nickname").proj(weight="nickname2")  # weight secondary on both
    u = p.Subject.proj() & {"subject_uuid": U1}
    assert len(u + (p.Subject.proj() & {"subject_uuid": U2})) == 2
    sexes = dj.U("sex") & p.Subject
    assert sorted(sexes.fetch("sex")) == ["F", "M"]
    assert len(p.Subject * dj.U("nickname")) == 2


def test_populate_and_progress(p):
    assert p.Stat.progress() == (2, 2)
    result = p.Stat.populate()
    assert result == {"success_count": 2, "error_list": []}
    assert p.Stat.progress() == (0, 2)
    assert (p.Stat & {"session_start_time": T0}).fetch1("n") == 3
    with pytest.raises(errors.DataJointError, match="auto-populated"):
        p.Stat.insert1(dict(subject_uuid=U1, session_start_time=T0, mean_rt=1.0, n=1))


def test_insert_errors(p):
    with pytest.raises(errors.DuplicateError):
        p.Subject.insert1(dict(subject_uuid=U1, nickname="again", sex="M"))
    p.Subject.insert1(dict(subject_uuid=U1, nickname="again", sex="M"), skip_duplicates=True)
    assert (p.Subject & {"subject_uuid": U1}).fetch1("nickname") == "m1"
    with pytest.raises(errors.IntegrityError):
        p.Session.insert1(dict(subject_uuid=uuid.uuid4(), session_start_time=T0, n_trials=1))
    with pytest.raises(errors.UnknownAttributeError, match="colour"):
        p.Lab.insert1(dict(lab="x", institution="y", colour="red"))
    p.Lab.insert1(dict(lab="x", institution="y", colour="red"), ignore_extra_fields=True)
    with pytest.raises(errors.MissingAttributeError, match="institution"):
        p.Lab.insert1(dict(lab="z"))
    with pytest.raises(errors.DataError):
        p.Subject.insert1(dict(subject_uuid=uuid.uuid4(), nickname="bad", sex="X"))
    # nothing half-written: a failing row rolls back the whole insert
    with pytest.raises(errors.DuplicateError):
        p.Lab.insert([("new1", "a"), ("cortex", "dup")])
    assert len(p.Lab & {"lab": "new1"}) == 0


def test_replace_and_update(p):
    p.Lab.insert1(("cortex", "University College London"), replace=True)
    assert (p.Lab & {"lab": "cortex"}).fetch1("institution") == "University College London"
    p.Subject.update1(dict(subject_uuid=U2, nickname="renamed"))
    assert (p.Subject & {"subject_uuid": U2}).fetch1("nickname") == "renamed"
    with pytest.raises(errors.DataJointError, match="one existing row"):
        p.Subject.update1(dict(subject_uuid=uuid.uuid4(), nickname="nobody"))


def test_insert_numpy_and_pandas(p):
    import pandas as pd

    df = pd.DataFrame({"lab": ["a1", "a2"], "institution": ["I1", "I2"]})
    p.Lab.insert(df)
    rec = np.array([("b1", "J1")], dtype=[("lab", "U8"), ("institution", "U8")])
    p.Lab.insert(rec)
    p.Lab.insert([("c1", "K1")])
    assert len(p.Lab()) == 6


def test_cascading_delete(p):
    p.Stat.populate()
    p.Note.insert1(dict(subject_uuid=U1, session_start_time=T0, note_id=1, text="hi"))
    (p.Session & {"session_start_time": T0}).delete()
    assert len(p.Session()) == 1 and len(p.Session.Trial()) == 2 and len(p.Stat()) == 1 and len(p.Note()) == 0
    (p.Subject & {"subject_uuid": U1}).delete()
    assert len(p.Session()) == 0 and len(p.Session.Trial()) == 0 and len(p.Stat()) == 0
    assert len(p.Subject()) == 1


def test_part_integrity(p):
    with pytest.raises(errors.PartIntegrityError, match="master"):
        (p.Session.Trial & {"trial": 0}).delete()
    assert len(p.Session.Trial()) == 5
    (p.Session.Trial & {"trial": 0}).delete(force=True)
    assert len(p.Session.Trial()) == 3


def test_transactions_and_savepoints(backend, p):
    def fail_inside(label: str) -> None:
        with backend.transaction:
            p.Lab.insert1((label, "x"))
            raise RuntimeError

    with pytest.raises(RuntimeError):
        fail_inside("t1")
    assert len(p.Lab & {"lab": "t1"}) == 0
    with backend.transaction:
        p.Lab.insert1(("t2", "x"))
        with pytest.raises(RuntimeError):
            fail_inside("t3")
    assert len(p.Lab & {"lab": "t2"}) == 1 and len(p.Lab & {"lab": "t3"}) == 0


def test_virtual_module_and_describe(backend, p, schema_name):
    vm = dj.VirtualModule("vm", schema_name, connection=backend)
    assert len(vm.Session.Trial()) == 5
    assert sorted(vm.Lab.fetch("lab")) == ["cortex", "witten"]
    assert vm.Stat().tier == "Computed"
    text = p.Subject.describe()
    assert "-> [nullable] Lab" in text and "sex: enum('M','F','U')" in text
    assert set(dj.list_schemas(backend)) >= {schema_name}


def test_drop_table_with_dependents(p):
    p.Session.drop()
    assert not p.Session().is_declared
    assert not p.Stat().is_declared
    assert p.Subject().is_declared


def test_definition_errors(make_schema):
    schema = make_schema()
    with pytest.raises(errors.DefinitionError, match="Subjct"):

        @schema
        class Bad(dj.Manual):
            definition = """
            -> Subjct
            id: int
            """


def test_diagram_of_a_schema(backend, p):
    import xml.etree.ElementTree as ET

    d = dj.Diagram(p.Subject.connection.schemas[p.Subject.database])
    svg = d.make_svg()
    root = ET.fromstring(str(svg))
    tables = {a.get("data-table") for a in root.iter("{http://www.w3.org/2000/svg}a")}
    for cls in (p.Lab, p.Subject, p.Session, p.Stat, p.Note):
        assert cls.full_table_name in tables
    assert p.Session.Trial.full_table_name in (dj.Diagram(p.Session) + 1).nodes_to_show
    assert "flowchart" in (dj.Diagram(p.Subject) + 2).make_mermaid()


def test_string_restrictions(p):
    T = p.Session.Trial
    assert len(T & "rt > 0.25") == 3
    assert len(T & 'choice = 1 and rt between 0.15 and 0.55') == 3
    assert len(p.Subject & 'nickname like "M%"') == 2
    assert len(p.Subject & 'birth_date is null') == 1
    assert len(T & "choice") == 3  # a bare number is a condition, as in MySQL
    with pytest.raises(errors.UnknownAttributeError, match="rt"):
        T & "rtt > 1"
    stats = p.Subject.aggr(T, n="count(*)", ccw="sum(choice = 1)", m="avg(rt)").fetch1()
    assert stats["n"] == 5 and stats["ccw"] == 3
    assert abs(stats["m"] - 0.32) < 1e-6  # rt is a 32-bit float on the servers


def test_statement_cache_reuses_shapes_with_new_values(backend, p):
    """Queries of one shape compile once; each still gets its own values."""
    T = p.Session.Trial
    backend.statement_cache.clear()
    got = [(T & {"subject_uuid": U1, "session_start_time": T0, "trial": i}).fetch1("rt") for i in range(3)]
    assert np.allclose(got, [0.1, 0.2, 0.3])
    assert len(backend.statement_cache) == 1
    assert len(T & [{"trial": 0}, {"trial": 1}]) == 4
    assert len(T & [{"trial": 2}, {"trial": 5}]) == 1  # same shape (two keys), other values
    assert len(T & 'rt > 0.25') == 3 and len(T & 'rt > 0.45') == 2  # literals are part of the shape
    assert len((T & {"trial": 0}).proj() + (T & {"trial": 1}).proj()) == 4
    assert len((T & {"trial": 1}).proj() + (T & {"trial": 2}).proj()) == 3
    assert len(T & {"choice": None}) == 0 and len(T & {"choice": 1}) == 3  # NULL is its own shape


def test_redeclared_table_gets_a_fresh_heading(make_schema):
    schema = make_schema("_r")

    @schema
    class Thing(dj.Manual):
        definition = """
        id: int
        ---
        a: int
        """

    Thing.insert1((1, 2))
    assert Thing.fetch1("a") == 2
    Thing.drop()

    @schema
    class Thing(dj.Manual):
        definition = """
        id: int
        ---
        b: varchar(8)
        """

    Thing.insert1((1, "x"))
    assert Thing.fetch1() == {"id": 1, "b": "x"}


def test_less_common_types_and_defaults(make_schema, backend):
    schema = make_schema("_y")

    @schema
    class Odd(dj.Manual):
        definition = """
        id: bigint unsigned auto_increment
        ---
        yr=null: year
        label: enum('a:b', 'c')       # a colon inside an enum value
        changed=CURRENT_TIMESTAMP: timestamp
        touched=CURRENT_TIMESTAMP on update CURRENT_TIMESTAMP: datetime
        """

    Odd.insert1(dict(yr=2020, label="A:B"))
    row = Odd.fetch1()
    assert row["id"] == 1 and row["yr"] == 2020 and row["label"] == "a:b"
    assert isinstance(row["changed"], dt.datetime)
    assert Odd.heading["label"].type.values == ("a:b", "c")
    Odd.update1(dict(id=1, touched=dt.datetime(2000, 1, 1)))
    assert Odd.fetch1("touched") == dt.datetime(2000, 1, 1)
    Odd.update1(dict(id=1, yr=2021))  # touching the row refreshes `touched`
    assert Odd.fetch1("touched").year > 2000
    assert Odd().size_on_disk > 0
    with pytest.raises(errors.DataError):
        Odd.insert1(dict(yr=1800, label="c"))


def test_forked_child_does_not_end_the_parents_session(backend, p):
    import os

    assert len(p.Lab()) == 2  # the parent's connection is open
    pid = os.fork()
    if pid == 0:  # the child uses the inherited Connection object: it must open its own session
        code = 0
        try:
            code = 0 if len(p.Lab()) == 2 else 1
        except BaseException:  # report any failure through the exit code
            code = 2
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert len(p.Lab()) == 2  # and the parent's session still works


def test_order_by_as_one_string(p):
    keys = p.Session.Trial.fetch("KEY", order_by="session_start_time desc, trial")
    assert [k["trial"] for k in keys] == [0, 1, 0, 1, 2]


def test_refused_login_is_an_access_error(backend):
    if backend.backend.name == "sqlite":
        pytest.skip("SQLite has no logins")
    from sqlalchemy.engine import make_url

    url = make_url(backend.url).set(username="no_such_user_lj", password="wrong")
    with pytest.raises(errors.AccessError, match="refused the login"):
        dj.Connection(url.render_as_string(hide_password=False)).ping()


def test_computed_values_have_one_type_everywhere(p):
    T = p.Session.Trial
    row = dj.U().aggr(T, n="count(*)", s="sum(choice)", a="avg(choice)", big="max(rt) > 0.4").fetch1()
    assert row == {"n": 5, "s": 3, "a": pytest.approx(0.6), "big": 1}
    assert type(row["s"]) is int and type(row["a"]) is float and type(row["big"]) is int
    assert (dj.U() & T).fetch(as_dict=True) == [{}]  # one row with no attributes


def test_key_source_with_two_keys_to_one_parent(make_schema):
    schema = make_schema("_k")

    @schema
    class Cell(dj.Manual):
        definition = """
        cell: int
        """

    @schema
    class Pair(dj.Computed):
        definition = """
        -> Cell.proj(pre='cell')
        -> Cell.proj(post='cell')
        ---
        distance: int
        """

        def make(self, key):
            self.insert1(dict(key, distance=abs(key["pre"] - key["post"])))

    Cell.insert([(1,), (2,), (3,)])
    assert len(Pair.key_source) == 9
    Pair.populate()
    assert len(Pair()) == 9 and (Pair & {"pre": 1, "post": 3}).fetch1("distance") == 2
