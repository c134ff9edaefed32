"""DataJoint idioms found in published pipelines (the DataJoint Elements), on every backend."""

from __future__ import annotations

from collections.abc import Callable

import pytest

import labjoin as dj
from labjoin import errors


def test_part_named_like_a_table_it_references(make_schema: Callable[..., dj.Schema]) -> None:
    """element-lab: ``Lab.Organization`` is a part whose ``-> Organization`` means the module's table."""
    schema = make_schema()

    @schema
    class Organization(dj.Manual):
        definition = """
        organization: varchar(24)
        """

    @schema
    class Lab(dj.Lookup):
        definition = """
        lab: varchar(24)
        """
        contents = [("cortexlab",)]

        class Organization(dj.Part):
            definition = """
            -> master
            -> Organization
            """

    Organization.insert1(("ucl",))
    Lab.Organization.insert1(("cortexlab", "ucl"))
    assert Lab.Organization.parents() == [Lab.full_table_name, Organization.full_table_name]
    with pytest.raises(errors.IntegrityError):
        Lab.Organization.insert1(("cortexlab", "mit"))


def test_several_renamed_keys_to_one_parent(make_schema: Callable[..., dj.Schema]) -> None:
    """element-event: ``AlignmentEvent`` references ``EventType`` three times under three names."""
    schema = make_schema()

    @schema
    class EventType(dj.Lookup):
        definition = """
        event_type: varchar(16)
        """
        contents = [("go",), ("stop",), ("reward",), ("lick",)]

    @schema
    class AlignmentEvent(dj.Manual):
        definition = """
        alignment_name: varchar(32)
        ---
        -> EventType.proj(alignment_event_type='event_type')
        -> EventType.proj(start_event_type='event_type')
        -> EventType.proj(end_event_type='event_type')
        """

    AlignmentEvent.insert([("a", "go", "stop", "reward"), ("b", "lick", "go", "lick"),
                           ("c", "lick", "lick", "stop"), ("d", "lick", "lick", "lick")])
    edge = schema.connection.dependencies.load().edges[EventType.full_table_name, AlignmentEvent.full_table_name]
    assert sorted(tuple(m.items()) for m in edge["attr_maps"]) == [
        (("alignment_event_type", "event_type"),), (("end_event_type", "event_type"),),
        (("start_event_type", "event_type"),)]
    # the cascade follows every one of the three keys, not just one of them
    assert (EventType & {"event_type": "stop"}).delete(safemode=False) == 1
    assert AlignmentEvent.fetch("alignment_name", order_by="alignment_name").tolist() == ["b", "d"]
    assert (EventType & {"event_type": "go"}).delete(safemode=False) == 1
    assert AlignmentEvent.fetch("alignment_name").tolist() == ["d"]
