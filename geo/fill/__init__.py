"""Fill rates of street drains: measured from sensors, seasonal, and predicted from surroundings.

- `measured`: a drain's robust rate (%/day of seasonal time) from its sensor series
  (`fit_fill_rate`), and the fill it is expected to reach (`fill_at`, `time_to_reach`); built
  on `series` (prepared, smoothed series), `cleanings` (drops and work orders) and
  `segments` (Theil--Sen slopes between cleanings);
- `seasonal`: twelve monthly factors that turn calendar time into seasonal time, and their
  estimate from many drains;
- `predicted`: the environment model that predicts every drain's rate and its uncertainty
  (`encoding` turns a feature frame into its matrix); `shrink` combines it with a measurement;
- `features`: the environment feature frame the model learns from;
- `times`: UTC ``datetime64[s]`` conversion shared by all.

The numpy-only modules are imported eagerly; `predicted` (scikit-learn) and `features`
(geopandas) on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from geo._lazy import lazy_attributes
from geo.fill.cleanings import (
    DROP_WINDOW_HOURS,
    MIN_DROP,
    REBOUND_HOURS,
    WORK_ORDER_MIN_DROP,
    WORK_ORDER_TOLERANCE_DAYS,
    Cleaning,
    detect_cleanings,
)
from geo.fill.measured import FillRateFit, fill_at, fit_fill_rate, time_to_reach
from geo.fill.seasonal import SeasonalFactors, fit_seasonal_factors
from geo.fill.segments import MIN_READINGS, MIN_RELATIVE_DIFFUSION, MIN_SPAN_DAYS, SATURATION, Segment
from geo.fill.times import as_times

if TYPE_CHECKING:
    from geo.fill.encoding import NEAREST_TREE_CAP_M
    from geo.fill.features import DISTRICT_CELL_M, GROUPS, drain_environment
    from geo.fill.predicted import (
        FEATURES,
        MIN_BOOSTING_ROWS,
        MIN_TRAIN_ROWS,
        RATE_OFFSET,
        FillModel,
        fit_fill_model,
        shrink,
    )

# name -> module, imported on first attribute access (scikit-learn, geopandas)
_LAZY = {
    "NEAREST_TREE_CAP_M": "geo.fill.encoding",
    "DISTRICT_CELL_M": "geo.fill.features",
    "GROUPS": "geo.fill.features",
    "drain_environment": "geo.fill.features",
    "FEATURES": "geo.fill.predicted",
    "MIN_BOOSTING_ROWS": "geo.fill.predicted",
    "MIN_TRAIN_ROWS": "geo.fill.predicted",
    "RATE_OFFSET": "geo.fill.predicted",
    "FillModel": "geo.fill.predicted",
    "fit_fill_model": "geo.fill.predicted",
    "shrink": "geo.fill.predicted",
}

__all__ = [
    "DISTRICT_CELL_M",
    "DROP_WINDOW_HOURS",
    "FEATURES",
    "GROUPS",
    "MIN_BOOSTING_ROWS",
    "MIN_DROP",
    "MIN_READINGS",
    "MIN_RELATIVE_DIFFUSION",
    "MIN_SPAN_DAYS",
    "MIN_TRAIN_ROWS",
    "NEAREST_TREE_CAP_M",
    "RATE_OFFSET",
    "REBOUND_HOURS",
    "SATURATION",
    "WORK_ORDER_MIN_DROP",
    "WORK_ORDER_TOLERANCE_DAYS",
    "Cleaning",
    "FillModel",
    "FillRateFit",
    "SeasonalFactors",
    "Segment",
    "as_times",
    "detect_cleanings",
    "drain_environment",
    "fill_at",
    "fit_fill_model",
    "fit_fill_rate",
    "fit_seasonal_factors",
    "shrink",
    "time_to_reach",
]


__getattr__ = lazy_attributes(__name__, _LAZY, globals())
