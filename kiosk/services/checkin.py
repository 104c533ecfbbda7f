"""Check-in wiring: the site key, the visit service, the camera, the serial scanner and
the daily purge, built from the config in one place so kiosk/runtime.py needs a line
each to create, start, stop and report them."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from kiosk.audience import LOCAL_DEVICE
from kiosk.clock import Clock
from kiosk.config import Config
from kiosk.devices.health import DeviceHealth
from kiosk.events import CameraStatus, EventBus
from kiosk.services.printing import PrintSpooler
from kiosk.services.retention import RetentionWorker
from kiosk.services.site_key import load_site_key
from kiosk.services.visits import Snapshot, VisitService
from kiosk.store.db import Database

if TYPE_CHECKING:
    from kiosk.devices.camera import Camera

log = logging.getLogger(__name__)


class Checkin:
    def __init__(self, db: Database, config: Config, clock: Clock, bus: EventBus, *,
                 spooler: PrintSpooler | None = None, speaker: Any = None,
                 ticket_lookup: Callable[[str], dict[str, Any] | None] | None = None) -> None:
        self.config = config
        self.clock = clock
        self.bus = bus
        self.key = load_site_key(config.data_dir)
        self.camera = self._make_camera()
        self.visits = VisitService(db, config, clock, bus, self.key, spooler=spooler, speaker=speaker,
                                   snapshot_source=self._snapshot, ticket_lookup=ticket_lookup)
        self.scanner = None
        if config.scanner.port:
            from kiosk.devices.scanner import SerialScanner

            self.scanner = SerialScanner(config.scanner.port,
                                         lambda code: self.visits.scan(code, source="scanner"))
        self.retention = RetentionWorker(self.visits.purge, clock.now, config.retention.purge_hour)

    def _make_camera(self) -> Camera:
        from kiosk.devices.camera import Camera, create_source
        from kiosk.devices.qr_decode import DecoderUnavailable, code_detector, frame_decoder

        cfg = self.config.camera
        source = create_source(cfg.source, self.config.data_dir)
        decode = None
        detect = None
        error = None
        if source is not None:
            try:
                decode = frame_decoder(cfg.decoder)
                detect = code_detector()
            except DecoderUnavailable as exc:
                error = str(exc)
        camera = Camera(source, decode, self._on_scan, now=self.clock.now, fps=cfg.fps, repeat_s=cfg.repeat_s,
                        jpeg_quality=cfg.snapshot_quality, on_status=self._on_camera_status, detect=detect)
        if error:
            camera.last_error = error
        return camera

    def _on_scan(self, payload: str, jpeg: bytes | None, at: datetime | None) -> None:
        snapshot = Snapshot(jpeg, at or self.clock.now()) if jpeg else None
        self.visits.scan(payload, source="camera", snapshot=snapshot)

    def _on_camera_status(self, state: str) -> None:
        self.bus.publish(CameraStatus(state, LOCAL_DEVICE))

    def camera_feedback(self) -> str:
        """The state of the box's camera hint now (`kiosk.devices.camera_feedback.STATES`)."""
        return self.camera.feedback

    def _snapshot(self) -> Snapshot | None:
        taken = self.camera.snapshot()
        return Snapshot(*taken) if taken else None

    def start(self) -> None:
        self.camera.start()
        if self.scanner:
            self.scanner.start()
        self.retention.start()

    def stop(self) -> None:
        self.retention.stop()
        if self.scanner:
            self.scanner.stop()
        self.camera.stop()

    def health(self) -> dict[str, DeviceHealth]:
        """The camera's health and, when one is configured, the serial scanner's."""
        devices = {"camera": self.camera.health()}
        if self.scanner:
            devices["scanner"] = self.scanner.health()
        return devices
