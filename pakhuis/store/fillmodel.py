"""SQL for the fill model: the fitted model (seasonal factors, description) and per-drain state.

Saving a model replaces every drain's fill state in the same transaction, so the stored states
always come from the newest model; a recorded cleaning resets a state (see `planning`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from psycopg.types.json import Jsonb

from pakhuis.store.connection import Connected
from pakhuis.store.rows import copy_rows, fetch_all, fetch_one

FILL_STATE_COLUMNS = (
    "drain_id",
    "model_version",
    "sensor",
    "status",
    "n_readings",
    "n_since_cleaning",
    "measured_rate",
    "measured_se",
    "predicted_rate",
    "predicted_sd",
    "rate",
    "rate_sd",
    "rate_source",
    "last_cleaning",
    "last_cleaning_source",
    "fill_time",
    "fill_value",
)

_SAVE_MODEL = """
INSERT INTO fill_models (version, description, seasonal) VALUES (%s, %s, %s)
ON CONFLICT (version) DO UPDATE SET description = EXCLUDED.description,
    seasonal = EXCLUDED.seasonal, created = now()
"""


class FillModelQueries(Connected):
    def save_fill_model(
        self,
        version: str,
        description: dict[str, Any],
        seasonal: dict[str, Any],
        states: Iterable[Sequence[Any]],
    ) -> int:
        """Record a model and replace every drain's fill state with the states it produced."""
        with self._connection() as conn, conn.transaction(), conn.cursor() as cur:
            cur.execute(_SAVE_MODEL, (version, Jsonb(description), Jsonb(seasonal)))
            cur.execute("TRUNCATE drain_fill_state")
            return copy_rows(cur, "drain_fill_state", FILL_STATE_COLUMNS, states)

    def fill_model(self) -> dict[str, Any] | None:
        """The most recent fill model (the one the stored fill states come from)."""
        with self._connection() as conn:
            return fetch_one(
                conn,
                "SELECT version, created, description, seasonal FROM fill_models "
                "ORDER BY created DESC LIMIT 1",
            )

    def fill_states(self) -> list[dict[str, Any]]:
        with self._connection() as conn:
            return fetch_all(
                conn,
                f"SELECT {', '.join(FILL_STATE_COLUMNS)}, computed FROM drain_fill_state ORDER BY drain_id",
            )
