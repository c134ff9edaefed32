"""Schema: a named group of tables in the database, and the registry of the classes declared in it.

``@schema`` on a class declares its table (parsing the definition, resolving ``-> Parent``
references against the schema's registry, the context given and the class's module, never by
reading the caller's stack frame), inserts ``Lookup.contents``, and binds the class to the
schema's connection. ``VirtualModule`` rebuilds classes from the database alone.
"""

from __future__ import annotations

import re
import sys
import types
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from . import errors
from .connection.connection import Connection
from .connection.connection import conn as default_connection
from .definition import Problem, definition_error, parse_definition, suggest
from .heading.heading import Attribute
from .sql import catalog
from .sql.ddl import (
    CI_COLLATION,
    META_COLUMNS,
    META_SCHEMAS,
    META_TABLES,
    Declaration,
    ForeignKey,
    create_table_sql,
    sqlite_metadata_rows,
)
from .tables.log import LogTable, log_event
from .tables.table import Table
from .tables.tiers import Computed, Imported, Lookup, Manual, Part

__all__ = ["Schema", "VirtualModule", "create_virtual_module", "declare_hidden", "list_schemas"]


def list_schemas(connection: Connection | None = None) -> list[str]:
    """Names of the schemas in the database (DataJoint's ``dj.list_schemas``)."""
    return catalog.list_schemas(connection or default_connection())


def _create_schema(conn: Connection, name: str) -> None:
    b = conn.backend.name
    if b == "sqlite":
        catalog.ensure_sqlite_metadata(conn)
        conn.query(f'INSERT OR IGNORE INTO "{META_SCHEMAS}" (schema_name) VALUES (?)', (name,))
    elif b == "postgresql":
        q = conn.backend.qident
        conn.query(f"CREATE SCHEMA IF NOT EXISTS {q(name)}")
        conn.query(f"CREATE COLLATION IF NOT EXISTS {q(name)}.{q(CI_COLLATION)} "
                   "(provider = icu, locale = 'und-u-ks-level2', deterministic = false)")
    else:
        conn.query(f"CREATE DATABASE IF NOT EXISTS {conn.backend.qident(name)} "
                   "CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci")


def _run_ddl(conn: Connection, decl: Declaration) -> None:
    if conn.in_transaction:
        raise errors.TransactionError(
            f"Cannot declare table {decl.table} inside a transaction: declare tables before starting one."
        )
    from .sql.ddl import tracking_references
    from .stores.tracking import declare_tracking

    for _, store in tracking_references(decl):  # blob@s columns reference ~external_s: declare it first
        declare_tracking(conn, decl.schema, store)
    stmts = create_table_sql(conn.backend, decl)
    if conn.backend.name == "sqlite":
        # one transaction: the table and its metadata rows appear together
        with conn.transaction:
            for s in stmts:
                conn.query(s)
            trow, crows = sqlite_metadata_rows(decl, conn.backend)
            conn.query(f'INSERT OR REPLACE INTO "{META_TABLES}" VALUES (?, ?, ?, ?)', trow)
            conn.query(f'INSERT OR REPLACE INTO "{META_COLUMNS}" VALUES (?, ?, ?, ?)', crows, many=True)
    elif conn.backend.name == "postgresql":
        with conn.transaction:
            for s in stmts:
                conn.query(s)
    else:
        for s in stmts:  # MySQL commits DDL implicitly; one CREATE carries everything
            conn.query(s)
    catalog.invalidate(conn, decl.schema)


def _table_of(obj: Any) -> tuple[Any, dict[str, str]]:
    """(base table, {child attr: parent attr}) of a foreign-key reference target."""
    from .algebra import nodes as N
    from .tables.query import QueryExpression

    if isinstance(obj, type) and issubclass(obj, Table):
        return obj(), {}
    if isinstance(obj, Table) and not obj.restricted:
        return obj, {}
    if isinstance(obj, QueryExpression) and isinstance(obj._node, N.Project):
        node = obj._node
        if isinstance(node.child, N.TableNode) and not node.computed:
            from .tables.table import FreeTable

            parent = FreeTable(obj.connection, node.child.full_name)
            return parent, dict(node.renames)
    raise errors.DefinitionError(
        f"A foreign key must reference a table or a projection of one (-> Parent or "
        f"-> Parent.proj(new='old')), not {type(obj).__name__}."
    )


def resolve_declaration(conn: Connection, schema_name: str, table_name: str, definition: str,
                        context: Mapping[str, Any]) -> Declaration:
    """Parse ``definition`` and resolve its foreign keys into a backend-neutral declaration."""
    from .heading.introspect import heading_from_catalog

    defn = parse_definition(definition, table_name=table_name)
    attrs: list[Attribute] = []
    fks: list[ForeignKey] = []
    names: set[str] = set()
    problems = []
    for item in defn.items:
        kind = type(item).__name__
        if kind == "ForeignKeySpec":
            try:
                target = eval(item.ref, {"__builtins__": {}}, dict(context))
            except NameError as e:
                missing = str(e).split("'")[1] if "'" in str(e) else item.ref
                close = suggest(missing, [k for k, v in context.items() if isinstance(v, (type, types.ModuleType))])
                problems.append(Problem(
                    f"the foreign key names {missing!r}, which is not defined here", item.span,
                    hint=None if close else "define or import the parent table before this class, or pass "
                                            "context= to the schema",
                    suggestion=close, code="unknown-table"))
                continue
            except Exception as e:  # the reference expression is user Python; report it, located
                problems.append(Problem(f"the foreign key reference fails: {type(e).__name__}: {e}", item.span,
                                        code="bad-reference"))
                continue
            try:
                parent, renames = _table_of(target)
            except errors.DefinitionError as e:
                problems.append(Problem(str(e), item.span, code="bad-reference"))
                continue
            ph = heading_from_catalog(parent.connection, parent.database, parent.table_name)
            inverse = {old: new for new, old in renames.items()}
            pairs = []
            for k in ph.primary_key:
                child_name = inverse.get(k, k)
                pairs.append((child_name, k))
                if child_name in names:
                    continue  # diamonds: an attribute inherited along two paths appears once
                a = ph[k]
                attrs.append(replace(a, name=child_name, in_key=item.in_key,
                                     nullable="nullable" in item.options, comment=a.comment,
                                     default=None, type=_without_auto_increment(a.type)))
                names.add(child_name)
            fks.append(ForeignKey(parent.database, parent.table_name, tuple(pairs),
                                  nullable="nullable" in item.options, unique="unique" in item.options,
                                  in_key=item.in_key))
        elif kind == "AttributeSpec":
            if item.name in names:
                problems.append(Problem(f"attribute `{item.name}` is already declared (a foreign key may bring it)",
                                        item.span, hint="rename it, or drop the line", code="duplicate-attribute"))
                continue
            attrs.append(Attribute(item.name, item.type, in_key=item.in_key, nullable=item.nullable,
                                   default=item.default, comment=item.comment))
            names.add(item.name)
    indexes = []
    for idx in defn.indexes:
        # JSON-path entries (`params.rate:float`) name an attribute before the first dot
        unknown = [a for a in idx.attributes if a.split(".")[0].split(":")[0] not in names]
        if unknown:
            problems.append(Problem(f"the index names `{unknown[0]}`, which is not an attribute of this table",
                                    idx.span, suggestion=suggest(unknown[0], names), code="unknown-attribute"))
        indexes.append((idx.unique, tuple(idx.attributes)))
    if problems:
        raise definition_error(problems, table_name=table_name)
    attrs = [a for a in attrs if a.in_key] + [a for a in attrs if not a.in_key]
    return Declaration(schema_name, table_name, defn.comment, attrs, fks, indexes, definition=definition)


def _without_auto_increment(t: Any) -> Any:
    if t is not None and getattr(t, "auto_increment", False):
        return replace(t, auto_increment=False)
    return t


def declare_hidden(conn: Connection, schema_name: str, table_name: str, definition: str) -> None:
    """Declare a hidden table (``~jobs``, ``~log``) once per connection."""
    key = ("hidden", schema_name, table_name)
    if conn._catalog_cache.get(key):
        return
    if table_name not in catalog.load_schema(conn, schema_name):
        _run_ddl(conn, resolve_declaration(conn, schema_name, table_name, definition, {}))
    conn._catalog_cache[key] = True


class Schema:
    """A database schema and the table classes declared in it.

    >>> schema = dj.Schema("lab")                      # doctest: +SKIP
    >>> @schema
    ... class Subject(dj.Manual):
    ...     definition = '''
    ...     subject_id: int
    ...     '''
    """

    def __init__(self, schema_name: str | None = None, context: Mapping[str, Any] | None = None, *,
                 connection: Connection | None = None, create_schema: bool = True,
                 create_tables: bool | None = True, add_objects: Mapping[str, Any] | None = None) -> None:
        self.database: str | None = None
        self.context = dict(context or {})
        self.add_objects = dict(add_objects or {})
        self.connection = connection
        self.create_schema = create_schema
        self.create_tables = True if create_tables is None else create_tables
        self._registry: dict[str, type] = {}
        self._queue: list[tuple[type, Mapping[str, Any] | None]] = []
        if schema_name is not None:
            self.activate(schema_name)

    # -- activation -------------------------------------------------------------------------
    def activate(self, schema_name: str | None = None, *, connection: Connection | None = None,
                 create_schema: bool | None = None, create_tables: bool | None = None,
                 add_objects: Mapping[str, Any] | None = None) -> Schema:
        if schema_name is None:
            if self.database is None:
                raise errors.DataJointError("activate() needs a schema name.")
            return self
        if self.database is not None and self.database != schema_name:
            raise errors.DataJointError(
                f"Schema is already activated as {self.database!r}; create a new Schema for {schema_name!r}."
            )
        if not re.fullmatch(r"[A-Za-z0-9_$-]+", schema_name):
            raise errors.DataJointError(
                f"Schema name {schema_name!r} may only contain letters, digits, _, - and $."
            )
        self.database = schema_name
        if connection is not None:
            self.connection = connection
        if self.connection is None:
            self.connection = default_connection()
        if create_schema is not None:
            self.create_schema = create_schema
        if create_tables is not None:
            self.create_tables = create_tables
        if add_objects:
            self.add_objects.update(add_objects)
        if not catalog.schema_exists(self.connection, schema_name):
            if not self.create_schema:
                raise errors.MissingSchemaError(
                    f"Schema `{schema_name}` does not exist. Pass create_schema=True to create it."
                )
            _create_schema(self.connection, schema_name)
            catalog.invalidate(self.connection)
            log_event(self.connection, schema_name, "created")
        self.connection.register(self)
        queued, self._queue = self._queue, []
        for cls, ctx in queued:
            self._process(cls, ctx)
        return self

    def is_activated(self) -> bool:
        return self.database is not None

    @property
    def exists(self) -> bool:
        return self.database is not None and catalog.schema_exists(self.connection, self.database)

    def __repr__(self) -> str:
        return f"Schema `{self.database}`" if self.database else "Schema (not activated)"

    # -- the decorator ------------------------------------------------------------------------
    def __call__(self, cls: type | None = None, *, context: Mapping[str, Any] | None = None) -> Any:
        if cls is None:
            return lambda c: self(c, context=context)
        if issubclass(cls, Part):
            raise errors.DataJointError("A Part table is declared through its master: do not decorate it.")
        if self.database is None:
            self._queue.append((cls, context))
        else:
            self._process(cls, context)
        return cls

    def _context_for(self, cls: type, context: Mapping[str, Any] | None) -> dict[str, Any]:
        ctx: dict[str, Any] = {}
        module = sys.modules.get(cls.__module__)
        if module is not None:
            ctx.update(vars(module))
        ctx.update(self._registry)
        ctx.update(self.context)
        ctx.update(self.add_objects)
        if context:
            ctx.update(context)
        ctx[cls.__name__] = cls
        return ctx

    def _process(self, cls: type, context: Mapping[str, Any] | None) -> None:
        conn = self.connection
        cls.database = self.database  # type: ignore[attr-defined]
        cls._connection = conn  # type: ignore[attr-defined]
        ctx = self._context_for(cls, context)
        cls.declaration_context = ctx  # type: ignore[attr-defined]
        self._registry[cls.__name__] = cls
        if self.create_tables:
            self._declare(cls, ctx)
        parts = [v for v in vars(cls).values() if isinstance(v, type) and issubclass(v, Part)]
        for part in parts:
            part.master = cls  # type: ignore[attr-defined]
            part.database = self.database  # type: ignore[attr-defined]
            part._connection = conn  # type: ignore[attr-defined]
            # As in DataJoint, a part sees its master as `master` and by name, and the module's
            # tables by their names, even one the part shares its name with (element-lab's
            # Lab.Organization part references the Organization table).
            pctx = {**ctx, "master": cls, "self": part}
            part.declaration_context = pctx  # type: ignore[attr-defined]
            if self.create_tables:
                self._declare(part, pctx)
        if issubclass(cls, Lookup) and cls.contents and self.create_tables:
            contents = list(cls.contents)
            if contents:
                cls().insert(contents, skip_duplicates=True)
        if getattr(cls, "definition", None) and cls.__doc__ is None:
            cls.__doc__ = cls.definition

    def _declare(self, cls: Any, ctx: Mapping[str, Any]) -> None:
        conn = self.connection
        if cls.table_name in catalog.load_schema(conn, self.database):
            return
        definition = getattr(cls, "definition", None)
        if not isinstance(definition, str):
            raise errors.DefinitionError(f"Table class {cls.__name__} has no definition string.")
        decl = resolve_declaration(conn, self.database, cls.table_name, definition, ctx)
        if cls.tier_prefix in ("_", "__") and not issubclass(cls, Part):
            pass  # DataJoint 2.x's FK-only key rule is not enforced (it never was in practice)
        _run_ddl(conn, decl)
        log_event(conn, self.database, f"Declared `{self.database}`.`{cls.table_name}`")

    # -- contents ------------------------------------------------------------------------------
    def list_tables(self) -> list[str]:
        return [t for t in catalog.load_schema(self.connection, self.database, refresh=True)
                if not t.startswith("~")]

    def __iter__(self) -> Any:
        return iter(self._registry.values())

    def __contains__(self, name: str) -> bool:
        return name in self._registry

    def __getitem__(self, name: str) -> type:
        return self._registry[name]

    @property
    def log(self) -> LogTable:
        """The schema's ``~log`` table (DataJoint's event log); ``schema.log("event")`` adds a row."""
        return LogTable(self.connection, self.database)

    @property
    def external(self) -> Any:
        """The schema's ``~external_<store>`` tables by store: ``schema.external['raw'].delete(...)``."""
        from .stores.tracking import ExternalMapping

        return ExternalMapping(self)

    @property
    def jobs(self) -> Any:
        from .populate.jobs import JobTable

        return JobTable(self.connection, self.database)

    def drop(self, force: bool = False, *, prompt: bool | None = None) -> None:
        """Drop the schema and every table in it."""
        from .settings import config

        conn = self.connection
        if not self.exists:
            return
        ask = (not force) if prompt is None else prompt
        if ask and config.get("safemode", True):
            from .tables.delete import _confirm

            if not _confirm(f"Proceed to delete entire schema `{self.database}`?"):
                return
        b = conn.backend
        if b.name == "postgresql":
            conn.query(f"DROP SCHEMA {b.qident(self.database)} CASCADE")
        elif b.name == "mysql":
            conn.query(f"DROP DATABASE {b.qident(self.database)}")
        else:
            tables = catalog.load_schema(conn, self.database, refresh=True)
            conn.query("PRAGMA foreign_keys=OFF")
            try:
                with conn.transaction:
                    for t in tables:
                        conn.query(f"DROP TABLE IF EXISTS {b.qtable(self.database, t)}")
                    for meta in (META_TABLES, META_COLUMNS, META_SCHEMAS):
                        conn.query(f'DELETE FROM "{meta}" WHERE schema_name = ?', (self.database,))
            finally:
                conn.query("PRAGMA foreign_keys=ON")
        catalog.invalidate(conn)
        conn.schemas.pop(self.database, None)

    def spawn_missing_classes(self, context: dict[str, Any] | None = None) -> dict[str, Any]:
        """Create classes for the tables that have none in ``context`` (default: a new dict)."""
        target = context if context is not None else {}
        for name, cls in make_classes(self).items():
            target.setdefault(name, cls)
        return target

    def make_classes(self, into: dict[str, Any] | None = None) -> dict[str, Any]:
        return self.spawn_missing_classes(into)


_TIER_BASES = {"Manual": Manual, "Lookup": Lookup, "Imported": Imported, "Computed": Computed}


def make_classes(schema: Schema) -> dict[str, type]:
    """Table classes rebuilt from the catalog (parts nested in their masters)."""
    from .graph.dependencies import class_name_of
    from .tables.table import tier_of

    conn = schema.connection
    infos = catalog.load_schema(conn, schema.database, refresh=True)
    classes: dict[str, type] = {}
    masters: dict[str, type] = {}
    for name in sorted(infos, key=len):
        if name.startswith("~"):
            continue
        tier = tier_of(name)
        if tier == "Part":
            continue
        base = _TIER_BASES.get(tier, Manual)
        cls = type(class_name_of(name), (base,), {"definition": None, "_declared_name": name,
                                                  "database": schema.database, "_connection": conn,
                                                  "__module__": __name__})
        classes[cls.__name__] = cls
        masters[name] = cls
    for name in infos:
        if tier_of(name) != "Part" or name.startswith("~"):
            continue
        master_name, _, part = name.rpartition("__")
        master = masters.get(master_name)
        cname = class_name_of(part)
        part_cls = type(cname, (Part,), {"definition": None, "_declared_name": name, "master": master,
                                         "database": schema.database, "_connection": conn,
                                         "__module__": __name__})
        if master is not None:
            setattr(master, cname, part_cls)
        else:
            classes[class_name_of(name).replace(".", "")] = part_cls
    for cls in classes.values():
        schema._registry.setdefault(cls.__name__, cls)
    return classes


class VirtualModule(types.ModuleType):
    """A module whose classes are rebuilt from an existing schema: ``dj.VirtualModule('lab', 'lab')``."""

    def __init__(self, module_name: str, schema_name: str, *, create_schema: bool = False,
                 create_tables: bool = False, connection: Connection | None = None,
                 add_objects: Mapping[str, Any] | None = None) -> None:
        super().__init__(module_name)
        schema = Schema(schema_name, connection=connection, create_schema=create_schema,
                        create_tables=create_tables, add_objects=add_objects)
        if add_objects:
            self.__dict__.update(add_objects)
        self.__dict__["schema"] = schema
        schema.spawn_missing_classes(context=self.__dict__)


def create_virtual_module(module_name: str, schema_name: str, **kwargs: Any) -> VirtualModule:
    return VirtualModule(module_name, schema_name, **kwargs)


def virtual_schema(schema_name: str, **kwargs: Any) -> VirtualModule:
    return VirtualModule(schema_name, schema_name, **kwargs)
