"""Enrolled devices through the real HTTP path: the CLI's and the admin page's pairing
links, the pairing page and its cookie, revocation, `server.kiosk_addresses`, and 401
`device_required` on every anonymous write for callers that are neither a device nor staff."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner

from kiosk.cli import main
from kiosk.config import to_toml
from kiosk.services.devices import DeviceService
from kiosk.services.links import lan_address
from kiosk.web import create_app
from tests.conftest import PASSWORD, bearer

LAN = {"REMOTE_ADDR": "192.168.1.77"}

#: Every anonymous write of the app, a body it accepts, and the device kinds it takes.
WRITES = [
    ("/api/v1/tickets", {"service": "A"}, ("kiosk",)),
    ("/api/v1/checkins",
     {"method": "manual", "visitor": {"name": "王五", "phone": "13800138000", "host_unit": "1-101"}},
     ("kiosk",)),
    ("/api/v1/scans", {"payload": "nothing-known"}, ("kiosk",)),
    ("/api/v1/checkouts", {"payload": "nothing-known"}, ("kiosk",)),
    ("/api/v1/cases", {"type": "repair", "description": "灯坏了"}, ("kiosk",)),
    ("/api/v1/surveys", {"score": 5}, ("kiosk", "tablet")),
    ("/api/v1/questionnaire", {"answers": [5, 4, 5]}, ("kiosk", "tablet")),
    ("/kiosk/prompt", {"prompt": "home"}, ("kiosk", "tablet")),
]


def csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"|name="csrf-token" content="([^"]+)"', html)
    assert found, "no CSRF token on the page"
    return found.group(1) or found.group(2)


def pair(client, url: str) -> None:
    """Open a pairing link as the device's browser does: the page, then its button."""
    path = url[url.index("/pair/"):]
    page = client.get(path)
    assert page.status_code == 200, page.get_data(as_text=True)
    done = client.post(path, data={"csrf_token": csrf(page.get_data(as_text=True))})
    assert done.status_code == 200 and "pair-done" in done.get_data(as_text=True)


@pytest.fixture
def lan_app(kiosk):
    """The app with `server.kiosk_addresses = []`: nobody counts as the local kiosk."""
    kiosk.config.server.kiosk_addresses = []
    return create_app(kiosk.services, TESTING=True)


def lan_client(app):
    client = app.test_client()
    client.environ_base.update(LAN)
    return client


def accepted(response) -> bool:
    """The write got past the device check: anything but 401 device_required."""
    return not (response.status_code == 401 and response.get_json()["error"]["code"] == "device_required")


@pytest.mark.parametrize("path,body,kinds", WRITES)
def test_every_anonymous_write_needs_an_enrolled_device_or_staff(lan_app, kiosk, path, body, kinds, tokens):
    client = lan_client(lan_app)
    refused = client.post(path, json=body)
    assert refused.status_code == 401
    error = refused.get_json()["error"]
    assert error["code"] == "device_required" and error["message"] == "本屏幕尚未登记，请咨询前台。"
    for kind in ("kiosk", "display", "tablet"):
        device = lan_client(lan_app)
        pair(device, kiosk.devices.add(f"{kind}-{path.rsplit('/', 1)[1]}", kind).token.join(("/pair/", "")))
        answer = device.post(path, json=body)
        assert accepted(answer) == (kind in kinds), (kind, answer.status_code, answer.get_data(as_text=True))
    integrator = client.post(path, json=body, headers=bearer(tokens["specialist"]))
    assert accepted(integrator), integrator.get_data(as_text=True)
    forged = client.post(path, json=body, headers=bearer("kst_not-a-token"))
    assert forged.status_code == 401 and forged.get_json()["error"]["code"] == "unauthorized"


def test_the_refusal_is_translated(lan_app, kiosk):
    client = lan_client(lan_app)
    client.get("/kiosk?lang=zh_CN")
    zh = client.post("/api/v1/tickets", json={"service": "A"}).get_json()["error"]["message"]
    client.get("/kiosk?lang=en")
    en = client.post("/api/v1/tickets", json={"service": "A"}).get_json()["error"]["message"]
    assert "enrolled" in en and zh != en and re.search(r"[\u4e00-\u9fff]", zh)
    assert kiosk.db.scalar("SELECT COUNT(*) FROM tickets") == 0


def test_a_staff_login_may_write_with_its_csrf_token(lan_app, staff):
    client = lan_client(lan_app)
    client.post("/login", data={"username": staff["receptionist"], "password": PASSWORD,
                                "csrf_token": csrf(client.get("/login").get_data(as_text=True))})
    token = csrf(client.get("/desk").get_data(as_text=True))
    assert client.post("/api/v1/tickets", json={"service": "A"}).get_json()["error"]["code"] == "csrf"
    assert client.post("/api/v1/tickets", json={"service": "A"}, headers={"X-CSRFToken": token}).status_code == 201


def test_kiosk_addresses_count_as_the_local_kiosk(kiosk, client):
    assert kiosk.config.server.kiosk_addresses == ["127.0.0.1", "::1"]
    assert client.post("/api/v1/tickets", json={"service": "A"}).status_code == 201
    assert client.post("/api/v1/tickets", json={"service": "A"},
                       environ_base={"REMOTE_ADDR": "::1"}).status_code == 201
    assert client.post("/api/v1/tickets", json={"service": "A"}, environ_base=LAN).status_code == 401
    devices = DeviceService(kiosk.db, kiosk.config, kiosk.clock)
    assert devices.from_address("::ffff:127.0.0.1").name == "local"
    assert devices.from_address("10.0.0.1") is None and devices.from_address("garbage") is None
    kiosk.config.server.kiosk_addresses = ["192.168.1.0/28"]
    assert DeviceService(kiosk.db, kiosk.config, kiosk.clock).from_address("192.168.1.9").kind == "kiosk"


def test_pairing_link_works_once_within_ten_minutes_and_stores_only_hashes(lan_app, kiosk, clock):
    made = kiosk.devices.add("kiosk-1", "kiosk")
    path = f"/pair/{made.token}"
    device = lan_client(lan_app)
    pair(device, path)
    cookie = device.get_cookie("kiosk_device")
    assert cookie is not None and cookie.http_only and cookie.same_site == "Lax"
    row = kiosk.db.query_one("SELECT * FROM devices WHERE name = 'kiosk-1'")
    assert made.token not in str(row) and cookie.value not in str(row) and row["credential_hash"]
    assert device.post("/api/v1/tickets", json={"service": "A"}).status_code == 201
    thief = lan_client(lan_app)  # the link is used up
    assert thief.get(path).status_code == 404
    assert thief.post(path, data={"csrf_token": csrf(thief.get("/login").get_data(as_text=True))}).status_code == 404
    late = kiosk.devices.add("kiosk-2", "kiosk")
    clock.advance(minutes=10, seconds=1)
    assert lan_client(lan_app).get(f"/pair/{late.token}").status_code == 404
    assert [(d["name"], d["state"]) for d in kiosk.devices.list()] == [("kiosk-1", "paired"), ("kiosk-2", "expired")]


def test_revoking_a_device_ends_its_credential_at_once(lan_app, kiosk):
    device = lan_client(lan_app)
    pair(device, f"/pair/{kiosk.devices.add('kiosk-1', 'kiosk').token}")
    assert device.post("/api/v1/tickets", json={"service": "A"}).status_code == 201
    kiosk.devices.revoke("kiosk-1")
    refused = device.post("/api/v1/tickets", json={"service": "A"})
    assert refused.status_code == 401 and refused.get_json()["error"]["code"] == "device_required"
    again = kiosk.devices.add("kiosk-1", "kiosk")  # the name is free again, with a new credential
    assert device.post("/api/v1/tickets", json={"service": "A"}).status_code == 401
    pair(device, f"/pair/{again.token}")
    assert device.post("/api/v1/tickets", json={"service": "A"}).status_code == 201


def test_cli_add_list_revoke(kiosk, config, tmp_path):
    path = tmp_path / "kiosk.toml"
    config.server.host = "0.0.0.0"
    path.write_text(to_toml(config))
    runner = CliRunner()
    added = runner.invoke(main, ["device", "add", "hall-1", "--kind", "display", "--config", str(path)])
    assert added.exit_code == 0, added.output
    url = added.stdout.strip()
    # the address the displays reach this box at, as the phone links use, not a loopback one
    assert re.fullmatch(re.escape(f"http://{lan_address()}:8080/pair/") + r"[A-Za-z0-9_-]{32}", url)
    config.site.public_url = "https://desk.example.cn/"
    path.write_text(to_toml(config))
    other = runner.invoke(main, ["device", "add", "hall-2", "--kind", "display", "--config", str(path)])
    assert re.fullmatch(r"https://desk\.example\.cn/pair/[A-Za-z0-9_-]{32}", other.stdout.strip())
    assert runner.invoke(main, ["device", "revoke", "hall-2", "--config", str(path)]).exit_code == 0
    assert runner.invoke(main, ["device", "add", "hall-1", "--kind", "display", "--config", str(path)]).exit_code == 1
    assert runner.invoke(main, ["device", "add", "x", "--kind", "toaster", "--config", str(path)]).exit_code == 2
    listed = runner.invoke(main, ["device", "list", "--config", str(path)])
    assert listed.stdout.splitlines()[0].split("\t")[:3] == ["hall-1", "display", "pairing"]
    assert kiosk.devices.pending(url.rsplit("/", 1)[1]).kind == "display"
    assert runner.invoke(main, ["device", "revoke", "hall-1", "--config", str(path)]).exit_code == 0
    assert runner.invoke(main, ["device", "revoke", "hall-1", "--config", str(path)]).exit_code == 1
    assert runner.invoke(main, ["device", "list", "--config", str(path)]).stdout == ""
    assert "revoked" in runner.invoke(main, ["device", "list", "--all", "--config", str(path)]).stdout


def test_admin_page_adds_shows_the_link_and_qr_and_revokes(lan_app, kiosk, staff):
    manager = lan_client(lan_app)
    manager.post("/login", data={"username": staff["manager"], "password": PASSWORD,
                                 "csrf_token": csrf(manager.get("/login").get_data(as_text=True))})
    page = manager.get("/admin/devices/").get_data(as_text=True)
    added = manager.post("/admin/devices/", data={"name": "tablet-1", "kind": "tablet", "csrf_token": csrf(page)})
    html = added.get_data(as_text=True)
    url = re.search(r'id="pairing-url">([^<]+)<', html).group(1)
    assert url.startswith("http://localhost/pair/") and "/kiosk/qr.svg?data=" in html
    tablet = lan_client(lan_app)
    pair(tablet, url)
    assert accepted(tablet.post("/api/v1/surveys", json={"score": 4}))
    assert tablet.post("/api/v1/tickets", json={"service": "A"}).status_code == 401
    listed = manager.get("/admin/devices/").get_data(as_text=True)
    assert 'data-device="tablet-1" data-state="paired"' in listed and url not in listed
    dup = manager.post("/admin/devices/", data={"name": "tablet-1", "kind": "tablet", "csrf_token": csrf(listed)})
    assert dup.status_code == 409 and 'id="devices-error"' in dup.get_data(as_text=True)
    manager.post("/admin/devices/tablet-1/revoke", data={"csrf_token": csrf(listed)})
    assert tablet.post("/api/v1/surveys", json={"score": 4}).status_code == 401
    other = lan_client(lan_app)
    other.post("/login", data={"username": staff["receptionist"], "password": PASSWORD,
                               "csrf_token": csrf(other.get("/login").get_data(as_text=True))})
    assert other.get("/admin/devices/").status_code == 403


def test_openapi_documents_device_required_and_429_for_every_guarded_write(app, client):
    from kiosk.web.access import LIMIT_ATTRIBUTE
    from kiosk.web.openapi_access import DEVICE_WRITES

    guarded = set()
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        if "<cap>" in rule.rule:
            continue  # limited, but its credential is the capability in the path, not a device
        if getattr(view, LIMIT_ATTRIBUTE, None) or getattr(getattr(view, "__wrapped__", None), LIMIT_ATTRIBUTE, None):
            guarded |= {(rule.rule, m.lower()) for m in rule.methods - {"HEAD", "OPTIONS"}}
    assert guarded == set(DEVICE_WRITES) == {(path, "post") for path, _, _ in WRITES}
    doc = client.get("/api/v1/openapi.json").get_json()
    assert doc["components"]["securitySchemes"]["device"]["name"] == "kiosk_device"
    for path, method in DEVICE_WRITES:
        responses = doc["paths"][path][method]["responses"]
        assert "device_required" in responses["401"]["description"]
        assert "rate_limited" in responses["429"]["description"] and "Retry-After" in responses["429"]["headers"]


def test_no_write_route_takes_an_anonymous_unenrolled_caller(lan_app, kiosk):
    """Walk the URL map: every POST/PUT/PATCH/DELETE answers an anonymous caller from a
    non-kiosk address with 401 (device_required or unauthorized), a redirect to the login
    page, or the CSRF refusal of a page form; never a success, and nothing is written."""
    client = lan_client(lan_app)
    before = {t: kiosk.db.scalar(f"SELECT COUNT(*) FROM {t}") for t in ("tickets", "visits", "cases", "surveys")}
    checked = 0
    for rule in lan_app.url_map.iter_rules():
        for method in sorted(rule.methods & {"POST", "PUT", "PATCH", "DELETE"}):
            path = rule.rule
            for arg in rule.arguments:
                path = path.replace(f"<int:{arg}>", "1").replace(f"<{arg}>", "1")
            checked += 1
            if "<cap>" in rule.rule:  # the capability is the credential: an unknown one opens nothing
                answer = client.open(path, method=method, json={"score": 5})
                assert answer.status_code == 404, (method, path, answer.status_code)
                continue
            answer = client.open(path, method=method, json={})
            if path.startswith("/api/") or answer.is_json:  # a device write outside /api/ answers JSON
                assert answer.status_code == 401, (method, path, answer.status_code)
                assert answer.get_json()["error"]["code"] in ("device_required", "unauthorized"), path
            else:
                assert answer.status_code in (302, 400), (method, path, answer.status_code)
                if answer.status_code == 302:
                    assert answer.headers["Location"].startswith("/login"), path
                else:
                    # the page form's CSRF refusal (the error page shows no framework text)
                    assert 'data-reason="csrf"' in answer.get_data(as_text=True), path
    assert checked >= 20
    assert before == {t: kiosk.db.scalar(f"SELECT COUNT(*) FROM {t}") for t in before}
