"""Table tiers: Manual, Lookup, Imported, Computed and Part (and their DataJoint 2.x names).

The tier decides the table-name prefix (DataJoint's storage convention) and what the table may
do: auto-populated tiers get ``populate`` and refuse direct inserts; a Part belongs to its
master and cannot be deleted or dropped on its own.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from .. import errors
from .table import Table

__all__ = ["Computed", "Imported", "Lookup", "Manual", "Part", "UserTable", "to_snake_case"]


@lru_cache(maxsize=4096)
def to_snake_case(name: str) -> str:
    """``SessionTrial`` -> ``session_trial`` (the class name must be CamelCase)."""
    if not re.fullmatch(r"[A-Z][A-Za-z0-9]*", name):
        raise errors.DataJointError(
            f"Table class name {name!r} must be CamelCase: start with a capital letter and use only "
            "letters and digits (no underscores)."
        )
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


class _ClassProperty:
    def __init__(self, f: Any) -> None:
        self.f = f

    def __get__(self, obj: Any, owner: Any) -> Any:
        return self.f(owner)


class UserTable(Table):
    """Base of every table class a user declares (``dj.UserTable``)."""

    tier_prefix = ""
    _connection: Any = None
    _declared_name: str | None = None

    @_ClassProperty
    def table_name(cls) -> str:  # type: ignore[override]
        if cls._declared_name is not None:
            return cls._declared_name
        return cls.tier_prefix + to_snake_case(cls.__name__)

    @_ClassProperty
    def full_table_name(cls) -> str:  # type: ignore[override]
        return f"`{cls.database}`.`{cls.table_name}`"

    def __repr__(self) -> str:
        return super().__repr__()


class Manual(UserTable):
    """Rows entered by people or ingestion scripts."""


class Lookup(UserTable):
    """Small reference tables; ``contents`` is inserted when the class is declared."""

    tier_prefix = "#"
    contents: Any = ()


class _AutoPopulated(UserTable):
    """Filled by ``populate()`` calling ``make(key)`` for each key of ``key_source``."""

    from ..populate.autopopulate import (
        key_source,
        populate,
        progress,
    )

    _key_source = None
    jobs = _ClassProperty(lambda cls: cls._jobs())

    @classmethod
    def _jobs(cls) -> Any:
        from ..populate.jobs import JobTable

        return JobTable(cls._connection_or_default(), cls.database)

    @classmethod
    def _connection_or_default(cls) -> Any:
        if cls._connection is not None:
            return cls._connection
        from ..connection.connection import conn

        return conn()


class Imported(_AutoPopulated):
    """Filled by ``make`` from data outside the database (files, instruments)."""

    tier_prefix = "_"


class Computed(_AutoPopulated):
    """Filled by ``make`` from other tables."""

    tier_prefix = "__"


class Part(UserTable):
    """A part of its master: rows are inserted with the master's row, inside ``make`` or together."""

    master: Any = None

    @_ClassProperty
    def table_name(cls) -> str:  # type: ignore[override]
        if cls._declared_name is not None:
            return cls._declared_name
        if cls.master is None:
            raise errors.DataJointError(f"Part table {cls.__name__} must be nested in a master table class.")
        return cls.master.table_name + "__" + to_snake_case(cls.__name__)

    def delete(self, *args: Any, force: bool = False, **kwargs: Any) -> int:
        if force:
            kwargs["part_integrity"] = "ignore"
        return super().delete(*args, **kwargs)

    def drop(self, *args: Any, force: bool = False, **kwargs: Any) -> None:
        if force:
            kwargs["part_integrity"] = "ignore"
        super().drop(*args, **kwargs)

    @property
    def tier(self) -> str:
        return "Part"


# DataJoint 2.x names for the same tiers
Entry = Manual
Ingest = Imported
Compute = Computed
