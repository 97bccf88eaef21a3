"""The API documentation pages, served with no CDN: ``/docs`` (Swagger UI) and ``/redoc``.

FastAPI's own pages load Swagger UI and ReDoc from a CDN, so they are blank on a
machine without internet. These are FastAPI's documented self-hosting recipe
(``get_swagger_ui_html`` / ``get_redoc_html`` with local asset URLs) over the
Swagger UI 5 and ReDoc 2 distribution files that the ``fastapi-offline`` package
ships, mounted at :data:`ASSETS_URL`. No page references another host.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.staticfiles import StaticFiles
from starlette.responses import HTMLResponse

__all__ = ["ASSETS_URL", "assets_directory", "install_docs"]

ASSETS_URL = "/docs/assets"
"""Where the Swagger UI and ReDoc files are served (no API key, like ``/docs``)."""


def assets_directory() -> Path:
    """The folder of ``swagger-ui-bundle.js``, ``swagger-ui.css``, ``redoc.standalone.js``
    and ``favicon.png`` (the ``fastapi-offline`` package's ``static`` folder)."""
    folder = Path(str(resources.files("fastapi_offline") / "static"))
    missing = [n for n in ("swagger-ui-bundle.js", "swagger-ui.css", "redoc.standalone.js")
               if not (folder / n).is_file()]
    if missing:
        raise RuntimeError(f"fastapi-offline's static files are missing: {missing}")
    return folder


def install_docs(app: FastAPI) -> None:
    """Serve ``/docs``, ``/docs/oauth2-redirect`` and ``/redoc`` from local assets.

    ``app`` must have been created with ``docs_url=None, redoc_url=None`` (FastAPI's
    CDN pages off); its ``openapi_url`` stays where it is.
    """
    openapi_url = app.openapi_url or "/openapi.json"
    redirect_url = app.swagger_ui_oauth2_redirect_url or "/docs/oauth2-redirect"
    app.mount(ASSETS_URL, StaticFiles(directory=assets_directory()), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_swagger_ui_html(
            openapi_url=root + openapi_url,
            title=f"{app.title} - Swagger UI",
            oauth2_redirect_url=root + redirect_url,
            swagger_js_url=f"{root}{ASSETS_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{ASSETS_URL}/swagger-ui.css",
            swagger_favicon_url=f"{root}{ASSETS_URL}/favicon.png",
            swagger_ui_parameters=app.swagger_ui_parameters,
        )

    @app.get(redirect_url, include_in_schema=False)
    async def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @app.get("/redoc", include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_redoc_html(
            openapi_url=root + openapi_url,
            title=f"{app.title} - ReDoc",
            redoc_js_url=f"{root}{ASSETS_URL}/redoc.standalone.js",
            redoc_favicon_url=f"{root}{ASSETS_URL}/favicon.png",
            with_google_fonts=False,
        )
