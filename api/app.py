"""The FastAPI app factory. Nothing is read at import time: the caller passes an open Store."""

from __future__ import annotations

from importlib import resources

from fastapi import FastAPI
from fastapi.responses import HTMLResponse

from api.errors import install_error_handlers
from api.routers import alerts, deadletter, health, observations, sensors
from pakhuis import __version__
from pakhuis.store import Store


def create_app(store: Store) -> FastAPI:
    app = FastAPI(
        title="pakhuis",
        version=__version__,
        description="The city's sensor data warehouse: sensors, readings, dead letters.",
        docs_url="/docs",
        openapi_url="/openapi.json",
    )
    app.state.store = store
    install_error_handlers(app)
    app.include_router(health.router)
    app.include_router(sensors.router, prefix="/api/v1")
    app.include_router(observations.router, prefix="/api/v1")
    app.include_router(deadletter.router, prefix="/api/v1")
    app.include_router(alerts.router, prefix="/api/v1")

    page = resources.files("api").joinpath("static/index.html").read_text(encoding="utf-8")

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def index() -> HTMLResponse:
        return HTMLResponse(page)

    return app
