"""Work orders through the API and the CLI: validated, all-or-nothing, and they reset the fill."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api import create_app
from geo.registers import WorkOrderError, parse_work_orders
from pakhuis.store import Store
from tests.support import REPO, bearer, pakhuis_command

pytestmark = pytest.mark.integration


def _drains(store: Store) -> None:
    store.replace_drains(
        [("K1", 4.66, 52.55, {}), ("K2", 4.661, 52.551, {}), (None, 4.662, 52.552, {})], source="test"
    )


def test_post_cleanings_records_once_and_refuses_unknown_drains(store: Store) -> None:
    _drains(store)
    client = TestClient(create_app(store), headers=bearer(store, "planner"))
    one = {"drain": "K1", "time": "2026-10-01T09:30:00Z", "method": "suction", "sludge_m3": 0.03}
    response = client.post("/api/v1/cleanings", json=one)
    assert response.status_code == 201, response.text
    assert response.json() == {"recorded": 1, "already_known": 0}
    again = client.post("/api/v1/cleanings", json=[one, {"drain": "3", "time": "2026-10-02"}])
    assert again.json() == {"recorded": 1, "already_known": 1}  # drain without own id: pakhuis' id 3
    refused = client.post(
        "/api/v1/cleanings",
        json=[{"drain": "K2", "time": "2026-10-03"}, {"drain": "K9", "time": "2026-10-03"}],
    )
    assert refused.status_code == 400
    assert (
        refused.json()["error"]["code"] == "invalid_work_order" and "K9" in refused.json()["error"]["message"]
    )
    assert len(store.cleanings()) == 2  # nothing of the refused list was recorded
    bad = client.post("/api/v1/cleanings", json={"drain": "K1", "time": "2026-10-01", "method": "hose"})
    assert bad.status_code in (400, 422)
    future = client.post("/api/v1/cleanings", json={"drain": "K1", "time": "2999-01-01"})
    assert future.status_code == 400 and "future" in future.json()["error"]["message"]


def test_schedule_before_refit_says_what_to_do(store: Store) -> None:
    _drains(store)
    client = TestClient(create_app(store), headers=bearer(store, "planner"))
    response = client.get("/api/v1/schedule?from=2026-11-02&horizon=28")
    assert response.status_code == 409
    assert "pakhuis plan refit" in response.json()["error"]["hint"]


def test_work_order_csv_names_every_bad_row(tmp_path: Path) -> None:
    with pytest.raises(WorkOrderError) as err:
        parse_work_orders(
            [
                {"drain": "K1", "time": "2026-10-01", "method": "zuigen", "sludge_m3": "0,02"},
                {"drain": "", "time": "yesterday", "method": "hose", "sludge_m3": "40"},
            ]
        )
    message = err.value.message
    assert "row 2: no drain" in message and "not an ISO 8601" in message and "'hose'" in message
    assert "outside 0..5" in message and "row 1" not in message
    ok = parse_work_orders([{"kolk": "K1", "datum": "2026-10-01", "methode": "vegen", "slib_m3": "0,02"}])
    assert ok[0].method == "sweep" and ok[0].sludge_m3 == pytest.approx(0.02)


def test_cli_load_cleanings_refuses_unknown_drains_and_records_known(
    database_url: str, tmp_path: Path
) -> None:
    with Store(database_url) as store:
        _drains(store)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAKHUIS_")}
    env["PAKHUIS_DATABASE_URL"] = database_url
    bad = tmp_path / "bad.csv"
    bad.write_text("drain;time;method\nK1;2026-10-01;suction\nK7;2026-10-01;suction\n", encoding="utf-8")
    run = subprocess.run(
        pakhuis_command("load", "cleanings", str(bad)),
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode != 0 and "K7" in run.stdout + run.stderr
    good = tmp_path / "good.csv"
    good.write_text(
        "drain,time,method,sludge_m3\nK1,2026-10-01,suction,0.02\nK2,2026-10-02,both,\n", encoding="utf-8"
    )
    run = subprocess.run(
        pakhuis_command("load", "cleanings", str(good)),
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "cleanings: 2 recorded" in run.stdout
    with Store(database_url) as store:
        assert [c["drain_key"] for c in store.cleanings()] == ["K1", "K2"]
