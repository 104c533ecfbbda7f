"""Enrolled devices: the touchscreen kiosks, the hall displays and the counter rating tablets.

The manager adds a device by name and kind and gets a one-time pairing token (valid
PAIRING_MINUTES); the device's browser trades it for a long-lived credential kept in an
HttpOnly cookie. Only SHA-256 hashes of the token and the credential are stored, so the
database alone never lets anyone act as a device. Revoking a device ends its credential at
once. Addresses in `server.kiosk_addresses` count as a kiosk named "local" (the box's own
kiosk browser) without any enrolment.
"""

from __future__ import annotations

import ipaddress
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from kiosk.capability import secret_hash
from kiosk.clock import Clock, db_time, from_db_time
from kiosk.config import Config
from kiosk.errors import Conflict, Forbidden, Invalid, NotFound, Unavailable
from kiosk.services.links import PublicLinks
from kiosk.store.db import Database

KINDS = ("kiosk", "display", "tablet")
PAIRING_MINUTES = 10
#: The name `server.kiosk_addresses` requests go by; no enrolled device may take it.
LOCAL_NAME = "local"
CREDENTIAL_PREFIX = "kdv_"
#: last_seen_at is written at most this often per device (a display polls all day).
SEEN_EVERY = timedelta(minutes=5)
#: Addresses whose "local kiosk" answer is remembered before the memory is cleared.
MAX_ADDRESSES_KNOWN = 1024
_NAME = re.compile(r"[\w.-]{1,40}")


@dataclass(frozen=True)
class Device:
    """A caller the hall trusts with anonymous writes of its kind."""

    name: str
    kind: str


@dataclass(frozen=True)
class Pairing:
    name: str
    kind: str
    token: str
    expires_at: str
    #: The link to open on the device: `site.public_url`, else this box's LAN address.
    url: str



class DeviceService:
    def __init__(self, db: Database, config: Config, clock: Clock) -> None:
        self.db = db
        self.clock = clock
        self.config = config
        self.links = PublicLinks(config)
        self._networks: tuple[tuple[str, ...], list[ipaddress.IPv4Network | ipaddress.IPv6Network]] = ((), [])
        #: address -> in `server.kiosk_addresses`: every guarded request asks, parsing is not free
        self._local_addresses: dict[str, bool] = {}

    def add(self, name: str, kind: str, created_by: str = "") -> Pairing:
        """A new device and its one-time pairing token (shown once, valid PAIRING_MINUTES)."""
        name = name.strip()
        if kind not in KINDS:
            raise Invalid("invalid_kind", f"kind must be one of {', '.join(KINDS)}")
        if not _NAME.fullmatch(name) or name == LOCAL_NAME:
            raise Invalid("invalid_name", "a device name is 1-40 letters, digits, '.', '_' or '-', and not 'local'")
        token = secrets.token_urlsafe(24)
        now = self.clock.now()
        expires = db_time(now + timedelta(minutes=PAIRING_MINUTES))
        with self.db.write() as conn:
            if conn.execute("SELECT 1 FROM devices WHERE name = ? AND revoked_at IS NULL", (name,)).fetchone():
                raise Conflict("device_exists", f"device {name!r} exists already; revoke it first")
            conn.execute("INSERT INTO devices (name, kind, pairing_hash, pairing_expires_at, created_at, created_by) "
                         "VALUES (?, ?, ?, ?, ?, ?)",
                         (name, kind, secret_hash(token), expires, db_time(now), created_by))
        return Pairing(name, kind, token, expires, self.links.pairing(token))

    def pending(self, token: str) -> Device | None:
        """The device a still-valid pairing token enrols, without using the token up."""
        row = self._pairing_row(token)
        return Device(row["name"], row["kind"]) if row else None

    def pair(self, token: str) -> tuple[Device, str]:
        """Use a pairing token up: the device and its new credential (for the cookie only)."""
        credential = CREDENTIAL_PREFIX + secrets.token_urlsafe(32)
        now = db_time(self.clock.now())
        with self.db.write() as conn:
            row = conn.execute("SELECT * FROM devices WHERE pairing_hash = ? AND revoked_at IS NULL",
                               (secret_hash(token),)).fetchone()
            if row is None or row["pairing_expires_at"] <= now:
                raise Forbidden("pairing_invalid", "this pairing link is unknown, used or expired")
            conn.execute("UPDATE devices SET pairing_hash = NULL, pairing_expires_at = NULL, credential_hash = ?, "
                         "paired_at = ?, last_seen_at = ? WHERE id = ?", (secret_hash(credential), now, now, row["id"]))
        return Device(row["name"], row["kind"]), credential

    def from_credential(self, credential: str) -> Device | None:
        if not credential.startswith(CREDENTIAL_PREFIX) or len(credential) > 100:
            return None
        row = self.db.query_one("SELECT id, name, kind, last_seen_at FROM devices WHERE credential_hash = ? "
                                "AND revoked_at IS NULL", (secret_hash(credential),))
        if row is None:
            return None
        now = self.clock.now()
        if not row["last_seen_at"] or row["last_seen_at"] <= db_time(now - SEEN_EVERY):
            try:
                with self.db.write(durable=False) as conn:
                    conn.execute("UPDATE devices SET last_seen_at = ? WHERE id = ?", (db_time(now), row["id"]))
            except Unavailable:  # bookkeeping only: the device is still the device on a full disk
                pass
        return Device(row["name"], row["kind"])

    def from_address(self, address: str | None) -> Device | None:
        """The "local" kiosk when `address` is one of `server.kiosk_addresses`."""
        if not address:
            return None
        addresses = tuple(self.config.server.kiosk_addresses)
        if self._networks[0] != addresses:
            self._networks = (addresses, [ipaddress.ip_network(a, strict=False) for a in addresses])
            self._local_addresses = {}
        local = self._local_addresses.get(address)
        if local is None:
            if len(self._local_addresses) >= MAX_ADDRESSES_KNOWN:
                self._local_addresses.clear()
            local = self._local_addresses[address] = _in_networks(address, self._networks[1])
        return Device(LOCAL_NAME, "kiosk") if local else None

    def revoke(self, name: str) -> None:
        with self.db.write() as conn:
            changed = conn.execute("UPDATE devices SET revoked_at = ?, pairing_hash = NULL, credential_hash = NULL "
                                   "WHERE name = ? AND revoked_at IS NULL", (db_time(self.clock.now()), name)).rowcount
        if not changed:
            raise NotFound("not_found", f"no enrolled device named {name!r}")

    def list(self, include_revoked: bool = False) -> list[dict[str, Any]]:
        """Devices for the manager: name, kind, state (pairing, paired, expired, revoked), times."""
        now = db_time(self.clock.now())
        where = "" if include_revoked else "WHERE revoked_at IS NULL"
        rows = self.db.query(f"SELECT name, kind, created_at, created_by, paired_at, last_seen_at, revoked_at, "
                             f"pairing_expires_at FROM devices {where} ORDER BY revoked_at IS NOT NULL, name")
        for row in rows:
            for field in ("created_at", "last_seen_at", "paired_at"):
                moment = from_db_time(row[field], self.clock.tz)
                row[field.replace("_at", "_local")] = f"{moment:%Y-%m-%d %H:%M}" if moment else None
            if row["revoked_at"]:
                row["state"] = "revoked"
            elif row["paired_at"]:
                row["state"] = "paired"
            elif row["pairing_expires_at"] and row["pairing_expires_at"] > now:
                row["state"] = "pairing"
            else:
                row["state"] = "expired"
        return rows

    def _pairing_row(self, token: str) -> dict[str, Any] | None:
        if not token or len(token) > 100:
            return None
        row = self.db.query_one("SELECT * FROM devices WHERE pairing_hash = ? AND revoked_at IS NULL",
                                (secret_hash(token),))
        if row is None or row["pairing_expires_at"] <= db_time(self.clock.now()):
            return None
        return row


def _in_networks(address: str, networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return any(ip.version == net.version and ip in net for net in networks)
