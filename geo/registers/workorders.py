"""Work orders: recorded cleanings (drain, time, method, sludge volume), from a CSV file or the API.

Each row is checked on its own; a file with bad rows is refused as a whole with every bad row
named, so a planner fixes the file once instead of finding half of it loaded.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pakhuis.errors import InvalidParameter

__all__ = ["METHODS", "WorkOrder", "WorkOrderError", "parse_work_orders", "read_work_orders"]

METHODS = ("suction", "sweep", "both")
_ALIASES = {
    "drain": ("drain", "drain_id", "kolk", "kolk_id", "asset", "asset_id", "id"),
    "time": ("time", "date", "datetime", "cleaned", "cleaned_at", "datum", "tijd"),
    "method": ("method", "methode", "type"),
    "sludge_m3": ("sludge_m3", "sludge", "volume_m3", "volume", "slib_m3"),
}
_METHOD_ALIASES = {"zuigen": "suction", "vegen": "sweep", "beide": "both", "suction truck": "suction"}
_MAX_SLUDGE_M3 = 5.0  # one drain's sump holds well under this; more is a unit mistake (litres?)


class WorkOrderError(InvalidParameter):
    code = "invalid_work_order"


@dataclass(frozen=True)
class WorkOrder:
    drain: str
    time: datetime
    method: str
    sludge_m3: float | None

    def row(self) -> tuple[str, datetime, str, float | None]:
        return (self.drain, self.time, self.method, self.sludge_m3)


def _time(value: str) -> datetime:
    text = value.strip()
    if not text:
        raise ValueError("no time")
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if parsed.tzinfo is None:  # a date or a local time without zone: taken as UTC
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _one(item: Mapping[str, Any], number: int, now: datetime) -> tuple[WorkOrder | None, list[str]]:
    errors = []
    lower = {str(k).strip().lower(): v for k, v in item.items()}

    def get(field: str) -> Any:
        return next((lower[a] for a in _ALIASES[field] if a in lower and lower[a] not in (None, "")), None)

    drain = get("drain")
    if drain is None or str(drain).strip() == "":
        errors.append(f"row {number}: no drain")
    time: datetime | None = None
    raw_time = get("time")
    try:
        time = _time(str(raw_time)) if raw_time is not None else None
        if time is None:
            errors.append(f"row {number}: no time")
        elif time > now:
            errors.append(f"row {number}: time {raw_time} is in the future")
    except ValueError:
        errors.append(f"row {number}: time {raw_time!r} is not an ISO 8601 date or time")
    method = str(get("method") or "suction").strip().lower()
    method = _METHOD_ALIASES.get(method, method)
    if method not in METHODS:
        errors.append(f"row {number}: method {method!r} is not one of {', '.join(METHODS)}")
    sludge: float | None = None
    raw_sludge = get("sludge_m3")
    if raw_sludge is not None:
        try:
            sludge = float(str(raw_sludge).replace(",", "."))
            if not math.isfinite(sludge) or sludge < 0 or sludge > _MAX_SLUDGE_M3:
                errors.append(f"row {number}: sludge volume {raw_sludge} m³ is outside 0..{_MAX_SLUDGE_M3:g}")
        except ValueError:
            errors.append(f"row {number}: sludge volume {raw_sludge!r} is not a number")
    if errors or drain is None or time is None:
        return None, errors
    return WorkOrder(str(drain).strip(), time, method, sludge), []


def parse_work_orders(items: Iterable[Mapping[str, Any]], *, now: datetime | None = None) -> list[WorkOrder]:
    """Validate every item; raise `WorkOrderError` naming every bad one (nothing half-loaded)."""
    moment = now or datetime.now(UTC)
    orders: list[WorkOrder] = []
    errors: list[str] = []
    for number, item in enumerate(items, start=1):
        order, problems = _one(item, number, moment)
        errors.extend(problems)
        if order is not None:
            orders.append(order)
    if errors:
        shown = "; ".join(errors[:20]) + (f"; and {len(errors) - 20} more" if len(errors) > 20 else "")
        raise WorkOrderError(
            f"{len(errors)} problem(s) in the work orders: {shown}",
            hint="columns: drain, time (ISO 8601), method (suction|sweep|both), sludge_m3",
        )
    return orders


def read_work_orders(path: Path) -> list[WorkOrder]:
    if not path.exists():
        raise WorkOrderError(f"no such file: {path}", hint="check the path")
    text = path.read_text(encoding="utf-8-sig")
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.DictReader(io.StringIO(text), dialect=dialect)
    return parse_work_orders(reader)
