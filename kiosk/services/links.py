"""Where the phone pages live: `site.public_url`, or by default the box's LAN address and
`server.port`, as a resident's phone on the centre's Wi-Fi reaches it."""

from __future__ import annotations

import contextlib
import socket

from kiosk import capability
from kiosk.config import Config

_ANY_OR_LOOPBACK = {"", "0.0.0.0", "::", "127.0.0.1", "::1", "localhost"}


def lan_address() -> str:
    """The address this box's default route leaves from (no packet is sent: a UDP
    "connect" only picks the route), or 127.0.0.1 when there is no network."""
    with contextlib.suppress(OSError), socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect(("192.0.2.1", 9))  # TEST-NET-1: routed like any outside address
        address: str = probe.getsockname()[0]
        if address and address != "0.0.0.0":
            return address
    return "127.0.0.1"


class PublicLinks:
    """The phone-page links of capabilities. Reads the config at each call, so a changed
    `site.public_url` applies at once; the LAN address is looked up once."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self._lan: str | None = None

    @property
    def base(self) -> str:
        if self.config.site.public_url:
            return self.config.site.public_url.rstrip("/")
        host = self.config.server.host
        if host in _ANY_OR_LOOPBACK:
            if self._lan is None:
                self._lan = lan_address()
            host = self._lan
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.config.server.port}"

    def ticket(self, cap: str) -> str:
        return capability.link(self.base, capability.TICKET, cap)

    def case(self, cap: str) -> str:
        return capability.link(self.base, capability.CASE, cap)

    def pairing(self, token: str) -> str:
        """The page a new device opens once to enrol (kiosk/web/devices_admin.py)."""
        return f"{self.base}/pair/{token}"
