"""The FastAPI app factory. Nothing is read at import time: the caller passes an open Store."""

from __future__ import annotations

from importlib import resources

from fastapi import Depends, FastAPI
from fastapi.responses import HTMLResponse

from api.auth import Authenticator, enforce_access, install_access
from api.body_limit import BodyLimit
from api.bridge import MqttBridge
from api.docs import install_docs
from api.errors import install_error_handlers
from api.limits import ApiLimits
from api.responses import COMMON_ERRORS
from api.routers import (
    alerts,
    algorithms,
    coverage,
    deadletter,
    http_ingest,
    metrics,
    observations,
    planning,
    registers,
    sensors,
)
from api.routers import health as health_routes
from api.shared_reads import SharedReads
from api.strict import refuse_control_characters
from geo.plan import PlanConfig
from pakhuis import __version__
from pakhuis.access.keys import KeyVerifier
from pakhuis.access.privacy import PrivacyRules
from pakhuis.access.tokens import OidcConfig, TokenVerifier
from pakhuis.health import HealthBoard
from pakhuis.store import Store


def create_app(
    store: Store,
    *,
    bridge: MqttBridge | None = None,
    http_ingest_tenant: str = "public",
    plan_config: PlanConfig | None = None,
    limits: ApiLimits | None = None,
    health_board: HealthBoard | None = None,
    privacy: PrivacyRules | None = None,
    oidc: OidcConfig | None = None,
) -> FastAPI:
    app = FastAPI(
        title="pakhuis",
        version=__version__,
        description="The city's sensor data warehouse: sensors, readings, dead letters.",
        # Served below from vendored files: the default pages load their scripts from a CDN and
        # stay blank without internet.
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json",
        # Every route: first who is asking and whether they may (api.auth: 401/403), then no
        # control characters in any path or query parameter (400 naming it).
        dependencies=[Depends(enforce_access), Depends(refuse_control_characters)],
    )
    app.state.store = store
    # HTTP ingest (TTN webhooks, Sensor.Community pushes) is published to the broker through this.
    app.state.bridge = bridge
    # The components /health reports (issue 11 part 3); None: the database only.
    app.state.health = health_board
    app.state.http_ingest_tenant = http_ingest_tenant
    # Thresholds, intervals, trucks and sites for the drain-cleaning schedule and routes.
    app.state.plan_config = plan_config or PlanConfig()
    # Body sizes (per path) and the page cap of observations and dead letters.
    app.state.limits = limits or ApiLimits()
    # Identical hot reads (latest, rollups) that arrive together share one computation.
    app.state.shared_reads = SharedReads()
    # Pseudonyms and coarsened places for personal sensors in public answers (issue 14 part 4);
    # without a deployment's rules, a per-app secret: private by default.
    app.state.privacy = privacy if privacy is not None else PrivacyRules.ephemeral()
    install_error_handlers(app)
    app.add_middleware(BodyLimit, limits=app.state.limits)
    # The common error responses are declared once, per router, in the OpenAPI document.
    app.include_router(health_routes.router, responses=COMMON_ERRORS)
    for router in (sensors, observations, deadletter, alerts, registers, planning):
        app.include_router(router.router, prefix="/api/v1", responses=COMMON_ERRORS)
    app.include_router(http_ingest.router, responses=COMMON_ERRORS)
    app.include_router(metrics.router, responses=COMMON_ERRORS)
    app.include_router(algorithms.router, responses=COMMON_ERRORS)
    app.include_router(coverage.router, prefix="/api/v1", responses=COMMON_ERRORS)

    page = resources.files("api").joinpath("static/index.html").read_text(encoding="utf-8")
    install_docs(app)

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def index() -> HTMLResponse:
        return HTMLResponse(page)

    # Last, once every route is there: a route without a row in the access table stops here.
    tokens = TokenVerifier(oidc) if oidc is not None else None
    install_access(app, Authenticator(KeyVerifier(store), tokens))
    return app
