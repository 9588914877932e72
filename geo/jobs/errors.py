"""What a plan job says when the store does not hold what it needs yet."""

from __future__ import annotations

from pakhuis.errors import PakhuisError

__all__ = ["PlanNotReady"]


class PlanNotReady(PakhuisError):
    """A register, the fill model or the drains' fill states are missing; the hint says which
    command provides them."""

    status = 409
    code = "plan_not_ready"
