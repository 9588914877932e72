"""The algorithm register's shape: the Algoritmeregister's fields, an algorithm's entry with
its rules as configured now, and the alert settings it describes (`algorithm_register`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pakhuis.settings import Settings

__all__ = [
    "REGISTER_FIELDS",
    "AlertConfig",
    "Algorithm",
    "AlgorithmRegister",
    "LastChange",
    "Rule",
    "fill_constant_source",
    "setting_source",
]

# The register's fields: our key -> the Algoritmeregister's (Dutch) name for it.
REGISTER_FIELDS: dict[str, str] = {
    "name": "naam",
    "purpose": "doel",
    "data_used": "gebruikte data",
    "how_it_works": "technische werking",
    "rules": "regels en drempels (zoals nu ingesteld)",
    "human_oversight": "menselijke tussenkomst",
    "objection": "bezwaar en contact",
    "last_change": "laatste wijziging",
}


@dataclass(frozen=True)
class Rule:
    """One rule or threshold as configured now, and where its value is set."""

    key: str
    name: str
    value: Any
    unit: str
    source: str  # a PAKHUIS_ setting, or "code: <module>.<constant>"

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "name": self.name,
            "value": self.value,
            "unit": self.unit,
            "source": self.source,
        }


@dataclass(frozen=True)
class LastChange:
    """When the algorithm (its configuration or its fitted model) last changed, and what."""

    at: datetime | None
    what: str

    def as_dict(self) -> dict[str, Any]:
        return {"at": self.at.isoformat() if self.at is not None else None, "what": self.what}


@dataclass(frozen=True)
class Algorithm:
    id: str
    name: str
    purpose: str
    data_used: tuple[str, ...]
    how_it_works: str
    rules: tuple[Rule, ...]
    human_oversight: str
    objection: str
    last_change: LastChange
    # Figures of the current state (e.g. the fitted model's error), beside the rules.
    current: Mapping[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "purpose": self.purpose,
            "data_used": list(self.data_used),
            "how_it_works": self.how_it_works,
            "rules": [r.as_dict() for r in self.rules],
            "human_oversight": self.human_oversight,
            "objection": self.objection,
            "last_change": self.last_change.as_dict(),
            "current": dict(self.current),
        }


@dataclass(frozen=True)
class AlgorithmRegister:
    software_version: str
    configured_at: datetime
    algorithms: tuple[Algorithm, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "software_version": self.software_version,
            "configured_at": self.configured_at.isoformat(),
            "fields": dict(REGISTER_FIELDS),
            "algorithms": [a.as_dict() for a in self.algorithms],
        }


@dataclass(frozen=True)
class AlertConfig:
    """The alert and staleness settings the stream processor runs with."""

    above: Mapping[str, float]
    hourly_mean_above: Mapping[str, float]
    stale_factor: float
    stale_check_s: float

    @classmethod
    def from_settings(cls, settings: Settings) -> AlertConfig:
        return cls(
            above=dict(settings.alert_above),
            hourly_mean_above=dict(settings.alert_hourly_mean_above),
            stale_factor=settings.stale_factor,
            stale_check_s=settings.stale_check_s,
        )


def setting_source(name: str) -> str:
    """The environment variable of a setting; a renamed setting fails here, not silently."""
    if name not in Settings.model_fields:
        raise KeyError(f"no setting {name!r}")
    return f"PAKHUIS_{name.upper()}"


def fill_constant_source(name: str) -> str:
    """Where a constant of the fill-rate code is set (`geo.fill` re-exports each of them)."""
    return f"code: geo.fill.{name}"
