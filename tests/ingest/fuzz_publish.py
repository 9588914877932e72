"""A QoS 1 publisher process for the fuzz corpus: `python -m tests.ingest.fuzz_publish HOST PORT FILE`.

FILE holds records `<topic length:4><topic utf-8><payload length:4><payload>`; each becomes one
QoS 1 message, published in order with paho's in-flight window of 100, and the process exits 0
only when every message was acknowledged (PUBACK) by the broker.
"""

from __future__ import annotations

import struct
import sys
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion


def write_records(path: Path, messages: list[tuple[str, bytes]]) -> None:
    with path.open("wb") as out:
        for topic, payload in messages:
            raw = topic.encode()
            out.write(struct.pack(">I", len(raw)) + raw + struct.pack(">I", len(payload)) + payload)


def read_records(path: Path) -> list[tuple[str, bytes]]:
    data = path.read_bytes()
    records, at = [], 0
    while at < len(data):
        (n,) = struct.unpack_from(">I", data, at)
        topic = data[at + 4 : at + 4 + n].decode()
        at += 4 + n
        (m,) = struct.unpack_from(">I", data, at)
        records.append((topic, data[at + 4 : at + 4 + m]))
        at += 4 + m
    return records


def main() -> None:
    host, port, path = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3])
    client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2)
    client.max_inflight_messages_set(100)
    client.max_queued_messages_set(0)
    client.connect(host, port)
    client.loop_start()
    infos = [client.publish(topic, payload, qos=1) for topic, payload in read_records(path)]
    for info in infos:
        info.wait_for_publish(300)
        if not info.is_published():
            sys.exit(f"message {info.mid} was not acknowledged")
    client.disconnect()
    client.loop_stop()


if __name__ == "__main__":
    main()
