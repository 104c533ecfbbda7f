"""Staff sessions live on the server: logout, the idle timeout, the absolute lifetime, a
password change and a disabled user end them, so a copied cookie stops working; the
login throttle locks out a name after wrong passwords, longer each time, and an unknown
user's answer takes as long as a known one's."""

from __future__ import annotations

import statistics
import time

from click.testing import CliRunner
from werkzeug.security import check_password_hash, generate_password_hash

from kiosk.cli import main
from kiosk.config import to_toml
from tests.conftest import PASSWORD
from tests.web.test_devices import csrf


def sign_in(client, username: str, password: str = PASSWORD, **environ):
    token = csrf(client.get("/login").get_data(as_text=True))
    return client.post("/login", data={"username": username, "password": password, "csrf_token": token},
                       environ_base=environ or {})


def opens_security(client) -> bool:
    page = client.get("/security/")
    csv = client.get("/security/visits.csv")
    assert page.status_code in (200, 302) and csv.status_code in (200, 302)
    return page.status_code == 200 and csv.status_code == 200


def copy_of(app, client):
    thief = app.test_client()
    thief.set_cookie("session", client.get_cookie("session").value)
    return thief


def test_a_cookie_copied_before_logout_opens_nothing_after_it(app, client, staff, kiosk):
    assert sign_in(client, staff["security"]).status_code == 302
    thief = copy_of(app, client)
    copied = thief.get_cookie("session").value
    assert opens_security(client) and opens_security(thief)
    token = csrf(client.get("/security/").get_data(as_text=True))
    client.post("/logout", data={"csrf_token": token})
    assert not opens_security(client)
    assert not opens_security(thief)
    assert thief.get("/security/").headers["Location"].startswith("/login")
    row = kiosk.db.query_one("SELECT * FROM staff_sessions")
    assert row["ended_reason"] == "logout" and row["username"] == staff["security"]
    assert copied not in str(row)  # only the session id's hash is stored


def test_idle_timeout_and_absolute_lifetime_follow_the_service_clock(app, client, staff, kiosk, clock):
    assert kiosk.config.server.session_idle_minutes == 30 and kiosk.config.server.session_max_hours == 12
    sign_in(client, staff["security"])
    clock.advance(minutes=29)
    assert opens_security(client)  # a request renews the idle time
    clock.advance(minutes=29)
    assert opens_security(client)
    clock.advance(minutes=30, seconds=1)
    assert not opens_security(client)
    assert kiosk.db.scalar("SELECT ended_reason FROM staff_sessions") == "idle"

    sign_in(client, staff["security"])
    for _ in range(35):  # busy all day: a request every 20 minutes
        clock.advance(minutes=20)
        assert opens_security(client)
    clock.advance(minutes=20)  # 12 h after signing in
    assert not opens_security(client)
    assert kiosk.db.scalar("SELECT ended_reason FROM staff_sessions ORDER BY id DESC") == "expired"


def test_password_change_and_disable_end_every_session_of_that_user(app, staff, kiosk, config, tmp_path):
    path = tmp_path / "kiosk.toml"
    path.write_text(to_toml(config))
    desk, phone, other = app.test_client(), app.test_client(), app.test_client()
    for c, user in ((desk, "security"), (phone, "security"), (other, "manager")):
        sign_in(c, staff[user])
    assert kiosk.auth.open_sessions(staff["security"]) == 2
    runner = CliRunner()
    changed = runner.invoke(main, ["user", "passwd", staff["security"], "--password", "new-password-42",
                                   "--config", str(path)])
    assert changed.exit_code == 0, changed.output
    assert not opens_security(desk) and not opens_security(phone)
    assert opens_security(other)
    assert sign_in(desk, staff["security"]).status_code == 401
    assert sign_in(desk, staff["security"], "new-password-42").status_code == 302 and opens_security(desk)

    assert runner.invoke(main, ["user", "disable", staff["manager"], "--config", str(path)]).exit_code == 0
    assert not opens_security(other)
    assert sign_in(other, staff["manager"]).status_code == 401
    assert runner.invoke(main, ["user", "disable", "nobody", "--config", str(path)]).exit_code == 1
    assert runner.invoke(main, ["user", "enable", staff["manager"], "--config", str(path)]).exit_code == 0
    assert sign_in(other, staff["manager"]).status_code == 302


def test_wrong_passwords_lock_the_name_out_longer_each_time(client, staff, kiosk, clock):
    limits = kiosk.config.limits
    assert (limits.login_free_failures, limits.login_lockout_s) == (5, 30)
    user = staff["manager"]
    for n in range(4):  # the first wrong passwords just fail
        assert sign_in(client, user, "wrong-password", REMOTE_ADDR=f"10.0.0.{n}").status_code == 401
    assert sign_in(client, user, PASSWORD, REMOTE_ADDR="10.0.0.9").status_code == 302  # success resets the count
    for n in range(5):
        assert sign_in(client, user, "wrong-password", REMOTE_ADDR=f"10.0.1.{n}").status_code == 401
    locked = sign_in(client, user, PASSWORD, REMOTE_ADDR="10.0.2.1")  # from anywhere, even the right password
    assert locked.status_code == 429 and locked.headers["Retry-After"] == "30"
    assert "密码错误次数过多" in locked.get_data(as_text=True)
    clock.advance(seconds=31)
    assert sign_in(client, user, "wrong-password", REMOTE_ADDR="10.0.2.2").status_code == 401
    assert sign_in(client, user, PASSWORD, REMOTE_ADDR="10.0.2.3").headers["Retry-After"] == "60"  # doubled
    clock.advance(seconds=61)
    assert sign_in(client, user, "wrong-password", REMOTE_ADDR="10.0.2.4").status_code == 401
    assert sign_in(client, user, PASSWORD, REMOTE_ADDR="10.0.2.5").headers["Retry-After"] == "120"
    clock.advance(seconds=121)
    assert sign_in(client, user, PASSWORD, REMOTE_ADDR="10.0.2.6").status_code == 302
    assert sign_in(client, staff["security"], PASSWORD).status_code == 302  # other names were never locked


def test_one_address_guessing_many_names_is_locked_out(client, staff):
    for n in range(20):  # 4x the per-name allowance, each name a different one
        assert sign_in(client, f"guess{n}", "wrong-password", REMOTE_ADDR="10.9.9.9").status_code == 401
    assert sign_in(client, staff["manager"], PASSWORD, REMOTE_ADDR="10.9.9.9").status_code == 429
    assert sign_in(client, staff["manager"], PASSWORD, REMOTE_ADDR="10.9.9.8").status_code == 302


def test_login_form_posts_are_limited_per_address(client, kiosk):
    assert kiosk.config.limits.login_per_address == "30 per minute;200 per hour"
    for n in range(30):  # 30 different names (none locked out): all answered
        assert sign_in(client, f"u{n}", "x", REMOTE_ADDR="10.7.7.7").status_code in (401, 429)
    refused = sign_in(client, "u99", "x", REMOTE_ADDR="10.7.7.7")
    assert refused.status_code == 429 and 0 < int(refused.headers["Retry-After"]) <= 60
    assert sign_in(client, "u99", "x", REMOTE_ADDR="10.7.7.6").status_code == 401


def _median_login_s(client, username: str, samples: int) -> float:
    times = []
    for n in range(samples):
        token = csrf(client.get("/login").get_data(as_text=True))
        start = time.perf_counter()
        answer = client.post("/login", data={"username": username, "password": "wrong-password", "csrf_token": token},
                             environ_base={"REMOTE_ADDR": f"10.5.{len(username)}.{n}"})
        times.append(time.perf_counter() - start)
        assert answer.status_code in (401, 429)
    return statistics.median(times)


def test_unknown_and_known_users_take_the_same_time(client, staff):
    """Both answers check one password hash: each median is above half the hash's own cost
    (its fastest run here), which an answer that skipped the hash for unknown users
    (2-4 ms against ~100 ms) could never reach. Load only makes the answers slower."""
    stored = generate_password_hash("something-else")
    costs = []
    for _ in range(7):
        start = time.perf_counter()
        check_password_hash(stored, "wrong-password")
        costs.append(time.perf_counter() - start)
    cost = min(costs)
    known = _median_login_s(client, staff["manager"], 7)  # locked out after 5: still hashed
    unknown = _median_login_s(client, "no-such-user", 7)
    assert known > cost / 2 and unknown > cost / 2, (cost, known, unknown)
