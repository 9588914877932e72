"""Loading registers: the real drain and tree files in ../shared/data, CRS handling, bad rows."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from pyproj import Geod, Transformer
from shapely.geometry import MultiPoint, Point, Polygon

from geo.registers import (
    RegisterError,
    guess_crs,
    parse_decimal,
    read_points,
    read_trees,
)
from tests.support import shared_data

GEOD = Geod(ellps="WGS84")


def _metres(a: gpd.GeoDataFrame, b: gpd.GeoDataFrame) -> np.ndarray:
    """Geodesic distance in metres between the rows of two WGS84 frames."""
    _, _, dist = GEOD.inv(
        a.geometry.x.to_numpy(), a.geometry.y.to_numpy(), b.geometry.x.to_numpy(), b.geometry.y.to_numpy()
    )
    return np.asarray(dist)


def _inside(frame: gpd.GeoDataFrame, west: float, south: float, east: float, north: float) -> bool:
    x, y = frame.geometry.x, frame.geometry.y
    return bool(((x >= west) & (x <= east) & (y >= south) & (y <= north)).all())


# -- Castricum drains (shapefile + CSV, RD New) ----------------------------------------------------


@pytest.fixture(scope="module")
def castricum_shp() -> gpd.GeoDataFrame:
    result = read_points(shared_data("nl-castricum-kolken") / "kolken_Castricum_Limmen_Akersloot.shp")
    assert result.counts.read == 25_153
    return result.frame


def test_castricum_drains_shapefile_and_csv(castricum_shp: gpd.GeoDataFrame) -> None:
    folder = shared_data("nl-castricum-kolken")
    shp = read_points(folder / "kolken_Castricum_Limmen_Akersloot.shp")
    csv = read_points(folder / "kolken_castricum_limmen_akersloot_points.csv")
    for result in (shp, csv):
        assert (result.counts.loaded, result.counts.rejected) == (25_153, 0)
        assert result.source_crs == "EPSG:28992"
        assert result.frame.crs == "EPSG:4326"
        assert list(result.frame.columns) == ["id", "species", "geometry"]
        assert result.frame["species"].isna().all()
        assert len(result.rejected) == 0
    assert csv.columns["x"] == "x_rd" and csv.columns["y"] == "y_rd" and csv.columns["id"] == "record_no"
    assert any("EPSG:28992 assumed" in note for note in csv.notes)
    # The shapefile has no attributes: ids are record numbers, the same as the CSV's record_no.
    assert shp.frame["id"].tolist() == csv.frame["id"].tolist() == [str(i) for i in range(1, 25_154)]
    assert _metres(shp.frame, csv.frame).max() < 0.001
    # The CSV's own WGS84 columns come from the RD polynomial (~1 m): ours agree to within that.
    own = read_points(
        folder / "kolken_castricum_limmen_akersloot_points.csv", lon="lon_wgs84", lat="lat_wgs84"
    )
    assert own.source_crs == "EPSG:4326"
    assert _metres(csv.frame, own.frame).max() < 1.0
    assert _inside(shp.frame, 4.64, 52.51, 4.79, 52.60)
    assert "loaded 25,153 of 25,153" in shp.summary()


def test_rd_wgs84_round_trip_within_a_centimetre(castricum_shp: gpd.GeoDataFrame) -> None:
    original = gpd.read_file(shared_data("nl-castricum-kolken") / "kolken_Castricum_Limmen_Akersloot.shp")
    back = castricum_shp.to_crs("EPSG:28992")
    dx = back.geometry.x.to_numpy() - original.geometry.x.to_numpy()
    dy = back.geometry.y.to_numpy() - original.geometry.y.to_numpy()
    assert np.hypot(dx, dy).max() < 0.01


def test_known_point_amersfoort(tmp_path: Path) -> None:
    # The RD origin, Onze Lieve Vrouwetoren in Amersfoort: x 155000, y 463000 is
    # 52°09'22.178" N 5°23'15.500" E (RDNAPTRANS: lat 52.15517440, lon 5.38720621). pyproj without
    # the correction grid uses the 7-parameter datum shift, good to well under a metre.
    path = tmp_path / "amersfoort.csv"
    path.write_text("naam;x;y\nOLV-toren;155000,000;463000,000\n", encoding="utf-8")
    result = read_points(path)
    assert result.source_crs == "EPSG:28992"
    point = result.frame.geometry.iloc[0]
    _, _, dist = GEOD.inv(point.x, point.y, 5.38720621, 52.15517440)
    assert dist < 0.5
    back = Transformer.from_crs("EPSG:4326", "EPSG:28992", always_xy=True).transform(point.x, point.y)
    assert np.hypot(back[0] - 155_000, back[1] - 463_000) < 0.01


# -- Velsen trees (shapefile + CSV, no species) ----------------------------------------------------


def test_velsen_trees_shapefile_and_csv() -> None:
    folder = shared_data("velsen-bomen")
    shp = read_trees(folder / "Bomen.shp")
    csv = read_trees(folder / "velsen_bomen_points.csv")
    for result in (shp, csv):
        assert (result.counts.loaded, result.counts.rejected) == (20_672, 0)
        assert result.source_crs == "EPSG:28992"
        assert result.unknown_share == 1.0
        assert result.no_species == 20_672
        assert result.unresolved_names == {}
        assert set(result.frame["leaf_class"]) == {"unknown"}
        assert "unknown 100.0%" in result.summary()
    assert shp.frame["id"].tolist() == csv.frame["id"].tolist()
    assert _metres(shp.frame, csv.frame).max() < 0.001
    assert _inside(shp.frame, 4.57, 52.41, 4.68, 52.49)


# -- Den Haag (GeoJSON, WGS84, Dutch + scientific names) -------------------------------------------


def test_den_haag_geojson_wgs84() -> None:
    result = read_trees(shared_data("denhaag-centrum-bomen") / "bomen_denhaag_centrum.geojson")
    frame = result.frame
    assert (result.counts.loaded, result.counts.rejected) == (3_143, 0)
    assert result.source_crs == "EPSG:4326"
    assert result.columns["id"] == "id"
    assert result.columns["species"] == "boomsoort_wetenschappelij > boomsoort_nederlands"
    assert list(frame.columns) == [
        "id", "species", "genus", "leaf_class", "leaf_habit", "leaf_fall_months", "geometry",
    ]  # fmt: skip
    # 1 tree without species, 7 "onbekend"/"Diversen": unknown; every other name placed.
    assert result.unresolved_names == {}
    assert result.leaf_class_counts["unknown"] == 8
    assert result.unknown_share == pytest.approx(8 / 3_143)
    assert result.leaf_class_counts == {"large": 1_570, "small": 1_523, "needle": 42, "unknown": 8}
    by_species = frame.set_index("species")["leaf_class"].to_dict()
    assert by_species["Tilia x europaea"] == "large"
    assert by_species["Tilia cordata 'Greenspire'"] == "small"
    assert by_species["Platanus x hispanica"] == "large"
    assert by_species["Pinus nigra nigra"] == "needle"
    assert _inside(frame, 4.295, 52.070, 4.325, 52.087)
    # the Dutch column on request
    dutch = read_trees(
        shared_data("denhaag-centrum-bomen") / "bomen_denhaag_centrum.geojson",
        species_column="boomsoort_nederlands",
    )
    assert dutch.unresolved_names == {}
    assert dutch.leaf_class_counts == {"large": 1_578, "small": 1_515, "needle": 42, "unknown": 8}


# -- Leeuwarden (GeoJSON in RD New) ----------------------------------------------------------------


def test_leeuwarden_rd_geojson() -> None:
    path = shared_data("nl-leeuwarden-monumentale-bomen") / "leeuwarden_monumentale_waardevolle_bomen.geojson"
    result = read_trees(path)
    assert (result.counts.loaded, result.counts.rejected) == (2_088, 0)
    assert result.source_crs == "EPSG:28992"
    assert result.columns["species"] == "BOOMSOORT"
    assert result.columns["id"] == "ELEMENTNR"
    assert result.counts.duplicate_ids == 1_296  # element numbers repeat in this register; reported, kept
    assert result.unknown_share == 0.0
    assert result.unresolved_names == {}
    assert _inside(result.frame, 5.70, 53.10, 5.90, 53.30)
    # The X/Y text columns hold the same RD coordinates as the geometry.
    from_columns = read_points(path, x="X", y="Y", crs="EPSG:28992")
    assert from_columns.counts.loaded == 2_088
    assert _metres(result.frame, from_columns.frame).max() < 0.01


# -- Haarlemmermeer (CSV, RD with decimal commas) --------------------------------------------------


def test_haarlemmermeer_csv_with_decimal_commas() -> None:
    path = shared_data("nl-haarlemmermeer-bijzondere-bomen") / "byzbomen_haarlemmermeer.csv"
    raw = pd.read_csv(path, dtype=str)
    assert raw["RD_XCOORD"].str.contains(",").sum() == 724  # decimal commas (two whole metres: "107495")
    result = read_trees(path)
    assert (result.counts.loaded, result.counts.rejected) == (726, 0)
    assert (result.columns["x"], result.columns["y"]) == ("RD_XCOORD", "RD_YCOORD")
    assert result.source_crs == "EPSG:28992"
    assert result.no_species == 1 and result.unknown_share == pytest.approx(1 / 726)
    assert result.unresolved_names == {}
    first = result.frame.to_crs("EPSG:28992").geometry.iloc[0]
    assert (first.x, first.y) == pytest.approx((109_474.844, 474_861.349), abs=0.001)
    # The file's own WGS84 columns agree with our RD -> WGS84 within a metre.
    lonlat = read_points(path, lon="longitude", lat="latitude")
    assert lonlat.counts.loaded == 726
    assert _metres(result.frame, lonlat.frame).max() < 1.0


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("104123,45", 104123.45),
        ("104.123,45", 104123.45),
        ("104,123.45", 104123.45),
        ("104123.45", 104123.45),
        (" 474861,349 ", 474861.349),
        ("4,72039750298581", 4.72039750298581),
        ("-71,116", -71.116),
        ("1.234.567", 1234567.0),
        ("1 234 567,5", 1234567.5),
        ("52", 52.0),
    ],
)
def test_parse_decimal(text: str, value: float) -> None:
    assert parse_decimal(pd.Series([text]))[0] == pytest.approx(value)


def test_parse_decimal_blank_and_garbage_are_nan() -> None:
    parsed = parse_decimal(pd.Series(["", "abc", "1,2,3,4x", None]))
    assert np.isnan(parsed).all()
    assert parse_decimal(pd.Series([1.5, 2.0])).tolist() == [1.5, 2.0]


# -- Somerville pair -------------------------------------------------------------------------------


SOMERVILLE = (-71.2, 42.3, -71.0, 42.5)


def test_somerville_trees_and_drains() -> None:
    folder = shared_data("somerville_ma")
    trees_csv = read_trees(folder / "trees.csv")
    trees_geojson = read_trees(folder / "cyvl_trees_wuhong4088.geojson")
    for trees in (trees_csv, trees_geojson):
        assert (trees.counts.loaded, trees.counts.rejected) == (2_357, 0)
        assert trees.unknown_share == 1.0  # no species in the Cyvl survey
        assert _inside(trees.frame, *SOMERVILLE)
    assert trees_csv.frame["id"].tolist() == trees_geojson.frame["id"].tolist()  # feature_id
    assert _metres(trees_csv.frame, trees_geojson.frame).max() < 0.01
    expected = {
        "drains.csv": 4_583,
        "city_inlets_mekhalraj.geojson": 3_611,
        "city_catch_basins_mekhalraj.geojson": 591,
    }
    for name, count in expected.items():
        drains = read_points(folder / name)
        assert (drains.counts.loaded, drains.counts.rejected) == (count, 0), name
        assert drains.source_crs == "EPSG:4326"
        assert _inside(drains.frame, *SOMERVILLE)


def test_somerville_2023_csv_rejects_exactly_the_bad_row() -> None:
    path = shared_data("somerville_ma") / "somerville_catch_basins_2023_sfbrigade.csv"
    result = read_points(path)
    assert (result.counts.read, result.counts.loaded, result.counts.rejected) == (3_617, 3_616, 1)
    assert (result.columns["x"], result.columns["y"]) == ("X", "Y")  # X/Y hold degrees here
    assert result.source_crs == "EPSG:4326"
    assert _inside(result.frame, *SOMERVILLE)
    bad = result.rejected.iloc[0]
    # really bad: the south pole on the other side of the world (SOURCE.txt: "ONE bad row ... drop it")
    assert float(bad["y"]) < -89.9 and float(bad["x"]) > 129
    assert bad["code"] == "placeholder" and "pole" in bad["reason"]
    assert bad["FacilityID"] == "SW-CB-01474"  # the row's own columns come along
    assert int(bad["row"]) == 546


# -- Durham pair -----------------------------------------------------------------------------------


def test_durham_trees_and_drains() -> None:
    folder = shared_data("durham_nc")
    geojson = read_trees(folder / "durham_trees_sawyerWeld.geojson")
    csv = read_trees(folder / "trees.csv")
    assert geojson.columns["species"] == "genus+species > commonname"
    assert csv.columns["species"] == "genus_species > species"
    for trees in (geojson, csv):
        assert (trees.counts.loaded, trees.counts.rejected) == (10_000, 0)
        assert trees.unresolved_names == {}
        # 19 trees have neither genus, species nor common name; 2 are palms (the table says unknown)
        assert trees.no_species == 19
        assert set(trees.frame.loc[trees.frame["leaf_class"] == "unknown", "genus"].dropna()) == {
            "Washingtonia",
            "Serenoa",
        }
        assert trees.leaf_class_counts == {"small": 7_327, "large": 2_161, "needle": 491, "unknown": 21}
        assert _inside(trees.frame, -79.01, 35.88, -78.79, 36.09)
    merged = geojson.frame.merge(csv.frame, on="id", suffixes=("_g", "_c"))
    assert len(merged) == 10_000
    assert (merged["leaf_class_g"] == merged["leaf_class_c"]).all()
    # A tree with an empty genus falls back to its common name ("Japanese Black Pine").
    pine = geojson.frame[geojson.frame["species"] == "Japanese Black Pine"]
    assert len(pine) == 2 and set(pine["leaf_class"]) == {"needle"}
    drains = read_points(folder / "drains.csv")
    assert (drains.counts.loaded, drains.counts.rejected) == (16_858, 0)
    assert _inside(drains.frame, -79.01, 35.86, -78.78, 36.14)


# -- Boston Jamaica Plain (Cyvl survey) ------------------------------------------------------------


def test_boston_cyvl_trees_and_catch_basins() -> None:
    folder = shared_data("boston_jamaica_plain_cyvl")
    survey = folder / "cyvl_aboveGroundAssets_samc5.geojson"
    trees = read_trees(survey, where={"asset_type": "TREE"})
    assert (trees.counts.read, trees.counts.skipped, trees.counts.loaded, trees.counts.rejected) == (
        1_208,
        1_082,
        126,
        0,
    )
    trees_csv = read_trees(folder / "trees.csv")
    assert trees_csv.counts.loaded == 126
    assert _metres(trees.frame, trees_csv.frame).max() < 0.01
    basins = read_points(survey, where={"asset_type": ["CATCH_BASIN"]})
    basins_csv = read_points(folder / "drains.csv")
    assert basins.counts.loaded == basins_csv.counts.loaded == 40
    assert _metres(basins.frame, basins_csv.frame).max() < 0.01
    # All 1,208 features load: line features are reduced to a representative point.
    everything = read_points(survey)
    assert everything.counts.loaded == 1_208
    assert any("204 non-point geometries" in note for note in everything.notes)


# -- bad rows, formats, options --------------------------------------------------------------------


def test_bad_rows_in_a_dutch_csv_are_rejected_with_reasons(tmp_path: Path) -> None:
    path = tmp_path / "kolken.csv"
    path.write_text(
        "kolknummer;X;Y;opmerking\n"
        "K1;104123,45;502000,10;goed\n"
        "K2;;502000,10;geen x\n"
        "K3;abc;502000,10;onzin\n"
        "K4;104.523,45;503.000,10;goed, met duizendtallen\n"
        "K5;400000;100000;buiten Nederland\n"
        "K6;0;0;nul\n"
        "K7;105000,5;504000,25;goed\n",
        encoding="cp1252",
    )
    result = read_points(path)
    assert result.source_crs == "EPSG:28992"
    assert result.columns == {"x": "X", "y": "Y", "id": "kolknummer"}
    assert result.frame["id"].tolist() == ["K1", "K4", "K7"]
    rejected = result.rejected.set_index("id")
    assert rejected["code"].to_dict() == {
        "K2": "no-geometry",
        "K3": "unparseable",
        "K5": "outside-extent",
        "K6": "outside-extent",  # (0, 0) is far outside the RD box
    }
    assert rejected.loc["K5", "reason"] == "outside the Netherlands (RD New bounds)"
    assert rejected["row"].tolist() == [2, 3, 5, 6]
    assert rejected.loc["K3", "opmerking"] == "onzin"
    assert result.counts.by_reason == {"no-geometry": 1, "unparseable": 1, "outside-extent": 2}
    k4 = result.frame.to_crs("EPSG:28992").geometry.iloc[1]
    assert (k4.x, k4.y) == pytest.approx((104_523.45, 503_000.10), abs=0.001)


def test_bad_lon_lat_rows_are_rejected(tmp_path: Path) -> None:
    path = tmp_path / "inlets.csv"
    rows = ["id,longitude,latitude"]
    rows += [f"ok{i},{-78.9 + i * 0.001},{36.0 + i * 0.001}" for i in range(10)]
    rows += ["lon,200,36", "lat,-78.9,95", "zero,0,0", "pole,10,90", "far,2.35,48.85", "blank,,"]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    result = read_points(path)
    assert result.counts.loaded == 10
    assert result.rejected.set_index("id")["code"].to_dict() == {
        "lon": "out-of-range",
        "lat": "out-of-range",
        "zero": "placeholder",
        "pole": "placeholder",
        "far": "outlier",
        "blank": "no-geometry",
    }
    far = result.rejected.set_index("id").loc["far"]
    assert "km from the median position" in far["detail"]
    # the outlier rule can be switched off
    assert read_points(path, outlier_km=None).counts.loaded == 11


def test_polygons_and_multipoints_become_representative_points(tmp_path: Path) -> None:
    square = Polygon([(0, 0), (10, 0), (10, 10), (0, 10)])
    u_shape = Polygon([(0, 0), (30, 0), (30, 30), (20, 30), (20, 10), (10, 10), (10, 30), (0, 30)])
    frame = gpd.GeoDataFrame(
        {
            "boomnummer": ["a", "b", "c", "d", "e"],
            "boomsoort": ["Tilia cordata", "Plataan", None, "Pinus", "Xyzzy"],
        },
        geometry=[
            square,
            MultiPoint([(100, 100), (104, 104)]),
            None,
            Point(50, 50),
            u_shape,
        ],
        crs="EPSG:28992",
    )
    frame = frame.set_geometry(frame.geometry.translate(150_000, 450_000))
    path = tmp_path / "bomen.gpkg"
    frame.to_file(path, layer="bomen", driver="GPKG")
    frame.iloc[:2].to_file(path, layer="andere", driver="GPKG")
    result = read_trees(path, layer="bomen")
    assert result.counts.loaded == 4 and result.counts.rejected == 1
    assert result.rejected["code"].tolist() == ["no-geometry"]
    assert result.columns["id"] == "boomnummer" and result.columns["species"] == "boomsoort"
    rd = result.frame.to_crs("EPSG:28992").set_index("id").geometry
    original = frame.set_index("boomnummer").geometry
    for key in ("a", "b", "e"):
        assert original[key].buffer(0.01).contains(rd[key]), key  # on the polygon / one of the points
    assert rd["d"].distance(original["d"]) < 0.01
    assert result.frame.set_index("id")["leaf_class"].to_dict() == {
        "a": "small",
        "b": "large",
        "d": "needle",
        "e": "unknown",
    }
    assert result.unresolved_names == {"Xyzzy": 1}
    assert read_points(path, layer="andere").counts.loaded == 2


def test_file_without_crs_uses_the_option_or_the_values(tmp_path: Path) -> None:
    frame = gpd.GeoDataFrame({"id": [1, 2]}, geometry=[Point(155_000, 463_000), Point(156_000, 464_000)])
    path = tmp_path / "no_crs.shp"
    with pytest.warns(UserWarning, match="crs"):
        frame.to_file(path)
    guessed = read_points(path)
    assert guessed.source_crs == "EPSG:28992"
    assert any("assumed" in note for note in guessed.notes)
    told = read_points(path, crs="EPSG:28992")
    assert told.notes == ()
    assert _metres(guessed.frame, told.frame).max() < 1e-6
    # a CRS that makes no sense for the values: every point rejected, nothing silently misplaced
    wrong = read_points(path, crs="EPSG:2154")  # as Lambert-93 these lie off Africa, not in France
    assert wrong.counts.loaded == 0 and set(wrong.rejected["code"]) == {"outside-extent"}


def test_unusable_files_raise_register_errors(tmp_path: Path) -> None:
    no_coordinates = tmp_path / "nothing.csv"
    no_coordinates.write_text("naam,soort\na,Tilia\n", encoding="utf-8")
    with pytest.raises(RegisterError, match="no coordinate columns") as info:
        read_points(no_coordinates)
    assert info.value.hint and "naam" in info.value.hint
    assert info.value.status == 400
    unknown_crs = tmp_path / "mystery.csv"
    unknown_crs.write_text("x,y\n5000000,9000000\n", encoding="utf-8")
    with pytest.raises(RegisterError, match="coordinate reference system"):
        read_points(unknown_crs)
    with pytest.raises(RegisterError, match="not in the file"):
        read_points(unknown_crs, x="east", y="north", crs="EPSG:28992")
    with pytest.raises(RegisterError, match="both x and y"):
        read_points(unknown_crs, x="x")
    with pytest.raises(RegisterError, match="no such file"):
        read_points(tmp_path / "missing.geojson")


def test_keep_attributes_and_explicit_columns(tmp_path: Path) -> None:
    path = tmp_path / "bomen.csv"
    path.write_text(
        "nr\toost\tnoord\tgeslacht\tsoortnaam_nl\tjaar\n"
        "1\t121000,5\t487000,5\tTilia\tkleinbladige linde\t1990\n"
        "2\t121010,5\t487010,5\t\tpaardenkastanje\t\n",
        encoding="utf-8",
    )
    result = read_trees(
        path,
        x="oost",
        y="noord",
        crs="EPSG:28992",
        id_column="nr",
        species_column=["soortnaam_nl", "geslacht"],
        keep_attributes=True,
    )
    assert result.frame["id"].tolist() == ["1", "2"]
    assert result.frame["species"].tolist() == ["kleinbladige linde", "paardenkastanje"]
    assert result.frame["leaf_class"].tolist() == ["small", "large"]
    # the row's other non-empty values (coordinate and id columns left out)
    assert result.frame["attributes"].tolist() == [
        {"geslacht": "Tilia", "soortnaam_nl": "kleinbladige linde", "jaar": "1990"},
        {"soortnaam_nl": "paardenkastanje"},
    ]


def test_guess_crs() -> None:
    assert guess_crs(np.array([4.9, 5.0]), np.array([52.3, 52.4])) == "EPSG:4326"
    assert guess_crs(np.array([121_000.0]), np.array([487_000.0])) == "EPSG:28992"
    assert guess_crs(np.array([5e6]), np.array([9e6])) is None
    assert guess_crs(np.array([np.nan]), np.array([np.nan])) is None
