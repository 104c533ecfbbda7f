"""Concurrent kiosks and desks on one database file: separate processes and threads."""

import multiprocessing as mp
import threading
from collections import Counter

from kiosk.clock import SystemClock
from kiosk.config import Config
from kiosk.events import EventBus
from kiosk.services.queue import QueueService
from kiosk.store import open_database

ISSUERS = 8
PER_ISSUER = 25


def _service(db_path: str) -> QueueService:
    cfg = Config()
    cfg.database.path = db_path
    return QueueService(open_database(db_path), cfg, SystemClock(cfg.site.timezone), EventBus())


def _issue_many(db_path: str, ready, start, results) -> None:
    q = _service(db_path)
    ready.put(True)
    start.wait()
    results.put([q.issue("A").ticket["number"] for _ in range(PER_ISSUER)])


def _call_until_empty(db_path: str, counter: str, ready, start, results) -> None:
    q = _service(db_path)
    ready.put(True)
    start.wait()
    called = []
    while (t := q.call_next(counter)) is not None:
        called.append(t["id"])
    results.put(called)


def _run_processes(target, args_list) -> list:
    ctx = mp.get_context("spawn")
    ready, start, results = ctx.Queue(), ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=target, args=(*args, ready, start, results)) for args in args_list]
    for p in procs:
        p.start()
    for _ in procs:
        ready.get(timeout=60)
    start.set()
    out = [results.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(30)
        assert p.exitcode == 0
    return out


def test_eight_issuing_processes_get_unique_consecutive_numbers(tmp_path):
    db_path = str(tmp_path / "kiosk.db")
    _service(db_path)  # create the schema once
    batches = _run_processes(_issue_many, [(db_path,)] * ISSUERS)
    numbers = [n for batch in batches for n in batch]
    assert len(numbers) == ISSUERS * PER_ISSUER
    assert sorted(numbers) == [f"A{i:03d}" for i in range(1, ISSUERS * PER_ISSUER + 1)]
    for batch in batches:
        assert batch == sorted(batch), "each issuer sees its numbers increase"


def test_call_order_is_number_order_after_eight_processes_issued_at_once(tmp_path):
    db_path = str(tmp_path / "kiosk.db")
    q = _service(db_path)
    _run_processes(_issue_many, [(db_path,)] * ISSUERS)
    called = []
    while (t := q.call_next("1")) is not None:
        called.append(t["number"])
    assert called == [f"A{i:03d}" for i in range(1, ISSUERS * PER_ISSUER + 1)]


def test_two_desk_processes_never_call_the_same_ticket(tmp_path):
    db_path = str(tmp_path / "kiosk.db")
    q = _service(db_path)
    ids = [q.issue("AB"[i % 2]).ticket["id"] for i in range(120)]
    called = _run_processes(_call_until_empty, [(db_path, "1"), (db_path, "2")])
    everything = called[0] + called[1]
    assert Counter(everything).most_common(1)[0][1] == 1
    assert sorted(everything) == ids


def test_two_desk_threads_never_call_the_same_ticket(tmp_path):
    q = _service(str(tmp_path / "kiosk.db"))
    ids = [q.issue("A").ticket["id"] for _ in range(200)]
    start = threading.Barrier(2)
    called: dict[str, list[int]] = {"1": [], "2": []}

    def desk(counter: str) -> None:
        start.wait()
        while (t := q.call_next(counter)) is not None:
            called[counter].append(t["id"])

    threads = [threading.Thread(target=desk, args=(c,)) for c in called]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(called["1"] + called["2"]) == ids
    statuses = Counter(r["status"] for r in q.db.query("SELECT status FROM tickets"))
    assert statuses == {"done": 200}, "the last call-next on an empty queue finishes the current ticket"
