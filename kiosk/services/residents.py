"""The resident directory as staff pages read it: the manager's directory list, the staff
search by name, unit or phone, and one resident's profile."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from kiosk.clock import Clock, db_time, local_day
from kiosk.services import profile
from kiosk.store import visits as store
from kiosk.store.db import Database

#: How far back the staff's resident list looks before anyone searches.
RECENT_DAYS = 30


class ResidentService:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    def directory(self, q: str = "", limit: int = 100) -> list[dict[str, Any]]:
        """Active residents whose name, unit or id contains `q` (all when empty), by unit."""
        return store.residents(self.db.conn, q, limit)

    def recent(self, limit: int = 20, days: int = RECENT_DAYS) -> list[dict[str, Any]]:
        """The residents seen in the last `days` (a check-in, a ticket or a case), newest
        first: what the staff's resident list shows before anyone searches. Bounded in time
        so each table is read through its time index, not over all its history."""
        since = self.clock.now() - timedelta(days=days)
        return self.db.query(
            "SELECT r.id, r.name, r.unit, r.phone, MAX(a.at) AS last_seen FROM residents r JOIN ("
            " SELECT resident_id, checked_in_at AS at FROM visits WHERE resident_id IS NOT NULL AND checked_in_at >= ?"
            " UNION ALL SELECT resident_id, issued_at FROM tickets WHERE resident_id IS NOT NULL AND day >= ?"
            " UNION ALL SELECT resident_id, created_at FROM cases WHERE resident_id IS NOT NULL AND created_at >= ?"
            ") a ON a.resident_id = r.id WHERE r.active = 1 GROUP BY r.id ORDER BY last_seen DESC LIMIT ?",
            (db_time(since), local_day(since, self.clock.tz).isoformat(), db_time(since), limit))

    def units(self) -> list[str]:
        """The units residents live in (no names): what the touchscreen's unit picker offers."""
        rows = self.db.query("SELECT DISTINCT unit FROM residents WHERE active = 1 AND unit != '' ORDER BY unit")
        return [r["unit"] for r in rows]

    def search(self, q: str, limit: int = 50) -> list[dict[str, Any]]:
        """Active residents whose name, unit or phone (also as digits only) contains `q`."""
        return profile.search(self.db, q, limit) if q else []

    def profile(self, resident_id: str) -> dict[str, Any] | None:
        """One resident's visits, tickets, cases, calls and survey answers; None if unknown."""
        return profile.resident_profile(self.db, self.clock, resident_id)
