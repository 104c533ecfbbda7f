"""Capabilities of the phone pages: `{site.public_url}/t/{cap}` follows one ticket and
`{site.public_url}/c/{cap}` one case. Pure: no I/O.

A capability is 16 random bytes (128 bits) in base64url without padding, 22 characters,
so the whole link stays under ~60 characters and the printed QR code small. The box
stores only its SHA-256 (`digest`): a copy of the database or a backup holds no working
link, and a lookup by digest costs the same as by value. A plain hash suffices because
the value is random and long; there is nothing to guess that a slow hash would protect.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from urllib.parse import urlsplit

TICKET, CASE = "t", "c"
CAP_BYTES = 16
CAP_CHARS = 22
_CAP = re.compile(r"[A-Za-z0-9_-]{22}")
_LINK_PATH = re.compile(r"(?:/.*)?/([tc])/([A-Za-z0-9_-]{22})/?")


def new() -> str:
    """A fresh capability (128 random bits)."""
    return secrets.token_urlsafe(CAP_BYTES)


def is_capability(value: str) -> bool:
    return bool(_CAP.fullmatch(value or ""))


def digest(cap: str) -> bytes:
    """What the box stores and looks a capability up by."""
    return hashlib.sha256(cap.encode("ascii")).digest()


def secret_hash(secret: str) -> str:
    """What the box stores of any other bearer secret (API tokens, session ids, device
    credentials and pairing tokens, check-in tokens): its SHA-256 in hex."""
    return hashlib.sha256(secret.encode()).hexdigest()


def link(base_url: str, kind: str, cap: str) -> str:
    """The phone page of `cap`: `{base_url}/{kind}/{cap}`."""
    return f"{base_url.rstrip('/')}/{kind}/{cap}"


def from_link(payload: str) -> tuple[str, str] | None:
    """(kind, capability) of a scanned phone-page link (any host: what counts is that the
    capability is known), or None when the payload is not one."""
    text = (payload or "").strip()
    if not text.lower().startswith(("http://", "https://")) or len(text) > 300:
        return None
    try:
        parts = urlsplit(text)
    except ValueError:
        return None
    found = _LINK_PATH.fullmatch(parts.path)
    if found is None or parts.query or parts.fragment:
        return None
    return found.group(1), found.group(2)
