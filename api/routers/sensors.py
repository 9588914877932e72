from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Path, Query, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from api.deps import get_shared_reads, get_store
from api.json_rows import json_document
from api.privacy import Disclosure, get_disclosure
from api.responses import error_responses
from api.shared_reads import SharedReads
from pakhuis.identifiers import IDENTIFIER_PATTERN
from pakhuis.quantities import Quantity
from pakhuis.store import Store

router = APIRouter(tags=["sensors"])


class SensorOut(BaseModel):
    tenant: str
    sensor: str
    kind: str
    lon: float | None
    lat: float | None
    quantities: list[str]
    created: datetime


class LatestOut(BaseModel):
    tenant: str
    sensor: str
    kind: str
    quantity: str
    unit: str
    time: datetime
    time_end: datetime | None
    value: float
    received: datetime
    quality: str


class SensorIn(BaseModel):
    # Strict: `true` is not a longitude (lax mode would read it as 1.0).
    model_config = ConfigDict(strict=True)

    kind: Literal["air", "drain", "bridge", "other"] = "other"
    lon: float | None = Field(None, ge=-180, le=180, description="WGS84 longitude")
    lat: float | None = Field(None, ge=-90, le=90, description="WGS84 latitude")
    drain: str | None = Field(
        None,
        min_length=1,
        max_length=200,
        # Printable text only: a register id never holds control characters (PostgreSQL no NUL).
        pattern=r"^[^\x00-\x1f\x7f]+$",
        description="the drain a fill sensor measures: its id in the register",
    )
    expected_interval_s: float | None = Field(
        None, gt=0, le=366 * 86400, description="seconds between readings"
    )


class SensorRegistrationOut(BaseModel):
    tenant: str
    sensor: str
    kind: str
    lon: float | None
    lat: float | None
    drain: str | None
    nearest_drain: str | None
    nearest_m: float | None
    linked: bool


_Identifier = Annotated[str, Path(pattern=IDENTIFIER_PATTERN, max_length=200)]


@router.put(
    "/sensors/{tenant}/{sensor}", response_model=SensorRegistrationOut, responses=error_responses(400)
)
def register_sensor(
    store: Annotated[Store, Depends(get_store)],
    tenant: _Identifier,
    sensor: _Identifier,
    body: Annotated[SensorIn, Body()],
) -> dict[str, object]:
    """Register (or update) a sensor. A fill sensor measures the drain `drain` names (refused
    when the register lacks it), or the nearest drain to its position: the answer says which
    and how far, and whether the refit links it (within 5 m)."""
    from geo.jobs import register_sensor as register

    return register(
        store,
        tenant,
        sensor,
        kind=body.kind,
        lon=body.lon,
        lat=body.lat,
        drain=body.drain,
        expected_interval_s=body.expected_interval_s,
    ).as_dict()


@router.get("/sensors", response_model=list[SensorOut])
def list_sensors(
    store: Annotated[Store, Depends(get_store)],
    disclosure: Annotated[Disclosure, Depends(get_disclosure)],
    tenant: Annotated[str | None, Query(pattern=IDENTIFIER_PATTERN)] = None,
    kind: Annotated[str | None, Query(pattern="^(air|drain|bridge|other)$")] = None,
) -> list[dict[str, Any]]:
    """Registered sensors; a citizen group's sensors by their pseudonym, at the centre of their
    grid cell, unless the viewer is that group or an admin."""
    return disclosure.sensors(store.sensors(tenant=tenant, kind=kind))


def _latest_json(
    store: Store, tenant: str | None, quantity: Quantity | None, disclosure: Disclosure
) -> bytes:
    rows = store.latest(tenant=tenant, quantity=quantity)  # LatestOut's fields, in order
    return json_document(list(disclosure.ids(rows)))


@router.get("/latest", response_model=list[LatestOut])
async def latest(
    store: Annotated[Store, Depends(get_store)],
    shared: Annotated[SharedReads, Depends(get_shared_reads)],
    disclosure: Annotated[Disclosure, Depends(get_disclosure)],
    tenant: Annotated[str | None, Query(pattern=IDENTIFIER_PATTERN)] = None,
    quantity: Quantity | None = None,
) -> Response:
    """One row per sensor and quantity: its most recent reading (a citizen group's sensors by
    their pseudonym, unless the viewer is that group or an admin)."""
    body = await shared.get(
        ("latest", tenant, quantity, *disclosure.key),
        lambda: run_in_threadpool(_latest_json, store, tenant, quantity, disclosure),
    )
    return Response(body, media_type="application/json")
