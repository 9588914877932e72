"""Recording cleanings (work orders) for `pakhuis load cleanings` and POST /api/v1/cleanings:
all of them or, when one names a drain the register does not hold, none."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from geo.registers import WorkOrder, WorkOrderError, read_work_orders
from pakhuis.store import Store

__all__ = ["CleaningsReport", "load_cleanings", "record_cleanings"]


@dataclass(frozen=True)
class CleaningsReport:
    recorded: int
    already_known: int

    def as_dict(self) -> dict[str, int]:
        return {"recorded": self.recorded, "already_known": self.already_known}

    def __str__(self) -> str:
        return (
            f"cleanings: {self.recorded:,} recorded, {self.already_known:,} already known; "
            "the drains' fill restarts from 0 % (run `pakhuis plan refit` to update the model)"
        )


def record_cleanings(store: Store, orders: Sequence[WorkOrder], *, source: str) -> CleaningsReport:
    """Store `orders` (from `source`: a file name, "api"); a cleaning already on record is
    not recorded twice. Raises `WorkOrderError`, recording nothing, for unknown drains."""
    unknown = store.unknown_drain_keys([o.drain for o in orders])
    if unknown:
        raise WorkOrderError(
            f"{len(unknown)} drain(s) not in the register: {', '.join(unknown[:10])}",
            hint="nothing was recorded; use the drain's id from the register (`pakhuis load drains`)",
        )
    added = store.add_cleanings([o.row() for o in orders], source=source)
    return CleaningsReport(recorded=added, already_known=len(orders) - added)


def load_cleanings(store: Store, path: Path) -> CleaningsReport:
    """Record the cleanings of a CSV file: drain, time, method, sludge_m3."""
    return record_cleanings(store, read_work_orders(path), source=str(path))
