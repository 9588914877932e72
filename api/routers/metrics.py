"""Prometheus metrics: dead letters per reason, sensors, open alerts."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import PlainTextResponse

from api.deps import get_store
from pakhuis.store import Store

router = APIRouter(tags=["metrics"])


# The errors of this route are JSON like everywhere else: only the 200 is text.
_PROMETHEUS_TEXT: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/plain": {"schema": {"type": "string"}}}}
}


@router.get("/metrics", responses=_PROMETHEUS_TEXT)
def metrics(store: Annotated[Store, Depends(get_store)]) -> PlainTextResponse:
    lines = [
        "# HELP pakhuis_deadletters Refusals kept in the dead-letter store, by reason code.",
        "# TYPE pakhuis_deadletters gauge",
    ]
    for reason, count in store.dead_letter_counts().items():
        lines.append(f'pakhuis_deadletters{{reason="{reason}"}} {count}')
    lines += [
        "# HELP pakhuis_sensors Registered sensors.",
        "# TYPE pakhuis_sensors gauge",
        f"pakhuis_sensors {len(store.sensors())}",
        "# HELP pakhuis_open_alerts Alerts that are open now.",
        "# TYPE pakhuis_open_alerts gauge",
        f"pakhuis_open_alerts {len(store.alerts(open_only=True, limit=100_000))}",
    ]
    return PlainTextResponse("\n".join(lines) + "\n", media_type="text/plain; version=0.0.4")
