"""From (topic, raw bytes) to an Envelope: the registry of decoders, chosen by topic.

- `pakhuis/v1/{tenant}/{sensor}/{format}` — native, senml, sensorcommunity
- `v3/{application}@{tenant}/devices/{device}/up` — ttn (The Things Stack v3)
- `v1.1/Observations`, `v1.1/Datastreams({id})/Observations` — sta (OGC SensorThings)

Every refusal ends up in the envelope's dead letter with the raw bytes; decoders never raise
on bad input.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

from ingest import native, senml, sensorcommunity, sta, ttn
from ingest.context import DecodeContext, Decoded, Mappings
from ingest.directory import SensorDirectory
from ingest.mappings import load_mappings
from ingest.topics import TopicError, parse_topic
from pakhuis.errors import StoreUnavailable
from pakhuis.pgtext import is_identifier
from pakhuis.reading import DeadLetter, Envelope, Reading, Rejection

log = logging.getLogger(__name__)

MAX_PAYLOAD_BYTES = 256 * 1024

Decoder = Callable[[bytes, DecodeContext], Decoded]

# Formats that arrive on pakhuis/v1/{tenant}/{sensor}/{format}.
DECODERS: dict[str, Decoder] = {
    native.FORMAT: native.decode,
    senml.FORMAT: senml.decode,
    sensorcommunity.FORMAT: sensorcommunity.decode,
}
FORMATS = (*DECODERS, ttn.FORMAT, sta.FORMAT)

_TTN_TOPIC = re.compile(r"v3/([^/@]+)@([^/]+)/devices/([^/]+)/up")


class MessageDecoder:
    """Decodes messages of every format; holds the mappings, the registry and TTN counters."""

    def __init__(
        self,
        *,
        mappings: Mappings | None = None,
        directory: SensorDirectory | None = None,
        max_future_s: float = 300.0,
        late_after_s: float = 7 * 24 * 3600.0,
    ) -> None:
        self.mappings = mappings if mappings is not None else load_mappings()
        self.directory = directory
        self.max_future_s = max_future_s
        self.late_after_s = late_after_s
        self.counters = ttn.FrameCounters()

    def decode(self, topic: str, payload: bytes, received: datetime) -> Envelope:
        payload = bytes(payload)
        context = DecodeContext(
            topic=topic,
            received=received,
            max_future_s=self.max_future_s,
            late_after_s=self.late_after_s,
            mappings=self.mappings,
            datastreams=self.directory.datastream if self.directory is not None else (lambda _id: None),
        )
        try:
            decoder_name, decoded = self._route(topic, payload, context)
        except StoreUnavailable:
            raise  # an outage (a registry lookup), not the message's fault: it stays unacknowledged
        except Exception as exc:  # logged and dead-lettered with the raw bytes, never swallowed
            # A decoder bug must not stop ingest or lose the message: it becomes a dead letter
            # that can be replayed once the decoder is fixed.
            log.exception("decoder failed on a message from %s", topic)
            decoder_name = _format_of(topic)
            decoded = Decoded(
                [], [Rejection("decoder_error", f"the {decoder_name} decoder failed: {exc!r}"[:500])]
            )
        readings, rejections = decoded.readings, list(decoded.rejections)
        if not readings and not rejections and not decoded.duplicates:
            # Every message is accounted for: stored, refused or counted as a repeat.
            rejections.append(Rejection("no_readings", "the message holds no reading"))
        if self.directory is not None and readings:
            readings, refused = self.directory.refuse_unregistered(readings)
            rejections += refused
        tenant = decoded.tenant or (readings[0].tenant if readings else None)
        dead = (
            DeadLetter(
                topic=topic,
                payload=payload,
                decoder=decoder_name,
                rejections=tuple(rejections),
                received=received,
                tenant=tenant,
            )
            if rejections
            else None
        )
        return Envelope(readings, dead, topic=topic, payload=payload, duplicates=decoded.duplicates)

    def _route(self, topic: str, payload: bytes, context: DecodeContext) -> tuple[str, Decoded]:
        if len(payload) > MAX_PAYLOAD_BYTES:
            limit = Rejection(
                "payload_too_large", f"payload is {len(payload)} bytes; the limit is {MAX_PAYLOAD_BYTES}"
            )
            return _format_of(topic), Decoded([], [limit], tenant=_tenant_of(topic))
        if topic.startswith("v3/"):
            match = _TTN_TOPIC.fullmatch(topic)
            if match is None or not (is_identifier(match[2]) and is_identifier(match[3])):
                return ttn.FORMAT, Decoded(
                    [],
                    [
                        Rejection(
                            "bad_topic",
                            f"topic {topic!r} does not match "
                            "v3/{application}@{tenant}/devices/{device}/up",
                        )
                    ],
                )
            ctx = replace(context, tenant=match[2], sensor=match[3])
            return ttn.FORMAT, _with_tenant(ttn.decode(payload, ctx, self.counters), match[2])
        if topic.startswith("v1.1/"):
            if topic != "v1.1/Observations" and sta.datastream_from_topic(topic) is None:
                return sta.FORMAT, Decoded(
                    [],
                    [
                        Rejection(
                            "bad_topic",
                            f"topic {topic!r} is not v1.1/Observations "
                            "or v1.1/Datastreams({id})/Observations",
                        )
                    ],
                )
            return sta.FORMAT, sta.decode(payload, context)
        try:
            info = parse_topic(topic)
        except TopicError as exc:
            return "unknown", Decoded([], [Rejection("bad_topic", str(exc))], tenant=_tenant_of(topic))
        decoder = DECODERS.get(info.format)
        if decoder is None:
            known = ", ".join(sorted(DECODERS))
            return info.format, Decoded(
                [],
                [Rejection("unknown_format", f"no decoder for format {info.format!r}; known: {known}")],
                tenant=info.tenant,
            )
        ctx = replace(context, tenant=info.tenant, sensor=info.sensor)
        return info.format, _with_tenant(decoder(payload, ctx), info.tenant)


def _with_tenant(decoded: Decoded, tenant: str) -> Decoded:
    return decoded if decoded.tenant else replace(decoded, tenant=tenant)


def _format_of(topic: str) -> str:
    if topic.startswith("v3/"):
        return ttn.FORMAT
    if topic.startswith("v1.1/"):
        return sta.FORMAT
    parts = topic.split("/")
    return parts[4] if len(parts) == 5 else "unknown"


def _tenant_of(topic: str) -> str | None:
    match = _TTN_TOPIC.fullmatch(topic)
    if match:
        return match[2]
    # The tenant level of a topic with too few or too many levels still names the tenant whose
    # dead letter it is (`pakhuis/v1/demo/native`: demo), when it is an identifier at all.
    parts = topic.split("/")
    if len(parts) >= 3 and topic.startswith("pakhuis/v1/") and is_identifier(parts[2]):
        return parts[2]
    return None


@functools.cache
def _default_decoder(max_future_s: float) -> MessageDecoder:
    return MessageDecoder(max_future_s=max_future_s)


def decode_message(
    topic: str, payload: bytes, received: datetime, *, max_future_s: float = 300.0
) -> Envelope:
    """Decode one message with the default mappings and no registry (auto-register everything)."""
    return _default_decoder(max_future_s).decode(topic, payload, received)


__all__ = ["DECODERS", "FORMATS", "MAX_PAYLOAD_BYTES", "MessageDecoder", "Reading", "decode_message"]
