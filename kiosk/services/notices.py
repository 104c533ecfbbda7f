"""Notices on the hall display (opening hours, a lift out of service, a water cut): the
manager keeps a short list, the display shows them one after another."""

from __future__ import annotations

from typing import Any

from kiosk.clock import Clock, db_time
from kiosk.errors import Invalid
from kiosk.store.db import Database

MAX_NOTICES = 10
MAX_CHARS = 200


class NoticeService:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    def current(self) -> list[str]:
        """The notices in the order the display shows them."""
        return [r["text"] for r in self.db.query("SELECT text FROM display_notices ORDER BY position")]

    def replace(self, texts: list[str], actor: str) -> list[str]:
        """Make `texts` (blank lines dropped) the display's notices."""
        kept = [" ".join(t.split()) for t in texts if t.strip()]
        if len(kept) > MAX_NOTICES:
            raise Invalid("too_many_notices", f"at most {MAX_NOTICES} notices")
        if any(len(t) > MAX_CHARS for t in kept):
            raise Invalid("notice_too_long", f"a notice has at most {MAX_CHARS} characters")
        now = db_time(self.clock.now())
        with self.db.write() as conn:
            conn.execute("DELETE FROM display_notices")
            conn.executemany("INSERT INTO display_notices (position, text, updated_at, updated_by) VALUES (?, ?, ?, ?)",
                             [(i, t, now, actor) for i, t in enumerate(kept)])
        return kept

    def public(self) -> dict[str, Any]:
        return {"notices": self.current()}
