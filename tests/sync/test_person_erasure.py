"""A person's export and erasure through the real path: residents, visits with camera
snapshots, tickets, calls, cases and ratings made by the real services for two people
who share a unit; `kiosk person export|erase` as the command line runs them; the real
`kiosk-sync` draining to kiosk-central on 127.0.0.1. The export holds exactly the one
person's records; after the erasure no table, snapshot file or central record holds any
of their markers, and the other person is untouched. The retention purge sends deletes
too, and retention 0 keeps everything."""

from __future__ import annotations

import contextlib
import io
import json
import os
import pty
import sqlite3
import subprocess
import zipfile
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image

from kiosk.cli import main as kiosk_cli
from kiosk.clock import FixedClock
from kiosk.devices.callerid import CallerId
from kiosk.runtime import Kiosk
from kiosk.services.visits import Snapshot
from kiosk.visits import id_number
from kiosk.visits.id_number import with_check_char

from .conftest import SITE, TZ, VENV_BIN, kiosk_sync, site_config, write_config

ID_A = with_check_char("11010519491231002")
ID_B = with_check_char("44030619850615003")
UNIT = "3-1-101"
PEOPLE = {
    "A": {"id": "RMARKA01", "name": "甲MARKA", "phone": "13800000001", "id_number": ID_A},
    "B": {"id": "RMARKB02", "name": "乙MARKB", "phone": "13900000002", "id_number": ID_B},
}


def jpeg(colour: tuple[int, int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (32, 24), colour).save(out, "JPEG")
    return out.getvalue()


def markers(who: str) -> list[str]:
    p = PEOPLE[who]
    return [p["id"], p["name"], p["phone"], p["id_number"], id_number.parse(p["id_number"], date(2026, 1, 1)).masked]


def seed(k: Kiosk, clock: FixedClock, who: str, colour: tuple[int, int, int]) -> dict:
    """Everything the desk records about one person, through the services."""
    p = PEOPLE[who]
    made: dict = {}
    qr = k.visits.issue_card(p["id"], actor="manager1")
    v1 = k.visits.checkin_qr(qr, snapshot=Snapshot(jpeg(colour), clock.now()))
    v2 = k.visits.checkin_id(p["id_number"], snapshot=Snapshot(jpeg(colour), clock.now()))
    v3 = k.visits.checkin_visitor({"name": p["name"] + "访客", "phone": p["phone"], "unit": UNIT,
                                   "purpose": f"visit {p['name']}"})
    ticket = k.queue.issue("A", resident_id=p["id"], visit_id=v1["id"])
    k.visits.link_ticket(v1["id"], ticket.ticket["id"])
    call = k.calls.incoming(CallerId(number=p["phone"], name=p["name"], kind="normal", date=None, time=None, at=0.0))
    case_visit = k.cases.create(type="complaint", description=f"noise at {UNIT}", channel="kiosk",
                                visit_id=v2["id"])
    case_call = k.cases.create(type="inquiry", description="parcel?", channel="phone", call_id=call["id"],
                               contact_name=p["name"], contact_phone="+86 " + p["phone"], unit=UNIT)
    rating = k.surveys.answer(score=4, case_id=case_visit["id"], comment=f"thanks from {p['name']}")
    made.update(visits=[v1["id"], v2["id"], v3["id"]], ticket=ticket.ticket["id"], call=call["id"],
                cases=[case_visit["id"], case_call["id"]], survey=rating["id"])
    clock.advance(minutes=5)
    return made


@pytest.fixture
def site(tmp_path: Path, central):
    cfg = site_config(tmp_path, central.url)
    cfg.camera.source = ""
    config_file = write_config(cfg, tmp_path / "kiosk.toml")
    clock = FixedClock(datetime.now(TZ).replace(microsecond=0) - timedelta(hours=2))
    k = Kiosk(cfg, clock=clock, start_workers=False)
    csv = "id,name,unit,phone,id_number\n" + "".join(
        f"{p['id']},{p['name']},{UNIT},{p['phone']},{p['id_number']}\n" for p in PEOPLE.values())
    k.visits.import_residents(csv)
    made = {"A": seed(k, clock, "A", (200, 30, 30)), "B": seed(k, clock, "B", (30, 30, 200))}
    yield k, cfg, config_file, made
    k.stop()


def run_cli(config_file: Path, *args: str) -> str:
    result = CliRunner().invoke(kiosk_cli, [*args, "--config", str(config_file)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def drain(config_file: Path) -> None:
    proc = kiosk_sync("once", config=config_file)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err.decode()


def every_table_text(db_path: str) -> str:
    """Every value of every table, shadow tables of the search index included."""
    conn = sqlite3.connect(db_path)
    try:
        texts = []
        for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'"):
            for row in conn.execute(f'SELECT * FROM "{name}"'):
                for value in row:
                    texts.append(value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value))
        return "\n".join(texts)
    finally:
        conn.close()


def central_text(central) -> str:
    return "\n".join(json.dumps(central.store.record(key), ensure_ascii=False) for key in central.store.keys(SITE))


def test_export_holds_exactly_that_persons_records(site, tmp_path):
    k, cfg, config_file, made = site
    out = tmp_path / "a.zip"
    run_cli(config_file, "person", "export", "--id-number", ID_A, "--out", str(out))
    with zipfile.ZipFile(out) as zf:
        names = set(zf.namelist())
        doc = json.loads(zf.read("person.json"))
        readme = zf.read("README.txt").decode()
        snaps = {n: zf.read(n) for n in names if n.startswith("snapshots/")}
    a = made["A"]
    assert "person.json" in names and "个人信息" in readme
    assert [r["id"] for r in doc["resident"]] == [PEOPLE["A"]["id"]]
    assert sorted(v["id"] for v in doc["visits"]) == sorted(a["visits"])
    assert [t["id"] for t in doc["tickets"]] == [a["ticket"]]
    assert [c["id"] for c in doc["calls"]] == [a["call"]]
    assert sorted(c["id"] for c in doc["cases"]) == sorted(a["cases"])
    assert [s["id"] for s in doc["surveys"]] == [a["survey"]]
    assert len(doc["cards"]) == 1 and doc["cases"][0]["history"]
    assert sorted(snaps) == sorted(f"snapshots/visit-{i}.jpg" for i in a["visits"][:2])
    for data in snaps.values():  # A's own pictures (red), never B's (blue)
        r, _, b = Image.open(io.BytesIO(data)).convert("RGB").getpixel((10, 10))
        assert r > 150 and b < 100
    text = json.dumps(doc, ensure_ascii=False)
    assert PEOPLE["A"]["name"] in text and PEOPLE["A"]["phone"] in text
    for marker in markers("B"):
        assert marker not in text
    assert ID_A not in text and "id_hash" not in text  # the masked form only
    audit = k.visits.audit_log()
    assert audit[0]["action"] == "person.export" and audit[0]["target"].startswith("person:P-")
    assert ID_A not in str(audit) and PEOPLE["A"]["phone"] not in str(audit)


def test_erase_leaves_nothing_locally_nor_at_the_receiver_and_spares_the_other(site, central, tmp_path):
    k, cfg, config_file, made = site
    drain(config_file)  # central holds both people's records
    assert PEOPLE["A"]["name"] in central_text(central)
    # A's later change, still waiting in the outbox, must not leave after the erasure
    k.visits.checkout(made["A"]["visits"][2])
    snapshot_dir = cfg.data_dir / "snapshots"
    assert len(list(snapshot_dir.rglob("*.jpg"))) == 4

    before = every_table_text(cfg.database.path)
    assert [m for m in markers("A") if m not in before] == [ID_A]  # stored only hashed and masked
    out = run_cli(config_file, "person", "erase", "--phone", "+86 138-0000-0001", "--yes")
    assert "erased" in out and "2 snapshot files removed" in out
    drain(config_file)

    raw = b"".join(path.read_bytes() for path in Path(cfg.database.path).parent.glob("kiosk.db*"))
    for marker in markers("A"):  # not even in free pages or the WAL (secure_delete, checkpoint)
        assert marker.encode() not in raw, marker
    local = every_table_text(cfg.database.path)
    remote = central_text(central)
    for marker in markers("A"):
        assert marker not in local.replace("person.erase", ""), marker
        assert marker not in remote, marker
    assert len(list(snapshot_dir.rglob("*.jpg"))) == 2  # B's
    for marker in (PEOPLE["B"]["name"], PEOPLE["B"]["phone"], PEOPLE["B"]["id"]):
        assert marker in local and marker in remote
    # the cases stay for the statistics, without the person
    for case_id in made["A"]["cases"]:
        case = k.cases.get(case_id)
        assert (case["contact_name"], case["contact_phone"], case["unit"], case["resident_id"]) == ("", "", "", None)
        assert case["description"]
        keys = [key for key in central.store.keys(SITE) if key.startswith(f"{SITE}:case:{case_id}:")]
        ops = [central.store.record(key)["op"] for key in keys]
        assert ops == ["delete", "upsert"]
    # the visits and the call are gone at the receiver: only their tombstones are left
    for visit_id in made["A"]["visits"]:
        keys = [key for key in central.store.keys(SITE) if key.startswith(f"{SITE}:visit:{visit_id}:")]
        assert [central.store.record(key)["op"] for key in keys] == ["delete"]
    audit = k.visits.audit_log()
    assert audit[0]["action"] == "person.erase" and "visits=3" in audit[0]["detail"]


def test_the_retention_purge_sends_deletes_and_retention_0_keeps_everything(site, central):
    k, cfg, config_file, made = site
    drain(config_file)
    k.visits.checkout(made["B"]["visits"][2])  # a pending version of a visit about to be purged
    cfg.retention.visits_days = 0
    cfg.retention.snapshots_days = 0
    assert k.visits.purge() == {"visits": 0, "snapshots": 0, "files": 0}
    with config_file.open("a") as fh:  # `kiosk purge` on a UTC+8 site keeping everything
        fh.write('\n[retention]\nvisits_days = 0\nsnapshots_days = 0\n')
    assert run_cli(config_file, "purge").startswith("purged 0 visits, 0 snapshots")
    k.clock.advance(days=400)
    cfg.retention.visits_days = 365
    assert k.visits.purge()["visits"] == 6
    pending = k.db.query("SELECT op, data FROM outbox WHERE kind = 'visit'")
    assert len(pending) == 6 and {r["op"] for r in pending} == {"delete"}  # the checkout never leaves
    drain(config_file)
    visit_keys = [key for key in central.store.keys(SITE) if f"{SITE}:visit:" in key]
    assert len(visit_keys) == 6 and all(central.store.record(key)["op"] == "delete" for key in visit_keys)
    assert all(central.store.record(key)["data"]["reason"] == "retention" for key in visit_keys)
    visit = k.visits.checkin_visitor({"name": "新访客", "phone": "13700000007", "unit": "1-1-1"})
    assert visit["id"] == 7  # the purged ids, the newest included, are never handed out again


def erase_on_a_terminal(config_file: Path, resident: str, typed: str) -> tuple[int, str]:
    """`kiosk person erase` run as the real console script on a pseudo-terminal, typing `typed`."""
    master, slave = pty.openpty()
    proc = subprocess.Popen([str(VENV_BIN / "kiosk"), "person", "erase", "--resident", resident,
                             "--config", str(config_file)], stdin=slave, stdout=slave, stderr=slave)
    os.close(slave)
    output = b""
    while b"to erase" not in output:
        output += os.read(master, 4096)
    os.write(master, typed.encode() + b"\r")
    with contextlib.suppress(OSError):  # EIO once the process has gone
        while chunk := os.read(master, 4096):
            output += chunk
    os.close(master)
    return proc.wait(timeout=30), output.decode(errors="replace")


def test_the_command_erases_only_after_the_reference_is_typed(site):
    k, cfg, config_file, made = site
    code, out = erase_on_a_terminal(config_file, PEOPLE["B"]["id"], "P-NOPE")
    assert code == 1 and "nothing was erased" in out and "3 visits" in out
    assert k.db.scalar("SELECT COUNT(*) FROM visits") == 6
    assert k.db.scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'person.erase'") == 0

    reference = k.person.reference("resident", PEOPLE["B"]["id"])
    code, out = erase_on_a_terminal(config_file, PEOPLE["B"]["id"], reference.lower())
    assert code == 0, out
    assert k.db.scalar("SELECT COUNT(*) FROM visits") == 3
    assert k.db.scalar("SELECT COUNT(*) FROM calls") == 1
    assert k.db.query("SELECT id FROM residents") == [{"id": PEOPLE["A"]["id"]}]
    # B's call was the newest: its id is not handed to the next call
    call = k.calls.incoming(CallerId(number="13700000009", name="", kind="normal", date=None, time=None, at=0.0))
    assert call["id"] == made["B"]["call"] + 1


def test_from_a_script_the_command_erases_at_once(site, tmp_path):
    k, cfg, config_file, made = site
    proc = subprocess.run([str(VENV_BIN / "kiosk"), "person", "erase", "--id-number", ID_B, "--config",
                           str(config_file)], stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
    assert proc.returncode == 0, proc.stderr.decode()
    assert b"erased 1 residents, 3 visits" in proc.stdout
