from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import AwareDatetime, BaseModel

from api.deps import get_store
from pakhuis.store import Store

router = APIRouter(tags=["dead letters"])

_PREVIEW_BYTES = 2048


class Refusal(BaseModel):
    item: int | None
    code: str
    reason: str


class DeadLetterOut(BaseModel):
    id: int
    received: datetime
    topic: str
    tenant: str | None
    decoder: str
    reason_code: str
    reason: str
    details: list[Refusal]
    payload_bytes: int
    payload_preview: str


@router.get("/deadletter", response_model=list[DeadLetterOut])
def dead_letters(
    store: Annotated[Store, Depends(get_store)],
    tenant: Annotated[str | None, Query(max_length=64)] = None,
    reason: Annotated[
        str | None, Query(max_length=64, description="a reason code, e.g. out_of_range")
    ] = None,
    start: AwareDatetime | None = None,
    end: AwareDatetime | None = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
) -> list[dict[str, Any]]:
    """Refused messages, newest first, with why they were refused and the start of their bytes."""
    rows = store.dead_letters(tenant=tenant, reason=reason, start=start, end=end, limit=limit)
    for row in rows:
        payload: bytes = row.pop("payload")
        row["payload_preview"] = payload[:_PREVIEW_BYTES].decode("utf-8", errors="replace")
    return rows
