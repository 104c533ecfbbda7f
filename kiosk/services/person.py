"""A person's rights over their data (PIPL): export every record about one person as a
zip, and erase them: visits, snapshots (the files too), calls, print jobs and the
directory entry go; tickets, cases and ratings stay for the statistics with the person
taken out of them.

A person is found by resident id, phone number or ID number (hashed with the site key,
as check-in does: the number itself is never stored nor logged). The lookup widens once
through the directory: a resident brings their phone and ID hash, a phone or ID number
brings the residents who have it, so the export shows when two residents share a phone.

Every deleted record reaches the central office as a `delete` outbox record written in
the erasure's own transaction, after its unsent versions were dropped from the outbox;
an anonymised record is sent as a `delete` of its earlier versions followed by its new
state (docs/sync.md, "Delete records"). Export and erase are written to the audit log
under a keyed reference of the lookup, never the lookup itself.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import logging
import sqlite3
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kiosk.clock import Clock, db_time, from_db_time, to_iso
from kiosk.config import Config
from kiosk.errors import Invalid, NotFound
from kiosk.events import CaseUpdated
from kiosk.phone_numbers import normalise as normalise_phone
from kiosk.services.cases import CaseService
from kiosk.services.queue import QueueService
from kiosk.services.surveys import SurveyService
from kiosk.services.visits import VisitService
from kiosk.store import cases as case_store
from kiosk.store import outbox
from kiosk.store import person as store
from kiosk.store import visits as visit_store
from kiosk.store.db import Database
from kiosk.visits import id_number

log = logging.getLogger(__name__)

LOOKUPS = ("resident", "phone", "id_number")
#: Columns never exported: internal keys and paths (the ID hash is not the person's data).
_INTERNAL = {"id_hash", "snapshot_path", "phone_norm", "number_norm"}

README = """Personal data export / 个人信息导出
================================

Site / 站点: {site}
Exported at / 导出时间: {at}
Reference / 查询编号: {reference}

person.json holds every record this front desk keeps about the person looked up:
  resident      the directory entry (name, unit, phone, masked ID number)
  visits        check-ins (resident card, ID number or visitor registration)
  snapshots     the camera picture taken at each check-in: the files in snapshots/
  tickets       queue tickets taken after those check-ins or by the resident
  calls         incoming calls from the phone number
  cases         inquiries, complaints and repairs where the person is the resident or contact,
                with their history
  surveys       satisfaction ratings given for those tickets and cases
  cards         resident QR cards issued (not the card codes)
ID numbers are never stored in clear: only the masked form is shown.
Times are the site's local time (ISO 8601 with the UTC offset).

person.json 包含本前台保存的与该人相关的全部记录：住户档案、到访登记、抓拍照片
（snapshots/ 目录中的图片）、排队票、来电、工单及其处理记录、满意度评价、住户二维码卡。
身份证号码从不以明文保存，仅显示遮盖后的号码。时间为站点当地时间。
"""


@dataclass
class Person:
    """What a lookup found: the identifiers and every matching row."""

    reference: str
    ids: set[str] = field(default_factory=set)
    phones: set[str] = field(default_factory=set)
    hashes: set[str] = field(default_factory=set)
    residents: list[dict[str, Any]] = field(default_factory=list)
    visits: list[dict[str, Any]] = field(default_factory=list)
    calls: list[dict[str, Any]] = field(default_factory=list)
    tickets: list[dict[str, Any]] = field(default_factory=list)
    cases: list[dict[str, Any]] = field(default_factory=list)
    surveys: list[dict[str, Any]] = field(default_factory=list)
    cards: list[dict[str, Any]] = field(default_factory=list)
    print_jobs: list[int] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {"residents": len(self.residents), "visits": len(self.visits),
                "snapshots": sum(1 for v in self.visits if v["snapshot_path"]), "tickets": len(self.tickets),
                "calls": len(self.calls), "cases": len(self.cases), "surveys": len(self.surveys)}


class PersonService:
    def __init__(self, db: Database, config: Config, clock: Clock, key: bytes, *, visits: VisitService,
                 queue: QueueService, cases: CaseService, surveys: SurveyService) -> None:
        self.db = db
        self.config = config
        self.clock = clock
        self.key = key
        self.visits = visits
        self.queue = queue
        self.cases = cases
        self.surveys = surveys

    # -- finding -----------------------------------------------------------------------
    def _identify(self, kind: str, value: str) -> tuple[str, str]:
        """The lookup as (kind, stored form): a resident id, a normalised phone, an ID hash."""
        value = (value or "").strip()
        if kind not in LOOKUPS:
            raise Invalid("invalid_lookup", f"look a person up by {', '.join(LOOKUPS)}")
        if not value or len(value) > 64:
            raise Invalid("invalid_lookup", "give the resident id, phone number or ID number (at most 64 characters)")
        if kind == "phone":
            value = normalise_phone(value)
            if len(value) < 5:
                raise Invalid("invalid_phone", "a phone number has at least 5 digits")
        elif kind == "id_number":
            value = id_number.keyed_hash(self.key, id_number.parse(value, self.clock.now().date()).number)
        return kind, value

    def reference(self, kind: str, value: str) -> str:
        """The audit log's name for a lookup: a keyed hash, so the log never holds the
        phone or ID number, yet the same lookup always gives the same reference."""
        kind, stored = self._identify(kind, value)
        return "P-" + hmac.new(self.key, f"person:{kind}:{stored}".encode(), hashlib.sha256).hexdigest()[:12].upper()

    def _find(self, conn: sqlite3.Connection, kind: str, value: str) -> Person:
        reference = self.reference(kind, value)
        kind, stored = self._identify(kind, value)
        p = Person(reference)
        if kind == "resident":
            p.ids.add(stored)
            p.residents = store.residents_matching(conn, resident_id=stored)
        elif kind == "phone":
            p.phones.add(stored)
            p.residents = store.residents_matching(conn, phone_norm=stored)
        else:
            p.hashes.add(stored)
            p.residents = store.residents_matching(conn, id_hash=stored)
        for r in p.residents:
            p.ids.add(r["id"])
            if r["phone_norm"]:
                p.phones.add(r["phone_norm"])
            if r["id_hash"]:
                p.hashes.add(r["id_hash"])
        p.visits = store.visits_of(conn, p.ids, p.phones, p.hashes)
        p.calls = store.calls_of(conn, p.ids, p.phones)
        visit_ids = [v["id"] for v in p.visits]
        p.tickets = store.tickets_of(conn, p.ids, visit_ids, [v["ticket_id"] for v in p.visits if v["ticket_id"]])
        p.cases = store.cases_of(conn, p.ids, p.phones, visit_ids, [c["id"] for c in p.calls],
                                 [t["id"] for t in p.tickets])
        p.surveys = store.surveys_of(conn, p.ids, [t["id"] for t in p.tickets], [c["id"] for c in p.cases])
        p.cards = store.cards_of(conn, p.ids)
        p.print_jobs = store.print_jobs_of(conn, visit_ids, p.ids)
        return p

    def summary(self, kind: str, value: str) -> dict[str, Any]:
        """How many records a lookup finds (nothing personal), for the admin page."""
        p = self._find(self.db.conn, kind, value)
        return {"reference": p.reference, "counts": p.counts()}

    # -- export ------------------------------------------------------------------------
    def _local(self, row: dict[str, Any]) -> dict[str, Any]:
        out = {}
        for k, v in row.items():
            if k in _INTERNAL:
                continue
            if isinstance(v, str) and (k.endswith("_at") or k in ("clock_start", "at")):
                try:
                    moment = from_db_time(v, self.clock.tz)
                except ValueError:
                    moment = None
                v = to_iso(moment) if moment else v
            out[k] = v
        return out

    def export(self, kind: str, value: str, *, actor: str, role: str) -> tuple[str, bytes]:
        """(file name, zip bytes): person.json, README.txt and the snapshot files. Audited."""
        now = self.clock.now()
        with store.read_snapshot(self.db.conn) as conn:
            p, document, files = self._gather(conn, kind, value)
        document.update(site=self.config.site.id, exported_at=to_iso(now))
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.writestr("README.txt", README.format(site=self.config.site.id, at=to_iso(now), reference=p.reference))
            zf.writestr("person.json", json.dumps(document, ensure_ascii=False, indent=2))
            for name, data in files.items():
                zf.writestr(name, data)
        with self.db.write() as wconn:
            visit_store.add_audit(wconn, db_time(now), actor, role, "person.export", f"person:{p.reference}",
                                  _describe(kind, p.counts()))
        return f"person-{p.reference}-{now.astimezone(self.clock.tz):%Y%m%d-%H%M%S}.zip", buf.getvalue()

    def _gather(self, conn: sqlite3.Connection, kind: str,
                value: str) -> tuple[Person, dict[str, Any], dict[str, bytes]]:
        """The person, the document of person.json (without site and time) and the snapshot files."""
        p = self._find(conn, kind, value)
        files: dict[str, bytes] = {}
        visits = []
        for v in p.visits:
            row = self._local(v)
            path = self.visits.snapshot_file(v)
            row["snapshot_file"] = None
            if path is not None:
                name = f"snapshots/visit-{v['id']}.jpg"
                files[name] = path.read_bytes()
                row["snapshot_file"] = name
            visits.append(row)
        cases = []
        for c in p.cases:
            row = self._local(c)
            row["history"] = [self._local(h) for h in store.case_history(conn, c["id"])]
            cases.append(row)
        document = {
            "site": None, "exported_at": None, "reference": p.reference, "lookup": kind,
            "resident": [self._local(r) for r in p.residents], "visits": visits,
            "tickets": [self._local(t) for t in p.tickets], "calls": [self._local(c) for c in p.calls],
            "cases": cases, "surveys": [self._local(s) for s in p.surveys],
            "cards": [{k: c[k] for k in ("issued_at", "expires_at", "issued_by")} for c in p.cards],
            "counts": p.counts(),
        }
        return p, document, files

    # -- erasure -----------------------------------------------------------------------
    def erase(self, kind: str, value: str, *, actor: str, role: str) -> dict[str, Any]:
        """Delete or anonymise everything a lookup finds, in one transaction with its
        outbox records and its audit entry; then the snapshot files. Returns the counts."""
        now = self.clock.now()
        at, iso = db_time(now), to_iso(now)
        site = self.config.site.id
        with self.db.write() as conn, _secure_delete(conn):
            p = self._find(conn, kind, value)
            if not any(p.counts().values()) and not p.cards:
                raise NotFound("person_not_found", "nothing is stored about this person")
            files = [f for f in (self.visits.snapshot_file(v) for v in p.visits) if f is not None]
            anonymised: list[dict[str, Any]] = []
            for v in p.visits:
                outbox.add_delete(conn, site_id=site, kind="visit", local_id=v["id"], version=v["version"] + 1,
                                  occurred_at=iso, reason="erasure")
            store.delete_visits(conn, [v["id"] for v in p.visits])
            for c in p.calls:
                outbox.add_delete(conn, site_id=site, kind="call", local_id=c["id"], version=c["version"] + 1,
                                  occurred_at=iso, reason="erasure")
            store.delete_calls(conn, [c["id"] for c in p.calls])
            store.delete_print_jobs(conn, p.print_jobs)
            for t in p.tickets:
                outbox.add_delete(conn, site_id=site, kind="ticket", local_id=t["id"], version=t["version"] + 1,
                                  occurred_at=iso, reason="erasure")
                self.queue._outbox(conn, store.anonymise_ticket(conn, t["id"], at, 2))
            for c in p.cases:
                outbox.add_delete(conn, site_id=site, kind="case", local_id=c["id"], version=c["version"] + 1,
                                  occurred_at=iso, reason="erasure")
                row = store.anonymise_case(conn, c["id"], at, 2)
                case_store.add_history(conn, case_id=c["id"], at=at, actor=actor, action="anonymised",
                                       from_status=row["status"], to_status=row["status"], detail=None)
                self.cases._outbox(conn, row)
                anonymised.append(row)
            for s in p.surveys:
                if s["resident_id"] is None and not s["comment"]:
                    continue  # nothing of anyone in it
                outbox.add_delete(conn, site_id=site, kind="survey", local_id=s["id"], version=2, occurred_at=iso,
                                  reason="erasure")
                record = self.surveys.record(store.anonymise_survey(conn, s["id"]))
                outbox.add(conn, site_id=site, kind="survey", local_id=s["id"], version=3, occurred_at=iso,
                           data=record)
            store.forget_residents(conn, p.ids, at)
            counts = p.counts()
            visit_store.add_audit(conn, at, actor, role, "person.erase", f"person:{p.reference}",
                                  _describe(kind, counts))
            removed = _unlink(files)
        self.visits.remove_empty_folders()
        for row in anonymised:  # open case boards show the case without the person at once
            self.cases.bus.publish(CaseUpdated(self.cases.public(row)))
        if not store.flush_wal(self.db):
            log.warning("erasure %s: the WAL could not be emptied now (a reader is active); "
                        "the next checkpoint overwrites it", p.reference)
        return {"reference": p.reference, "counts": counts, "files": removed}


@contextmanager
def _secure_delete(conn: sqlite3.Connection) -> Iterator[None]:
    """Deleted content is overwritten with zeros (in the database and its WAL) instead of
    lingering in free pages; only for the erasure, whose deletes are few."""
    before = conn.execute("PRAGMA secure_delete").fetchone()[0]
    conn.execute("PRAGMA secure_delete = ON")
    try:
        yield
    finally:
        conn.execute(f"PRAGMA secure_delete = {int(before)}")


def _describe(kind: str, counts: dict[str, int]) -> str:
    return f"by={kind} " + " ".join(f"{k}={v}" for k, v in counts.items())


def _unlink(files: list[Path]) -> int:
    removed = 0
    for path in files:
        try:
            path.unlink()
            removed += 1
        except FileNotFoundError:
            pass
        except OSError:
            log.exception("could not remove snapshot %s", path.name)
    return removed
