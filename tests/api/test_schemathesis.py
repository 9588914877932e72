"""Schemathesis against the OpenAPI document of the real app, served by uvicorn with pakhuis'
server config over the test database: every operation, every built-in check, a bounded number
of generated examples per operation. 0 server errors and 0 undocumented status codes.

Nothing is excluded: HTTP ingest publishes through a real bridge to an embedded broker of its
own (no subscribers, so nothing but this test sees the messages).
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import CHECKS, load_all_checks
from schemathesis.core.failures import Failure, FailureGroup, ServerError
from schemathesis.core.parameters import ParameterLocation
from schemathesis.core.result import Err
from schemathesis.openapi.checks import RejectedPositiveData, UndefinedStatusCode

from api import create_app
from api.bridge import MqttBridge
from api.limits import ApiLimits
from pakhuis.cli.serving import QuietServer, server_config
from pakhuis.quantities import Quantity
from pakhuis.reading import DeadLetter, Reading, Rejection
from pakhuis.settings import load_settings
from pakhuis.store import Store
from tests.conftest import Backend
from tests.support import EmbeddedBrokerThread, bearer, free_port, wait_for

pytestmark = pytest.mark.integration

# Per operation (~20 operations): enough to reach every parameter, well inside CI's budget.
EXAMPLES_PER_OPERATION = 100
T0 = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


def _seed(store: Store) -> None:
    readings = [
        Reading(
            tenant="haarlem",
            sensor=f"s-{i % 3}",
            quantity=(Quantity.NO2, Quantity.FILL_LEVEL)[i % 2],
            value=float(i),
            time=T0 + timedelta(minutes=i),
            received=T0,
            source_format="native",
        )
        for i in range(30)
    ]
    letters = [
        DeadLetter(
            topic="pakhuis/v1/haarlem/s-1/native",
            payload=b'{"value": "abc"}',
            decoder="native",
            rejections=(Rejection("bad_value", "no2 value 'abc' is not a number"),),
            received=T0,
            tenant="haarlem",
        )
    ]
    store.write_batch(readings, letters)


@pytest.fixture(scope="module")
def served(backend: Backend) -> Iterator[tuple[str, dict[str, str]]]:
    """The served app's URL, and an admin's key (issue 14) so that every operation is reached
    past its access check; the `ignored_auth` check then also asks each protected operation
    without the key and expects a 401."""
    port = free_port()
    app_settings = load_settings(api_host="127.0.0.1", api_port=port)
    broker = EmbeddedBrokerThread(free_port())
    broker.start()
    bridge = MqttBridge("127.0.0.1", broker.port, protocol="3.1.1")
    with Store(backend.database.new_database()) as store:
        store.migrate()
        _seed(store)
        app = create_app(store, bridge=bridge, limits=ApiLimits.from_settings(app_settings))
        server = QuietServer(server_config(app, app_settings, lifespan="off"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        wait_for(lambda: server.started, timeout=10, what="uvicorn started")
        yield f"http://127.0.0.1:{port}", bearer(store)
        server.should_exit = True
        thread.join(timeout=10)
    bridge.close()
    broker.stop()


def _all_checks() -> list[Any]:
    load_all_checks()
    return list(CHECKS.get_all())


# Rules between parameters (or against the stored data) that an OpenAPI schema cannot state:
# schema-valid requests that break them are rightly 400s. Any other rejection of schema-valid
# data counts as a failure.
CROSS_PARAMETER_RULES = (
    "end must lie after start",
    "agg needs bucket",
    "cursor: bucketed rows come in one page",
    "order=desc applies to raw observations",
    "bbox must be min_lon,min_lat,max_lon,max_lat with min ≤ max",
    "not in the register",  # cleanings of drains the register does not hold
    "is in the future",  # a cleaning's time, against the clock
    "time is out of range once converted to UTC",  # e.g. 0001-01-01T00:00+14:00
    "the drain register has no drain with that id",  # a sensor registered on a drain it lacks
)


def _record(counts: Counter[str], failures: list[str], failure: Failure, case: Any, response: Any) -> None:
    if isinstance(failure, ServerError):
        counts["server_errors"] += 1
    elif isinstance(failure, UndefinedStatusCode):
        counts["undocumented"] += 1
    elif isinstance(failure, RejectedPositiveData) and response.status_code == 400:
        message = response.json()["error"]["message"]
        rule = next((r for r in CROSS_PARAMETER_RULES if r in message), None)
        if rule is not None:
            counts[f"rule: {rule}"] += 1
            return
        counts["other_failures"] += 1
    else:
        counts["other_failures"] += 1
    if len(failures) < 400:
        text = response.text[:200]
        failures.append(
            f"{case.operation.label} {case.query}: {type(failure).__name__}: {failure.title} {text}"
        )


def test_the_api_conforms_to_its_openapi_document(
    served: tuple[str, dict[str, str]], capsys: pytest.CaptureFixture[str]
) -> None:
    served_url, admin = served
    api = schemathesis.openapi.from_url(f"{served_url}/openapi.json")
    checks = _all_checks()
    counts: Counter[str] = Counter()
    failures: list[str] = []

    def exercise(case: Any) -> None:
        # The admin's key, so every operation is reached past its access check; except where the
        # case's headers are the schema-violating part (its own Authorization is then the
        # point: a 401 is the documented answer).
        headers_violate = case.meta is not None and case.meta.is_negative_at(ParameterLocation.HEADER)
        response = case.call(timeout=30, headers=None if headers_violate else admin)
        counts["requests"] += 1
        counts[f"status_{response.status_code}"] += 1
        try:
            case.validate_response(response, checks=checks)
        except FailureGroup as group:
            for failure in group.exceptions:
                _record(counts, failures, failure, case, response)
        except Failure as failure:
            _record(counts, failures, failure, case, response)

    # Hypothesis runs each operation in both modes (schema-valid data, and data the schema
    # forbids), collecting failures instead of stopping at the first so the counts are whole.
    for result in api.get_all_operations():
        # An operation the loader cannot read is a broken document: fail with its error.
        if isinstance(result, Err):
            raise result.err()
        operation = result.ok()
        counts["operations"] += 1
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            run = settings(
                max_examples=EXAMPLES_PER_OPERATION,
                deadline=None,
                suppress_health_check=list(HealthCheck),
                derandomize=True,
                database=None,
            )(given(operation.as_strategy(generation_mode=mode))(exercise))
            try:
                run()
            except Unsatisfiable:
                # No data violates a schema without parameters or body (e.g. GET /health).
                assert mode is GenerationMode.NEGATIVE, operation.label
                counts["negative_impossible"] += 1

    rules = ", ".join(f"{k[6:]!r}: {v}" for k, v in sorted(counts.items()) if k.startswith("rule: "))
    statuses = ", ".join(f"{k[7:]}: {v}" for k, v in sorted(counts.items()) if k.startswith("status_"))
    with capsys.disabled():
        print(
            f"\nschemathesis: {counts['requests']} requests over {counts['operations']} operations "
            f"({EXAMPLES_PER_OPERATION} examples per operation and mode), "
            f"{counts['server_errors']} server errors, {counts['undocumented']} undocumented status codes, "
            f"{counts['other_failures']} other check failures; statuses {statuses}; schema-valid requests "
            f"refused by a rule between parameters the schema cannot state: {rules or 'none'}"
        )
    assert counts["requests"] >= 500, counts
    assert counts["server_errors"] == 0, failures
    assert counts["undocumented"] == 0, failures
    assert counts["other_failures"] == 0, failures
