"""From (topic, raw bytes) to an Envelope: the registry of decoders, chosen by topic."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from ingest import native
from ingest.topics import TopicError, TopicInfo, parse_topic
from pakhuis.reading import DeadLetter, Envelope, Reading, Rejection

MAX_PAYLOAD_BYTES = 256 * 1024

Decoder = Callable[[bytes, TopicInfo, datetime, float], native.Decoded]

DECODERS: dict[str, Decoder] = {
    native.FORMAT: native.decode,
}


def decode_message(
    topic: str, payload: bytes, received: datetime, *, max_future_s: float = 300.0
) -> Envelope:
    """Decode one broker message; every refusal ends up in the envelope's dead letter."""
    payload = bytes(payload)

    def envelope(
        readings: list[Reading], decoder: str, tenant: str | None, rejections: list[Rejection]
    ) -> Envelope:
        dead = (
            DeadLetter(
                topic=topic,
                payload=payload,
                decoder=decoder,
                rejections=tuple(rejections),
                received=received,
                tenant=tenant,
            )
            if rejections
            else None
        )
        return Envelope(readings, dead, topic=topic, payload=payload)

    try:
        info = parse_topic(topic)
    except TopicError as exc:
        return envelope([], "unknown", None, [Rejection("bad_topic", str(exc))])
    decoder = DECODERS.get(info.format)
    if decoder is None:
        known = ", ".join(sorted(DECODERS))
        refusal = Rejection("unknown_format", f"no decoder for format {info.format!r}; known: {known}")
        return envelope([], info.format, info.tenant, [refusal])
    if len(payload) > MAX_PAYLOAD_BYTES:
        refusal = Rejection(
            "payload_too_large", f"payload is {len(payload)} bytes; the limit is {MAX_PAYLOAD_BYTES}"
        )
        return envelope([], info.format, info.tenant, [refusal])
    decoded = decoder(payload, info, received, max_future_s)
    return envelope(decoded.readings, info.format, info.tenant, decoded.rejections)
