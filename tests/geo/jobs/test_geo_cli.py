"""`pakhuis load drains|trees` and `pakhuis geo indicators` as a planner runs them, on real registers,
checked against a cKDTree oracle; then the drain and cell endpoints of the API."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from scipy.spatial import cKDTree

from api import create_app
from pakhuis.store import Store
from tests.support import REPO, pakhuis_command, shared_data

pytestmark = pytest.mark.integration


def _run(database_url: str, *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAKHUIS_")}
    env["PAKHUIS_DATABASE_URL"] = database_url
    result = subprocess.run(
        pakhuis_command(*args), env=env, cwd=REPO, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_somerville_indicators_from_the_cli_match_ckdtree(
    database_url: str, store: Store, tmp_path: Path
) -> None:
    folder = shared_data("somerville_ma")
    loaded = _run(database_url, "load", "drains", str(folder / "drains.csv"))
    assert "rejected 0" in loaded
    _run(database_url, "load", "trees", str(folder / "trees.csv"))
    out = tmp_path / "drains.csv"
    report = _run(database_url, "geo", "indicators", "--cell", "100", "--out", str(out))
    assert "indicators for" in report and "timings:" in report

    drains = store.drains_register()
    trees = store.trees_register()
    assert len(drains) == len(pd.read_csv(folder / "drains.csv"))
    # Oracle: the same points, projected independently, nearest tree by cKDTree.
    utm = gpd.GeoSeries(
        gpd.points_from_xy([drains[0]["lon"]], [drains[0]["lat"]]), crs="EPSG:4326"
    ).estimate_utm_crs()

    def to_metric(rows: list[dict[str, Any]]) -> np.ndarray:
        points = gpd.GeoSeries(
            gpd.points_from_xy([r["lon"] for r in rows], [r["lat"] for r in rows]), crs="EPSG:4326"
        ).to_crs(utm)
        return np.column_stack([points.x, points.y])

    distance, _ = cKDTree(to_metric(trees)).query(to_metric(drains), k=1)
    stored: dict[int, dict[str, Any]] = {}
    for d in drains:
        row = store.drain(d["id"])
        assert row is not None
        stored[row["id"]] = row
    nearest = np.array([stored[d["id"]]["nearest_tree_m"] for d in drains], dtype=np.float64)
    np.testing.assert_allclose(nearest, distance, atol=1e-3)
    share4 = float(np.mean(distance <= 4.0))
    share10 = float(np.mean(distance <= 10.0))
    assert float(np.mean([stored[d["id"]]["trees_within_4m"] > 0 for d in drains])) == pytest.approx(share4)
    assert f"{share4:.1%} of drains within 4 m" in report and f"{share10:.1%} within 10 m" in report

    written = pd.read_csv(out)
    assert len(written) == len(drains) and "leaf_load" in written.columns

    client = TestClient(create_app(store))
    first = client.get(f"/api/v1/drains/{drains[0]['id']}").json()
    assert first["nearest_tree_m"] == pytest.approx(distance[0], abs=1e-3)
    assert client.get("/api/v1/drains/999999999").status_code == 404
    lons, lats = [d["lon"] for d in drains], [d["lat"] for d in drains]
    bbox = f"{min(lons)},{min(lats)},{max(lons)},{max(lats)}"
    cells = client.get(f"/api/v1/cells?bbox={bbox}").json()
    assert cells["type"] == "FeatureCollection"
    assert sum(f["properties"]["drain_count"] for f in cells["features"]) == len(drains)
    assert client.get("/api/v1/cells?bbox=1,2,3").status_code == 400


def test_castricum_drains_load_and_compute_in_seconds(database_url: str, store: Store) -> None:
    _run(
        database_url,
        "load",
        "drains",
        str(shared_data("nl-castricum-kolken") / "kolken_Castricum_Limmen_Akersloot.shp"),
    )
    out = _run(database_url, "load", "trees", str(shared_data("velsen-bomen") / "Bomen.shp"))
    assert "20,672" in out
    report = _run(database_url, "geo", "indicators")
    assert "indicators for 25,153 drains and 20,672 trees" in report
    assert len(store.drains_register()) == 25_153
