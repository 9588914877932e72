"""The MQTT topic contract: `pakhuis/v1/{tenant}/{sensor}/{format}`."""

from __future__ import annotations

from dataclasses import dataclass

from pakhuis.pgtext import is_identifier

TOPIC_PREFIX = "pakhuis/v1"


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
        # The whole id (`fullmatch`): "demo\n" would be a look-alike tenant.
        if not is_identifier(value):
            raise TopicError(
                f"{label} id {value!r} in topic {topic!r} is not 1-64 letters, digits or . _ : -"
            )
    return TopicInfo(tenant=tenant, sensor=sensor, format=fmt)


def reading_topic(tenant: str, sensor: str, fmt: str = "native") -> str:
    return f"{TOPIC_PREFIX}/{tenant}/{sensor}/{fmt}"
