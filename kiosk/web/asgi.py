"""How `kiosk serve` serves the app: uvicorn (asyncio, uvloop when installed) in front,
Flask behind a thread pool, and every live event stream owned by the event loop.

Ordinary requests (pages, the JSON API) run the Flask app on one of `server.threads`
worker threads, as they did under waitress; the answer is collected on the thread and
written by the loop. A live event stream holds no thread: the Flask view decides who may
open it and what they will see (kiosk/web/api.py hands its decision back through the
`STREAM_HANDOFF` environ key, so authentication and the audience stay in one place), and
then `StreamHub` on the event loop writes each event to every open stream. An idle
stream costs a socket and a few kilobytes.

Dead streams: a client that hangs up is noticed at once (the loop reads every socket); one
that vanished without a word is caught by the keep-alive comment sent every
`KEEPALIVE_S` with `TCP_USER_TIMEOUT`, and one that stops reading by `STALL_S` of
unwritten data or `MAX_PENDING_BYTES` waiting for it: all within 5 s.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
import sys
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from io import BytesIO
from typing import Any

import uvicorn
from flask import Flask

from kiosk import audience as rules
from kiosk.events import Event, EventBus
from kiosk.web import SECURITY_HEADERS
from kiosk.web.api import RECHECK_S, STREAM_HANDOFF, StreamRequest, sse_block

log = logging.getLogger(__name__)

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

STREAM_PATHS = frozenset({"/api/v1/events", "/api/v1/staff/events"})
#: A comment on every stream this often: proves to the client that the server lives and,
#: with TCP_USER_TIMEOUT, lets the kernel notice a peer that is gone.
KEEPALIVE_S = 1.5
#: Unacknowledged data older than this ends the connection (Linux TCP_USER_TIMEOUT).
TCP_USER_TIMEOUT_MS = 3000
#: A write to a stream that has been blocked this long (the client stopped reading) ends it.
STALL_S = 4.0
#: A stream with more than this waiting to be written is too slow to follow and is ended.
MAX_PENDING_BYTES = 512 * 1024
#: What a client over the per-address cap is told to wait before it tries again.
RETRY_AFTER_S = 10


class Stream:
    """One open event stream: what it wants and the bytes waiting for it.

    Under uvicorn (`writer` set) the hub writes each stream's bytes straight to its
    connection, framed as the HTTP chunks uvicorn would make: one system call per stream
    per burst of events, no task switch. Elsewhere the stream's own task sends them."""

    __slots__ = ("address", "after_upto", "audience", "blocked_since", "chunked", "closed", "idle", "pending",
                 "still_allowed", "transport", "wake", "wanted")

    def __init__(self, address: str, request: StreamRequest, after_upto: int, transport: Any,
                 chunked: bool) -> None:
        self.address = address
        self.audience = request.audience
        self.still_allowed = request.still_allowed
        self.wanted = request.wanted
        self.after_upto = after_upto
        self.transport = transport
        self.chunked = chunked
        self.pending: list[bytes] = []
        self.wake = asyncio.Event()
        self.closed = False
        self.idle = True
        self.blocked_since: float | None = None

    def take(self) -> bytes:
        data = b"".join(self.pending)
        self.pending.clear()
        return data

    def flush(self) -> None:
        """Write what is pending straight to the connection (uvicorn only)."""
        if self.closed or not self.pending:
            return
        if self.transport.is_closing():
            self.close()
            return
        data = self.take()
        self.transport.write(b"%x\r\n%b\r\n" % (len(data), data) if self.chunked else data)
        if self.transport.get_write_buffer_size() > MAX_PENDING_BYTES:
            log.info("event stream from %s ended: it stopped reading", self.address)
            self.abort()

    def close(self) -> None:
        self.closed = True
        self.wake.set()

    def abort(self) -> None:
        """End a stream whose client is gone or too slow: drop the connection itself."""
        self.close()
        if self.transport is not None:
            self.transport.abort()


class StreamHub:
    """Every open event stream, owned by the event loop: the bus hands each event over
    once, the hub works out each audience's bytes once, queues them on the streams that
    want them and writes every stream once per turn of the loop."""

    def __init__(self, bus: EventBus, per_address: int) -> None:
        self.bus = bus
        self.per_address = per_address
        self.streams: set[Stream] = set()
        self.by_address: Counter[str] = Counter()
        self.closing = False
        self.loop: asyncio.AbstractEventLoop | None = None
        self._ticker: asyncio.Task[None] | None = None
        self._dirty: set[Stream] = set()
        bus.add_listener(self._from_publisher)

    # -- publisher threads -> loop ---------------------------------------------------------
    def _from_publisher(self, event: Event) -> None:
        loop = self.loop
        if loop is not None and self.streams:
            with contextlib.suppress(RuntimeError):  # the loop has closed: no stream is left to feed
                loop.call_soon_threadsafe(self._dispatch, event)

    def _dispatch(self, event: Event) -> None:
        cache: dict[tuple[str, str | None, str | None], bytes | None] = {}
        for stream in self.streams:
            if event.id <= stream.after_upto or (stream.wanted is not None and event.name not in stream.wanted):
                continue
            key = stream.audience.key
            if key not in cache:
                cache[key] = self.encode(event, stream.audience)
            block = cache[key]
            if block is not None:
                self.push(stream, block)

    def push(self, stream: Stream, block: bytes) -> None:
        stream.pending.append(block)
        stream.idle = False
        if stream.transport is None:
            stream.wake.set()
            return
        if not self._dirty and self.loop is not None:
            self.loop.call_soon(self._flush)
        self._dirty.add(stream)

    def _flush(self) -> None:
        dirty, self._dirty = self._dirty, set()
        for stream in dirty:
            stream.flush()

    @staticmethod
    def encode(event: Event, audience: rules.Audience) -> bytes | None:
        data = rules.view(event.name, event.data, audience)
        return None if data is None else sse_block(event.id, event.name, data).encode()

    # -- the loop's own ---------------------------------------------------------------------
    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        if self.loop is None:
            self.loop = loop
            self._ticker = loop.create_task(self._tick())

    async def _tick(self) -> None:
        """Keep-alive comments for idle streams, and the end of streams whose writes stall."""
        keepalive = b": keep-alive\n\n"
        loop = asyncio.get_running_loop()
        checked = loop.time()
        recheck: asyncio.Task[None] | None = None  # held: the loop keeps only weak references to tasks
        while True:
            await asyncio.sleep(KEEPALIVE_S)
            now = loop.time()
            if now - checked >= RECHECK_S and (recheck is None or recheck.done()):
                checked = now
                recheck = loop.create_task(self._recheck())
            for stream in list(self.streams):
                if stream.transport is not None:
                    stream.blocked_since = (stream.blocked_since or now) \
                        if stream.transport.get_write_buffer_size() else None
                if stream.blocked_since is not None and now - stream.blocked_since > STALL_S:
                    log.info("event stream from %s ended: writes blocked for %.0f s", stream.address, STALL_S)
                    stream.abort()
                elif stream.idle:
                    self.push(stream, keepalive)
                stream.idle = True

    async def _recheck(self) -> None:
        """End the staff streams whose login or token ended (on a worker thread: it reads
        the database)."""
        loop = asyncio.get_running_loop()
        for stream in [s for s in self.streams if s.still_allowed is not None]:
            check = stream.still_allowed
            assert check is not None
            if not await loop.run_in_executor(None, check):
                log.info("staff event stream from %s ended: its login or token ended", stream.address)
                if stream.transport is not None:
                    stream.flush()
                stream.close()

    def reserve(self, address: str) -> bool:
        if self.closing or self.by_address[address] >= self.per_address:
            return False
        self.by_address[address] += 1
        return True

    def release(self, address: str) -> None:
        self.by_address[address] -= 1
        if self.by_address[address] <= 0:
            del self.by_address[address]

    def close_all(self) -> None:
        """Shutting down: end every stream (clients reconnect to the next server)."""
        self.closing = True
        for stream in list(self.streams):
            if stream.transport is not None:
                stream.flush()
            stream.close()

    async def serve(self, address: str, request: StreamRequest, headers: list[tuple[bytes, bytes]],
                    receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        history, upto = self.bus.history_after(request.after)  # no await from here until the stream is added
        cycle = getattr(send, "__self__", None)
        transport = getattr(cycle, "transport", None)
        stream = Stream(address, request, upto, transport, chunked=bool(getattr(cycle, "chunked_encoding", False)))
        self.streams.add(stream)
        try:
            self.push(stream, b"retry: 2000\n: connected\n\n")
            for event in history:
                if request.wanted is None or event.name in request.wanted:
                    block = self.encode(event, request.audience)
                    if block is not None:
                        self.push(stream, block)
            watcher = asyncio.get_running_loop().create_task(_until_disconnect(receive, stream))
            try:
                await self._write(stream, send)
            finally:
                watcher.cancel()
            with contextlib.suppress(OSError, RuntimeError):
                await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            self.streams.discard(stream)
            self._dirty.discard(stream)

    async def _write(self, stream: Stream, send: Send) -> None:
        """Until the stream ends; without a transport of its own, send what is pending."""
        loop = asyncio.get_running_loop()
        while True:
            await stream.wake.wait()
            stream.wake.clear()
            if stream.closed or self.closing:
                return
            if stream.transport is not None or not stream.pending:
                continue
            stream.blocked_since = loop.time()
            try:
                await send({"type": "http.response.body", "body": stream.take(), "more_body": True})
            except OSError:
                return
            finally:
                stream.blocked_since = None


async def _until_disconnect(receive: Receive, stream: Stream) -> None:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            stream.close()
            return


def _environ(scope: Scope, body: bytes) -> dict[str, Any]:
    path = scope["path"].encode("utf-8").decode("latin-1")
    root = scope.get("root_path", "").encode("utf-8").decode("latin-1")
    server = scope.get("server") or ("localhost", 80)
    client = scope.get("client") or ("", 0)
    environ: dict[str, Any] = {
        "REQUEST_METHOD": scope["method"],
        "SCRIPT_NAME": root,
        "PATH_INFO": path[len(root):] if root and path.startswith(root) else path,
        "QUERY_STRING": scope.get("query_string", b"").decode("latin-1"),
        "RAW_URI": scope.get("raw_path", b"").decode("latin-1"),
        "SERVER_NAME": str(server[0]),
        "SERVER_PORT": str(server[1] or 0),
        "SERVER_PROTOCOL": f"HTTP/{scope.get('http_version', '1.1')}",
        "REMOTE_ADDR": client[0],
        "REMOTE_PORT": str(client[1]),
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scope.get("scheme", "http"),
        "wsgi.input": BytesIO(body),
        "wsgi.input_terminated": True,
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    for raw_name, raw_value in scope.get("headers", ()):
        name = raw_name.decode("latin-1")
        value = raw_value.decode("latin-1")
        if name == "content-length":
            key = "CONTENT_LENGTH"
        elif name == "content-type":
            key = "CONTENT_TYPE"
        else:
            key = "HTTP_" + name.upper().replace("-", "_")
        environ[key] = f"{environ[key]},{value}" if key in environ else value
    return environ


class KioskAsgi:
    """The ASGI application: streams on the loop, everything else through Flask on a thread."""

    def __init__(self, app: Flask, bus: EventBus, *, threads: int, streams_per_address: int) -> None:
        self.app = app
        self.hub = StreamHub(bus, streams_per_address)
        self.executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="kiosk-web")
        self.max_body = int(app.config.get("MAX_CONTENT_LENGTH") or 1 << 20)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        if scope["type"] != "http":
            return
        self.hub.attach(asyncio.get_running_loop())
        if scope["path"] in STREAM_PATHS and scope["method"] == "GET":
            await self._stream(scope, receive, send)
        else:
            await self._wsgi(scope, receive, send)

    async def _read_body(self, receive: Receive) -> bytes:
        """The request body, read up to one byte past the limit (Flask answers 413 then)."""
        parts: list[bytes] = []
        size = 0
        while size <= self.max_body:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            parts.append(chunk)
            size += len(chunk)
            if not message.get("more_body"):
                break
        return b"".join(parts)

    def _call(self, environ: dict[str, Any]) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        """Run Flask on a worker thread; the whole answer comes back (every view's answer is
        bounded: files, reports and exports are built in memory already)."""
        started: list[Any] = []

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable:
            started[:] = [status, headers]
            return chunks.append

        chunks: list[bytes] = []
        result: Iterable[bytes] = self.app(environ, start_response)
        try:
            chunks.extend(result)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        status, headers = started
        encoded = [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers]
        return int(status.split(" ", 1)[0]), encoded, b"".join(chunks)

    async def _wsgi(self, scope: Scope, receive: Receive, send: Send) -> None:
        environ = _environ(scope, await self._read_body(receive))
        status, headers, body = await asyncio.get_running_loop().run_in_executor(self.executor, self._call, environ)
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def _stream(self, scope: Scope, receive: Receive, send: Send) -> None:
        address = (scope.get("client") or ("", 0))[0]
        if not self.hub.reserve(address):
            await self._too_many(send)
            return
        try:
            handoff: list[StreamRequest] = []
            environ = _environ(scope, b"")
            environ[STREAM_HANDOFF] = handoff
            loop = asyncio.get_running_loop()
            status, headers, body = await loop.run_in_executor(self.executor, self._call, environ)
            if status != 200 or len(handoff) != 1:
                await send({"type": "http.response.start", "status": status, "headers": headers})
                await send({"type": "http.response.body", "body": body})
                return
            transport = getattr(getattr(send, "__self__", None), "transport", None)  # uvicorn's connection
            sock = transport.get_extra_info("socket") if transport is not None else None
            if sock is not None and hasattr(socket, "TCP_USER_TIMEOUT"):
                with contextlib.suppress(OSError):
                    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT, TCP_USER_TIMEOUT_MS)
            headers = [(name, value) for name, value in headers if name != b"content-length"]
            await self.hub.serve(address, handoff[0], headers, receive, send)
        finally:
            self.hub.release(address)

    async def _too_many(self, send: Send) -> None:
        body = json.dumps({"error": {"code": "too_many_streams", "message":
                                     f"at most {self.hub.per_address} live event streams per address"}}).encode()
        headers = [(b"content-type", b"application/json"), (b"retry-after", str(RETRY_AFTER_S).encode()),
                   (b"content-length", str(len(body)).encode())]
        headers += [(name.lower().encode(), value.encode()) for name, value in SECURITY_HEADERS.items()]
        await send({"type": "http.response.start", "status": 429, "headers": headers})
        await send({"type": "http.response.body", "body": body})


class _Server(uvicorn.Server):
    """uvicorn's server, ending every stream as soon as it is asked to stop (the streams
    would otherwise keep their connections, and shutdown would wait for them)."""

    def __init__(self, config: uvicorn.Config, asgi: KioskAsgi, on_stop: Callable[[], None] | None) -> None:
        super().__init__(config)
        self.asgi = asgi
        self.on_stop = on_stop

    def handle_exit(self, sig: int, frame: Any) -> None:
        super().handle_exit(sig, frame)
        self.stopping()

    def stopping(self) -> None:
        self.should_exit = True
        hub = self.asgi.hub
        hub.closing = True
        if hub.loop is not None:
            with contextlib.suppress(RuntimeError):
                hub.loop.call_soon_threadsafe(hub.close_all)
        if self.on_stop is not None:
            self.on_stop()


def listen(host: str, port: int, backlog: int = 2048) -> socket.socket:
    """The listening socket, bound now (so readiness and the port are known before the loop
    runs) with SO_REUSEADDR: a restart binds at once, whatever connections the last one left."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP spelled out: asyncio sets TCP_NODELAY only on connections whose socket says
    # so, and without it an answer's body waits for the client's delayed ACK of its head (40 ms).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(backlog)
    sock.set_inheritable(True)
    return sock


class WebServer:
    """The app on `sock` (see `listen`): `run()` blocks until `stop()` or SIGTERM/SIGINT
    (in the main thread). Then the port closes, streams end, `on_stop` runs (the kiosk
    releases requests waiting for the printer) and requests in flight finish; any still
    running `grace_s` later are cut off."""

    def __init__(self, app: Flask, bus: EventBus, sock: socket.socket, *, threads: int,
                 streams_per_address: int, grace_s: int = 1, on_stop: Callable[[], None] | None = None) -> None:
        self.asgi = KioskAsgi(app, bus, threads=threads, streams_per_address=streams_per_address)
        self.sock = sock
        config = uvicorn.Config(self.asgi, http="httptools", loop="auto", lifespan="off", access_log=False,
                                server_header=False, proxy_headers=False, timeout_keep_alive=30,
                                timeout_graceful_shutdown=grace_s, log_level="warning")
        self.server = _Server(config, self.asgi, on_stop)

    @property
    def port(self) -> int:
        return int(self.sock.getsockname()[1])

    def run(self) -> None:
        try:
            self.server.run(sockets=[self.sock])
        finally:
            self.asgi.executor.shutdown(wait=True, cancel_futures=True)

    def stop(self) -> None:
        """Ask the server to stop (from any thread)."""
        self.server.stopping()

    @property
    def stream_count(self) -> int:
        return len(self.asgi.hub.streams)
