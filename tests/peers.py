"""Emulated peers on loopback that tests talk to through the real code paths."""

from __future__ import annotations

import queue
import socket
import threading


def free_port() -> int:
    """A loopback port where nothing listens (until someone binds it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class TcpPrinterStub:
    """A raw-port printer on 127.0.0.1 with an ephemeral port.

    behaviour "record": every connection's bytes are read until the client closes and
    queued as one job. "never_read": connections are accepted and held, nothing is read.
    "close_mid_job": the first bytes are read, then the connection is closed.
    A small receive buffer (`rcvbuf`) keeps the kernel from swallowing a whole job.
    """

    def __init__(self, behaviour: str = "record", rcvbuf: int | None = None, port: int = 0) -> None:
        self.behaviour = behaviour
        self.jobs: queue.Queue[bytes] = queue.Queue()
        self._held: list[socket.socket] = []
        self._stop = threading.Event()
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if rcvbuf:
            self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self._listener.bind(("127.0.0.1", port))
        self._listener.listen(8)
        self._listener.settimeout(0.05)
        self.port = self._listener.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def next_job(self, timeout: float = 10.0) -> bytes:
        return self.jobs.get(timeout=timeout)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self._listener.close()
        for conn in self._held:
            conn.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            conn.settimeout(10)
            if self.behaviour == "record":
                threading.Thread(target=self._record, args=(conn,), daemon=True).start()
            elif self.behaviour == "never_read":
                self._held.append(conn)
            elif self.behaviour == "close_mid_job":
                conn.recv(64)
                conn.close()

    def _record(self, conn: socket.socket) -> None:
        chunks = []
        with conn:
            while chunk := conn.recv(65536):
                chunks.append(chunk)
        self.jobs.put(b"".join(chunks))
