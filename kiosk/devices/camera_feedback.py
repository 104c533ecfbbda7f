"""What the kiosk's "hold your code up to the camera" hint says, decided from what the
camera sees frame by frame: pure, tested without frames (the camera's workers feed it).

The hint never flickers: a code read or a code seen but not readable is shown for at
least `hold_s` after the last frame it was in, then the hint goes back to "looking".
Nothing here knows whose code it was; whether a read code is ours is the scan's outcome
(`qr.scanned`), which the screen shows on its own.
"""

from __future__ import annotations

from dataclasses import dataclass

#: No camera configured: the screen shows no feedback line.
OFF = "off"
#: The camera is configured but delivers no frames (unplugged, file missing, reconnecting).
OFFLINE = "offline"
#: Frames arrive and no code is in view.
LOOKING = "looking"
#: A QR code is in view but cannot be decoded (too far, tilted, blurred, damaged).
UNREADABLE = "unreadable"
#: A code was decoded in the last `hold_s` seconds.
READ = "read"
STATES = (OFF, OFFLINE, LOOKING, UNREADABLE, READ)

#: What a frame showed: no code, a code that did not decode, or a decoded code.
SAW_NOTHING = "nothing"
SAW_UNREADABLE = "unreadable"
SAW_CODE = "code"


@dataclass
class Feedback:
    hold_s: float = 3.0
    state: str = OFF
    _until: float = 0.0

    def _set(self, state: str) -> str | None:
        if state == self.state:
            return None
        self.state = state
        return state

    def connected(self, ok: bool) -> str | None:
        """The camera opened (`ok`) or failed; the new state when it changed."""
        if not ok:
            return self._set(OFFLINE)
        return self._set(LOOKING) if self.state in (OFF, OFFLINE) else None

    def saw(self, sight: str, now: float) -> str | None:
        """One decoded frame at monotonic `now`; the new state when it changed. Frames count
        only while the camera is connected (a frame still queued when it failed does not)."""
        if self.state in (OFF, OFFLINE):
            return None
        if sight == SAW_CODE:
            self._until = now + self.hold_s
            return self._set(READ)
        if sight == SAW_UNREADABLE and not (self.state == READ and now < self._until):
            self._until = now + self.hold_s
            return self._set(UNREADABLE)
        if now >= self._until:
            return self._set(LOOKING)
        return None
