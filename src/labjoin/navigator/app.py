"""``create_app``: the navigator as a FastAPI application.

>>> from labjoin.navigator import NavigatorConfig, create_app
>>> app = create_app(NavigatorConfig(url="sqlite:///lab.sqlite"))      # doctest: +SKIP
>>> # uvicorn.run(app)  -- or `labjoin serve --url sqlite:///lab.sqlite`

Third-party browser code is served from the installed Python packages, never copied into
this repository and never fetched from a CDN: plotly.js from ``plotly``'s package data and
Swagger UI (for ``/docs``) from ``swagger-ui-bundle``. The app works offline.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from fastapi import FastAPI, HTTPException
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, Response
from fastapi.staticfiles import StaticFiles

from .config import NavigatorConfig
from .db import Database
from .registry import Registry, discover
from .routes_admin import router as admin_router
from .routes_auth import router as auth_router
from .routes_browse import router as browse_router
from .routes_lab import router as lab_router
from .security import RateLimiter, SessionCodec, SessionMiddleware
from .users import UserStore
from .web import Navigator, add_error_handlers

__all__ = ["create_app", "plotly_js_path"]

STATIC = Path(__file__).with_name("static")
_CACHE = {"Cache-Control": "public, max-age=86400"}


def plotly_js_path() -> Path:
    """plotly.min.js as shipped inside the installed ``plotly`` package."""
    import plotly

    path = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: reinstall the plotly package.")
    return path


def _swagger_dir() -> Path | None:
    try:
        import swagger_ui_bundle
    except ImportError:
        return None
    return Path(swagger_ui_bundle.swagger_ui_path)


def create_app(config: NavigatorConfig | None = None, *, registry: Registry | None = None) -> FastAPI:
    """The navigator app for ``config`` (default: the configured database, private mode).

    Connects once to create the account tables and read the cookie key; ``registry`` replaces
    the pages found through entry points and ``config.plugins``.
    """
    config = config or NavigatorConfig()
    database = Database(config.url, catalog_ttl=config.catalog_ttl)
    with database.connection() as conn:
        store = UserStore(conn, config.users_schema).ensure()
        secret = config.secret_from_env() or store.secret()
    codec = SessionCodec(secret, max_age=config.session_max_age, secure=config.secure_cookies)
    if registry is None:
        registry = discover(config.plugins, entry_points=config.entry_points)
    nav = Navigator(config=config, database=database, codec=codec, registry=registry,
                    limiter=RateLimiter(config.login_attempts, config.login_window))

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        database.close()

    app = FastAPI(title=config.title, version=_version(), docs_url=None, redoc_url=None,
                  openapi_url="/openapi.json", lifespan=lifespan,
                  description="JSON API of the labjoin navigator. Every page has a JSON twin under /api. "
                              "Scripts authenticate with `Authorization: Bearer <token>` (tokens from the "
                              "account page or `labjoin users token`).")
    # Swagger UI 4 (the packaged one) reads OpenAPI 3.0 documents; FastAPI's schema renders there.
    app.openapi_version = "3.0.3"
    app.state.navigator = nav
    app.add_middleware(SessionMiddleware, codec_getter=lambda: codec)
    add_error_handlers(app)

    @app.get("/static/plotly.min.js", include_in_schema=False)
    def plotly_js() -> FileResponse:
        return FileResponse(plotly_js_path(), media_type="text/javascript", headers=_CACHE)

    swagger = _swagger_dir()

    @app.get("/static/swagger/{name}", include_in_schema=False)
    def swagger_file(name: str) -> FileResponse:
        if swagger is None or name not in ("swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png"):
            raise HTTPException(404, f"No such file: {name}.")
        return FileResponse(swagger / name, headers=_CACHE)

    @app.get("/docs", include_in_schema=False)
    def docs() -> Response:
        if swagger is None:
            raise HTTPException(404, "The API explorer needs the swagger-ui-bundle package; /openapi.json "
                                     "has the API description.")
        # relative URLs: they keep working when the app is served under a path prefix
        return get_swagger_ui_html(openapi_url="openapi.json", title=f"{config.title} API",
                                   swagger_js_url="static/swagger/swagger-ui-bundle.js",
                                   swagger_css_url="static/swagger/swagger-ui.css",
                                   swagger_favicon_url="static/swagger/favicon-32x32.png")

    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")
    for router in (lab_router, auth_router, admin_router, browse_router):
        app.include_router(router)

    return app


def _version() -> str:
    from .. import __version__

    return __version__
