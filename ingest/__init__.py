"""Ingest: MQTT client, payload decoders, validation, unit conversion and dead letters.

Turns broker messages into canonical `Reading`s or `DeadLetter`s and hands them on as
`Envelope`s; a message is acknowledged to the broker only after its envelope was handed on.
"""

from ingest.broker import EmbeddedBroker
from ingest.decode import DECODERS, decode_message
from ingest.mqtt import MqttIngest, MqttOptions
from ingest.topics import TopicInfo, parse_topic

__all__ = [
    "DECODERS",
    "EmbeddedBroker",
    "MqttIngest",
    "MqttOptions",
    "TopicInfo",
    "decode_message",
    "parse_topic",
]
