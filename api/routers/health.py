from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from api.deps import get_store
from pakhuis.store import Store

router = APIRouter(tags=["health"])


@router.get("/health")
def health(store: Annotated[Store, Depends(get_store)]) -> dict[str, str]:
    """200 when the database answers; 503 in the common error shape when it does not."""
    store.ping()
    return {"status": "ok", "database": "ok"}
