"""The central resident directory's pure parts: ID-number check and hashing, and
reading the import CSV (header `id,name,unit,phone,id_number`, id_number optional).
ID numbers are hashed at once and never kept in clear."""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
from dataclasses import dataclass

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"


def valid_id_number(number: str) -> bool:
    """A mainland resident ID number (18 characters) with a correct GB 11643 check digit."""
    n = number.strip().upper()
    if len(n) != 18 or not n[:17].isdigit() or not n[:17].isascii():
        return False
    return _CHECK[sum(int(d) * w for d, w in zip(n[:17], _WEIGHTS, strict=True)) % 11] == n[17]


def id_hash(key: bytes, number: str) -> str:
    """hex(HMAC-SHA256(directory key, upper-cased ID number))."""
    return hmac.new(key, number.strip().upper().encode("ascii"), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Entry:
    id: str
    name: str
    unit: str
    phone: str
    id_hash: str | None


def read_csv(text: str, key: bytes) -> tuple[list[Entry], list[str]]:
    """(entries, errors); errors name the line. Duplicate ids: the last line wins."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [h.strip() for h in (reader.fieldnames or [])]
    missing = [h for h in ("id", "name", "unit", "phone") if h not in header]
    if missing:
        return [], [f"header must be id,name,unit,phone[,id_number]; missing {', '.join(missing)}"]
    entries: dict[str, Entry] = {}
    errors = []
    for line_no, raw in enumerate(reader, start=2):
        row = {(k or "").strip(): (v or "").strip() for k, v in raw.items() if k is not None}
        if not row["id"] or not row["name"]:
            errors.append(f"line {line_no}: id and name are required")
            continue
        number = row.get("id_number", "")
        if number and not valid_id_number(number):
            errors.append(f"line {line_no}: id_number is not a valid 18-character ID number")
            continue
        entries[row["id"]] = Entry(row["id"], row["name"], row["unit"], row["phone"],
                                   id_hash(key, number) if number else None)
    return list(entries.values()), errors
