"""Loading the name tables (ingest/mappings.json, or PAKHUIS_MAPPINGS_FILE) into `Mappings`."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

from ingest.context import Mappings
from pakhuis.errors import ConfigurationError
from pakhuis.quantities import Quantity, parse_quantity


def _table(raw: dict[str, Any], where: str) -> dict[str, tuple[Quantity, str | None]]:
    table: dict[str, tuple[Quantity, str | None]] = {}
    for name, (quantity_name, unit) in raw.items():
        quantity = parse_quantity(quantity_name)
        if quantity is None:
            raise ConfigurationError(f"{where}: {name!r} maps to unknown quantity {quantity_name!r}")
        table[name.strip().lower()] = (quantity, unit)
    return table


def load_mappings(path: Path | None = None) -> Mappings:
    text = (
        path.read_text(encoding="utf-8")
        if path is not None
        else resources.files("ingest").joinpath("mappings.json").read_text(encoding="utf-8")
    )
    where = str(path or "ingest/mappings.json")
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigurationError(f"{where} is not valid JSON: {exc}") from None
    return Mappings(
        names=_table(doc.get("names", {}), where),
        ttn_profiles={
            app: _table(t, f"{where} ttn_profiles.{app}") for app, t in doc.get("ttn_profiles", {}).items()
        },
        ignored=frozenset(name.lower() for name in doc.get("ignored", [])),
    )
