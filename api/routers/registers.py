"""The drain register with its indicators, and per-cell indicators as GeoJSON."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Response

from api.deps import get_store
from api.json_rows import geojson_features
from api.responses import error_responses
from pakhuis.errors import InvalidParameter, NotFound
from pakhuis.store import Store

router = APIRouter(tags=["drains and cells"])


@router.get("/drains/{drain_id}", responses=error_responses(404))
def drain(
    drain_id: Annotated[int, Path(ge=-(2**63), le=2**63 - 1)], store: Annotated[Store, Depends(get_store)]
) -> dict[str, Any]:
    """One drain: position, source attributes and its tree indicators (`pakhuis geo indicators`)."""
    row = store.drain(drain_id)
    if row is None:
        raise NotFound(f"no drain with id {drain_id}")
    return row


_NUMBER = r"-?[0-9]{1,3}(\.[0-9]{1,17})?"
_BBOX_PATTERN = rf"^{_NUMBER},{_NUMBER},{_NUMBER},{_NUMBER}$"


def _bbox(text: str | None) -> tuple[float, float, float, float] | None:
    if text is None:
        return None
    try:
        min_lon, min_lat, max_lon, max_lat = (float(part) for part in text.split(","))
    except ValueError:
        raise InvalidParameter("bbox must be min_lon,min_lat,max_lon,max_lat (WGS84)") from None
    if not (-180 <= min_lon <= max_lon <= 180 and -90 <= min_lat <= max_lat <= 90):
        raise InvalidParameter(
            "bbox must be min_lon,min_lat,max_lon,max_lat with min ≤ max, in WGS84 degrees"
        )
    return min_lon, min_lat, max_lon, max_lat


@router.get(
    "/cells",
    responses={
        200: {
            "description": "A GeoJSON FeatureCollection (WGS84)",
            "content": {"application/geo+json": {"schema": {"type": "object"}}},
        }
    },
)
def cells(
    store: Annotated[Store, Depends(get_store)],
    bbox: Annotated[
        str | None, Query(pattern=_BBOX_PATTERN, description="min_lon,min_lat,max_lon,max_lat (WGS84)")
    ] = None,
    cell_size: Annotated[float | None, Query(gt=0, description="metres; default the latest computed")] = None,
    limit: Annotated[int, Query(ge=1, le=200_000)] = 50_000,
) -> Response:
    """Per-cell indicators as a GeoJSON FeatureCollection (WGS84)."""
    table = store.cells(cell_size=cell_size, bbox=_bbox(bbox), limit=limit)
    return Response(geojson_features(table, "geometry"), media_type="application/geo+json")
