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
            except TimeoutError:
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
