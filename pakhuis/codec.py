"""How readings, dead letters and alerts travel on Kafka: small JSON documents.

Keys are `tenant/sensor`, so every reading of one sensor lands in one partition and stays in
order; values are UTF-8 JSON. A readings record carries one sensor's readings from one or
more MQTT messages (the sensor is written once, each reading as a short row): per-record
overhead in Kafka and Faust, not per reading, is what limits throughput. Both the producer
(ingest) and the consumers (stream) use this module, so the format is defined once.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import datetime

from pakhuis.alerts import Alert
from pakhuis.pgtext import is_identifier
from pakhuis.quantities import Quantity
from pakhuis.reading import DeadLetter, QualityLabel, Reading, Rejection


@dataclass(frozen=True, slots=True)
class KafkaTopics:
    """Topic names under one prefix ("pakhuis" → pakhuis.readings, …); several deployments (or
    test runs) can share a cluster under different prefixes. The Faust app id is
    `<prefix>-stream`, so its consumer group and internal topics are separate too."""

    prefix: str = "pakhuis"

    @property
    def readings(self) -> str:
        return f"{self.prefix}.readings"

    @property
    def deadletter(self) -> str:
        return f"{self.prefix}.deadletter"

    @property
    def alerts(self) -> str:
        return f"{self.prefix}.alerts"

    @property
    def live(self) -> str:
        return f"{self.prefix}.live"

    @property
    def app_id(self) -> str:
        return f"{self.prefix}-stream"

    def all(self) -> tuple[str, ...]:
        return (self.readings, self.deadletter, self.alerts, self.live)


def sensor_key(tenant: str, sensor: str) -> bytes:
    return f"{tenant}/{sensor}".encode()


def encode_sensor_readings(readings: list[Reading]) -> bytes:
    """One record for readings of a single sensor: {"tenant", "sensor", "r": [[quantity, value,
    time, time_end, received, quality, format, metadata], ...]}."""
    first = readings[0]
    rows = []
    for r in readings:
        if (r.tenant, r.sensor) != (first.tenant, first.sensor):
            raise ValueError("a readings record holds one sensor's readings")
        rows.append(
            [
                r.quantity.value,
                r.value,
                r.time.isoformat(),
                r.time_end.isoformat() if r.time_end is not None else None,
                r.received.isoformat(),
                r.quality.value,
                r.source_format,
                r.metadata,
            ]
        )
    return json.dumps(
        {"tenant": first.tenant, "sensor": first.sensor, "r": rows}, separators=(",", ":")
    ).encode()


def decode_sensor_readings(data: bytes) -> list[Reading]:
    doc = json.loads(data)
    tenant, sensor = doc["tenant"], doc["sensor"]
    # Ingest only writes ids it took from a valid topic; anything else is a foreign writer.
    if not (is_identifier(tenant) and is_identifier(sensor)):
        raise ValueError(f"tenant {tenant!r} / sensor {sensor!r} are not identifiers")
    return [
        Reading(
            tenant=tenant,
            sensor=sensor,
            quantity=Quantity(q),
            value=float(v),
            time=datetime.fromisoformat(t),
            received=datetime.fromisoformat(received),
            source_format=fmt,
            quality=QualityLabel(quality),
            time_end=datetime.fromisoformat(t_end) if t_end else None,
            metadata=metadata if isinstance(metadata, dict) else None,
        )
        for q, v, t, t_end, received, quality, fmt, metadata in doc["r"]
    ]


def encode_dead_letter(letter: DeadLetter) -> bytes:
    return json.dumps(
        {
            "topic": letter.topic,
            "payload": base64.b64encode(letter.payload).decode(),
            "decoder": letter.decoder,
            "tenant": letter.tenant,
            "received": letter.received.isoformat(),
            "size": letter.payload_size,
            "rejections": [{"code": r.code, "reason": r.reason, "item": r.item} for r in letter.rejections],
        },
        separators=(",", ":"),
    ).encode()


def decode_dead_letter(data: bytes) -> DeadLetter:
    doc = json.loads(data)
    return DeadLetter(
        topic=doc["topic"],
        payload=base64.b64decode(doc["payload"]),
        decoder=doc["decoder"],
        rejections=tuple(Rejection(r["code"], r["reason"], r["item"]) for r in doc["rejections"]),
        received=datetime.fromisoformat(doc["received"]),
        tenant=doc["tenant"],
        payload_size=size if isinstance(size := doc.get("size"), int) else None,
    )


def encode_alert(alert: Alert) -> bytes:
    return json.dumps(alert.to_dict(), separators=(",", ":")).encode()
