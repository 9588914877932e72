from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from api.deps import get_limits, get_shared_reads, get_store
from api.json_rows import json_array_chunks, json_document
from api.limits import ApiLimits
from api.pagination import (
    CURSOR_DESCRIPTION,
    OBSERVATION_CURSOR,
    next_link,
    observation_cursor,
    parse_observation_cursor,
)
from api.params import IsoDatetimeOrDate, instant
from api.privacy import Disclosure, SensorFilter, get_disclosure
from api.shared_reads import SharedReads
from pakhuis.errors import InvalidParameter
from pakhuis.identifiers import IDENTIFIER_PATTERN
from pakhuis.quantities import Quantity
from pakhuis.store import Store
from pakhuis.store.readings import OBSERVATION_COLUMNS, ObservationKey

router = APIRouter(tags=["observations"])

_NEXT_LINK = {
    "Link": {
        "description": 'rel="next": the page after this one (absent on the last page)',
        "schema": {"type": "string"},
    }
}


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


def _rows(rows: list[tuple[Any, ...]]) -> Iterator[dict[str, Any]]:
    # The same keys as ObservationOut (aggregate fields null), so both shapes stay one schema.
    for row in rows:
        yield {
            **dict(zip(OBSERVATION_COLUMNS, row, strict=True)),
            "agg": None,
            "count": None,
            "coverage": None,
        }


def _rollup_json(
    store: Store,
    bucket: Literal["1h", "1d"],
    chosen: Literal["mean", "min", "max", "count"],
    filters: dict[str, Any],
    disclosure: Disclosure,
    by_name: bool,
) -> bytes:
    table = store.rollup_table(bucket=bucket, **filters)
    at = {name: i for i, name in enumerate(table.columns)}
    tenant, sensor, quantity, unit, time, value, count, coverage = (
        at[name] for name in ("tenant", "sensor", "quantity", "unit", "time", chosen, "count", "coverage")
    )
    # ObservationOut's fields in its order, the raw-only ones null.
    rows = (
        {
            "tenant": row[tenant],
            "sensor": row[sensor],
            "quantity": row[quantity],
            "unit": "count" if chosen == "count" else row[unit],
            "time": row[time],
            "time_end": None,
            "value": float(row[value]),
            "quality": None,
            "source_format": None,
            "agg": chosen,
            "count": row[count],
            "coverage": row[coverage],
        }
        for row in table.rows
    )
    return json_document(list(disclosure.ids(rows, exact_names_only=by_name)))


async def _raw_page(
    request: Request,
    store: Store,
    disclosure: Disclosure,
    wanted: SensorFilter,
    cursor: str | None,
    **filters: Any,
) -> Response:
    """One page of raw observations; a hidden sensor's name, in rows and in the cursor of the
    next page, is its pseudonym (resolved again when that cursor comes back)."""
    after = parse_observation_cursor(cursor) if cursor is not None else None
    if after is not None and disclosure.hides(after.tenant):
        real = await run_in_threadpool(disclosure.sensor_filter, store, after.tenant, after.sensor)
        after = replace(after, sensor=real.sensor or after.sensor)
    page = await run_in_threadpool(
        lambda: store.observation_page(tenant=wanted.tenant, sensor=wanted.sensor, after=after, **filters)
    )
    headers = {}
    if page.next_key is not None:
        headers["Link"] = next_link(request, observation_cursor(_shown_key(disclosure, page.next_key)))
    rows = disclosure.ids(_rows(page.rows), exact_names_only=wanted.by_name)
    return StreamingResponse(json_array_chunks(rows), media_type="application/json", headers=headers)


def _shown_key(disclosure: Disclosure, key: ObservationKey) -> ObservationKey:
    if not disclosure.hides(key.tenant):
        return key
    return replace(key, sensor=disclosure.rules.pseudonym(key.tenant, key.sensor))


@router.get("/observations", response_model=list[ObservationOut], responses={200: {"headers": _NEXT_LINK}})
async def observations(
    request: Request,
    store: Annotated[Store, Depends(get_store)],
    limits: Annotated[ApiLimits, Depends(get_limits)],
    shared: Annotated[SharedReads, Depends(get_shared_reads)],
    disclosure: Annotated[Disclosure, Depends(get_disclosure)],
    sensor: Annotated[
        str | None,
        Query(pattern=IDENTIFIER_PATTERN, description="a sensor, or the pseudonym public answers show"),
    ] = None,
    tenant: Annotated[str | None, Query(pattern=IDENTIFIER_PATTERN)] = None,
    quantity: Quantity | None = None,
    start: Annotated[
        IsoDatetimeOrDate | None,
        Query(description="inclusive: ISO 8601 with offset, or a date (local midnight, reporting time zone)"),
    ] = None,
    end: Annotated[
        IsoDatetimeOrDate | None,
        Query(description="exclusive: ISO 8601 with offset, or a date (local midnight, reporting time zone)"),
    ] = None,
    limit: Annotated[
        int,
        Query(ge=1, le=100_000, description="rows per page; at most PAKHUIS_API_PAGE_MAX_ROWS (10,000)"),
    ] = 1000,
    cursor: Annotated[str | None, Query(pattern=OBSERVATION_CURSOR, description=CURSOR_DESCRIPTION)] = None,
    bucket: Annotated[
        Literal["1h", "1d"] | None,
        Query(description="aggregate per hour or per (local, reporting time zone) day"),
    ] = None,
    agg: Annotated[Literal["mean", "min", "max", "count"] | None, Query(description="with bucket")] = None,
    order: Annotated[
        Literal["asc", "desc"],
        Query(description="raw observations: the oldest first (asc) or the newest (desc)"),
    ] = "asc",
) -> Response:
    """Observations in time order (`order=desc`: the newest first), values in the quantity's
    canonical unit, a page at a time (the `Link` header continues); with `bucket`, the hourly
    or daily rollup (answered from the rollup tables / continuous aggregates, one capped page)."""
    # A plain date is local midnight in the reporting zone the schema records (read once).
    zone = store.rollup_mode()[1] if start is not None or end is not None else "UTC"
    start_at, end_at = instant(start, zone), instant(end, zone)
    if start_at is not None and end_at is not None and end_at <= start_at:
        raise InvalidParameter("end must lie after start")
    page_rows = min(limit, limits.page_max_rows)
    if bucket is None and agg is not None:
        raise InvalidParameter("agg needs bucket=1h or bucket=1d")
    if bucket is not None and cursor is not None:
        raise InvalidParameter("cursor: bucketed rows come in one page; narrow start/end instead")
    if bucket is not None and order != "asc":
        raise InvalidParameter("order=desc applies to raw observations; bucketed rows come oldest first")
    wanted = (
        SensorFilter(tenant, None)
        if sensor is None
        else await run_in_threadpool(disclosure.sensor_filter, store, tenant, sensor)
    )
    if wanted.matches_nothing:
        return Response(b"[]", media_type="application/json")
    window = {"quantity": quantity, "start": start_at, "end": end_at, "limit": page_rows}
    if bucket is None:
        newest_first = order == "desc"
        return await _raw_page(
            request, store, disclosure, wanted, cursor, newest_first=newest_first, **window
        )
    filters = {"tenant": wanted.tenant, "sensor": wanted.sensor, **window}
    chosen = agg or "mean"
    body = await shared.get(
        ("rollup", bucket, chosen, *filters.values(), *disclosure.key, wanted.by_name),
        lambda: run_in_threadpool(_rollup_json, store, bucket, chosen, filters, disclosure, wanted.by_name),
    )
    return Response(body, media_type="application/json")
