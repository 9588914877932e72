"""The schedule's fairness figure from the store: per district (the plan's own districts, from
`environment`), how many drains' fill rates come from their own sensor and how many from the
environment model (`geo.plan.fairness_figure`)."""

from __future__ import annotations

from geo.jobs.environment import environment
from geo.jobs.errors import PlanNotReady
from geo.plan import FairnessFigure, PlanConfig, fairness_figure
from pakhuis.store import Store

__all__ = ["district_rate_sources"]


def district_rate_sources(store: Store, config: PlanConfig) -> FairnessFigure | None:
    """None before the first refit or without drains; drains added since the last refit (no fill
    state yet) are left out."""
    states = store.fill_states()
    if not states:
        return None
    try:
        env = environment(store, config)
    except PlanNotReady:
        return None
    source_of = {int(s["drain_id"]): str(s["rate_source"]) for s in states}
    known = [
        (str(district), source_of[int(d)]) for d, district in env["district"].items() if int(d) in source_of
    ]
    return fairness_figure([district for district, _ in known], [source for _, source in known])
