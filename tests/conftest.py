"""Session-wide fixtures: the real services each integration test runs against.

`backend` is parametrised over what is available: "embedded" (the project's amqtt broker and
pgserver PostgreSQL, always) and "external" (Mosquitto and PostgreSQL, when
PAKHUIS_MQTT_URL and PAKHUIS_DATABASE_URL are set, as CI does).
"""

from __future__ import annotations

import os
import tempfile
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest

from tests.support import Broker, Database, EmbeddedBrokerThread, free_port

# numba (spatial kernels) needs a writable cache and a thread-safe layer under pytest.
os.environ.setdefault("NUMBA_CACHE_DIR", str(Path(tempfile.gettempdir()) / "pakhuis-numba-cache"))
os.environ.setdefault("NUMBA_THREADING_LAYER", "omp")

EXTERNAL_MQTT_URL = os.environ.get("PAKHUIS_MQTT_URL") or None
EXTERNAL_DATABASE_URL = os.environ.get("PAKHUIS_DATABASE_URL") or None
EXTERNAL_KAFKA_URL = os.environ.get("PAKHUIS_KAFKA_URL") or None


def _distributed_available() -> bool:
    return bool(EXTERNAL_MQTT_URL and EXTERNAL_DATABASE_URL and EXTERNAL_KAFKA_URL)


def _backends() -> list[str]:
    kinds = ["embedded"]
    if EXTERNAL_MQTT_URL and EXTERNAL_DATABASE_URL:
        kinds.append("external")
    return kinds


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend" in metafunc.fixturenames:
        metafunc.parametrize("backend", _backends(), indirect=True, scope="session")


def pytest_report_header() -> list[str]:
    lines = [f"pakhuis backends: {', '.join(_backends())}"]
    if not _distributed_available():
        lines.append(
            "distributed-mode tests deselected: they need PAKHUIS_MQTT_URL (Mosquitto), "
            "PAKHUIS_KAFKA_URL and PAKHUIS_DATABASE_URL (bash .ci/run starts all three)"
        )
    return lines


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Distributed mode is Mosquitto + Kafka + PostgreSQL by definition; there is no embedded
    # stand-in for Kafka, so without them these tests are not collected (CI always has them).
    if _distributed_available():
        return
    kept = [item for item in items if item.get_closest_marker("distributed") is None]
    if len(kept) != len(items):
        config.hook.pytest_deselected(items=[i for i in items if i not in kept])
        items[:] = kept


@pytest.fixture(scope="session", autouse=True)
def private_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Commands without an explicit data dir use PAKHUIS_DATA_DIR, else the per-user data folder
    (XDG_DATA_HOME on Linux): both point into the test run's temp dir, so no test (or
    subprocess, even one started without the PAKHUIS_ variables) touches the real ones."""
    home = tmp_path_factory.mktemp("user-data")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_DATA_HOME", str(home))
        patch.setenv("PAKHUIS_DATA_DIR", str(home / "pakhuis"))
        yield home / "pakhuis"


@dataclass
class Distributed:
    broker: Broker
    database: Database
    kafka: str


@pytest.fixture(scope="session")
def distributed() -> Iterator[Distributed]:
    assert EXTERNAL_MQTT_URL and EXTERNAL_DATABASE_URL and EXTERNAL_KAFKA_URL
    mqtt_parts = urlsplit(EXTERNAL_MQTT_URL)
    broker = Broker("mosquitto", mqtt_parts.hostname or "127.0.0.1", mqtt_parts.port or 1883, "5")
    database = Database("external", EXTERNAL_DATABASE_URL, _prepare_template(EXTERNAL_DATABASE_URL))
    yield Distributed(broker, database, EXTERNAL_KAFKA_URL.removeprefix("kafka://"))
    database.drop_all()


@dataclass
class Backend:
    name: str
    broker: Broker
    database: Database


def _prepare_template(admin_url: str) -> str:
    from pakhuis.store import Store

    template = "pakhuis_test_template"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{template}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{template}"')
    parts = urlsplit(admin_url)
    with Store(parts._replace(path=f"/{template}").geturl()) as store:
        store.migrate()
    with psycopg.connect(admin_url, autocommit=True) as conn:
        # TimescaleDB's background workers connect to every database, and a database with
        # sessions cannot be cloned: close the template to connections once it is migrated.
        conn.execute(f'ALTER DATABASE "{template}" WITH ALLOW_CONNECTIONS false')
        conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (template,))
    return template


@pytest.fixture(scope="session")
def embedded_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    from pakhuis.store import EmbeddedPostgres

    server = EmbeddedPostgres(tmp_path_factory.mktemp("pg"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        server.start()
    admin = server.admin_uri()
    database = Database("embedded", admin, _prepare_template(admin))
    yield database
    database.drop_all()
    server.stop()


@pytest.fixture(scope="session")
def backend(request: pytest.FixtureRequest) -> Iterator[Backend]:
    if request.param == "external":
        assert EXTERNAL_MQTT_URL and EXTERNAL_DATABASE_URL
        mqtt_parts = urlsplit(EXTERNAL_MQTT_URL)
        broker = Broker("mosquitto", mqtt_parts.hostname or "127.0.0.1", mqtt_parts.port or 1883, "5")
        database = Database("external", EXTERNAL_DATABASE_URL, _prepare_template(EXTERNAL_DATABASE_URL))
        yield Backend("external", broker, database)
        database.drop_all()
        return
    yield request.getfixturevalue("embedded_backend")


@pytest.fixture(scope="session")
def embedded_backend(embedded_database: Database) -> Iterator[Backend]:
    """The project's own embedded broker and PostgreSQL, whatever else is available."""
    thread = EmbeddedBrokerThread(free_port())
    thread.start()
    yield Backend("embedded", Broker("embedded", "127.0.0.1", thread.port, "3.1.1"), embedded_database)
    thread.stop()


@pytest.fixture
def database_url(backend: Backend) -> str:
    return backend.database.new_database()


@pytest.fixture
def store(database_url: str) -> Iterator[object]:
    from pakhuis.store import Store

    with Store(database_url) as opened:
        yield opened
