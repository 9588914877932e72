from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import AwareDatetime, BaseModel

from api.deps import get_store
from pakhuis.errors import InvalidParameter
from pakhuis.quantities import Quantity
from pakhuis.store import Store

router = APIRouter(tags=["observations"])


class ObservationOut(BaseModel):
    tenant: str
    sensor: str
    quantity: str
    unit: str
    time: datetime
    time_end: datetime | None
    value: float
    quality: str
    source_format: str


@router.get("/observations", response_model=list[ObservationOut])
def observations(
    store: Annotated[Store, Depends(get_store)],
    sensor: Annotated[str | None, Query(max_length=64)] = None,
    tenant: Annotated[str | None, Query(max_length=64)] = None,
    quantity: Quantity | None = None,
    start: Annotated[AwareDatetime | None, Query(description="inclusive, ISO-8601 with offset")] = None,
    end: Annotated[AwareDatetime | None, Query(description="exclusive, ISO-8601 with offset")] = None,
    limit: Annotated[int, Query(ge=1, le=100_000)] = 1000,
) -> list[dict[str, Any]]:
    """Observations in time order, values in the quantity's canonical unit."""
    if start is not None and end is not None and end <= start:
        raise InvalidParameter("end must lie after start")
    return store.observations(
        tenant=tenant, sensor=sensor, quantity=quantity, start=start, end=end, limit=limit
    )
