"""The store: schema, migrations and every query pakhuis runs (the one place SQL lives)."""

from pakhuis.store.embedded import EmbeddedPostgres
from pakhuis.store.migrate import MigrationError, MigrationReport
from pakhuis.store.store import Store, WriteResult

__all__ = ["EmbeddedPostgres", "MigrationError", "MigrationReport", "Store", "WriteResult"]
