"""A fuzz corpus of 100,000 generated messages through the real broker into a running `pakhuis run`.

Every decoder's topics get valid payloads and mutations of them (see `fuzz_corpus`), published
at QoS 1 by eight publisher processes to the embedded broker of a `pakhuis run`, which writes
to a fresh database. Then: the process is still up, every reading the messages hold is stored
exactly once, every message that was refused (in whole or in part) is one dead letter with a
reason, and every message is accounted for:

    published = messages with readings only + messages dead-lettered + messages that were
                repeats only (a TTN frame counter seen before; none here: every uplink has its own)

The expected readings and refusals are those of decoding each message on its own with the
same decoder and registry (the service must add nothing and lose nothing on the way); every
message has its own phenomenon time, so no two messages share a reading identity.

    PAKHUIS_FUZZ_MESSAGES=5000 pytest tests/ingest/test_fuzz_corpus.py -s   # a quick run; prints counts
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from ingest.decode import MessageDecoder
from ingest.directory import SensorDirectory
from pakhuis.quantities import Quantity
from pakhuis.store import Store
from tests.ingest.embedded_run import embedded_url, start_run
from tests.ingest.fuzz_corpus import DATASTREAMS, datastream_id, generate
from tests.ingest.fuzz_publish import write_records
from tests.support import REPO, Broker, probe_payload, publish_one, wait_for

pytestmark = pytest.mark.integration

MESSAGES = int(os.environ.get("PAKHUIS_FUZZ_MESSAGES", "100000"))
PUBLISHERS = 8

_STORED = """
SELECT s.name, q.name, o.time FROM observations o
JOIN sensors s ON s.id = o.sensor_id JOIN quantities q ON q.id = o.quantity_id
WHERE s.tenant = %s AND s.name <> 'probe'
"""


Identity = tuple[str, str, datetime | None]


def _identity(sensor: str, quantity: str, at: datetime, recent: datetime) -> Identity:
    """A reading's identity; None for the time of a reading that took its time from when it was
    received (a SenML record without a base time, an Observation without a phenomenonTime):
    that time differs between our decoding and the service's, the reading does not."""
    return (sensor, quantity, None if at >= recent else at)


def _expected(
    store: Store, corpus: list[tuple[str, bytes, str]], recent: datetime
) -> tuple[Counter[Identity], int, int, int]:
    """(reading identities, messages dead-lettered, messages with readings only, repeats only)."""
    directory = SensorDirectory(
        known_sensors=store.known_sensors,
        tenant_policies=store.tenant_policies,
        datastream=store.datastream,
        default_policy="auto_register",
    )
    decoder = MessageDecoder(directory=directory)
    identities: Counter[Identity] = Counter()
    dead = readings_only = repeats = 0
    now = datetime.now(UTC)
    for topic, payload, _kind in corpus:
        envelope = decoder.decode(topic, payload, now)
        # a set per message: repeats inside one message are stored once
        identities.update({_identity(r.sensor, r.quantity.value, r.time, recent) for r in envelope.readings})
        if envelope.dead_letter is not None:
            dead += 1
        elif envelope.readings:
            readings_only += 1
        else:
            assert envelope.duplicates, f"message {topic!r} {payload[:80]!r} is not accounted for"
            repeats += 1
    return identities, dead, readings_only, repeats


def test_fuzz_corpus_through_the_broker_keeps_the_service_up_and_accounts_for_every_message(
    tmp_path: Path,
) -> None:
    tenant = f"fz{uuid.uuid4().hex[:8]}"
    corpus = generate(MESSAGES, tenant)
    recent = datetime.now(UTC) - timedelta(minutes=1)  # every generated time lies before this
    log = tmp_path / "run.log"
    proc, mqtt_port = start_run(tmp_path / "data", log)
    broker = Broker("embedded", "127.0.0.1", mqtt_port, "3.1.1")
    try:
        wait_for(lambda: proc.poll() is None and "pakhuis is running" in log.read_text(), 90, "pakhuis run")
        database_url = embedded_url(tmp_path / "data" / "pg")
        with Store(database_url) as store:
            for k in range(DATASTREAMS):
                store.register_datastream(datastream_id(tenant, k), tenant, f"sta{k}", Quantity.NO2)
            identities, dead, readings_only, repeats = _expected(store, corpus, recent)
        assert len(corpus) == dead + readings_only + repeats

        with psycopg.connect(database_url) as conn:

            def probe_stored() -> bool:
                publish_one(broker, f"pakhuis/v1/{tenant}/probe/native", probe_payload().encode())
                return conn.execute("SELECT count(*) FROM latest").fetchone() != (0,)

            wait_for(probe_stored, 30, "the probe reading", interval=1.0)

        started = time.monotonic()
        publishers = []
        for p in range(PUBLISHERS):
            part = tmp_path / f"corpus-{p}.bin"
            write_records(part, [(topic, payload) for topic, payload, _ in corpus[p::PUBLISHERS]])
            cmd = [sys.executable, "-m", "tests.ingest.fuzz_publish", "127.0.0.1", str(mqtt_port), str(part)]
            publishers.append(subprocess.Popen(cmd, cwd=REPO))
        for publisher in publishers:
            assert publisher.wait(300) == 0, "a publisher did not get every PUBACK"
        published_s = time.monotonic() - started

        with psycopg.connect(database_url) as conn:

            def counts() -> tuple[int, int]:
                stored = conn.execute("SELECT count(*) FROM (" + _STORED + ") x", (tenant,)).fetchone()
                letters = conn.execute("SELECT count(*) FROM deadletters").fetchone()
                assert stored is not None and letters is not None
                return int(stored[0]), int(letters[0])

            # PUBACKs follow the commit in embedded mode; allow a moment for the last batch anyway.
            wait_for(lambda: counts() >= (identities.total(), dead), 60, "every reading and dead letter")
            assert proc.poll() is None, "pakhuis run stopped:\n" + log.read_text()[-3000:]
            stored_rows = conn.execute(_STORED, (tenant,)).fetchall()
            letters = conn.execute(
                "SELECT reason_code, reason, payload_truncated FROM deadletters"
            ).fetchall()
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            proc.wait(60)

    stored = Counter(_identity(sensor, quantity, at, recent) for sensor, quantity, at in stored_rows)
    codes: dict[str, int] = {}
    for code, _reason, _cut in letters:
        codes[code] = codes.get(code, 0) + 1
    print(
        f"\nfuzz corpus: {len(corpus):,} messages published in {published_s:.1f} s "
        f"({len(corpus) / published_s:,.0f}/s) by {PUBLISHERS} publishers; "
        f"{readings_only:,} with readings only, {dead:,} dead-lettered, {repeats:,} repeats; "
        f"{len(stored_rows):,} readings stored ({identities.total():,} expected); "
        f"{len(letters):,} dead letters ({sum(1 for *_, cut in letters if cut)} payloads cut); "
        f"reasons: {dict(sorted(codes.items(), key=lambda kv: -kv[1]))}"
    )
    # stored once each (the table's identity forbids more), and exactly the expected ones
    assert stored == identities, f"missing {identities - stored}, unexpected {stored - identities}"
    assert len(letters) == dead
    assert all(code and reason for code, reason, _ in letters), "a dead letter without a reason"
    assert "store_rejected" not in codes and "unstorable" not in codes and "decoder_error" not in codes
    assert len(corpus) == readings_only + dead + repeats
