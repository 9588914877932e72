"""`pakhuis load drains|trees` guards the register it replaces (issue 13, part 3): a file of
polygons, or one with far fewer points, is refused before anything is written (the register
and the fitted fill model survive) unless --replace is given; registers out of each other's
reach are loaded with a warning that says how far apart they lie."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pakhuis.cli import app
from pakhuis.store import Store
from pakhuis.store.fillmodel import FILL_STATE_COLUMNS
from tests.support import shared_data

pytestmark = pytest.mark.integration

CASTRICUM = (4.67, 52.55)  # lon, lat
DEN_HAAG = (4.31, 52.08)
MODEL_VERSION = "guard-test-1"


def _points_csv(path: Path, count: int, origin: tuple[float, float]) -> Path:
    """`count` points about 10 m apart on a row east of `origin`, as lon/lat CSV."""
    lon, lat = origin
    rows = [f"p{i},{lon + i * 0.00015:.6f},{lat:.6f}" for i in range(count)]
    path.write_text("id,lon,lat\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def _polygon_geojson(path: Path, origin: tuple[float, float]) -> Path:
    """One polygon of about 700 by 1,100 m: the outline of a town, not its drains."""
    lon, lat = origin
    ring = [[lon, lat], [lon + 0.01, lat], [lon + 0.01, lat + 0.01], [lon, lat + 0.01], [lon, lat]]
    feature = {
        "type": "Feature",
        "properties": {"name": "area"},
        "geometry": {"type": "Polygon", "coordinates": [ring]},
    }
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}), encoding="utf-8")
    return path


def _store_fill_model(database_url: str) -> int:
    """A fitted fill model with a state for every drain, as `pakhuis plan refit` stores it."""
    with Store(database_url) as store:
        drain_ids = [row["id"] for row in store.drains_register()]
        defaults = {"status": "modelled", "n_readings": 0, "n_since_cleaning": 0, "rate": 0.5}
        defaults |= {"model_version": MODEL_VERSION, "rate_source": "model", "predicted_rate": 0.5}
        states = [[{"drain_id": d, **defaults}.get(c) for c in FILL_STATE_COLUMNS] for d in drain_ids]
        return store.save_fill_model(MODEL_VERSION, {"estimator": "test"}, {"groups": []}, states)


def _load(cli: CliRunner, what: str, file: Path, *extra: str) -> tuple[int, str]:
    result = cli.invoke(app, ["load", what, str(file), *extra])
    return result.exit_code, result.output


def _counts(database_url: str) -> tuple[int, int, int, str | None]:
    """(drains, trees, fill states, fill model version) as stored."""
    with Store(database_url) as store:
        model = store.fill_model()
        return (
            store.register_count("drains"),
            store.register_count("trees"),
            len(store.fill_states()),
            None if model is None else model["version"],
        )


def test_a_polygon_file_is_refused_and_the_register_and_fill_model_survive(
    cli: CliRunner, database_url: str, tmp_path: Path
) -> None:
    exit_code, output = _load(cli, "drains", _points_csv(tmp_path / "kolken.csv", 40, CASTRICUM))
    assert exit_code == 0, output
    assert _store_fill_model(database_url) == 40
    before = _counts(database_url)
    assert before == (40, 0, 40, MODEL_VERSION)

    exit_code, output = _load(cli, "drains", _polygon_geojson(tmp_path / "drains.geojson", CASTRICUM))

    assert exit_code == 1, output
    assert (
        "error: drains.geojson holds 1 polygon; the drain register holds 40 points. "
        "Refused: the load would replace 40 drains with 1, each polygon reduced to one point." in output
    )
    assert "what to do: Check that drains.geojson is the drain register you mean" in output
    assert "run the same command again with --replace" in output
    assert "fitted fill model's drain states are removed" in output
    assert _counts(database_url) == before
    with Store(database_url) as store:
        assert store.register_loads()[0]["source"].endswith("kolken.csv")


def test_a_polygon_file_as_large_as_the_register_is_refused_too(
    cli: CliRunner, database_url: str, tmp_path: Path
) -> None:
    exit_code, output = _load(cli, "trees", _points_csv(tmp_path / "bomen.csv", 1, CASTRICUM))
    assert exit_code == 0, output

    exit_code, output = _load(cli, "trees", _polygon_geojson(tmp_path / "wijk.geojson", CASTRICUM))

    assert exit_code == 1, output
    assert (
        "wijk.geojson holds 1 polygon; the tree register holds 1 point. "
        "Refused: the load would replace 1 tree with 1, each polygon reduced to one point." in output
    )
    assert "the old register is removed" in output
    assert _counts(database_url)[1] == 1


def test_a_wkt_file_of_points_with_a_polygon_among_them_is_refused(
    cli: CliRunner, database_url: str, tmp_path: Path
) -> None:
    assert _load(cli, "drains", _points_csv(tmp_path / "kolken.csv", 4, CASTRICUM))[0] == 0
    lon, lat = CASTRICUM
    points = [f'p{i},"POINT ({lon + i * 0.0001} {lat})"' for i in range(3)]
    square = f"POLYGON (({lon} {lat}, {lon + 0.001} {lat}, {lon + 0.001} {lat + 0.001}, {lon} {lat}))"
    wkt = tmp_path / "kolken_wkt.csv"
    wkt.write_text("id,wkt\n" + "\n".join([*points, f'vlak,"{square}"']) + "\n", encoding="utf-8")

    exit_code, output = _load(cli, "drains", wkt)

    assert exit_code == 1, output
    assert (
        "kolken_wkt.csv holds 3 points and 1 polygon; the drain register holds 4 points. "
        "Refused: the load would replace 4 drains with 4, each polygon reduced to one point." in output
    )
    assert _load(cli, "drains", wkt, "--replace")[0] == 0


def test_a_much_smaller_file_is_refused_then_replaces_the_register_with_replace(
    cli: CliRunner, database_url: str, tmp_path: Path
) -> None:
    assert _load(cli, "drains", _points_csv(tmp_path / "kolken.csv", 2_400, CASTRICUM))[0] == 0
    assert _store_fill_model(database_url) == 2_400
    small = _points_csv(tmp_path / "kolken_wijk.csv", 1_199, CASTRICUM)

    exit_code, output = _load(cli, "drains", small)

    assert exit_code == 1, output
    assert (
        "error: kolken_wijk.csv holds 1,199 points; the drain register holds 2,400 points. "
        "Refused: the load would replace 2,400 drains with 1,199." in output
    )
    assert "(one point per drain, at least half as many as now)" in output
    assert _counts(database_url) == (2_400, 0, 2_400, MODEL_VERSION)

    exit_code, output = _load(cli, "drains", small, "--replace")

    assert exit_code == 0, output
    assert "drains: 1,199 stored in" in output
    assert (
        "warning: the fitted fill model's drain states (2,400 drains) were removed with the old "
        "register: run `pakhuis plan refit`" in output
    )
    # The model's row stays; its states went with the drains they were about.
    assert _counts(database_url) == (1_199, 0, 0, MODEL_VERSION)


def test_half_the_register_is_not_refused(cli: CliRunner, database_url: str, tmp_path: Path) -> None:
    assert _load(cli, "drains", _points_csv(tmp_path / "kolken.csv", 10, CASTRICUM))[0] == 0

    exit_code, output = _load(cli, "drains", _points_csv(tmp_path / "helft.csv", 5, CASTRICUM))

    assert exit_code == 0, output
    assert "drains: 5 stored in" in output and "warning" not in output


def test_registers_far_apart_are_loaded_with_a_warning_of_the_distance(
    cli: CliRunner, database_url: str, tmp_path: Path
) -> None:
    assert _load(cli, "drains", _points_csv(tmp_path / "kolken.csv", 20, CASTRICUM))[0] == 0

    exit_code, output = _load(cli, "trees", _points_csv(tmp_path / "bomen.csv", 20, DEN_HAAG))

    assert exit_code == 0, output
    warning = re.search(
        r"warning: the trees lie ([\d.]+) km from the drains \(bounding boxes do not overlap\): "
        r"tree indicators will all be zero",
        output,
    )
    assert warning is not None, output
    # The drains' south-west corner and the trees' north-east one: 57.7 km (pyproj.Geod).
    assert float(warning.group(1)) == pytest.approx(57.7, abs=0.1)
    near = _load(cli, "drains", _points_csv(tmp_path / "kolken_haag.csv", 20, DEN_HAAG))
    assert near[0] == 0 and "warning" not in near[1]
    far = _load(cli, "drains", tmp_path / "kolken.csv")
    assert far[0] == 0
    assert "warning: the drains lie 57.7 km from the trees (bounding boxes do not overlap)" in far[1]


def test_the_shared_castricum_drains_and_den_haag_trees_lie_52_km_apart(
    cli: CliRunner, tmp_path: Path
) -> None:
    drains = shared_data("nl-castricum-kolken") / "kolken_castricum_limmen_akersloot_points.csv"
    trees = shared_data("denhaag-centrum-bomen") / "bomen_denhaag_centrum.geojson"
    assert _load(cli, "drains", drains)[0] == 0

    exit_code, output = _load(cli, "trees", trees)

    assert exit_code == 0, output
    # Box to box: Castricum's southern edge to the centre of Den Haag's northern one.
    assert "warning: the trees lie 52.0 km from the drains (bounding boxes do not overlap)" in output
