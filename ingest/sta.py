"""OGC SensorThings API v1.1 MQTT create: an Observation published to `v1.1/Observations` (with
`Datastream@iot.id` or `Datastream: {"@iot.id": …}`) or to `v1.1/Datastreams({id})/Observations`.

The Datastream (registered with `pakhuis datastreams register`) says which tenant, sensor and
quantity (and unit) its results are. `phenomenonTime` is an instant or an interval `start/end`
(e.g. a 4-weekly Palmes tube mean); when absent the receive time is used, as the standard
prescribes. `resultTime` is kept as metadata.
"""

from __future__ import annotations

import re

from ingest.build import build_reading, number, parse_time
from ingest.context import DecodeContext, Decoded
from ingest.jsondoc import load_json
from pakhuis.pgtext import clean_text
from pakhuis.reading import Rejection

FORMAT = "sta"
_DATASTREAM_TOPIC = re.compile(r"^v1\.1/Datastreams\((?:'([^']+)'|([^)']+))\)/Observations$")


def datastream_from_topic(topic: str) -> str | None:
    match = _DATASTREAM_TOPIC.fullmatch(topic)
    return (match[1] or match[2]) if match else None


def decode(payload: bytes, ctx: DecodeContext) -> Decoded:
    document = load_json(payload)
    if isinstance(document, Rejection):
        return Decoded([], [document])
    if not isinstance(document, dict):
        return Decoded([], [Rejection("bad_shape", "an Observation must be a JSON object")])
    datastream_id = datastream_from_topic(ctx.topic)
    if datastream_id is None:
        ref = document.get("Datastream@iot.id")
        if ref is None and isinstance(document.get("Datastream"), dict):
            ref = document["Datastream"].get("@iot.id")
        if ref is None or isinstance(ref, bool | dict | list):
            return Decoded(
                [], [Rejection("missing_field", "the Observation names no Datastream (Datastream@iot.id)")]
            )
        datastream_id = str(ref)
    if len(datastream_id) > 200 or clean_text(datastream_id) != datastream_id:
        # Looked up in the database: NUL, control characters and lone surrogates never name one.
        return Decoded(
            [], [Rejection("unknown_datastream", f"Datastream id {datastream_id[:200]!r} is not a valid id")]
        )
    datastream = ctx.datastreams(datastream_id)
    if datastream is None:
        return Decoded(
            [],
            [
                Rejection(
                    "unknown_datastream",
                    f"Datastream {datastream_id!r} is not registered "
                    f"(pakhuis datastreams register {datastream_id} …)",
                )
            ],
        )
    if "result" not in document:
        return Decoded(
            [],
            [Rejection("missing_field", "the Observation has no result")],
            datastream.tenant,
            datastream.sensor,
        )
    value = number(document["result"], datastream.quantity.value, None)
    if isinstance(value, Rejection):
        return Decoded([], [value], datastream.tenant, datastream.sensor)
    phenomenon = document.get("phenomenonTime")
    time_end = None
    if phenomenon is None:
        time = ctx.received
    elif isinstance(phenomenon, str) and "/" in phenomenon:
        start_text, _, end_text = phenomenon.partition("/")
        start = parse_time(start_text, "phenomenonTime start", None)
        end = parse_time(end_text, "phenomenonTime end", None)
        if isinstance(start, Rejection):
            return Decoded([], [start], datastream.tenant, datastream.sensor)
        if isinstance(end, Rejection):
            return Decoded([], [end], datastream.tenant, datastream.sensor)
        time, time_end = start, end
    else:
        parsed = parse_time(phenomenon, "phenomenonTime", None)
        if isinstance(parsed, Rejection):
            return Decoded([], [parsed], datastream.tenant, datastream.sensor)
        time = parsed
    metadata = {"datastream": datastream_id}
    if isinstance(document.get("resultTime"), str):
        metadata["result_time"] = document["resultTime"]
    outcome = build_reading(
        ctx,
        tenant=datastream.tenant,
        sensor=datastream.sensor,
        quantity=datastream.quantity,
        value=value,
        unit=datastream.unit,
        time=time,
        time_end=time_end,
        source_format=FORMAT,
        metadata=metadata,
    )
    if isinstance(outcome, Rejection):
        return Decoded([], [outcome], datastream.tenant, datastream.sensor)
    return Decoded([outcome], [], datastream.tenant, datastream.sensor)
