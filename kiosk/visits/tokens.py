"""Signed QR payloads: resident cards and visitor passes.

Resident card: `KR1:{site}:{resident}:{expires}:{sig}`; visitor pass:
`KV1:{site}:{visit}:{expires}:{sig}`. `expires` is Unix seconds; `sig` is the first 16
bytes of HMAC-SHA256(site key, everything before it), base64url without padding. About
60 characters: well under the ~145 a camera reads reliably at a quarter of the frame.
Verification is pure: the caller passes the key, the site id and the time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass

from kiosk.errors import Forbidden, Invalid

RESIDENT, VISITOR = "KR1", "KV1"
TICKET = "KT1"
CASE = "KC1"
_PART = re.compile(r"^[A-Za-z0-9._\-]{1,40}$")
SIG_BYTES = 16


@dataclass(frozen=True)
class Token:
    kind: str  # KR1 | KV1
    site: str
    subject: str  # resident id or visit id
    expires: int
    sig: str

    @property
    def payload(self) -> str:
        return f"{self.kind}:{self.site}:{self.subject}:{self.expires}:{self.sig}"


def _sign(key: bytes, message: str) -> str:
    digest = hmac.new(key, message.encode("utf-8"), hashlib.sha256).digest()[:SIG_BYTES]
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def check_part(name: str, value: str) -> None:
    if not _PART.match(value or ""):
        raise ValueError(f"{name} {value!r} must be 1-40 letters, digits, '.', '_' or '-'")


def sign(key: bytes, kind: str, site: str, subject: str, expires: int) -> str:
    """The payload of a new token."""
    check_part("site id", site)
    check_part("subject", subject)
    head = f"{kind}:{site}:{subject}:{int(expires)}"
    return f"{head}:{_sign(key, head)}"


def parse(payload: str) -> Token:
    """Split a payload without checking it (`Invalid` when it is not one of ours)."""
    parts = (payload or "").strip().split(":")
    if len(parts) != 5 or parts[0] not in (RESIDENT, VISITOR) \
            or not (parts[3].isascii() and parts[3].isdigit() and len(parts[3]) <= 19):
        raise Invalid("token_malformed", "this code is not a resident card or visitor pass")
    return Token(parts[0], parts[1], parts[2], int(parts[3]), parts[4])


def verify(key: bytes, payload: str, *, site: str, now: int, kind: str = RESIDENT,
           revoked: frozenset[str] | set[str] = frozenset()) -> Token:
    """The token if it is ours, for this site, unexpired and not revoked; else `Forbidden`
    (`Invalid` when it is not a token at all)."""
    token = parse(payload)
    if token.kind != kind:
        raise Forbidden("token_wrong_kind", "this code is not a resident card" if kind == RESIDENT
                         else "this code is not a visitor pass")
    expected = _sign(key, payload.strip().rsplit(":", 1)[0])
    if token.site != site:
        # Checked before the signature: another site's key signed it, so it cannot match ours.
        raise Forbidden("token_other_site", f"this card belongs to another site ({token.site})")
    if not hmac.compare_digest(expected, token.sig):
        raise Forbidden("token_forged", "this card's signature is not valid")
    if now >= token.expires:
        raise Forbidden("token_expired", "this card has expired; please ask the front desk for a new one")
    if token.sig in revoked:
        raise Forbidden("token_revoked", "this card has been revoked")
    return token
