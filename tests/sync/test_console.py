"""The central console against both store back-ends: nothing but the signed site endpoints
answers without a login (a walk over the URL map), server-side sessions (logout, idle,
absolute, a new password and `user disable` end them), CSRF, roles, the figures of a seeded
three-site history equal hand-computed ones (page, JSON, CSV, XLSX with neutralised
cells), and the directory kept in the console reaches a site's pull, audited."""

from __future__ import annotations

import csv
import io
import json
import re
import time
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

from sync import protocol
from sync.central import console
from sync.central.app import create_app
from sync.central.cli import main as central_cli
from sync.central.directory import Entry

from .conftest import BACKENDS, agent_for, site_config

pytestmark = pytest.mark.parametrize("backend", BACKENDS)

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC) + timedelta(hours=-8)  # 12:00 in Shanghai
SECRETS = {"site-a": "sa", "site-b": "sb", "site-c": "sc"}
OUTSIDE = {"REMOTE_ADDR": "192.0.2.10"}


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def app(central_db, clock):
    app = create_app(central_db, secrets=SECRETS, now=clock)
    yield app
    app.extensions["kiosk_central"].close()


def add_user(app, name="alice", role="office_manager", password="password-1"):
    result = CliRunner().invoke(central_cli, ["user", "add", name, "--role", role, "--password", password,
                                              "--db", app.extensions["kiosk_central"].target])
    assert result.exit_code == 0, result.output


def login(app, name="alice", password="password-1"):
    client = app.test_client()
    page = client.get("/login", environ_base=OUTSIDE)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    r = client.post("/login", data={"csrf_token": token, "username": name, "password": password},
                    environ_base=OUTSIDE)
    return client, r


def csrf_of(client) -> str:
    page = client.get("/audit", environ_base=OUTSIDE)
    return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)


def fill(rule) -> str:
    return rule.build({a: ("site-a" if "site" in a else "r1") for a in rule.arguments}, append_unknown=False)[1]


def test_every_route_but_the_signed_site_endpoints_refuses_an_anonymous_caller(app, clock):
    seed(app, clock)
    app.extensions["kiosk_central"].save_resident(Entry("r1", "MARKER-住户", "1-101", "13800138000", None), "cli")
    add_user(app)
    _, ok = login(app)
    assert ok.status_code == 302
    open_endpoints = {"receive_batch", "residents", "console.login", "console.login_post", "static"}
    walked = 0
    for rule in app.url_map.iter_rules():
        if rule.endpoint in open_endpoints:
            continue
        path = fill(rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            r = app.test_client().open(path, method=method, environ_base=OUTSIDE)
            assert r.status_code in (302, 401), (method, path, r.status_code)
            if r.status_code == 302:
                assert r.headers["Location"].startswith("/login")
            body = r.get_data(as_text=True)
            assert "MARKER" not in body and "停车" not in body and "kiosk-sync/1" not in body
            walked += 1
    assert walked >= 15
    # the open ones: the signed endpoints answer 401 without a signature, healthz only to the box itself
    anon = app.test_client()
    assert anon.post("/api/v1/sites/site-a/batches", data=b"{}", environ_base=OUTSIDE).status_code == 401
    assert anon.get("/api/v1/sites/site-a/residents", environ_base=OUTSIDE).status_code == 401
    assert anon.get("/healthz").status_code == 200 and anon.get("/healthz", environ_base=OUTSIDE).status_code == 401
    # a forged cookie is nobody
    anon.set_cookie(console.COOKIE, "forged")
    assert anon.get("/api/v1/sites", environ_base=OUTSIDE).status_code == 401


def test_login_sessions_end_on_logout_idle_absolute_new_password_and_disable(app, clock):
    add_user(app)
    store = app.extensions["kiosk_central"]
    _, bad = login(app, password="wrong-password")
    assert bad.status_code == 401 and "用户名或密码错误" in bad.get_data(as_text=True)
    _, unknown = login(app, name="mallory")
    assert unknown.status_code == 401
    client, r = login(app)
    assert r.status_code == 302 and client.get("/api/v1/sites", environ_base=OUTSIDE).status_code == 200
    cookie = client.get_cookie(console.COOKIE).value
    assert store.session(console._sid_hash(cookie)) is not None  # the server holds it; the cookie is a token

    # logout: the copied cookie opens nothing afterwards
    thief = app.test_client()
    thief.set_cookie(console.COOKIE, cookie)
    assert thief.get("/api/v1/sites", environ_base=OUTSIDE).status_code == 200
    client.post("/logout", data={"csrf_token": csrf_of(client)}, environ_base=OUTSIDE)
    assert thief.get("/api/v1/sites", environ_base=OUTSIDE).status_code == 401

    # idle for longer than IDLE_S, then older than ABSOLUTE_S
    client, _ = login(app)
    sid = console._sid_hash(client.get_cookie(console.COOKIE).value)
    store.touch_session(sid, time.time() - console.IDLE_S - 5)
    assert client.get("/api/v1/sites", environ_base=OUTSIDE).status_code == 401
    client, _ = login(app)
    sid = console._sid_hash(client.get_cookie(console.COOKIE).value)
    with store._tx() as tx:
        tx.run("UPDATE sessions SET created_at = ? WHERE id_hash = ?", (time.time() - console.ABSOLUTE_S - 5, sid))
    assert client.get("/api/v1/sites", environ_base=OUTSIDE).status_code == 401

    # a new password, then disabling the user
    client, _ = login(app)
    add_user(app, password="password-2")
    assert client.get("/api/v1/sites", environ_base=OUTSIDE).status_code == 401
    client, _ = login(app, password="password-2")
    result = CliRunner().invoke(central_cli, ["user", "disable", "alice", "--db", store.target])
    assert result.exit_code == 0
    assert client.get("/api/v1/sites", environ_base=OUTSIDE).status_code == 401
    assert login(app, password="password-2")[1].status_code == 401
    actions = [a["action"] for a in store.audit_log()]
    assert "login.failed" in actions and "login" in actions and "logout" in actions and "user.disabled" in actions


def attempt(app, name, password, address="192.0.2.10", lang=""):
    client = app.test_client()
    env = {"REMOTE_ADDR": address}
    page = client.get("/login" + (f"?lang={lang}" if lang else ""), environ_base=env)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    return client.post("/login", data={"csrf_token": token, "username": name, "password": password},
                       environ_base=env)


def test_wrong_passwords_lock_the_name_then_the_address_with_a_doubling_lockout(app, clock):
    add_user(app)
    add_user(app, "bob", password="password-2")
    for _ in range(5):
        assert attempt(app, "alice", "wrong").status_code == 401
    r = attempt(app, "alice", "password-1")  # the right password while locked out
    assert r.status_code == 429 and r.headers["Retry-After"] == "30" and console.COOKIE not in r.headers.get(
        "Set-Cookie", "")
    assert "密码错误次数过多，请 30 秒后再试。" in r.text
    assert "Try again in 30 seconds." in attempt(app, "alice", "x", lang="en").text
    assert attempt(app, "bob", "password-2").status_code == 302  # another name from the same address
    clock.now += timedelta(seconds=31)
    assert attempt(app, "alice", "wrong").status_code == 401  # the 6th in a row: locked twice as long
    r = attempt(app, "alice", "password-1")
    assert r.status_code == 429 and r.headers["Retry-After"] == "60"
    clock.now += timedelta(seconds=61)
    assert attempt(app, "alice", "password-1").status_code == 302  # and the count starts again
    for _ in range(4):
        assert attempt(app, "alice", "wrong").status_code == 401
    assert attempt(app, "alice", "password-1").status_code == 302

    # an unknown name locks like a real one; 20 wrong from one address lock the address for every name
    for _ in range(5):
        assert attempt(app, "ghost", "wrong", address="198.51.100.7").status_code == 401
    assert attempt(app, "ghost", "wrong", address="198.51.100.8").status_code == 429
    for n in range(15):
        assert attempt(app, f"nobody{n}", "wrong", address="198.51.100.7").status_code == 401
    assert attempt(app, "bob", "password-2", address="198.51.100.7").status_code == 429
    assert attempt(app, "bob", "password-2", address="198.51.100.9").status_code == 302
    assert "login.locked" in [a["action"] for a in app.extensions["kiosk_central"].audit_log(50)]


def test_user_add_prompts_for_the_password_when_omitted(app):
    db = app.extensions["kiosk_central"].target
    result = CliRunner().invoke(central_cli, ["user", "add", "bob", "--role", "auditor", "--db", db],
                                input="secret-pass-1\nsecret-pass-1\n")
    assert result.exit_code == 0, result.output
    assert "secret-pass-1" not in result.output
    assert login(app, "bob", "secret-pass-1")[1].status_code == 302
    short = CliRunner().invoke(central_cli, ["user", "add", "x", "--role", "auditor", "--password", "short",
                                             "--db", db])
    assert short.exit_code != 0


def test_csrf_and_roles(app):
    add_user(app)
    add_user(app, "audrey", "auditor")
    manager, _ = login(app)
    no_token = manager.post("/directory/save", data={"mode": "new", "id": "r1", "name": "张三"},
                            environ_base=OUTSIDE)
    assert no_token.status_code == 400 and no_token.get_json()["error"]["code"] == "csrf_failed"
    ok = manager.post("/directory/save", data={"mode": "new", "id": "r1", "name": "张三",
                                               "csrf_token": csrf_of(manager)}, environ_base=OUTSIDE)
    assert ok.status_code == 302
    auditor, _ = login(app, "audrey")
    assert auditor.get("/", environ_base=OUTSIDE).status_code == 200
    assert auditor.get("/export.csv", environ_base=OUTSIDE).status_code == 200
    refused = auditor.post("/directory/r1/deactivate", data={"csrf_token": csrf_of(auditor)}, environ_base=OUTSIDE)
    assert refused.status_code == 403
    assert app.extensions["kiosk_central"].resident("r1")["active"] == 1
    page = auditor.get("/directory/r1", environ_base=OUTSIDE).get_data(as_text=True)
    assert "disabled" in page and "停用</button>" not in page


# -- the seeded three-site history -----------------------------------------------------------------
def t(hhmm: str, day: int = 27) -> str:
    return f"2026-11-{day:02d}T{hhmm}:00+08:00"


def ticket(i, day, issued, called=None, status="done", version=2):
    return ("ticket", i, version, {"id": i, "day": f"2026-11-{day:02d}", "status": status,
                                   "issued_at": t(issued, day), "called_at": t(called, day) if called else None})


def case(i, kind, created, due, status="open", category="", first_answer=None, feedback=None):
    return ("case", i, 3, {"id": i, "type": kind, "status": status, "category": category,
                           "created_at": created, "clock_start": created, "due_at": due,
                           "first_answer_at": first_answer, "feedback_at": feedback})


def rating(i, day, score):
    return ("survey", i, 1, {"id": i, "form": "rating", "score": score, "ticket_id": 1,
                             "created_at": t("15:00", day)})


HYPERLINK = '=HYPERLINK("http://evil.example/?x","click")'
HISTORY = {
    "site-a": [("ticket", 1, 1, {"id": 1, "day": "2026-11-26", "status": "waiting", "issued_at": t("09:00", 26)}),
               ticket(1, 26, "09:00", "09:10"), ticket(2, 26, "09:00", "09:02", "no_show"),
               ticket(3, 27, "10:00", "10:30"),
               case(1, "inquiry", t("09:00", 26), t("09:05", 26), "closed", first_answer=t("09:03", 26)),
               case(2, "inquiry", t("10:00"), t("10:05"), "in_progress", first_answer=t("10:09")),
               case(3, "complaint", t("10:00", 26), t("10:00"), category="停车"),
               rating(1, 26, 5), rating(2, 26, 4)],
    "site-b": [ticket(1, 26, "09:00", "09:04"), ticket(2, 26, "09:00", None, "waiting", 1),
               ticket(3, 27, "08:00", "08:06"),
               case(1, "complaint", t("09:00"), t("09:00", 28), category=HYPERLINK),
               case(2, "inquiry", t("11:58"), t("12:03")),
               rating(1, 27, 2),
               ("survey", 2, 1, {"id": 2, "form": "questionnaire", "answers": [1, 1], "created_at": t("15:00")})],
    "site-c": [ticket(1, 27, "11:00", "11:20"), ticket(2, 27, "11:00", "11:02", "no_show"),
               ticket(9, 20, "09:00", "10:40"),
               case(1, "complaint", t("08:00", 26), t("08:00"), "closed", category="噪音", feedback=t("20:00", 26)),
               case(7, "repair", "2026-11-10T09:00:00+08:00", "2026-11-11T09:00:00+08:00"),
               rating(1, 27, 5), rating(2, 27, 3), rating(3, 27, 1)],
}


def seed(app, clock):
    client = app.test_client()
    for site, items in HISTORY.items():
        # site-c was last heard from two hours ago: offline
        clock.now = NOW - (timedelta(hours=2) if site == "site-c" else timedelta(minutes=1))
        records = [{"key": f"{site}:{kind}:{i}:{v}", "kind": kind, "op": "upsert",
                    "occurred_at": data.get("created_at") or data.get("issued_at"), "data": data}
                   for kind, i, v, data in items]
        body = json.dumps({"batch_id": f"b-{site}", "records": records}).encode()
        headers = protocol.signed_headers(site, SECRETS[site], int(time.time()), body,
                                          {protocol.H_BACKLOG: "3", protocol.H_AGENT: "kiosk-sync/1"})
        r = client.post(f"/api/v1/sites/{site}/batches", data=body, headers=headers)
        assert r.status_code == 200 and r.get_json()["rejected"] == [], r.get_data(as_text=True)
    clock.now = NOW


def test_figures_of_a_seeded_three_site_history_equal_hand_computed_ones(app, clock):
    seed(app, clock)
    add_user(app)
    client, _ = login(app)
    d = client.get("/api/v1/dashboard?from=2026-11-26&to=2026-11-27", environ_base=OUTSIDE).get_json()
    k = d["kpis"]
    # waits (min): 26th [10, 2, 4], 27th [30, 6, 20, 2]; site-c's ticket of the 20th is outside the period
    assert k["tickets"] == 8 and k["avg_wait_min"] == 10.6 and k["p90_wait_min"] == 30 and k["no_show_pct"] == 25.0
    assert d["tables"]["daily"]["rows"] == [["2026-11-26", 4, 5.3, 10, 25.0], ["2026-11-27", 4, 14.5, 30, 25.0]]
    # open: a2 a3, b1 b2, c7 (recorded on the 10th); breaches: a2 answered after 5 minutes, a3 no
    # feedback after 24 hours; b2 is not due yet, c1's feedback was in time
    assert (k["open_cases"], k["inquiry_breaches"], k["complaint_breaches"]) == (5, 1, 1)
    assert d["tables"]["cases"]["rows"] == [["site-a", 2, 2, 1, 1, 1], ["site-b", 2, 1, 0, 1, 0],
                                            ["site-c", 1, 0, 0, 1, 0]]
    cats = d["tables"]["categories"]
    assert cats["rows"] == [["2026-11-26", *[1 if c in ("停车", "噪音") else 0 for c in cats["columns"][1:-1]], 2],
                            ["2026-11-27", *[1 if c == HYPERLINK else 0 for c in cats["columns"][1:-1]], 1]]
    assert sorted(cats["columns"][1:-1]) == sorted([HYPERLINK, "停车", "噪音"])
    assert d["tables"]["satisfaction"]["rows"] == [["site-a", 4.5, 2, 100.0], ["site-b", 2.0, 1, 0.0],
                                                   ["site-c", 3.0, 3, 33.3]]
    assert k["satisfaction"] == 3.33 and k["sites_online"] == 2
    sites = {r[0]: r for r in d["tables"]["sites"]["rows"]}
    assert sites["site-a"][2:6] == ["在线", "60 s", 0, "kiosk-sync/1"]
    assert sites["site-c"][2:4] == ["离线", "2 h"]

    # drill-down to one site
    one = client.get("/api/v1/dashboard?from=2026-11-26&to=2026-11-27&site=site-a", environ_base=OUTSIDE).get_json()
    assert one["kpis"]["tickets"] == 3 and one["kpis"]["avg_wait_min"] == 14.0 and one["kpis"]["open_cases"] == 2
    page = client.get("/sites/site-a?from=2026-11-26&to=2026-11-27", environ_base=OUTSIDE).get_data(as_text=True)
    assert "<svg" in page and "site-a" in page and "site-b" not in page
    assert client.get("/sites/nowhere", environ_base=OUTSIDE).status_code == 404
    overview = client.get("/?from=2026-11-26&to=2026-11-27&lang=en", environ_base=OUTSIDE).get_data(as_text=True)
    assert "Tickets and waits per day" in overview and "<svg" in overview and 'href="/sites/site-c' in overview

    # exports: the same numbers, the formula-like category neutralised
    text = client.get("/export.csv?from=2026-11-26&to=2026-11-27", environ_base=OUTSIDE).get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert ["2026-11-27", "4", "14.5", "30.0", "25.0"] in rows
    assert any(cell == "'" + HYPERLINK for r in rows for cell in r) and HYPERLINK not in [c for r in rows for c in r]
    xlsx = client.get("/export.xlsx?from=2026-11-26&to=2026-11-27", environ_base=OUTSIDE).get_data()
    wb = load_workbook(io.BytesIO(xlsx))
    cells = [c for row in wb["categories"].iter_rows() for c in row if c.value == HYPERLINK]
    assert cells and all(c.data_type == "s" for c in cells)
    assert [a["action"] for a in app.extensions["kiosk_central"].audit_log(2)] == ["export.xlsx", "export.csv"]


@pytest.mark.parametrize("value", ['site-a"; x="', "站点-a", "caf\u00e9\u20ac", "site-a\r\nX-Injected: 1", "nowhere"])
def test_a_site_parameter_that_is_no_known_site_id_is_refused_not_a_server_error(app, clock, value):
    seed(app, clock)
    add_user(app)
    client, _ = login(app)
    for path in ("/export.csv", "/export.xlsx", "/api/v1/dashboard"):
        r = client.get(path, query_string={"from": "2026-11-26", "to": "2026-11-27", "site": value},
                       environ_base=OUTSIDE)
        assert r.status_code == 404, (path, r.status_code)
    good = client.get("/export.csv", query_string={"from": "2026-11-26", "to": "2026-11-27", "site": "site-a"},
                      environ_base=OUTSIDE)
    assert good.status_code == 200
    assert good.headers["Content-Disposition"] == 'attachment; filename="central-site-a-2026-11-26-2026-11-27.csv"'


def test_the_directory_kept_in_the_console_reaches_the_sites_pull_and_is_audited(app, tmp_path, central_factory):
    store = app.extensions["kiosk_central"]
    add_user(app)
    client, _ = login(app)
    token = csrf_of(client)
    r = client.post("/directory/save", data={"mode": "new", "id": "r1", "name": "张三", "unit": "1-101",
                                             "phone": "13800138000", "id_number": "11010519491231002X",
                                             "csrf_token": token}, environ_base=OUTSIDE)
    assert r.status_code == 302
    bad = client.post("/directory/save", data={"mode": "new", "id": "r2", "name": "李四", "id_number": "123",
                                               "csrf_token": token}, environ_base=OUTSIDE)
    assert bad.status_code == 400 and store.resident("r2") is None
    upload = ("id,name,unit,phone\nr2,李四,1-102,010-12345678\nr3,王五,2-201,13900139000\n").encode()
    r = client.post("/directory/import", data={"csrf_token": token, "file": (io.BytesIO(upload), "r.csv")},
                    content_type="multipart/form-data", environ_base=OUTSIDE)
    assert r.status_code == 302
    client.post("/directory/save", data={"mode": "edit", "id": "r1", "name": "张三", "unit": "9-909",
                                         "phone": "13800138000", "csrf_token": token}, environ_base=OUTSIDE)
    client.post("/directory/r3/deactivate", data={"csrf_token": token}, environ_base=OUTSIDE)
    listing = client.get("/directory?q=9-909", environ_base=OUTSIDE).get_data(as_text=True)
    assert "张三" in listing and "李四" not in listing

    # a site pulls it with its cursor through the real agent
    central = central_factory(db_path=store.target, secrets={"site-7": "s3cret-for-tests"})
    cfg = site_config(tmp_path, central.url)
    agent = agent_for(cfg)
    assert agent.pull() == 3
    rows = {r["id"]: r for r in agent.db.query("SELECT id, unit, active, id_hash FROM residents")}
    agent.close()
    assert rows["r1"]["unit"] == "9-909" and len(rows["r1"]["id_hash"]) == 64 and rows["r3"]["active"] == 0
    history = [(a["actor"], a["action"], a["target"]) for a in store.audit_log(action_prefix="resident.")]
    assert history == [("alice", "resident.deactivated", "resident:r3"), ("alice", "resident.updated", "resident:r1"),
                       ("alice", "resident.added", "resident:r3"), ("alice", "resident.added", "resident:r2"),
                       ("alice", "resident.added", "resident:r1")]
    page = client.get("/directory/r1", environ_base=OUTSIDE).get_data(as_text=True)
    assert "resident.updated" in page and "changed: unit" in page
    # a resident's history is read by target: a big import afterwards does not push it out of view
    store.import_residents([Entry(f"x{i}", f"住户{i}", "", "", None) for i in range(600)], actor="alice")
    assert [a["action"] for a in store.audit_log(500, "resident.", target="resident:r1")] == \
        ["resident.updated", "resident.added"]
    page = client.get("/directory/r1", environ_base=OUTSIDE).get_data(as_text=True)
    assert "resident.updated" in page and "changed: unit" in page and "resident.added" in page
