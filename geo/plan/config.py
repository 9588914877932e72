"""Settings of the drain-cleaning plan as a plain value (thresholds, intervals, trucks, sites).

Every default is the default of the matching `plan_*` field of `pakhuis.settings.Settings`,
read from the field itself (`plan_default`), so the plan, the routes and the settings can never
disagree about e.g. the tank volume. Kept apart from the jobs so the API can hold one without
importing the model stack.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from pakhuis.settings import Settings

__all__ = ["DEFAULT_HORIZON_DAYS", "PlanConfig", "plan_default"]

# How far ahead a schedule looks unless told otherwise: four weeks.
DEFAULT_HORIZON_DAYS = 28


def plan_default(name: str) -> Any:
    """The default of the setting `plan_<name>` (a fresh copy for dicts)."""
    value = Settings.model_fields[f"plan_{name}"].default
    return dict(value) if isinstance(value, Mapping) else value


@dataclass(frozen=True)
class PlanConfig:
    thresholds: Mapping[str, float] = field(default_factory=lambda: plan_default("thresholds"))
    rate_multipliers: Mapping[str, float] = field(default_factory=lambda: plan_default("rate_multipliers"))
    min_interval_days: float = plan_default("min_interval_days")
    max_interval_days: float = plan_default("max_interval_days")
    sump_m3: float = plan_default("sump_m3")
    assumed_days_since_cleaning: float = plan_default("assumed_days_since_cleaning")
    depot: str | None = plan_default("depot")
    dump_sites: str | None = plan_default("dump_sites")
    trucks: int = plan_default("trucks")
    tank_m3: float = plan_default("tank_m3")
    shift_h: float = plan_default("shift_h")
    service_s: float = plan_default("service_s")
    dump_service_s: float = plan_default("dump_service_s")
    speed_kmh: float = plan_default("speed_kmh")
    detour: float = plan_default("detour")
    time_limit_s: float = plan_default("time_limit_s")
    roads_file: Path | None = plan_default("roads_file")  # noqa: RUF009 - None or a Path, both immutable

    @classmethod
    def from_settings(cls, settings: Settings) -> PlanConfig:
        values = {f.name: getattr(settings, f"plan_{f.name}") for f in fields(cls)}
        values["thresholds"] = dict(values["thresholds"])
        values["rate_multipliers"] = dict(values["rate_multipliers"])
        return cls(**values)

    def overridden(self, **changes: object) -> PlanConfig:
        """This config with the given fields changed; None means "keep the configured value"."""
        kept: dict[str, Any] = {name: value for name, value in changes.items() if value is not None}
        return replace(self, **kept)

    def threshold(self, kind: str) -> float:
        """The zone kind's threshold (%); the default threshold for kinds not configured (and the
        settings' default one when the configuration leaves "default" out)."""
        default = self.thresholds.get("default", plan_default("thresholds")["default"])
        return float(self.thresholds.get(kind, default))
