"""Linking drain sensors to drains says, per unlinked sensor, why: no position, a drain id the
register lacks, or the nearest drain too far (with its distance) -- issue 13, part 2."""

from __future__ import annotations

import pandas as pd
import pyproj

from geo.jobs.sensor_links import SENSOR_LINK_M, link_sensors
from geo.spatial import RD_NEW

_TO_LONLAT = pyproj.Transformer.from_crs(28992, 4326, always_xy=True)


def _env() -> pd.DataFrame:
    env = pd.DataFrame(
        {"drain_key": ["k-1", "k-2"], "x": [120_000.0, 120_010.0], "y": [487_000.0, 487_000.0]},
        index=[11, 12],
    )
    env.attrs["crs"] = RD_NEW
    return env


def _sensor(
    i: int, name: str, x: float | None = None, y: float | None = None, drain: str | None = None
) -> dict[str, object]:
    lon, lat = _TO_LONLAT.transform(x, y) if x is not None and y is not None else (None, None)
    return {
        "id": i,
        "tenant": "t",
        "name": name,
        "lon": lon,
        "lat": lat,
        "metadata": {"drain": drain} if drain else None,
    }


def test_each_unlinked_sensor_has_its_reason() -> None:
    links = link_sensors(
        [
            _sensor(1, "near", 120_009.0, 487_000.5),  # 1.1 m from k-2
            _sensor(2, "by-id", drain="k-1"),
            _sensor(3, "far", 120_030.0, 487_000.0),  # 20 m from k-2
            _sensor(4, "nowhere"),
            _sensor(5, "wrong-id", drain="k-99"),
        ],
        _env(),
    )
    assert links.drain_of == {1: 12, 2: 11}
    assert links.unlinked["t/nowhere"] == "no position and no drain id"
    assert links.unlinked["t/wrong-id"] == "drain not in the register: k-99"
    assert links.unlinked["t/far"] == f"no drain within {SENSOR_LINK_M:g} m: nearest 20.0 m"
    summary = links.summary()
    assert "1 no position and no drain id: t/nowhere" in summary
    assert "1 no drain within 5 m: t/far (no drain within 5 m: nearest 20.0 m)" in summary
    assert "1 drain not in the register: t/wrong-id" in summary
