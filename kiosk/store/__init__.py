"""Persistence: one SQLite file in WAL mode, migrations in code, explicit transactions."""

from kiosk.store.db import Database, open_database

__all__ = ["Database", "open_database"]
