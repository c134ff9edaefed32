"""A table as it is in the database, in the same form as a declaration made from its class.

``alter()`` compares two :class:`~labjoin.sql.ddl.Declaration` objects: the one the class
definition resolves to and the one :func:`declaration_from_catalog` rebuilds from the catalog.
The export bundle is declared from the latter too. :func:`table_state` adds what only the
database knows and the DDL needs: constraint and index names, check constraints, the row count.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from ..sql import catalog
from ..sql.ddl import Declaration, ForeignKey

__all__ = ["TableState", "declaration_from_catalog", "fk_identity", "implicit_fk_indexes", "is_tracked",
           "table_state"]

IndexKey = tuple[bool, tuple[str, ...]]


def fk_identity(fk: ForeignKey) -> tuple[str, str, tuple[tuple[str, str], ...]]:
    """What makes two foreign keys the same constraint: parent and column pairs."""
    return fk.parent_schema, fk.parent_table, tuple(fk.attr_map)


def is_tracked(a: Any) -> bool:
    """A 0.14 store-backed attribute: a hash referencing the store's ``~external_`` table."""
    t = a.type
    return t is not None and bool(t.store) and t.codec is None


def declaration_from_catalog(conn: Any, schema: str, table: str) -> Declaration:
    """The declaration that would create ``schema.table`` as the catalog describes it.

    Attributes carry their declared types (from the ``:type:`` comment markers or the SQL
    type), defaults and comments; ``indexes`` holds only the declared indexes (not the unique
    indexes of ``-> [unique]`` foreign keys nor the indexes the backend keeps for foreign keys).
    """
    from ..heading.introspect import heading_from_catalog

    info = catalog.table_info(conn, schema, table)
    heading = heading_from_catalog(conn, schema, table)
    attrs = [replace(heading[n], lineage=None, sql_type="") for n in heading.names]
    nullable = {a.name: a.nullable for a in attrs}
    pk = set(info.primary_key)
    fks = []
    fk_cols = []
    for fk in info.foreign_keys:
        if fk.parent_table.startswith("~"):
            continue  # a store's tracking table: the DDL derives it from the attribute's type
        cols = tuple(c for c, _ in fk.attr_map)
        fk_cols.append(cols)
        fks.append(ForeignKey(fk.parent_schema, fk.parent_table, tuple(fk.attr_map),
                              nullable=any(nullable.get(c, False) for c in cols),
                              unique=(True, cols) in info.indexes, in_key=set(cols) <= pk))
    unique_fk = {(True, tuple(fk.child_attrs)) for fk in fks if fk.unique}
    fk_cols += [(a.name,) for a in attrs if is_tracked(a)]  # their indexes come with the tracking key
    indexes = [ix for ix in info.indexes
               if ix not in unique_fk and not (not ix[0] and ix[1] in fk_cols)]
    return Declaration(schema, table, info.comment, attrs, fks, indexes, definition=info.definition)


def implicit_fk_indexes(backend: str, decl: Declaration) -> list[IndexKey]:
    """The indexes ``create_table_sql`` adds for foreign keys on PostgreSQL and SQLite.

    MySQL makes its own (InnoDB indexes every foreign key), so there are none to add there.
    """
    if backend == "mysql":
        return []
    from ..sql.ddl import tracking_references

    declared = list(decl.indexes) + [(True, tuple(fk.child_attrs)) for fk in decl.foreign_keys if fk.unique]
    covered = [tuple(decl.primary_key)] + [cols for _, cols in declared]
    out: list[IndexKey] = []
    # the same walk as create_table_sql: foreign keys, then the store-tracking references
    for cols in [tuple(fk.child_attrs) for fk in decl.foreign_keys] + [(c,) for c, _ in tracking_references(decl)]:
        if not any(c[: len(cols)] == cols for c in covered):
            out.append((False, cols))
            covered.append(cols)
    return out


@dataclass
class TableState:
    """A table's declaration plus the names and counts only the database knows."""

    decl: Declaration
    rows: int
    fk_names: dict[tuple[Any, ...], str] = field(default_factory=dict)
    index_names: dict[IndexKey, str] = field(default_factory=dict)
    pk_name: str = ""
    checks: dict[str, list[str]] = field(default_factory=dict)  # PostgreSQL: column -> constraints
    physical_indexes: list[IndexKey] = field(default_factory=list)

    @property
    def full_name(self) -> str:
        return f"`{self.decl.schema}`.`{self.decl.table}`"


def table_state(conn: Any, schema: str, table: str) -> TableState:
    """Read ``schema.table``'s declaration, constraint names and row count."""
    info = catalog.table_info(conn, schema, table)
    decl = declaration_from_catalog(conn, schema, table)
    b = conn.backend
    rows = int(conn.query(f"SELECT count(*) FROM {b.qtable(schema, table)}").fetchone()[0])
    state = TableState(decl, rows, physical_indexes=list(info.indexes))
    visible = [fk for fk in info.foreign_keys if not fk.parent_table.startswith("~")]
    for fk, fk_info in zip(decl.foreign_keys, visible):
        state.fk_names[fk_identity(fk)] = fk_info.name
    if b.name == "postgresql":
        _pg_names(conn, schema, table, state)
    elif b.name == "mysql":
        _mysql_names(conn, schema, table, state)
    return state


def _pg_names(conn: Any, schema: str, table: str, state: TableState) -> None:
    p = {"s": schema, "t": table}
    for iname, unique, primary, cols in conn.query(
        "SELECT ic.relname, i.indisunique, i.indisprimary, "
        "array(SELECT a.attname FROM unnest(i.indkey) WITH ORDINALITY AS k(n, o) "
        "JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.n ORDER BY k.o) "
        "FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid JOIN pg_class ic ON ic.oid = i.indexrelid "
        "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %(s)s AND c.relname = %(t)s", p):
        if not primary:
            state.index_names[(bool(unique), tuple(cols))] = iname
    for cname, ctype, cols in conn.query(
        "SELECT con.conname, con.contype, "
        "array(SELECT a.attname FROM unnest(con.conkey) AS k(n) "
        "JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.n) "
        "FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid "
        "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %(s)s AND c.relname = %(t)s "
        "AND con.contype IN ('p', 'c')", p):
        if ctype == "p":
            state.pk_name = cname
        else:
            for col in cols:
                state.checks.setdefault(col, []).append(cname)


def _mysql_names(conn: Any, schema: str, table: str, state: TableState) -> None:
    groups: dict[str, tuple[bool, list[str]]] = {}
    for iname, non_unique, col in conn.query(
        "SELECT index_name, non_unique, column_name FROM information_schema.statistics "
        "WHERE table_schema = %s AND table_name = %s AND index_name <> 'PRIMARY' "
        "ORDER BY index_name, seq_in_index", (schema, table)):
        groups.setdefault(iname, (not non_unique, []))[1].append(col)
    for iname, (unique, cols) in groups.items():
        state.index_names[(unique, tuple(cols))] = iname
    state.physical_indexes = list(state.index_names)
