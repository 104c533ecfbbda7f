"""Check-in and the visit log: residents by QR card or ID number, visitors by
registration (with a printed pass whose QR checks them out), camera snapshots, the
security review with its audit log, and retention.

Each change writes the visit, its outbox row (kind `visit`) and, for a visitor, the
pass's print job in one transaction; the snapshot file is written first and removed
again if the transaction fails. Greeting, printing and SSE happen after the commit.
"""

from __future__ import annotations

import csv
import hashlib
import io
import logging
import re
import secrets
import sqlite3
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from kiosk.audience import LOCAL_DEVICE
from kiosk.capability import secret_hash
from kiosk.clock import Clock, db_time, from_db_time, local_day, to_iso
from kiosk.config import Config
from kiosk.devices.announcement import greeting_announcement
from kiosk.devices.slips import ResidentCardPrint, VisitorPassPrint
from kiosk.errors import Conflict, DomainError, Forbidden, Invalid, NotFound
from kiosk.events import EventBus, QrScanned, VisitCheckedIn, VisitCheckedOut, VisitSummary
from kiosk.phone_numbers import normalise as normalise_phone
from kiosk.services import printing
from kiosk.services.printing import PrintSpooler
from kiosk.store import checkin_tokens, outbox
from kiosk.store import visits as store
from kiosk.store.db import Database
from kiosk.text import clean
from kiosk.visits import id_number, tokens
from kiosk.visits.rules import classify, retention_cutoffs

log = logging.getLogger(__name__)

MAX_NAME, MAX_UNIT, MAX_PURPOSE, MAX_PHONE = 40, 30, 120, 30
#: How long a check-in's token links the ticket or case taken after it.
CHECKIN_TOKEN_TTL = timedelta(minutes=10)
#: The longest token accepted in a body (a token is 32 characters).
MAX_CHECKIN_TOKEN = 64


@dataclass
class Snapshot:
    jpeg: bytes
    taken_at: datetime


#: The longest a resident card may be valid (ten years).
MAX_CARD_DAYS = 3653


class VisitService:
    def __init__(self, db: Database, config: Config, clock: Clock, bus: EventBus, key: bytes, *,
                 spooler: PrintSpooler | None = None, speaker: Any = None,
                 snapshot_source: Callable[[], Snapshot | None] | None = None,
                 ticket_lookup: Callable[[str], dict[str, Any] | None] | None = None) -> None:
        self.db = db
        self.config = config
        self.clock = clock
        self.bus = bus
        self.key = key
        self.spooler = spooler
        self.speaker = speaker
        self.snapshot_source = snapshot_source
        #: The ticket a scanned ticket code names (QueueService.from_code), or None.
        self.ticket_lookup = ticket_lookup
        self.snapshot_dir = config.data_dir / "snapshots"

    # -- residents and cards ----------------------------------------------------------
    def issue_card(self, resident_id: str, days: int | None = None, actor: str = "") -> str:
        """A new resident QR payload (recorded so it can be revoked)."""
        days = self.config.checkin.card_days if days is None else days
        if not 1 <= days <= MAX_CARD_DAYS:  # also keeps the expiry a representable date
            raise Invalid("invalid_field", f"a card is valid for 1 to {MAX_CARD_DAYS} days")
        now = self.clock.now()
        with self.db.write() as conn:
            if store.resident(conn, resident_id) is None:
                raise NotFound("resident_not_found", f"no resident {resident_id!r} in the directory")
            expires = now + timedelta(days=days)
            payload = tokens.sign(self.key, tokens.RESIDENT, self.config.site.id, resident_id,
                                  int(expires.timestamp()))
            store.add_card(conn, tokens.parse(payload).sig, resident_id, db_time(now), db_time(expires), actor)
        return payload

    def revoke_cards(self, resident_id: str, reason: str = "") -> int:
        with self.db.write() as conn:
            return store.revoke_cards(conn, resident_id, db_time(self.clock.now()), reason)

    def resident_from_token(self, payload: str, conn: sqlite3.Connection | None = None) -> dict[str, Any]:
        """The active resident a card names; `Forbidden` when forged, expired, revoked or of
        another site, `Invalid` when not a card, `NotFound` when the resident is gone."""
        conn = conn or self.db.conn
        token = tokens.verify(self.key, payload, site=self.config.site.id, now=int(self.clock.now().timestamp()))
        if store.is_revoked(conn, token.sig):
            raise Forbidden("token_revoked", "this card has been revoked")
        resident = store.resident(conn, token.subject)
        if resident is None or not resident["active"]:
            raise NotFound("resident_not_found", "this card's resident is not in the directory")
        return resident

    def import_residents(self, text: str, source: str = "csv") -> int:
        """Upsert residents from CSV text with the header id,name,unit,phone[,id_number]."""
        reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
        missing = {"id", "name", "unit", "phone"} - set(reader.fieldnames or [])
        if missing:
            raise Invalid("csv_header", f"the CSV header lacks {', '.join(sorted(missing))}")
        at = db_time(self.clock.now())
        rows = []
        for line, rec in enumerate(reader, start=2):
            rid = (rec.get("id") or "").strip()
            try:
                tokens.check_part("resident id", rid)
                name = clean(rec.get("name"), "name", MAX_NAME, required=True)
                unit = clean(rec.get("unit"), "unit", MAX_UNIT)
                phone = clean(rec.get("phone"), "phone", MAX_PHONE)
                id_hash = id_masked = None
                if (rec.get("id_number") or "").strip():
                    parsed = id_number.parse(rec["id_number"], self.clock.now().date())
                    id_hash, id_masked = id_number.keyed_hash(self.key, parsed.number), parsed.masked
            except (ValueError, DomainError) as exc:
                raise Invalid("csv_row", f"line {line}: {getattr(exc, 'message', exc)}") from None
            rows.append({"id": rid, "name": name, "unit": unit, "phone": phone,
                         "phone_norm": normalise_phone(phone), "id_hash": id_hash, "id_masked": id_masked,
                         "source": source, "updated_at": at})
        with self.db.write() as conn:
            store.upsert_residents(conn, rows)
        return len(rows)

    # -- check-in ---------------------------------------------------------------------
    def checkin_qr(self, payload: str, *, source: str = "kiosk", snapshot: Snapshot | None = None,
                   holder: str | None = None) -> dict[str, Any]:
        """A resident's card. With `holder` (who checks in: a device or a login), the answer
        carries a single-use `checkin_token` bound to that holder."""
        return self._checkin(lambda conn: self._resident_visit(self.resident_from_token(payload, conn), "qr"),
                             source, snapshot, holder=holder)

    def checkin_id(self, number: str, name: str = "", *, source: str = "kiosk",
                   snapshot: Snapshot | None = None, holder: str | None = None) -> dict[str, Any]:
        """An ID number: a resident's visit when the directory has it, else a visitor's
        (named if a name is given). Both succeed alike, so the answer tells nobody whether
        an ID number belongs to a resident."""
        parsed = id_number.parse(number, self.clock.now().date())
        name = clean(name, "name", MAX_NAME)
        id_hash = id_number.keyed_hash(self.key, parsed.number)

        def build(conn: sqlite3.Connection) -> dict[str, Any]:
            resident = store.resident_by_id_hash(conn, id_hash)
            if resident is not None:
                row = self._resident_visit(resident, "id")
            else:
                row = {"kind": "visitor", "method": "id", "name": name}
            row.update(id_hash=id_hash, id_masked=parsed.masked)
            return row
        return self._checkin(build, source, snapshot, holder=holder)

    def checkin_visitor(self, visitor: dict[str, Any], *, source: str = "kiosk",
                        snapshot: Snapshot | None = None, holder: str | None = None) -> dict[str, Any]:
        unknown = sorted(set(visitor) - {"name", "phone", "unit", "purpose", "id_number"})
        if unknown:
            raise Invalid("unknown_field", f"unknown field visitor.{unknown[0]}")
        row: dict[str, Any] = {
            "kind": "visitor", "method": "manual",
            "name": clean(visitor.get("name"), "visitor.name", MAX_NAME, required=True),
            "phone": clean(visitor.get("phone"), "visitor.phone", MAX_PHONE, required=True),
            "unit": clean(visitor.get("unit"), "visitor.unit", MAX_UNIT, required=True),
            "purpose": clean(visitor.get("purpose"), "visitor.purpose", MAX_PURPOSE)}
        if not re.fullmatch(r"[+0-9 ()\-]{5,30}", row["phone"]):
            raise Invalid("invalid_phone", "the phone number may hold digits, spaces, +, - and brackets only")
        if visitor.get("id_number"):
            parsed = id_number.parse(clean(visitor["id_number"], "visitor.id_number", 40), self.clock.now().date())
            row.update(id_hash=id_number.keyed_hash(self.key, parsed.number), id_masked=parsed.masked)
        return self._checkin(lambda conn: row, source, snapshot, print_pass=True, holder=holder)

    def _resident_visit(self, resident: dict[str, Any], method: str) -> dict[str, Any]:
        return {"kind": "resident", "method": method, "resident_id": resident["id"], "name": resident["name"],
                "unit": resident["unit"], "phone": resident["phone"]}

    def _checkin(self, build: Callable[[sqlite3.Connection], dict[str, Any]], source: str, snapshot: Snapshot | None,
                 print_pass: bool = False, holder: str | None = None) -> dict[str, Any]:
        now = self.clock.now()
        if snapshot is None and self.snapshot_source is not None:
            try:
                snapshot = self.snapshot_source()
            except Exception:
                log.exception("snapshot failed; checking in without one")
        saved: Path | None = None
        try:
            with self.db.write() as conn:
                row = build(conn)
                at = db_time(now)
                row.update(source=source, day=local_day(now, self.clock.tz).isoformat(), checked_in_at=at,
                           updated_at=at, phone_norm=normalise_phone(row.get("phone", "")))
                if snapshot is not None:
                    saved, rel, sha = self._save_snapshot(snapshot, now)
                    row.update(snapshot_path=rel, snapshot_sha256=sha)
                visit_id = store.insert_visit(conn, row)
                visit = store.visit(conn, visit_id)
                assert visit is not None, "a visit inserted in this transaction is there"
                self._outbox(conn, visit)
                job_id = printing.enqueue(conn, self._pass(visit, now), at=at) if print_pass else None
                token = None
                if holder is not None:
                    token = secrets.token_urlsafe(24)
                    checkin_tokens.add(conn, secret_hash(token), visit_id, holder, at,
                                       db_time(now + CHECKIN_TOKEN_TTL))
        except BaseException:
            if saved is not None:
                saved.unlink(missing_ok=True)
            raise
        public = self.public(visit)
        if token is not None:
            public["checkin_token"] = token
            public["checkin_token_expires_at"] = to_iso(now + CHECKIN_TOKEN_TTL)
        if job_id is not None:
            public["print"] = {"status": self.spooler.print_and_wait(job_id) if self.spooler else printing.QUEUED}
        self.bus.publish(VisitCheckedIn(self._summary(visit)))
        if visit["kind"] == "resident" and visit["method"] == "qr" and self.speaker is not None:
            self.speaker.announce(greeting_announcement(visit["name"]))
        return public

    def _save_snapshot(self, snapshot: Snapshot, now: datetime) -> tuple[Path, str, str]:
        day = local_day(now, self.clock.tz).isoformat()
        folder = self.snapshot_dir / day
        folder.mkdir(parents=True, exist_ok=True)
        name = f"{now.astimezone(self.clock.tz):%H%M%S}-{uuid.uuid4().hex[:12]}.jpg"
        path = folder / name
        path.write_bytes(snapshot.jpeg)
        return path, f"{day}/{name}", hashlib.sha256(snapshot.jpeg).hexdigest()

    def _pass(self, visit: dict[str, Any], now: datetime) -> VisitorPassPrint:
        expires = now + timedelta(hours=self.config.checkin.pass_hours)
        return VisitorPassPrint(name=visit["name"], unit=visit["unit"], purpose=visit["purpose"],
                                visit_id=visit["id"], checked_in_at=now, valid_until=expires,
                                site_name=self.config.site.name,
                                qr_payload=tokens.sign(self.key, tokens.VISITOR, self.config.site.id,
                                                       str(visit["id"]), int(expires.timestamp())))

    # -- check-out and links ----------------------------------------------------------
    def checkout(self, visit_id: int) -> dict[str, Any]:
        now = self.clock.now()
        with self.db.write() as conn:
            visit = store.visit(conn, visit_id)
            if visit is None:
                raise NotFound("not_found", f"visit {visit_id} not found")
            if visit["checked_out_at"]:
                raise Conflict("already_checked_out", "this visit is already checked out")
            visit = store.update_visit(conn, visit_id, {"checked_out_at": db_time(now), "updated_at": db_time(now)})
            self._outbox(conn, visit)
        self.bus.publish(VisitCheckedOut(self._summary(visit)))
        return self.public(visit)

    def checkout_pass(self, payload: str) -> dict[str, Any]:
        token = tokens.verify(self.key, payload, site=self.config.site.id,
                              now=int(self.clock.now().timestamp()), kind=tokens.VISITOR)
        return self.checkout(int(token.subject))

    def link_ticket(self, visit_id: int, ticket_id: int) -> None:
        now = db_time(self.clock.now())
        with self.db.write() as conn:
            if store.visit(conn, visit_id) is None:
                return
            self._outbox(conn, store.update_visit(conn, visit_id, {"ticket_id": ticket_id, "updated_at": now}))

    def resident_of_visit(self, visit_id: int) -> str | None:
        """The resident of an existing visit (None for a visitor); `Invalid` for no such visit."""
        visit = store.visit(self.db.conn, visit_id)
        if visit is None:
            raise Invalid("unknown_visit", f"visit {visit_id} does not exist")
        resident_id: str | None = visit["resident_id"]
        return resident_id

    def redeem_checkin_token(self, token: str, holder: str) -> int:
        """Use up a check-in token and return its visit id; `Invalid("invalid_checkin_token")`
        alike for an unknown, used, expired or other holder's token."""
        with self.db.write() as conn:
            visit_id = checkin_tokens.take(conn, secret_hash(token[:MAX_CHECKIN_TOKEN]), holder,
                                           db_time(self.clock.now()))
        if visit_id is None:
            raise Invalid("invalid_checkin_token", "this check-in is no longer valid here; please check in again")
        return visit_id

    def give_back_checkin_token(self, token: str) -> None:
        """Make a redeemed token usable again (what it was to link was refused)."""
        with self.db.write() as conn:
            checkin_tokens.give_back(conn, secret_hash(token[:MAX_CHECKIN_TOKEN]))

    def scan(self, payload: str, *, source: str, snapshot: Snapshot | None = None,
             holder: str | None = None, device: str | None = LOCAL_DEVICE) -> dict[str, Any]:
        """A code read by the camera or a scanner: check a resident in or a visitor out.

        Publishes `qr.scanned` with the outcome (never the payload itself) and returns it,
        with the check-in's token when `holder` is given (never published); `device` names the
        screen the scan belongs to (the box's own for its camera and scanner).
        """
        kind = classify(payload)
        token: dict[str, Any] = {}
        try:
            if kind == "resident":
                visit = self.checkin_qr(payload, source=source, snapshot=snapshot, holder=holder)
                token = {k: visit[k] for k in ("checkin_token", "checkin_token_expires_at") if k in visit}
                outcome = QrScanned(kind, source, True, "checked_in", visit=VisitSummary.of(visit), device=device)
            elif kind == "visitor":
                visit = self.checkout_pass(payload)
                outcome = QrScanned(kind, source, True, "checked_out", visit=VisitSummary.of(visit), device=device)
            elif kind == "ticket":
                outcome = self._ticket_scanned(payload, source, device)
            elif kind == "case":
                outcome = QrScanned(kind, source, False, "case",
                                    error={"code": "case_code", "message": "this is a case slip: scan it with your "
                                           "phone to follow the case"}, device=device)
            else:
                outcome = QrScanned(kind, source, False, "refused",
                                    error={"code": "unknown_code", "message": "this code is not a resident card "
                                           "or a visitor pass"}, device=device)
        except DomainError as exc:
            outcome = QrScanned(kind, source, False, "refused", error={"code": exc.code, "message": exc.message},
                                 device=device)
        self.bus.publish(outcome)
        return {**outcome.to_dict(), **token}

    def _ticket_scanned(self, payload: str, source: str, device: str | None) -> QrScanned:
        """A ticket's code: that ticket's queue facts, for the screen that scanned it to act
        on (link a check-in, rate it); refused when unknown or expired."""
        ticket = self.ticket_lookup(payload) if self.ticket_lookup else None
        if ticket is None:
            return QrScanned("ticket", source, False, "refused", device=device,
                             error={"code": "unknown_ticket", "message": "this ticket is not known here"})
        facts = {k: ticket[k] for k in ("id", "number", "service", "status")}
        if ticket["status"] == "expired":
            return QrScanned("ticket", source, False, "refused", ticket=facts,
                             error={"code": "ticket_expired", "message": "this ticket has expired"}, device=device)
        return QrScanned("ticket", source, True, "ticket", ticket=facts, device=device)

    # -- reading ----------------------------------------------------------------------
    def get(self, visit_id: int) -> dict[str, Any]:
        visit = store.visit(self.db.conn, visit_id)
        if visit is None:
            raise NotFound("not_found", f"visit {visit_id} not found")
        return self.public(visit)

    def search(self, *, day_from: date | None = None, day_to: date | None = None, q: str = "", unit: str = "",
               method: str = "", limit: int = 50, offset: int = 0) -> tuple[list[dict[str, Any]], int]:
        tz = self.clock.tz
        f = store.VisitFilter(q=q, unit=unit, method=method, limit=limit, offset=offset)
        if day_from:
            f.start = db_time(datetime.combine(day_from, time(0), tz))
        if day_to:
            f.end = db_time(datetime.combine(day_to + timedelta(days=1), time(0), tz))
        rows, total = store.search(self.db.conn, f)
        return [self.public(r) for r in rows], total

    def snapshot_file(self, visit: dict[str, Any]) -> Path | None:
        rel: str | None = visit.get("snapshot_path")
        if not rel:
            return None
        path = (self.snapshot_dir / rel).resolve()
        if self.snapshot_dir.resolve() not in path.parents or not path.is_file():
            return None
        return path

    def snapshot_bytes(self, visit_id: int, *, thumb: bool = False) -> bytes | None:
        visit = store.visit(self.db.conn, visit_id)
        path = self.snapshot_file(visit) if visit else None
        if path is None:
            return None
        data = path.read_bytes()
        return make_thumbnail(data) if thumb else data

    def print_card(self, resident_id: str, days: int | None, actor: str) -> str:
        """Mint a card and print it on the ticket printer; the print status."""
        payload = self.issue_card(resident_id, days, actor)
        now = self.clock.now()
        resident = store.resident(self.db.conn, resident_id)
        assert resident is not None, "issue_card found the resident, and residents are never deleted"
        card = ResidentCardPrint(name=resident["name"], unit=resident["unit"], printed_at=now,
                                 site_name=self.config.site.name, qr_payload=payload,
                                 valid_until=datetime.fromtimestamp(tokens.parse(payload).expires, self.clock.tz))
        with self.db.write() as conn:
            job_id = printing.enqueue(conn, card, at=db_time(now))
        return self.spooler.print_and_wait(job_id) if self.spooler else printing.QUEUED

    def audit(self, actor: str, role: str, action: str, target: str = "", detail: str = "") -> None:
        with self.db.write() as conn:
            store.add_audit(conn, db_time(self.clock.now()), actor, role, action, target, detail)

    def audit_log(self, limit: int = 200, offset: int = 0) -> list[dict[str, Any]]:
        return [{**r, "at": self._local_iso(r["at"])}
                for r in store.audit_rows(self.db.conn, limit, offset)]

    # -- retention --------------------------------------------------------------------
    def purge(self) -> dict[str, int]:
        """Delete snapshots and visits past their retention, files and rows together; each
        deleted visit goes to the central office as a `delete` record in the same transaction."""
        r = self.config.retention
        cut = retention_cutoffs(self.clock.now(), r.snapshots_days, r.visits_days)
        removed_files = 0
        now = to_iso(self.clock.now())
        with self.db.write() as conn:
            # a None cut-off (retention 0) keeps that kind forever
            gone = store.old_visits(conn, db_time(cut.visits_before)) if cut.visits_before else []
            old_snaps = store.old_snapshots(conn, db_time(cut.snapshots_before)) if cut.snapshots_before else []
            for v in gone:  # the central office forgets them too, and their unsent versions never leave
                outbox.add_delete(conn, site_id=self.config.site.id, kind="visit", local_id=v["id"],
                                  version=v["version"] + 1, occurred_at=now, reason="retention")
            conn.executemany("DELETE FROM visits WHERE id = ?", [(v["id"],) for v in gone])
            conn.executemany("UPDATE visits SET snapshot_path = NULL WHERE id = ?", [(v["id"],) for v in old_snaps])
            files = {v["snapshot_path"] for v in gone + old_snaps if v["snapshot_path"]}
            for rel in files:
                path = self.snapshot_file({"snapshot_path": rel})
                if path is not None:
                    path.unlink(missing_ok=True)
                    removed_files += 1
        self.remove_empty_folders()
        return {"visits": len(gone), "snapshots": len({v["id"] for v in old_snaps} - {v["id"] for v in gone}),
                "files": removed_files}

    def remove_empty_folders(self) -> None:
        """Remove the snapshot day folders that purges and erasures left empty."""
        if self.snapshot_dir.is_dir():
            for folder in self.snapshot_dir.iterdir():
                if folder.is_dir() and not any(folder.iterdir()):
                    folder.rmdir()

    # -- shapes -----------------------------------------------------------------------
    def _outbox(self, conn: sqlite3.Connection, visit: dict[str, Any]) -> None:
        outbox.add(conn, site_id=self.config.site.id, kind="visit", local_id=visit["id"], version=visit["version"],
                   occurred_at=self._local_iso(visit["updated_at"]), data=self.record(visit))

    def _local_iso(self, stored: str) -> str:
        """A time from a NOT NULL column (db_time) as the site's local ISO 8601."""
        moment = from_db_time(stored, self.clock.tz)
        assert moment is not None, "a NOT NULL time column is empty"
        return to_iso(moment)

    def record(self, visit: dict[str, Any]) -> dict[str, Any]:
        """The visit as the central office receives it (docs/sync.md): no image, no clear ID number."""
        tz = self.clock.tz
        data = {k: visit[k] for k in ("id", "kind", "method", "resident_id", "name", "phone", "unit", "purpose",
                                      "id_masked", "source", "day", "ticket_id", "snapshot_sha256", "version")}
        for k in ("checked_in_at", "checked_out_at"):
            moment = from_db_time(visit[k], tz)
            data[k] = to_iso(moment) if moment else None
        return data

    def public(self, visit: dict[str, Any]) -> dict[str, Any]:
        data = self.record(visit)
        data["snapshot_url"] = f"/api/v1/visits/{visit['id']}/snapshot" if visit["snapshot_path"] else None
        return data

    def _summary(self, visit: dict[str, Any]) -> VisitSummary:
        return VisitSummary.of(self.public(visit))


def make_thumbnail(jpeg: bytes, width: int = 240) -> bytes:
    """A small JPEG of a snapshot for the visit list (Pillow; no camera libraries)."""
    from PIL import Image

    with Image.open(io.BytesIO(jpeg)) as img:
        img.thumbnail((width, width * 3 // 4))
        out = io.BytesIO()
        img.convert("RGB").save(out, "JPEG", quality=70)
    return out.getvalue()
