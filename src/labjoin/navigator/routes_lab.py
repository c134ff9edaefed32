"""The home page and the registered (lab) pages: lists, detail pages and their select panels."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException
from fastapi.responses import JSONResponse, Response

from . import lab
from .registry import DetailPage, ListPage
from .web import Ctx, available, open_ctx, render, require

__all__ = ["router"]

router = APIRouter()
Open = Annotated[Ctx, Depends(open_ctx)]


def home_data(ctx: Ctx) -> dict[str, Any]:
    """What the home page offers this visitor."""
    pages = []
    for p in ctx.nav.registry.pages.values():
        if not p.nav:
            continue
        try:
            require(ctx, p.access)
        except HTTPException:
            continue
        if not available(ctx, p):
            continue
        pages.append({"name": p.name, "title": p.title, "description": p.description, "url": ctx.urls.lab(p.name)})
    return {"pages": pages, "schemas_url": ctx.urls.schemas() if ctx.user else None,
            "public_view": ctx.public_view}


@router.get("/", include_in_schema=False)
def home(ctx: Open) -> Response:
    if ctx.user is None and not ctx.nav.config.public:
        require(ctx, "member")
    return render(ctx, "home.html", home_data(ctx), title="Home")


@router.get("/api", tags=["lab"], summary="The registered pages this client may see")
def api_home(ctx: Open) -> JSONResponse:
    """The registered pages this client may see, and where the schema browser is."""
    if ctx.user is None and not ctx.nav.config.public:
        require(ctx, "member")
    return JSONResponse(home_data(ctx))


def _page(ctx: Ctx, name: str) -> ListPage | DetailPage:
    page = ctx.nav.registry.pages.get(name)
    if page is None:
        raise HTTPException(404, f"There is no page {name!r}.")
    require(ctx, page.access)
    if not available(ctx, page):
        raise HTTPException(404, f"Page {name!r} needs the schemas {', '.join(page.requires)}, which this "
                                 "database does not have.")
    return page


def _data(ctx: Ctx, name: str) -> tuple[ListPage | DetailPage, dict[str, Any]]:
    page = _page(ctx, name)
    items = [(k, v) for k, v in ctx.request.query_params.multi_items() if k != "_format"]
    if isinstance(page, ListPage):
        return page, lab.list_page(page, ctx.db, items, ctx.urls, ctx.viewer, count_limit=ctx.nav.config.count_limit)
    data = lab.detail_page(page, ctx.db, dict(items), ctx.urls, ctx.viewer)
    if data is None:
        raise HTTPException(404, "No row has this key" + (" in the public data." if ctx.public_view else "."))
    return page, data


@router.get("/lab/{name}", include_in_schema=False)
def lab_page(ctx: Open, name: str) -> Response:
    page, data = _data(ctx, name)
    if ctx.request.query_params.get("_format") == "json":
        return JSONResponse(data)
    template = "lab_list.html" if isinstance(page, ListPage) else "lab_detail.html"
    return render(ctx, template, data, title=data["title"])


@router.get("/api/lab/{name}", tags=["lab"], summary="A registered page (list or detail) with its figures")
def lab_page_json(ctx: Open, name: str) -> JSONResponse:
    """A registered page as JSON: a list (filters and paging as query parameters) or a detail page
    (its key as query parameters), with the figures it shows."""
    return JSONResponse(_data(ctx, name)[1])


@router.get("/api/lab/{name}/panel/{panel}", tags=["lab"], summary="The figures of a select panel for one picked row")
def lab_panel(ctx: Open, name: str, panel: str) -> JSONResponse:
    """The figures of a select panel for the page key plus the picked row's key."""
    page = _page(ctx, name)
    if not isinstance(page, DetailPage):
        raise HTTPException(404, f"Page {name!r} has no panels.")
    params = {k: v for k, v in ctx.request.query_params.items() if k != "_format"}
    data = lab.select_panel(page, panel, ctx.db, params, ctx.urls, ctx.viewer)
    if data is None:
        raise HTTPException(404, "No row has this key.")
    return JSONResponse(data)
