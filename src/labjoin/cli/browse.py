"""``labjoin schemas``, ``tables``, ``describe``, ``diagram`` and ``shell``: look at a database."""

from __future__ import annotations

import code
from typing import Any

import click

from .common import connect, table_of, url_option

__all__ = ["describe", "diagram", "schemas", "shell", "tables"]


@click.command()
@url_option
def schemas(url: str | None) -> None:
    """List the schemas in the database."""
    import labjoin as dj

    for name in dj.list_schemas(connect(url)):
        click.echo(name)


@click.command()
@url_option
@click.argument("schema")
def tables(url: str | None, schema: str) -> None:
    """List the tables of SCHEMA with their tiers and row counts."""
    import labjoin as dj

    from ..sql import catalog

    conn = connect(url)
    if not catalog.schema_exists(conn, schema):
        raise click.ClickException(f"Schema {schema!r} does not exist (see `labjoin schemas`).")
    vm = dj.VirtualModule(schema, schema, connection=conn)
    for name in vm.schema.list_tables():
        t = dj.FreeTable(conn, f"`{schema}`.`{name}`")
        click.echo(f"{name:40s} {t.tier:9s} {len(t):>10d}")


@click.command()
@url_option
@click.argument("table", metavar="SCHEMA.Table")
def describe(url: str | None, table: str) -> None:
    """Print the definition of SCHEMA.Table as the database holds it (Table: class or table name)."""
    click.echo(table_of(connect(url), table).describe(), nl=False)


@click.command()
@url_option
@click.argument("schema")
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None,
              help="File to write: .svg, .mmd (Mermaid), .dot or .png. Default: Mermaid text on stdout.")
def diagram(url: str | None, schema: str, output: str | None) -> None:
    """Draw the dependency diagram of SCHEMA (no Graphviz needed)."""
    import labjoin as dj

    from ..errors import DataJointError
    from ..sql import catalog

    conn = connect(url)
    if not catalog.schema_exists(conn, schema):
        raise click.ClickException(f"Schema {schema!r} does not exist (see `labjoin schemas`).")
    d = dj.Diagram(dj.Schema(schema, connection=conn, create_schema=False, create_tables=False))
    if output is None:
        click.echo(d.make_mermaid())
        return
    try:
        d.save(output)
    except DataJointError as e:
        raise click.ClickException(str(e)) from e
    click.echo(f"wrote {output}")


def _namespace(conn: Any, specs: tuple[str, ...]) -> dict[str, Any]:
    import labjoin as dj

    ns: dict[str, Any] = {"dj": dj, "conn": conn}
    for spec in specs:
        schema, _, alias = spec.partition(":")
        alias = alias or schema
        if not alias.isidentifier():
            raise click.ClickException(f"-s {spec}: {alias!r} is not a Python name; write -s SCHEMA:ALIAS.")
        ns[alias] = dj.VirtualModule(alias, schema, connection=conn)
    return ns


@click.command()
@url_option
@click.option("-s", "--schema", "specs", multiple=True, metavar="SCHEMA[:ALIAS]",
              help="Load SCHEMA as a virtual module named ALIAS (default: the schema name). Repeatable.")
@click.option("-c", "--command", default=None, help="Run this Python code in the prepared namespace and exit.")
@click.option("--plain", is_flag=True, help="Use Python's own REPL even when IPython is installed.")
def shell(url: str | None, specs: tuple[str, ...], command: str | None, plain: bool) -> None:
    """A Python REPL (IPython when installed) with `dj`, `conn` and the -s schemas loaded."""
    conn = connect(url)
    ns = _namespace(conn, specs)
    banner = f"labjoin shell: {conn!r}\nnames: " + ", ".join(sorted(ns))
    if command is not None:
        exec(compile(command, "<labjoin shell -c>", "exec"), ns)  # the user's own code, run as asked
        return
    if not plain:
        try:
            import IPython
        except ImportError:
            pass
        else:
            IPython.start_ipython(argv=[], user_ns=ns, display_banner=False)
            return
    code.interact(banner=banner, local=ns, exitmsg="")
