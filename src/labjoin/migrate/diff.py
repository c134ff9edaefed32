"""Compare a table's class definition with the database: what changes, on which tables.

:func:`table_changes` resolves the definition (DataJoint's rename convention: a comment that
starts with ``{old_name}`` renames ``old_name``), compares it with the catalog, checks that the
change is one labjoin can make, and follows a primary-key change down to every dependent table
whose foreign keys copy that key. The result is one :class:`TableChange` per table, parents
first: the old and new declaration, the column renames, and how existing rows get values for
new columns. Turning that into SQL is the job of ``statements.py``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from typing import Any

from .. import errors
from ..heading.heading import Attribute
from ..sql.ddl import Declaration, ForeignKey
from .state import TableState, fk_identity, table_state

__all__ = ["Fill", "TableChange", "attr_differences", "key_touched", "table_changes", "type_key", "widens"]

_RENAME = re.compile(r"^\{\s*(\w+)\s*\}\s*")


@dataclass(frozen=True)
class Fill:
    """The value existing rows get in a new column.

    ``value`` is the Python value (None: NULL); when ``null_with`` names columns, rows where any
    of them is NULL get NULL instead (a nullable foreign key gaining a column).
    """

    value: Any
    null_with: tuple[str, ...] = ()


@dataclass
class TableChange:
    """One table's change: ``old`` (from the catalog) becomes ``new``."""

    state: TableState
    new: Declaration
    renames: dict[str, str] = field(default_factory=dict)  # new name -> old name
    fills: dict[str, Fill] = field(default_factory=dict)
    cause: str = ""  # why a dependent table changes ("" for the table being altered)
    definition: str | None = None  # stored definition text (SQLite); None keeps the old one

    @property
    def old(self) -> Declaration:
        return self.state.decl

    @property
    def full_name(self) -> str:
        return self.state.full_name

    def old_name(self, new_name: str) -> str | None:
        """The current column a new attribute comes from, or None for a new column."""
        name = self.renames.get(new_name, new_name)
        return name if any(a.name == name for a in self.old.attributes) else None

    def old_attr(self, new_name: str) -> Attribute | None:
        name = self.old_name(new_name)
        return None if name is None else next(a for a in self.old.attributes if a.name == name)

    @property
    def added(self) -> list[Attribute]:
        return [a for a in self.new.attributes if self.old_name(a.name) is None]

    @property
    def dropped(self) -> list[Attribute]:
        kept = {self.old_name(a.name) for a in self.new.attributes}
        return [a for a in self.old.attributes if a.name not in kept]

    @property
    def kept(self) -> list[tuple[Attribute, Attribute]]:
        """(old, new) attribute pairs, renamed or not."""
        out = []
        for a in self.new.attributes:
            old = self.old_attr(a.name)
            if old is not None:
                out.append((old, a))
        return out

    def renamed_fk(self, fk: ForeignKey) -> tuple[Any, ...]:
        """The identity an old foreign key has once its columns are renamed."""
        back = {old: new for new, old in self.renames.items()}
        pairs = tuple((back.get(c, c), p) for c, p in fk.attr_map)
        return fk.parent_schema, fk.parent_table, pairs

    @property
    def dropped_fks(self) -> list[ForeignKey]:
        new = {fk_identity(fk) for fk in self.new.foreign_keys}
        return [fk for fk in self.old.foreign_keys if self.renamed_fk(fk) not in new]

    @property
    def added_fks(self) -> list[ForeignKey]:
        old = {self.renamed_fk(fk) for fk in self.old.foreign_keys}
        return [fk for fk in self.new.foreign_keys if fk_identity(fk) not in old]

    @property
    def pk_changed(self) -> bool:
        back = {old: new for new, old in self.renames.items()}
        return [back.get(k, k) for k in self.old.primary_key] != self.new.primary_key

    def is_empty(self, backend: str) -> bool:
        """True when the database already matches ``new``."""
        added_ix, dropped_ix = self.index_changes()
        return not (self.added or self.dropped or self.renames or self.dropped_fks or self.added_fks
                    or self.pk_changed or self.new.comment != self.old.comment or added_ix or dropped_ix
                    or any(attr_differences(o, n, backend) for o, n in self.kept))

    def index_changes(self) -> tuple[list[tuple[bool, tuple[str, ...]]], list[tuple[bool, tuple[str, ...]]]]:
        """(declared indexes to add, declared indexes to drop), old columns renamed."""
        back = {old: new for new, old in self.renames.items()}
        old = [(u, tuple(back.get(c, c) for c in cols)) for u, cols in self.old.indexes]
        old += [(True, tuple(back.get(c, c) for c in fk.child_attrs)) for fk in self.old.foreign_keys if fk.unique]
        new = list(self.new.indexes) + [(True, tuple(fk.child_attrs)) for fk in self.new.foreign_keys if fk.unique]
        return [ix for ix in new if ix not in old], [ix for ix in old if ix not in new]


# -- comparing attributes ----------------------------------------------------------------------
def type_key(a: Attribute, backend: str) -> tuple[Any, ...]:
    """What must match for two attributes to have the same type on ``backend``."""
    t = a.type
    if t is None:
        return (a.sql_type,)
    cat = t.category.name
    if cat == "TEXT":
        return ("TEXT",)  # every backend stores one unbounded text type
    if cat in ("BLOB", "ATTACH", "BYTES") and t.store is None:
        return (t.core_name, t.blob_size if backend == "mysql" else None)
    return (t.core_name,)


def _default_key(a: Attribute) -> Any:
    d = a.default
    if d is None or d.kind == "null":
        return ("null",) if a.nullable else None
    if d.kind != "literal":
        return (d.kind, str(d.value or "").lower().strip())
    v, cat = d.value, a.category
    try:
        if cat in ("INTEGER", "YEAR"):
            return int(v)  # type: ignore[arg-type]
        if cat == "FLOAT":
            return float(v)  # type: ignore[arg-type]
        if cat == "DECIMAL":
            return Decimal(str(v)).normalize()
        if cat == "BOOL":
            return v if isinstance(v, bool) else str(v).lower() in ("1", "true")
    except (ValueError, TypeError, InvalidOperation):
        pass
    return str(v)


def attr_differences(old: Attribute, new: Attribute, backend: str) -> set[str]:
    """Which of type, nullable, default and comment differ between two attributes."""
    out = set()
    if type_key(old, backend) != type_key(new, backend):
        out.add("type")
    if old.nullable != new.nullable:
        out.add("nullable")
    if _default_key(old) != _default_key(new):
        out.add("default")
    if (old.comment or "") != (new.comment or ""):
        out.add("comment")
    return out


# -- the table being altered ----------------------------------------------------------------------
def _desired(conn: Any, schema: str, table: str, definition: str, context: Mapping[str, Any],
             current: Declaration) -> tuple[Declaration, dict[str, str]]:
    """The declaration the class definition asks for, and its renames (new -> old)."""
    from ..schema import resolve_declaration

    decl = resolve_declaration(conn, schema, table, definition, context)
    existing = {a.name for a in current.attributes}
    renames: dict[str, str] = {}
    attrs = []
    for a in decl.attributes:
        m = _RENAME.match(a.comment or "")
        if m:
            old = m.group(1)
            a = replace(a, comment=a.comment[m.end():])
            if a.name not in existing and old != a.name:
                if old not in existing:
                    raise errors.MigrationError(
                        f"`{a.name}` is marked as a rename of `{old}` ({{{old}}} in its comment), but {table} "
                        f"has no attribute `{old}`. Remove the {{{old}}} marker or fix the old name."
                    )
                renames[a.name] = old
        attrs.append(a)
    if len(set(renames.values())) != len(renames):
        raise errors.MigrationError(f"Two attributes of {table} are marked as renames of the same attribute.")
    return replace(decl, attributes=attrs), renames


def _check_key_change(tc: TableChange, backend: str) -> None:
    """Refuse primary-key changes other than: add an attribute (with a default), rename, widen."""
    old_pk = tc.old.primary_key
    back = {old: new for new, old in tc.renames.items()}
    mapped = [back.get(k, k) for k in old_pk]
    new_pk = tc.new.primary_key
    name = tc.full_name
    removed = [k for k in mapped if k not in new_pk]
    if removed:
        raise errors.MigrationError(
            f"{name}: removing `{removed[0]}` from the primary key is not supported: rows could collide. "
            "Declare a new table with the key you want and copy the rows into it."
        )
    if [k for k in new_pk if k in mapped] != mapped:
        raise errors.MigrationError(
            f"{name}: reordering the primary key is not supported; keep the existing key attributes in "
            "their order (new ones may go anywhere)."
        )
    for k in new_pk:
        old = tc.old_attr(k)
        new = next(a for a in tc.new.attributes if a.name == k)
        if old is None:
            if tc.state.rows and (new.default is None or new.default.kind != "literal"):
                raise errors.MigrationError(
                    f"{name}: the new key attribute `{k}` needs a default value for the {tc.state.rows} "
                    f"existing rows (e.g. `{k}=0: {new.declared_type}`)."
                )
        elif not old.in_key:
            raise errors.MigrationError(
                f"{name}: moving `{k}` into the primary key is not supported. Add a new key attribute "
                "with a default instead, or declare a new table."
            )
        elif "type" in attr_differences(old, new, backend) and not widens(old, new):
            raise errors.MigrationError(
                f"{name}: the key attribute `{k}` can only be widened ({old.declared_type} -> "
                f"{new.declared_type} is not a widening): dependent tables copy it."
            )
    for old, new in tc.kept:
        if old.in_key and not new.in_key:
            raise errors.MigrationError(f"{name}: moving `{old.name}` out of the primary key is not supported.")
        if (getattr(old.type, "auto_increment", False) != getattr(new.type, "auto_increment", False)):
            raise errors.MigrationError(
                f"{name}: adding or removing auto_increment on `{new.name}` is not supported."
            )


def widens(old: Attribute, new: Attribute) -> bool:
    """True when every value of ``old``'s type fits ``new``'s type unchanged."""
    o, n = old.type, new.type
    if o is None or n is None:
        return False
    oc, nc = o.category.name, n.category.name
    if oc == "INTEGER" and nc == "INTEGER":
        lo, hi = o.int_range or (0, 0)
        nlo, nhi = n.int_range or (0, 0)
        return nlo <= lo and hi <= nhi
    if oc in ("CHAR", "VARCHAR") and nc in ("CHAR", "VARCHAR"):
        return (n.length or 0) >= (o.length or 0) and not (nc == "CHAR" and oc == "VARCHAR")
    if oc in ("CHAR", "VARCHAR", "ENUM", "TEXT") and nc == "TEXT":
        return True
    if oc == "ENUM" and nc in ("CHAR", "VARCHAR"):
        return max((len(v) for v in o.values), default=0) <= (n.length or 0)
    if oc == "ENUM" and nc == "ENUM":
        return set(o.values) <= set(n.values)
    if oc == "DECIMAL" and nc == "DECIMAL":
        return ((n.scale or 0) >= (o.scale or 0)
                and (n.precision or 0) - (n.scale or 0) >= (o.precision or 0) - (o.scale or 0))
    if oc == "FLOAT" and nc == "FLOAT":
        return (n.bits or 64) >= (o.bits or 64)
    if oc == "INTEGER" and nc in ("FLOAT", "DECIMAL"):
        return nc == "FLOAT" or (n.precision or 0) - (n.scale or 0) >= len(str(2 ** (o.bits or 64)))
    if oc == "BOOL" and nc == "INTEGER":
        return True
    if oc in ("DATETIME", "TIMESTAMP") and nc in ("DATETIME", "TIMESTAMP"):
        return (n.fsp or 0) >= (o.fsp or 0)
    if oc == "DATE" and nc in ("DATETIME", "TIMESTAMP"):
        return True
    if oc in ("BLOB", "BYTES", "ATTACH") and oc == nc:
        order = ["tiny", "", "medium", "long"]
        return order.index(n.blob_size or "long") >= order.index(o.blob_size or "long")
    return False


# -- cascading a key change to dependent tables -----------------------------------------------------
def key_touched(tc: TableChange, backend: str) -> bool:
    """True when dependents must follow: the key gained, renamed or retyped an attribute."""
    return (tc.pk_changed or bool(tc.renames.keys() & set(tc.new.primary_key))
            or any(o.in_key and "type" in attr_differences(o, n, backend) for o, n in tc.kept))


def _cascade(conn: Any, root: TableChange, changes: dict[str, TableChange], backend: str) -> None:
    """Carry ``root``'s key change into every table whose foreign keys copy that key.

    Descendants are visited in dependency order, so each foreign key is rewritten once, after
    its parent's change is final (diamonds included).
    """
    deps = conn.dependencies.load()
    node = root.full_name
    if node not in deps:
        return
    for child in deps.descendants_of(node)[1:]:
        touched = [p for p in sorted(deps.predecessors(child))
                   if p in changes and key_touched(changes[p], backend)]
        if not touched:
            continue
        child_tc = changes.get(child)
        if child_tc is None:
            schema, table = deps.nodes[child]["schema"], deps.nodes[child]["table"]
            state = table_state(conn, schema, table)
            child_tc = TableChange(state, replace(state.decl, attributes=list(state.decl.attributes),
                                                  foreign_keys=list(state.decl.foreign_keys),
                                                  indexes=list(state.decl.indexes)),
                                   cause="its foreign key to " + ", ".join(touched) + " follows the key change")
            changes[child] = child_tc
        for parent_name in touched:
            parent = changes[parent_name]
            for i, fk in enumerate(child_tc.new.foreign_keys):
                if (fk.parent_schema, fk.parent_table) == (parent.new.schema, parent.new.table):
                    _carry(child_tc, i, fk, parent, backend)


def _carry(child: TableChange, fk_index: int, fk: ForeignKey, parent: TableChange, backend: str) -> None:
    """Rewrite one foreign key of ``child`` (and the columns it copies) after ``parent`` changed."""
    new_pk = parent.new.primary_key
    parent_attrs = {a.name: a for a in parent.new.attributes}
    by_parent = {p: c for c, p in fk.attr_map}
    parent_back = parent.renames  # parent new name -> old name
    attrs = list(child.new.attributes)
    names = [a.name for a in attrs]
    pairs = []
    added: list[tuple[str, Any]] = []
    for pname in new_pk:
        old_pname = parent_back.get(pname, pname) if parent.old_attr(pname) is not None else None
        pa = parent_attrs[pname]
        ptype = pa.type.without_auto_increment() if pa.type is not None else None
        if old_pname is not None and old_pname in by_parent:
            cname = by_parent[old_pname]
            if cname == old_pname and pname != old_pname:  # inherited name: follow the rename
                if pname in names:
                    raise errors.MigrationError(
                        f"{child.full_name} already has an attribute `{pname}`: cannot rename its "
                        f"`{cname}` to follow {parent.full_name}."
                    )
                i = names.index(cname)
                attrs[i] = replace(attrs[i], name=pname)
                names[i] = pname
                child.renames[pname] = child.renames.pop(cname, cname)
                cname = pname
            i = names.index(cname)
            if type_key(attrs[i], backend) != type_key(replace(pa, type=ptype), backend):
                attrs[i] = replace(attrs[i], type=ptype)
            pairs.append((cname, pname))
        else:  # a new key attribute of the parent: the child gets it too
            if pname in names:
                raise errors.MigrationError(
                    f"{child.full_name} already has an attribute `{pname}`: cannot add the new key "
                    f"attribute of {parent.full_name} to it."
                )
            fill = parent.fills.get(pname)
            added.append((pname, fill.value if fill is not None else _literal(pa)))
            pairs.append((pname, pname))
    new_names = dict(added)
    existing = tuple(c for c, _ in pairs if c not in new_names)
    # each new column goes right after the column that precedes it in the parent's key
    first = min((names.index(c) for c in existing), default=len(attrs))
    pos = first
    for cname, _ in pairs:
        if cname not in new_names:
            pos = names.index(cname) + 1
            continue
        pa = parent_attrs[cname]
        ptype = pa.type.without_auto_increment() if pa.type is not None else None
        attrs.insert(pos, replace(pa, type=ptype, in_key=fk.in_key, nullable=fk.nullable, default=None))
        names.insert(pos, cname)
        pos += 1
        # rows whose (nullable) foreign key is NULL keep NULL in the new column
        child.fills[cname] = Fill(new_names[cname], existing if fk.nullable else ())
    attrs = [a for a in attrs if a.in_key] + [a for a in attrs if not a.in_key]
    fks = list(child.new.foreign_keys)
    fks[fk_index] = replace(fk, attr_map=tuple(pairs))
    child.new = replace(child.new, attributes=attrs, foreign_keys=fks)


def _literal(a: Attribute) -> Any:
    d = a.default
    return d.value if d is not None and d.kind == "literal" else None


def table_changes(table: Any, context: Mapping[str, Any] | None = None) -> list[TableChange]:
    """Every table change that altering ``table`` to its class definition needs, parents first.

    Raises
    ------
    MigrationError
        When the definition asks for a change labjoin cannot make safely (see docs/alter.md).
    """
    conn = table.connection
    backend = conn.backend.name
    definition = type(table).definition
    if not isinstance(definition, str) or not definition.strip():
        raise errors.MigrationError(
            f"{type(table).__name__} has no definition to compare with the database: alter() works on "
            "table classes with a `definition` string."
        )
    ctx = context if context is not None else getattr(type(table), "declaration_context", None) or {}
    state = table_state(conn, table.database, table.table_name)
    new, renames = _desired(conn, table.database, table.table_name, definition, ctx, state.decl)
    root = TableChange(state, new, renames, definition=definition)
    for a in root.added:
        if not a.in_key:
            if a.default is not None and a.default.kind == "literal":
                root.fills[a.name] = Fill(a.default.value)
            elif a.nullable or not state.rows:
                root.fills[a.name] = Fill(None)
            elif a.default is not None:
                root.fills[a.name] = Fill(None)  # CURRENT_TIMESTAMP / expression: the database fills it
            else:
                raise errors.MigrationError(
                    f"{root.full_name}: the new attribute `{a.name}` needs a default value (or =null) for the "
                    f"{state.rows} existing rows, e.g. `{a.name}=0: {a.declared_type}`."
                )
        else:
            root.fills[a.name] = Fill(_literal(a))
    _check_key_change(root, backend)
    changes = {root.full_name: root}
    if key_touched(root, backend):
        _cascade(conn, root, changes, backend)
    order = conn.dependencies.topo_sort(list(changes)) if len(changes) > 1 else list(changes)
    return [changes[n] for n in order]
