"""docs/sync.md documents every field of every record kind the outbox carries."""

import json
import re
from pathlib import Path

from .conftest import make_changes, site_config

DOC = Path(__file__).resolve().parents[2] / "docs" / "sync.md"


def documented_fields(kind: str) -> set[str]:
    section = DOC.read_text(encoding="utf-8").split(f"### `{kind}`", 1)[1].split("\n## ", 1)[0]
    data_table = section.split("`data`:", 1)[1]
    return set(re.findall(r"^\| `([a-z_]+)` \|", data_table, flags=re.MULTILINE))


def test_every_ticket_field_sent_is_documented(tmp_path):
    from kiosk.store import Database

    cfg = site_config(tmp_path, "")
    make_changes(cfg, 4)
    db = Database(cfg.database.path)
    kinds = {r["kind"] for r in db.query("SELECT kind FROM outbox")}
    sent = set().union(*(json.loads(r["data"]).keys() for r in db.query("SELECT data FROM outbox")))
    db.close()
    assert kinds == {"ticket"}
    assert documented_fields("ticket") == sent
