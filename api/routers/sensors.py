from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from api.deps import get_shared_reads, get_store
from api.json_rows import json_document
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


@router.get("/sensors", response_model=list[SensorOut])
def list_sensors(
    store: Annotated[Store, Depends(get_store)],
    tenant: Annotated[str | None, Query(pattern=IDENTIFIER_PATTERN)] = None,
    kind: Annotated[str | None, Query(pattern="^(air|drain|bridge|other)$")] = None,
) -> list[dict[str, Any]]:
    return store.sensors(tenant=tenant, kind=kind)


def _latest_json(store: Store, tenant: str | None, quantity: Quantity | None) -> bytes:
    return json_document(store.latest(tenant=tenant, quantity=quantity))  # LatestOut's fields, in order


@router.get("/latest", response_model=list[LatestOut])
async def latest(
    store: Annotated[Store, Depends(get_store)],
    shared: Annotated[SharedReads, Depends(get_shared_reads)],
    tenant: Annotated[str | None, Query(pattern=IDENTIFIER_PATTERN)] = None,
    quantity: Quantity | None = None,
) -> Response:
    """One row per sensor and quantity: its most recent reading."""
    body = await shared.get(
        ("latest", tenant, quantity), lambda: run_in_threadpool(_latest_json, store, tenant, quantity)
    )
    return Response(body, media_type="application/json")
