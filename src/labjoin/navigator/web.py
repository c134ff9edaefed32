"""Plumbing shared by every route: the request context, access levels, page twins, errors.

* :class:`Navigator` is the app's state: settings, database, cookie codec, registry, templates.
* :class:`Ctx` is one request: who is asking (session cookie or API token), the table lookup
  on this thread's connection, URLs, CSRF token.
* Access levels are dependencies: ``open`` (anyone), ``public`` (members, and anonymous
  visitors when the public mode is on), ``member``, ``admin``. Refusals are HTTP 401 (not
  logged in; HTML pages redirect to the login form) or 403.
* :func:`page` registers a data function twice: as an HTML page rendered by a template, and as
  its JSON twin under ``/api`` (also reachable with ``?_format=json``).
* Every error, from any layer, has one shape, ``{"ok": false, "status", "title", "error"}``,
  as JSON or as the error page.
"""

from __future__ import annotations

import functools
import inspect
import logging
import typing
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException

from .. import errors
from .config import NavigatorConfig
from .db import Database, Tables
from .lab import Viewer
from .registry import Registry
from .security import RateLimiter, SessionCodec
from .urls import Urls
from .users import User, UserStore

__all__ = ["Ctx", "Navigator", "add_error_handlers", "available", "error_status", "page", "render", "require"]

log = logging.getLogger("labjoin.navigator")
TEMPLATES = Path(__file__).with_name("templates")

_STATUS: tuple[tuple[type[Exception], int, str], ...] = (
    (errors.AccessError, 403, "Forbidden"),
    (errors.MissingTableError, 404, "Not found"),
    (errors.MissingSchemaError, 404, "Not found"),
    (errors.DuplicateError, 409, "Conflict"),
    (errors.IntegrityError, 409, "Conflict"),
    (errors.QueryError, 400, "Bad request"),
    (errors.DataError, 400, "Bad request"),
    (errors.BlobError, 400, "Bad request"),
    (errors.BackendUnavailableError, 503, "Database unavailable"),
    (errors.LostConnectionError, 503, "Database unavailable"),
)
_TITLES = {400: "Bad request", 401: "Login required", 403: "Forbidden", 404: "Not found",
           405: "Method not allowed", 409: "Conflict", 429: "Too many requests", 500: "Server error"}


def error_status(exc: Exception) -> tuple[int, str]:
    """HTTP status and title of a labjoin error."""
    for cls, status, title in _STATUS:
        if isinstance(exc, cls):
            return status, title
    return 500, "Server error"


@dataclass
class Navigator:
    """Everything the routes share."""

    config: NavigatorConfig
    database: Database
    codec: SessionCodec
    registry: Registry
    limiter: RateLimiter
    templates: Jinja2Templates = field(default_factory=lambda: Jinja2Templates(directory=str(TEMPLATES)))

    def store(self, conn: Any) -> UserStore:
        return UserStore(conn, self.config.users_schema)


class Ctx:
    """One request as the routes see it."""

    def __init__(self, request: Request, nav: Navigator, user: User | None, via_token: bool) -> None:
        self.request = request
        self.nav = nav
        self.user = user
        self.via_token = via_token
        self.urls = Urls(request.scope.get("root_path", ""))
        self._conn: tuple[Any, float] | None = None

    @property
    def conn(self) -> Any:
        """The request's connection, checked out of the pool on first use."""
        if self._conn is None:
            self._conn = self.nav.database.checkout()
        return self._conn[0]

    @property
    def db(self) -> Tables:
        """Table lookup on the request's connection."""
        return Tables(self.conn)

    def store(self) -> UserStore:
        return self.nav.store(self.conn)

    def release(self) -> None:
        """Return the connection to the pool (at the end of the request)."""
        if self._conn is not None:
            conn, self._conn = self._conn, None
            self.nav.database.checkin(*conn)

    @property
    def session(self) -> dict[str, Any]:
        return self.request.state.session

    @property
    def public_view(self) -> bool:
        return self.user is None and self.nav.config.public

    @property
    def viewer(self) -> Viewer:
        return Viewer(self.public_view, self.nav.config.public_subset)

    @property
    def csrf_token(self) -> str:
        return self.nav.codec.csrf_token(self.session["sid"])

    def check_csrf(self, token: str | None) -> None:
        """Refuse a state-changing request without the session's CSRF token (API tokens need none)."""
        if self.via_token:
            return
        token = token or self.request.headers.get("x-csrf-token")
        if not self.nav.codec.check_csrf(self.session["sid"], token):
            raise HTTPException(403, "The form's security token is missing or out of date. Reload the page "
                                     "and submit again.")

    def login(self, user: User) -> None:
        """Start a new session for ``user`` (a new session id, so a planted one is worthless)."""
        self.request.state.session = self.nav.codec.new(user.username, user.fingerprint)
        self.request.state.session_changed = True
        self.user = user

    def logout(self) -> None:
        self.request.state.session = self.nav.codec.new()
        self.request.state.session_changed = True
        self.user = None


def _nav(request: Request) -> Navigator:
    return request.app.state.navigator


def _identify(request: Request) -> Ctx:
    nav = _nav(request)
    ctx = Ctx(request, nav, None, via_token=False)
    auth = request.headers.get("authorization", "")
    if auth[:7].lower() == "bearer ":
        ctx.user = ctx.store().user_for_token(auth[7:].strip())
        ctx.via_token = True
        if ctx.user is None:
            ctx.release()
            raise HTTPException(401, "The API token is not valid. Create one on the account page or with "
                                     "`labjoin users token`.")
        return ctx
    session = request.state.session
    if session.get("u"):
        found = ctx.store().get(session["u"])
        if found is not None and found.fingerprint == session.get("fp"):
            ctx.user = found
        else:  # the account was removed or its password changed: this session is over
            request.state.session = nav.codec.new()
            request.state.session_changed = True
    return ctx


def require(ctx: Ctx, level: str) -> Ctx:
    """Refuse ``ctx`` unless it may use a route of access ``level`` (401: log in; 403: not allowed)."""
    if level == "open":
        return ctx
    if ctx.user is None:
        if level == "public" and ctx.nav.config.public:
            return ctx
        raise HTTPException(401, "Log in as an administrator to do this." if level == "admin"
                            else "Log in to see this page.")
    if level == "admin" and not ctx.user.is_admin:
        raise HTTPException(403, "Only administrators can do this.")
    return ctx


def _at(level: str) -> Callable[[Request], Iterator[Ctx]]:
    def dependency(request: Request) -> Iterator[Ctx]:
        ctx = _identify(request)
        try:
            require(ctx, level)
            yield ctx
        finally:
            ctx.release()

    dependency.__name__ = f"{level}_ctx"
    return dependency


open_ctx = _at("open")
public_ctx = _at("public")
member_ctx = _at("member")
admin_ctx = _at("admin")


LEVELS: dict[str, Callable[[Request], Iterator[Ctx]]] = {"open": open_ctx, "public": public_ctx, "member": member_ctx,
                                              "admin": admin_ctx}


def wants_json(request: Request) -> bool:
    path = request.url.path[len(request.scope.get("root_path", "")):]
    if path == "/api" or path.startswith("/api/") or request.query_params.get("_format") == "json":
        return True
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


def render(ctx: Ctx, template: str, data: dict[str, Any], *, status: int = 200, title: str = "",
           headers: dict[str, str] | None = None) -> Response:
    """An HTML page: ``data`` (what the JSON twin returns) plus the page frame's context."""
    nav = ctx.nav
    frame = {
        "data": data, "user": ctx.user, "urls": ctx.urls, "csrf_token": ctx.csrf_token, "title": title,
        "site_title": nav.config.title, "public_mode": nav.config.public, "public_view": ctx.public_view,
        "nav_pages": [p for p in nav.registry.nav_pages() if _visible(ctx, p.access) and available(ctx, p)],
        "path": ctx.request.url.path, "query": str(ctx.request.url.query),
    }
    return nav.templates.TemplateResponse(ctx.request, template, frame, status_code=status, headers=headers)


def _visible(ctx: Ctx, access: str) -> bool:
    try:
        require(ctx, access)
    except HTTPException:
        return False
    return True


def available(ctx: Ctx, page: Any) -> bool:
    """True when the database has every schema a registered page ``requires``."""
    if not page.requires:
        return True
    have = set(ctx.db.schemas())
    return all(s in have for s in page.requires)


def page(router: APIRouter, path: str, template: str, level: str, *, title: str = "",
         tags: list[str] | None = None) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register ``fn(ctx, ...) -> data | None`` as an HTML page at ``path`` and as its JSON twin
    at ``/api`` + ``path``. ``None`` means 404. ``title`` may name keys of ``data``."""
    dependency = LEVELS[level]

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        sig = inspect.signature(fn)
        hints = typing.get_type_hints(fn, include_extras=True)  # string annotations, resolved in fn's module
        params = [p.replace(annotation=Annotated[Ctx, Depends(dependency)]) if p.name == "ctx"
                  else p.replace(annotation=hints.get(p.name, p.annotation)) for p in sig.parameters.values()]
        new_sig = sig.replace(parameters=params, return_annotation=inspect.Signature.empty)

        def run(kwargs: dict[str, Any]) -> dict[str, Any]:
            data = fn(**kwargs)
            if data is None:
                raise HTTPException(404, "Nothing has this key.")
            return data

        @functools.wraps(fn)
        def html_endpoint(**kwargs: Any) -> Response:
            ctx: Ctx = kwargs["ctx"]
            data = run(kwargs)
            if ctx.request.query_params.get("_format") == "json":
                return JSONResponse(data)
            return render(ctx, template, data, title=title.format_map(_Safe(data)) if title else "")

        @functools.wraps(fn)
        def api_endpoint(**kwargs: Any) -> Response:
            return JSONResponse(run(kwargs))

        for endpoint in (html_endpoint, api_endpoint):
            endpoint.__signature__ = new_sig  # type: ignore[attr-defined]
            del endpoint.__wrapped__  # FastAPI must read new_sig, not the data function's own
        summary = (fn.__doc__ or "").strip().splitlines()[0] if fn.__doc__ else None
        router.add_api_route(path, html_endpoint, methods=["GET"], include_in_schema=False,
                             name=f"{fn.__name__}_html")
        router.add_api_route("/api" + path, api_endpoint, methods=["GET"], name=fn.__name__, summary=summary,
                             tags=tags or [], response_class=JSONResponse)
        return fn

    return decorate


class _Safe(dict):  # type: ignore[type-arg]
    def __missing__(self, name: str) -> str:
        return ""


def error_response(request: Request, status: int, message: str, title: str | None = None,
                   headers: dict[str, str] | None = None) -> Response:
    """The one error shape, as JSON or as the error page (401 on a page: the login form)."""
    title = title or _TITLES.get(status, "Error")
    body = {"ok": False, "status": status, "title": title, "error": message}
    if wants_json(request):
        return JSONResponse(body, status_code=status, headers=headers)
    if status == 401 and request.method == "GET":
        urls = Urls(request.scope.get("root_path", ""))
        return RedirectResponse(urls.login(str(request.url.path) + (f"?{request.url.query}" if request.url.query
                                                                    else "")), status_code=303)
    nav: Navigator = request.app.state.navigator
    try:
        ctx = Ctx(request, nav, None, via_token=False)
        if not hasattr(request.state, "session"):
            request.state.session = nav.codec.new()
        return render(ctx, "error.html", body, status=status, title=title, headers=headers)
    except Exception:  # the error page itself failed: plain text still tells what happened
        log.exception("rendering the error page failed")
        return Response(f"{status} {title}: {message}", status_code=status, media_type="text/plain",
                        headers=headers)


def add_error_handlers(app: Any) -> None:
    """Every error becomes the one error shape (labjoin errors by class, HTTP errors, bad parameters)."""
    async def labjoin_error(request: Request, exc: Exception) -> Response:
        status, title = error_status(exc)
        if status == 500:
            log.error("request failed: %s", exc, exc_info=exc)
        return error_response(request, status, str(exc), title)

    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        return error_response(request, exc.status_code, str(exc.detail), headers=getattr(exc, "headers", None))

    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        parts = []
        for e in exc.errors():
            where = ".".join(str(x) for x in e.get("loc", ()) if x not in ("query", "path", "body"))
            parts.append(f"`{where}`: {e.get('msg', 'invalid')}")
        return error_response(request, 400, "; ".join(parts) or "Invalid request.")

    app.add_exception_handler(errors.DataJointError, labjoin_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, validation_error)
