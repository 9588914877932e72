"""Leaf classes of street trees: a data table and the resolver that maps register names onto it.

The classification itself is data, not code: ``geo/data/leaf_classes.csv`` (one row per genus,
plus a row per species where the class differs within the genus or a species is named often;
see ``geo/data/README.md`` for the columns and the class rules). This module only normalises
the names found in real tree registers -- scientific names with cultivars, hybrids, ``spp.``
and abbreviations, Dutch and English/US common names -- and looks them up:

    >>> table = LeafClassTable.load()
    >>> table.classify("Tilia x europaea 'Pallida'").leaf_class
    'large'
    >>> table.classify("kleinbladige linde").leaf_class
    'small'
    >>> table.classify("Pin Oak").genus
    'Quercus'

Lookup order for one name (after normalisation): the whole name as a scientific key or an
alias; ``genus species`` (also an abbreviated genus ``T. cordata`` or a truncated epithet
``Tilia x eur.``); the genus alone; a trailing part of a common name (``Northern Pin Oak`` ->
``pin oak``); the tail of a Dutch compound (``bolesdoorn`` -> ``esdoorn``). A name that is empty
or says "unknown" (``onbekend``, ``diversen``, ...) is ``match="empty"``; a name the table cannot
place is ``match="unresolved"``. Both get leaf class ``unknown``.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

LeafClass = Literal["large", "small", "needle", "unknown"]
LeafHabit = Literal["deciduous", "evergreen"]
Match = Literal["species", "genus", "name", "empty", "unresolved"]

LEAF_CLASSES: tuple[str, ...] = ("large", "small", "needle", "unknown")
LEAF_HABITS: tuple[str, ...] = ("deciduous", "evergreen")
TABLE_COLUMNS: tuple[str, ...] = (
    "genus",
    "species",
    "leaf_class",
    "leaf_habit",
    "leaf_fall_months",
    "names",
    "source",
)
#: Columns of :meth:`LeafClassTable.classify_series`.
SERIES_COLUMNS: tuple[str, ...] = (
    "genus",
    "species",
    "leaf_class",
    "leaf_habit",
    "leaf_fall_months",
    "match",
)

# Whole names that say "no species recorded".
NULL_NAMES = frozenset(
    {
        "",
        "onbekend",
        "diversen",
        "divers",
        "overig",
        "overige",
        "unknown",
        "unknown tree",
        "vacant",
        "vacant site",
        "vacant planting site",
        "planting site",
        "stump",
        "dead",
        "none",
        "null",
        "nan",
        "na",
        "n a",
        "nvt",
        "geen",
        "leeg",
        "tree",
        "boom",
    }
)
# Tokens that carry no taxonomic information: hybrid markers, rank words, "species" abbreviations.
_NOISE_TOKENS = frozenset(
    {
        "x",
        "spp",
        "sp",
        "ssp",
        "subsp",
        "var",
        "f",
        "fo",
        "forma",
        "cv",
        "cvs",
        "hybride",
        "hybriden",
        "hybrid",
        "hybr",
        "agg",
        "group",
        "groep",
        "cultivar",
        "cultivars",
    }
)
_DOUBLE_QUOTED = re.compile(r'(?:^|(?<=\s))"[^"]*"?')
_SINGLE_QUOTED = re.compile(r"(?:^|(?<=\s))'[^']*'?")
_PARENTHESISED = re.compile(r"[(\[][^)\]]*[)\]]?")
_CV_TAIL = re.compile(r"\bcv\.?\s.*$")
_NON_WORD = re.compile(r"[^a-z0-9\- ]+")
_QUOTE_MAP = str.maketrans({"‘": "'", "’": "'", "`": "'", "´": "'", "“": '"', "”": '"', "×": " x "})

# Shortest tail of a Dutch compound that may be looked up ("bolesdoorn" -> "esdoorn").
_MIN_COMPOUND_TAIL = 4
# Shortest truncated epithet accepted ("Tilia x eur." -> europaea).
_MIN_EPITHET_PREFIX = 3


class LeafClassTableError(ValueError):
    """The leaf-class table is malformed (bad value, duplicate key, alias used twice)."""


def normalise_name(name: object) -> str:
    """Lower-case ASCII words of a tree name without cultivar, parenthesised notes, hybrid marks.

    ``"Tilia x europaea 'Pallida'"`` -> ``"tilia europaea"``;
    ``"Platanus hispanica (acerifolia)"`` -> ``"platanus hispanica"``;
    ``"Goudoun's kers"`` -> ``"goudouns kers"``; ``"Acer spp."`` -> ``"acer"``.
    """
    if name is None or (isinstance(name, float) and np.isnan(name)):
        return ""
    text = str(name).translate(_QUOTE_MAP)
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).lower()
    text = _DOUBLE_QUOTED.sub(" ", text)
    text = _SINGLE_QUOTED.sub(" ", text)
    text = _PARENTHESISED.sub(" ", text)
    text = _CV_TAIL.sub(" ", text)
    text = text.replace("'", "")
    text = _NON_WORD.sub(" ", text)
    tokens = [t.strip("-") for t in text.split()]
    return " ".join(t for t in tokens if t and t not in _NOISE_TOKENS)


@dataclass(frozen=True, slots=True)
class LeafInfo:
    """What the table says about one tree name.

    ``match`` says how the name was resolved: ``species`` (genus and epithet), ``genus`` (the
    genus row, also as a fallback for an epithet the table does not list), ``name`` (a common
    name or synonym), ``empty`` (no species recorded) or ``unresolved`` (not in the table).
    """

    genus: str | None
    leaf_class: str
    leaf_habit: str | None
    leaf_fall_months: tuple[int, ...]
    species: str | None = None
    match: str = "unresolved"

    @property
    def resolved(self) -> bool:
        """True when the table placed the name (an empty name counts as placed: it says nothing)."""
        return self.match != "unresolved"


_EMPTY = LeafInfo(None, "unknown", None, (), None, "empty")
_UNRESOLVED = LeafInfo(None, "unknown", None, (), None, "unresolved")


@dataclass(frozen=True, slots=True)
class LeafEntry:
    """One row of the table."""

    genus: str
    species: str | None
    leaf_class: str
    leaf_habit: str
    leaf_fall_months: tuple[int, ...]
    names: tuple[str, ...]
    source: str

    @property
    def scientific(self) -> str:
        return f"{self.genus} {self.species}" if self.species else self.genus

    def info(self, match: str) -> LeafInfo:
        return LeafInfo(
            self.genus, self.leaf_class, self.leaf_habit, self.leaf_fall_months, self.species, match
        )


def _parse_months(text: str, where: str) -> tuple[int, ...]:
    months: list[int] = []
    for part in text.replace(",", ";").split(";"):
        part = part.strip()
        if not part:
            continue
        if not part.isdigit() or not 1 <= int(part) <= 12:
            raise LeafClassTableError(f"{where}: leaf_fall_months {text!r} must be months 1-12 like '10;11'")
        months.append(int(part))
    return tuple(months)


def _default_table_path() -> Path:
    # The table ships as package data of the geo package, two levels up from this module
    # (pyproject: package-data geo = data/*).
    return Path(__file__).resolve().parent.parent / "data" / "leaf_classes.csv"


class LeafClassTable:
    """The leaf-class table with an index of every key and alias (see the module docstring)."""

    def __init__(self, entries: Iterable[LeafEntry]) -> None:
        self._entries: tuple[LeafEntry, ...] = tuple(entries)
        # normalised key -> (entry, how it matches)
        self._keys: dict[str, tuple[LeafEntry, str]] = {}
        # normalised genus (or a one-word alias of a genus row) -> genus row
        self._genera: dict[str, LeafEntry] = {}
        # normalised genus -> {normalised epithet -> species row}
        self._epithets: dict[str, dict[str, LeafEntry]] = {}
        self._cache: dict[str, LeafInfo] = {}
        self._build_index()

    # -- construction ---------------------------------------------------------------------------

    @classmethod
    def load(cls, path: str | Path | None = None) -> LeafClassTable:
        """Read the table; by default the one shipped as package data (``geo/data/leaf_classes.csv``)."""
        source = Path(path) if path is not None else _default_table_path()
        with source.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            missing = [c for c in TABLE_COLUMNS if c not in (reader.fieldnames or [])]
            if missing:
                raise LeafClassTableError(
                    f"{source}: missing columns {missing}; expected {list(TABLE_COLUMNS)}"
                )
            entries = [cls._entry(row, f"{source.name} line {n + 2}") for n, row in enumerate(reader)]
        return cls(entries)

    @staticmethod
    def _entry(row: dict[str, str], where: str) -> LeafEntry:
        genus = (row["genus"] or "").strip()
        species = (row["species"] or "").strip() or None
        leaf_class = (row["leaf_class"] or "").strip()
        habit = (row["leaf_habit"] or "").strip()
        if not genus or not genus[0].isupper():
            raise LeafClassTableError(f"{where}: genus {genus!r} must be a capitalised genus name")
        if leaf_class not in LEAF_CLASSES:
            raise LeafClassTableError(f"{where}: leaf_class {leaf_class!r} not one of {LEAF_CLASSES}")
        if habit not in LEAF_HABITS:
            raise LeafClassTableError(f"{where}: leaf_habit {habit!r} not one of {LEAF_HABITS}")
        months = _parse_months(row["leaf_fall_months"] or "", where)
        names = tuple(n.strip() for n in (row["names"] or "").split(";") if n.strip())
        return LeafEntry(genus, species, leaf_class, habit, months, names, (row["source"] or "").strip())

    def _add_key(self, key: str, entry: LeafEntry, kind: str, raw: str) -> None:
        if not key:
            raise LeafClassTableError(f"{entry.scientific}: name {raw!r} is empty after normalisation")
        if key in NULL_NAMES:
            raise LeafClassTableError(f"{entry.scientific}: name {raw!r} reads as 'no species'")
        known = self._keys.get(key)
        if known is not None and known[0] is not entry:
            raise LeafClassTableError(
                f"name {raw!r} ({key!r}) is used by both {known[0].scientific} and {entry.scientific}"
            )
        if known is None or kind != "name":
            self._keys[key] = (entry, kind)

    def _build_index(self) -> None:
        genus_rows = {normalise_name(e.genus): e for e in self._entries if e.species is None}
        seen: set[tuple[str, str]] = set()
        for entry in self._entries:
            genus_key = normalise_name(entry.genus)
            if " " in genus_key:
                raise LeafClassTableError(f"genus {entry.genus!r} must be one word")
            ident = (genus_key, normalise_name(entry.species))
            if ident in seen:
                raise LeafClassTableError(f"{entry.scientific} appears twice")
            seen.add(ident)
            if genus_key not in genus_rows:
                raise LeafClassTableError(f"{entry.scientific}: the table has no genus row for {entry.genus}")
            if entry.species is None:
                self._add_key(genus_key, entry, "genus", entry.genus)
                self._genera[genus_key] = entry
            else:
                epithet = normalise_name(entry.species)
                if not epithet or " " in epithet:
                    raise LeafClassTableError(f"{entry.scientific}: species must be one epithet")
                self._add_key(f"{genus_key} {epithet}", entry, "species", entry.scientific)
                self._epithets.setdefault(genus_key, {})[epithet] = entry
        for entry in self._entries:
            for raw in entry.names:
                key = normalise_name(raw)
                self._add_key(key, entry, "name", raw)
                # A one-word alias of a genus row stands for the genus ("sophora", "plataan").
                if entry.species is None and " " not in key:
                    self._genera.setdefault(key, entry)

    # -- queries ----------------------------------------------------------------------------------

    @property
    def entries(self) -> tuple[LeafEntry, ...]:
        return self._entries

    @property
    def genera(self) -> tuple[str, ...]:
        return tuple(sorted({e.genus for e in self._entries}))

    def __len__(self) -> int:
        return len(self._entries)

    def classify(self, name_or_scientific: object) -> LeafInfo:
        """Leaf class, habit and fall months for one register name (scientific, Dutch or English)."""
        key = normalise_name(name_or_scientific)
        cached = self._cache.get(key)
        if cached is None:
            cached = self._resolve(key)
            self._cache[key] = cached
        return cached

    def _resolve(self, key: str) -> LeafInfo:
        if key in NULL_NAMES:
            return _EMPTY
        hit = self._keys.get(key)
        if hit is not None:
            return hit[0].info(hit[1])
        tokens = key.split()
        first = tokens[0]
        if len(tokens) >= 2:
            species = self._species(first, tokens[1])
            if species is not None:
                return species.info("species")
            genus = self._genera.get(first)
            if genus is not None:
                return genus.info("genus")
        # Trailing words of a common name: "northern pin oak" -> "pin oak" -> "oak".
        for start in range(1, len(tokens)):
            hit = self._keys.get(" ".join(tokens[start:]))
            if hit is not None:
                return hit[0].info("name" if hit[1] == "name" else hit[1])
        # Tail of a Dutch compound: "noorse bolesdoorn" -> "esdoorn".
        last = tokens[-1]
        for start in range(1, len(last) - _MIN_COMPOUND_TAIL + 1):
            hit = self._keys.get(last[start:])
            if hit is not None:
                return hit[0].info("name")
        return _UNRESOLVED

    def _species(self, genus_token: str, epithet: str) -> LeafEntry | None:
        """A species row for ``genus epithet``; the genus may be an initial, the epithet truncated."""
        if len(genus_token) == 1:
            candidates = [
                row
                for genus, rows in self._epithets.items()
                if genus.startswith(genus_token)
                for ep, row in rows.items()
                if ep == epithet
            ]
            return candidates[0] if len(candidates) == 1 else None
        genus_row = self._genera.get(genus_token)
        if genus_row is None:
            return None
        rows = self._epithets.get(normalise_name(genus_row.genus), {})
        if epithet in rows:
            return rows[epithet]
        if len(epithet) >= _MIN_EPITHET_PREFIX:
            prefixed = [row for ep, row in rows.items() if ep.startswith(epithet)]
            if len(prefixed) == 1:
                return prefixed[0]
        return None

    def classify_series(self, names: pd.Series) -> pd.DataFrame:
        """Classify a column of names (one lookup per distinct name), indexed like ``names``.

        Columns: ``genus``, ``species``, ``leaf_class``, ``leaf_habit``, ``leaf_fall_months``
        (text like ``"10;11"``, empty when none) and ``match``; missing values classify as empty.
        Columns are object dtype with None (not NaN) where there is no value.
        """
        codes, uniques = pd.factorize(names, use_na_sentinel=True)
        infos = [self.classify(u) for u in uniques] + [_EMPTY]
        codes = np.where(codes < 0, len(infos) - 1, codes)

        def column(values: Sequence[object]) -> pd.Series:
            out = np.empty(len(values), dtype=object)
            out[:] = list(values)
            # object dtype keeps None for "no value" (pandas would turn it into NaN in a str column)
            return pd.Series(out[codes], index=names.index, dtype=object)

        return pd.DataFrame(
            {
                "genus": column([i.genus for i in infos]),
                "species": column([i.species for i in infos]),
                "leaf_class": column([i.leaf_class for i in infos]),
                "leaf_habit": column([i.leaf_habit for i in infos]),
                "leaf_fall_months": column([";".join(str(m) for m in i.leaf_fall_months) for i in infos]),
                "match": column([i.match for i in infos]),
            },
            index=names.index,
        )


_DEFAULT: LeafClassTable | None = None


def default_table() -> LeafClassTable:
    """The shipped table, loaded once per process."""
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = LeafClassTable.load()
    return _DEFAULT


def classify(name_or_scientific: object) -> LeafInfo:
    """:meth:`LeafClassTable.classify` on the shipped table."""
    return default_table().classify(name_or_scientific)


def classify_series(names: pd.Series) -> pd.DataFrame:
    """:meth:`LeafClassTable.classify_series` on the shipped table."""
    return default_table().classify_series(names)


__all__ = [
    "LEAF_CLASSES",
    "LEAF_HABITS",
    "LeafClassTable",
    "LeafClassTableError",
    "LeafEntry",
    "LeafInfo",
    "classify",
    "classify_series",
    "default_table",
    "normalise_name",
]
