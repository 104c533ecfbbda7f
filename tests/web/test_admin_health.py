"""The admin page and /healthz show each device's status and reason in the one vocabulary."""

from __future__ import annotations

import re

import pytest

from tests.conftest import PASSWORD
from tests.phone.conftest import wait_for


@pytest.fixture
def config(config):
    config.camera.source = "sim:offline"  # never opens: down, disconnected
    config.phone.port = ""                # off
    return config


def sign_in(client, username: str) -> None:
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
    assert client.post("/login", data={"username": username, "password": PASSWORD,
                                        "csrf_token": token}).status_code == 302


def test_healthz_devices_speak_one_vocabulary(client, kiosk):
    wait_for(lambda: kiosk.health()["devices"]["camera"]["status"] == "down", what="camera down")
    health = client.get("/healthz").get_json()
    assert health["status"] == "degraded"
    assert set(health["devices"]) == {"printer", "camera", "phone", "tts"}
    assert {name: (d["status"], d["reason"]) for name, d in health["devices"].items()} == {
        "printer": ("ok", None), "camera": ("down", "disconnected"), "phone": ("off", "not_configured"),
        "tts": ("off", "not_configured")}
    assert "offline" in health["devices"]["camera"]["message"]
    assert health["db"]["status"] == "ok" and "backlog" in health["sync"]


def test_admin_page_shows_statuses_and_reasons_in_both_languages(client, kiosk, staff):
    wait_for(lambda: kiosk.health()["devices"]["camera"]["status"] == "down", what="camera down")
    sign_in(client, staff["manager"])
    zh = client.get("/admin/").get_data(as_text=True)
    assert 'data-device="camera" data-status="down"' in zh
    assert 'data-reason="disconnected"' in zh and "连接中断，正在重连" in zh and "无法工作" in zh
    assert 'data-device="phone" data-status="off"' in zh and "未配置" in zh
    assert 'data-device="printer" data-status="ok"' in zh
    en = client.get("/admin/?lang=en").get_data(as_text=True)
    assert "Disconnected; reconnecting" in en and "Not working" in en and "Not configured" in en
    assert "Some devices need attention" in en
