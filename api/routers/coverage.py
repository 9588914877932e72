"""Where the data is thin: per grid cell, drains with a sensor of their own and sensors per kind.

Counts per cell only -- no sensor's position, id or name leaves here. A personal sensor is
counted where the public sensor list shows it (its privacy cell's centre, `api.privacy`), so a
grid finer than the privacy cell cannot place it more exactly than that list does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Depends, Query, Response

from api.deps import get_store
from api.json_rows import json_document
from api.privacy import Disclosure, get_disclosure
from pakhuis.store import Store

if TYPE_CHECKING:
    from geo.plan import CoverageLayer

__all__ = ["coverage_of", "router"]

router = APIRouter(tags=["transparency"])


def coverage_of(
    store: Store, disclosure: Disclosure, cell_size: float | None = None, limit: int = 50_000
) -> CoverageLayer:
    """The coverage layer over the stored cells of `cell_size` (default: the latest computed),
    with the sensors placed as `disclosure` lets its viewer see them."""
    from geo.plan import LocatedDrain, LocatedSensor, coverage_layer  # pyproj: on first use

    cells = store.cells(cell_size=cell_size, limit=limit).dicts()
    states = store.fill_states()
    # The link a refit made (drain → its sensor) is the one the schedule uses.
    linked = {int(s["drain_id"]) for s in states if s.get("sensor")}
    drains = (
        LocatedDrain(float(d["lon"]), float(d["lat"]), int(d["id"]) in linked)
        for d in (store.drains_for_planning() if linked else [])
    )
    sensors = (
        LocatedSensor(s.get("lon"), s.get("lat"), str(s.get("kind") or ""))
        for s in disclosure.sensors(store.sensors())
    )
    return coverage_layer(cells, drains, sensors, drain_links_known=bool(states))


_FEATURE_COLLECTION = {
    "description": "A GeoJSON FeatureCollection (WGS84) of the cells with their counts",
    "content": {
        "application/geo+json": {
            "schema": {
                "type": "object",
                "required": ["type", "features", "totals"],
                "properties": {
                    "type": {"type": "string", "enum": ["FeatureCollection"]},
                    "features": {"type": "array", "items": {"type": "object"}},
                    "cell_size": {"type": ["number", "null"]},
                    "totals": {"type": "object"},
                },
            }
        }
    },
}


@router.get("/coverage", response_class=Response, responses={200: _FEATURE_COLLECTION})
def coverage(
    store: Annotated[Store, Depends(get_store)],
    disclosure: Annotated[Disclosure, Depends(get_disclosure)],
    cell_size: Annotated[float | None, Query(gt=0, description="metres; default the latest computed")] = None,
    limit: Annotated[int, Query(ge=1, le=200_000)] = 50_000,
) -> Any:
    """Per cell of the cell indicators' grid (`pakhuis geo indicators`): its drains, how many of
    them have a fill sensor of their own (null before the first refit), how many sensors of
    each kind lie in it, and whether it has any sensor data at all."""
    layer = coverage_of(store, disclosure, cell_size, limit)
    return Response(json_document(layer.to_geojson()), media_type="application/geo+json")
