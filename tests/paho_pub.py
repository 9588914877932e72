"""`mosquitto_pub -l -q 1` stand-in for machines without mosquitto-clients: stdin lines → QoS 1."""

from __future__ import annotations

import sys

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion


def main() -> None:
    host, port, topic = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2)
    client.max_inflight_messages_set(100)
    client.connect(host, port)
    client.loop_start()
    infos = [client.publish(topic, line.rstrip("\n"), qos=1) for line in sys.stdin if line.strip()]
    for info in infos:
        info.wait_for_publish(60)
    client.disconnect()
    client.loop_stop()


if __name__ == "__main__":
    main()
