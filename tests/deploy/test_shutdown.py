"""A real `kiosk serve` process stops cleanly on SIGTERM: open event streams end, a request
in flight gets its answer, the process exits with status 0 within 2 s, and a new process
binds the same port at once."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time

from tests.deploy.conftest import REPO
from tests.peers import TcpPrinterStub, free_port

GUARD_S = 30
#: The issue's target. Of the 0.5-0.9 s this takes at load 10, the server stops in ~0.15 s
#: and the rest is the print worker waiting for the slow printer's answer to the job in
#: flight (so the job is not printed twice after a restart) and the interpreter's exit.
EXIT_BOUND_S = 2.0


def start(config) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-m", "kiosk.cli", "serve", "--config", str(config)], cwd=REPO,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"}, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    for line in proc.stderr:
        if "kiosk serving on" in line:
            break
    threading.Thread(target=proc.stderr.read, daemon=True).start()
    return proc


def open_stream(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=GUARD_S)
    sock.sendall(b"GET /api/v1/events HTTP/1.1\r\nHost: x\r\n\r\n")
    head = b""
    while b": connected" not in head:
        head += sock.recv(4096)
    return sock


def read_to_end(sock: socket.socket) -> bytes:
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


def test_sigterm_with_streams_open_and_a_request_in_flight(tmp_path):
    port = free_port()
    printer = TcpPrinterStub(fault="slow", slow_s=0.4)  # answers each status request late: a print waits
    config = tmp_path / "kiosk.toml"
    config.write_text(f'[database]\npath = "{tmp_path}/var/kiosk.db"\n[tts]\noutput = "off"\n'
                      f'[server]\nhost = "127.0.0.1"\nport = {port}\n'
                      f'[printer]\nbackend = "network"\nport = {printer.port}\nwait_s = 1.5\n'
                      'status = "dle_eot"\nstatus_timeout_s = 2.0\ntimeout_s = 2.0\n')
    proc = start(config)
    try:
        streams = [open_stream(port) for _ in range(5)]
        answer: dict = {}

        def issue() -> None:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=GUARD_S)
            conn.request("POST", "/api/v1/tickets", body=json.dumps({"service": "A"}),
                         headers={"Content-Type": "application/json"})
            response = conn.getresponse()
            answer.update(status=response.status, body=json.loads(response.read()))

        in_flight = threading.Thread(target=issue)
        in_flight.start()
        time.sleep(0.3)  # the request is inside the app, waiting for the printer
        assert not answer, "answered before SIGTERM: nothing was in flight"
        sent = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        proc.wait(GUARD_S)
        took = time.monotonic() - sent
        in_flight.join(GUARD_S)
        print(f"SIGTERM -> exit {took:.2f} s, ticket print {answer['body']['print']}")
        assert proc.returncode == 0
        assert took <= EXIT_BOUND_S, f"exit took {took:.2f} s"
        assert answer["status"] == 201 and answer["body"]["number"] == "A001"  # finished, not cut off
        for sock in streams:
            assert read_to_end(sock).endswith(b"0\r\n\r\n")  # each stream ended as a complete chunked body
            sock.close()

        again = start(config)  # binds the same port at once
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=GUARD_S)
            conn.request("GET", "/healthz")
            assert conn.getresponse().status == 200
        finally:
            again.send_signal(signal.SIGTERM)
            assert again.wait(GUARD_S) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        printer.close()
