"""Numbers from the text registers hold: decimal points, Dutch decimal commas, thousands separators."""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd

__all__ = ["parse_decimal"]


def parse_decimal(values: pd.Series) -> np.ndarray:
    """Numbers from text with a decimal point or a Dutch decimal comma; NaN where not a number.

    ``"104123,45"`` and ``"104.123,45"`` -> 104123.45; ``"104,123.45"`` -> 104123.45;
    ``"52.1"`` -> 52.1; blanks -> NaN. Numeric input is passed through.
    """
    if pd.api.types.is_numeric_dtype(values.dtype):
        return np.asarray(values, dtype="float64")
    raw = values.to_numpy(dtype=object)
    # Fast path: plain numbers parse in C; only what fails goes through the comma rules.
    numbers = np.array(pd.to_numeric(pd.Series(raw), errors="coerce"), dtype="float64")
    failed = np.flatnonzero(np.isnan(numbers))
    if failed.size:
        # Second fast path, the common Dutch case "104123,45": swap the comma, parse in C again.
        swapped = np.char.replace(raw[failed].astype(str), ",", ".")
        numbers[failed] = np.asarray(pd.to_numeric(pd.Series(swapped), errors="coerce"), dtype="float64")
        failed = failed[np.isnan(numbers[failed])]
    if failed.size:
        codes, uniques = pd.factorize(raw[failed], use_na_sentinel=True)
        parsed = np.array([_parse_number(u) for u in uniques] + [math.nan], dtype="float64")
        numbers[failed] = parsed[np.where(codes < 0, len(uniques), codes)]
    return numbers


_SEPARATOR_NOISE = re.compile(r"[\s\u00a0']")


def _parse_number(value: object) -> float:
    """One number with a decimal comma or point and optional thousands separators; NaN if none."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return math.nan
    text = _SEPARATOR_NOISE.sub("", str(value))
    commas, dots = text.count(","), text.count(".")
    if commas and dots:
        if text.rfind(",") > text.rfind("."):
            text = text.replace(".", "").replace(",", ".")  # 104.123,45
        else:
            text = text.replace(",", "")  # 104,123.45
    elif commas == 1:
        text = text.replace(",", ".")  # 104123,45
    elif commas > 1:
        text = text.replace(",", "")  # 1,234,567
    elif dots > 1:
        text = text.replace(".", "")  # 1.234.567
    try:
        return float(text)
    except ValueError:
        return math.nan
