"""Small pure decisions of the check-in flow: what a scanned code is, and retention cut-offs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from kiosk import capability
from kiosk.visits import tokens


def classify(payload: str) -> str:
    """What a scanned code is: resident (card), visitor (pass), ticket, case (slip), or
    unknown. A ticket or case is its phone-page link, or the `KT1:`/`KC1:` reference
    printed before the phone pages."""
    link = capability.from_link(payload)
    if link is not None:
        return "ticket" if link[0] == capability.TICKET else "case"
    head = (payload or "").split(":", 1)[0]
    return {tokens.RESIDENT: "resident", tokens.VISITOR: "visitor", tokens.TICKET: "ticket",
            tokens.CASE: "case"}.get(head, "unknown")


@dataclass(frozen=True)
class Cutoffs:
    snapshots_before: datetime | None
    visits_before: datetime | None


def retention_cutoffs(now: datetime, snapshots_days: int, visits_days: int) -> Cutoffs:
    """Snapshots taken before `snapshots_before` and visits before `visits_before` go.

    A value of 0 or less keeps that kind forever: its cut-off is None and nothing of it goes.
    (Not `datetime.min`: in a zone east of UTC it has no UTC equivalent and converting it
    overflows.)
    """
    def cut(days: int) -> datetime | None:
        return now - timedelta(days=days) if days > 0 else None
    return Cutoffs(cut(snapshots_days), cut(visits_days))
