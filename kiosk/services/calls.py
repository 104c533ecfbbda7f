"""Incoming calls: store each caller-ID event matched to a resident, publish it, and
answer the desk's screen-pop, call log and missed-call list.

The modem worker (kiosk/devices/phone.py) calls `incoming()` from its thread. The call
row and its outbox row are written in one transaction; `call.incoming` is published
after the commit. The event carries no personal data (the SSE stream is public, the
hall display reads it): the desk console fetches the screen-pop from the staff-only
`GET /api/v1/calls/<id>`.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime
from typing import Any, Protocol

from kiosk.clock import Clock, from_db_time, to_iso
from kiosk.config import Config
from kiosk.devices.callerid import CallerId
from kiosk.devices.health import NOT_CONFIGURED, DeviceHealth
from kiosk.devices.phone import PhoneError
from kiosk.errors import Conflict, Invalid, NotFound
from kiosk.events import CallIncoming, EventBus
from kiosk.phone_numbers import normalise
from kiosk.store import Database
from kiosk.store import calls as store

log = logging.getLogger(__name__)

OPEN_CASES_LIMIT = 5
LAST_VISITS_LIMIT = 3
_CLOSED_CASE_STATES = ("closed", "cancelled")
_SIM_NUMBER = re.compile(r"^(P|O|\+?[0-9][0-9 \-]{2,24})$")
_SIM_NAME = re.compile(r"^[A-Za-z0-9 .,'\-]{0,32}$")


class Phone(Protocol):
    """What the call service needs of the caller-ID modem worker."""

    def simulate_call(self, number: str, name: str = "") -> None: ...
    def health(self) -> DeviceHealth: ...


class CallService:
    def __init__(self, db: Database, config: Config, clock: Clock, bus: EventBus) -> None:
        self.db = db
        self.config = config
        self.clock = clock
        self.bus = bus
        self.phone: Phone | None = None

    def attach_phone(self, phone: Phone) -> None:
        """The modem worker, made after this service because it calls `incoming`."""
        self.phone = phone

    def phone_health(self) -> DeviceHealth:
        if self.phone is None:
            return DeviceHealth("off", NOT_CONFIGURED, "no phone worker")
        return self.phone.health()

    def simulate(self, number: str, name: str = "") -> dict[str, Any]:
        """Make the simulated modem ring (only when phone.port = "sim"); what it rings with."""
        number, name = number.strip(), name.strip()
        if not _SIM_NUMBER.match(number):
            raise Invalid("invalid_number", "number must be digits (3 to 25), or P (private) or O (out of area)")
        if not _SIM_NAME.match(name):
            raise Invalid("invalid_name", "a caller-ID name is up to 32 plain letters, digits and spaces")
        if self.phone is None:
            raise Conflict("not_simulated", "no phone worker is running")
        try:
            self.phone.simulate_call(number, name)
        except PhoneError as exc:
            raise Conflict("not_simulated", str(exc)) from None
        return {"status": "ringing", "number": number, "name": name}

    # -- from the modem ------------------------------------------------------------
    def incoming(self, caller: CallerId, at: datetime | None = None) -> dict[str, Any]:
        """Store the call (matched to a resident by normalised number) and publish it."""
        now = at or self.clock.now()
        number = caller.number if caller.kind == "normal" else ""
        norm = normalise(number)
        with self.db.write() as conn:
            resident = store.find_resident(conn, norm)
            row = store.insert(conn, number=number, number_norm=norm, name=caller.name, kind=caller.kind,
                               resident_id=resident["id"] if resident else None, modem_stamp=caller.modem_stamp,
                               at=now.isoformat(), site_id=self.config.site.id, tz=self.clock.tz)
        row["resident_name"] = resident["name"] if resident else None
        row["resident_unit"] = resident["unit"] if resident else None
        self.bus.publish(CallIncoming(id=row["id"], kind=row["kind"], started_at=self._iso(row["started_at"]),
                                      matched=resident is not None))
        return self.public(row)

    # -- for the desk ----------------------------------------------------------------
    def get(self, call_id: int) -> dict[str, Any]:
        return self.public(self._one(call_id))

    def pop(self, call_id: int) -> dict[str, Any]:
        """The screen-pop: the call, its resident, their open cases and last visits."""
        call = self.public(self._one(call_id))
        resident_id = call["resident"]["id"] if call["resident"] else None
        call["open_cases"] = self._open_cases(resident_id) if resident_id else []
        call["last_visits"] = self._last_visits(resident_id) if resident_id else []
        return call

    def recent(self, *, limit: int = 50, missed_only: bool = False) -> list[dict[str, Any]]:
        rows = store.recent(self.db.conn, limit=limit, status="missed" if missed_only else None)
        return [self.public(r) for r in rows]

    def missed_count(self) -> int:
        return int(self.db.scalar("SELECT COUNT(*) FROM calls WHERE status = 'missed'"))

    def mark_handled(self, call_id: int, by: str) -> dict[str, Any]:
        with self.db.write() as conn:
            if store.get(conn, call_id) is None:
                raise NotFound("not_found", f"no call {call_id}")
            store.mark_handled(conn, call_id, by=by, at=self.clock.now().isoformat(),
                               site_id=self.config.site.id, tz=self.clock.tz)
        return self.get(call_id)

    # -- helpers ---------------------------------------------------------------------
    def _one(self, call_id: int) -> dict[str, Any]:
        row = self.db.query_one(
            "SELECT c.*, r.name AS resident_name, r.unit AS resident_unit FROM calls c "
            "LEFT JOIN residents r ON r.id = c.resident_id WHERE c.id = ?", (call_id,))
        if row is None:
            raise NotFound("not_found", f"no call {call_id}")
        return row

    def _iso(self, stored: str | None) -> str | None:
        moment = from_db_time(stored, self.clock.tz)
        return to_iso(moment) if moment else None

    def public(self, row: dict[str, Any]) -> dict[str, Any]:
        resident = None
        if row.get("resident_id"):
            resident = {"id": row["resident_id"], "name": row.get("resident_name"), "unit": row.get("resident_unit")}
        return {
            "id": row["id"], "number": row["number"], "name": row["name"], "kind": row["kind"],
            "resident": resident, "started_at": self._iso(row["started_at"]), "status": row["status"],
            "missed": row["status"] == "missed", "handled_by": row["handled_by"],
            "handled_at": self._iso(row["handled_at"]), "case_id": row["case_id"],
        }

    def _open_cases(self, resident_id: str) -> list[dict[str, Any]]:
        marks = ", ".join("?" for _ in _CLOSED_CASE_STATES)
        rows = self.db.query(
            "SELECT id, type, status, description, due_at, created_at, channel FROM cases "
            f"WHERE resident_id = ? AND status NOT IN ({marks}) ORDER BY id DESC LIMIT ?",
            (resident_id, *_CLOSED_CASE_STATES, OPEN_CASES_LIMIT))
        for row in rows:
            for key in ("due_at", "created_at"):
                if row.get(key):
                    row[key] = self._maybe_iso(row[key])
        return rows

    def _last_visits(self, resident_id: str) -> list[dict[str, Any]]:
        rows = self.db.query(
            "SELECT id, checked_in_at, checked_out_at, purpose, method FROM visits WHERE resident_id = ? "
            "ORDER BY checked_in_at DESC LIMIT ?", (resident_id, LAST_VISITS_LIMIT))
        for row in rows:
            for key in ("checked_in_at", "checked_out_at"):
                if row.get(key):
                    row[key] = self._maybe_iso(row[key])
        return rows

    def _maybe_iso(self, value: Any) -> Any:
        try:
            return to_iso(datetime.fromisoformat(str(value)).astimezone(self.clock.tz))
        except ValueError:
            return value
