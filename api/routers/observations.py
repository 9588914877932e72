from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

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
    time_end: datetime | None = None
    value: float
    quality: str | None = None
    source_format: str | None = None
    # Aggregated rows (bucket=1h|1d) only: which aggregate, how many readings, what share of
    # the expected readings they are.
    agg: str | None = None
    count: int | None = None
    coverage: float | None = None


@router.get("/observations", response_model=list[ObservationOut])
def observations(
    store: Annotated[Store, Depends(get_store)],
    sensor: Annotated[str | None, Query(max_length=64)] = None,
    tenant: Annotated[str | None, Query(max_length=64)] = None,
    quantity: Quantity | None = None,
    start: Annotated[AwareDatetime | None, Query(description="inclusive, ISO-8601 with offset")] = None,
    end: Annotated[AwareDatetime | None, Query(description="exclusive, ISO-8601 with offset")] = None,
    limit: Annotated[int, Query(ge=1, le=100_000)] = 1000,
    bucket: Annotated[
        Literal["1h", "1d"] | None,
        Query(description="aggregate per hour or per (local, reporting time zone) day"),
    ] = None,
    agg: Annotated[Literal["mean", "min", "max", "count"] | None, Query(description="with bucket")] = None,
) -> list[dict[str, Any]]:
    """Observations in time order, values in the quantity's canonical unit; with `bucket`, the
    hourly or daily rollup (answered from the rollup tables / continuous aggregates)."""
    if start is not None and end is not None and end <= start:
        raise InvalidParameter("end must lie after start")
    if bucket is None:
        if agg is not None:
            raise InvalidParameter("agg needs bucket=1h or bucket=1d")
        return store.observations(
            tenant=tenant, sensor=sensor, quantity=quantity, start=start, end=end, limit=limit
        )
    chosen = agg or "mean"
    rows = store.rollup(
        bucket=bucket, tenant=tenant, sensor=sensor, quantity=quantity, start=start, end=end, limit=limit
    )
    return [
        {
            "tenant": row["tenant"],
            "sensor": row["sensor"],
            "quantity": row["quantity"],
            "unit": "count" if chosen == "count" else row["unit"],
            "time": row["time"],
            "value": float(row[chosen]),
            "agg": chosen,
            "count": row["count"],
            "coverage": row["coverage"],
        }
        for row in rows
    ]
