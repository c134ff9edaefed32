"""Restricting by a list of composite keys seeks the primary-key index on every backend's planner.

SQLite scans the whole table for ``(a, b) IN ((?, ?), ...)``; labjoin writes the list as a
subquery of VALUES there, which SQLite answers with the index (64 ms against 0.03 ms for 25
keys of a 1e6-row table). The rows must be the same as with any other spelling.
"""

from __future__ import annotations

import pytest

import labjoin as dj

pytestmark = pytest.mark.backends


def _table(schema: dj.Schema) -> type:
    @schema
    class Cell(dj.Manual):
        definition = """
        row_id: int
        col_id: int
        ---
        value = null: float
        """

    Cell.insert((r, c, None if (r + c) % 7 == 0 else r * 100.0 + c) for r in range(40) for c in range(50))
    return Cell


def test_composite_key_lists_restrict_correctly(backend: dj.Connection, make_schema) -> None:
    cell = _table(make_schema())
    keys = [{"row_id": r, "col_id": c} for r, c in [(3, 4), (39, 49), (0, 0), (3, 4), (41, 1)]]
    got = (cell & keys).fetch("KEY", order_by="KEY")
    assert got == [{"row_id": 0, "col_id": 0}, {"row_id": 3, "col_id": 4}, {"row_id": 39, "col_id": 49}]
    assert len(cell - keys) == 2000 - 3
    assert len(cell & keys[:1]) == 1 and len(cell & []) == 0
    # rows with a secondary attribute: a None matches NULL (as a dict restriction does)
    with_values = [{"row_id": 3, "col_id": 5, "value": 305.0}, {"row_id": 0, "col_id": 0, "value": None},
                   {"row_id": 1, "col_id": 1, "value": 5.0}]
    assert (cell & with_values).fetch("KEY", order_by="KEY") == [{"row_id": 0, "col_id": 0}, {"row_id": 3, "col_id": 5}]
    # more keys than one statement chunk of small lists, each row found once
    many = [{"row_id": r, "col_id": c} for r in range(40) for c in range(0, 50, 2)]
    assert len(cell & many) == 1000
    (cell & keys).delete_quick()
    assert len(cell) == 1997


def test_sqlite_seeks_the_index_for_a_key_list(backend: dj.Connection, make_schema) -> None:
    if backend.backend.name != "sqlite":
        pytest.skip("the plan text is SQLite's")
    cell = _table(make_schema())
    sql, params = (cell & [{"row_id": 1, "col_id": 2}, {"row_id": 5, "col_id": 6}])._statement()
    plan = " | ".join(str(r[-1]) for r in backend.query(f"EXPLAIN QUERY PLAN {sql}", params).fetchall())
    assert "SEARCH" in plan and "SCAN t0" not in plan and "SCAN " + '"' not in plan, plan
