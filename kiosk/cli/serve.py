"""`kiosk serve`: the web service and the device workers in the foreground."""

from __future__ import annotations

import logging
import signal

import click

from kiosk.cli.common import config_option, load_config


@click.command()
@config_option
@click.option("--host", help="Override server.host.")
@click.option("--port", type=int, help="Override server.port.")
def serve(config_path: str | None, host: str | None, port: int | None) -> None:
    """Run the web service and the device workers in the foreground."""
    import gc

    from waitress.server import create_server

    from kiosk.runtime import Kiosk
    from kiosk.watchdog import Watchdog
    from kiosk.web import create_app

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    cfg = load_config(config_path)
    if host:
        cfg.server.host = host
    if port:
        cfg.server.port = port
    kiosk = Kiosk(cfg)
    app = create_app(kiosk.services)
    # Every open event stream (a display, a console, a resident's phone) is a connection:
    # waitress stops accepting at 100 by default, and its select() fails outright once a
    # descriptor number passes 1023 (poll() has no such limit).
    server = create_server(app, host=cfg.server.host, port=cfg.server.port, threads=cfg.server.threads,
                           channel_timeout=30, ident="kiosk", connection_limit=max(100, cfg.server.threads + 64),
                           asyncore_use_poll=True)

    def shutdown(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, shutdown)
    # Everything built so far (app, catalogs, printer profiles) lives as long as the
    # process; left to the collector, each full collection would walk it all and stall
    # every request in flight (README, Benchmarks).
    gc.freeze()
    # waitress's stubs omit effective_port, which BaseWSGIServer.__init__ sets.
    port = server.effective_port  # type: ignore[union-attr]  # stub gap (types-waitress)
    click.echo(f"kiosk serving on http://{cfg.server.host}:{port}", err=True)
    watchdog = Watchdog.from_env(kiosk.health).start()  # systemd: READY=1, then WATCHDOG=1 while the db is ok
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        watchdog.stop()
        kiosk.stop()
        server.close()
