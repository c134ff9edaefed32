"""Run the DataJoint Elements, unchanged, on labjoin: ``python elements_driver.py PREFIX``.

The database is labjoin's default connection (set ``LABJOIN_DATABASE_URL``). After
``alias_datajoint()`` the Elements' own ``import datajoint as dj`` gives labjoin; each Element is
activated the way DataJoint's workflow pipelines do it (one linking module supplying the upstream
tables), then one row is inserted into every table through the Element's own classes, in
dependency order, with values made from each attribute's type. Prints a JSON report.
"""

from __future__ import annotations

import datetime
import decimal
import json
import sys
import types
import uuid
from typing import Any

import labjoin.compat

labjoin.compat.alias_datajoint()

import datajoint as dj  # noqa: E402 - must come after the alias
import numpy as np  # noqa: E402
from element_animal import genotyping, subject, surgery  # noqa: E402
from element_event import event, trial  # noqa: E402
from element_lab import lab, project  # noqa: E402
from element_session import session_with_datetime as session  # noqa: E402

ORDER = ["lab", "project", "subject", "genotyping", "surgery", "session", "event", "trial"]
MODULES = {"lab": lab, "project": project, "subject": subject, "genotyping": genotyping, "surgery": surgery,
           "session": session, "event": event, "trial": trial}


def activate(prefix: str) -> types.ModuleType:
    """Activate every Element as a DataJoint workflow pipeline does; return the linking module."""
    link = types.ModuleType("compat_elements_link")
    sys.modules[link.__name__] = link
    lab.activate(prefix + "lab")
    link.__dict__.update(Lab=lab.Lab, Source=lab.Source, Protocol=lab.Protocol, User=lab.User,
                         Project=lab.Project, Experimenter=lab.User, Device=lab.Device,
                         get_experiment_root_data_dir=lambda: ["/tmp"],
                         get_session_directory=lambda key: "/tmp")
    project.activate(prefix + "project", linking_module=link)
    subject.activate(prefix + "subject", linking_module=link)
    link.Subject = subject.Subject
    genotyping.activate(prefix + "genotyping", linking_module=link)
    surgery.activate(prefix + "surgery", linking_module=link)
    session.activate(prefix + "session", linking_module=link)
    link.Session = session.Session
    event.activate(prefix + "event", linking_module=link)
    trial.activate(prefix + "trial", prefix + "event", linking_module=link)
    return link


def table_classes() -> dict[str, Any]:
    """full table name -> the Element's class, for every table (parts included) of every module."""
    out: dict[str, Any] = {}
    for mod in MODULES.values():
        for obj in vars(mod).values():
            if isinstance(obj, type) and issubclass(obj, dj.Table) and obj.__module__ == mod.__name__ \
                    and obj.database is not None:
                out[obj.full_table_name] = obj
                for part in vars(obj).values():
                    if isinstance(part, type) and issubclass(part, dj.Part):
                        out[part.full_table_name] = part
    return out


def value_for(attr: Any, n: int) -> Any:
    """A valid value of ``attr``'s type (``n`` keeps values of the same type apart)."""
    cat, t = attr.category, attr.type
    if cat == "INTEGER":
        return n % 100 + 1
    if cat in ("FLOAT", "DECIMAL"):
        return decimal.Decimal("1.5") if cat == "DECIMAL" else 1.5 + n
    if cat == "BOOL":
        return True
    if cat in ("CHAR", "VARCHAR"):
        return f"v{n}"[: int(t.length)]
    if cat == "TEXT":
        return f"text {n}"
    if cat == "ENUM":
        return t.values[0]
    if cat == "DATE":
        return datetime.date(2021, 1, 1 + n % 28)
    if cat in ("DATETIME", "TIMESTAMP"):
        return datetime.datetime(2021, 1, 1, 12, n % 60, 0)
    if cat == "TIME":
        return datetime.timedelta(hours=1, minutes=n % 60)
    if cat == "UUID":
        return uuid.UUID(int=n + 1)
    if cat == "JSON":
        return {"n": n}
    if cat in ("BLOB", "BYTES"):
        return np.arange(3.0) + n
    raise NotImplementedError(f"{attr.name}: no test value for {attr.declared_type}")


def fill(classes: dict[str, Any]) -> dict[str, int]:
    """Insert one row into every table, parents first, through the Elements' classes."""
    conn = dj.conn()
    deps = conn.dependencies.load()
    counts: dict[str, int] = {}
    for n, name in enumerate(deps.topo_sort(set(classes))):
        cls = classes[name]
        row: dict[str, Any] = {}
        for parent, _, data in deps.in_edges(name, data=True):
            for attr_map in data["attr_maps"]:
                # a parent row that agrees with what other parents already fixed (Lookup
                # contents give some parents several rows)
                known = {p: row[c] for c, p in attr_map.items() if c in row}
                prow = (dj.FreeTable(conn, parent) & known).fetch(as_dict=True, limit=1)[0]
                for child_attr, parent_attr in attr_map.items():
                    row[child_attr] = prow[parent_attr]
        for attr in cls.heading.attributes.values():
            if attr.name not in row and not attr.nullable and attr.default is None:
                row[attr.name] = value_for(attr, n)
        try:
            cls.insert1(row, allow_direct_insert=True)
        except dj.DataJointError as e:
            raise AssertionError(f"insert into {name} failed: {row!r}") from e
        got = (cls & {k: row[k] for k in cls.primary_key}).fetch1()
        for k, v in row.items():
            same = np.array_equal(got[k], v) if isinstance(v, np.ndarray) else got[k] == v
            if not same:
                raise AssertionError(f"{name}.{k}: inserted {v!r}, read back {got[k]!r}")
        counts[name] = len(cls())
    return counts


def main(prefix: str) -> None:
    dj.config["safemode"] = False
    activate(prefix)
    classes = table_classes()
    conn = dj.conn()
    declared = {f"`{s}`.`{t}`" for s in (prefix + m for m in ORDER)
                for t in dj.Schema(s, connection=conn, create_schema=False).list_tables()}
    counts = fill(classes)
    print(json.dumps({"backend": conn.backend.name, "datajoint": dj.__name__, "is_labjoin": dj.__labjoin__,
                      "classes": sorted(classes), "declared": sorted(declared), "rows": counts}))


if __name__ == "__main__":
    main(sys.argv[1])
