from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from api.deps import get_store
from api.privacy import Disclosure, get_disclosure
from pakhuis.identifiers import IDENTIFIER_PATTERN
from pakhuis.store import Store

router = APIRouter(tags=["alerts"])


class AlertOut(BaseModel):
    id: int
    tenant: str
    sensor: str
    quantity: str | None
    rule: str
    threshold: float | None
    value: float | None
    opened: datetime
    closed: datetime | None
    message: str


@router.get("/alerts", response_model=list[AlertOut])
def alerts(
    store: Annotated[Store, Depends(get_store)],
    disclosure: Annotated[Disclosure, Depends(get_disclosure)],
    tenant: Annotated[str | None, Query(pattern=IDENTIFIER_PATTERN)] = None,
    open: Annotated[bool, Query(description="only alerts that are still open")] = False,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
) -> list[dict[str, Any]]:
    """Threshold, hourly-mean and staleness alerts, newest first (a citizen group's sensors by
    their pseudonym, unless the viewer is that group or an admin)."""
    return list(disclosure.ids(store.alerts(tenant=tenant, open_only=open, limit=limit)))
