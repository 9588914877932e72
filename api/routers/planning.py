"""Drain cleaning: record cleanings (work orders), the schedule with reasons, a day's truck routes."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field, field_validator

from api.deps import get_store
from api.errors import NotConfigured
from api.json_rows import json_document
from api.responses import error_responses
from geo.plan import DEFAULT_HORIZON_DAYS, PlanConfig
from pakhuis.errors import NotFound
from pakhuis.store import Store

router = APIRouter(tags=["drain cleaning"])


def get_plan_config(request: Request) -> PlanConfig:
    config: PlanConfig = request.app.state.plan_config
    return config


# Printable, no leading or trailing space, at most 200 characters: a NUL would reach the
# register lookup (PostgreSQL refuses NUL in text) and come back as a 422.
_PRINTABLE = r"[^\s\x00-\x1f\x7f-\x9f]"
_DRAIN_KEY = rf"^{_PRINTABLE}([^\x00-\x1f\x7f-\x9f]{{0,198}}{_PRINTABLE})?$"


class CleaningIn(BaseModel):
    drain: str = Field(
        pattern=_DRAIN_KEY,
        description="the drain's id in the register (its own id, else pakhuis' id)",
    )
    time: datetime = Field(description="when it was cleaned (ISO 8601; without a zone: UTC)")
    method: Literal["suction", "sweep", "both"] = "suction"
    sludge_m3: float | None = Field(None, ge=0, le=5, description="sludge removed, m³")

    @field_validator("time")
    @classmethod
    def _representable_in_utc(cls, value: datetime) -> datetime:
        # 0001-01-01T00:00+14:00 is a valid ISO time but has no UTC datetime (OverflowError).
        try:
            if value.tzinfo is not None:
                value.astimezone(UTC)
        except OverflowError:
            raise ValueError("time is out of range once converted to UTC") from None
        return value


@router.post("/cleanings", status_code=201)
def record_cleanings(
    store: Annotated[Store, Depends(get_store)],
    body: Annotated[CleaningIn | list[CleaningIn], Body()],
) -> dict[str, Any]:
    """Record one cleaning or a list (work orders). The drains' fill restarts at 0 % from then;
    the next `pakhuis plan refit` learns from them."""
    from geo.jobs import record_cleanings as record
    from geo.registers import parse_work_orders

    items = body if isinstance(body, list) else [body]
    orders = parse_work_orders(
        {"drain": i.drain, "time": i.time.isoformat(), "method": i.method, "sludge_m3": i.sludge_m3}
        for i in items
    )
    return record(store, orders, source="api").as_dict()


def _text(*media_types: str) -> dict[str, Any]:
    return {"content": {m: {"schema": {"type": "string"}} for m in media_types}}


_GEOJSON = {"application/geo+json": {"schema": {"type": "object"}}}


@router.get(
    "/schedule",
    responses={200: {"content": {**_text("text/csv")["content"], **_GEOJSON}}, **error_responses(409)},
)
def schedule(
    store: Annotated[Store, Depends(get_store)],
    config: Annotated[PlanConfig, Depends(get_plan_config)],
    start: Annotated[date | None, Query(alias="from", description="first day (default today)")] = None,
    horizon: Annotated[int, Query(ge=1, le=366, description="days")] = DEFAULT_HORIZON_DAYS,
    summary: Annotated[bool, Query(description="include the coming year against the yearly round")] = False,
    format: Annotated[Literal["json", "csv", "geojson"], Query()] = "json",
) -> Any:
    """Drains due within the horizon: due date, fill, sludge volume, method and the reason."""
    from geo.jobs import plan_schedule

    first = start or datetime.now(UTC).date()
    result = plan_schedule(store, config, first, horizon, with_summary=summary)
    if format == "csv":
        return Response(result.to_csv(), media_type="text/csv", headers=_attachment(f"schedule-{first}.csv"))
    if format == "geojson":
        return Response(json_document(result.to_geojson()), media_type="application/geo+json")
    document = {
        "from": first.isoformat(),
        "horizon_days": horizon,
        "model": {k: result.model["description"].get(k) for k in ("version", "kind", "n_train", "cv_mae")},
        "drains": result.schedule.considered,
        "due": result.records(),
        "counts": result.schedule.counts_by_method(),
        **({"summary": result.summary.as_dict()} if result.summary is not None else {}),
    }
    return Response(json_document(document), media_type="application/json")


def _attachment(name: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{name}"'}


@router.post("/routes", status_code=201, responses=error_responses(409))
def plan_routes(
    store: Annotated[Store, Depends(get_store)],
    config: Annotated[PlanConfig, Depends(get_plan_config)],
    on: Annotated[date, Query(alias="date", description="the day to plan")],
    trucks: Annotated[int | None, Query(ge=1, le=100)] = None,
    time_limit: Annotated[float | None, Query(gt=0, le=300, description="solver seconds")] = None,
) -> dict[str, Any]:
    """Plan (or re-plan) the day's truck routes for the suction work due; stored for GET."""
    from geo.jobs import plan_day_routes

    if not config.depot:
        # The server's configuration, not the request, is missing: 409 with the setting to set.
        raise NotConfigured(
            "No depot is set: routes start and end at the depot.",
            hint="Set PAKHUIS_PLAN_DEPOT='lon,lat' (WGS84) for the API process and restart it.",
        )
    routes = plan_day_routes(store, config, on, trucks=trucks, time_limit_s=time_limit)
    collection = dict(routes.plan.to_geojson())
    collection["summary"] = routes.summary
    return collection


@router.get("/routes", responses={200: _text("text/csv", "application/gpx+xml"), **error_responses(404)})
def routes(
    store: Annotated[Store, Depends(get_store)],
    on: Annotated[date, Query(alias="date", description="the day planned with `pakhuis plan routes`")],
    format: Annotated[Literal["geojson", "csv", "gpx"], Query()] = "geojson",
) -> Any:
    """A day's truck routes: GeoJSON lines and stops (with the plan's summary), or CSV / GPX."""
    plan = store.route_plan(on)
    if plan is None:
        raise NotFound(
            f"no routes planned for {on.isoformat()}",
            hint=f"plan them with `pakhuis plan routes --date {on.isoformat()}`",
        )
    if format == "csv":
        return Response(plan["csv"], media_type="text/csv", headers=_attachment(f"routes-{on}.csv"))
    if format == "gpx":
        return Response(
            plan["gpx"], media_type="application/gpx+xml", headers=_attachment(f"routes-{on}.gpx")
        )
    collection = dict(plan["geojson"])
    collection["summary"] = plan["summary"]
    collection["parameters"] = plan["parameters"]
    collection["created"] = plan["created"].isoformat()
    return collection
