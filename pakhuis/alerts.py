"""Alerts: what operations staff are told (a drain nearly full, an NO2 peak, a silent sensor)."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import Any


class AlertRule(enum.StrEnum):
    ABOVE = "above"
    HOURLY_MEAN_ABOVE = "hourly_mean_above"
    STALE = "stale"


@dataclass(frozen=True, slots=True)
class Alert:
    """An alert opening or closing; `state` says which."""

    id: int
    tenant: str
    sensor: str
    quantity: str | None
    rule: AlertRule
    state: str  # "opened" | "closed"
    time: datetime
    value: float | None
    threshold: float | None
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "tenant": self.tenant,
            "sensor": self.sensor,
            "quantity": self.quantity,
            "rule": self.rule.value,
            "state": self.state,
            "time": self.time.isoformat(),
            "value": self.value,
            "threshold": self.threshold,
            "message": self.message,
        }
