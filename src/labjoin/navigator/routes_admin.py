"""Routes that change data (administrators): insert, update, delete with preview, job actions.

Forms post ``csrf_token``; scripts with an API token post JSON (an object of attribute values)
and get JSON back. HTML form submissions end with a redirect to the changed row (303).
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, RedirectResponse, Response

from .. import errors
from . import edit, jobs
from .web import Ctx, admin_ctx, page, render, wants_json

__all__ = ["router"]

router = APIRouter()
Admin = Annotated[Ctx, Depends(admin_ctx)]


async def _fields(request: Request) -> dict[str, str]:
    """Submitted fields as text: a form, or a JSON object (values converted to text)."""
    if request.headers.get("content-type", "").startswith("application/json"):
        try:
            body = json.loads(await request.body() or b"{}")
        except json.JSONDecodeError as e:
            raise errors.DataError(f"The request body is not JSON: {e}.") from None
        if not isinstance(body, dict):
            raise errors.DataError("Send a JSON object of attribute values.")
        return {str(k): "" if v is None else (json.dumps(v) if isinstance(v, (dict, list)) else
                                              ("true" if v is True else "false" if v is False else str(v)))
                for k, v in body.items()}
    form = await request.form()
    return {k: v for k, v in form.items() if isinstance(v, str)}


def _done(ctx: Ctx, data: dict[str, Any], redirect: str) -> Response:
    if wants_json(ctx.request):
        return JSONResponse({"ok": True, **data})
    return RedirectResponse(redirect, status_code=303)


@page(router, "/schemas/{schema}/{table}/insert", "form.html", "admin", title="Insert into {table}", tags=["edit"])
def insert_form(ctx: Ctx, schema: str, table: str) -> dict[str, Any]:
    """The fields of a new row of a Manual or Lookup table."""
    return edit.form_page(ctx.db, schema, table, ctx.urls)


@router.post("/schemas/{schema}/{table}/insert", include_in_schema=False)
@router.post("/api/schemas/{schema}/{table}/insert", tags=["edit"], summary="Insert one row")
async def insert(ctx: Admin, schema: str, table: str) -> Response:
    """Insert one row (form fields or a JSON object)."""
    fields = await _fields(ctx.request)
    ctx.check_csrf(fields.pop("csrf_token", None))
    key = await run_in_threadpool(lambda: edit.insert_row(ctx.db, schema, table, fields))
    url = ctx.urls.row(schema, table, key)
    return _done(ctx, {"key": edit.to_json(key), "url": url}, url)


@page(router, "/schemas/{schema}/{table}/update", "form.html", "admin", title="Update {table}", tags=["edit"])
def update_form(ctx: Ctx, schema: str, table: str) -> dict[str, Any]:
    """The row's current values, to change its secondary attributes."""
    params = {k: v for k, v in ctx.request.query_params.items() if k != "_format"}
    return edit.form_page(ctx.db, schema, table, ctx.urls, params)


@router.post("/schemas/{schema}/{table}/update", include_in_schema=False)
@router.post("/api/schemas/{schema}/{table}/update", tags=["edit"], summary="Update one row")
async def update(ctx: Admin, schema: str, table: str) -> Response:
    """Change secondary attributes of the row whose key is in the query string."""
    fields = await _fields(ctx.request)
    ctx.check_csrf(fields.pop("csrf_token", None))
    params = dict(ctx.request.query_params)
    key = await run_in_threadpool(lambda: edit.update_row(ctx.db, schema, table, params, fields))
    url = ctx.urls.row(schema, table, key)
    return _done(ctx, {"key": edit.to_json(key), "url": url}, url)


@page(router, "/schemas/{schema}/{table}/delete", "delete.html", "admin", title="Delete from {table}",
      tags=["edit"])
def delete_preview(ctx: Ctx, schema: str, table: str) -> dict[str, Any]:
    """What deleting the row would delete, per table, before anything is deleted."""
    params = {k: v for k, v in ctx.request.query_params.items() if k != "_format"}
    return edit.delete_preview(ctx.db, schema, table, params, ctx.urls)


@router.post("/schemas/{schema}/{table}/delete", include_in_schema=False)
@router.post("/api/schemas/{schema}/{table}/delete", tags=["edit"], summary="Delete one row and its dependents")
async def delete(ctx: Admin, schema: str, table: str) -> Response:
    """Delete the row and everything that depends on it, if the preview's total still holds
    (field `expected_total`)."""
    fields = await _fields(ctx.request)
    ctx.check_csrf(fields.pop("csrf_token", None))
    try:
        expected = int(fields.get("expected_total", ""))
    except ValueError:
        raise errors.DataError("`expected_total` (the number of rows the preview showed) is required.") from None
    params = dict(ctx.request.query_params)
    result = await run_in_threadpool(lambda: edit.delete_row(ctx.db, schema, table, params, expected, ctx.urls))
    if result.get("changed"):
        if wants_json(ctx.request):
            return JSONResponse({"ok": False, "status": 409, "title": "Conflict",
                                 "error": "The data changed since the preview; check the new counts.",
                                 "preview": result}, status_code=409)
        return render(ctx, "delete.html", result, status=409, title=f"Delete from {table}")
    return _done(ctx, result, result["table_url"])


@router.post("/schemas/{schema}/jobs/{action}", include_in_schema=False)
@router.post("/api/schemas/{schema}/jobs/{action}", tags=["jobs"], summary="Retry or ignore one job")
async def job(ctx: Admin, schema: str, action: str) -> Response:
    """Retry (forget) or ignore one job: fields `table_name` and `key_hash`."""
    fields = await _fields(ctx.request)
    ctx.check_csrf(fields.pop("csrf_token", None))
    n = await run_in_threadpool(lambda: jobs.job_action(ctx.db, schema, action, fields.get("table_name", ""),
                                                        fields.get("key_hash", "")))
    return _done(ctx, {"changed": n}, ctx.urls.jobs(schema))
