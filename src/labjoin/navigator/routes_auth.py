"""Login, logout and the account page (API tokens)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, RedirectResponse, Response

from .routes_admin import _fields
from .web import Ctx, member_ctx, open_ctx, page, render, wants_json

__all__ = ["router", "safe_next"]

router = APIRouter()
Open = Annotated[Ctx, Depends(open_ctx)]
Member = Annotated[Ctx, Depends(member_ctx)]


def safe_next(target: str | None, default: str) -> str:
    """A redirect target from a form: only a path on this site (never ``//host`` or a scheme)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target


@router.get("/login", include_in_schema=False)
def login_form(ctx: Open, next: str | None = None) -> Response:
    return render(ctx, "login.html", {"next": safe_next(next, ctx.urls.home()), "error": None}, title="Log in")


@router.post("/login", include_in_schema=False)
async def login(ctx: Open) -> Response:
    fields = await _fields(ctx.request)
    ctx.check_csrf(fields.get("csrf_token"))
    username = fields.get("username", "").strip()
    client = ctx.request.client.host if ctx.request.client else "unknown"
    keys = (f"ip:{client}", f"user:{username.lower()}")
    limiter = ctx.nav.limiter
    wait = limiter.retry_after(*keys)
    if wait > 0:
        raise HTTPException(429, f"Too many failed logins. Try again in {int(wait) + 1} seconds.",
                            headers={"Retry-After": str(int(wait) + 1)})
    user = await run_in_threadpool(lambda: ctx.store().verify(username, fields.get("password", "")))
    target = safe_next(fields.get("next"), ctx.urls.home())
    if user is None:
        limiter.fail(*keys)
        if wants_json(ctx.request):
            return JSONResponse({"ok": False, "status": 401, "title": "Login failed",
                                 "error": "Wrong user name or password."}, status_code=401)
        return render(ctx, "login.html", {"next": target, "error": "Wrong user name or password."},
                      status=401, title="Log in")
    limiter.reset(f"user:{username.lower()}")
    ctx.login(user)
    if wants_json(ctx.request):
        return JSONResponse({"ok": True, "user": user.username, "role": user.role})
    return RedirectResponse(target, status_code=303)


@router.post("/logout", include_in_schema=False)
async def logout(ctx: Open) -> Response:
    fields = await _fields(ctx.request)
    ctx.check_csrf(fields.get("csrf_token"))
    ctx.logout()
    return RedirectResponse(ctx.urls.home(), status_code=303)


@page(router, "/account", "account.html", "member", title="Account", tags=["account"])
def account(ctx: Ctx) -> dict[str, Any]:
    """The logged-in user and their API tokens."""
    user = ctx.user
    if user is None:  # the member dependency guarantees a user; be explicit for type checkers
        raise HTTPException(401, "Log in to see this page.")
    return {"user": user.username, "role": user.role, "tokens": ctx.store().tokens(user.username),
            "new_token": None}


@router.post("/account/tokens", include_in_schema=False)
async def new_token(ctx: Member) -> Response:
    """Create an API token; it is shown once, on the page this returns."""
    fields = await _fields(ctx.request)
    ctx.check_csrf(fields.get("csrf_token"))
    user = ctx.user
    if user is None:
        raise HTTPException(401, "Log in to see this page.")
    def make() -> dict[str, Any]:  # in the worker thread: the store uses that thread's connection
        store = ctx.store()
        token = store.new_token(user.username, fields.get("label", ""))
        return {"user": user.username, "role": user.role, "tokens": store.tokens(user.username), "new_token": token}

    data = await run_in_threadpool(make)
    if wants_json(ctx.request):
        return JSONResponse({"ok": True, "token": data["new_token"]})
    return render(ctx, "account.html", data, title="Account")


@router.post("/account/tokens/revoke", include_in_schema=False)
async def revoke_token(ctx: Member) -> Response:
    fields = await _fields(ctx.request)
    ctx.check_csrf(fields.get("csrf_token"))
    user = ctx.user
    if user is None:
        raise HTTPException(401, "Log in to see this page.")
    await run_in_threadpool(lambda: ctx.store().revoke_token(user.username, fields.get("token_id", "")))
    return RedirectResponse(ctx.urls.account(), status_code=303)
