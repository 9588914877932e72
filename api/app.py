"""The FastAPI app factory. Nothing is read at import time: the caller passes an open Store."""

from __future__ import annotations

from importlib import resources

from fastapi import FastAPI
from fastapi.responses import HTMLResponse

from api.bridge import MqttBridge
from api.errors import install_error_handlers
from api.routers import (
    alerts,
    deadletter,
    health,
    http_ingest,
    metrics,
    observations,
    planning,
    registers,
    sensors,
)
from geo.plan import PlanConfig
from pakhuis import __version__
from pakhuis.store import Store


def create_app(
    store: Store,
    *,
    bridge: MqttBridge | None = None,
    http_ingest_tenant: str = "public",
    plan_config: PlanConfig | None = None,
) -> FastAPI:
    app = FastAPI(
        title="pakhuis",
        version=__version__,
        description="The city's sensor data warehouse: sensors, readings, dead letters.",
        docs_url="/docs",
        openapi_url="/openapi.json",
    )
    app.state.store = store
    # HTTP ingest (TTN webhooks, Sensor.Community pushes) is published to the broker through this.
    app.state.bridge = bridge
    app.state.http_ingest_tenant = http_ingest_tenant
    # Thresholds, intervals, trucks and sites for the drain-cleaning schedule and routes.
    app.state.plan_config = plan_config or PlanConfig()
    install_error_handlers(app)
    app.include_router(health.router)
    app.include_router(sensors.router, prefix="/api/v1")
    app.include_router(observations.router, prefix="/api/v1")
    app.include_router(deadletter.router, prefix="/api/v1")
    app.include_router(alerts.router, prefix="/api/v1")
    app.include_router(registers.router, prefix="/api/v1")
    app.include_router(planning.router, prefix="/api/v1")
    app.include_router(http_ingest.router)
    app.include_router(metrics.router)

    page = resources.files("api").joinpath("static/index.html").read_text(encoding="utf-8")

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def index() -> HTMLResponse:
        return HTMLResponse(page)

    return app
