"""Leaf classes: the shipped table, name normalisation, and every species name in the real registers."""

from __future__ import annotations

import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from geo.registers.leafclasses import (
    LEAF_CLASSES,
    LeafClassTable,
    LeafClassTableError,
    classify,
    classify_series,
    default_table,
    normalise_name,
)
from tests.support import shared_data

# The common Dutch street-tree genera the table must cover (issue 5: at least 40).
STREET_TREE_GENERA = [
    "Acer", "Aesculus", "Alnus", "Amelanchier", "Betula", "Carpinus", "Castanea", "Catalpa",
    "Celtis", "Cercidiphyllum", "Cornus", "Corylus", "Crataegus", "Fagus", "Fraxinus", "Ginkgo",
    "Gleditsia", "Ilex", "Juglans", "Koelreuteria", "Larix", "Liquidambar", "Liriodendron", "Magnolia",
    "Malus", "Metasequoia", "Morus", "Ostrya", "Parrotia", "Paulownia", "Picea", "Pinus", "Platanus",
    "Populus", "Prunus", "Pterocarya", "Pyrus", "Quercus", "Robinia", "Salix", "Sorbus",
    "Styphnolobium", "Taxodium", "Taxus", "Tilia", "Ulmus", "Zelkova",
]  # fmt: skip


@pytest.fixture(scope="module")
def table() -> LeafClassTable:
    return LeafClassTable.load()


def test_table_is_package_data_and_valid(table: LeafClassTable) -> None:
    assert default_table() is default_table()
    assert len(table.genera) >= 40
    missing = [g for g in STREET_TREE_GENERA if g not in table.genera]
    assert not missing, f"genera missing from leaf_classes.csv: {missing}"
    for entry in table.entries:
        assert entry.leaf_class in LEAF_CLASSES
        assert entry.leaf_habit in ("deciduous", "evergreen")
        assert all(1 <= m <= 12 for m in entry.leaf_fall_months)
        assert entry.source, f"{entry.scientific} has no source"
        if entry.leaf_habit == "deciduous":
            assert entry.leaf_fall_months, f"{entry.scientific}: a deciduous tree needs leaf-fall months"


@pytest.mark.parametrize(
    ("name", "genus", "leaf_class"),
    [
        # large
        ("Platanus x hispanica", "Platanus", "large"),
        ("Aesculus hippocastanum", "Aesculus", "large"),
        ("Tilia x europaea", "Tilia", "large"),
        ("Tilia platyphyllos", "Tilia", "large"),
        ("Acer platanoides", "Acer", "large"),
        ("Acer pseudoplatanus", "Acer", "large"),
        ("Quercus rubra", "Quercus", "large"),
        ("Juglans regia", "Juglans", "large"),
        ("Catalpa bignonioides", "Catalpa", "large"),
        ("Paulownia tomentosa", "Paulownia", "large"),
        ("Liriodendron tulipifera", "Liriodendron", "large"),
        # small
        ("Acer campestre", "Acer", "small"),
        ("Tilia cordata", "Tilia", "small"),
        ("Betula pendula", "Betula", "small"),
        ("Carpinus betulus", "Carpinus", "small"),
        ("Prunus avium", "Prunus", "small"),
        ("Sorbus aucuparia", "Sorbus", "small"),
        ("Crataegus monogyna", "Crataegus", "small"),
        ("Robinia pseudoacacia", "Robinia", "small"),
        ("Gleditsia triacanthos", "Gleditsia", "small"),
        ("Salix alba", "Salix", "small"),
        ("Quercus phellos", "Quercus", "small"),
        # needle
        ("Pinus nigra", "Pinus", "needle"),
        ("Taxus baccata", "Taxus", "needle"),
        ("Larix decidua", "Larix", "needle"),
        ("Metasequoia glyptostroboides", "Metasequoia", "needle"),
        ("Taxodium distichum", "Taxodium", "needle"),
    ],
)
def test_classes_named_in_the_issue(table: LeafClassTable, name: str, genus: str, leaf_class: str) -> None:
    info = table.classify(name)
    assert (info.genus, info.leaf_class) == (genus, leaf_class)
    assert info.resolved


@pytest.mark.parametrize(
    ("name", "genus", "species", "leaf_class", "match"),
    [
        # cultivars in single, double and curly quotes; hybrids; spp.; ranks; accents; parentheses
        ("Tilia x europaea 'Pallida'", "Tilia", "x europaea", "large", "species"),
        ("Tilia cordata 'Greenspire'", "Tilia", "cordata", "small", "species"),
        ('Juglans regia "Buccaneer"', "Juglans", None, "large", "genus"),
        ('Fraxinus excelsior "Westhof\'s Glorie"', "Fraxinus", None, "small", "genus"),
        ("Tilia cordata ‘Rancho’", "Tilia", "cordata", "small", "species"),
        ("Platanus × hispanica", "Platanus", None, "large", "name"),
        ("Salix X sepulcralis 'Chrysocoma'", "Salix", None, "small", "genus"),
        ("X Cupressocyparis leylandii", "Cupressocyparis", None, "needle", "genus"),
        ("Acer spp.", "Acer", None, "large", "genus"),
        ("Prunus sp.", "Prunus", None, "small", "genus"),
        ("Gleditsia triacanthos forma 'Inermis'", "Gleditsia", None, "small", "genus"),
        ("Gleditsia f. inermis", "Gleditsia", None, "small", "genus"),
        ("Metasequoia glyptostroboïdes", "Metasequoia", None, "needle", "genus"),
        ("Tilia europaea (vulgaris)", "Tilia", "x europaea", "large", "species"),
        ("Tilia (vulgaris) europaea", "Tilia", "x europaea", "large", "species"),
        ("Tilia (leiboom. Linde)", "Tilia", None, "large", "genus"),
        ("Quercus rubra (borealis)", "Quercus", "rubra", "large", "species"),
        ("Picea (onbekend)", "Picea", None, "needle", "genus"),
        ("Sophora japonica", "Styphnolobium", None, "small", "name"),
        ("Tilia vulgaris 'Pallida'", "Tilia", "x europaea", "large", "name"),
        ("TILIA CORDATA", "Tilia", "cordata", "small", "species"),
        # abbreviations: genus initial, truncated epithet
        ("T. cordata", "Tilia", "cordata", "small", "species"),
        ("A. campestre", "Acer", "campestre", "small", "species"),
        ("Tilia x eur.", "Tilia", "x europaea", "large", "species"),
        ("Acer plat.", "Acer", "platanoides", "large", "species"),
        # genus-only fallback for epithets and typos the table does not list
        ("Fraxinus execlsior", "Fraxinus", None, "small", "genus"),
        ("Quercus 'Mauri'", "Quercus", None, "large", "genus"),
        ("Betula utilis 'Doorenbos'", "Betula", None, "small", "genus"),
        # Dutch names
        ("Linde", "Tilia", None, "large", "name"),
        ("Plataan", "Platanus", None, "large", "name"),
        ("Paardenkastanje", "Aesculus", None, "large", "name"),
        ("Esdoorn", "Acer", None, "large", "name"),
        ("kleinbladige linde", "Tilia", "cordata", "small", "name"),
        ("Spaanse aak", "Acer", "campestre", "small", "name"),
        ("Noorse bolesdoorn", "Acer", "platanoides", "large", "name"),
        ("Goudoun's kers", "Prunus", None, "small", "name"),
        ("moerascypres", "Taxodium", None, "needle", "name"),
        ("treuresdoorn", "Acer", None, "large", "name"),  # compound tail: ...esdoorn
        ("grootbladige Esdoorn", "Acer", None, "large", "name"),  # trailing word: esdoorn
        ("sierlijsterbes", "Sorbus", None, "small", "name"),  # compound tail: ...lijsterbes
        # US names
        ("Red Maple", "Acer", "rubrum", "small", "name"),
        ("Pin Oak", "Quercus", "palustris", "large", "name"),
        ("Northern Red Oak", "Quercus", "rubra", "large", "name"),
        ("London Planetree", "Platanus", None, "large", "name"),
        ("Littleleaf Linden", "Tilia", "cordata", "small", "name"),
        ("Japanese Zelkova", "Zelkova", None, "small", "name"),
        ("Dwarf Pin Oak", "Quercus", "palustris", "large", "name"),  # trailing words: pin oak
    ],
)
def test_normalisation(
    table: LeafClassTable, name: str, genus: str, species: str | None, leaf_class: str, match: str
) -> None:
    info = table.classify(name)
    assert (info.genus, info.species, info.leaf_class, info.match) == (genus, species, leaf_class, match)


@pytest.mark.parametrize("name", [None, "", "  ", float("nan"), "onbekend", "Diversen", "Unknown", "vacant"])
def test_empty_names_are_unknown_not_unresolved(table: LeafClassTable, name: object) -> None:
    info = table.classify(name)
    assert (info.leaf_class, info.match, info.genus) == ("unknown", "empty", None)


def test_unplaceable_name_is_unresolved(table: LeafClassTable) -> None:
    info = table.classify("Xyzzy plughii")
    assert (info.leaf_class, info.match, info.resolved) == ("unknown", "unresolved", False)


def test_normalise_name() -> None:
    assert normalise_name("Tilia x europaea 'Pallida'") == "tilia europaea"
    assert normalise_name("Platanus hispanica (acerifolia)") == "platanus hispanica"
    assert normalise_name("Goudoun's kers") == "goudouns kers"
    assert normalise_name("  Acer   SPP. ") == "acer"
    assert normalise_name("Metasequoia glyptostroboïdes") == "metasequoia glyptostroboides"


def test_module_level_helpers_use_the_shipped_table() -> None:
    assert classify("Tilia cordata").leaf_class == "small"
    frame = classify_series(pd.Series(["plataan", None]))
    assert frame["leaf_class"].tolist() == ["large", "unknown"]


def test_classify_series_is_vectorised_and_matches_classify(table: LeafClassTable) -> None:
    names = ["Tilia x europaea", "kleinbladige linde", "Pin Oak", None, "onbekend", "Xyzzy", "Pinus nigra"]
    rng = np.random.default_rng(5)
    series = pd.Series(rng.choice(np.array(names, dtype=object), size=200_000), index=np.arange(200_000) * 3)
    started = time.perf_counter()
    frame = table.classify_series(series)
    elapsed = time.perf_counter() - started
    assert elapsed < 2.0, f"classify_series took {elapsed:.2f} s for 200k trees"
    assert frame.index.equals(series.index)
    assert list(frame.columns) == [
        "genus",
        "species",
        "leaf_class",
        "leaf_habit",
        "leaf_fall_months",
        "match",
    ]
    keys = series.fillna("<none>")
    for name in names:
        info = table.classify(name)
        rows = frame[keys == ("<none>" if name is None else name)]
        assert len(rows) > 0
        assert set(rows["leaf_class"]) == {info.leaf_class}
        assert set(rows["match"]) == {info.match}
        assert set(rows["genus"]) == {info.genus}
    # missing values stay None (not NaN) so they store as NULL
    assert frame.loc[series.isna(), "genus"].map(lambda g: g is None).all()


@pytest.mark.parametrize(
    ("row", "error"),
    [
        ("Tilia,,huge,deciduous,10,linde,x", "leaf_class"),
        ("Tilia,,large,sometimes,10,linde,x", "leaf_habit"),
        ("Tilia,,large,deciduous,13,linde,x", "months"),
        ("Tilia,,large,deciduous,10,plataan,x", "used by both"),
        ("Tilia,cordata,small,deciduous,10,,x", "no genus row"),
        ("Platanus,,large,deciduous,10,,x", "appears twice"),
        ("Tilia,,large,deciduous,10,onbekend,x", "no species"),
    ],
)
def test_malformed_tables_are_refused(tmp_path: Path, row: str, error: str) -> None:
    path = tmp_path / "leaf.csv"
    path.write_text(
        "genus,species,leaf_class,leaf_habit,leaf_fall_months,names,source\n"
        "Platanus,,large,deciduous,10;11,plataan,x\n" + row + "\n",
        encoding="utf-8",
    )
    with pytest.raises(LeafClassTableError, match=error):
        LeafClassTable.load(path)


# -- every species name in the real registers -----------------------------------------------------


def _register_names() -> dict[str, dict[str, pd.Series]]:
    """Per shared tree file, each column (or genus+species pair) that holds species names."""
    out: dict[str, dict[str, pd.Series]] = {}
    denhaag = gpd.read_file(shared_data("denhaag-centrum-bomen") / "bomen_denhaag_centrum.geojson")
    out["denhaag bomen_denhaag_centrum.geojson"] = {
        "boomsoort_nederlands": denhaag["boomsoort_nederlands"],
        "boomsoort_wetenschappelij": denhaag["boomsoort_wetenschappelij"],
    }
    leeuwarden = gpd.read_file(
        shared_data("nl-leeuwarden-monumentale-bomen") / "leeuwarden_monumentale_waardevolle_bomen.geojson"
    )
    out["leeuwarden monumentale_waardevolle_bomen.geojson"] = {"BOOMSOORT": leeuwarden["BOOMSOORT"]}
    haarlemmermeer = pd.read_csv(
        shared_data("nl-haarlemmermeer-bijzondere-bomen") / "byzbomen_haarlemmermeer.csv"
    )
    out["haarlemmermeer byzbomen_haarlemmermeer.csv"] = {"SORTIMENT": haarlemmermeer["SORTIMENT"]}
    durham = gpd.read_file(shared_data("durham_nc") / "durham_trees_sawyerWeld.geojson")
    genus_species = (durham["genus"].fillna("") + " " + durham["species"].fillna("")).str.strip()
    out["durham durham_trees_sawyerWeld.geojson"] = {
        "commonname": durham["commonname"],
        "genus": durham["genus"],
        "genus+species": genus_species,
    }
    durham_csv = pd.read_csv(shared_data("durham_nc") / "trees.csv")
    out["durham trees.csv"] = {"species": durham_csv["species"], "genus_species": durham_csv["genus_species"]}
    for folder in ("somerville_ma", "boston_jamaica_plain_cyvl"):
        trees = pd.read_csv(shared_data(folder) / "trees.csv")
        out[f"{folder} trees.csv"] = {"species": trees["species"]}
    velsen = pd.read_csv(shared_data("velsen-bomen") / "velsen_bomen_points.csv")
    out["velsen velsen_bomen_points.csv"] = {"(no species column)": pd.Series([None] * len(velsen))}
    return out


@pytest.fixture(scope="module")
def register_names() -> dict[str, dict[str, pd.Series]]:
    return _register_names()


def test_every_name_in_the_shared_registers_resolves(
    table: LeafClassTable, register_names: dict[str, dict[str, pd.Series]]
) -> None:
    unknown_genera = {e.genus for e in table.entries if e.leaf_class == "unknown"}
    print("\nunknown leaf-class share per shared tree file and species column:")
    unresolved: dict[str, list[str]] = {}
    for file, columns in register_names.items():
        for column, names in columns.items():
            frame = table.classify_series(names)
            share = float((frame["leaf_class"] == "unknown").mean())
            counts = frame["leaf_class"].value_counts().to_dict()
            print(f"  {file:52s} {column:27s} {len(names):6,d} trees, unknown {share:6.1%}  {counts}")
            bad = sorted({str(n) for n in names[frame["match"] == "unresolved"]})
            if bad:
                unresolved[f"{file} {column}"] = bad
            # unknown only where the name is empty or the table itself says unknown
            unknown = frame[frame["leaf_class"] == "unknown"]
            assert ((unknown["match"] == "empty") | unknown["genus"].isin(unknown_genera)).all()
            empty_names = {normalise_name(n) for n in names[frame["match"] == "empty"]}
            assert empty_names <= {"", "onbekend", "diversen"}, empty_names
    assert not unresolved, f"names not in leaf_classes.csv: {unresolved}"


def test_den_haag_dutch_and_scientific_names_agree(table: LeafClassTable) -> None:
    trees = gpd.read_file(shared_data("denhaag-centrum-bomen") / "bomen_denhaag_centrum.geojson")
    dutch = table.classify_series(trees["boomsoort_nederlands"])
    scientific = table.classify_series(trees["boomsoort_wetenschappelij"])
    same_class = (dutch["leaf_class"] == scientific["leaf_class"]).mean()
    same_genus = (dutch["genus"].fillna("-") == scientific["genus"].fillna("-")).mean()
    assert same_genus == 1.0
    assert same_class > 0.99  # the exception: "eik" (genus) for the small-leaved Quercus x turneri
    top = trees["boomsoort_nederlands"].value_counts().head(5).index
    assert [table.classify(n).leaf_class for n in top] == ["large", "small", "small", "large", "large"]
    assert list(top) == ["gewone linde", "kleinbladige linde", "iep", "plataan", "paardenkastanje"]


def test_durham_common_and_scientific_names_mostly_agree(table: LeafClassTable) -> None:
    trees = gpd.read_file(shared_data("durham_nc") / "durham_trees_sawyerWeld.geojson")
    common = table.classify_series(trees["commonname"])
    genus_species = (trees["genus"].fillna("") + " " + trees["species"].fillna("")).str.strip()
    scientific = table.classify_series(genus_species)
    both = (common["match"] != "empty") & (scientific["match"] != "empty")
    assert both.sum() > 9_500
    agree = (common.loc[both, "genus"] == scientific.loc[both, "genus"]).mean()
    # The source has a few rows whose genus contradicts the common name (e.g. "American Elm" =
    # Quercus phellos); everything else must agree.
    assert agree > 0.995
