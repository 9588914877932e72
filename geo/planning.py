"""Drain-cleaning plan, from the store to the store: refit the fill model, list what is due (with
reasons), plan a day's truck routes.

- `refit`: every drain sensor's fill series → cleanings and a robust rate (`geo.fillrate`);
  monthly seasonal factors for drains near trees and in the open; an environment model fitted
  on the measured drains predicts every drain's rate and its uncertainty (`geo.fillmodel`);
  measured drains keep their own rate, shrunk towards the model when their data is short. The
  result is stored per drain (`drain_fill_state`) with the model version and its
  cross-validated error.
- `plan_schedule`: the stored state + zones → due drains within a horizon, with due date, fill,
  sludge volume, method and a reason a planner can read (`geo.schedule`), and the coming year
  against the fixed yearly round.
- `plan_day_routes`: the suction work due on one day → truck routes (`geo.routing`), stored as
  GeoJSON, CSV and GPX.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.crs import metric_xy_of
from geo.fillmodel import FEATURES, FillModel, fit_fill_model, shrink
from geo.fillrate import FillRateFit, SeasonalFactors, as_times, fit_fill_rate, fit_seasonal_factors
from geo.indicators import LEAF_WEIGHTS, drain_tree_indicators
from geo.planconfig import PlanConfig
from geo.routing import Site
from geo.schedule import (
    DrainState,
    Schedule,
    ScheduleParameters,
    TruckModel,
    YearlySummary,
    compute_schedule,
    join_reasons,
    month_name,
    rate_text,
    yearly_summary,
)
from geo.spatial import GridIndex
from geo.zones import ZONE_KINDS, drain_zones
from pakhuis.errors import ConfigurationError, InvalidParameter, PakhuisError
from pakhuis.store import Store

__all__ = [
    "PlanConfig",
    "PlanNotReady",
    "RefitReport",
    "ScheduleResult",
    "environment",
    "parse_sites",
    "plan_day_routes",
    "plan_schedule",
    "refit",
]

# Seasonal groups: drains with a tree within 10 m see leaf fall, the others hardly.
GROUPS = ("open", "trees")
# A sensor belongs to the drain named in its metadata ("drain": the drain's key), else to the
# nearest drain within this distance of its position.
SENSOR_LINK_M = 5.0
# Fewer measured drains than this and no environment model is fitted: the schedule would
# rest on guesses.
MIN_TRAINING_DRAINS = 8
# Only to size a day's work before solving: driving time between neighbouring due drains.
ROUGH_DRIVE_BETWEEN_STOPS_S = 120.0
# Districts: the register's own (buurt/wijk) when it has one, else squares of this size.
DISTRICT_CELL_M = 1000.0
_DISTRICT_KEYS = ("district", "buurtcode", "buurt", "wijkcode", "wijk", "neighborhood", "neighbourhood")
_ZONE_LABELS = {
    "shopping": "shopping zone",
    "bus_stop": "bus stop",
    "main_road": "main road",
    "school": "school zone",
    "construction": "building site",
}


class PlanNotReady(PakhuisError):
    status = 409
    code = "plan_not_ready"


def parse_sites(text: str | None, kind: str) -> list[Site]:
    """'lon,lat;lon,lat' → sites (WGS84), with a clear error for anything else."""
    if not text:
        return []
    sites = []
    for i, part in enumerate(p for p in text.split(";") if p.strip()):
        try:
            lon_s, lat_s = part.split(",")
            lon, lat = float(lon_s), float(lat_s)
        except ValueError:
            raise ConfigurationError(
                f"cannot read {kind} {part!r}", hint="give WGS84 'lon,lat' pairs separated by ';'"
            ) from None
        if not (-180 <= lon <= 180 and -90 <= lat <= 90):
            raise ConfigurationError(f"{kind} {part!r} is not a WGS84 lon,lat", hint="e.g. 4.66,52.55")
        sites.append(Site(f"{kind} {i + 1}", lon, lat))
    return sites


# -- environment --------------------------------------------------------------------------------


def environment(
    store: Store, config: PlanConfig, cleanings: list[dict[str, Any]] | None = None
) -> gpd.GeoDataFrame:
    """Every drain with what its fill rate depends on: tree indicators, large-leaf load and
    genera, zones (threshold, multiplier), district and the district's recorded sludge
    (from `cleanings`, read from the store when not given)."""
    rows = store.drains_for_planning()
    if not rows:
        raise PlanNotReady("The drain register is empty.", hint="Load it with `pakhuis load drains FILE`.")
    frame = pd.DataFrame(rows).set_index("id")
    drains = gpd.GeoDataFrame(frame, geometry=gpd.points_from_xy(frame["lon"], frame["lat"]), crs="EPSG:4326")
    crs, xy = metric_xy_of(drains)
    trees = pd.DataFrame(
        store.trees_register(), columns=["id", "source_id", "lon", "lat", "species", "genus", "leaf_class"]
    )
    tree_gdf = gpd.GeoDataFrame(
        trees, geometry=gpd.points_from_xy(trees["lon"], trees["lat"]), crs="EPSG:4326"
    )
    # Indicators are recomputed here (a fraction of a second for a city) rather than read, so a
    # plan never rests on indicators older than the registers.
    ind = drain_tree_indicators(drains[["geometry"]], tree_gdf)
    env = pd.DataFrame(index=drains.index)
    env["drain_key"] = drains["drain_key"].astype(str)
    env["lon"] = drains["lon"].astype(float)
    env["lat"] = drains["lat"].astype(float)
    env["x"] = xy[:, 0]
    env["y"] = xy[:, 1]
    for column in (
        "nearest_tree_m",
        "trees_within_4m",
        "trees_within_10m",
        "large_leaf_within_10m",
        "leaf_load",
    ):
        env[column] = ind[column].to_numpy(dtype=np.float64, na_value=np.nan)
    large_load = np.zeros(len(env))
    if len(tree_gdf):
        tree_xy = metric_xy_of(tree_gdf, crs)[1]
        weights = np.where(tree_gdf["leaf_class"].to_numpy() == "large", LEAF_WEIGHTS["large"], 0.0)
        large_load = GridIndex(tree_xy).nearby(xy, weights=weights, load_radius=10.0, nearest=False).load
    env["large_leaf_load"] = large_load
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(env["leaf_load"] > 0, large_load / env["leaf_load"], 0.0)
    env["large_leaf_share"] = share
    env["leaf_dominated"] = (share >= 0.5) & (env["large_leaf_within_10m"] >= 1)
    env["group"] = (env["trees_within_10m"] > 0).astype(np.int64)
    zones = drain_zones(drains[["lon", "lat"]].to_numpy(), list(store.zones()), crs)
    for column in zones.columns:
        env[column] = zones[column].to_numpy()
    env["threshold"], env["multiplier"], env["zone"] = _zone_rules(zones, config)
    env["road_category"] = np.where(zones["zone_main_road"].to_numpy(), 1.0, 0.0)
    env["district"] = _districts(drains["attributes"], xy)
    env["district_sludge_m3"] = _district_sludge(store.cleanings() if cleanings is None else cleanings, env)
    env.attrs["crs"] = crs
    env.attrs["trees"] = tree_gdf
    return gpd.GeoDataFrame(env, geometry=drains.geometry, crs="EPSG:4326")


def _zone_rules(zones: pd.DataFrame, config: PlanConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Threshold: the strictest of the drain's zones (default outside); multiplier: the largest."""
    n = len(zones)
    threshold = np.full(n, config.threshold("default"))
    multiplier = np.ones(n)
    label = np.full(n, "", dtype=object)
    for kind in ZONE_KINDS:
        inside = zones[f"zone_{kind}"].to_numpy()
        value = config.threshold(kind)
        stricter = inside & (value < threshold)
        threshold[stricter] = value
        label[stricter] = kind
        multiplier[inside] = np.maximum(multiplier[inside], float(config.rate_multipliers.get(kind, 1.0)))
    return threshold, multiplier, label


def _districts(attributes: pd.Series, xy: np.ndarray) -> np.ndarray:
    out = np.empty(len(attributes), dtype=object)
    cells = np.floor(xy / DISTRICT_CELL_M).astype(np.int64)
    for i, attrs in enumerate(attributes):
        value = None
        if isinstance(attrs, Mapping):
            lower = {str(k).lower(): v for k, v in attrs.items()}
            value = next((lower[k] for k in _DISTRICT_KEYS if lower.get(k) not in (None, "")), None)
        out[i] = str(value) if value is not None else f"cell:{cells[i, 0]}:{cells[i, 1]}"
    return out


def _district_sludge(cleanings: list[dict[str, Any]], env: pd.DataFrame) -> np.ndarray:
    """Mean recorded sludge per cleaning in the drain's district (NaN where none recorded)."""
    recorded = pd.DataFrame(cleanings)
    if recorded.empty or recorded["sludge_m3"].isna().all():
        return np.full(len(env), np.nan)
    by_key = pd.Series(env["district"].to_numpy(), index=env["drain_key"].to_numpy())
    recorded = recorded.dropna(subset=["sludge_m3"])
    recorded["district"] = recorded["drain_key"].map(by_key)
    means = recorded.dropna(subset=["district"]).groupby("district")["sludge_m3"].mean()
    out: np.ndarray = env["district"].map(means).to_numpy(dtype=np.float64, na_value=np.nan)
    return out


# -- refit --------------------------------------------------------------------------------------


@dataclass
class RefitReport:
    drains: int = 0
    sensors: int = 0
    linked: int = 0
    measured_ok: int = 0
    too_few: int = 0
    model: dict[str, Any] = field(default_factory=dict)
    seasonal: dict[str, list[float]] = field(default_factory=dict)
    by_source: dict[str, int] = field(default_factory=dict)
    unlinked: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        m = self.model
        lines = [
            f"fill model {m.get('version')}: {m.get('kind')} on {m.get('n_train')} measured drains, "
            f"cross-validated MAE {m.get('cv_mae', math.nan):.3f} %/day "
            f"(constant baseline {m.get('baseline_cv_mae', math.nan):.3f}), "
            f"R² {m.get('cv_r2', math.nan):.2f}",
            f"sensors {self.sensors} (linked to drains {self.linked}; fit ok {self.measured_ok}, "
            f"too few readings {self.too_few})",
            "rates: " + ", ".join(f"{k} {v:,}" for k, v in sorted(self.by_source.items())),
            "seasonal factors (Jan..Dec): "
            + "; ".join(f"{g} " + " ".join(f"{f:.2f}" for f in fs) for g, fs in self.seasonal.items()),
        ]
        if self.unlinked:
            lines.append(
                f"not linked to a drain (no drain within {SENSOR_LINK_M:g} m): "
                + ", ".join(self.unlinked[:10])
            )
        return "\n".join(lines)


def _link_sensors(store: Store, env: pd.DataFrame) -> tuple[dict[int, int], dict[int, str], list[str]]:
    """sensor id → drain id (metadata first, then nearest drain within SENSOR_LINK_M)."""
    sensors = store.drain_sensors()
    by_key = pd.Series(env.index.to_numpy(), index=env["drain_key"].to_numpy())
    by_key = by_key[~by_key.index.duplicated()]
    links: dict[int, int] = {}
    names: dict[int, str] = {}
    unlinked: list[str] = []
    positioned = []
    for s in sensors:
        names[int(s["id"])] = f"{s['tenant']}/{s['name']}"
        key = (s.get("metadata") or {}).get("drain")
        if key is not None and str(key) in by_key.index:
            links[int(s["id"])] = int(by_key[str(key)])
        elif s.get("lon") is not None and s.get("lat") is not None:
            positioned.append(s)
        else:
            unlinked.append(names[int(s["id"])])
    if positioned:
        pts = gpd.GeoSeries(
            gpd.points_from_xy([s["lon"] for s in positioned], [s["lat"] for s in positioned]),
            crs="EPSG:4326",
        )
        _, sxy = metric_xy_of(pts, env.attrs["crs"])
        dist, idx = GridIndex(env[["x", "y"]].to_numpy()).nearest(sxy)
        for s, d, i in zip(positioned, dist, idx, strict=True):
            if np.isfinite(d) and d <= SENSOR_LINK_M:
                links[int(s["id"])] = int(env.index[i])
            else:
                unlinked.append(names[int(s["id"])])
    return links, names, unlinked


def _work_orders(cleanings: list[dict[str, Any]]) -> dict[str, np.ndarray]:
    out: dict[str, list[datetime]] = {}
    for c in cleanings:
        out.setdefault(str(c["drain_key"]), []).append(c["time"])
    return {k: as_times(v) for k, v in out.items()}


def refit(store: Store, config: PlanConfig, *, seed: int = 0) -> RefitReport:
    cleanings = store.cleanings()
    env = environment(store, config, cleanings)
    report = RefitReport(drains=len(env))
    links, names, report.unlinked = _link_sensors(store, env)
    report.sensors, report.linked = len(names), len(links)
    series = store.series(sorted(links))
    orders = _work_orders(cleanings)
    group_of = env["group"]
    # Seasonal factors per group, from the measured drains of that group (all drains when a
    # group has too few); then each drain's rate against its group's seasonal time.
    raw: dict[int, tuple[Any, Any, Any]] = {}
    for sensor_id, drain_id in links.items():
        times, values = series.get(sensor_id, ([], []))
        raw[sensor_id] = (
            as_times(times),
            np.asarray(values, dtype=np.float64),
            orders.get(str(env.at[drain_id, "drain_key"]), np.array([], dtype="datetime64[s]")),
        )
    everyone: SeasonalFactors | None = None
    seasonal: list[SeasonalFactors] = []
    for g, _name in enumerate(GROUPS):
        members = [raw[s] for s, d in links.items() if group_of[d] == g]
        if len(members) >= MIN_TRAINING_DRAINS:
            seasonal.append(fit_seasonal_factors(members))
            continue
        if everyone is None:
            everyone = fit_seasonal_factors(list(raw.values())) if raw else SeasonalFactors.flat()
        seasonal.append(everyone)
    report.seasonal = {name: [float(f) for f in seasonal[g].monthly] for g, name in enumerate(GROUPS)}

    fits: dict[int, tuple[int, FillRateFit]] = {}
    for sensor_id, drain_id in links.items():
        t_arr, v_arr, work = raw[sensor_id]
        fit = fit_fill_rate(t_arr, v_arr, work_orders=work, seasonal=seasonal[int(group_of[drain_id])])
        previous = fits.get(drain_id)
        if previous is None or fit.n_readings > previous[1].n_readings:  # two sensors: the richer
            fits[drain_id] = (sensor_id, fit)
    report.measured_ok = sum(1 for _, f in fits.values() if f.status == "ok")
    report.too_few = sum(1 for _, f in fits.values() if f.status != "ok")

    features = env.reindex(columns=list(FEATURES)).astype(np.float64)
    trained = [d for d, (_, f) in fits.items() if f.status == "ok"]
    if len(trained) < MIN_TRAINING_DRAINS:
        raise PlanNotReady(
            f"{len(trained)} drain sensor(s) with enough readings; the environment model needs at least "
            f"{MIN_TRAINING_DRAINS}.",
            hint="link more drain sensors (sensor metadata 'drain', or a position within "
            f"{SENSOR_LINK_M:g} m of a drain) and let them report for a few weeks",
        )
    rates = np.array([fits[d][1].rate_per_day for d in trained])
    ses = np.array([fits[d][1].rate_se for d in trained])
    model = fit_fill_model(features.loc[trained], rates, rate_se=ses, seed=seed)
    predicted, predicted_sd = model.predict(features)
    measured = np.full(len(env), np.nan)
    measured_se = np.full(len(env), np.nan)
    pos = {d: i for i, d in enumerate(env.index)}
    for d in trained:
        measured[pos[d]] = fits[d][1].rate_per_day
        measured_se[pos[d]] = fits[d][1].rate_se
    rate, rate_sd = shrink(measured, measured_se, predicted, predicted_sd)
    report.model = model.describe()
    # Which zone kinds the measured drains stood in: a zone's rate multiplier is only applied
    # where neither the drain's own sensor nor the model (through its zone feature) saw it.
    report.model["zones_in_training"] = {
        kind: int(env.loc[trained, f"zone_{kind}"].sum()) for kind in ZONE_KINDS
    }
    states = list(
        _state_rows(
            env, model, fits, names, orders, measured, measured_se, predicted, predicted_sd, rate, rate_sd
        )
    )
    report.by_source = dict(Counter(row[12] for row in states))
    store.save_fill_model(model.version, report.model, {"groups": list(GROUPS), **report.seasonal}, states)
    return report


def _state_rows(
    env: pd.DataFrame,
    model: FillModel,
    fits: Mapping[int, tuple[int, FillRateFit]],
    names: Mapping[int, str],
    orders: Mapping[str, np.ndarray],
    measured: np.ndarray,
    measured_se: np.ndarray,
    predicted: np.ndarray,
    predicted_sd: np.ndarray,
    rate: np.ndarray,
    rate_sd: np.ndarray,
) -> Any:
    for i, (drain_id, key) in enumerate(zip(env.index, env["drain_key"], strict=True)):
        sensor_fit = fits.get(int(drain_id))
        last_cleaning: datetime | None = None
        cleaning_source: str | None = None
        fill_time: datetime | None = None
        fill_value: float | None = None
        status = "no_sensor"
        n_readings = n_since = 0
        sensor = None
        if sensor_fit is not None:
            sensor_id, fit = sensor_fit
            sensor = names[sensor_id]
            status, n_readings, n_since = fit.status, fit.n_readings, fit.n_since_cleaning
            if fit.cleanings:
                last_cleaning = _dt(fit.cleanings[-1].time)
                cleaning_source = fit.cleanings[-1].source
            if fit.last_time is not None and fit.last_fill is not None:
                fill_time, fill_value = _dt(fit.last_time), float(fit.last_fill)
        recorded = orders.get(str(key))
        if recorded is not None and len(recorded):
            latest = _dt(recorded.max())
            if last_cleaning is None or latest > last_cleaning:
                last_cleaning, cleaning_source = latest, "work_order"
                if fill_time is None or latest > fill_time:
                    fill_time, fill_value = latest, 0.0
        if np.isfinite(measured[i]):
            source = "sensor" if measured_se[i] <= 0.25 * max(predicted_sd[i], 1e-9) else "sensor+model"
        else:
            source = "model"
        yield (
            int(drain_id),
            model.version,
            sensor,
            status,
            int(n_readings),
            int(n_since),
            _num(measured[i]),
            _num(measured_se[i]),
            _num(predicted[i]),
            _num(predicted_sd[i]),
            max(float(rate[i]), 0.0),
            _num(rate_sd[i]),
            source,
            last_cleaning,
            cleaning_source,
            fill_time,
            fill_value,
        )


def _dt(t: np.datetime64) -> datetime:
    return datetime.fromtimestamp(int(np.asarray(t).astype("datetime64[s]").astype(np.int64)), UTC)


def _num(value: float) -> float | None:
    return None if value is None or not np.isfinite(value) else float(value)


# -- schedule -----------------------------------------------------------------------------------


@dataclass
class ScheduleResult:
    schedule: Schedule
    model: dict[str, Any]
    env: gpd.GeoDataFrame
    summary: YearlySummary | None = None

    @property
    def due(self) -> pd.DataFrame:
        return self.schedule.due

    def records(self) -> list[dict[str, Any]]:
        out = []
        for row in self.due.itertuples(index=False):
            out.append(
                {
                    "drain_id": int(row.drain_id),
                    "drain": str(row.drain_key),
                    "lon": round(float(row.lon), 7),
                    "lat": round(float(row.lat), 7),
                    "due": row.due.isoformat(),
                    "cause": row.cause,
                    "method": row.method,
                    "fill_now": round(float(row.fill_now), 1),
                    "fill_at_due": round(float(row.fill_at_due), 1),
                    "threshold": float(row.threshold),
                    "sludge_m3": round(float(row.sludge_m3), 4),
                    "rate_source": row.rate_source,
                    "reason": row.reason,
                }
            )
        return out


def _load_state(store: Store, env: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, Any]]:
    model = store.fill_model()
    states = pd.DataFrame(store.fill_states())
    if model is None or states.empty:
        raise PlanNotReady(
            "No fill model has been fitted yet.",
            hint="Run `pakhuis plan refit` (after loading drains and trees).",
        )
    states = states.set_index("drain_id")
    missing = env.index.difference(states.index)
    if len(missing):
        raise PlanNotReady(
            f"{len(missing):,} drains have no fill state (the register changed since the last refit).",
            hint="Run `pakhuis plan refit` again.",
        )
    return states.loc[env.index], model


def _days(values: pd.Series) -> np.ndarray:
    out = np.full(len(values), np.nan)
    for i, v in enumerate(values):
        if v is not None and not pd.isna(v):
            out[i] = v.timestamp() / 86400.0
    return out


def plan_schedule(
    store: Store,
    config: PlanConfig,
    start: date,
    horizon_days: int = 28,
    *,
    with_summary: bool = False,
) -> ScheduleResult:
    if horizon_days < 1 or horizon_days > 366:
        raise ConfigurationError("the horizon must be 1 to 366 days", hint="e.g. --horizon 28d")
    env = environment(store, config)
    states, model = _load_state(store, env)
    factors = np.array([model["seasonal"][g] for g in GROUPS])
    state = DrainState(
        drain_id=env.index.to_numpy(),
        rate=states["rate"].to_numpy(dtype=np.float64),
        multiplier=_effective_multiplier(env, states, model, config),
        group=env["group"].to_numpy(dtype=np.int64),
        threshold=env["threshold"].to_numpy(dtype=np.float64),
        fill_day=_days(states["fill_time"]),
        fill_value=states["fill_value"].to_numpy(dtype=np.float64, na_value=np.nan),
        last_cleaning_day=_days(states["last_cleaning"]),
        leaf_dominated=env["leaf_dominated"].to_numpy(dtype=bool),
    )
    params = ScheduleParameters(
        start=start,
        horizon_days=horizon_days,
        min_interval_days=config.min_interval_days,
        max_interval_days=config.max_interval_days,
        sump_m3=config.sump_m3,
        assumed_days_since_cleaning=config.assumed_days_since_cleaning,
    )
    schedule, _ = compute_schedule(state, factors, params)
    due = schedule.due
    info = env.loc[due["drain_id"].to_numpy()]
    st = states.loc[due["drain_id"].to_numpy()]
    for column in ("drain_key", "lon", "lat"):
        due[column] = info[column].to_numpy()
    due["rate_source"] = st["rate_source"].to_numpy()
    due["reason"] = _reasons(due, info, st, env.attrs["trees"], env.attrs["crs"], model)
    result = ScheduleResult(schedule, model, env)
    if with_summary:
        result.summary = _summary(state, factors, params, env, due, config)
    return result


def _effective_multiplier(
    env: pd.DataFrame, states: pd.DataFrame, model: Mapping[str, Any], config: PlanConfig
) -> np.ndarray:
    """The zone rate multiplier where the rate does not already reflect the zone: not for
    drains whose rate is their own sensor's, nor for zone kinds the model was trained on."""
    trained = model["description"].get("zones_in_training", {})
    out = np.ones(len(env))
    for kind in ZONE_KINDS:
        factor = float(config.rate_multipliers.get(kind, 1.0))
        if factor == 1.0 or trained.get(kind, 0) > 0:
            continue
        inside = env[f"zone_{kind}"].to_numpy(dtype=bool)
        out[inside] = np.maximum(out[inside], factor)
    out[states["rate_source"].to_numpy() == "sensor"] = 1.0
    return out


def _large_genera(info: pd.DataFrame, trees: gpd.GeoDataFrame, crs: Any) -> list[str]:
    """The most common large-leaf genus within 10 m of each drain ('' where none)."""
    out = [""] * len(info)
    large = trees[trees["leaf_class"] == "large"]
    if large.empty or info.empty:
        return out
    tree_geoms = np.asarray(large.to_crs(crs).geometry.array)
    drain_geoms = shapely.points(info[["x", "y"]].to_numpy())
    d_idx, t_idx = shapely.STRtree(tree_geoms).query(drain_geoms, predicate="dwithin", distance=10.0)
    genera = large["genus"].fillna("").to_numpy()
    for d, names in pd.Series(genera[t_idx]).groupby(d_idx):
        counted = Counter(n for n in names if n)
        if counted:
            out[int(d)] = counted.most_common(1)[0][0]
    return out


def _reasons(
    due: pd.DataFrame,
    info: pd.DataFrame,
    st: pd.DataFrame,
    trees: gpd.GeoDataFrame,
    crs: Any,
    model: Mapping[str, Any],
) -> list[str]:
    genera = _large_genera(info, trees, crs)
    version = model["version"]
    reasons = []
    env_rows = info[["large_leaf_within_10m", "trees_within_10m", "zone"]].to_dict("records")
    state_rows = st[["rate_source", "predicted_sd", "last_cleaning", "n_since_cleaning"]].to_dict("records")
    for i, row in enumerate(due.itertuples(index=False)):
        e = env_rows[i]
        s = state_rows[i]
        month = month_name(row.due)
        rate = f"fills {rate_text(float(row.rate_at_due))} %/day in {month}"
        if s["rate_source"] == "model":
            sd = s["predicted_sd"]
            spread = f", ±{sd:.2f}" if sd is not None and not pd.isna(sd) else ""
            source = f"(environment model {version}{spread}; no sensor)"
        else:
            since = s["last_cleaning"]
            since_text = (
                f" since cleaning on {since.date().isoformat()}"
                if since is not None and not pd.isna(since)
                else ""
            )
            shrunk = ", shrunk towards the model" if s["rate_source"] == "sensor+model" else ""
            source = f"(sensor, {int(s['n_since_cleaning'])} readings{since_text}{shrunk})"
        parts = [f"{rate} {source}"]
        n_large = int(e["large_leaf_within_10m"]) if np.isfinite(e["large_leaf_within_10m"]) else 0
        n_trees = int(e["trees_within_10m"]) if np.isfinite(e["trees_within_10m"]) else 0
        if n_large:
            genus = f" ({genera[i]})" if genera[i] else ""
            parts.append(f"{n_large} large-leaf tree{'s' if n_large != 1 else ''} within 10 m{genus}")
        elif n_trees:
            parts.append(f"{n_trees} tree{'s' if n_trees != 1 else ''} within 10 m")
        else:
            parts.append("no trees within 10 m")
        zone = e["zone"]
        if zone:
            parts.append(f"{_ZONE_LABELS[zone]} threshold {row.threshold:.0f} %")
        if row.multiplier > 1:
            parts.append(f"building-site sand ×{row.multiplier:g}")
        if row.cause == "max_interval":
            parts.append(
                f"maximum interval since cleaning on {row.last_cleaning.isoformat()} "
                f"runs out on {row.due.isoformat()}"
            )
        elif row.cause == "overdue":
            parts.append(f"already at {row.fill_now:.0f} % (threshold {row.threshold:.0f} %): due now")
        else:
            parts.append(f"reaches {row.threshold:.0f} % on {row.due.isoformat()}")
        if row.assumed_cleaning:
            parts.append(
                "no cleaning on record: assumed emptied in the yearly round on "
                + row.last_cleaning.isoformat()
            )
        if row.method == "sweep":
            parts.append(
                f"large-leaf litter in leaf fall: sweep (without it the drain would be at "
                f"{row.fill_without_litter:.0f} %)"
            )
        elif row.method == "both":
            parts.append(
                f"large-leaf litter in leaf fall, and {row.fill_without_litter:.0f} % without it: "
                "sweep and suction"
            )
        reasons.append(join_reasons(parts))
    return reasons


def _spacing(xy: np.ndarray) -> float:
    """Mean distance from each point to its nearest other point (m)."""
    if len(xy) < 2:
        return float("nan")
    from scipy.spatial import cKDTree

    d, _ = cKDTree(xy).query(xy, k=2)
    return float(d[:, 1].mean())


def _dump_distance(env: pd.DataFrame, config: PlanConfig) -> dict[str, float]:
    """Mean straight-line distance from the drains to their nearest dump site, when dump sites
    are set (else TruckModel's assumption, which the summary's notes state)."""
    dumps = parse_sites(config.dump_sites, "dump site")
    if not dumps:
        return {}
    points = gpd.GeoSeries(
        gpd.points_from_xy([d.lon for d in dumps], [d.lat for d in dumps]), crs="EPSG:4326"
    )
    _, dump_xy = metric_xy_of(points, env.attrs["crs"])
    distance, _ = GridIndex(dump_xy).nearest(
        np.ascontiguousarray(env[["x", "y"]].to_numpy(), dtype=np.float64)
    )
    return {"dump_distance_m": float(distance.mean())}


def _summary(
    state: DrainState,
    factors: np.ndarray,
    params: ScheduleParameters,
    env: pd.DataFrame,
    due: pd.DataFrame,
    config: PlanConfig,
) -> YearlySummary:
    all_xy = env[["x", "y"]].to_numpy()
    # Drains cleaned together: the yearly round goes street by street (all drains); the dynamic
    # plan's trucks visit the drains due in the same weeks (the schedule's own due drains).
    suction = due[due["method"] != "sweep"]
    due_xy = env.loc[suction["drain_id"].to_numpy(), ["x", "y"]].to_numpy()
    dynamic_spacing = _spacing(due_xy) if len(due_xy) >= 2 else _spacing(all_xy)
    truck = TruckModel(
        service_s=config.service_s,
        speed_kmh=config.speed_kmh,
        detour=config.detour,
        tank_m3=config.tank_m3,
        dump_service_s=config.dump_service_s,
        **_dump_distance(env, config),
    )
    order = np.lexsort((all_xy[:, 0], np.floor(all_xy[:, 1] / DISTRICT_CELL_M)))
    round_day = np.empty(len(order))
    round_day[order] = np.floor(np.arange(len(order)) * 365.0 / max(len(order), 1))
    return yearly_summary(
        state,
        factors,
        params,
        dynamic_spacing_m=dynamic_spacing,
        yearly_spacing_m=_spacing(all_xy),
        truck=truck,
        round_day=round_day,
    )


# -- routes -------------------------------------------------------------------------------------


@dataclass
class DayRoutes:
    day: date
    plan: Any  # geo.routing.RoutePlan
    summary: dict[str, Any]  # counts, unserved and deferred drains, km, hours (also stored)


def plan_day_routes(
    store: Store,
    config: PlanConfig,
    day: date,
    *,
    trucks: int | None = None,
    roads_file: Path | None = None,
    time_limit_s: float | None = None,
    seed: int = 0,
) -> DayRoutes:
    """Routes for the suction work due on `day` (overdue drains included), stored for the API."""
    from geo.roads import RoadNetwork, RoadNetworkError
    from geo.routing import RouteInputError, RouteStop, plan_routes

    depots = parse_sites(config.depot, "depot")
    dumps = parse_sites(config.dump_sites, "dump site")
    if not depots:
        raise ConfigurationError(
            "No depot is set.", hint="Set PAKHUIS_PLAN_DEPOT='lon,lat' or pass --depot lon,lat."
        )
    result = plan_schedule(store, config, day, horizon_days=1)
    work = result.due[result.due["method"] != "sweep"]
    n_trucks = trucks or config.trucks
    # A day has room for so many stops; more would only slow the solver down. The most
    # urgent (earliest due, then fullest) go to the solver, with a margin; the rest is
    # deferred to the next days, listed with the reason.
    per_truck = config.shift_h * 3600.0 / (config.service_s + ROUGH_DRIVE_BETWEEN_STOPS_S)
    room = math.ceil(1.25 * n_trucks * per_truck)
    work = work.sort_values(["due", "fill_now"], ascending=[True, False], kind="stable")
    deferred = work.iloc[room:]
    work = work.iloc[:room]
    stops = [
        RouteStop(id=str(r.drain_key), lon=float(r.lon), lat=float(r.lat), volume_m3=float(r.sludge_m3))
        for r in work.itertuples(index=False)
    ]
    roads_path = roads_file or config.roads_file
    try:
        roads = RoadNetwork.from_file(roads_path) if roads_path is not None else None
        depot = depots[0]
        plan = plan_routes(
            stops,
            depot,
            dumps,
            n_trucks,
            capacity_m3=config.tank_m3,
            shift_s=config.shift_h * 3600.0,
            service_s=config.service_s,
            dump_service_s=config.dump_service_s,
            start_time=datetime(day.year, day.month, day.day, 7, 0),
            roads=roads,
            detour=config.detour,
            speed_kmh=config.speed_kmh,
            time_limit_s=time_limit_s or config.time_limit_s,
            seed=seed,
        )
    except (RouteInputError, RoadNetworkError) as exc:
        # Bad inputs (a road file without roads, a negative volume, no dump site for the work):
        # the planner's to fix, so a 400 / CLI error with the solver's own explanation.
        raise InvalidParameter(str(exc), hint="check the depot, dump sites, tank and road file") from exc
    summary = {
        "date": day.isoformat(),
        "due": len(result.due),
        "suction_due": len(stops) + len(deferred),
        "suction_stops": len(stops),
        "sweep_only": int((result.due["method"] == "sweep").sum()),
        "served": sum(sum(1 for v in r.visits if v.kind == "stop") for r in plan.routes),
        "unserved": [{"drain": u.id, "reason": u.reason} for u in plan.unserved],
        "deferred": len(deferred),
        "deferred_reason": (
            f"beyond today's capacity: {n_trucks} trucks × {config.shift_h:g} h fit about "
            f"{int(n_trucks * per_truck):,} stops; the most urgent (earliest due, fullest) go first"
        )
        if len(deferred)
        else None,
        "deferred_drains": [str(k) for k in deferred["drain_key"]],
        "trucks": len(plan.routes),
        "total_km": round(plan.total_distance_m / 1000.0, 2),
        "total_hours": round(plan.total_duration_s / 3600.0, 2),
        "dump_visits": [r.dump_visits for r in plan.routes],
        "travel": "road network " + str(roads_path)
        if roads is not None
        else (f"straight line × {config.detour} at {config.speed_kmh:g} km/h"),
    }
    parameters = {
        "trucks": n_trucks,
        "tank_m3": config.tank_m3,
        "shift_h": config.shift_h,
        "service_s": config.service_s,
        "dump_service_s": config.dump_service_s,
        "depot": [depot.lon, depot.lat],
        "dump_sites": [[s.lon, s.lat] for s in dumps],
        "time_limit_s": time_limit_s or config.time_limit_s,
    }
    store.save_route_plan(
        day,
        parameters=parameters,
        summary=summary,
        geojson=plan.to_geojson(),
        csv=plan.to_csv(),
        gpx=plan.to_gpx(),
    )
    return DayRoutes(day, plan, summary)
