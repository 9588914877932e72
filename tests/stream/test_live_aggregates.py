"""Live one-minute tumbling windows (`stream.live.MinuteAggregates`) against numpy.

A window is per tenant, sensor and quantity; it is emitted when a reading of a later minute of
the same key arrives (or on `flush`); a reading for a minute before the open window is skipped.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta

import numpy as np

from pakhuis.quantities import Quantity
from pakhuis.reading import Reading
from stream.live import MinuteAggregate, MinuteAggregates

T0 = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)


def _r(
    seconds: float,
    value: float,
    sensor: str = "no2-1",
    quantity: Quantity = Quantity.NO2,
    tenant: str = "haarlem",
) -> Reading:
    t = T0 + timedelta(seconds=seconds)
    return Reading(tenant, sensor, quantity, value, t, t, "native")


def _key(w: MinuteAggregate) -> tuple[str, str, str, datetime]:
    return (w.tenant, w.sensor, w.quantity, w.minute)


def test_window_is_emitted_when_a_later_minute_arrives() -> None:
    live = MinuteAggregates()
    assert live([_r(0, 10.0), _r(15, 14.0), _r(59.999999, 3.0)]) == []
    closed = live([_r(60, 100.0)])  # exactly on the next minute's border
    assert len(closed) == 1
    w = closed[0]
    assert (w.tenant, w.sensor, w.quantity, w.minute) == ("haarlem", "no2-1", "no2", T0)
    values = np.array([10.0, 14.0, 3.0])
    assert w.count == 3
    assert abs(w.mean - values.mean()) < 1e-9
    assert (w.min, w.max) == (values.min(), values.max())
    assert w.to_dict() == {
        "tenant": "haarlem",
        "sensor": "no2-1",
        "quantity": "no2",
        "minute": "2026-11-20T10:00:00+00:00",
        "count": 3,
        "mean": w.mean,
        "min": 3.0,
        "max": 14.0,
    }
    # the reading on the border opened the next window
    flushed = live.flush()
    assert [(_key(f), f.count, f.mean) for f in flushed] == [
        (("haarlem", "no2-1", "no2", T0 + timedelta(minutes=1)), 1, 100.0)
    ]


def test_windows_are_per_sensor_and_quantity() -> None:
    live = MinuteAggregates()
    first = [
        _r(5, 1.0),
        _r(6, 2.0, quantity=Quantity.TEMPERATURE),
        _r(7, 3.0, sensor="no2-2"),
        _r(8, 4.0, tenant="delft"),
    ]
    assert live(first) == []
    # a later minute of one key closes only that key's window
    closed = live([_r(70, 5.0, quantity=Quantity.TEMPERATURE)])
    assert [(_key(w), w.count, w.mean) for w in closed] == [(("haarlem", "no2-1", "temperature", T0), 1, 2.0)]
    rest = {_key(w): w.mean for w in live.flush()}
    assert rest == {
        ("haarlem", "no2-1", "no2", T0): 1.0,
        ("haarlem", "no2-2", "no2", T0): 3.0,
        ("delft", "no2-1", "no2", T0): 4.0,
        ("haarlem", "no2-1", "temperature", T0 + timedelta(minutes=1)): 5.0,
    }


def test_late_reading_for_an_earlier_minute_is_skipped() -> None:
    live = MinuteAggregates()
    live([_r(10, 1.0)])
    closed = live([_r(65, 2.0)])
    assert [w.count for w in closed] == [1]
    # minute 0 was emitted; a reading for it now must not reopen or change anything
    assert live([_r(30, 1000.0)]) == []
    # nor does a late one in the same call as in-order ones (sorted first, then skipped)
    closed = live([_r(125, 7.0), _r(20, 999.0), _r(70, 4.0)])
    assert [(w.minute, w.count, w.total, w.max) for w in closed] == [(T0 + timedelta(minutes=1), 2, 6.0, 4.0)]
    flushed = live.flush()
    assert [(w.minute, w.count, w.total) for w in flushed] == [(T0 + timedelta(minutes=2), 1, 7.0)]


def test_unordered_batch_is_walked_in_time_order() -> None:
    live = MinuteAggregates()
    # minute 1 listed first: unsorted processing would emit minute 1 and then skip minute 0
    closed = live([_r(61, 8.0), _r(1, 2.0), _r(2, 4.0), _r(121, 1.0)])
    assert [(w.minute, w.count, w.mean) for w in closed] == [
        (T0, 2, 3.0),
        (T0 + timedelta(minutes=1), 1, 8.0),
    ]


def test_flush_empties_the_open_windows() -> None:
    live = MinuteAggregates()
    assert live.flush() == []
    live([_r(1, 1.0), _r(2, 2.0, sensor="b")])
    assert len(live.flush()) == 2
    assert live.flush() == []
    # after a flush the next reading starts a fresh window
    live([_r(3, 5.0)])
    assert [(w.count, w.total) for w in live.flush()] == [(1, 5.0)]


def test_many_readings_in_chunks_match_numpy() -> None:
    rng = np.random.default_rng(20261122)
    keys = [
        ("haarlem", "no2-1", Quantity.NO2),
        ("haarlem", "no2-1", Quantity.TEMPERATURE),
        ("haarlem", "kolk-7", Quantity.FILL_LEVEL),
        ("delft", "no2-1", Quantity.NO2),
    ]
    readings: list[Reading] = []
    for tenant, sensor, quantity in keys:
        # distinct times (microsecond resolution) over 20 minutes, some exactly on minute borders
        offsets = np.unique(
            np.concatenate([rng.integers(0, 20 * 60 * 10**6, 400), np.arange(0, 20 * 60 * 10**6, 60 * 10**6)])
        )
        values = rng.normal(40.0, 15.0, offsets.size).round(6)
        for off, val in zip(offsets.tolist(), values.tolist(), strict=True):
            t = T0 + timedelta(microseconds=off)
            readings.append(Reading(tenant, sensor, quantity, val, t, t, "native"))
    readings.sort(key=lambda r: r.time)

    # the oracle: group by key and minute with numpy
    grouped: dict[tuple[str, str, str, datetime], list[float]] = defaultdict(list)
    for r in readings:
        minute = r.time.replace(second=0, microsecond=0)
        grouped[(r.tenant, r.sensor, r.quantity.value, minute)].append(r.value)
    expected = {k: np.array(v) for k, v in grouped.items()}

    live = MinuteAggregates()
    emitted: list[MinuteAggregate] = []
    chunks = np.array_split(np.arange(len(readings)), 37)
    for chunk in chunks:
        batch = [readings[i] for i in chunk.tolist()]
        rng.shuffle(batch)  # order inside a batch must not matter
        emitted.extend(live(batch))
    before_flush = len(emitted)
    emitted.extend(live.flush())

    # every (key, minute) window but the last per key is emitted before the flush
    assert before_flush == len(expected) - len(keys)
    got = {_key(w): w for w in emitted}
    assert len(got) == len(emitted)  # no window emitted twice
    assert set(got) == set(expected)
    for k, values in expected.items():
        w = got[k]
        assert w.count == values.size
        assert abs(w.mean - values.mean()) < 1e-9
        assert w.min == values.min()
        assert w.max == values.max()
