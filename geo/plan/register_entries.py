"""The entries of the algorithm register, one function per algorithm: what it is for, the data
it uses, how it works, and its rules with the values in force -- read from the configuration
objects and the code's constants, never written into the text."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from geo import fill
from geo.plan.config import PlanConfig
from geo.plan.projection import LEAF_FALL_MONTHS
from geo.plan.reasons import month_name
from geo.plan.register_model import (
    AlertConfig,
    Algorithm,
    LastChange,
    Rule,
    fill_constant_source,
    setting_source,
)
from geo.registers import ZONE_KINDS
from geo.spatial import LEAF_WEIGHTS
from pakhuis.quantities import QUANTITIES, parse_quantity

__all__ = [
    "alerts_entry",
    "cleaning_method_entry",
    "environment_model_entry",
    "fill_rates_entry",
    "schedule_entry",
    "staleness_entry",
]

_PLANNER_REVIEWS = (
    "Advice only: nothing is cleaned automatically. The public-works planner reviews the due "
    "drains with each drain's reason, decides which work is done, and can change every "
    "threshold and interval; the crews record what they cleaned as work orders, which reset "
    "the drain's fill and correct the next plan."
)


def _schedule_rules(plan: PlanConfig) -> list[Rule]:
    """Thresholds per zone kind (every kind, the default for those not configured), rate
    multipliers, intervals and the sump, as `plan` holds them."""
    thresholds = setting_source("plan_thresholds")
    rules = [
        Rule("threshold.default", "due at fill (outside zones)", plan.threshold("default"), "%", thresholds)
    ]
    rules += [
        Rule(
            f"threshold.{kind}",
            f"due at fill ({kind.replace('_', ' ')} zone)",
            plan.threshold(kind),
            "%",
            thresholds,
        )
        for kind in ZONE_KINDS
    ]
    multipliers = setting_source("plan_rate_multipliers")
    rules += [
        Rule(
            f"rate_multiplier.{kind}",
            f"fill-rate multiplier ({kind.replace('_', ' ')} zone)",
            float(factor),
            "×",
            multipliers,
        )
        for kind, factor in sorted(plan.rate_multipliers.items())
    ]
    rules += [
        Rule(
            "min_interval",
            "minimum interval between cleanings",
            plan.min_interval_days,
            "days",
            setting_source("plan_min_interval_days"),
        ),
        Rule(
            "max_interval",
            "maximum interval between cleanings",
            plan.max_interval_days,
            "days",
            setting_source("plan_max_interval_days"),
        ),
        Rule(
            "assumed_days_since_cleaning",
            "a drain without any cleaning on record was emptied in the yearly round this long ago",
            plan.assumed_days_since_cleaning,
            "days",
            setting_source("plan_assumed_days_since_cleaning"),
        ),
        Rule(
            "sump",
            "sump (zandvang) volume of a full drain",
            plan.sump_m3,
            "m³",
            setting_source("plan_sump_m3"),
        ),
    ]
    return rules


def schedule_entry(plan: PlanConfig, changed: LastChange, contact: str) -> Algorithm:
    rules = _schedule_rules(plan)
    return Algorithm(
        id="drain_schedule",
        name="Drain-cleaning schedule (kolkenreiniging)",
        purpose=(
            "Clean street drains before they fill up and block, instead of every drain on a fixed "
            "yearly round: drains that fill fast are cleaned more often, slow ones less."
        ),
        data_used=(
            "drain register (positions, attributes)",
            "tree register (species and their leaf class)",
            "zones (shopping streets, bus stops, main roads, schools, building sites)",
            "recorded cleanings (work orders)",
            "each drain's fill rate (fill-rate fitting and environment model)",
        ),
        how_it_works=(
            "Each drain's fill is projected day by day from its last known fill with its rate, "
            "the month's seasonal factor and its zone's rate multiplier. A drain is due on the "
            "first day it reaches its threshold (the strictest of the zones it lies in), or when "
            "its maximum interval since the last cleaning runs out; never before its minimum "
            "interval has passed."
        ),
        rules=tuple(rules),
        human_oversight=_PLANNER_REVIEWS,
        objection=contact,
        last_change=changed,
    )


def fill_rates_entry(changed: LastChange, contact: str) -> Algorithm:
    constants = (
        ("MIN_DROP", "a fall of at least this much counts as a cleaning", fill.MIN_DROP, "percentage points"),
        (
            "DROP_WINDOW_HOURS",
            "falls within this time of the main step are one cleaning",
            fill.DROP_WINDOW_HOURS,
            "h",
        ),
        (
            "REBOUND_HOURS",
            "a fall that climbs back within this time is outliers, not a cleaning",
            fill.REBOUND_HOURS,
            "h",
        ),
        (
            "WORK_ORDER_TOLERANCE_DAYS",
            "a work order this close to a detected fall is that cleaning",
            fill.WORK_ORDER_TOLERANCE_DAYS,
            "days",
        ),
        (
            "WORK_ORDER_MIN_DROP",
            "smallest fall a work order is pinned to",
            fill.WORK_ORDER_MIN_DROP,
            "percentage points",
        ),
        (
            "MIN_READINGS",
            "readings a segment needs before its slope is trusted",
            fill.MIN_READINGS,
            "readings",
        ),
        ("MIN_SPAN_DAYS", "span a segment needs before its slope is trusted", fill.MIN_SPAN_DAYS, "days"),
        ("SATURATION", "readings at or above this are a full sump (no longer rising)", fill.SATURATION, "%"),
        (
            "MIN_RELATIVE_DIFFUSION",
            "floor of a segment's storm variance, relative to rate²",
            fill.MIN_RELATIVE_DIFFUSION,
            "1/day",
        ),
    )
    return Algorithm(
        id="fill_rate_fitting",
        name="Fill rate of drains with a sensor",
        purpose=(
            "Measure how fast each drain with a fill sensor fills, robustly against storms, "
            "spikes and dropouts."
        ),
        data_used=("fill-level readings of drain sensors", "recorded cleanings (work orders)"),
        how_it_works=(
            "The readings are cut into segments at cleanings (sharp falls in the smoothed series, "
            "merged with the recorded work orders). Per segment a Theil–Sen slope (the median of "
            "the pairwise slopes) against seasonal time gives the rate, with a standard error "
            "that also counts the storms' random walk; monthly seasonal factors are fitted from "
            "many drains, separately for drains near trees and in the open."
        ),
        rules=tuple(
            Rule(name.lower(), text, value, unit, fill_constant_source(name))
            for name, text, value, unit in constants
        ),
        human_oversight=(
            "Refits run when an operator or planner starts them (`pakhuis plan refit`), which "
            "prints how many sensors were fitted and why others were not; every drain's reason in "
            "the schedule names its rate, the readings behind it and its last cleaning."
        ),
        objection=contact,
        last_change=changed,
    )


def environment_model_entry(model: Mapping[str, Any] | None, changed: LastChange, contact: str) -> Algorithm:
    rules = (
        Rule(
            "min_train_rows",
            "fewer measured drains cannot be cross-validated",
            fill.MIN_TRAIN_ROWS,
            "drains",
            fill_constant_source("MIN_TRAIN_ROWS"),
        ),
        Rule(
            "min_boosting_rows",
            "from this many measured drains gradient boosting, below a Poisson GLM",
            fill.MIN_BOOSTING_ROWS,
            "drains",
            fill_constant_source("MIN_BOOSTING_ROWS"),
        ),
        Rule(
            "rate_offset",
            "the model fits log(rate + offset)",
            fill.RATE_OFFSET,
            "%/day",
            fill_constant_source("RATE_OFFSET"),
        ),
    )
    description: Mapping[str, Any] = (model or {}).get("description") or {}
    if model is None:
        current: dict[str, Any] = {"status": "not fitted yet"}
    else:
        current = {
            "status": "fitted",
            "version": model.get("version"),
            "kind": description.get("kind"),
            "training_drains": description.get("n_train"),
            "folds": description.get("folds"),
            "cv_mae": description.get("cv_mae"),
            "baseline_cv_mae": description.get("baseline_cv_mae"),
            "cv_r2": description.get("cv_r2"),
            "error_unit": description.get("rate_unit", "%/day"),
            "features": list(description.get("features", [])),
        }
    return Algorithm(
        id="environment_model",
        name="Fill rate of drains without a sensor (environment model)",
        purpose=(
            "Give every drain without a sensor a fill rate, predicted from its surroundings, so "
            "the schedule covers the whole city and not only where sensors happen to be."
        ),
        data_used=(
            "measured rates of the drains with a sensor (fill-rate fitting)",
            "trees near each drain and their leaf load",
            "zones, road category, the district's recorded sludge",
        ),
        how_it_works=(
            "A regression learns how the measured rates depend on the environment and predicts a "
            "rate with an uncertainty for every drain; its error is cross-validated (k-fold, out "
            "of sample) and shown next to the same validation of a constant (median) prediction, "
            "so the model must earn its keep. A drain with a sensor keeps its measured rate, "
            "shrunk towards the model when its series is short."
        ),
        rules=rules,
        human_oversight=(
            "The planner sees for every drain whether its rate comes from its own sensor or from "
            "the model (with the model's version and spread), and can place a sensor where the "
            "model is unsure; the refit report prints the cross-validated error against the "
            "baseline."
        ),
        objection=contact,
        last_change=changed,
        current=current,
    )


def cleaning_method_entry(changed: LastChange, contact: str) -> Algorithm:
    rules = [
        Rule(
            "leaf_fall_months",
            "leaf-fall months",
            [month_name(date(2000, m, 1)) for m in LEAF_FALL_MONTHS],
            "",
            "code: geo.plan.LEAF_FALL_MONTHS",
        )
    ]
    rules += [
        Rule(
            f"leaf_weight.{leaf}",
            f"leaf-load weight of a {leaf}-leaf tree",
            weight,
            "",
            "code: geo.spatial.LEAF_WEIGHTS",
        )
        for leaf, weight in LEAF_WEIGHTS.items()
    ]
    return Algorithm(
        id="cleaning_method",
        name="Cleaning method: suction, sweep or both",
        purpose=(
            "Send the right vehicle: a street sweeper for leaf litter on the grate, the suction "
            "truck for sludge."
        ),
        data_used=("tree register (species and their leaf class)", "the drain's projected fill (schedule)"),
        how_it_works=(
            "Where large-leaf trees dominate a drain's leaf load and it falls due in a leaf-fall "
            "month, the litter lies on the street and the grate: 'sweep'. If the drain would be "
            "due even without the leaf-fall litter, it needs the suction truck as well: 'both'. "
            "Everything else: 'suction'."
        ),
        rules=tuple(rules),
        human_oversight=_PLANNER_REVIEWS,
        objection=contact,
        last_change=changed,
    )


def _unit(quantity: str) -> str:
    parsed = parse_quantity(quantity)
    return QUANTITIES[parsed].unit if parsed is not None else ""


def _threshold_rules(prefix: str, text: str, thresholds: Mapping[str, float], setting: str) -> list[Rule]:
    return [
        Rule(f"{prefix}.{q}", f"{text} ({q.replace('_', ' ')})", float(v), _unit(q), setting_source(setting))
        for q, v in sorted(thresholds.items())
    ]


def alerts_entry(alerts: AlertConfig, changed: LastChange, contact: str) -> Algorithm:
    rules = _threshold_rules("above", "alert when a reading reaches", alerts.above, "alert_above")
    rules += _threshold_rules(
        "hourly_mean_above",
        "alert when an hourly mean exceeds",
        alerts.hourly_mean_above,
        "alert_hourly_mean_above",
    )
    return Algorithm(
        id="alerts",
        name="Alerts on readings",
        purpose="Tell operations staff at once when a drain is nearly full or air quality exceeds a limit.",
        data_used=("sensor readings as they arrive", "hourly means of the readings"),
        how_it_works=(
            "A reading at or above its quantity's threshold opens one alert per sensor and "
            "quantity; it closes when a reading falls below again. Hourly means above their "
            "threshold open an alert for that hour."
        ),
        rules=tuple(rules),
        human_oversight=(
            "Alerts inform operators, who decide what to do and acknowledge them; no action "
            "follows automatically."
        ),
        objection=contact,
        last_change=changed,
    )


def staleness_entry(alerts: AlertConfig, changed: LastChange, contact: str) -> Algorithm:
    rules = (
        Rule(
            "stale_factor",
            "a sensor silent longer than its expected interval times this is stale",
            alerts.stale_factor,
            "×",
            setting_source("stale_factor"),
        ),
        Rule(
            "stale_check",
            "how often sensors are checked",
            alerts.stale_check_s,
            "s",
            setting_source("stale_check_s"),
        ),
    )
    return Algorithm(
        id="staleness",
        name="Silent sensors (staleness)",
        purpose="Notice sensors that stopped reporting, so gaps in the data are seen and repaired.",
        data_used=("each sensor's last reading time and its learned reporting interval",),
        how_it_works=(
            "Each sensor's interval is learned from its readings (a moving average); a sensor "
            "silent for longer than that interval times the factor is marked stale and raises an "
            "alert, which closes when it reports again."
        ),
        rules=rules,
        human_oversight="Operators see stale sensors in the alerts and decide on repair or removal.",
        objection=contact,
        last_change=changed,
    )
