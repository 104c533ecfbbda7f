"""The sync protocol of DESIGN §6, as pure functions shared by the agent and the
reference receiver: signing and verifying requests, building a batch body from outbox
rows, checking one record, and turning a central answer into what the agent does next.

Nothing here does I/O or reads the clock: times are passed in.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from kiosk.phone_numbers import normalise

KINDS = ("ticket", "visit", "case", "call", "survey")
OPS = ("upsert", "delete")
MAX_SKEW_S = 300

H_SITE = "X-Kiosk-Site"
H_TIMESTAMP = "X-Kiosk-Timestamp"
H_SIGNATURE = "X-Kiosk-Signature"
H_BACKLOG = "X-Kiosk-Backlog"  # additional header: the agent's outbox size when it sent the batch
H_AGENT = "X-Kiosk-Agent"


def batches_path(site_id: str) -> str:
    return f"/api/v1/sites/{site_id}/batches"


def residents_path(site_id: str) -> str:
    return f"/api/v1/sites/{site_id}/residents"


# -- signing ---------------------------------------------------------------------------
def signature(secret: str, timestamp: int | str, body: bytes) -> str:
    """hex(HMAC-SHA256(secret, timestamp + "\\n" + raw_body))."""
    message = str(timestamp).encode("ascii") + b"\n" + body
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def signed_headers(site_id: str, secret: str, timestamp: int, body: bytes,
                   extra: Mapping[str, str] | None = None) -> dict[str, str]:
    headers = {H_SITE: site_id, H_TIMESTAMP: str(timestamp), H_SIGNATURE: signature(secret, timestamp, body)}
    if extra:
        headers.update(extra)
    return headers


@dataclass(frozen=True)
class AuthFailure:
    code: str
    message: str


class HeaderLookup(Protocol):
    """What `verify` reads of a request's headers: a dict, or the web framework's headers."""

    def get(self, key: str, default: str, /) -> str: ...


def verify(secret: str | None, headers: HeaderLookup, body: bytes, *, site_id: str, now: float,
           max_skew_s: float = MAX_SKEW_S) -> AuthFailure | None:
    """None when the request is signed by `secret` for `site_id` within the allowed skew."""
    if secret is None:
        return AuthFailure("unknown_site", f"site {site_id!r} is not registered here")
    if headers.get(H_SITE, "") != site_id:
        return AuthFailure("site_mismatch", f"{H_SITE} does not name site {site_id!r}")
    ts = headers.get(H_TIMESTAMP, "")
    if not re.fullmatch(r"[0-9]{1,12}", ts):
        return AuthFailure("bad_timestamp", f"{H_TIMESTAMP} must be unix seconds")
    if abs(now - int(ts)) > max_skew_s:
        return AuthFailure("timestamp_skew",
                           f"{H_TIMESTAMP} is more than {int(max_skew_s)} s from the receiver's clock")
    given = headers.get(H_SIGNATURE, "")
    expected = signature(secret, ts, body)
    if not hmac.compare_digest(given.lower().encode("ascii", "replace"), expected.encode("ascii")):
        return AuthFailure("bad_signature", "the signature does not match the body and timestamp")
    return None


# -- batches ---------------------------------------------------------------------------
@dataclass
class Batch:
    """One batch ready to send: its body and the outbox ids behind each key."""
    batch_id: str
    body: bytes
    ids_by_key: dict[str, int]
    # rows that cannot be sent at all (their stored data is not JSON): (id, key, error)
    unsendable: list[tuple[int, str, str]] = field(default_factory=list)

    @property
    def keys(self) -> list[str]:
        return list(self.ids_by_key)


def build_batch(batch_id: str, rows: Iterable[Mapping[str, Any]]) -> Batch:
    """The JSON body for outbox rows (id, key, kind, op, occurred_at, data-as-JSON-text)."""
    records = []
    ids_by_key: dict[str, int] = {}
    unsendable = []
    for row in rows:
        try:
            data = json.loads(row["data"])
        except (TypeError, ValueError) as exc:
            unsendable.append((row["id"], row["key"], f"outbox data is not JSON: {exc}"))
            continue
        records.append({"key": row["key"], "kind": row["kind"], "op": row["op"],
                        "occurred_at": row["occurred_at"], "data": data})
        ids_by_key[row["key"]] = row["id"]
    body = json.dumps({"batch_id": batch_id, "records": records}, ensure_ascii=False,
                      separators=(",", ":")).encode("utf-8")
    return Batch(batch_id, body, ids_by_key, unsendable)


def check_record(site_id: str, record: Any, kinds: Sequence[str] = KINDS) -> str | None:
    """Why the receiver cannot accept `record`, or None when it can."""
    if not isinstance(record, dict):
        return "record is not an object"
    kind = record.get("kind")
    if not isinstance(kind, str) or kind not in kinds:
        return f"unknown kind {kind!r} (accepted: {', '.join(kinds)})"
    key = record.get("key")
    prefix = f"{site_id}:{kind}:"
    if not isinstance(key, str) or not key.startswith(prefix) or len(key) > 300 \
            or not re.fullmatch(r"[^:\s]+:[0-9]+", key[len(prefix):]):
        return f"key must be {site_id}:{kind}:<local_id>:<version>"
    if record.get("op") not in OPS:
        return f"op must be one of {', '.join(OPS)}"
    occurred = record.get("occurred_at")
    try:
        if not isinstance(occurred, str) or datetime.fromisoformat(occurred).utcoffset() is None:
            raise ValueError
    except ValueError:
        return "occurred_at must be an ISO 8601 time with a UTC offset"
    if not isinstance(record.get("data"), dict):
        return "data must be an object"
    return None


# -- what the agent does with an answer ------------------------------------------------
APPLY, RETRY, STOP, DEAD_LETTER = "apply", "retry", "stop", "dead_letter"


@dataclass(frozen=True)
class Decision:
    action: str                     # apply | retry | stop | dead_letter
    accepted: tuple[str, ...] = ()
    rejected: tuple[tuple[str, str], ...] = ()
    error: str | None = None        # for retry / stop / dead_letter, and "partial" applies
    retry_after_s: float | None = None

    @property
    def reason(self) -> str:
        """The error text; `classify` sets one on every retry, stop and dead-letter decision."""
        return self.error or self.action


def _error_text(status: int, body: bytes) -> str:
    try:
        err = json.loads(body)["error"]
        return f"HTTP {status} {err['code']}: {err['message']}"
    except (ValueError, KeyError, TypeError):
        snippet = body[:200].decode("utf-8", "replace").strip()
        return f"HTTP {status}" + (f": {snippet}" if snippet else "")


def _retry_after(value: str | None) -> float | None:
    try:
        seconds = float(value) if value is not None else None
    except ValueError:
        return None
    return seconds if seconds is not None and seconds >= 0 else None


def classify(status: int | None, body: bytes = b"", *, sent_keys: Iterable[str] = (),
             transport_error: str | None = None, retry_after: str | None = None) -> Decision:
    """What to do after sending a batch (or a pull request).

    `status` is None when no answer came (timeout, refused, dropped): retry. A 200 whose
    body is not the contract's answer is retried too, since nothing says what was stored.
    """
    if status is None:
        return Decision(RETRY, error=transport_error or "no answer")
    if status == 200:
        try:
            answer = json.loads(body)
            sent = set(sent_keys)
            accepted = tuple(k for k in answer["accepted"] if isinstance(k, str) and k in sent)
            rejected = tuple((r["key"], str(r.get("error") or "rejected")) for r in answer["rejected"]
                             if isinstance(r, dict) and r.get("key") in sent)
        except (ValueError, KeyError, TypeError):
            return Decision(RETRY, error="HTTP 200 with a body that is not a batch answer")
        missing = len(sent) - len(set(accepted) | {k for k, _ in rejected})
        return Decision(APPLY, accepted, rejected,
                        error=f"{missing} records neither accepted nor rejected" if missing > 0 else None)
    if status in (401, 403):
        return Decision(STOP, error=_error_text(status, body))
    if status == 429 or status >= 500:
        return Decision(RETRY, error=_error_text(status, body), retry_after_s=_retry_after(retry_after))
    if 400 <= status < 500:
        return Decision(DEAD_LETTER, error=_error_text(status, body))
    return Decision(RETRY, error=_error_text(status, body))


def parse_directory(body: bytes) -> tuple[list, str | None]:
    """(entries, cursor) of a directory answer; ValueError when it is not one."""
    answer = json.loads(body)
    if not isinstance(answer, dict) or not isinstance(answer.get("residents"), list):
        raise ValueError("no residents list")  # one error type for any bad answer, not TypeError
    cursor = answer.get("cursor")
    if cursor is not None and not isinstance(cursor, (str, int)):
        raise ValueError("cursor must be a string")
    return answer["residents"], None if cursor is None else str(cursor)


def directory_row(entry: Any) -> dict[str, Any] | None:
    """A directory entry as the fields of a residents row (kiosk.store.sync_state), or
    None when it has no usable id or name."""
    if not isinstance(entry, dict):
        return None
    rid, name = entry.get("id"), entry.get("name")
    if isinstance(rid, bool) or not isinstance(rid, (str, int)) or str(rid).strip() == "" or not isinstance(name, str):
        return None
    raw_phone = entry.get("phone")
    phone = raw_phone if isinstance(raw_phone, str) else ""
    id_hash = entry.get("id_hash") if isinstance(entry.get("id_hash"), str) and entry.get("id_hash") else None
    return {"id": str(rid).strip(), "name": name, "unit": str(entry.get("unit") or ""), "phone": phone,
            "phone_norm": normalise(phone), "id_hash": id_hash, "active": 0 if entry.get("active") is False else 1}


def clock_offset(status: int | None, body: bytes, date_header: str | None, now: float) -> float | None:
    """Seconds to add to our clock when the receiver refused our timestamp (401
    timestamp_skew) and told its own time in the Date header; None otherwise.

    A kiosk box without a real-time clock can boot hours off before NTP catches up:
    signing with the receiver's time keeps it syncing instead of stopping."""
    if status != 401 or not date_header:
        return None
    try:
        if json.loads(body)["error"]["code"] != "timestamp_skew":
            return None
        from email.utils import parsedate_to_datetime

        return parsedate_to_datetime(date_header).timestamp() - now
    except (ValueError, KeyError, TypeError, IndexError):
        return None
