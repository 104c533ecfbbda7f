"""A full disk, for real: the kiosk's data directory is a small tmpfs
filled to 0 bytes free. Tickets answer 503 `storage_unavailable` through the real HTTP
path, /healthz names the reason, nothing acknowledged is lost, and when space returns
the next ticket is issued and health is ok, without a restart. The kiosk screen says
"tickets are paused" in both languages.

Mounting needs root: run as root (as `make test` on the box does) or these are skipped.
The unprivileged tests of the same path are tests/test_storage_failures.py and
tests/deploy/test_watchdog.py."""

from __future__ import annotations

import errno
import os
import sqlite3
import subprocess
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest

from kiosk.devices.printer import PreviewPrinter
from kiosk.runtime import Kiosk
from tests.web.conftest import KIOSK_PORTRAIT

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="mounting a tmpfs as the data directory needs root")

TMPFS_SIZE = "8m"
PAUSED_ZH = "系统暂停取号，请到前台办理"
PAUSED_EN = "Tickets are paused: please go to the front desk"


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "data"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={TMPFS_SIZE},mode=0755", "tmpfs", str(mount)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (a container without CAP_SYS_ADMIN?): {done.stderr.strip()}")
    try:
        yield mount
    finally:
        if subprocess.run(["umount", str(mount)], check=False).returncode != 0:
            subprocess.run(["umount", "--lazy", str(mount)], check=False)  # a file left open: detach anyway
            pytest.fail(f"{mount} was still busy at teardown (a file left open)")


@pytest.fixture
def config(config, tmpfs):
    config.database.path = str(tmpfs / "kiosk.db")
    return config


@pytest.fixture
def kiosk(config, clock, tmp_path) -> Iterator[Kiosk]:
    # the print previews go elsewhere: this is about the database, not the (preview) printer
    k = Kiosk(config, clock=clock, printer=PreviewPrinter(tmp_path / "prints"))
    yield k
    k.stop()  # before the tmpfs is unmounted (fixtures end in reverse)


class Filler:
    """A file that takes every free byte of the tmpfs, until removed."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / "filler"

    def fill(self) -> None:
        block = b"\0" * (1 << 16)
        with open(self.path, "wb", buffering=0) as fh:
            for size in (1 << 16, 4096, 512, 1):
                while True:
                    try:
                        fh.write(block[:size])
                    except OSError as exc:
                        assert exc.errno == errno.ENOSPC, exc
                        break
        assert free_bytes(self.path.parent) == 0

    def remove(self) -> None:
        self.path.unlink()


def free_bytes(folder: Path) -> int:
    fs = os.statvfs(folder)
    return fs.f_bavail * fs.f_frsize


def test_disk_full_answers_503_names_it_in_health_and_recovers_without_restart(kiosk, client, tmpfs):
    acknowledged = []
    for _ in range(3):
        answer = client.post("/api/v1/tickets", json={"service": "A"})
        assert answer.status_code == 201
        acknowledged.append(answer.get_json())
    assert client.get("/healthz").get_json()["db"]["status"] == "ok"

    filler = Filler(tmpfs)
    filler.fill()
    # SQLite may still fit a few tickets into pages it already has: those are answered 201
    # and count as acknowledged; then every ticket is refused, and named
    refused = None
    for _ in range(500):
        answer = client.post("/api/v1/tickets", json={"service": "A"})
        if answer.status_code == 201:
            acknowledged.append(answer.get_json())
            continue
        refused = answer
        break
    assert refused is not None, "the full disk never refused a ticket"
    assert refused.status_code == 503, refused.get_data(as_text=True)
    error = refused.get_json()["error"]
    assert error["code"] == "storage_unavailable"
    assert PAUSED_EN in error["message"]
    for _ in range(3):  # still full: still 503, never a 500
        again = client.post("/api/v1/tickets", json={"service": "B"})
        assert (again.status_code, again.get_json()["error"]["code"]) == (503, "storage_unavailable")

    health = client.get("/healthz").get_json()
    assert health["status"] == "degraded"
    assert health["db"]["status"] == "degraded"
    assert health["db"]["reason"] == "storage_full"
    assert health["db"]["free_bytes"] == 0
    # reads go on: every acknowledged ticket is there, through the API and in the file itself
    for ticket in acknowledged:
        shown = client.get(f"/api/v1/tickets/{ticket['id']}")
        assert shown.status_code == 200 and shown.get_json()["number"] == ticket["number"]
    with closing(sqlite3.connect(f"file:{kiosk.db.path}?mode=ro", uri=True)) as other:
        stored = {row[0] for row in other.execute("SELECT number FROM tickets WHERE service = 'A'")}
        assert stored == {t["number"] for t in acknowledged}, "only acknowledged tickets, all of them"
        assert other.execute("SELECT COUNT(*) FROM tickets WHERE service = 'B'").fetchone()[0] == 0

    filler.remove()  # space returns: the same running kiosk issues the next ticket
    answer = client.post("/api/v1/tickets", json={"service": "A"})
    assert answer.status_code == 201, answer.get_data(as_text=True)
    assert answer.get_json()["number"] == f"A{len(acknowledged) + 1:03d}"
    health = client.get("/healthz").get_json()
    assert health["db"] == {"status": "ok", "path": kiosk.db.path}
    assert health["status"] == "ok"


@pytest.mark.browser
@pytest.mark.parametrize("lang", ["zh_CN", "en"])
def test_kiosk_says_tickets_are_paused_when_the_disk_is_full(open_page, login, tmpfs, shot, lang):
    expect = pytest.importorskip("playwright.sync_api").expect
    page = open_page(KIOSK_PORTRAIT, touch=True)
    page.goto(f"/kiosk?lang={lang}")
    assert page.request.post("/api/v1/tickets", data={"service": "A"}).status == 201
    admin = None
    if lang == "zh_CN":  # signed in before: signing in is a write too
        admin = open_page()
        login(admin, "manager", "/admin/")

    filler = Filler(tmpfs)
    filler.fill()
    refused = False
    for _ in range(500):  # the pages SQLite already has fill up first
        if page.request.post("/api/v1/tickets", data={"service": "C"}).status == 503:
            refused = True
            break
    assert refused
    page.locator('.tile[data-letter="B"]').tap()
    expect(page.locator("#k-error")).to_be_visible()
    text = page.locator("#k-error-text")
    if lang == "en":
        expect(text).to_have_text(PAUSED_EN)
    else:  # Chinese first, English under it
        expect(text.locator(".t-main")).to_have_text(PAUSED_ZH)
        expect(text.locator(".t-sub")).to_have_text(PAUSED_EN)
    expect(page.locator("#result")).to_be_hidden()
    shot(page, f"kiosk-storage-full-{lang}")

    if admin is not None:  # the administrator sees the reason on the admin page
        admin.reload()
        card = admin.locator('[data-device="db"]')
        expect(card.locator(".device-reason")).to_have_text("磁盘已满：暂停取号，腾出空间后恢复")
        expect(card).to_have_attribute("data-reason", "storage_full")
        shot(admin, "admin-storage-full", full_page=True)

    filler.remove()
    page.locator("#k-error-ok").tap()
    page.locator('.tile[data-letter="B"]').tap()
    expect(page.locator("#r-number")).to_have_text("B001")
