"""Routes of the generic browser (members): schemas, schema, diagram, table, row, downloads, jobs."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from . import browse, export, jobs
from .filters import TableQuery, parse_table_query
from .web import Ctx, member_ctx, page

__all__ = ["router"]

router = APIRouter()
Member = Annotated[Ctx, Depends(member_ctx)]

# Documented for /docs; the values are read (and validated) with the filters from the query string.
PageQ = Annotated[str | None, Query(alias="_page", description="Page number, from 1.")]
SizeQ = Annotated[str | None, Query(alias="_size", description="Rows per page.")]
SortQ = Annotated[str | None, Query(alias="_sort", description="Attributes to sort by, comma-separated; "
                                                              "a leading '-' sorts descending.")]
CombineQ = Annotated[str | None, Query(alias="_combine", description="'and' (default) or 'or'.")]
ColQ = Annotated[list[str] | None, Query(alias="_col", description="Attributes to return (repeat).")]
CountQ = Annotated[str | None, Query(alias="_count", description="'exact': count every row (by default the "
                                                                 "count stops at the configured limit).")]
AfterQ = Annotated[str | None, Query(alias="_after", description="Opaque token of a row (from a 'next' link): "
                                                                 "the page starts after it.")]
BeforeQ = Annotated[str | None, Query(alias="_before", description="Opaque token of a row (from a 'previous' "
                                                                   "link): the page ends before it.")]


def _table_query(ctx: Ctx, schema: str, table: str) -> TableQuery:
    heading = ctx.db.table(schema, table).heading
    cfg = ctx.nav.config
    return parse_table_query(heading, ctx.request.query_params.multi_items(), default_size=cfg.page_size,
                             max_size=cfg.max_page_size)


@page(router, "/schemas", "schemas.html", "member", title="Schemas", tags=["browse"])
def schemas(ctx: Ctx) -> dict[str, Any]:
    """Every schema of the database."""
    return browse.schemas_page(ctx.db, ctx.urls)


@router.get("/schemas/{schema}/diagram.svg", include_in_schema=False)
@router.get("/api/schemas/{schema}/diagram.svg", tags=["browse"], response_class=Response,
            summary="The schema diagram as SVG")
def diagram(ctx: Member, schema: str) -> Response:
    """The schema's diagram as SVG; each table links to its page."""
    svg = browse.diagram_svg(ctx.db, schema, ctx.urls)
    return Response(svg or "<svg xmlns='http://www.w3.org/2000/svg'/>", media_type="image/svg+xml")


@page(router, "/schemas/{schema}/jobs", "jobs.html", "member", title="Jobs of {schema}", tags=["jobs"])
def jobs_list(ctx: Ctx, schema: str, status: str | None = None, table: str | None = None) -> dict[str, Any]:
    """Reserved, error and ignored jobs of a schema, with error messages and stacks."""
    return jobs.jobs_page(ctx.db, schema, ctx.urls, status=status, table=table)


@page(router, "/schemas/{schema}", "schema.html", "member", title="{schema}", tags=["browse"])
def schema(ctx: Ctx, schema: str) -> dict[str, Any]:
    """A schema: its tables by tier with row counts, and its diagram."""
    return browse.schema_page(ctx.db, schema, ctx.urls, count_limit=ctx.nav.config.schema_count_limit)


@page(router, "/schemas/{schema}/{table}", "table.html", "member", title="{table}", tags=["browse"])
def table(ctx: Ctx, schema: str, table: str, _page: PageQ = None, _size: SizeQ = None, _sort: SortQ = None,
          _combine: CombineQ = None, _col: ColQ = None, _count: CountQ = None, _after: AfterQ = None,
          _before: BeforeQ = None) -> dict[str, Any]:
    """Rows of a table: filters as `attribute__op=value` (op: exact, not, lt, lte, gt, gte, contains,
    startswith, endswith, in, isnull, notnull), sorting, paging (by number, or by position from a
    next/previous link) and projection."""
    q = _table_query(ctx, schema, table)
    return browse.table_page(ctx.db, schema, table, q, ctx.urls, count_limit=ctx.nav.config.count_limit)


@page(router, "/schemas/{schema}/{table}/row", "row.html", "member", title="{table}", tags=["browse"])
def row(ctx: Ctx, schema: str, table: str) -> dict[str, Any] | None:
    """One row (its primary key as query parameters): every attribute, parents, children, parts."""
    params = {k: v for k, v in ctx.request.query_params.items() if k != "_format"}
    return browse.row_page(ctx.db, schema, table, params, ctx.urls)


@router.get("/schemas/{schema}/{table}/export.{fmt}", include_in_schema=False)
@router.get("/api/schemas/{schema}/{table}/export.{fmt}", tags=["browse"], response_class=Response,
            summary="Download the filtered rows (csv, json, parquet)")
def download(ctx: Member, schema: str, table: str, fmt: str) -> Response:
    """The filtered rows (all pages, no blobs) as csv, json or parquet."""
    q = _table_query(ctx, schema, table)
    body, media, filename = export.export_rows(ctx.db, schema, table, q, fmt,
                                               max_rows=ctx.nav.config.max_export_rows)
    return Response(body, media_type=media, headers={"Content-Disposition": f'attachment; filename="{filename}"'})
