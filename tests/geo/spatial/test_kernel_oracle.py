"""The grid kernels against scipy's cKDTree, over adversarial layouts and at scale.

Two oracles:

- a property test (Hypothesis) over layouts built to break a uniform grid: dense clusters
  inside sparse space, points on cell edges and corners, duplicates, huge extents with a few
  far points, queries far outside the targets, very unequal cell occupancy; every index is
  built both ways `build_grid` can build it (one counting sort, or two levels with few cells
  per run, which small inputs would otherwise never reach);
- seeded clustered layouts of 150,000 trees x 75,000 drains (~400,000 grid cells), which
  take the two-level build with the default settings. Before the fix of `_sort_cells_by_x`
  the last cell of every run of that build stayed unsorted and these seeds gave 12 and 260
  wrong nearest distances (the count varied: the build read memory another thread had not
  written yet); 100,000 trees (~270,000 cells) reproduced it for only some seeds, 80,000
  (~210,000 cells, the one-level build) never.

Nearest distances must equal cKDTree's within 1e-6 m (of tied targets either may be
returned, so indices are checked by their distance); counts within radii must equal
`query_ball_point(..., return_length=True)`, except for a target whose distance rounds onto
the radius (scipy compares d² with r², we compare d with r).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numba
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.spatial import cKDTree

import geo
from geo.spatial import _kernels

# (ox, oy, cs, nx, ny, start, sx, sy, sidx), as `_kernels.build_grid` returns it
Grid = tuple[float, float, float, int, int, np.ndarray, np.ndarray, np.ndarray, np.ndarray]
EXAMPLES = int(os.environ.get("PAKHUIS_KERNEL_EXAMPLES", "1000"))
RADII = np.array([0.5, 4.0, 10.0, 75.0])
TOLERANCE_M = 1e-6


# ---------------------------------------------------------------------------------------------
# layouts
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Part:
    """One ingredient of a layout; `make` turns it into points with a seeded generator."""

    kind: str
    n: int
    scale: float

    def make(self, rng: np.random.Generator, origin: np.ndarray) -> np.ndarray:
        if self.kind == "sparse":
            return origin + rng.random((self.n, 2)) * self.scale
        if self.kind == "cluster":  # dense: many points in a tiny spot
            centre = origin + rng.random(2) * self.scale
            return centre + rng.normal(size=(self.n, 2)) * (self.scale * 1e-4)
        if self.kind == "lattice":  # coordinates on multiples of a spacing: edges and corners
            spacing = self.scale / 64
            return origin + rng.integers(0, 64, (self.n, 2)).astype(np.float64) * spacing
        if self.kind == "duplicates":
            one = origin + rng.random(2) * self.scale
            return np.repeat(one[None, :], self.n, axis=0)
        if self.kind == "far":  # a few points very far from the rest
            return origin + (rng.random((self.n, 2)) - 0.5) * self.scale * 1e4
        if self.kind == "line":
            t = rng.random(self.n) * self.scale
            on_line: np.ndarray = origin + np.column_stack([t, np.full(self.n, float(t[0]))])
            return on_line
        raise AssertionError(self.kind)


KINDS = ("sparse", "cluster", "lattice", "duplicates", "far", "line")
parts = st.builds(
    Part,
    kind=st.sampled_from(KINDS),
    n=st.integers(1, 400),
    scale=st.sampled_from([1.0, 37.5, 1_000.0, 20_000.0]),
)


@dataclass(frozen=True)
class Layout:
    targets: list[Part]
    queries: list[Part]
    origin: tuple[float, float]
    decimals: int | None  # rounding makes ties and shared cell edges
    seed: int

    def points(self) -> tuple[np.ndarray, np.ndarray]:
        rng = np.random.default_rng(self.seed)
        origin = np.array(self.origin)
        t = np.vstack([p.make(rng, origin) for p in self.targets])
        q = np.vstack([p.make(rng, origin) for p in self.queries])
        if self.decimals is not None:
            t, q = np.round(t, self.decimals), np.round(q, self.decimals)
        return np.ascontiguousarray(rng.permutation(t)), np.ascontiguousarray(q)


layouts = st.builds(
    Layout,
    targets=st.lists(parts, min_size=1, max_size=4),
    queries=st.lists(parts, min_size=1, max_size=3),
    origin=st.sampled_from([(0.0, 0.0), (155_000.0, 463_000.0), (-3.5e6, 5.2e6)]),
    decimals=st.sampled_from([None, 2, 0]),
    seed=st.integers(0, 2**32 - 1),
)
# How `build_grid` builds: (cells up to which one counting sort is used, runs of the two-level sort)
builds = st.sampled_from([(_kernels._DIRECT_CELLS, _kernels._BUCKETS), (0, 1), (0, 2), (0, 7), (0, 4096)])


# ---------------------------------------------------------------------------------------------
# checks
# ---------------------------------------------------------------------------------------------


def assert_nearest_exact(queries: np.ndarray, targets: np.ndarray, dist: np.ndarray, idx: np.ndarray) -> int:
    """Distances equal cKDTree's, and each returned index lies at the returned distance."""
    kd_dist, _ = cKDTree(targets).query(queries, k=1)
    # 1e-6 m, or a few units in the last place for queries millions of kilometres away
    wrong = np.abs(dist - kd_dist) > np.maximum(TOLERANCE_M, 4 * np.finfo(float).eps * kd_dist)
    assert not wrong.any(), (
        f"{int(wrong.sum())} of {len(queries)} nearest distances differ from cKDTree; first at "
        f"query {queries[np.argmax(wrong)].tolist()}: ours {dist[wrong][0]!r}, cKDTree {kd_dist[wrong][0]!r}"
    )
    assert (idx >= 0).all()
    dx, dy = (targets[idx] - queries).T
    assert (np.sqrt(dx * dx + dy * dy) == dist).all(), "an index does not lie at its distance"
    return len(queries)


def assert_counts_exact(
    queries: np.ndarray, targets: np.ndarray, counts: np.ndarray, radii: np.ndarray
) -> None:
    tree = cKDTree(targets)
    for j, r in enumerate(radii):
        expected = tree.query_ball_point(queries, r, return_length=True)
        differ = np.flatnonzero(counts[:, j] != expected)
        for i in differ:  # only a distance that rounds onto the radius may be counted differently
            dx, dy = (targets - queries[i]).T
            d = np.sqrt(dx * dx + dy * dy)  # as the kernels compute it
            on_edge = np.abs(d - r) <= 1e-12 * max(r, 1.0) + 1e-9
            assert abs(int(counts[i, j]) - int(expected[i])) <= int(on_edge.sum()), (
                f"query {queries[i].tolist()} radius {r}: ours {counts[i, j]}, cKDTree {expected[i]}"
            )
            assert counts[i, j] == int((d <= r).sum())


def grid(targets: np.ndarray, build: tuple[int, int]) -> Grid:
    return _kernels.build_grid(targets, 2.0, build[0], build[1])


def assert_index_is_consistent(targets: np.ndarray, g: Grid) -> None:
    """Every target once, in its own cell, and every row of cells sorted by x."""
    ox, oy, cs, nx, ny, start, sx, sy, sidx = g
    assert start[0] == 0 and start[-1] == len(targets) and (np.diff(start) >= 0).all()
    assert (np.sort(sidx) == np.arange(len(targets))).all()
    assert (sx == targets[sidx, 0]).all() and (sy == targets[sidx, 1]).all()
    cell = np.repeat(np.arange(nx * ny), np.diff(start))
    assert (_kernels._cell_ids(targets, ox, oy, cs, nx, ny)[sidx] == cell).all()
    same_row = cell[1:] // nx == cell[:-1] // nx
    assert not (same_row & (sx[1:] < sx[:-1])).any(), "a row of cells is not sorted by x"


# ---------------------------------------------------------------------------------------------
# the property
# ---------------------------------------------------------------------------------------------


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(layout=layouts, build=builds)
def test_kernels_match_kdtree_on_adversarial_layouts(layout: Layout, build: tuple[int, int]) -> None:
    targets, queries = layout.points()
    g = grid(targets, build)
    assert_index_is_consistent(targets, g)
    # queries on the index's own cell edges and corners, and far outside it
    ox, oy, cs, nx, ny = g[:5]
    edges = np.array([[ox + i * cs, oy + j * cs] for i in (0, 1, nx // 2, nx) for j in (0, 1, ny // 2, ny)])
    span = max(nx, ny) * cs
    outside = np.array([[ox - 50 * span, oy], [ox + 3 * span, oy + 7 * span], [ox + span / 2, oy - 1e6]])
    queries = np.ascontiguousarray(np.vstack([queries, edges, outside]))
    threads = numba.get_num_threads()

    dist, idx = _kernels.nearest(queries, *g, threads)
    assert_nearest_exact(queries, targets, dist, idx)

    counts, _load, _flagged, fdist, fidx = _kernels.within(
        queries, *g, RADII, np.empty(0), 0.0, np.empty(0, np.uint8), 0.0, True, threads
    )
    assert_counts_exact(queries, targets, counts, RADII)
    assert_nearest_exact(queries, targets, fdist, fidx)


def test_both_builds_give_the_same_index() -> None:
    rng = np.random.default_rng(7)
    targets = np.ascontiguousarray(np.round(rng.random((5_000, 2)) * 300.0, 1))
    one = grid(targets, (_kernels._DIRECT_CELLS, _kernels._BUCKETS))
    for build in [(0, 1), (0, 3), (0, 4096)]:
        two = grid(targets, build)
        assert one[:5] == two[:5]
        for a, b in zip(one[5:8], two[5:8], strict=True):
            assert (a == b).all()


# ---------------------------------------------------------------------------------------------
# at scale: the default build's two-level path
# ---------------------------------------------------------------------------------------------


def clustered(n: int, extent_m: float, seed: int) -> np.ndarray:
    """Small, tight neighbourhoods (20-100 m) scattered over a large square, 2 % in between:
    many more grid cells than a uniform layout of the same size gives."""
    rng = np.random.default_rng(seed)
    clusters = max(20, int(extent_m**2 / 1e6 * 0.05))
    centres = rng.random((clusters, 2)) * extent_m
    share = rng.lognormal(0.0, 1.0, clusters)
    which = rng.choice(clusters, size=n - n // 50, p=share / share.sum())
    spread = rng.uniform(20.0, 100.0, clusters)[which]
    pts = centres[which] + rng.normal(size=(len(which), 2)) * spread[:, None]
    pts = np.clip(np.vstack([pts, rng.random((n // 50, 2)) * extent_m]), 0.0, extent_m)
    return np.ascontiguousarray(np.round(rng.permutation(pts) + np.array([20_000.0, 320_000.0]), 2))


@pytest.mark.parametrize("seed", [2, 4])
def test_large_clustered_layout_is_exact(seed: int) -> None:
    trees = clustered(150_000, 20_000.0, seed)
    drains = clustered(75_000, 20_000.0, seed + 100)
    index = geo.GridIndex(trees)
    cells = index._grid[3] * index._grid[4]
    assert cells > _kernels._DIRECT_CELLS, "the layout no longer takes the two-level build"
    assert_index_is_consistent(trees, index._grid)
    dist, idx = index.nearest(drains)
    assert_nearest_exact(drains, trees, dist, idx)
    radii = (4.0, 10.0)
    assert_counts_exact(drains, trees, geo.counts_within(drains, trees, radii), np.array(radii))
