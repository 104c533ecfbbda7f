"""Small pure decisions of the check-in flow: what a scanned code is, and retention cut-offs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from kiosk.visits import tokens


def classify(payload: str) -> str:
    """What a scanned code is: resident (card), visitor (pass), ticket, or unknown."""
    head = (payload or "").split(":", 1)[0]
    return {tokens.RESIDENT: "resident", tokens.VISITOR: "visitor", tokens.TICKET: "ticket"}.get(head, "unknown")


@dataclass(frozen=True)
class Cutoffs:
    snapshots_before: datetime
    visits_before: datetime


def retention_cutoffs(now: datetime, snapshots_days: int, visits_days: int) -> Cutoffs:
    """Snapshots taken before `snapshots_before` and visits before `visits_before` go.

    A value of 0 or less keeps things forever (the cut-off is the distant past).
    """
    def cut(days: int) -> datetime:
        return now - timedelta(days=days) if days > 0 else datetime.min.replace(tzinfo=now.tzinfo)
    return Cutoffs(cut(snapshots_days), cut(visits_days))
