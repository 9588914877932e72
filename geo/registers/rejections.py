"""The rows of a register load that are rejected, each with a code, a reason and a detail.

Every stage of a load (coordinates, CRS checks, transformation, outliers) marks rows here;
a row keeps the first rejection it gets, so the earlier, more basic reason is the one shown.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd

__all__ = ["Rejections", "format_value"]


def format_value(value: object) -> str:
    """A coordinate or cell as a rejection detail shows it."""
    if isinstance(value, float | np.floating):
        return f"{float(value):.10g}"
    return repr(value) if isinstance(value, str) else str(value)


class Rejections:
    """Per row of the (filtered) table: rejected or not, and why."""

    def __init__(self, n: int) -> None:
        self.codes = np.full(n, None, dtype=object)
        self.reasons = np.full(n, None, dtype=object)
        self.details = np.full(n, None, dtype=object)

    def pending(self) -> np.ndarray:
        """Boolean mask of the rows not rejected (so far)."""
        return np.asarray(pd.isna(self.codes))

    def reject(
        self,
        mask: np.ndarray,
        code: str,
        reason: str,
        detail: str = "",
        a: np.ndarray | None = None,
        b: np.ndarray | None = None,
    ) -> None:
        """Mark rows not yet rejected: one ``reason`` per kind, a ``detail`` per row ({a}, {b})."""
        mask = mask & self.pending()
        if not mask.any():
            return
        self.codes[mask] = code
        self.reasons[mask] = reason
        if a is None or b is None:
            self.details[mask] = detail
        else:
            self.details[mask] = [
                detail.format(a=format_value(p), b=format_value(q))
                for p, q in zip(a[mask], b[mask], strict=True)
            ]

    def describe(self, mask: np.ndarray, details: list[str]) -> None:
        """Replace the details of the rows in `mask` (rows just rejected) by one text each."""
        self.details[mask] = details

    def by_reason(self) -> dict[str, int]:
        return dict(Counter(self.codes[~self.pending()].tolist()))

    def frame(
        self, rows: np.ndarray, ids: np.ndarray, raw_x: np.ndarray, raw_y: np.ndarray, table: pd.DataFrame
    ) -> pd.DataFrame:
        """The rejected rows: file row, id, code, reason, detail, x/y as read, then the row's columns."""
        bad = ~self.pending()
        rejected = pd.DataFrame(
            {
                "row": rows[bad],
                "id": ids[bad],
                "code": self.codes[bad],
                "reason": self.reasons[bad],
                "detail": self.details[bad],
                "x": raw_x[bad],
                "y": raw_y[bad],
            }
        )
        if bad.any():
            extra = table.loc[bad].reset_index(drop=True)
            extra = extra[[c for c in extra.columns if c not in rejected.columns]]
            rejected = pd.concat([rejected, extra], axis=1)
        return rejected
