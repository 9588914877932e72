"""Drain features as the environment model reads them: a float matrix, categories as codes."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from geo.fill.times import FloatArray

__all__ = ["NEAREST_TREE_CAP_M", "encode_features", "feature_categories"]

#: Distance to the nearest tree is capped here (and "no tree" becomes the cap): beyond it a
#: tree makes no difference, and an unbounded distance would only add noise.
NEAREST_TREE_CAP_M = 50.0


def _is_categorical(col: pd.Series) -> bool:
    """Text-like columns (road category); an object column of booleans or numbers is numeric."""
    if pd.api.types.is_numeric_dtype(col) or pd.api.types.is_bool_dtype(col):
        return False
    try:
        pd.to_numeric(col.dropna())
    except (ValueError, TypeError):
        return True
    return False


def encode_features(
    frame: pd.DataFrame, features: Sequence[str], categories: dict[str, tuple[str, ...]]
) -> FloatArray:
    """The model's float matrix: absent columns NaN, categories as codes, distances capped."""
    out = np.full((len(frame), len(features)), np.nan)
    for j, name in enumerate(features):
        if name not in frame.columns:
            continue
        col = frame[name]
        if name in categories:
            codes = {c: float(i) for i, c in enumerate(categories[name])}
            out[:, j] = [codes.get(str(v), np.nan) if not pd.isna(v) else np.nan for v in col]
            continue
        values = pd.to_numeric(
            col.astype("float64") if pd.api.types.is_bool_dtype(col) else col, errors="coerce"
        )
        arr = values.to_numpy(dtype=np.float64, na_value=np.nan)
        if name == "nearest_tree_m":
            arr = np.where(np.isnan(arr) | (arr > NEAREST_TREE_CAP_M), NEAREST_TREE_CAP_M, arr)
        out[:, j] = np.where(np.isfinite(arr), arr, np.nan)
    return out


def feature_categories(frame: pd.DataFrame, features: Sequence[str]) -> dict[str, tuple[str, ...]]:
    """Per text-like feature column, its values in sorted order (their codes in the matrix)."""
    return {
        name: tuple(sorted({str(v) for v in frame[name] if not pd.isna(v)}))
        for name in features
        if name in frame.columns and _is_categorical(frame[name])
    }
