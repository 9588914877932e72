"""One source for the plan's defaults: every default of `PlanConfig`, `RouteParams`,
`ScheduleParameters` and `TruckModel` is the matching `Settings` field's."""

from __future__ import annotations

from dataclasses import fields
from datetime import date
from pathlib import Path

import pytest

from geo.plan import PlanConfig, RouteInputError, RouteParams, ScheduleParameters, TruckModel
from pakhuis.settings import Settings


def setting(name: str) -> object:
    return Settings.model_fields[f"plan_{name}"].default


def test_every_plan_setting_has_a_config_field_with_its_default() -> None:
    config = PlanConfig()
    names = {f.name for f in fields(PlanConfig)}
    assert names == {k.removeprefix("plan_") for k in Settings.model_fields if k.startswith("plan_")}
    for name in names:
        assert getattr(config, name) == setting(name), name


def test_routes_schedule_and_truck_defaults_are_the_settings() -> None:
    params = RouteParams()
    assert params.capacity_m3 == setting("tank_m3") == 6.0  # the routes used to assume 8 m³
    assert params.trucks == setting("trucks")
    assert params.shift_s == setting("shift_h") * 3600.0  # type: ignore[operator]
    assert (params.service_s, params.dump_service_s) == (setting("service_s"), setting("dump_service_s"))
    assert (params.detour, params.speed_kmh, params.time_limit_s) == (
        setting("detour"),
        setting("speed_kmh"),
        setting("time_limit_s"),
    )
    schedule = ScheduleParameters(date(2026, 1, 1))
    for name in ("min_interval_days", "max_interval_days", "sump_m3", "assumed_days_since_cleaning"):
        assert getattr(schedule, name) == setting(name), name
    truck = TruckModel()
    for name in ("service_s", "speed_kmh", "detour", "tank_m3", "dump_service_s"):
        assert getattr(truck, name) == setting(name), name


def test_config_from_settings_and_overridden() -> None:
    settings = Settings.model_validate(
        {"plan_tank_m3": 7.5, "plan_thresholds": {"shopping": 30.0}, "plan_depot": "4.6,52.5"}
    )
    config = PlanConfig.from_settings(settings)
    assert config.tank_m3 == 7.5 and config.depot == "4.6,52.5"
    # a configuration without "default" falls back to the settings' default threshold
    assert config.threshold("shopping") == 30.0 and config.threshold("school") == 60.0
    changed = config.overridden(tank_m3=None, trucks=5, roads_file=Path("roads.geojson"))
    assert (changed.tank_m3, changed.trucks, changed.roads_file) == (7.5, 5, Path("roads.geojson"))
    params = RouteParams.from_config(changed, time_limit_s=2.0)
    assert (params.trucks, params.capacity_m3, params.time_limit_s) == (5, 7.5, 2.0)
    assert params.shift_s == changed.shift_h * 3600.0


def test_route_params_are_validated() -> None:
    with pytest.raises(RouteInputError, match="trucks must be a whole number"):
        RouteParams(trucks=True)
    with pytest.raises(RouteInputError, match="max_snap_m must not be negative"):
        RouteParams(max_snap_m=-1.0)
