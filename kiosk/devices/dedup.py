"""Scan de-duplication for the camera's decode worker: pure, tested without frames."""

from __future__ import annotations

from dataclasses import dataclass, field


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
