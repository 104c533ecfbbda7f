"""The authorisation matrix: every route of the URL map, called by every kind of caller
(anonymous, an unenrolled device, enrolled kiosk/display/tablet devices, each staff role
by login and by bearer token), is let in or turned away as tests/web/access_matrix.py
says. A route added without an entry there fails `test_every_route_has_an_expected_access`.

Devices are enrolled the operator's way when the `kiosk device` command exists
(`kiosk device add NAME --kind K` and opening its pairing URL; `kiosk device revoke`
for the unenrolled one); otherwise through kiosk/web/access.py's address list, which
knows only a kiosk, so the display and tablet rows are skipped."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from click.testing import CliRunner

from kiosk.config import to_toml
from kiosk.web import create_app
from tests.web.access_matrix import EXPECTED, allowed
from tests.web.surface import KIOSK_ADDRESS, OUTSIDER, csrf_of, login, path_values, seed, url_of

ROLES = ("receptionist", "specialist", "security", "manager")
USERS = {"receptionist": "reception1", "specialist": "specialist1", "security": "guard1", "manager": "boss"}
CALLERS = ["anonymous", "unenrolled", "device:kiosk", "device:display", "device:tablet",
           *(f"session:{r}" for r in ROLES), *(f"bearer:{r}" for r in ROLES)]
#: Where an unenrolled or enrolled device's requests come from: not a kiosk address, so
#: only its credential can make it a device.
DEVICE_ADDRESS = "192.0.2.20"


def route_key(rule, method: str) -> str:
    return f"{method} {rule.rule}"


def routes(app):
    for rule in app.url_map.iter_rules():
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            yield rule, method


def test_every_route_has_an_expected_access(app):
    keys = {route_key(rule, method) for rule, method in routes(app)}
    assert sorted(keys - set(EXPECTED)) == [], "routes without an entry in tests/web/access_matrix.py"
    assert sorted(set(EXPECTED) - keys) == [], "entries in tests/web/access_matrix.py without a route"


def _device_cli(config, tmp_path):
    """`kiosk device ...` run against this test's config; returns what it printed."""
    from kiosk.cli import main

    path = tmp_path / "kiosk.toml"
    path.write_text(to_toml(config))
    runner = CliRunner()

    def run(*args: str) -> str:
        result = runner.invoke(main, ["device", *args], env={"KIOSK_CONFIG": str(path)})
        assert result.exit_code == 0, result.output
        return result.output
    return run


def caller_client(app, kiosk, config, tmp_path, tokens, caller: str):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = OUTSIDER
    how, _, who = caller.partition(":")
    headers: dict[str, str] = {}
    if how in ("device", "unenrolled") or caller == "unenrolled":
        client.environ_base["REMOTE_ADDR"] = DEVICE_ADDRESS
        cli = _device_cli(config, tmp_path)
        kind = who or "kiosk"
        name = f"matrix-{kind}-{how}"
        url = re.search(r"https?://\S+", cli("add", name, "--kind", kind))
        assert url, "`kiosk device add` printed no pairing URL"
        parts = urlsplit(url.group(0))
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        page = client.get(path)
        assert page.status_code == 200, f"pairing page for {kind} answered {page.status_code}"
        paired = client.post(path, data={"csrf_token": csrf_of(client)})
        assert paired.status_code == 200 and "pair-done" in paired.get_data(as_text=True), f"pairing {kind} failed"
        if how == "unenrolled":
            cli("revoke", name)
    elif how == "session":
        login(client, USERS[who])
    elif how == "bearer":
        headers["Authorization"] = f"Bearer {tokens[who]}"
    headers["X-CSRFToken"] = csrf_of(client)
    return client, headers


#: The error codes of an access refusal in the API (a 403 such as `token_forged` is an
#: answer about the input, not about the caller).
#: The live event streams: read without buffering (an admitted caller would wait forever).
STREAMS = ("/api/v1/events", "/api/v1/staff/events")

ACCESS_CODES = {"unauthorized", "forbidden", "device_required", "csrf"}


def denied(resp) -> bool:
    """Turned away for who the caller is: the API's 401/403 with an access code, a page's
    403, or a page's redirect to the login form (the form's own 401 for a wrong password
    and the logout's redirect to it are answers, not refusals)."""
    if resp.is_json and resp.status_code in (401, 403):
        return (resp.get_json() or {}).get("error", {}).get("code") in ACCESS_CODES
    if resp.status_code == 403:
        return True
    return resp.status_code in (301, 302, 303, 307, 308) and "/login?next=" in resp.headers.get("Location", "")


@pytest.mark.parametrize("caller", CALLERS)
def test_access_matrix(config, clock, tmp_path, caller):
    from kiosk.runtime import Kiosk

    config.server.kiosk_addresses = [KIOSK_ADDRESS]
    k = Kiosk(config, clock=clock)
    try:
        for role, username in USERS.items():
            k.auth.add_user(username, "correct-horse-9", role)
        tokens = {role: k.auth.create_token(role, f"matrix-{role}") for role in ROLES}
        seeded = seed(k)
        app = create_app(k.services, TESTING=True)
        client, headers = caller_client(app, k, config, tmp_path, tokens, caller)
        now = k.clock.now()
        day, month = now.date().isoformat(), now.strftime("%Y-%m")
        wrong = {}
        # /logout last: it ends the caller's session
        for rule, method in sorted(routes(app), key=lambda rm: rm[0].rule == "/logout"):
            url = url_of(rule, path_values(rule, seeded, k, day, month)[0])
            if method == "GET":
                resp = client.get(url, headers=headers, buffered=rule.rule not in STREAMS)
            else:
                resp = client.open(url, method=method, json={}, headers=headers)
            refused = denied(resp)
            resp.close()
            expected = allowed(EXPECTED[route_key(rule, method)], caller)
            if refused == expected:
                wrong[f"{method} {url}"] = f"{resp.status_code} {'denied' if refused else 'let in'}; " \
                                           f"expected {'let in' if expected else 'denied'}"
        assert wrong == {}
    finally:
        k.stop()
