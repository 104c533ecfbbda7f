"""Delivery end to end against kiosk-central on 127.0.0.1: every change arrives, once in
effect, through a dead receiver, injected 503s, dropped connections and SIGKILLed
agents; credentials refused stop the agent; records refused go to dead letters."""

import json
import signal
import subprocess
import time

import pytest

from kiosk.runtime import Kiosk
from kiosk.store import Database, open_database, outbox
from kiosk.store.sync_state import read_status
from kiosk.web import create_app as create_kiosk_app
from sync.agent import AgentSettings, SyncAgent
from tests.peers import FlakyProxy, free_port

from .conftest import (
    BACKENDS,
    FAST_BACKOFF,
    SECRET,
    SITE,
    agent_for,
    copy_site_db,
    kiosk_sync,
    make_changes,
    outbox_keys,
    site_config,
    write_config,
)

pytestmark = pytest.mark.parametrize("backend", BACKENDS)

WAIT_S = 120  # a hang guard only: nothing asserts on how long anything takes


def wait_for(condition, what: str, timeout: float = WAIT_S, proc: subprocess.Popen | None = None):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"agent exited ({proc.returncode}) while waiting for {what}: "
                                 f"{proc.stderr.read().decode() if proc.stderr else ''}")
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.05)


def local(cfg) -> Database:
    return Database(cfg.database.path)


def outbox_size(cfg) -> int:
    db = local(cfg)
    try:
        return db.scalar("SELECT COUNT(*) FROM outbox")
    finally:
        db.close()


def assert_delivered_exactly(central, keys: list[str]) -> None:
    held = central.store.keys(SITE)
    assert len(held) == len(set(held)) == len(keys)
    assert set(held) == set(keys)


def test_ten_thousand_changes_made_while_central_is_down_all_arrive_once(tmp_path, central_factory):
    port = free_port()
    cfg = site_config(tmp_path, f"http://127.0.0.1:{port}", batch_size=500)
    open_database(cfg.database.path).close()
    with open(tmp_path / "agent.log", "wb") as log:
        agent = kiosk_sync("run", config=write_config(cfg, tmp_path / "site.toml"), stderr=log)
    try:
        assert make_changes(cfg, 10_000) == 10_000  # through the queue service, while the agent retries
        keys = outbox_keys(cfg)
        assert len(keys) == 10_000 and agent.poll() is None
        status = read_status(local(cfg))
        assert status["last_success_at"] is None and "ConnectError" in status["last_error"]["message"]

        central = central_factory(port=port)
        wait_for(lambda: outbox_size(cfg) == 0, "the outbox to drain", proc=agent)
        assert_delivered_exactly(central, keys)
        assert read_status(local(cfg))["sent_total"] == 10_000
    finally:
        agent.send_signal(signal.SIGTERM)
        assert agent.wait(30) == 0


def test_503_every_third_request_and_dropped_connections_still_deliver_every_key_once(
        tmp_path, central_factory, changes_3000):
    central = central_factory(fail_every=3)
    proxy = FlakyProxy(central.port, drop_every=4)
    try:
        cfg = site_config(tmp_path, f"http://127.0.0.1:{proxy.port}", batch_size=100)
        copy_site_db(changes_3000, cfg)
        keys = outbox_keys(cfg)
        agent = agent_for(cfg)
        report = agent.drain()  # retries for as long as it takes
        agent.close()
    finally:
        proxy.close()
    assert report.accepted == 3_000 and report.rejected == 0
    assert proxy.dropped > 0 and agent.failures == 0
    assert_delivered_exactly(central, keys)
    status = read_status(local(cfg))
    assert status["backlog"] == 0 and status["dead_letters"] == 0 and status["last_error"] is not None


def test_agent_killed_mid_drain_and_restarted_loses_nothing(tmp_path, central_factory, changes_3000):
    central = central_factory(delay_s=0.04)  # slow enough that a kill lands mid-drain
    cfg = site_config(tmp_path, central.url, batch_size=50)
    copy_site_db(changes_3000, cfg)
    keys = outbox_keys(cfg)
    config = write_config(cfg, tmp_path / "site.toml")
    for threshold in (500, 1_500):
        agent = kiosk_sync("run", config=config)
        wait_for(lambda n=threshold: central.store.record_count() >= n, f"{threshold} records", proc=agent)
        agent.send_signal(signal.SIGKILL)
        agent.wait(30)
        assert 0 < outbox_size(cfg) < 3_000 and central.store.record_count() < 3_000
    finish = kiosk_sync("once", config=config)
    _, err = finish.communicate(timeout=WAIT_S)
    assert finish.returncode == 0, err.decode()
    assert outbox_size(cfg) == 0
    assert_delivered_exactly(central, keys)


def test_wrong_secret_gets_401_the_agent_stops_and_status_says_why(tmp_path, central_factory):
    central = central_factory()
    cfg = site_config(tmp_path, central.url, secret="not-the-secret")
    make_changes(cfg, 20)
    config = write_config(cfg, tmp_path / "site.toml")
    agent = kiosk_sync("run", config=config)
    _, err = agent.communicate(timeout=WAIT_S)
    assert agent.returncode == 3
    assert "refused our credentials" in err.decode() and "401" in err.decode()
    summary = central.store.summary()[0]
    assert summary["auth_failures"] == 1 and summary["total"] == 0  # one try, no retries

    st = json.loads(kiosk_sync("status", "--json", config=config).communicate(timeout=30)[0])
    assert "HTTP 401 bad_signature" in st["stopped"]["reason"] and st["backlog"] == 20 and st["dead_letters"] == 0
    text = kiosk_sync("status", config=config).communicate(timeout=30)[0].decode()
    assert "stopped       HTTP 401 bad_signature" in text

    kiosk = Kiosk(cfg, start_workers=False)
    try:
        health = create_kiosk_app(kiosk.services, TESTING=True).test_client().get("/healthz").get_json()
    finally:
        kiosk.stop()
    assert health["status"] == "degraded" and health["sync"]["backlog"] == 20
    assert "401" in health["sync"]["stopped"]["reason"] and "401" in health["sync"]["last_error"]["message"]

    # the operator fixes the secret: the next run sends everything and clears the stop
    cfg.sync.secret = SECRET
    fixed = kiosk_sync("once", config=write_config(cfg, tmp_path / "site.toml"))
    assert fixed.wait(WAIT_S) == 0
    st = read_status(local(cfg))
    assert st["stopped"] is None and st["backlog"] == 0 and central.store.record_count() == 20


def test_a_rejected_kind_goes_to_dead_letters_and_does_not_block_the_rest(tmp_path, central_factory):
    central = central_factory()
    cfg = site_config(tmp_path, central.url, batch_size=10)
    make_changes(cfg, 15)
    db = open_database(cfg.database.path)
    with db.write() as conn:  # a kind this central office does not know yet, between tickets
        outbox.add(conn, site_id=SITE, kind="parcel", local_id=1, version=1,
                   occurred_at="2026-11-27T10:00:00+08:00", data={"id": 1, "tracking": "SF123"})
    db.close()
    make_changes(cfg, 15, counter="2")
    keys = [k for k in outbox_keys(cfg) if ":parcel:" not in k]

    agent = agent_for(cfg)
    report = agent.once(max_failures=3)
    agent.close()
    assert (report.accepted, report.rejected) == (30, 1)
    assert_delivered_exactly(central, keys)
    st = read_status(local(cfg))
    assert st["backlog"] == 0 and st["dead_letters"] == 1
    listed = kiosk_sync("dead-letters", "--json", config=write_config(cfg, tmp_path / "site.toml"))
    dead = json.loads(listed.communicate(timeout=30)[0])
    assert [d["key"] for d in dead] == [f"{SITE}:parcel:1:1"] and "unknown kind 'parcel'" in dead[0]["error"]

    # once the central office learns the kind, the dead letter can be sent again
    central.stop()
    central = central_factory(kinds=("ticket", "visit", "case", "call", "survey", "parcel"))
    cfg.sync.url = central.url
    config = write_config(cfg, tmp_path / "site.toml")
    assert kiosk_sync("requeue", "--all", config=config).wait(30) == 0
    assert kiosk_sync("once", "--no-pull", config=config).wait(WAIT_S) == 0
    assert central.store.record(f"{SITE}:parcel:1:1")["data"]["tracking"] == "SF123"
    assert read_status(local(cfg))["dead_letters"] == 0


def test_other_4xx_moves_the_whole_batch_to_dead_letters(tmp_path, central_factory):
    central = central_factory(max_records=5)  # answers 413 to the agent's batches of 10
    cfg = site_config(tmp_path, central.url, batch_size=10)
    make_changes(cfg, 20)
    agent = agent_for(cfg)
    report = agent.drain(max_failures=0)
    agent.close()
    assert (report.accepted, report.rejected) == (0, 20)
    st = read_status(local(cfg))
    assert st["backlog"] == 0 and st["dead_letters"] == 20
    assert "HTTP 413 too_many_records" in st["last_error"]["message"]
    assert central.store.record_count() == 0


def test_a_kiosk_clock_an_hour_off_still_syncs_by_the_receivers_date(tmp_path, central_factory):
    central = central_factory()
    cfg = site_config(tmp_path, central.url)
    make_changes(cfg, 10)
    settings = AgentSettings.from_config(cfg, backoff=FAST_BACKOFF)
    agent = SyncAgent(open_database(cfg.database.path), settings, wall=lambda: time.time() - 3600)  # no RTC
    report = agent.once(max_failures=0)
    agent.close()
    assert report.accepted == 10 and agent.clock_offset_s > 3000
    assert read_status(local(cfg))["stopped"] is None and central.store.record_count() == 10


def test_a_delete_from_the_site_removes_the_record_at_central_after_the_next_sync(tmp_path, central_factory):
    central = central_factory()
    cfg = site_config(tmp_path, central.url, batch_size=10)
    make_changes(cfg, 4)
    db = open_database(cfg.database.path)
    with db.write() as conn:  # a visit, then its erasure (what `kiosk person erase` and the purge send)
        for version in (1, 2):
            outbox.add(conn, site_id=SITE, kind="visit", local_id=41, version=version,
                       occurred_at="2026-11-27T10:00:00+08:00",
                       data={"id": 41, "version": version, "name": "MARKER-张三", "phone": "13800138000"})
    db.close()
    agent = agent_for(cfg)
    agent.once(max_failures=3)
    assert central.store.record(f"{SITE}:visit:41:2")["data"]["name"] == "MARKER-张三"
    db = open_database(cfg.database.path)
    with db.write() as conn:
        outbox.add(conn, site_id=SITE, kind="visit", local_id=41, version=3, op="delete",
                   occurred_at="2026-11-27T11:00:00+08:00", data={"id": 41, "version": 3})
    db.close()
    agent.once(max_failures=3)
    # an old batch that was still in flight arrives after the erasure: it is not stored again
    stale = agent_for(cfg)
    with stale.db.write() as conn:
        outbox.add(conn, site_id=SITE, kind="visit", local_id=41, version=1, occurred_at="2026-11-27T10:00:00+08:00",
                   data={"id": 41, "version": 1, "name": "MARKER-张三"})
    stale.once(max_failures=3)
    stale.close()
    agent.close()
    assert outbox_size(cfg) == 0
    held = [central.store.record(k) for k in central.store.keys(SITE)]
    assert "MARKER" not in json.dumps(held, ensure_ascii=False)
    assert [r["op"] for r in held if r["kind"] == "visit"] == ["delete"]
    assert central.store.tombstone(SITE, "visit", "41") == 3
