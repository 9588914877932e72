"""Species names of a register's rows, from the column(s) that hold them.

Columns are detected in order of preference (scientific names first, then Dutch or English
common names; ``genus`` + ``species`` joined) or named; per row the first column that names
something wins.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from geo.registers.columns import column_texts, detect_column, find_column

__all__ = ["EPITHET_COLUMNS", "GENUS_COLUMNS", "SPECIES_COLUMNS", "row_species"]

# Species columns in order of preference: scientific names first, then common names.
SPECIES_COLUMNS = (
    "genusspecies", "scientificname", "botanicalname", "latinname", "latijnsenaam",
    "wetenschappelijkenaam", "boomsoortwetenschappelijk", "boomsoortwetenschappelij",
    "boomsoortlatijn", "sortiment", "boomsoort", "soortnaam", "taxon", "speciesname",
    "soort", "species", "spp", "commonname", "nederlandsenaam", "boomsoortnederlands",
    "naamnl", "genus", "geslacht",
)  # fmt: skip
GENUS_COLUMNS = ("genus", "geslacht")
EPITHET_COLUMNS = ("species", "soort", "epithet")

_EMPTY_SPECIES = frozenset({"onbekend", "diversen", "unknown", "vacant", "overig", "overige"})


def row_species(
    table: pd.DataFrame, species_column: str | Sequence[str] | None, keep: np.ndarray, used: dict[str, str]
) -> tuple[np.ndarray, pd.DataFrame]:
    """(species per row, the kept rows' text of every species source -- one column each, for
    the leaf-class lookup to fall back on)."""
    sources = _species_columns(table, species_column)
    texts = [_species_text(table, s) for s in sources]
    species = _pick_species(texts, len(table)) if texts else np.full(len(table), None, dtype=object)
    if sources:
        used["species"] = " > ".join("+".join(s) for s in sources)
    candidates = pd.DataFrame({"+".join(s): t[keep] for s, t in zip(sources, texts, strict=True)})
    return species, candidates


def _species_columns(
    table: pd.DataFrame, species_column: str | Sequence[str] | None
) -> list[tuple[str, ...]]:
    """Species sources in order of preference: tuples of columns joined with a space."""
    columns = [str(c) for c in table.columns]
    if species_column is not None:
        wanted = [species_column] if isinstance(species_column, str) else list(species_column)
        sources: list[tuple[str, ...]] = []
        for item in wanted:
            if item in columns or "+" not in item:
                sources.append((find_column(columns, item, "species"),))
            else:
                sources.append(
                    tuple(find_column(columns, part.strip(), "species") for part in item.split("+"))
                )
        return sources
    sources = []
    genus = detect_column(columns, GENUS_COLUMNS)
    epithet = detect_column(columns, EPITHET_COLUMNS)
    used: set[str] = set()
    if genus is not None and epithet is not None:
        sources.append((genus, epithet))
        used |= {genus, epithet}
    remaining = [c for c in columns if c not in used]
    while True:
        found = detect_column(remaining, SPECIES_COLUMNS)
        if found is None:
            break
        sources.append((found,))
        remaining.remove(found)
    return sources


def _species_text(table: pd.DataFrame, source: tuple[str, ...]) -> np.ndarray:
    parts = [column_texts(table[c]) for c in source]
    out = np.empty(len(table), dtype=object)
    if len(parts) == 1:
        out[:] = parts[0]
    else:
        out[:] = [" ".join(p for p in row if p) or None for row in zip(*parts, strict=True)]
    return out


def _pick_species(texts: list[np.ndarray], n: int) -> np.ndarray:
    """Per row the first text that names something; else the first non-blank one ("onbekend")."""
    out = np.full(n, None, dtype=object)
    fallback = np.full(n, None, dtype=object)
    for values in texts:
        blank = pd.isna(values)
        codes, uniques = pd.factorize(values, use_na_sentinel=True)
        says_nothing = np.array([str(u).lower() in _EMPTY_SPECIES for u in uniques] + [True], dtype=bool)
        useful = ~blank & ~says_nothing[np.where(codes < 0, len(uniques), codes)]
        take = useful & pd.isna(out)
        out[take] = values[take]
        take_fallback = ~blank & pd.isna(fallback)
        fallback[take_fallback] = values[take_fallback]
    missing = pd.isna(out)
    out[missing] = fallback[missing]
    return out
