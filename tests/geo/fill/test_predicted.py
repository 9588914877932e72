"""Environment model of drain fill rates: CV against a constant baseline, predictions, sd, shrinkage."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr

from geo.fill.measured import fit_fill_rate
from geo.fill.predicted import FEATURES, MIN_BOOSTING_ROWS, MIN_TRAIN_ROWS, FillModel, fit_fill_model, shrink
from tests.geo.fill.fill_series import simulate_drain

ROAD_EFFECT = {"residential": 0.0, "collector": 0.15, "arterial": 0.3}


def make_drains(rng: np.random.Generator, n: int) -> tuple[pd.DataFrame, np.ndarray]:
    """Drains with environment features and a true rate = f(features) x log-normal(0.15) noise.

    The log rate rises with leaf load, shopping streets, building sites, bus stops and busier
    roads; the other columns (school zone, district sludge, nearest tree itself) are noise or
    redundant, some values are missing.
    """
    has_tree = rng.random(n) < 0.6
    nearest = np.where(has_tree, rng.gamma(2.0, 4.0, n), np.nan)
    t4 = np.where(has_tree, rng.poisson(np.where(nearest < 4, 1.5, 0.2)), 0)
    t10 = t4 + np.where(has_tree, rng.poisson(2.0, n), 0)
    large = (t10 > 0) & (rng.random(n) < 0.5)
    leaf = t10 * rng.uniform(0.3, 1.0, n) * np.where(large, 1.8, 1.0)
    road = rng.choice(
        np.array(["residential", "collector", "arterial", None], dtype=object), n, p=[0.6, 0.2, 0.15, 0.05]
    )
    frame = pd.DataFrame(
        {
            "nearest_tree_m": nearest,
            "trees_within_4m": t4,
            "trees_within_10m": t10,
            "large_leaf_within_10m": large,
            "leaf_load": leaf,
            "zone_shopping": rng.random(n) < 0.15,
            "zone_bus_stop": rng.random(n) < 0.1,
            "zone_main_road": rng.random(n) < 0.2,
            "zone_school": rng.random(n) < 0.05,
            "zone_construction": rng.random(n) < 0.05,
            "road_category": road,
            "district_sludge_m3": np.where(rng.random(n) < 0.3, np.nan, rng.uniform(5, 20, n)),
        }
    )
    road_effect = np.array([ROAD_EFFECT.get(r, 0.0) if r is not None else 0.0 for r in road])
    log_rate = (
        np.log(0.2)
        + 0.35 * np.log1p(leaf)
        + 0.4 * frame["zone_shopping"].to_numpy()
        + 0.5 * frame["zone_construction"].to_numpy()
        + 0.2 * frame["zone_bus_stop"].to_numpy()
        + road_effect
    )
    return frame, np.exp(log_rate + 0.15 * rng.standard_normal(n))


def measure(rng: np.random.Generator, truth: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Measured rates: the truth plus noise of a per-drain standard error (2-30 %)."""
    se = truth * rng.uniform(0.02, 0.3, truth.size)
    return np.maximum(truth + se * rng.standard_normal(truth.size), 0.0), se


@pytest.fixture(scope="module")
def trained() -> tuple[FillModel, pd.DataFrame, np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    frame, truth = make_drains(rng, 300)
    measured, se = measure(rng, truth)
    return fit_fill_model(frame, measured, rate_se=se), frame, truth, measured, se


def test_model_beats_the_constant_baseline(
    trained: tuple[FillModel, pd.DataFrame, np.ndarray, np.ndarray, np.ndarray],
) -> None:
    model = trained[0]
    assert model.kind == "HistGradientBoostingRegressor" and model.n_train == 300
    assert model.cv_mae < 0.85 * model.baseline_cv_mae
    assert model.cv_r2 > 0.25
    assert model.cv_rmse >= model.cv_mae > 0
    assert set(model.features) == set(FEATURES)
    assert model.categories == {"road_category": ("arterial", "collector", "residential")}


def test_predictions_track_the_truth_on_new_drains(
    trained: tuple[FillModel, pd.DataFrame, np.ndarray, np.ndarray, np.ndarray],
) -> None:
    model = trained[0]
    frame, truth = make_drains(np.random.default_rng(1), 1000)
    rate, sd = model.predict(frame)
    assert rate.shape == sd.shape == (1000,)
    assert np.all(rate > 0) and np.all(sd > 0)
    assert spearmanr(rate, truth).statistic > 0.75
    assert np.median(np.abs(rate / truth - 1)) < 0.2
    # the sd is honest: most truths within 2 sd, yet not so wide that all are within 0.5 sd
    within2 = np.mean(np.abs(rate - truth) < 2 * sd)
    assert 0.85 <= within2 <= 1.0
    assert np.mean(np.abs(rate - truth) < 0.5 * sd) < 0.7
    # leafy drains are predicted to fill faster than bare ones
    leafy = frame["leaf_load"].to_numpy() > 3
    bare = frame["trees_within_10m"].to_numpy() == 0
    assert np.median(rate[leafy]) > 1.5 * np.median(rate[bare])


def test_version_is_deterministic(
    trained: tuple[FillModel, pd.DataFrame, np.ndarray, np.ndarray, np.ndarray],
) -> None:
    model, frame, _, measured, se = trained
    again = fit_fill_model(frame, measured, rate_se=se)
    assert again.version == model.version
    assert re.fullmatch(r"hgb-[0-9a-f]{12}-300", model.version)
    assert np.array_equal(again.predict(frame)[0], model.predict(frame)[0])
    changed = measured.copy()
    changed[0] *= 1.5
    assert fit_fill_model(frame, changed, rate_se=se).version != model.version
    assert fit_fill_model(frame, measured, rate_se=se, seed=1).version != model.version


def test_describe_is_json(
    trained: tuple[FillModel, pd.DataFrame, np.ndarray, np.ndarray, np.ndarray],
) -> None:
    model = trained[0]
    described = json.loads(json.dumps(model.describe()))
    assert described["version"] == model.version and described["n_train"] == 300
    assert described["cv_mae"] == model.cv_mae and described["baseline_cv_mae"] == model.baseline_cv_mae
    assert described["params"]["random_state"] == 0 and described["features"] == list(model.features)


def test_missing_columns_and_values_are_handled(
    trained: tuple[FillModel, pd.DataFrame, np.ndarray, np.ndarray, np.ndarray],
) -> None:
    model, frame, _, measured, _ = trained
    # prediction without some columns, with NaN, and with a road category never seen
    partial = frame.drop(columns=["district_sludge_m3", "zone_school"]).head(50).copy()
    partial.loc[partial.index[:10], "leaf_load"] = np.nan
    partial.loc[partial.index[10:20], "road_category"] = "motorway"
    partial["zone_shopping"] = partial["zone_shopping"].astype(object)
    partial.loc[partial.index[20:25], "zone_shopping"] = None  # booleans with gaps stay numeric
    rate, sd = model.predict(partial)
    assert np.all(np.isfinite(rate)) and np.all(rate > 0) and np.all(sd > 0)
    # training without them: the model says which columns it used
    small = fit_fill_model(frame.drop(columns=["road_category"]).assign(district_sludge_m3=np.nan), measured)
    assert "road_category" not in small.features and "district_sludge_m3" not in small.features
    assert small.cv_mae < small.baseline_cv_mae
    assert len(model.predict(frame.head(0))[0]) == 0


def test_unmeasured_rows_are_left_out(
    trained: tuple[FillModel, pd.DataFrame, np.ndarray, np.ndarray, np.ndarray],
) -> None:
    _, frame, _, measured, se = trained
    with_gaps = measured.copy()
    with_gaps[::3] = np.nan  # drains whose fit said "too_few_readings"
    model = fit_fill_model(frame, with_gaps, rate_se=se)
    assert model.n_train == 200 and model.version.endswith("-200")
    with pytest.raises(ValueError, match="rows"):
        fit_fill_model(frame, measured[:10])


def test_few_drains_use_the_glm() -> None:
    rng = np.random.default_rng(3)
    frame, truth = make_drains(rng, 30)
    assert 30 < MIN_BOOSTING_ROWS
    model = fit_fill_model(frame, truth, folds=5)
    assert model.kind == "PoissonRegressor" and model.version.startswith("glm-")
    assert not model.log_target and model.folds == 5
    new, new_truth = make_drains(rng, 400)
    rate, sd = model.predict(new)
    assert np.all(rate > 0) and np.all(sd > 0)
    assert spearmanr(rate, new_truth).statistic > 0.6
    with pytest.raises(ValueError, match="at least"):
        fit_fill_model(frame.head(MIN_TRAIN_ROWS - 1), truth[: MIN_TRAIN_ROWS - 1])


@pytest.mark.parametrize("n", [30, 80])
def test_rates_stay_non_negative(n: int) -> None:
    """Drains that did not fill (rate 0) or came out slightly negative never make a negative prediction."""
    rng = np.random.default_rng(4)
    frame, truth = make_drains(rng, n)
    rates = truth.copy()
    rates[: n // 5] = 0.0
    rates[n // 5 : n // 5 + 3] = -0.05
    model = fit_fill_model(frame, rates)
    assert model.kind == ("PoissonRegressor" if n < MIN_BOOSTING_ROWS else "HistGradientBoostingRegressor")
    rate, sd = model.predict(make_drains(rng, 500)[0])
    assert np.all(np.isfinite(rate)) and np.all(rate >= 0) and np.all(sd > 0)
    assert np.isfinite(model.cv_mae) and model.cv_mae > 0


def test_grouped_cv(trained: tuple[FillModel, pd.DataFrame, np.ndarray, np.ndarray, np.ndarray]) -> None:
    _, frame, _, measured, se = trained
    districts = np.arange(len(measured)) % 7
    model = fit_fill_model(frame, measured, rate_se=se, groups=districts)
    assert model.folds == 5 and model.cv_mae < model.baseline_cv_mae
    assert model.version != fit_fill_model(frame, measured, rate_se=se).version
    with pytest.raises(ValueError, match="2 folds"):
        fit_fill_model(frame, measured, groups=np.zeros(len(measured)))


# --------------------------------------------------------------------------- shrink


def test_shrink_weights_by_precision() -> None:
    measured = np.array([1.0, 1.0, 1.0, np.nan, 1.0, 1.0])
    se = np.array([0.01, 1.0, 0.2, 0.1, 0.0, np.nan])
    predicted = np.full(6, 0.5)
    sd = np.full(6, 0.2)
    rate, out_sd = shrink(measured, se, predicted, sd)
    assert rate[0] == pytest.approx(1.0, abs=0.01)  # long series: its own rate
    assert rate[1] == pytest.approx(0.5, abs=0.03)  # short series: the model
    assert rate[2] == pytest.approx(0.75)  # equal precision: halfway
    assert rate[3] == 0.5 and out_sd[3] == 0.2  # no measurement: the model
    assert rate[4] == 1.0 and out_sd[4] == 0.0  # exact measurement
    assert rate[5] == 0.5  # a rate without se cannot be weighed
    assert np.all(out_sd[:3] < np.minimum(se[:3], sd[:3]) + 1e-12)
    # without a prediction the measurement stands; rates never negative
    r, s = shrink([0.8, -0.1], [0.1, 0.1], [np.nan, 0.01], [np.nan, 0.5])
    assert r[0] == 0.8 and s[0] == 0.1 and r[1] >= 0.0


def test_shrink_on_fitted_series() -> None:
    """A drain with 9 days of readings leans on the model; with a year and a half on its own slope."""
    rng = np.random.default_rng(6)
    true_rate, model_rate, model_sd = 0.8, 0.5, 0.1
    short = simulate_drain(rng, rate=true_rate, days=9.0, initial_fill=3.0, routine_cleanings_per_year=0)
    long = simulate_drain(rng, rate=true_rate, days=550.0)
    short_fit, long_fit = (fit_fill_rate(d.times, d.fill) for d in (short, long))
    assert short_fit.status == long_fit.status == "ok"
    # nine days cannot say much (storms may not have come yet); a year and a half can
    assert short_fit.rate_se > model_sd > 2 * long_fit.rate_se
    (short_rate, long_rate), _ = shrink(
        [short_fit.rate_per_day, long_fit.rate_per_day],
        [short_fit.rate_se, long_fit.rate_se],
        model_rate,
        model_sd,
    )
    # short: at least halfway to the model; long: hardly moved
    assert abs(short_rate - model_rate) <= 0.5 * abs(short_fit.rate_per_day - model_rate)
    assert abs(long_rate - long_fit.rate_per_day) < 0.25 * abs(long_fit.rate_per_day - model_rate)
    assert long_rate == pytest.approx(true_rate, rel=0.1)
