"""What the web layer may use: the services, the read-only config and clock, the event bus
for the live stream, the stopping flag and the health report. Never the database, the
printer, the phone or the spooler themselves; `kiosk/runtime.py` builds this once."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kiosk.clock import Clock
from kiosk.config import Config
from kiosk.devices.health import DeviceHealth
from kiosk.events import EventBus
from kiosk.reports.compute import Reports
from kiosk.services.auth import AuthService
from kiosk.services.calls import CallService
from kiosk.services.cases import CaseService
from kiosk.services.devices import DeviceService
from kiosk.services.follow import FollowService
from kiosk.services.notices import NoticeService
from kiosk.services.person import PersonService
from kiosk.services.previews import PrintPreviews
from kiosk.services.prompts import PromptService
from kiosk.services.quality import QualityService
from kiosk.services.queue import QueueService
from kiosk.services.residents import ResidentService
from kiosk.services.surveys import SurveyService
from kiosk.services.visits import VisitService


@dataclass(frozen=True)
class Services:
    config: Config
    clock: Clock
    bus: EventBus
    #: Set when the kiosk shuts down; open event streams end on it.
    stopping: threading.Event
    #: Today's health report (`/healthz`, the manager's page).
    health: Callable[[], dict[str, Any]]
    #: Skip the print spooler's back-off now (the manager says the printer is back).
    retry_printer: Callable[[], None]
    #: The ticket printer's health as last seen (no database query): down = tickets are
    #: issued but not printed; the reason says why (`kiosk.services.printing.MESSAGES`).
    printer_health: Callable[[], DeviceHealth]
    auth: AuthService
    devices: DeviceService
    #: Print jobs still waiting for the printer (the cap of `limits.max_pending_prints`).
    pending_prints: Callable[[], int]
    queue: QueueService
    calls: CallService
    cases: CaseService
    surveys: SurveyService
    quality: QualityService
    reports: Reports
    visits: VisitService
    residents: ResidentService
    person: PersonService
    previews: PrintPreviews
    #: The residents' phone pages (a ticket or case reached by its capability).
    follow: FollowService
    #: The state of the live hint of the box's camera on its own kiosk screen
    #: (`kiosk.devices.camera_feedback.STATES`; "off" without a camera).
    camera_feedback: Callable[[], str]
    #: Elder mode's spoken prompts on the touchscreen.
    prompts: PromptService | None = None
    #: The hall display's notices, kept by the manager.
    notices: NoticeService | None = None

    def printer_availability(self) -> dict[str, Any]:
        """The public fact the screens show (`printer` in /api/v1/board and /api/v1/services):
        `available` unless the printer is down (tickets are then issued but not printed), and
        the reason word while it is degraded or down. Never the message or details, which may carry a
        driver's error text."""
        return printer_availability(self.printer_health())


#: A health reason is a short machine word (`paper_out`); anything else is not shown.
_REASON_WORD = re.compile(r"[a-z][a-z0-9_]{0,39}")


def printer_availability(health: DeviceHealth) -> dict[str, Any]:
    reason = health.reason if health.is_fault else None
    if reason is not None and not _REASON_WORD.fullmatch(reason):
        reason = None
    return {"available": health.status != "down", "reason": reason}
