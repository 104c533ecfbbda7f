"""The check-in API, the visit log and its audit trail, resident cards on tickets,
retention, and the command line — through the app and the real runtime."""

from __future__ import annotations

import csv
import hashlib
import io
import json

import pytest
from click.testing import CliRunner

from kiosk.devices.layouts import payload_from_dict, render
from kiosk.services.visits import Snapshot
from kiosk.visits import tokens as tok
from tests.checkin.conftest import ZHANG_ID, count, jpeg
from tests.conftest import PASSWORD, bearer


def login(client, username: str) -> None:
    """Sign in through the real form (with its CSRF token)."""
    import re

    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
    r = client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token})
    assert r.status_code == 302


def checkin(client, **body):
    return client.post("/api/v1/checkins", json=body)


def last_visit(kiosk) -> dict:
    return kiosk.db.query_one("SELECT * FROM visits ORDER BY id DESC LIMIT 1")


def test_qr_checkin_records_visit_outbox_and_greets(client, kiosk, card, recorded_events):
    resp = checkin(client, method="qr", payload=card)
    assert resp.status_code == 201, resp.json
    assert resp.json["greeting"] == {"name": "张**"}
    assert set(resp.json) == {"greeting", "checkin_token", "checkin_token_expires_at", "photo_taken"}
    assert resp.json["photo_taken"] is False  # a boolean only: no snapshot without a camera
    visit = last_visit(kiosk)
    assert (visit["kind"], visit["method"], visit["name"], visit["unit"], visit["resident_id"]) == \
        ("resident", "qr", "张女士", "3-2-501", "r-zhang")
    rows = kiosk.db.query("SELECT key, data FROM outbox WHERE kind = 'visit'")
    assert [r["key"] for r in rows] == [f"demo-site:visit:{visit['id']}:1"]
    assert json.loads(rows[0]["data"])["name"] == "张女士"
    assert recorded_events.names("visit.checked_in") == ["visit.checked_in"]


def test_staff_checkin_answers_the_visit(client, kiosk, card, tokens):
    resp = client.post("/api/v1/checkins", json={"method": "qr", "payload": card},
                       headers=bearer(tokens["receptionist"]))
    assert resp.status_code == 201
    assert (resp.json["name"], resp.json["resident_id"], resp.json["greeting"]) == \
        ("张女士", "r-zhang", {"name": "张**"})
    assert resp.headers["Location"] == f"/api/v1/visits/{resp.json['id']}"


def test_greeting_is_spoken_after_a_resident_check_in(tmp_path, config, clock, residents_csv_text):
    from kiosk.runtime import Kiosk

    config.tts.output = f"wav:{tmp_path / 'wav'}"
    k = Kiosk(config, clock=clock)
    try:
        k.visits.import_residents(residents_csv_text)
        k.visits.checkin_qr(k.visits.issue_card("r-zhang", 1))
        assert k.speaker.wait_finished(1, timeout=60)
        assert list((tmp_path / "wav").glob("*greeting*.wav"))
    finally:
        k.stop()


@pytest.fixture
def residents_csv_text():
    from tests.checkin.conftest import RESIDENTS_CSV
    return RESIDENTS_CSV


@pytest.mark.parametrize("mutate,code,status", [
    (lambda k, c: c[:-2] + ("AA" if not c.endswith("AA") else "BB"), "token_forged", 403),
    (lambda k, c: tok.sign(b"z" * 32, tok.RESIDENT, "demo-site", "r-zhang", 2_000_000_000), "token_forged", 403),
    (lambda k, c: tok.sign(k.visits.key, tok.RESIDENT, "other-site", "r-zhang", 2_000_000_000),
     "token_other_site", 403),
    (lambda k, c: "not a card", "token_malformed", 400),
])
def test_bad_cards_refused_and_leave_no_visit(client, kiosk, card, mutate, code, status):
    resp = checkin(client, method="qr", payload=mutate(kiosk, card))
    assert resp.status_code == status and resp.json["error"]["code"] == code
    assert count(kiosk, "visits") == 0 and count(kiosk, "outbox", "kind = 'visit'") == 0


def test_expired_and_revoked_cards_refused(client, kiosk, clock, card):
    kiosk.visits.revoke_cards("r-zhang", "lost")
    resp = checkin(client, method="qr", payload=card)
    assert resp.status_code == 403 and resp.json["error"]["code"] == "token_revoked"
    fresh = kiosk.visits.issue_card("r-zhang", 1)
    clock.advance(days=1, seconds=1)
    resp = checkin(client, method="qr", payload=fresh)
    assert resp.status_code == 403 and resp.json["error"]["code"] == "token_expired"
    assert count(kiosk, "visits") == 0


def test_id_number_check_in_matches_resident_by_keyed_hash(client, kiosk, residents):
    resp = checkin(client, method="id", id_number=ZHANG_ID.lower())
    assert resp.status_code == 201
    assert "resident_id" not in resp.json and "id_masked" not in resp.json
    visit = last_visit(kiosk)
    assert (visit["resident_id"], visit["method"]) == ("r-zhang", "id")
    assert visit["id_masked"] == ZHANG_ID[:4] + "*" * 10 + ZHANG_ID[-4:]
    dump = "\n".join(str(tuple(r)) for t in ("visits", "outbox", "residents")
                     for r in kiosk.db.conn.execute(f"SELECT * FROM {t}"))
    assert ZHANG_ID not in dump and ZHANG_ID.lower() not in dump  # never stored in clear


@pytest.mark.parametrize("number,code", [(ZHANG_ID[:-1] + ("0" if ZHANG_ID[-1] != "0" else "1"), "id_checksum"),
                                         ("123", "id_length"), ("11010519491331002X", "id_birth_date")])
def test_bad_id_numbers_change_nothing(client, kiosk, residents, number, code):
    resp = checkin(client, method="id", id_number=number)
    assert resp.status_code == 400 and resp.json["error"]["code"] == code
    assert count(kiosk, "visits") == 0


def test_known_and_unknown_id_numbers_answer_alike(client, kiosk, residents):
    """No oracle: a resident's ID number and anyone else's get the same answer, differing
    only in the random token; the visit records which it was."""
    known = checkin(client, method="id", id_number=ZHANG_ID)
    unknown = checkin(client, method="id", id_number="11010519491231002X")
    assert known.status_code == unknown.status_code == 201
    assert set(known.json) == set(unknown.json) == {"greeting", "checkin_token", "checkin_token_expires_at",
                                                    "photo_taken"}
    assert known.json["photo_taken"] is unknown.json["photo_taken"] is False
    assert known.json["greeting"] == unknown.json["greeting"] == {"name": ""}
    assert known.json["checkin_token"] != unknown.json["checkin_token"]
    assert [(v["kind"], v["resident_id"]) for v in kiosk.db.query("SELECT * FROM visits ORDER BY id")] == \
        [("resident", "r-zhang"), ("visitor", None)]
    named = checkin(client, method="id", id_number="11010519491231002X", name="赵先生")
    assert named.status_code == 201 and named.json["greeting"] == {"name": "赵**"}
    assert last_visit(kiosk)["kind"] == "visitor"


def test_visitor_registration_prints_a_pass_whose_qr_checks_out(client, kiosk):
    from kiosk.devices.escpos_decode import decode

    resp = checkin(client, method="manual", visitor={"name": "王五", "phone": "139 0000 1111", "unit": "5-1-202",
                                                     "purpose": "送货"})
    assert resp.status_code == 201 and resp.json["print"]["status"] in ("printed", "queued")
    job = kiosk.db.query_one("SELECT kind, payload FROM print_jobs WHERE kind = 'visitor_pass'")
    escpos = render(payload_from_dict(json.loads(job["payload"])), kiosk.config.printer)
    doc = decode(escpos)
    assert "访客通行证" in doc.text and "王五" in doc.text and "5-1-202" in doc.text
    [pass_payload] = doc.qr_payloads
    out = client.post("/api/v1/scans", json={"payload": pass_payload})  # the pass held up on the way out
    assert out.status_code == 200 and out.json["action"] == "checked_out"
    assert out.json["greeting"] == {"name": "王*"} and "visit" not in out.json
    assert last_visit(kiosk)["checked_out_at"]
    again = client.post("/api/v1/checkouts", json={"payload": pass_payload})
    assert again.status_code == 409
    assert count(kiosk, "outbox", "kind = 'visit'") == 2  # check-in and check-out versions


@pytest.mark.parametrize("body,code", [
    ({"method": "manual", "visitor": {"name": "", "phone": "1390000", "unit": "1"}}, "missing_field"),
    ({"method": "manual", "visitor": {"name": "a", "phone": "<b>", "unit": "1"}}, "invalid_phone"),
    ({"method": "manual", "visitor": {"name": "a", "phone": "1390000", "unit": "1", "x": 1}}, "unknown_field"),
    ({"method": "manual", "visitor": {"name": "a" * 41, "phone": "1390000", "unit": "1"}}, "too_long"),
    ({"method": "manual", "visitor": {"name": "a", "phone": "1390000", "unit": "1", "id_number": "1"}},
     "id_length"),
    ({"method": "qr", "payload": "x", "extra": 1}, "unknown_field"),
    ({"method": "qr"}, "missing_field"),
    ({"method": "teleport"}, "invalid_method"),
    ({"method": "qr", "payload": 5}, "invalid_field"),
])
def test_bad_bodies_are_4xx_and_change_nothing(client, kiosk, body, code):
    resp = client.post("/api/v1/checkins", json=body)
    assert resp.status_code == 400 and resp.json["error"]["code"] == code
    assert count(kiosk, "visits") == 0 and count(kiosk, "print_jobs") == 0


def test_huge_and_non_json_bodies(client, kiosk):
    assert client.post("/api/v1/checkins", data="x" * 100_000, content_type="application/json").status_code == 413
    assert client.post("/api/v1/checkins", data="method=qr").status_code == 415
    assert count(kiosk, "visits") == 0


def test_ticket_with_resident_token(client, kiosk, card):
    resp = client.post("/api/v1/tickets", json={"service": "A", "resident_token": card})
    assert resp.status_code == 201 and "resident_id" not in resp.json
    assert kiosk.db.scalar("SELECT resident_id FROM tickets WHERE id = ?", (resp.json["id"],)) == "r-zhang"
    bad = client.post("/api/v1/tickets", json={"service": "A", "resident_token": card + "x"})
    assert bad.status_code == 403 and bad.json["error"]["code"] == "token_forged"
    assert count(kiosk, "tickets") == 1


def test_ticket_after_check_in_is_linked_to_the_visit(client, kiosk, card):
    token = checkin(client, method="qr", payload=card).json["checkin_token"]
    visit = last_visit(kiosk)
    ticket = client.post("/api/v1/tickets", json={"service": "B", "checkin_token": token}).json
    assert "visit_id" not in ticket and "resident_id" not in ticket
    row = kiosk.db.query_one("SELECT visit_id, resident_id FROM tickets WHERE id = ?", (ticket["id"],))
    assert (row["visit_id"], row["resident_id"]) == (visit["id"], "r-zhang")
    assert kiosk.db.scalar("SELECT ticket_id FROM visits WHERE id = ?", (visit["id"],)) == ticket["id"]


def test_visit_log_roles(client, kiosk, tokens, card):
    checkin(client, method="qr", payload=card)
    assert client.get("/api/v1/visits").status_code == 401
    assert client.get("/api/v1/visits", headers=bearer(tokens["receptionist"])).status_code == 403
    assert client.get("/api/v1/visits", headers=bearer(tokens["specialist"])).status_code == 403
    for role in ("security", "manager"):
        resp = client.get("/api/v1/visits", headers=bearer(tokens[role]))
        assert resp.status_code == 200 and resp.json["total"] == 1
    assert client.get("/api/v1/audit", headers=bearer(tokens["security"])).status_code == 403


def test_search_filters(client, kiosk, tokens, clock, residents):
    visits = kiosk.visits
    visits.checkin_visitor({"name": "周杰", "phone": "13911112222", "unit": "7-1-101"})
    visits.checkin_id(ZHANG_ID)
    clock.advance(days=1)
    visits.checkin_visitor({"name": "吴用", "phone": "13933334444", "unit": "7-1-101", "purpose": "维修"})
    h = bearer(tokens["security"])

    def total(qs):
        resp = client.get(f"/api/v1/visits?{qs}", headers=h)
        assert resp.status_code == 200, resp.json
        return resp.json["total"]

    assert total("") == 3
    assert total("from=2026-11-27&to=2026-11-27") == 2
    assert total("from=2026-11-28") == 1
    assert total("q=张") == 1 and total("q=7-1-101") == 2 and total("q=1391111") == 1
    assert total("unit=7-1-101&method=manual") == 2 and total("method=id") == 1
    assert client.get("/api/v1/visits?from=yesterday", headers=h).status_code == 400
    assert client.get("/api/v1/visits?method=x", headers=h).status_code == 400
    assert client.get("/api/v1/visits?limit=100000", headers=h).status_code == 400


def test_each_view_and_export_is_audited(client, kiosk, tokens, staff, card):
    visit = kiosk.visits.checkin_qr(card, snapshot=Snapshot(jpeg(), kiosk.clock.now()))
    h = bearer(tokens["security"])
    client.get("/api/v1/visits?q=张", headers=h)
    client.get(f"/api/v1/visits/{visit['id']}", headers=h)
    snap = client.get(f"/api/v1/visits/{visit['id']}/snapshot", headers=h)
    assert snap.status_code == 200 and snap.mimetype == "image/jpeg"
    assert hashlib.sha256(snap.data).hexdigest() == visit["snapshot_sha256"]
    login(client, staff["security"])
    assert client.get("/security/").status_code == 200
    assert client.get(f"/security/visits/{visit['id']}").status_code == 200
    export = client.get("/security/visits.csv?from=2026-11-27&to=2026-11-27")
    assert export.status_code == 200
    rows = list(csv.DictReader(io.StringIO(export.data.decode("utf-8-sig"))))
    assert [r["姓名"] for r in rows] == ["张女士"]  # the header in the page's language
    assert [r["签到方式"] for r in rows] == ["二维码卡"]
    actions = [r["action"] for r in kiosk.db.query("SELECT action FROM audit_log ORDER BY id")]
    assert actions == ["visits.list", "visits.view", "visits.snapshot", "visits.list", "visits.view",
                       "visits.export"]
    actors = {r["actor"] for r in kiosk.db.query("SELECT actor FROM audit_log")}
    assert actors == {"token:test-security", staff["security"]}
    entries = client.get("/api/v1/audit", headers=bearer(tokens["manager"])).json["entries"]
    assert entries[0]["action"] == "visits.export"


def test_script_in_a_name_renders_as_text_on_the_security_page(client, kiosk, staff):
    kiosk.visits.checkin_visitor({"name": "<script>alert(1)</script>", "phone": "1390000", "unit": "1-1"})
    login(client, staff["security"])
    page = client.get("/security/").data.decode()
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_security_pages_need_the_security_role(client, staff):
    assert client.get("/security/").status_code == 302  # to the login page
    login(client, staff["receptionist"])
    assert client.get("/security/").status_code == 403
    assert client.get("/security/visits.csv").status_code == 403
    assert client.get("/security/audit").status_code == 403


def test_csv_export_neutralises_formulas(client, kiosk, staff):
    kiosk.visits.checkin_visitor({"name": "=HYPERLINK(\"x\")", "phone": "1390000", "unit": "1-1"})
    login(client, staff["security"])
    text = client.get("/security/visits.csv").data.decode("utf-8-sig")
    assert "'=HYPERLINK" in text


def test_purge_removes_old_files_and_rows_and_nothing_newer(kiosk, clock, card):
    v = kiosk.visits
    old = v.checkin_qr(card, snapshot=Snapshot(jpeg("old"), clock.now()))            # day 0
    clock.advance(days=200)
    mid = v.checkin_visitor({"name": "中", "phone": "1390000", "unit": "1"},
                            snapshot=Snapshot(jpeg("mid"), clock.now()))             # day 200
    clock.advance(days=160)
    new = v.checkin_visitor({"name": "新", "phone": "1390000", "unit": "1"},
                            snapshot=Snapshot(jpeg("new"), clock.now()))             # day 360
    files = {x["id"]: v.snapshot_file(kiosk.db.query_one("SELECT * FROM visits WHERE id = ?", (x["id"],)))
             for x in (old, mid, new)}
    assert all(p and p.is_file() for p in files.values())
    clock.advance(days=10)  # day 370: old is past 365 days, mid's photo (170 days) past 90
    assert v.purge() == {"visits": 1, "snapshots": 1, "files": 2}
    assert kiosk.db.query("SELECT id FROM visits ORDER BY id") == [{"id": mid["id"]}, {"id": new["id"]}]
    assert not files[old["id"]].exists() and not files[mid["id"]].exists() and files[new["id"]].is_file()
    assert kiosk.db.scalar("SELECT snapshot_path FROM visits WHERE id = ?", (mid["id"],)) is None
    assert v.purge() == {"visits": 0, "snapshots": 0, "files": 0}


def test_cli_import_qr_issue_and_purge(tmp_path, config):
    from kiosk import config as cfgmod
    from kiosk.cli import main

    path = tmp_path / "kiosk.toml"
    path.write_text(cfgmod.to_toml(config))
    csv_file = tmp_path / "r.csv"
    csv_file.write_text("id,name,unit,phone,id_number\nr1,张女士,3-2-501,13800138000,11010519491231002X\n",
                        encoding="utf-8")
    runner = CliRunner()
    env = {"KIOSK_CONFIG": str(path)}
    result = runner.invoke(main, ["residents", "import", str(csv_file)], env=env)
    assert result.exit_code == 0, result.output
    result = runner.invoke(main, ["qr", "issue", "--resident", "r1", "--days", "7"], env=env)
    assert result.exit_code == 0, result.output
    payload = result.stdout.strip()
    assert payload.startswith("KR1:demo-site:r1:") and "\n" not in payload and len(payload) < 150
    assert runner.invoke(main, ["qr", "issue", "--resident", "nobody"], env=env).exit_code != 0
    bad = tmp_path / "bad.csv"
    bad.write_text("id,name,unit,phone,id_number\nr2,x,1,1,110105194912310021\n", encoding="utf-8")
    result = runner.invoke(main, ["residents", "import", str(bad)], env=env)
    assert result.exit_code != 0 and "line 2" in result.output
    result = runner.invoke(main, ["purge"], env=env)
    assert result.exit_code == 0 and "purged 0 visits" in result.output


def test_resident_card_print_job(client, kiosk, tokens, residents):
    from kiosk.devices.escpos_decode import decode

    resp = client.post("/api/v1/residents/r-zhang/card", headers=bearer(tokens["manager"]))
    assert resp.status_code == 201
    job = kiosk.db.query_one("SELECT payload FROM print_jobs WHERE kind = 'resident_card'")
    [payload] = decode(render(payload_from_dict(json.loads(job["payload"])), kiosk.config.printer)).qr_payloads
    assert kiosk.visits.resident_from_token(payload)["id"] == "r-zhang"
    assert client.post("/api/v1/residents/nobody/card", headers=bearer(tokens["manager"])).status_code == 404
    assert client.post("/api/v1/residents/r-zhang/card", headers=bearer(tokens["security"])).status_code == 403


def test_site_key_is_private_and_stable(kiosk):
    from kiosk.services.site_key import load_site_key

    path = kiosk.config.data_dir / "site_key"
    assert path.stat().st_mode & 0o777 == 0o600
    assert load_site_key(kiosk.config.data_dir) == kiosk.visits.key


def test_scan_endpoint_checks_in_and_reports_refusals(client, kiosk, card, recorded_events):
    ok = client.post("/api/v1/scans", json={"payload": card}).json
    assert ok["ok"] and ok["action"] == "checked_in" and ok["greeting"] == {"name": "张**"}
    assert "visit" not in ok and ok["checkin_token"]
    bad = client.post("/api/v1/scans", json={"payload": "garbage"}).json
    assert not bad["ok"] and bad["error"]["code"] == "unknown_code"
    events = recorded_events.data("qr.scanned")
    assert [e["action"] for e in events] == ["checked_in", "refused"]
    assert all(card not in json.dumps(e) for e in events)  # the card itself is never broadcast


def test_admin_residents_page_prints_a_card(client, kiosk, staff, residents):
    assert client.get("/admin/residents/").status_code == 302
    login(client, staff["security"])
    assert client.get("/admin/residents/").status_code == 403
    client.post("/logout", data={})
    client2 = client.application.test_client()
    login(client2, staff["manager"])
    page = client2.get("/admin/residents/?q=张").get_data(as_text=True)
    assert "张女士" in page and "李先生" not in page
    import re
    token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
    resp = client2.post("/admin/residents/r-zhang/card", data={"csrf_token": token})
    assert resp.status_code == 302 and "printed=r-zhang" in resp.headers["Location"]
    assert count(kiosk, "print_jobs", "kind = 'resident_card'") == 1
    assert count(kiosk, "resident_cards", "resident_id = 'r-zhang'") == 1


@pytest.mark.parametrize(("snapshots_days", "visits_days"), [(0, 0), (30, 0), (0, 365)])
def test_cli_purge_with_retention_zero_keeps_that_kind_forever_on_a_utc8_site(tmp_path, config, clock, card, kiosk,
                                                                            snapshots_days, visits_days):
    """Retention 0 = keep forever: `kiosk purge` on an Asia/Shanghai site neither crashes
    (datetime.min east of UTC has no UTC equivalent) nor deletes anything of that kind."""
    from datetime import datetime

    from kiosk import config as cfgmod
    from kiosk.cli import main
    from tests.conftest import TZ

    assert config.site.timezone == "Asia/Shanghai"
    v = kiosk.visits
    clock.set(datetime(2020, 1, 6, 9, 0, tzinfo=TZ))  # long past every non-zero retention
    old = [v.checkin_qr(card, snapshot=Snapshot(jpeg("a"), clock.now())),
           v.checkin_visitor({"name": "旧", "phone": "1390000", "unit": "1"},
                             snapshot=Snapshot(jpeg("b"), clock.now()))]
    files = [v.snapshot_file(kiosk.db.query_one("SELECT * FROM visits WHERE id = ?", (x["id"],))) for x in old]
    assert all(p and p.is_file() for p in files)
    config.retention.snapshots_days, config.retention.visits_days = snapshots_days, visits_days
    path = tmp_path / "kiosk.toml"
    path.write_text(cfgmod.to_toml(config))
    result = CliRunner().invoke(main, ["purge"], env={"KIOSK_CONFIG": str(path)})
    assert result.exit_code == 0, (result.output, result.exception)
    ids = [r["id"] for r in kiosk.db.query("SELECT id FROM visits ORDER BY id")]
    kept_snaps = kiosk.db.scalar("SELECT COUNT(*) FROM visits WHERE snapshot_path IS NOT NULL")
    if visits_days == 0:
        assert ids == [x["id"] for x in old]  # no visit ever goes
    else:
        assert ids == [] and "purged 2 visits" in result.output  # the other kind still purges
    if snapshots_days == 0 and visits_days == 0:
        assert kept_snaps == 2 and all(p.is_file() for p in files) and "purged 0 visits, 0 snapshots" in result.output
    if snapshots_days == 30:
        assert kept_snaps == 0 and not any(p.exists() for p in files)  # snapshots still purge
