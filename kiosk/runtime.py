"""The running kiosk: the config, database, event bus, devices and services, built in
order and stopped in reverse. The app factory and the command line both use this."""

from __future__ import annotations

import logging
import threading
from datetime import datetime
from typing import Any

from kiosk.clock import Clock, SystemClock
from kiosk.config import Config
from kiosk.devices.health import overall
from kiosk.devices.phone import create_phone
from kiosk.devices.printer import Printer, create_printer
from kiosk.devices.speaker import Speaker, create_speaker
from kiosk.devices.ticket_layout import TicketPrint, render_ticket
from kiosk.events import EventBus
from kiosk.reports.compute import Reports
from kiosk.services.auth import AuthService
from kiosk.services.calls import CallService
from kiosk.services.cases import CaseService
from kiosk.services.checkin import SLIP_KINDS, Checkin
from kiosk.services.printing import PrintSpooler
from kiosk.services.quality import QualityService
from kiosk.services.queue import QueueService
from kiosk.services.surveys import SurveyService
from kiosk.store import Database, open_database
from sync.state import read_status as read_sync_status

log = logging.getLogger(__name__)


class Kiosk:
    """Everything the web layer and the workers share, wired once from the config."""

    def __init__(self, config: Config, *, clock: Clock | None = None, printer: Printer | None = None,
                 start_workers: bool = True) -> None:
        self.config = config
        self.clock = clock or SystemClock(config.site.timezone)
        self.bus = EventBus()
        self.db: Database = open_database(config.database.path)
        self.auth = AuthService(self.db, self.clock)
        self.printer = printer or create_printer(config.printer, config.data_dir)
        self.spooler = PrintSpooler(self.db, self.printer, self.render_job, self.bus, self.clock)
        self.speaker: Speaker = create_speaker(config.tts, now=self.clock.now)
        self.queue = QueueService(self.db, config, self.clock, self.bus, self.spooler, self.speaker)
        self.calls = CallService(self.db, config, self.clock, self.bus)
        self.phone = create_phone(config.phone, on_call=self.calls.incoming)  # the caller-ID modem worker
        self.cases = CaseService(self.db, config, self.clock, self.bus, self.spooler)
        self.surveys = SurveyService(self.db, config, self.clock, self.bus)
        self.quality = QualityService(self.db, self.clock)
        self.reports = Reports(self.db, config, self.clock)
        self.checkin = Checkin(self.db, config, self.clock, self.bus, spooler=self.spooler,
                               speaker=self.speaker)  # visits, camera, scanner, daily purge
        self.visits = self.checkin.visits
        self.stopping = threading.Event()
        self._started = False
        if start_workers:
            self.start()

    def start(self) -> None:
        if self._started:
            return
        self.spooler.start()
        self.cases.start()  # the case deadline watcher
        self.speaker.start()
        self.phone.start()
        self.checkin.start()
        self._started = True

    def stop(self) -> None:
        self.stopping.set()
        if self._started:
            self.checkin.stop()
            self.phone.stop()
            self.speaker.stop()
            self.spooler.stop()
            self.cases.stop()
            self._started = False
        self.db.close()

    def render_job(self, payload: dict[str, Any]) -> bytes:
        """ESC/POS bytes of a stored print job."""
        if payload.get("kind") == "case_slip":
            from kiosk.services.case_slip import render_case_slip
            return render_case_slip(payload, self.config.printer)
        if payload.get("kind") in SLIP_KINDS:
            return self.checkin.render(payload)
        if payload.get("kind") != "ticket":
            raise ValueError(f"unknown print job kind {payload.get('kind')!r}")
        fields = {k: v for k, v in payload.items() if k != "kind"}
        fields["issued_at"] = datetime.fromisoformat(fields["issued_at"])
        cfg = self.config.printer
        return render_ticket(TicketPrint(**fields), profile=cfg.profile, native_qr=cfg.native_qr, cut=cfg.cut)

    def health(self) -> dict[str, Any]:
        """What /healthz shows: each device's health, the database and sync. Degraded when a
        device (the serial scanner too) is degraded or down, the database fails or sync stopped."""
        checkin = self.checkin.health()
        devices = {
            "printer": self.spooler.health(),
            "camera": checkin["camera"],
            "phone": self.phone.health(),
            "tts": self.speaker.health(),
        }
        report = {name: device.to_dict() for name, device in devices.items()}
        if "scanner" in checkin:  # shown inside the camera's entry: the contract names four devices
            report["camera"]["scanner"] = checkin["scanner"].to_dict()
        try:
            self.db.scalar("SELECT 1")
            sync = read_sync_status(self.db)  # backlog, last success/error, dead letters, stopped
            db = {"status": "ok", "path": self.db.path}
        except Exception as exc:
            sync = {"backlog": None}
            db = {"status": "error", "error": str(exc)}
        degraded = overall([*devices.values(), *checkin.values()]) != "ok" or db["status"] != "ok" or \
            bool(sync.get("stopped"))
        return {"status": "degraded" if degraded else "ok", "devices": report, "db": db, "sync": sync}
