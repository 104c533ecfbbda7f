"""Small pure decisions of the check-in flow: scan de-duplication and retention cut-offs."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from kiosk.visits import tokens


def classify(payload: str) -> str:
    """What a scanned code is: resident (card), visitor (pass), ticket, or unknown."""
    head = (payload or "").split(":", 1)[0]
    return {tokens.RESIDENT: "resident", tokens.VISITOR: "visitor", tokens.TICKET: "ticket"}.get(head, "unknown")


@dataclass
class Deduper:
    """Report a code once while it stays in view, and again only after `cooldown_s`.

    A card held up to the camera is read in many consecutive frames; a looping demo
    video shows it again every few seconds. Both must give one check-in.
    """

    cooldown_s: float = 30.0
    _last: dict[str, float] = field(default_factory=dict)

    def is_new(self, payload: str, now: float) -> bool:
        last = self._last.get(payload)
        self._last[payload] = now
        if len(self._last) > 256:
            for key in sorted(self._last, key=self._last.__getitem__)[:128]:
                del self._last[key]
        return last is None or now - last >= self.cooldown_s


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
