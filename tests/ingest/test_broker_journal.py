"""The embedded broker's journal: a QoS 1 message is on disk before its PUBACK, and whatever was
acknowledged but never retired (committed by the ingest) comes back on the next start."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from ingest.broker import DeclaredSession, EmbeddedBroker
from ingest.broker_journal import AckJournal
from pakhuis.errors import ServiceStartError
from tests.ingest.test_broker_acks import (
    INGEST_ID,
    SECRET,
    TOPIC,
    _BrokerThread,
    _eventually,
    _ingest,
    _publisher,
)
from tests.support import free_port


def _append(journal: AckJournal, topic: str, payload: bytes) -> int:
    return asyncio.run(journal.append(topic, payload))


def test_unretired_messages_are_replayed_and_retired_ones_are_not(tmp_path: Path) -> None:
    journal = AckJournal(tmp_path)
    assert journal.open() == []
    loop = asyncio.new_event_loop()
    first, second, third = (loop.run_until_complete(journal.append("a/b", p)) for p in (b"1", b"2", b"3"))
    journal.retire(second)
    journal.close()
    loop.close()

    again = AckJournal(tmp_path)
    replayed = again.open()
    assert [(r.seq, r.topic, r.payload) for r in replayed] == [(first, "a/b", b"1"), (third, "a/b", b"3")]
    assert again.backlog == 2
    # New messages never reuse a seq an old record names.
    assert _append(again, "a/b", b"4") > third


def test_a_journal_in_use_is_refused(tmp_path: Path) -> None:
    first = AckJournal(tmp_path)
    first.open()
    with pytest.raises(ServiceStartError, match="in use by another pakhuis run"):
        AckJournal(tmp_path).open()
    first.close()
    AckJournal(tmp_path).open()  # free again once the first is closed


def test_a_torn_tail_ends_the_replay(tmp_path: Path) -> None:
    journal = AckJournal(tmp_path)
    journal.open()
    loop = asyncio.new_event_loop()
    for payload in (b"kept", b"torn"):
        loop.run_until_complete(journal.append("t", payload))
    journal.close()
    loop.close()
    [segment] = tmp_path.glob("*.journal")
    segment.write_bytes(segment.read_bytes()[:-3])  # the crash cut the last record short
    assert [r.payload for r in AckJournal(tmp_path).open()] == [b"kept"]


def test_fully_retired_segments_are_deleted_and_the_backlog_is_bounded(tmp_path: Path) -> None:
    journal = AckJournal(tmp_path, segment_bytes=200, max_backlog=3)
    journal.open()
    loop = asyncio.new_event_loop()
    seqs = [loop.run_until_complete(journal.append("t", b"x" * 100)) for _ in range(3)]
    assert not journal.has_room()
    assert len(list(tmp_path.glob("*.journal"))) >= 2
    for seq in seqs:
        journal.retire(seq)
    assert journal.has_room()
    # Only the segment being written is left: everything in the others was retired.
    assert len(list(tmp_path.glob("*.journal"))) == 1
    journal.close()
    loop.close()
    assert AckJournal(tmp_path).open() == []


@pytest.mark.integration
def test_puback_after_the_journal_and_replay_after_a_broker_restart(tmp_path: Path) -> None:
    port = free_port()

    def broker() -> EmbeddedBroker:
        return EmbeddedBroker(
            "127.0.0.1",
            port,
            ingest_secret=SECRET,
            declared=[DeclaredSession(INGEST_ID, (TOPIC,))],
            journal_dir=tmp_path / "journal",
        )

    with _BrokerThread(broker()):
        pub = _publisher(port)
        mid = pub.client.publish(TOPIC, b"journaled", qos=1).mid
        # Nobody has stored it yet (the ingest is offline), but it is on disk: acknowledged.
        assert _eventually(lambda: mid in pub.acked)
        pub.close()
    # The broker's memory is gone, as after a crash: the journal brings the message back.
    with _BrokerThread(broker()):
        ingest = _ingest(port)
        assert _eventually(lambda: [m.payload for m in ingest.messages] == [b"journaled"])
        ingest.client.ack(ingest.messages[0].mid, 1)
        time.sleep(0.3)  # the PUBACK reaches the broker before the disconnect
        ingest.close()
    # Acknowledged by the ingest (committed): retired, so a third start replays nothing.
    with _BrokerThread(broker()):
        ingest = _ingest(port)
        assert not _eventually(lambda: len(ingest.messages) > 0, 1.0)
        ingest.close()


@pytest.mark.integration
def test_with_the_journal_backlog_full_the_puback_waits_for_the_commit(tmp_path: Path) -> None:
    broker = EmbeddedBroker(
        "127.0.0.1",
        free_port(),
        ingest_secret=SECRET,
        declared=[DeclaredSession(INGEST_ID, (TOPIC,))],
        journal_dir=tmp_path / "journal",
        journal_backlog=1,
    )
    with _BrokerThread(broker):
        pub = _publisher(broker.port)
        first = pub.client.publish(TOPIC, b"journaled", qos=1).mid
        assert _eventually(lambda: first in pub.acked)
        second = pub.client.publish(TOPIC, b"held", qos=1).mid
        time.sleep(0.5)
        assert second not in pub.acked, "acknowledged beyond the journal's backlog"
        ingest = _ingest(broker.port)
        assert _eventually(lambda: len(ingest.messages) == 2)
        for message in ingest.messages:
            ingest.client.ack(message.mid, 1)
        assert _eventually(lambda: second in pub.acked)
        pub.close()
        ingest.close()
