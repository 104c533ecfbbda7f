"""What the web layer may use: the services, the read-only config and clock, the event bus
for the live stream, the stopping flag and the health report. Never the database, the
printer, the phone or the spooler themselves; `kiosk/runtime.py` builds this once."""

from __future__ import annotations

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
from kiosk.services.previews import PrintPreviews
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
    queue: QueueService
    calls: CallService
    cases: CaseService
    surveys: SurveyService
    quality: QualityService
    reports: Reports
    visits: VisitService
    residents: ResidentService
    previews: PrintPreviews
