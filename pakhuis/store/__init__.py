"""The store: schema, migrations and every query pakhuis runs (the one place SQL lives)."""

from pakhuis.store.alerting import Crossing
from pakhuis.store.batches import WriteResult
from pakhuis.store.deadletters import DeadLetterPage
from pakhuis.store.embedded import EmbeddedPostgres
from pakhuis.store.migrate import MigrationError, MigrationReport
from pakhuis.store.planning import CleaningRow, ZoneRow
from pakhuis.store.registers import DrainRow, TreeRow
from pakhuis.store.store import Store

__all__ = [
    "CleaningRow",
    "Crossing",
    "DeadLetterPage",
    "DrainRow",
    "EmbeddedPostgres",
    "MigrationError",
    "MigrationReport",
    "Store",
    "TreeRow",
    "WriteResult",
    "ZoneRow",
]
