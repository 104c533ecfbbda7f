"""The running kiosk: the config, database, event bus, devices and services, built in
order and stopped in reverse. The command line builds it; the web app gets only its
`services` (kiosk/services/registry.py)."""

from __future__ import annotations

import logging
import threading
from typing import Any

from kiosk.clock import Clock, SystemClock
from kiosk.config import Config
from kiosk.devices.health import overall
from kiosk.devices.phone import create_phone
from kiosk.devices.printer import Printer, create_printer
from kiosk.devices.speaker import Speaker, create_speaker
from kiosk.events import EventBus
from kiosk.reports.compute import Reports
from kiosk.services.auth import AuthService
from kiosk.services.calls import CallService
from kiosk.services.cases import CaseService
from kiosk.services.checkin import Checkin
from kiosk.services.devices import DeviceService
from kiosk.services.follow import FollowService
from kiosk.services.notices import NoticeService
from kiosk.services.person import PersonService
from kiosk.services.previews import PrintPreviews
from kiosk.services.printing import PrintSpooler
from kiosk.services.prompts import PromptService
from kiosk.services.quality import QualityService
from kiosk.services.queue import QueueService
from kiosk.services.registry import Services
from kiosk.services.residents import ResidentService
from kiosk.services.surveys import SurveyService
from kiosk.store import Database, open_database
from kiosk.store.sync_state import read_status as read_sync_status

log = logging.getLogger(__name__)


class Kiosk:
    """Everything the web layer and the workers share, wired once from the config."""

    def __init__(self, config: Config, *, clock: Clock | None = None, printer: Printer | None = None,
                 start_workers: bool = True) -> None:
        self.config = config
        self.clock = clock or SystemClock(config.site.timezone)
        self.bus = EventBus()
        self.db: Database = open_database(config.database.path)
        self.auth = AuthService(self.db, self.clock, config)
        self.devices = DeviceService(self.db, config, self.clock)
        self.printer = printer or create_printer(config.printer, config.data_dir)
        self.spooler = PrintSpooler(self.db, self.printer, config.printer, self.bus, self.clock)
        self.speaker: Speaker = create_speaker(config.tts, now=self.clock.now, data_dir=config.data_dir)
        self.queue = QueueService(self.db, config, self.clock, self.bus, self.spooler, self.speaker)
        self.calls = CallService(self.db, config, self.clock, self.bus)
        self.phone = create_phone(config.phone, on_call=self.calls.incoming)  # the caller-ID modem worker
        self.calls.attach_phone(self.phone)
        self.cases = CaseService(self.db, config, self.clock, self.bus, self.spooler)
        self.surveys = SurveyService(self.db, config, self.clock, self.bus)
        self.quality = QualityService(self.db, self.clock)
        self.reports = Reports(self.db, config, self.clock)
        # visits, camera, scanner, daily purge; a scanned ticket code is looked up by the queue
        self.checkin = Checkin(self.db, config, self.clock, self.bus, spooler=self.spooler,
                               speaker=self.speaker, ticket_lookup=self.queue.from_code)
        self.visits = self.checkin.visits
        self.person = PersonService(self.db, config, self.clock, self.checkin.key, visits=self.visits,
                                    queue=self.queue, cases=self.cases, surveys=self.surveys)
        self.stopping = threading.Event()
        self.services = Services(
            config=config, clock=self.clock, bus=self.bus, stopping=self.stopping, health=self.health,
            retry_printer=self.spooler.retry_now, printer_health=self.spooler.state, auth=self.auth,
            devices=self.devices, pending_prints=self.spooler.pending_count,
            queue=self.queue, calls=self.calls,
            cases=self.cases, surveys=self.surveys, quality=self.quality, reports=self.reports,
            visits=self.visits, residents=ResidentService(self.db, self.clock), person=self.person,
            previews=PrintPreviews(config.data_dir, config.printer.profile),
            follow=FollowService(self.db, self.clock, self.queue, self.cases, self.surveys),
            prompts=PromptService(self.speaker), notices=NoticeService(self.db, self.clock),
            camera_feedback=self.checkin.camera_feedback)
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

    def health(self) -> dict[str, Any]:
        """What /healthz shows: each device's health, the database and sync. Degraded when a
        device (the serial scanner too) is degraded or down, the database fails or sync stopped.

        The database is "degraded" with a `reason` (`storage_full`, `read_only`, `io_error`,
        `cannot_open`) from a write that failed for lack of storage until a write succeeds;
        "error" when it does not even answer a read."""
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
        failure = self.db.write_failure()  # the last write's outcome: no write per request
        try:
            self.db.scalar("SELECT 1")
            sync = read_sync_status(self.db)  # backlog, last success/error, dead letters, stopped
            db: dict[str, Any] = {"status": "ok", "path": self.db.path}
            if failure is not None:  # reads work, writes do not: 503 storage_unavailable until one does
                db = {"status": "degraded", **failure, "path": self.db.path}
        except Exception as exc:  # noqa: BLE001 - health reports a broken database, it never raises
            sync = {"backlog": None}
            db = {"status": "error", "error": str(exc)}
            if failure is not None:
                db["reason"] = failure["reason"]
        degraded = overall([*devices.values(), *checkin.values()]) != "ok" or db["status"] != "ok" or \
            bool(sync.get("stopped"))
        return {"status": "degraded" if degraded else "ok", "devices": report, "db": db, "sync": sync}
