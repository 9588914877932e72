"""Validation rules every decoder applies after converting to canonical units."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from pakhuis.quantities import QUANTITIES, Quantity
from pakhuis.reading import Rejection


def _fmt(value: float) -> str:
    return f"{value:g}"


def check_value(quantity: Quantity, value: float, item: int | None = None) -> Rejection | None:
    spec = QUANTITIES[quantity]
    if not math.isfinite(value):
        return Rejection("non_finite", f"{quantity.value} value {value} is not a finite number", item)
    if not spec.plausible(value):
        return Rejection(
            "out_of_range",
            f"{quantity.value} value {_fmt(value)} {spec.unit} is outside the plausible range "
            f"{_fmt(spec.minimum)}..{_fmt(spec.maximum)} {spec.unit}",
            item,
        )
    if spec.integral and value != math.floor(value):
        return Rejection("out_of_range", f"{quantity.value} value {_fmt(value)} must be a whole number", item)
    return None


def check_time(
    time: datetime, received: datetime, max_future_s: float, item: int | None = None
) -> Rejection | None:
    if time - received > timedelta(seconds=max_future_s):
        ahead = (time - received).total_seconds()
        return Rejection(
            "future_time",
            f"time {time.isoformat()} lies {ahead:.0f} s in the future (more than "
            f"{max_future_s:.0f} s allowed; check the sensor's clock and time zone)",
            item,
        )
    return None
