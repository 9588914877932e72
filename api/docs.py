"""The API's documentation pages, Swagger UI at /docs and ReDoc at /redoc, from vendored files.

FastAPI's own pages load their scripts and styles from a CDN, so offline (a control room, a
laptop on a train) they are blank. Here the built files of the pinned npm packages
(`web/package.json`, copied by `web/vendor.sh` into api/static/vendor/) are served by the API
itself, and nothing on either page comes from another host.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

__all__ = ["VENDOR_URL", "install_docs"]

VENDOR_URL = "/static/vendor"
# No icon from elsewhere either (FastAPI's default favicon is on its website).
_NO_ICON = "data:,"


def install_docs(app: FastAPI) -> None:
    """Mount the vendored files and add /docs and /redoc (outside the OpenAPI document)."""
    app.mount(VENDOR_URL, StaticFiles(packages=[("api", "static/vendor")]), name="vendor")
    title = f"{app.title} — API"
    openapi_url = app.openapi_url or "/openapi.json"

    @app.get("/docs", include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=title,
            swagger_js_url=f"{VENDOR_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{VENDOR_URL}/swagger-ui.css",
            swagger_favicon_url=_NO_ICON,
            # Swagger UI would otherwise fetch a validity badge from swagger.io for the document.
            swagger_ui_parameters={"validatorUrl": None},
        )

    @app.get("/redoc", include_in_schema=False)
    def redoc() -> HTMLResponse:
        return get_redoc_html(
            openapi_url=openapi_url,
            title=title,
            redoc_js_url=f"{VENDOR_URL}/redoc.standalone.js",
            redoc_favicon_url=_NO_ICON,
            with_google_fonts=False,
        )
