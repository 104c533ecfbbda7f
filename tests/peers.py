"""Emulated peers on loopback that tests talk to through the real code paths."""

from __future__ import annotations

import contextlib
import queue
import socket
import struct
import threading


def free_port() -> int:
    """A loopback port where nothing listens (until someone binds it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


#: The answer bytes to `DLE EOT 1..4` (10 04 n) a printer gives in each state: every byte has
#: bits 1 and 4 set; n=1 bit 3 offline; n=2 bit 2 cover open, bit 5 paper-end stop, bit 6
#: error; n=3 bit 5 unrecoverable error; n=4 bits 2-3 near end, bits 5-6 paper end.
STATUS_BYTES = {
    None: {1: 0x12, 2: 0x12, 3: 0x12, 4: 0x12},
    "paper_near_end": {1: 0x12, 2: 0x12, 3: 0x12, 4: 0x1E},
    "paper_end": {1: 0x1A, 2: 0x32, 3: 0x12, 4: 0x7E},
    "cover_open": {1: 0x1A, 2: 0x16, 3: 0x12, 4: 0x12},
    "error": {1: 0x1A, 2: 0x52, 3: 0x32, 4: 0x12},
}
#: What `TcpPrinterStub.fault` may be.
PRINTER_FAULTS = ("hang", "reset", "paper_end", "paper_near_end", "cover_open", "error", "slow", "no_status")


class TcpPrinterStub:
    """A raw-port (9100) ESC/POS printer on 127.0.0.1 with an ephemeral port.

    It reads each connection until the client closes and prints what it read as one job
    (`jobs`, `printed`), answering real-time status requests `DLE EOT n` (10 04 n) as they
    arrive, ahead of the print data, as a printer does (the requests are not part of the
    job). `fault` (settable while running, `set_fault`) plays what goes wrong at a desk:
    - "hang": accepts connections, never reads, never answers (jammed, hung firmware);
      when the fault clears the held connections are dropped unread (the printer rebooted);
    - "reset": accepts, then resets the connection (RST);
    - "paper_end": reads, prints nothing, answers with the paper-end bits;
    - "paper_near_end": prints, answers with the near-end bits;
    - "cover_open": reads, prints nothing, answers cover open; "error": the same, error bits;
    - "slow": prints, answers each status request after `slow_s`;
    - "no_status": reads and prints, never answers status requests (older printers).
    `status_queries` counts the `DLE EOT n` requests read (one per n), `refused` the jobs
    read but not printed. The older `behaviour` names still work: "record" (no fault),
    "never_read" (= "hang", connections kept until close), "close_mid_job" (reads the
    first bytes, then closes). A small receive buffer (`rcvbuf`) keeps the kernel from
    swallowing a whole job.
    """

    def __init__(self, behaviour: str = "record", rcvbuf: int | None = None, port: int = 0,
                 fault: str | None = None, slow_s: float = 0.5) -> None:
        self.behaviour = behaviour
        self.fault: str | None = fault if fault is not None else ("hang" if behaviour == "never_read" else None)
        self.slow_s = slow_s
        self.jobs: queue.Queue[bytes] = queue.Queue()
        self.printed: list[bytes] = []
        self.refused: list[bytes] = []
        self.status_queries = 0
        self.connections = 0
        self._lock = threading.Lock()
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

    def set_fault(self, fault: str | None) -> None:
        """Play `fault` (one of PRINTER_FAULTS) from the next connection or request on; None
        clears it (a hang's held connections are then dropped unread)."""
        if fault is not None and fault not in PRINTER_FAULTS:
            raise ValueError(f"unknown fault {fault!r}")
        with self._lock:
            self.fault = fault
            held = [] if fault == "hang" else self._held
            if held:
                self._held = []
        for conn in held:
            _reset(conn)

    def next_job(self, timeout: float = 10.0) -> bytes:
        return self.jobs.get(timeout=timeout)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self._listener.close()
        with self._lock:
            held, self._held = self._held, []
        for conn in held:
            conn.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.settimeout(10)
            with self._lock:
                self.connections += 1
                fault = self.fault
                if fault == "hang":
                    self._held.append(conn)
                    continue
            if fault == "reset":
                _reset(conn)
            elif self.behaviour == "close_mid_job":
                conn.recv(64)
                conn.close()
            else:
                threading.Thread(target=self._record, args=(conn,), daemon=True).start()

    def _record(self, conn: socket.socket) -> None:
        """Read one connection. What was read before a status request is filed (printed or
        refused) before the request is answered, as a printer prints data as it arrives: so
        jobs are filed in the order the client saw them confirmed, whatever thread runs first."""
        job = bytearray()
        pending = b""
        try:
            with conn:
                conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                while chunk := conn.recv(65536):
                    data, requests, pending = split_status_requests(pending + chunk)
                    job += data
                    if requests:
                        self._file(job)
                        job = bytearray()
                        self._answer(conn, requests)
        except OSError:
            return  # reset mid-job: nothing printed
        self._file(job + pending)

    def _file(self, job: bytes | bytearray) -> None:
        if not job:
            return
        with self._lock:
            prints = self.fault not in ("paper_end", "cover_open", "error", "hang")
            (self.printed if prints else self.refused).append(bytes(job))
        if prints:
            self.jobs.put(bytes(job))

    def _answer(self, conn: socket.socket, requests: list[int]) -> None:
        """Answer the `DLE EOT n` requests read together in one write."""
        with self._lock:
            self.status_queries += len(requests)
            fault = self.fault
        if fault == "no_status":
            return
        if fault == "slow":
            threading.Event().wait(self.slow_s)
        conn.sendall(b"".join(status_answer(fault, n) for n in requests))


def split_status_requests(stream: bytes) -> tuple[bytes, list[int], bytes]:
    """(print data, the n of each `DLE EOT n` request in order, an unfinished tail to keep for
    the next read) of the bytes a printer has read. The requests are answered, not printed."""
    data = bytearray()
    requests: list[int] = []
    while True:
        at = stream.find(b"\x10\x04")
        if at < 0:  # keep a trailing DLE: its EOT may come in the next read
            keep = 1 if stream.endswith(b"\x10") else 0
            data += stream[:len(stream) - keep]
            return bytes(data), requests, stream[len(stream) - keep:]
        if at + 2 >= len(stream):  # DLE EOT without its n yet
            data += stream[:at]
            return bytes(data), requests, stream[at:]
        n = stream[at + 2]
        if 1 <= n <= 4:
            data += stream[:at]
            requests.append(n)
            stream = stream[at + 3:]
        else:  # not a status request: print data
            data += stream[:at + 2]
            stream = stream[at + 2:]


def status_answer(fault: str | None, n: int) -> bytes:
    """The byte a printer playing `fault` answers to `DLE EOT n`."""
    return bytes([STATUS_BYTES[fault if fault in STATUS_BYTES else None][n]])


class PtyPrinter:
    """A serial ESC/POS printer played on a pseudo-terminal (`os.openpty()` +
    `tty.setraw(master)`): the app opens `path` (the slave), the printer reads the master,
    answers `DLE EOT n` there and keeps the print data in `printed` (or `refused` while a
    fault stops printing). `fault`: None, "paper_end", "paper_near_end", "cover_open",
    "error", "no_status" (reads, prints, never answers)."""

    def __init__(self, fault: str | None = None) -> None:
        import os
        import tty

        self.fault = fault
        self.printed = bytearray()
        self.refused = bytearray()
        self.status_queries = 0
        self._os = os
        self._master, self._slave = os.openpty()
        tty.setraw(self._master)
        self.path = os.ttyname(self._slave)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def set_fault(self, fault: str | None) -> None:
        self.fault = fault

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        for fd in (self._master, self._slave):
            with contextlib.suppress(OSError):
                self._os.close(fd)

    def _serve(self) -> None:
        import select

        pending = b""
        while not self._stop.is_set():
            if not select.select([self._master], [], [], 0.05)[0]:
                continue
            try:
                chunk = self._os.read(self._master, 65536)
            except OSError:
                return
            data, requests, pending = split_status_requests(pending + chunk)
            fault = self.fault
            (self.refused if fault in ("paper_end", "cover_open", "error") else self.printed).extend(data)
            self.status_queries += len(requests)
            if requests and fault != "no_status":
                self._os.write(self._master, b"".join(status_answer(fault, n) for n in requests))


def _reset(conn: socket.socket) -> None:
    """Close with RST rather than FIN."""
    with contextlib.suppress(OSError):
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    conn.close()


class FlakyProxy:
    """A loopback TCP proxy in front of `upstream_port` that cuts connections.

    Every `drop_every`-th chunk coming back from the upstream is swallowed and both
    sides are reset (RST), so the client loses an answer the server may already have
    acted on: the case idempotency keys exist for. `drop_every=0` forwards everything.
    """

    def __init__(self, upstream_port: int, drop_every: int = 0, port: int = 0) -> None:
        self.upstream_port = upstream_port
        self.drop_every = drop_every
        self.dropped = 0
        self._chunks = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._conns: list[socket.socket] = []
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", port))
        self._listener.listen(16)
        self._listener.settimeout(0.05)
        self.port = self._listener.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self._listener.close()
        with self._lock:
            conns, self._conns = self._conns, []
        for conn in conns:
            self._reset(conn)

    @staticmethod
    def _reset(conn: socket.socket) -> None:
        try:
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            conn.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        conn.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.upstream_port), timeout=5)
            except OSError:
                self._reset(client)
                continue
            client.settimeout(None)
            upstream.settimeout(None)
            with self._lock:
                self._conns += [client, upstream]
            threading.Thread(target=self._pump, args=(client, upstream, False), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, True), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket, from_upstream: bool) -> None:
        try:
            while chunk := src.recv(65536):
                if from_upstream and self.drop_every:
                    with self._lock:
                        self._chunks += 1
                        drop = self._chunks % self.drop_every == 0
                        self.dropped += drop
                    if drop:
                        self._reset(dst)
                        self._reset(src)
                        return
                dst.sendall(chunk)
        except OSError:
            pass
        for s in (src, dst):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)


class PtyModem:
    """A Hayes caller-ID modem played on a pseudo-terminal.

    `os.openpty()` + `tty.setraw(master)`: the app opens `path` (a symlink to the
    slave), the modem answers on the master: each `AT...` command is echoed and
    answered `OK` (or nothing when `silent`), and `commands` records what arrived.
    `unplug()` closes both ends (the app's reads fail as on a pulled USB cable);
    `replug()` makes a new pty and re-points the symlink, as udev's stable
    /dev/kiosk-modem link does when the modem comes back.
    """

    def __init__(self, path: str, *, silent: bool = False, refuse: tuple[str, ...] = ()) -> None:
        import os

        self.path = path
        self.silent = silent
        self.refuse = {c.upper() for c in refuse}  # commands answered ERROR
        self.commands: list[str] = []
        self._cond = threading.Condition()
        self._master = self._slave = -1
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._os = os
        self.replug()

    def replug(self) -> None:
        import os
        import tty

        master, slave = os.openpty()
        tty.setraw(master)
        self._master, self._slave = master, slave  # the slave stays open here, as a line stays present
        tmp = self.path + ".new"
        if os.path.lexists(tmp):
            os.unlink(tmp)
        os.symlink(os.ttyname(slave), tmp)
        os.replace(tmp, self.path)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, args=(master, self._stop), daemon=True)
        self._thread.start()

    def unplug(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        for fd in (self._master, self._slave):
            with contextlib.suppress(OSError):
                self._os.close(fd)
        self._master = self._slave = -1

    close = unplug

    def send(self, data: bytes) -> None:
        """Bytes from the modem to the app (RING, caller-ID blocks, noise)."""
        self._os.write(self._master, data)

    def wait_commands(self, count: int, timeout: float = 30.0) -> list[str]:
        with self._cond:
            self._cond.wait_for(lambda: len(self.commands) >= count, timeout)
            return list(self.commands)

    def _serve(self, master: int, stop: threading.Event) -> None:
        import select

        pending = b""
        while not stop.is_set():
            ready, _, _ = select.select([master], [], [], 0.05)
            if not ready:
                continue
            try:
                chunk = self._os.read(master, 1024)
            except OSError:
                return
            pending += chunk
            while b"\r" in pending:
                raw, pending = pending.split(b"\r", 1)
                command = raw.decode("ascii", "replace").strip()
                if not command:
                    continue
                with self._cond:
                    self.commands.append(command)
                    self._cond.notify_all()
                reply = command.encode() + b"\r\r\n"
                if command.upper() in self.refuse:
                    reply += b"ERROR\r\n"
                elif not self.silent:
                    reply += b"OK\r\n"
                try:
                    self._os.write(master, reply)
                except OSError:
                    return


def stop_waitress(server, thread) -> None:
    """Stop a waitress server running `server.run()` in `thread`; safe to call twice.

    Every socket is closed from inside waitress's own loop (closing them from another
    thread races with its select()); the loop then ends by itself.
    """
    from waitress import wasyncore

    if thread.is_alive():
        try:
            server.trigger.pull_trigger(lambda: wasyncore.close_all(server._map))
        except OSError:  # seen once: the trigger's pipe already closed, so close from here
            wasyncore.close_all(server._map)
        thread.join(10)
    server.task_dispatcher.shutdown()
