"""`kiosk serve`: the web service and the device workers in the foreground."""

from __future__ import annotations

import logging
import signal
import time

import click

from kiosk.cli.common import config_option, load_config

log = logging.getLogger(__name__)


@click.command()
@config_option
@click.option("--host", help="Override server.host.")
@click.option("--port", type=int, help="Override server.port.")
def serve(config_path: str | None, host: str | None, port: int | None) -> None:
    """Run the web service and the device workers in the foreground.

    SIGTERM or SIGINT: the port closes, requests in flight finish, open event streams end
    (their clients reconnect to the next start), the workers stop; then the process exits."""
    import gc

    from kiosk import memory
    from kiosk.runtime import Kiosk
    from kiosk.watchdog import Watchdog
    from kiosk.web import create_app
    from kiosk.web.asgi import WebServer, listen

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    memory.setup()  # two malloc arenas; KIOSK_TRACEMALLOC=DIR: allocation snapshots on SIGUSR1
    cfg = load_config(config_path)
    if host:
        cfg.server.host = host
    if port:
        cfg.server.port = port
    kiosk = Kiosk(cfg)
    app = create_app(kiosk.services)
    sock = listen(cfg.server.host, cfg.server.port)
    def stopping() -> None:
        kiosk.stopping.set()
        kiosk.spooler.release_waiters()  # a ticket waiting for its print answers `queued` now

    server = WebServer(app, kiosk.bus, sock, threads=cfg.server.threads,
                       streams_per_address=cfg.server.streams_per_address, on_stop=stopping)
    stopped_at: list[float] = []

    def on_signal(signum, frame):
        # uvicorn handles the signal while it runs and raises it again once it has stopped;
        # this handler then only notes it, so the workers are stopped below and we exit 0.
        stopped_at.append(time.monotonic())

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    # Everything built so far (app, catalogs, printer profiles) lives as long as the
    # process; left to the collector, each full collection would walk it all and stall
    # every request in flight (README, Benchmarks).
    gc.freeze()
    click.echo(f"kiosk serving on http://{cfg.server.host}:{server.port}", err=True)
    watchdog = Watchdog.from_env(kiosk.health).start()  # systemd: READY=1, then WATCHDOG=1 while the db is ok
    try:
        if not stopped_at:
            server.run()
    finally:
        watchdog.stop()
        kiosk.stop()
        sock.close()
        log.info("kiosk stopped")
