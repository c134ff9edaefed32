"""Regression: string keys compared across schemas (PostgreSQL used one collation per schema,
and joining two schemas' string columns failed with "could not determine which collation")."""

from __future__ import annotations

from typing import Any

import pytest

import labjoin as dj


@pytest.mark.backends
def test_antijoin_on_a_string_key_across_schemas(make_schema: Any) -> None:
    parent_schema = make_schema("_a")
    child_schema = make_schema("_b")

    @parent_schema
    class WaterType(dj.Lookup):
        definition = """
        watertype_name: varchar(64)
        """
        contents = [("Water",), ("Hydrogel",)]

    @child_schema(context={"WaterType": WaterType})
    class WaterTypeColor(dj.Computed):
        definition = """
        -> WaterType
        ---
        color: varchar(16)
        """

        def make(self, key: dict[str, Any]) -> None:
            self.insert1(dict(key, color="blue"))

    assert len(WaterType - WaterTypeColor) == 2
    WaterTypeColor.populate()
    assert len(WaterType - WaterTypeColor) == 0
    assert len(WaterType * WaterTypeColor & {"watertype_name": "WATER"}) == 1  # still case-insensitive
