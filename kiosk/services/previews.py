"""The printer preview the manager's page shows: the jobs the preview printer wrote to
`<data_dir>/prints/` as `<name>.bin`, listed newest first and drawn as PNG on request."""

from __future__ import annotations

import re
from pathlib import Path

from kiosk.devices.escpos_decode import render_png
from kiosk.devices.ticket_layout import paper_width_px

#: What a preview's name may be: the preview printer writes `<UTC timestamp>-<seq>`.
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,80}$")


class PrintPreviews:
    def __init__(self, data_dir: Path, profile: str) -> None:
        self.directory = Path(data_dir) / "prints"
        self.profile = profile

    def recent(self, limit: int = 12) -> list[str]:
        """Names of the newest previews, newest first."""
        if not self.directory.is_dir():
            return []
        return [p.stem for p in sorted(self.directory.glob("*.bin"), reverse=True)[:limit]]

    def png(self, name: str) -> bytes | None:
        """The preview `name` drawn as PNG at the paper's width; None for a name that is not a
        preview here (so a name can never reach outside the folder)."""
        if not _NAME.match(name):
            return None
        path = self.directory / f"{name}.bin"
        if not path.is_file():
            return None
        return render_png(path.read_bytes(), paper_width_px(self.profile))
