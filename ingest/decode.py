"""From (topic, raw bytes) to an Envelope: the registry of decoders, chosen by topic."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from ingest import native
from ingest.topics import TopicError, TopicInfo, parse_topic
from pakhuis.reading import DeadLetter, Envelope, Rejection

MAX_PAYLOAD_BYTES = 256 * 1024

Decoder = Callable[[bytes, TopicInfo, datetime, float], native.Decoded]

DECODERS: dict[str, Decoder] = {
    native.FORMAT: native.decode,
}


def decode_message(
    topic: str, payload: bytes, received: datetime, *, max_future_s: float = 300.0
) -> Envelope:
    """Decode one broker message; every refusal ends up in the envelope's dead letter."""
    try:
        info = parse_topic(topic)
    except TopicError as exc:
        return Envelope(
            [],
            topic=topic,
            payload=payload,
            dead_letter=_dead(topic, payload, "unknown", received, None, [Rejection("bad_topic", str(exc))]),
        )
    decoder = DECODERS.get(info.format)
    if decoder is None:
        known = ", ".join(sorted(DECODERS))
        return Envelope(
            [],
            topic=topic,
            payload=payload,
            dead_letter=_dead(
                topic,
                payload,
                info.format,
                received,
                info.tenant,
                [Rejection("unknown_format", f"no decoder for format {info.format!r}; known: {known}")],
            ),
        )
    if len(payload) > MAX_PAYLOAD_BYTES:
        return Envelope(
            [],
            topic=topic,
            payload=payload,
            dead_letter=_dead(
                topic,
                payload,
                info.format,
                received,
                info.tenant,
                [
                    Rejection(
                        "payload_too_large",
                        f"payload is {len(payload)} bytes; the limit is {MAX_PAYLOAD_BYTES}",
                    )
                ],
            ),
        )
    decoded = decoder(payload, info, received, max_future_s)
    dead = (
        _dead(topic, payload, info.format, received, info.tenant, decoded.rejections)
        if decoded.rejections
        else None
    )
    return Envelope(decoded.readings, dead, topic=topic, payload=bytes(payload))


def _dead(
    topic: str,
    payload: bytes,
    decoder: str,
    received: datetime,
    tenant: str | None,
    rejections: list[Rejection],
) -> DeadLetter:
    return DeadLetter(
        topic=topic,
        payload=bytes(payload),
        decoder=decoder,
        rejections=tuple(rejections),
        received=received,
        tenant=tenant,
    )
