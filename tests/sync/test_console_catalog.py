"""The console is Chinese-first with complete English: every message the console's code
and templates mark has a Chinese translation in its own catalog."""

import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]


def test_every_console_message_has_a_chinese_translation(tmp_path):
    pot = tmp_path / "central.pot"
    subprocess.run([sys.executable, "-m", "babel.messages.frontend", "extract", "-F", str(ROOT / "babel.cfg"),
                    "-k", "_", "-k", "gettext", "-k", "tr", "-o", str(pot), str(ROOT / "sync" / "central")],
                   check=True, capture_output=True, cwd=ROOT)
    with pot.open("rb") as fh:
        wanted = {m.id for m in read_po(fh) if m.id}
    po = ROOT / "sync/central/translations/zh_Hans_CN/LC_MESSAGES/messages.po"
    with po.open("rb") as fh:
        have = {m.id: m.string for m in read_po(fh) if m.id}
    assert len(wanted) > 50
    assert sorted(m for m in wanted if not have.get(m)) == []
