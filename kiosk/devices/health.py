"""One health report for every device: a status from one small set, a stable reason, and
the device's own details.

Statuses:
- ok: working (it may still carry a reason, e.g. `starting` within the grace period);
- degraded: working in part, or not yet known to work (e.g. `starting_too_long`);
- down: not working at all (e.g. the printer is `offline`);
- off: not configured, which is not a fault.

`reason` is short, stable and machine-readable (the admin page and monitoring key on it);
`message` is the human explanation, often the driver's own words.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Status = Literal["ok", "degraded", "down", "off"]
STATUSES: tuple[Status, ...] = ("ok", "degraded", "down", "off")

#: How long a device may say "starting" before it reports degraded. An RTSP camera or a
#: modem that hangs while opening stays in "starting" for good without this.
STARTING_GRACE_S = 15.0

# Reasons shared by several devices.
NOT_CONFIGURED = "not_configured"
STARTING = "starting"
STARTING_TOO_LONG = "starting_too_long"
DISCONNECTED = "disconnected"


@dataclass(frozen=True, slots=True)
class DeviceHealth:
    status: Status
    reason: str | None = None
    message: str | None = None
    details: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"device status {self.status!r} is not one of {', '.join(STATUSES)}")

    @property
    def is_fault(self) -> bool:
        """Degraded or down: what makes the whole service degraded (off does not)."""
        return self.status in ("degraded", "down")

    def to_dict(self) -> dict[str, Any]:
        """The JSON form: status, reason and message first, then the details."""
        return {"status": self.status, "reason": self.reason, "message": self.message, **self.details}


def starting(since: float, now: float, *, grace_s: float = STARTING_GRACE_S, what: str = "the device",
             details: Mapping[str, Any] | None = None) -> DeviceHealth:
    """The health of a device that has been starting since `since` (monotonic seconds):
    ok with reason `starting` within `grace_s`, then degraded with `starting_too_long`."""
    elapsed = max(0.0, now - since)
    if elapsed <= grace_s:
        return DeviceHealth("ok", STARTING, f"{what} is starting", details or {})
    return DeviceHealth("degraded", STARTING_TOO_LONG,
                        f"{what} is still starting after {elapsed:.0f} s", details or {})


def overall(devices: Iterable[DeviceHealth]) -> Literal["ok", "degraded"]:
    """One rule for the service: any device degraded or down makes it degraded; off does not."""
    return "degraded" if any(d.is_fault for d in devices) else "ok"
