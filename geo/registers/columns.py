"""Finding a register's columns by their usual names, and reading their cells as text."""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Sequence

import numpy as np
import pandas as pd

from geo.registers.errors import RegisterError

__all__ = ["cell_text", "column_texts", "detect_column", "find_column", "norm_column"]

_NULL_TEXT = frozenset({"", "nan", "none", "null", "<null>", "n/a", "na", "-", "?"})


def norm_column(name: object) -> str:
    """A column name as the candidate lists spell it: lower case, letters and digits only."""
    return re.sub(r"[^a-z0-9]", "", str(name).lower())


def find_column(columns: Sequence[str], wanted: str, role: str) -> str:
    """The column named ``wanted`` (exact, else case- and punctuation-insensitive)."""
    if wanted in columns:
        return wanted
    matches = [c for c in columns if norm_column(c) == norm_column(wanted)]
    if len(matches) == 1:
        return matches[0]
    raise RegisterError(
        f"the {role} column {wanted!r} is not in the file",
        hint=f"columns are: {', '.join(map(str, columns))}",
    )


def detect_column(
    columns: Sequence[str], candidates: Sequence[str], exclude: Collection[str] = ()
) -> str | None:
    """The first of `candidates` (normalised names) that names a column, not counting `exclude`."""
    by_norm: dict[str, str] = {}
    for c in columns:
        if c not in exclude:
            by_norm.setdefault(norm_column(c), c)
    for cand in candidates:
        if cand in by_norm:
            return by_norm[cand]
    return None


def cell_text(value: object) -> str | None:
    """A cell as trimmed text; None for blanks and null markers ("", "NULL", "n/a", NaN ...)."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    return None if text.lower() in _NULL_TEXT else text


def column_texts(values: pd.Series) -> np.ndarray:
    """Trimmed text per value, None for blanks and null markers (object array; once per distinct value)."""
    codes, uniques = pd.factorize(values.to_numpy(dtype=object), use_na_sentinel=True)
    mapped = np.empty(len(uniques) + 1, dtype=object)
    mapped[:-1] = [cell_text(u) for u in uniques]
    mapped[-1] = None
    out: np.ndarray = mapped[np.where(codes < 0, len(uniques), codes)]
    return out
