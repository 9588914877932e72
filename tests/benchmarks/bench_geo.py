"""Spatial kernels against scipy, shapely and geopandas, side by side in one run, every answer
checked against cKDTree.

    python -m tests.benchmarks.bench_geo                          # every size, then the cold start
    python -m tests.benchmarks.bench_geo --sizes small,utrecht    # a selection
    python -m tests.benchmarks.bench_geo --sizes country          # 5M x 10M, ~6 GB RAM

Goals (issue 12):

- 0 wrong answers at every size (the script exits non-zero otherwise);
- utrecht: nearest >= 5x cKDTree and >= 15x sjoin_nearest; the full GeoDataFrame indicators
  >= 3x cKDTree's nearest alone;
- million: nearest >= 3x cKDTree;
- country: drain indicators + 100 m cells < 10 s;
- cold start (a new process, numba cache warm): import + first call < 1 s.

A final table prints each goal's figure and "meets" or "MISSES"; a missed speed goal does not
fail the run, a wrong answer does.

Wrong answers, counted per size and kernel against the oracle, which runs on the full input at
every size (country included): nearest distances vs `cKDTree.query` (|diff| > 1e-6 m is
wrong); `counts_within` at 4 m and 10 m vs `cKDTree.query_ball_point(..., return_length=True)`;
the indicators' nearest_tree_m, trees_within_4m and trees_within_10m vs the same oracle. A
count disagreement explained by trees at distance r within 1e-9 relative (rounding at the
radius) is not wrong but printed as a tie.

Baselines, on the same points in the same run, each named on its line with its ratio
(baseline time / our time): `cKDTree(trees).query(drains, k=1, workers=-1)` (tree build
included: a register change means a new tree), `shapely.STRtree(...).query_nearest` (up to the
million size) and `gpd.sjoin_nearest(d_gdf, t_gdf[["geometry"]], distance_col="d")`. Above
100,000 drains sjoin_nearest runs on random subsamples of 1,000 drains and of a tenth of the
drains (at least 100,000), against all trees, and its time is extrapolated linearly (fixed
cost + cost per drain), as its line says. Every contender gets the same number of
repetitions per size, taking turns within each round (a load burst on the shared machine hits
them all, not one), and the figure is the median.

Sizes (points are synthetic, city-like: clustered neighbourhoods plus a sparse background,
in RD New coordinates rounded to 1 cm, so the GeoDataFrame path needs no reprojection):

- small:   3,000 drains x 20,000 trees on 3 x 3 km (a smoke test), 7 repetitions;
- utrecht: 30,000 drains x 217,062 trees (Utrecht's tree count) on 10 x 10 km, 5;
- million: 1,000,000 drains x 5,000,000 trees on 50 x 50 km, 3;
- country: 5,000,000 drains x 10,000,000 trees in ~1,500 towns (200-1200 m spread) and 2 %
  scattered over 250 x 280 km, once: full indicators + 100 m cells (cell polygons cost
  ~1-1.5 µs each in GEOS, so their number matters; it is printed);
- cold start (always): import + first call in a new process with a warm numba cache, the
  median of 3 processes.

Not collected by pytest (the file name does not start with test_).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

os.environ.setdefault("NUMBA_CACHE_DIR", str(Path(tempfile.gettempdir()) / "pakhuis-numba-cache"))

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.spatial import cKDTree

import geo

REPO = Path(__file__).resolve().parents[2]
RD = "EPSG:28992"
RADII = (4.0, 10.0)
DIST_TOL_M = 1e-6  # a nearest distance further than this from cKDTree's is wrong
TIE_REL = 1e-9  # a tree this close (relative) to a radius is a tie at that radius
TIE_CHECK_MAX = 100_000  # disagreeing counts looked into for ties, per kernel and radius
SJOIN_FULL_MAX = 100_000  # above this many drains sjoin_nearest is extrapolated from subsamples
SJOIN_SHARE = 10  # ... the larger one a tenth of the drains (at least SJOIN_FULL_MAX): extrapolating
# further turns a little noise in the per-drain cost into a large error at one repetition
SJOIN_FIXED = 1_000  # the small subsample that measures sjoin_nearest's fixed cost


@dataclass(frozen=True)
class Layout:
    """Where the points lie: clusters (neighbourhoods or towns) plus a scattered share."""

    clusters_per_km2: float
    spread_m: tuple[float, float]
    background: float


CITY = Layout(1.5, (100.0, 800.0), 0.10)  # neighbourhoods, streets everywhere
NL = Layout(1500 / 70_000, (200.0, 1200.0), 0.02)  # ~1,500 towns and cities, rural roads between


@dataclass(frozen=True)
class Size:
    name: str
    drains: int
    trees: int
    extent_m: tuple[float, float]
    layout: Layout
    repeats: int
    strtree: bool
    country: bool = False


SIZES = {
    "small": Size("small", 3_000, 20_000, (3_000.0, 3_000.0), CITY, 7, True),
    "utrecht": Size("utrecht", 30_000, 217_062, (10_000.0, 10_000.0), CITY, 5, True),
    "million": Size("million", 1_000_000, 5_000_000, (50_000.0, 50_000.0), CITY, 3, True),
    "country": Size("country", 5_000_000, 10_000_000, (250_000.0, 280_000.0), NL, 1, False, country=True),
}
ORIGIN = (20_000.0, 320_000.0)  # south-west of the Netherlands in RD New


@dataclass(frozen=True)
class Check:
    """Wrong answers of one kernel at one size (ties: disagreements at a radius' rounding)."""

    size: str
    kernel: str
    wrong: int
    ties: int = 0


@dataclass
class Report:
    """What the run found: the answer checks and the figures the goals are judged on."""

    checks: list[Check] = field(default_factory=list)
    figures: dict[str, float] = field(default_factory=dict)

    def wrong(self) -> int:
        return sum(c.wrong for c in self.checks)


@dataclass(frozen=True)
class Oracle:
    """cKDTree's answers on the full input: nearest distances and counts within each radius."""

    tree: Any  # scipy.spatial.cKDTree
    distance: np.ndarray
    counts: dict[float, np.ndarray]


@dataclass(frozen=True)
class Result:
    """A contender's median time and the result of its last call."""

    seconds: float
    value: Any


@dataclass(frozen=True)
class Timed:
    """A median time and how it was obtained, when that needs saying."""

    seconds: float
    note: str = ""


def city_like(n: int, extent: tuple[float, float], seed: int, layout: Layout = CITY) -> np.ndarray:
    """Clustered points: Gaussian clusters (neighbourhoods, or towns at country scale) with
    lognormal sizes, plus a share scattered over the whole extent; (n, 2) float64 in RD New
    metres, in random order (as a worst case for memory locality)."""
    rng = np.random.default_rng(seed)
    w, h = extent
    clusters = max(20, int(w * h / 1e6 * layout.clusters_per_km2))
    centres = rng.random((clusters, 2)) * (w, h)
    share = rng.lognormal(0.0, 1.0, clusters)
    share /= share.sum()
    n_bg = int(n * layout.background)
    which = rng.choice(clusters, size=n - n_bg, p=share)
    spread = rng.uniform(*layout.spread_m, clusters)[which]
    pts = centres[which] + rng.normal(size=(n - n_bg, 2)) * spread[:, None]
    pts = np.vstack([pts, rng.random((n_bg, 2)) * (w, h)])
    pts = np.clip(pts, 0.0, (w, h))
    rng.shuffle(pts)
    return np.ascontiguousarray(np.round(pts + ORIGIN, 2))


def frames(drains: np.ndarray, trees: np.ndarray, seed: int) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    rng = np.random.default_rng(seed)
    leaf = pd.Categorical.from_codes(
        rng.choice(4, size=len(trees), p=[0.4, 0.35, 0.05, 0.2]), categories=list(geo.LEAF_CLASSES)
    )
    d = gpd.GeoDataFrame({"id": np.arange(len(drains))}, geometry=shapely.points(drains), crs=RD)
    t = gpd.GeoDataFrame(
        {"id": np.arange(len(trees)), "leaf_class": leaf}, geometry=shapely.points(trees), crs=RD
    )
    return d, t


# ---------------------------------------------------------------- timing and printing


def round_robin(repeats: int, contenders: dict[str, Callable[[], Any]]) -> dict[str, Result]:
    """Each contender's median wall time over `repeats` rounds and its last result. The
    contenders take turns within each round, so a load burst on the shared machine hits them
    all rather than one; a full gc before each call."""
    times: dict[str, list[float]] = {name: [] for name in contenders}
    last: dict[str, Any] = dict.fromkeys(contenders)
    for _ in range(repeats):
        for name, fn in contenders.items():
            last[name] = None  # free the previous result first (the country size is large)
            gc.collect()
            t0 = time.perf_counter()
            last[name] = fn()
            times[name].append(time.perf_counter() - t0)
    return {name: Result(statistics.median(times[name]), last[name]) for name in contenders}


def line(label: str, seconds: float, baselines: dict[str, float] | None = None, note: str = "") -> None:
    text = f"  {label:<46} {seconds:9.3f} s"
    for name, base in (baselines or {}).items():
        text += f" | {name} {base:8.3f} s → {base / seconds:6.2f}×"
    print(text + (f"  ({note})" if note else ""), flush=True)


def print_check(check: Check) -> None:
    ties = f", {check.ties:,} ties at the radius" if check.ties else ""
    flag = "" if check.wrong == 0 else "   <-- WRONG"
    print(f"  wrong answers {check.kernel:<44} {check.wrong:,}{ties}{flag}", flush=True)


# ---------------------------------------------------------------- the oracle and the checks


def kd_nearest(drains: np.ndarray, trees: np.ndarray) -> tuple[Any, np.ndarray]:
    tree = cKDTree(trees)
    dist, _ = tree.query(drains, k=1, workers=-1)
    return tree, dist


def kd_counts(drains: np.ndarray, trees: np.ndarray) -> dict[float, np.ndarray]:
    tree = cKDTree(trees)
    return {r: tree.query_ball_point(drains, r, workers=-1, return_length=True) for r in RADII}


def nearest_wrong(distance: np.ndarray, expected: np.ndarray) -> int:
    d = np.asarray(distance, dtype=np.float64)
    differ = ~(np.abs(d - expected) <= DIST_TOL_M)  # NaN (a missing answer) counts as wrong
    return int(np.count_nonzero(differ))


def trees_at_radius(
    drains: np.ndarray, trees: np.ndarray, oracle: Oracle, rows: np.ndarray, r: float
) -> np.ndarray:
    """Per drain in `rows`: how many trees lie at distance r within TIE_REL (relative)."""
    near = oracle.tree.query_ball_point(drains[rows], r * (1 + 2 * TIE_REL), workers=-1)
    lengths = np.array([len(n) for n in near], dtype=np.int64)
    if lengths.sum() == 0:
        return np.zeros(len(rows), np.int64)
    which = np.concatenate([np.asarray(n, dtype=np.int64) for n in near])
    owner = np.repeat(rows, lengths)
    d = np.hypot(*(trees[which] - drains[owner]).T)
    at_r = np.abs(d - r) <= TIE_REL * r
    return np.bincount(np.repeat(np.arange(len(rows)), lengths), weights=at_r, minlength=len(rows)).astype(
        np.int64
    )


def count_wrong(
    drains: np.ndarray, trees: np.ndarray, counts: np.ndarray, oracle: Oracle, r: float
) -> tuple[int, int]:
    """(wrong, ties) of counts within r: a disagreement no larger than the number of trees at
    distance r (within TIE_REL) is a tie, any other one is wrong."""
    ours = np.asarray(counts, dtype=np.int64)
    differ = np.flatnonzero(ours != oracle.counts[r])
    rows = differ[:TIE_CHECK_MAX]  # beyond that many the kernel is broken: the rest are wrong
    if len(rows) == 0:
        return 0, 0
    gap = np.abs(ours[rows] - oracle.counts[r][rows])
    at_r = trees_at_radius(drains, trees, oracle, rows, r)
    ties = int(np.count_nonzero(gap <= at_r))
    return len(differ) - ties, ties


def check_counts(
    size: str, columns: dict[str, np.ndarray], drains: np.ndarray, trees: np.ndarray, oracle: Oracle
) -> list[Check]:
    """One check per radius; `columns` maps a kernel's name to its counts, in RADII's order."""
    out = []
    for r, (kernel, col) in zip(RADII, columns.items(), strict=True):
        wrong, ties = count_wrong(drains, trees, col, oracle, r)
        out.append(Check(size, kernel, wrong, ties))
    return out


def record(report: Report, checks: list[Check]) -> None:
    for c in checks:
        print_check(c)
    report.checks.extend(checks)


# ---------------------------------------------------------------- contenders


def strtree_nearest(drain_geoms: np.ndarray, tree_geoms: np.ndarray) -> Any:
    return shapely.STRtree(tree_geoms).query_nearest(drain_geoms, return_distance=True, all_matches=False)


def sjoin(d_gdf: gpd.GeoDataFrame, t_gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    return gpd.sjoin_nearest(d_gdf, t_gdf[["geometry"]], distance_col="d")


SJOIN = "sjoin_nearest"
SJOIN_SMALL = f"sjoin_nearest on {SJOIN_FIXED:,} drains"
SJOIN_BIG = "sjoin_nearest on the larger subsample"


def big_subsample(n: int) -> int:
    return min(n, max(SJOIN_FULL_MAX, n // SJOIN_SHARE))


def sjoin_contenders(d_gdf: gpd.GeoDataFrame, t_gdf: gpd.GeoDataFrame) -> dict[str, Callable[[], Any]]:
    """sjoin_nearest on all drains; above SJOIN_FULL_MAX drains on random subsamples (drawn
    once per size) of SJOIN_FIXED drains and of `big_subsample(n)` drains, against all trees."""
    if t_gdf.has_sindex:
        raise RuntimeError("the trees frame already has a spatial index: sjoin_nearest would not build one")
    n = len(d_gdf)
    if n <= SJOIN_FULL_MAX:
        return {SJOIN: lambda: sjoin(d_gdf, t_gdf)}
    rng = np.random.default_rng(4)
    big = np.sort(rng.choice(n, big_subsample(n), replace=False))
    small = big[np.sort(rng.choice(len(big), SJOIN_FIXED, replace=False))]
    d_big, d_small = d_gdf.iloc[big], d_gdf.iloc[small]
    return {SJOIN_SMALL: lambda: sjoin(d_small, t_gdf), SJOIN_BIG: lambda: sjoin(d_big, t_gdf)}


def sjoin_estimate(results: dict[str, Result], n: int) -> Timed:
    """sjoin_nearest's time on all n drains: measured, or extrapolated linearly (fixed cost +
    cost per drain) from the two subsamples, with the note that says so."""
    if SJOIN in results:
        return Timed(results[SJOIN].seconds)
    t_small, t_big = results[SJOIN_SMALL].seconds, results[SJOIN_BIG].seconds
    m = big_subsample(n)
    per_drain = max(0.0, (t_big - t_small) / (m - SJOIN_FIXED))
    note = (
        f"sjoin_nearest extrapolated linearly to {n:,} drains from random subsamples against all "
        f"trees: {SJOIN_FIXED:,} drains {t_small:.2f} s, {m:,} drains {t_big:.2f} s"
    )
    return Timed(t_small + per_drain * (n - SJOIN_FIXED), note)


# ---------------------------------------------------------------- one size


@dataclass(frozen=True)
class FirstRound:
    """What the nearest round leaves for the checks and the cells."""

    kd_tree: Any  # scipy.spatial.cKDTree over the trees
    kd_distance: np.ndarray
    indicators: pd.DataFrame
    indicators_s: float


def run_size(size: Size, report: Report) -> None:
    print(
        f"\n== {size.name}: {size.drains:,} drains × {size.trees:,} trees on "
        f"{size.extent_m[0] / 1000:g} × {size.extent_m[1] / 1000:g} km, "
        f"median of {size.repeats} per contender, run round-robin",
        flush=True,
    )
    t0 = time.perf_counter()
    drains = city_like(size.drains, size.extent_m, 1, size.layout)
    trees = city_like(size.trees, size.extent_m, 2, size.layout)
    d_gdf, t_gdf = frames(drains, trees, 3)
    print(f"  (points and GeoDataFrames generated in {time.perf_counter() - t0:.1f} s)", flush=True)
    first = nearest_round(size, drains, trees, d_gdf, t_gdf, report)
    oracle = counts_round(size, drains, trees, first, report)
    if not size.country:
        index_rounds(size, drains, trees)
    record(report, indicator_checks(size.name, drains, trees, first.indicators, oracle))
    cells_part(size, d_gdf, t_gdf, first, report)


def nearest_round(
    size: Size,
    drains: np.ndarray,
    trees: np.ndarray,
    d_gdf: gpd.GeoDataFrame,
    t_gdf: gpd.GeoDataFrame,
    report: Report,
) -> FirstRound:
    """Ours (numpy nearest and GeoDataFrame indicators) against cKDTree (the oracle's nearest),
    STRtree and sjoin_nearest on the same points, round-robin."""
    contenders: dict[str, Callable[[], Any]] = {
        "nearest_distances": lambda: geo.nearest_distances(drains, trees),
        "drain_tree_indicators": lambda: geo.drain_tree_indicators(d_gdf, t_gdf),
        "cKDTree": lambda: kd_nearest(drains, trees),
    }
    if size.strtree:
        drain_geoms, tree_geoms = shapely.points(drains), shapely.points(trees)
        contenders["STRtree.query_nearest"] = lambda: strtree_nearest(drain_geoms, tree_geoms)
    contenders.update(sjoin_contenders(d_gdf, t_gdf))
    res = round_robin(size.repeats, contenders)
    sj = sjoin_estimate(res, len(drains))
    t_ours, t_ind, t_kd = (res[k].seconds for k in ("nearest_distances", "drain_tree_indicators", "cKDTree"))
    baselines: dict[str, float] = {
        k: res[k].seconds for k in ("cKDTree", "STRtree.query_nearest") if k in res
    }
    line("nearest_distances (numpy, same points)", t_ours, {**baselines, SJOIN: sj.seconds}, sj.note)
    line("drain_tree_indicators vs cKDTree nearest alone", t_ind, {"cKDTree nearest": t_kd})
    sj_frames = {"sjoin_nearest (GeoDataFrames in, GeoDataFrame out)": sj.seconds}
    line("drain_tree_indicators (GeoDataFrames)", t_ind, sj_frames, sj.note)
    report.figures[f"{size.name} nearest vs cKDTree"] = t_kd / t_ours
    report.figures[f"{size.name} nearest vs sjoin_nearest"] = sj.seconds / t_ours
    report.figures[f"{size.name} indicators vs cKDTree nearest"] = t_kd / t_ind
    kd_tree, kd_dist = res["cKDTree"].value
    record(
        report,
        [Check(size.name, "nearest_distances", nearest_wrong(res["nearest_distances"].value[0], kd_dist))],
    )
    return FirstRound(kd_tree, kd_dist, res["drain_tree_indicators"].value, t_ind)


def counts_round(
    size: Size, drains: np.ndarray, trees: np.ndarray, first: FirstRound, report: Report
) -> Oracle:
    """counts_within against cKDTree's query_ball_point (the oracle's counts), round-robin."""
    kd_name = "cKDTree + query_ball_point(4 m, 10 m, length)"
    res = round_robin(
        size.repeats,
        {"ours": lambda: geo.counts_within(drains, trees, RADII), kd_name: lambda: kd_counts(drains, trees)},
    )
    line("counts_within (4 m, 10 m)", res["ours"].seconds, {kd_name: res[kd_name].seconds})
    oracle = Oracle(first.kd_tree, first.kd_distance, res[kd_name].value)
    counts = res["ours"].value
    columns = {f"counts_within {r:g} m": counts[:, j] for j, r in enumerate(RADII)}
    record(report, check_counts(size.name, columns, drains, trees, oracle))
    return oracle


def index_rounds(size: Size, drains: np.ndarray, trees: np.ndarray) -> None:
    """Build and query apart: GridIndex vs cKDTree, round-robin."""
    built = round_robin(size.repeats, {"grid": lambda: geo.GridIndex(trees), "kd": lambda: cKDTree(trees)})
    index, kd_tree = built["grid"].value, built["kd"].value
    queried = round_robin(
        size.repeats,
        {"grid": lambda: index.nearest(drains), "kd": lambda: kd_tree.query(drains, k=1, workers=-1)},
    )
    line("  index build (grid / kd-tree)", built["grid"].seconds, {"cKDTree build": built["kd"].seconds})
    line(
        "  queries on a built index",
        queried["grid"].seconds,
        {"cKDTree query": queried["kd"].seconds},
        f"grid cell {index.cell_size:.1f} m",
    )


def indicator_checks(
    size: str, drains: np.ndarray, trees: np.ndarray, ind: pd.DataFrame, oracle: Oracle
) -> list[Check]:
    checks = [
        Check(
            size,
            "indicators nearest_tree_m",
            nearest_wrong(ind["nearest_tree_m"].to_numpy(), oracle.distance),
        )
    ]
    columns = {f"indicators trees_within_{x:g}m": ind[f"trees_within_{x:g}m"].to_numpy() for x in RADII}
    return checks + check_counts(size, columns, drains, trees, oracle)


def cells_part(
    size: Size, d_gdf: gpd.GeoDataFrame, t_gdf: gpd.GeoDataFrame, first: FirstRound, report: Report
) -> None:
    """100 m cells from the indicators (no baseline), and the country's total against its goal."""
    ind = first.indicators
    res = round_robin(
        size.repeats, {"cells": lambda: geo.cell_indicators(d_gdf, t_gdf, 100.0, indicators=ind)}
    )
    t_cells = res["cells"].seconds
    line(f"cell_indicators 100 m ({len(res['cells'].value):,} cells)", t_cells)
    if size.country:
        line("indicators + cells (goal < 10 s)", first.indicators_s + t_cells)
        report.figures["country indicators + cells s"] = first.indicators_s + t_cells
    print(
        f"  share of drains within 4 m of a tree {np.mean(ind['trees_within_4m'] > 0):.1%}, "
        f"within 10 m {np.mean(ind['trees_within_10m'] > 0):.1%}",
        flush=True,
    )


# ---------------------------------------------------------------- cold start

COLD = """
import json, sys, time
t0 = time.perf_counter()
import numpy as np
import geo
t1 = time.perf_counter()
rng = np.random.default_rng(0)
trees = rng.random((20000, 2)) * 3000.0
drains = rng.random((3000, 2)) * 3000.0
t2 = time.perf_counter()
geo.nearest_distances(drains, trees)
t3 = time.perf_counter()
out = {"import": t1 - t0, "first_call": t3 - t2}
if sys.argv[1] == "indicators":
    import geopandas as gpd, shapely
    t4 = time.perf_counter()
    d = gpd.GeoDataFrame(geometry=shapely.points(drains + (150000.0, 450000.0)), crs=28992)
    t = gpd.GeoDataFrame(geometry=shapely.points(trees + (150000.0, 450000.0)), crs=28992)
    t5 = time.perf_counter()
    geo.drain_tree_indicators(d, t)
    t6 = time.perf_counter()
    out["import_geopandas"] = t5 - t4
    out["first_indicators"] = t6 - t5
print(json.dumps(out))
"""


def median_process(mode: str) -> tuple[float, dict[str, float]]:
    """(wall time, figures) of the median of 3 new processes running COLD."""
    runs = []
    for _ in range(3):
        t0 = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-c", COLD, mode], cwd=REPO, check=True, capture_output=True, text=True
        )
        runs.append((time.perf_counter() - t0, json.loads(done.stdout)))
    return sorted(runs, key=lambda x: x[0])[1]


def cold_start(report: Report) -> None:
    print("\n== cold start: first call in a new process, numba cache warm (median of 3)", flush=True)
    subprocess.run([sys.executable, "-c", "import geo; geo.warm_up()"], cwd=REPO, check=True)
    wall, f = median_process("nearest")
    total = f["import"] + f["first_call"]
    report.figures["cold start s"] = total
    print(
        f"  import geo {f['import']:.3f} s + first nearest_distances {f['first_call']:.3f} s = "
        f"{total:.3f} s; whole process incl. interpreter {wall:.3f} s",
        flush=True,
    )
    wall, f = median_process("indicators")
    print(
        f"  first drain_tree_indicators {f['first_indicators']:.3f} s "
        f"(after import geopandas {f['import_geopandas']:.3f} s); whole process {wall:.3f} s",
        flush=True,
    )


# ---------------------------------------------------------------- the summary

# (figure key, description, goal, at least (True) or below (False), unit)
GOALS = (
    ("utrecht nearest vs cKDTree", "utrecht nearest / cKDTree", 5.0, True, "×"),
    ("utrecht nearest vs sjoin_nearest", "utrecht nearest / sjoin_nearest", 15.0, True, "×"),
    (
        "utrecht indicators vs cKDTree nearest",
        "utrecht GeoDataFrame indicators / cKDTree nearest",
        3.0,
        True,
        "×",
    ),
    ("million nearest vs cKDTree", "million nearest / cKDTree", 3.0, True, "×"),
    ("country indicators + cells s", "country indicators + 100 m cells", 10.0, False, " s"),
    ("cold start s", "cold start: import + first call", 1.0, False, " s"),
)


def table_row(what: str, figure: str, goal: str, verdict: str) -> str:
    return f"  {what:<52} {figure:>10}   {goal:<12} {verdict}"


def goal_row(report: Report, key: str, what: str, goal: float, at_least: bool, unit: str) -> str:
    target = f"{'>=' if at_least else '<'} {goal:g}{unit}"
    if key not in report.figures:
        return table_row(what, "not run", target, "-")
    value = report.figures[key]
    met = value >= goal if at_least else value < goal
    return table_row(what, f"{value:.2f}{unit}", target, "meets" if met else "MISSES")


def summary(report: Report, sizes: list[str]) -> None:
    print("\n== summary: goals of issue 12 (figure, goal, verdict)", flush=True)
    for size in sizes:
        wrong = sum(c.wrong for c in report.checks if c.size == size)
        ties = sum(c.ties for c in report.checks if c.size == size)
        what = f"{size}: wrong answers, all kernels ({ties:,} ties)"
        print(table_row(what, f"{wrong:,}", "= 0", "meets" if wrong == 0 else "MISSES"), flush=True)
    for goal in GOALS:
        print(goal_row(report, *goal), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", action="append", help=f"{', '.join(SIZES)} (comma-separated; default all)")
    args = parser.parse_args()
    names = [n for item in (args.sizes or [",".join(SIZES)]) for n in item.split(",") if n]
    unknown = [n for n in names if n not in SIZES]
    if unknown:
        parser.error(f"unknown size(s) {unknown}; choose from {list(SIZES)}")
    import numba

    print(
        f"bench_geo: numba {numba.__version__}, threading layer {geo.threading_layer()}, "
        f"{numba.get_num_threads()} threads, {os.cpu_count()} CPUs",
        flush=True,
    )
    geo.warm_up()
    started = time.perf_counter()
    report = Report()
    for name in names:
        run_size(SIZES[name], report)
    cold_start(report)
    summary(report, names)
    print(f"\nbench_geo: {', '.join(names)} and the cold start in {time.perf_counter() - started:.0f} s")
    if report.wrong():
        print(f"\nbench_geo: {report.wrong():,} wrong answers", flush=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
