"""The plan's zone rules per drain: the threshold at which it is due (the strictest of its zones)
and the fill-rate multiplier (the largest), and where that multiplier still applies."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from geo.plan.config import PlanConfig
from geo.registers import ZONE_KINDS

__all__ = ["effective_multiplier", "zone_rules"]


def zone_rules(zones: pd.DataFrame, config: PlanConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(threshold, multiplier, zone kind or '') per drain from its `zone_<kind>` columns:
    the strictest threshold of the drain's zones (default outside), the largest multiplier."""
    n = len(zones)
    threshold = np.full(n, config.threshold("default"))
    multiplier = np.ones(n)
    label = np.full(n, "", dtype=object)
    for kind in ZONE_KINDS:
        inside = zones[f"zone_{kind}"].to_numpy()
        value = config.threshold(kind)
        stricter = inside & (value < threshold)
        threshold[stricter] = value
        label[stricter] = kind
        multiplier[inside] = np.maximum(multiplier[inside], float(config.rate_multipliers.get(kind, 1.0)))
    return threshold, multiplier, label


def effective_multiplier(
    env: pd.DataFrame, states: pd.DataFrame, model: Mapping[str, Any], config: PlanConfig
) -> np.ndarray:
    """The zone rate multiplier where the rate does not already reflect the zone: not for
    drains whose rate is their own sensor's, nor for zone kinds the model was trained on."""
    trained = model["description"].get("zones_in_training", {})
    out = np.ones(len(env))
    for kind in ZONE_KINDS:
        factor = float(config.rate_multipliers.get(kind, 1.0))
        if factor == 1.0 or trained.get(kind, 0) > 0:
            continue
        inside = env[f"zone_{kind}"].to_numpy(dtype=bool)
        out[inside] = np.maximum(out[inside], factor)
    out[states["rate_source"].to_numpy() == "sensor"] = 1.0
    return out
