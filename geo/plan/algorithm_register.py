"""The public algorithm register (issue 14 part 5): every algorithm pakhuis uses, described with
the fields of the Dutch Algoritmeregister and the rules and thresholds *as configured now*.

Pure: built from the configuration objects the processes run with (`PlanConfig`, the alert
settings, the stored fill model's description) and the code's own constants, never from text
that repeats a number -- so changing a setting changes the register. Every rule names where
its value comes from: a `PAKHUIS_` setting, or a constant in the code.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from geo.plan.config import PlanConfig
from geo.plan.register_entries import (
    alerts_entry,
    cleaning_method_entry,
    environment_model_entry,
    fill_rates_entry,
    schedule_entry,
    staleness_entry,
)
from geo.plan.register_model import REGISTER_FIELDS, AlertConfig, AlgorithmRegister, LastChange

__all__ = [
    "DEFAULT_CONTACT",
    "REGISTER_FIELDS",
    "AlertConfig",
    "AlgorithmRegister",
    "build_algorithm_register",
]

# Who to turn to when no contact is configured: the organisation that runs this warehouse.
DEFAULT_CONTACT = (
    "Questions or objections: contact the municipality that runs this data warehouse; a decision "
    "taken with this algorithm's help can be objected to through the municipality's usual "
    "objection procedure (bezwaar, Algemene wet bestuursrecht)."
)


def build_algorithm_register(
    plan: PlanConfig,
    alerts: AlertConfig,
    fill_model: Mapping[str, Any] | None,
    *,
    configured_at: datetime,
    software_version: str,
    contact: str = DEFAULT_CONTACT,
) -> AlgorithmRegister:
    """The register from the configuration in force: `plan` and `alerts` as the processes run
    with them (read at `configured_at`), `fill_model` the store's current fill model (version,
    created, description) or None before the first refit."""
    configured = LastChange(configured_at, f"configuration as the API read it (pakhuis {software_version})")
    fitted = (
        LastChange(fill_model.get("created"), f"refit: fill model {fill_model.get('version')}")
        if fill_model is not None
        else LastChange(None, "not fitted yet")
    )
    algorithms = (
        schedule_entry(plan, configured, contact),
        fill_rates_entry(fitted, contact),
        environment_model_entry(fill_model, fitted, contact),
        cleaning_method_entry(configured, contact),
        alerts_entry(alerts, configured, contact),
        staleness_entry(alerts, configured, contact),
    )
    return AlgorithmRegister(software_version, configured_at, algorithms)
