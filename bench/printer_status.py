"""Benchmark: what asking the printer its status (ESC/POS DLE EOT 1..4) adds per ticket.

The port-9100 printer emulator of the tests (`tests/peers.py: TcpPrinterStub`) runs in its
own process on 127.0.0.1; this process sends the same rendered ticket through the real
`NetworkPrinter`, alternating the two rules `printer.status` chooses between:
  - none:    one connection, the job, wait until the printer has acknowledged every byte;
  - dle_eot: one connection, DLE EOT 1..4 + answer, the job, DLE EOT 1..4 + answer;
and a bare status query (the poll while the printer is down). Prints p50/p99 of each and
the difference per ticket. On a LAN add the network's round trip twice per ticket.

    .venv/bin/python bench/printer_status.py [--jobs 500]
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from benchlib import pct

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kiosk.devices.printer import NetworkPrinter
from kiosk.devices.ticket_layout import TicketPrint, render_ticket


def serve(ports: multiprocessing.Queue, stop: multiprocessing.Event) -> None:  # type: ignore[type-arg]
    from tests.peers import TcpPrinterStub

    stub = TcpPrinterStub()
    ports.put(stub.port)
    while not stop.wait(0.5):
        while not stub.jobs.empty():  # keep the emulator's memory flat
            stub.jobs.get_nowait()
        stub.printed.clear()
    stub.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=500)
    args = parser.parse_args()
    issued_at = datetime(2026, 11, 28, 9, 45, tzinfo=ZoneInfo("Asia/Shanghai"))
    ticket = TicketPrint(number="A012", service_zh="咨询", service_en="Inquiry", people_ahead=3,
                         estimated_wait_s=720, issued_at=issued_at, site_name="示范物业服务中心",
                         qr_payload="T1:demo-site:20261128:A012:7f3a9c")
    data = render_ticket(ticket)
    ports: multiprocessing.Queue = multiprocessing.Queue()  # type: ignore[type-arg]
    stop = multiprocessing.Event()
    peer = multiprocessing.Process(target=serve, args=(ports, stop), daemon=True)
    peer.start()
    try:
        printer = NetworkPrinter("127.0.0.1", ports.get(timeout=10), timeout=3.0)
        for _ in range(20):  # warm up
            printer.send(data)
            printer.send(data, status_timeout=2.0)
        times: dict[str, list[float]] = {"none": [], "dle_eot": [], "query": []}
        for _ in range(args.jobs):
            for rule in ("none", "dle_eot", "query"):
                t0 = time.perf_counter()
                if rule == "none":
                    printer.send(data)
                elif rule == "dle_eot":
                    state = printer.send(data, status_timeout=2.0)
                    assert state is not None and state.prints, state
                else:
                    printer.query_status(2.0)
                times[rule].append(time.perf_counter() - t0)
    finally:
        stop.set()
        peer.join(5)
    print(f"ticket of {len(data)} bytes to the TCP printer emulator on 127.0.0.1, {args.jobs} jobs per rule")
    labels = {"none": "status none (bytes acknowledged)", "dle_eot": "status dle_eot (answer before and after)",
              "query": "bare status query (the poll)"}
    for rule, label in labels.items():
        print(f"{label}: p50 {pct(times[rule], 50) * 1000:.2f} ms, p99 {pct(times[rule], 99) * 1000:.2f} ms")
    added50 = (pct(times["dle_eot"], 50) - pct(times["none"], 50)) * 1000
    added99 = (pct(times["dle_eot"], 99) - pct(times["none"], 99)) * 1000
    print(f"added per ticket by the status queries: p50 {added50:+.2f} ms, p99 {added99:+.2f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
