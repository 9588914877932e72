"""Decoding hostile messages: every refusal is storable text, ids are whole identifiers."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ingest.decode import decode_message
from pakhuis.pgtext import clean_json, clean_text, is_identifier

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "topic",
    [
        "pakhuis/v1/demo\n/s1/native",  # a look-alike tenant: `$` used to accept the newline
        "pakhuis/v1/demo/s1\n/native",
        "pakhuis/v1/de\x01mo/s1/native",
        "pakhuis/v1/demo/s\x7f/native",
        "v3/app@demo\n/devices/d1/up",
        "v3/app@demo/devices/d1\t/up",
        "v3/app@demo/devices/d1/up\n",
        "v1.1/Datastreams(1)/Observations\n",
    ],
)
def test_control_characters_in_topic_ids_are_refused_with_a_reason(topic: str) -> None:
    envelope = decode_message(topic, b'{"time":"2026-11-20T09:00:00Z","quantity":"no2","value":1}', NOW)
    assert envelope.readings == []
    letter = envelope.dead_letter
    assert letter is not None and letter.reason_code == "bad_topic"
    assert letter.tenant is None or is_identifier(letter.tenant)
    assert clean_text(letter.reason) == letter.reason and clean_text(letter.topic) == letter.topic


@pytest.mark.parametrize(
    "payload",
    [
        b'{"time":"2026-11-20T09:30:00Z","quantity":"no2\\u0000","value":"x"}',
        b'{"time":"2026-11-20T09:30:00Z","quantity":"no2\\ud800","value":1}',
        b'{"time":"2026-11-20T09:30:00\\u0000Z","quantity":"no2","value":1}',
        b'{"time":"2026-11-20T09:30:00Z","quantity":"no2","value":1,"unit":"\\udfff\\u0000"}',
        b'[{"time":"\\u0000","quantity":"\\u0001","value":"\\ud800"}, 7, null]',
    ],
)
def test_refusal_reasons_hold_no_text_postgresql_refuses(payload: bytes) -> None:
    letter = decode_message("pakhuis/v1/demo/s1/native", payload, NOW).dead_letter
    assert letter is not None and letter.payload == payload
    for text in (letter.reason, *(r.reason for r in letter.rejections), *(r.code for r in letter.rejections)):
        assert "\x00" not in text and clean_text(text) == text
        text.encode("utf-8")  # no lone surrogate left


def test_clean_text_and_json() -> None:
    assert clean_text("a\x00b\ud800c\n\t") == "a\\x00b\ufffdc\n\t"
    assert clean_text("plain") == "plain"
    assert clean_json({"k\x00": ["v\ud800", float("nan"), 1, None]}) == {
        "k\\x00": ["v\ufffd", "nan", 1, None]
    }
    assert not is_identifier("demo\n") and not is_identifier("") and is_identifier("demo.1:a-b_c")
