"""The privacy rules (`pakhuis.access.privacy`) applied to the API's rows, per viewer.

Rows are rewritten before they are encoded (the hot reads encode rows straight to JSON,
`api.json_rows`), so a public answer never holds a personal sensor's name or exact place, and
a public filter by sensor takes the pseudonym the public was shown, never the hardware id.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any

import numpy as np
from fastapi import Depends, Request

from api.deps import get_store
from api.viewer import get_viewer
from pakhuis.access import Viewer
from pakhuis.access.privacy import PSEUDONYM_PREFIX, PrivacyRules
from pakhuis.store import Store

__all__ = ["Disclosure", "SensorFilter", "get_disclosure", "get_privacy"]


def get_privacy(request: Request) -> PrivacyRules:
    rules: PrivacyRules = request.app.state.privacy
    return rules


@dataclass(frozen=True, slots=True)
class SensorFilter:
    """What to ask the store for: the tenant and sensor a caller's filter names (a pseudonym
    resolved to the sensor behind it), or nothing at all (`matches_nothing`). `by_name`: the
    caller named a sensor by its own name, which finds no hidden tenant's rows."""

    tenant: str | None
    sensor: str | None
    matches_nothing: bool = False
    by_name: bool = False


@dataclass(frozen=True, slots=True)
class Disclosure:
    """What one viewer may see of each tenant's sensors in one answer."""

    rules: PrivacyRules
    viewer: Viewer
    declared_kinds: Mapping[str, str]
    _hidden: dict[str, bool] = field(default_factory=dict, init=False, repr=False, compare=False)

    @property
    def key(self) -> tuple[str, str | None]:
        """Who sees the same answer: shared reads of identical requests are shared only among
        viewers with the same view."""
        return self.viewer.role.value, self.viewer.tenant

    def hides(self, tenant: str) -> bool:
        """Whether this viewer sees `tenant`'s sensors only through the rules."""
        hidden = self._hidden.get(tenant)
        if hidden is None:
            hidden = self._hidden[tenant] = self.rules.is_personal(
                self.declared_kinds.get(tenant)
            ) and not self.viewer.sees_exact(tenant)
        return hidden

    def sensor_filter(self, store: Store, tenant: str | None, sensor: str | None) -> SensorFilter:
        """The store filter for `?tenant=&sensor=`: a pseudonym names the sensor behind it; a
        personal sensor's own name (its hardware id) finds nothing for a viewer who may not
        know it, so it cannot even be confirmed."""
        if sensor is None:
            return SensorFilter(tenant, None)
        if sensor.startswith(PSEUDONYM_PREFIX):
            found = self._resolve(store, tenant, sensor)
            if found is not None:
                return SensorFilter(*found)
        if tenant is not None and self.hides(tenant):
            return SensorFilter(tenant, sensor, matches_nothing=True)
        return SensorFilter(tenant, sensor, by_name=True)

    def _resolve(self, store: Store, tenant: str | None, pseudonym: str) -> tuple[str, str] | None:
        # The owning group may use the pseudonym too: it names nothing it does not know.
        known = self.rules.known_sensor(pseudonym)
        if known is not None:
            return known if tenant in (None, known[0]) else None
        # Not given out by this process yet (e.g. just after a restart): hash the candidates,
        # the personal tenants' sensors (the city's never have pseudonyms).
        personal = self.rules.is_personal
        for key in store.sensor_keys(tenant):
            if personal(self.declared_kinds.get(key[0])) and self.rules.pseudonym(*key) == pseudonym:
                return key
        return None

    def ids(
        self, rows: Iterable[dict[str, Any]], *, exact_names_only: bool = False
    ) -> Iterator[dict[str, Any]]:
        """Rows with `tenant` and `sensor`: a hidden tenant's sensor by its pseudonym. With
        `exact_names_only` (the caller filtered by a plain sensor name) rows of hidden tenants
        are dropped: their name was not the caller's to know."""
        known, pseudonym = self._hidden, self.rules.pseudonym  # the hot path: 10,000 rows of latest
        for row in rows:
            tenant = row["tenant"]
            hidden = known.get(tenant)
            if hidden is None:
                hidden = self.hides(tenant)
            if hidden:
                if exact_names_only:
                    continue
                row["sensor"] = pseudonym(tenant, row["sensor"])
            yield row

    def sensors(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Sensor rows: a hidden tenant's sensor by its pseudonym, at its cell's centre, without
        metadata (device and gateway details)."""
        hidden = [row for row in rows if self.hides(row["tenant"])]
        if hidden:
            lons, lats = self.rules.coarsen_many(
                [np.nan if r["lon"] is None else r["lon"] for r in hidden],
                [np.nan if r["lat"] is None else r["lat"] for r in hidden],
            )
            for row, lon, lat in zip(hidden, lons.tolist(), lats.tolist(), strict=True):
                row["sensor"] = self.rules.pseudonym(row["tenant"], row["sensor"])
                row["lon"] = None if np.isnan(lon) else lon
                row["lat"] = None if np.isnan(lat) else lat
                row["metadata"] = {}
        return rows

    def dead_letter(self, row: dict[str, Any]) -> dict[str, Any]:
        """A dead letter of a hidden tenant with the sensor its topic names (pakhuis' own and
        TTN topics) by its pseudonym, in the topic and in the reasons quoting it."""
        tenant = row.get("tenant")
        if tenant is None or not self.hides(tenant):
            return row
        levels = str(row["topic"]).split("/")
        native = len(levels) == 5 and levels[:3] == ["pakhuis", "v1", tenant]
        ttn = (
            len(levels) == 5
            and levels[0] == "v3"
            and levels[1].endswith(f"@{tenant}")
            and levels[2] == "devices"
        )
        if not (native or ttn):
            return row
        sensor = levels[3]
        alias = self.rules.pseudonym(tenant, sensor)
        levels[3] = alias
        row["topic"] = "/".join(levels)
        row["reason"] = str(row["reason"]).replace(sensor, alias)
        row["details"] = [
            {**item, "reason": str(item["reason"]).replace(sensor, alias)} for item in row["details"]
        ]
        return row


def get_disclosure(
    request: Request,
    store: Annotated[Store, Depends(get_store)],
    viewer: Annotated[Viewer, Depends(get_viewer)],
) -> Disclosure:
    """The request's disclosure: its viewer, the deployment's rules, the tenants' kinds now (read
    per request: a tenant declared a group is private from the next answer on)."""
    return Disclosure(get_privacy(request), viewer, store.tenant_kinds())
