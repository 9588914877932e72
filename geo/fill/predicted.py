"""Fill rate of drains without a sensor, predicted from their surroundings.

Only some drains carry a fill sensor; :mod:`geo.fill.measured` gives those a measured base rate
(%/day of seasonal time). This module learns how that rate depends on a drain's environment
-- trees nearby, leaf load, the zone it lies in, road category, the district's sludge record
-- and predicts a rate with an uncertainty for every other drain:

    model = fit_fill_model(features_of_measured, measured_rates, rate_se=measured_se)
    rate, sd = model.predict(features_of_all)
    rate, sd = shrink(measured_or_nan, measured_se, rate, sd)   # measured drains keep theirs

Choices, and why:

- **Log scale.** Rates are positive and skewed, and the effects are multiplicative (a tree
  doubles a rate whatever it was), so the work happens on ``log(rate + RATE_OFFSET)``; the
  small offset keeps a drain that did not fill at all (rate 0) from becoming an extreme
  outlier. Predicted rates are always >= 0.
- **Estimator.** scikit-learn's ``HistGradientBoostingRegressor`` on the log rate (handles
  NaN features and categorical road categories natively, small and robust with shrinkage);
  it predicts ``mu`` and the rate is the mean of the shifted log-normal,
  ``exp(mu + s^2 / 2) - RATE_OFFSET``. With fewer than `MIN_BOOSTING_ROWS` measured drains
  boosting over-fits, and a Poisson GLM (log link, L2 ``alpha`` 0.1 on median-imputed,
  standardised features) on the rates themselves takes over: a least-squares fit on log rates
  was tested too, and a single zero rate among 30 drains could flatten it completely.
- **Uncertainty.** ``s``, the spread of the k-fold out-of-fold log residuals, less the part
  the measured rates' own standard errors explain (a model cannot be asked to predict
  measurement noise; at least a quarter of the residual variance is kept). The per-drain sd
  is that of the log-normal, ``(rate + RATE_OFFSET) * sqrt(exp(s^2) - 1)``: proportional to
  the predicted rate (plus offset), as errors in log space are. Honest because it is
  out-of-sample; simple because the training sets are a few hundred drains, too few to learn
  a second model for the spread.
- **Weights.** A drain's weight is ``1 / (se_log^2 + tau^2)`` with ``tau^2`` the median
  ``se_log^2``: a precisely measured drain counts at most twice a typical one, a drain with
  a short series much less.
- **Validation.** k-fold CV (shuffled with the seed, or grouped, e.g. by district, when
  groups are given) gives MAE, RMSE and R^2 in %/day, next to the same CV of a constant
  (median) predictor, so a report can show the model earns its keep.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from sklearn.base import clone
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.impute import SimpleImputer
from sklearn.linear_model import PoissonRegressor
from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score
from sklearn.model_selection import GroupKFold, KFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from geo.fill.encoding import encode_features, feature_categories
from geo.fill.times import FloatArray

#: Default feature columns (as :func:`geo.spatial.indicators.drain_tree_indicators` and the zone
#: overlays name them). Any may be absent or NaN.
FEATURES: tuple[str, ...] = (
    "nearest_tree_m",
    "trees_within_4m",
    "trees_within_10m",
    "large_leaf_within_10m",
    "leaf_load",
    "zone_shopping",
    "zone_bus_stop",
    "zone_main_road",
    "zone_school",
    "zone_construction",
    "road_category",
    "district_sludge_m3",
)
#: The model fits log(rate + RATE_OFFSET) (%/day).
RATE_OFFSET = 0.05
#: Fewer measured drains than this cannot be cross-validated meaningfully.
MIN_TRAIN_ROWS = 10
#: From this many measured drains on, gradient boosting; below, the Poisson GLM.
MIN_BOOSTING_ROWS = 40

_HGB_PARAMS: dict[str, Any] = {
    "learning_rate": 0.05,
    "max_iter": 150,
    "max_leaf_nodes": 7,
    "l2_regularization": 1.0,
    "early_stopping": False,
}
_GLM_ALPHA = 0.1


# --------------------------------------------------------------------------- the model


@dataclass(frozen=True)
class FillModel:
    """A fitted environment model of drain fill rates (%/day of seasonal time).

    `version` is ``<hgb|glm>-<sha256 of features, data and settings, 12 hex>-<n_train>``:
    the same input gives the same version, so a schedule can say which model it used.
    `cv_*` are k-fold out-of-fold figures in %/day; `baseline_cv_mae` is the same CV of a
    constant median predictor. `sd_log` is the log-space spread behind :meth:`predict`'s sd.
    """

    version: str
    kind: str
    features: tuple[str, ...]
    n_train: int
    cv_mae: float
    cv_rmse: float
    cv_r2: float
    baseline_cv_mae: float
    sd_log: float
    log_target: bool
    folds: int
    params: dict[str, Any]
    categories: dict[str, tuple[str, ...]]
    estimator: Any = field(compare=False, repr=False)

    def predict(self, features: pd.DataFrame) -> tuple[FloatArray, FloatArray]:
        """(rate, sd) per row: the mean rate (>= 0, %/day of seasonal time) and its standard deviation.

        Columns the model was trained on but `features` lacks are taken as missing (NaN);
        a road category not seen in training is missing too.
        """
        if len(features) == 0:
            return np.zeros(0), np.zeros(0)
        x = encode_features(features, self.features, self.categories)
        with threadpool_limits(limits=1, user_api="openmp"):
            raw = np.asarray(self.estimator.predict(x), dtype=np.float64)
        s2 = self.sd_log**2
        shifted = _shifted_mean(raw, self.log_target, s2)
        return np.maximum(shifted - RATE_OFFSET, 0.0), shifted * np.sqrt(np.expm1(s2))

    def describe(self) -> dict[str, Any]:
        """JSON-able summary for reports and the API."""
        return {
            "version": self.version,
            "kind": self.kind,
            "target": (
                f"log(rate + {RATE_OFFSET}), mean back-transform"
                if self.log_target
                else "rate, Poisson GLM with log link"
            ),
            "rate_unit": "%/day of seasonal time",
            "features": list(self.features),
            "categories": {k: list(v) for k, v in self.categories.items()},
            "n_train": self.n_train,
            "folds": self.folds,
            "cv_mae": self.cv_mae,
            "cv_rmse": self.cv_rmse,
            "cv_r2": self.cv_r2,
            "baseline_cv_mae": self.baseline_cv_mae,
            "sd_log": self.sd_log,
            "params": self.params,
        }


def _shifted_mean(raw: FloatArray, log_target: bool, s2: float) -> FloatArray:
    """rate + RATE_OFFSET as the mean of the fitted distribution."""
    if log_target:
        return np.asarray(np.exp(raw + s2 / 2.0), dtype=np.float64)
    return np.maximum(raw, 0.0) + RATE_OFFSET


def _make_estimator(
    n: int, categorical: npt.NDArray[np.bool_], seed: int
) -> tuple[Any, dict[str, Any], bool]:
    """(estimator, its settings, whether it fits log rates)."""
    if n >= MIN_BOOSTING_ROWS:
        params = {**_HGB_PARAMS, "min_samples_leaf": max(5, n // 25), "random_state": seed}
        est = HistGradientBoostingRegressor(
            **params, categorical_features=categorical if categorical.any() else None
        )
        return est, params, True
    params = {"alpha": _GLM_ALPHA, "imputer": "median", "scaled": True}
    est = Pipeline(
        [
            ("impute", SimpleImputer(strategy="median", keep_empty_features=True)),
            ("scale", StandardScaler()),
            ("glm", PoissonRegressor(alpha=_GLM_ALPHA, max_iter=1000)),
        ]
    )
    return est, params, False


def _fit(est: Any, x: FloatArray, y: FloatArray, w: FloatArray) -> Any:
    if isinstance(est, Pipeline):
        return est.fit(x, y, glm__sample_weight=w)
    return est.fit(x, y, sample_weight=w)


def fit_fill_model(
    features: pd.DataFrame,
    rates: npt.ArrayLike,
    *,
    rate_se: npt.ArrayLike | None = None,
    seed: int = 0,
    folds: int = 5,
    feature_names: Sequence[str] = FEATURES,
    groups: npt.ArrayLike | None = None,
) -> FillModel:
    """Learn measured drains' rates (%/day of seasonal time) from their `features`.

    Rows whose rate is NaN (e.g. "too_few_readings" drains) are left out; negative rates
    count as 0. Of `feature_names` the columns present with at least one value are used;
    non-numeric ones (road category) become categories. `rate_se` (same order as `rates`)
    weights the drains; `groups` (e.g. district per drain) makes the CV grouped, so a
    district is never both trained and tested on. Needs at least `MIN_TRAIN_ROWS` drains.
    """
    data = _training_data(features, rates, rate_se, groups)
    n = len(data.rate)
    frame = data.frame
    used = tuple(name for name in feature_names if name in frame.columns and frame[name].notna().any())
    if not used:
        raise ValueError(f"none of the feature columns {list(feature_names)} has values")
    categories = feature_categories(frame, used)
    x = encode_features(frame, used, categories)
    categorical = np.array([name in categories for name in used])
    y = np.log(data.rate + RATE_OFFSET)
    w, noise_var = _weights(data.rate, data.se)

    est, params, log_target = _make_estimator(n, categorical, seed)
    target = y if log_target else data.rate
    splits = _folds(x, y, data.groups, folds, seed)
    # One OpenMP thread: on a few hundred rows threads cost more than they save, and on a busy
    # machine their spin-waiting once turned a 0.4 s fit into 30 s.
    with threadpool_limits(limits=1, user_api="openmp"):
        oof = np.empty(n)
        base = np.empty(n)
        for train, test in splits:
            oof[test] = _fit(clone(est), x[train], target[train], w[train]).predict(x[test])
            base[test] = np.median(data.rate[train])
        oof_log = oof if log_target else np.log(_shifted_mean(oof, False, 0.0))
        resid2 = float(np.average((y - oof_log) ** 2, weights=w))
        sd_log = float(np.sqrt(max(resid2 - noise_var, 0.25 * resid2)))
        oof_rate = np.maximum(_shifted_mean(oof, log_target, sd_log**2) - RATE_OFFSET, 0.0)
        model = _fit(est, x, target, w)
    k = len(splits)
    digest = _digest([used, categories, params, seed, k, data.groups is not None], (x, y, w), data.groups)
    kind = type(model[-1]).__name__ if isinstance(model, Pipeline) else type(model).__name__
    return FillModel(
        version=f"{'hgb' if log_target else 'glm'}-{digest}-{n}",
        kind=kind,
        features=used,
        n_train=n,
        cv_mae=float(mean_absolute_error(data.rate, oof_rate)),
        cv_rmse=float(np.sqrt(mean_squared_error(data.rate, oof_rate))),
        cv_r2=float(r2_score(data.rate, oof_rate)),
        baseline_cv_mae=float(mean_absolute_error(data.rate, base)),
        sd_log=sd_log,
        log_target=log_target,
        folds=k,
        params=json.loads(json.dumps(params, default=str)),
        categories=categories,
        estimator=model,
    )


def _digest(settings: list[Any], arrays: tuple[FloatArray, ...], groups: np.ndarray | None) -> str:
    """12 hex digits of the sha256 of a fit's settings, data and groups: its version's core."""
    digest = hashlib.sha256()
    digest.update(json.dumps(settings, default=str).encode())
    for arr in arrays:
        digest.update(np.where(np.isnan(arr), np.nan, arr).astype("<f8").tobytes())
    if groups is not None:
        digest.update(json.dumps([str(g) for g in groups]).encode())
    return digest.hexdigest()[:12]


@dataclass(frozen=True)
class _TrainingData:
    """The measured drains a model learns from: features, rates (>= 0), their se, groups."""

    frame: pd.DataFrame
    rate: FloatArray
    se: FloatArray
    groups: np.ndarray | None


def _training_data(
    features: pd.DataFrame,
    rates: npt.ArrayLike,
    rate_se: npt.ArrayLike | None,
    groups: npt.ArrayLike | None,
) -> _TrainingData:
    """The rows with a measured rate; ValueError when the inputs disagree or are too few."""
    y_rate = np.asarray(rates, dtype=np.float64).ravel()
    if len(features) != y_rate.size:
        raise ValueError(f"features has {len(features)} rows but rates {y_rate.size}")
    se = np.full(y_rate.size, np.nan) if rate_se is None else np.asarray(rate_se, dtype=np.float64).ravel()
    if se.size != y_rate.size:
        raise ValueError("rate_se must match rates in length")
    keep = np.isfinite(y_rate)
    n = int(keep.sum())
    if n < MIN_TRAIN_ROWS:
        raise ValueError(
            f"need at least {MIN_TRAIN_ROWS} drains with a measured rate to fit a model, got {n}"
        )
    frame = features.reset_index(drop=True).loc[keep].reset_index(drop=True)
    grp = None if groups is None else np.asarray(groups).ravel()[keep]
    return _TrainingData(frame, np.maximum(y_rate[keep], 0.0), se[keep], grp)


def _weights(y_rate: FloatArray, se: FloatArray) -> tuple[FloatArray, float]:
    """(weight per drain, mean 1; the measurement noise variance in the log targets, weighted
    as the residuals are): see the module docstring."""
    se_log = se / (y_rate + RATE_OFFSET)
    has_se = np.isfinite(se_log) & (se_log >= 0)
    if not has_se.any():
        return np.ones(len(y_rate)), 0.0
    tau2 = max(float(np.median(se_log[has_se] ** 2)), 1e-12)
    se2 = np.where(has_se, se_log, np.sqrt(tau2)) ** 2
    w = 1.0 / (se2 + tau2)
    w = w / w.mean()
    return w, float(np.average(se2, weights=w))


def _folds(
    x: FloatArray, y: FloatArray, groups: np.ndarray | None, folds: int, seed: int
) -> list[tuple[np.ndarray, np.ndarray]]:
    """(train, test) index pairs of the k-fold CV: grouped when groups are given, else shuffled."""
    k = min(folds, len(y))
    if groups is not None:
        k = min(k, len(np.unique(groups)))
    if k < 2:
        raise ValueError(f"cross-validation needs at least 2 folds (folds={folds}, groups give {k})")
    if groups is not None:
        return list(GroupKFold(n_splits=k).split(x, y, groups))
    return list(KFold(n_splits=k, shuffle=True, random_state=seed).split(x))


# --------------------------------------------------------------------------- combination


def shrink(
    measured: npt.ArrayLike,
    measured_se: npt.ArrayLike,
    predicted: npt.ArrayLike,
    predicted_sd: npt.ArrayLike,
) -> tuple[FloatArray, FloatArray]:
    """Precision-weighted combination of a measured and a predicted rate, per drain.

    ``rate = (m / se^2 + p / sd^2) / (1 / se^2 + 1 / sd^2)``, ``sd = (1 / se^2 + 1 / sd^2)^-1/2``:
    a drain with a long series (small se) keeps its own rate, one with a short series is
    pulled towards the model. A NaN measured rate, or one without a finite se (which cannot
    be weighed), gives the prediction; without a usable prediction the measurement stands.
    se = 0 means the measurement is taken as exact. Rates come out >= 0.
    """
    m, se, p, sd = np.broadcast_arrays(
        *(np.asarray(a, dtype=np.float64) for a in (measured, measured_se, predicted, predicted_sd))
    )
    has_m = np.isfinite(m) & np.isfinite(se) & (se >= 0)
    has_p = np.isfinite(p) & np.isfinite(sd) & (sd > 0)
    rate = np.full(m.shape, np.nan)
    out_sd = np.full(m.shape, np.nan)
    only_p = has_p & ~has_m
    rate[only_p], out_sd[only_p] = p[only_p], sd[only_p]
    only_m = np.isfinite(m) & ~has_p
    rate[only_m], out_sd[only_m] = m[only_m], np.where(has_m[only_m], se[only_m], np.nan)
    both = has_m & has_p
    exact = both & (se == 0)
    rate[exact], out_sd[exact] = m[exact], 0.0
    mix = both & (se > 0)
    wm, wp = 1.0 / se[mix] ** 2, 1.0 / sd[mix] ** 2
    rate[mix] = (wm * m[mix] + wp * p[mix]) / (wm + wp)
    out_sd[mix] = 1.0 / np.sqrt(wm + wp)
    return np.maximum(rate, 0.0, where=np.isfinite(rate), out=rate), out_sd


__all__ = [
    "FEATURES",
    "MIN_BOOSTING_ROWS",
    "MIN_TRAIN_ROWS",
    "RATE_OFFSET",
    "FillModel",
    "fit_fill_model",
    "shrink",
]
