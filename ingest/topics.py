"""The MQTT topic contract: `pakhuis/v1/{tenant}/{sensor}/{format}`."""

from __future__ import annotations

import re
from dataclasses import dataclass

TOPIC_PREFIX = "pakhuis/v1"
# Tenant and sensor ids end up in URLs, file names and SQL parameters: keep them plain.
_IDENTIFIER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")


@dataclass(frozen=True, slots=True)
class TopicInfo:
    tenant: str
    sensor: str
    format: str


class TopicError(ValueError):
    """The topic does not follow the contract; the message says how it should look."""


def parse_topic(topic: str) -> TopicInfo:
    parts = topic.split("/")
    if len(parts) != 5 or f"{parts[0]}/{parts[1]}" != TOPIC_PREFIX:
        raise TopicError(f"topic {topic!r} does not match {TOPIC_PREFIX}/{{tenant}}/{{sensor}}/{{format}}")
    tenant, sensor, fmt = parts[2], parts[3], parts[4]
    for label, value in (("tenant", tenant), ("sensor", sensor)):
        if not _IDENTIFIER.match(value):
            raise TopicError(
                f"{label} id {value!r} in topic {topic!r} is not 1-64 letters, digits or . _ : -"
            )
    return TopicInfo(tenant=tenant, sensor=sensor, format=fmt)


def reading_topic(tenant: str, sensor: str, fmt: str = "native") -> str:
    return f"{TOPIC_PREFIX}/{tenant}/{sensor}/{fmt}"
