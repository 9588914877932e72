from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from api.deps import get_store
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


@router.get("/sensors", response_model=list[SensorOut])
def list_sensors(
    store: Annotated[Store, Depends(get_store)],
    tenant: Annotated[str | None, Query(pattern=IDENTIFIER_PATTERN)] = None,
    kind: Annotated[str | None, Query(pattern="^(air|drain|bridge|other)$")] = None,
) -> list[dict[str, Any]]:
    return store.sensors(tenant=tenant, kind=kind)


@router.get("/latest", response_model=list[LatestOut])
def latest(
    store: Annotated[Store, Depends(get_store)],
    tenant: Annotated[str | None, Query(pattern=IDENTIFIER_PATTERN)] = None,
    quantity: Quantity | None = None,
) -> list[dict[str, Any]]:
    """One row per sensor and quantity: its most recent reading."""
    return store.latest(tenant=tenant, quantity=quantity)
