"""``labjoin serve``: run the navigator web app (``labjoin users`` manages its accounts)."""

from __future__ import annotations

import sys

import click

__all__ = ["serve"]

_url = click.option("--url", envvar="LABJOIN_DATABASE_URL", default=None,
                    help="Database URL; default: the configured one (see `labjoin config`).")
_users_schema = click.option("--users-schema", default="navigator", show_default=True,
                             help="Schema that holds the navigator's accounts.")


@click.command()
@_url
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (0.0.0.0: every one).")
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--public", is_flag=True, help="Show the public subset to visitors who are not logged in.")
@click.option("--public-subset", default=None, metavar="FILE|table:SCHEMA.TABLE",
              help="What the public mode shows: a JSON/CSV file of keys, or a table whose rows are the keys.")
@_users_schema
@click.option("--pages", multiple=True, metavar="MODULE:FUNCTION",
              help="Extra page registration function (repeatable); entry points are loaded too.")
@click.option("--secure-cookies", is_flag=True, help="Send cookies over HTTPS only (behind a TLS proxy).")
@click.option("--title", default="labjoin navigator", show_default=True)
@click.option("--root-path", default="", help="Path prefix when served behind a proxy (e.g. /navigator).")
def serve(url: str | None, host: str, port: int, public: bool, public_subset: str | None, users_schema: str,
          pages: tuple[str, ...], secure_cookies: bool, title: str, root_path: str) -> None:
    """Browse the database in a web browser: schemas, tables, rows, jobs, and registered lab pages."""
    import uvicorn

    from ..navigator import NavigatorConfig, PublicSubset, UserStore, create_app

    subset = PublicSubset.load(public_subset) if public_subset else PublicSubset()
    if public and subset.empty:
        click.echo("warning: --public without --public-subset: visitors who are not logged in see no rows.",
                   err=True)
    if "" not in sys.path:
        sys.path.insert(0, "")  # --pages modules in the current directory
    config = NavigatorConfig(url=url, public=public, public_subset=subset, users_schema=users_schema,
                             plugins=pages, secure_cookies=secure_cookies, title=title)
    app = create_app(config)
    with app.state.navigator.database.connection() as conn:
        if not UserStore(conn, users_schema).list():
            click.echo(f"No accounts yet: create one with `labjoin users add NAME --role admin` (schema {users_schema}).",
                       err=True)
    click.echo(f"labjoin navigator on http://{host}:{port}{root_path}/  (Ctrl-C stops it)")
    uvicorn.run(app, host=host, port=port, root_path=root_path, log_level="info")
