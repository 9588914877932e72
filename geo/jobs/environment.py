"""Every drain's environment from the store: the registers, zones and recorded cleanings through
`geo.fill.features`, with the plan's zone rules (threshold, rate multiplier, zone kind)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import geopandas as gpd

from geo.fill import drain_environment
from geo.jobs.errors import PlanNotReady
from geo.jobs.frames import planning_drain_frame, tree_frame
from geo.plan import PlanConfig, zone_rules
from pakhuis.store import Store

__all__ = ["environment"]


def environment(
    store: Store, config: PlanConfig, cleanings: Sequence[Mapping[str, Any]] | None = None
) -> gpd.GeoDataFrame:
    """Every drain with what its fill rate depends on (`drain_environment`) and its zone rules
    (threshold, multiplier, zone); the district's recorded sludge from `cleanings`, read from
    the store when not given."""
    drains = planning_drain_frame(store)
    if drains.empty:
        raise PlanNotReady("The drain register is empty.", hint="Load it with `pakhuis load drains FILE`.")
    recorded = store.cleanings() if cleanings is None else cleanings
    env = drain_environment(drains, tree_frame(store), store.zones(), recorded)
    env["threshold"], env["multiplier"], env["zone"] = zone_rules(env, config)
    return env
