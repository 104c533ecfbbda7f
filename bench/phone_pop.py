"""Benchmark: caller-ID event → screen-pop on the desk console (issue 4).

Starts `kiosk serve` in its own process with a fresh data directory whose `phone.port`
is a pseudo-terminal this script plays as the modem (os.openpty + tty.setraw, the app
opens the slave through a symlink). A headless Chromium (Debian's, via Playwright) logs
in to the desk console. Then, for each call, the script writes a caller-ID block
(RING, DATE, TIME, NMBR, NAME) to the modem line and measures until the desk shows it:

  line → SSE     the `call.incoming` event reaches a plain SSE client in this process
  line → pop     the page has fetched the screen-pop (resident, open cases, visits) and
                 rendered it: the page stamps `data-shown-at` (epoch ms, same machine clock)
  observed       Playwright sees `#phone-pop[data-call-id=N]` (adds its polling delay)

    .venv/bin/python bench/phone_pop.py [--calls 200]

Target (issue 4): line → pop p95 <= 200 ms on 2 cores.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import tty
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kiosk.devices.callerid import format_block

from benchlib import free_port, pct, record_sse_arrivals

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--no-first-run"]
PASSWORD = "bench-password-9"




class Modem:
    """The modem side of a pty: answers AT commands with OK, sends caller-ID blocks."""

    def __init__(self, link: Path) -> None:
        self.master, self.slave = os.openpty()
        tty.setraw(self.master)
        link.symlink_to(os.ttyname(self.slave))
        self.ready = threading.Event()
        threading.Thread(target=self._answer, daemon=True).start()

    def _answer(self) -> None:
        buf = b""
        while True:
            try:
                chunk = os.read(self.master, 1024)
            except OSError:
                return
            buf += chunk
            while b"\r" in buf:
                line, buf = buf.split(b"\r", 1)
                if line.strip():
                    os.write(self.master, line + b"\r\r\nOK\r\n")
                    if line.strip().upper().startswith(b"AT+VCID"):
                        self.ready.set()

    def send(self, data: bytes) -> None:
        os.write(self.master, data)


def prepare(tmp: Path, port: int, link: Path) -> Path:
    cfg = tmp / "kiosk.toml"
    cfg.write_text(f'[database]\npath = "{tmp}/var/kiosk.db"\n[server]\nport = {port}\n'
                   f'[tts]\noutput = "off"\n[phone]\nport = "{link}"\n', encoding="utf-8")
    from kiosk.config import load
    from kiosk.phone_numbers import normalise
    from kiosk.runtime import Kiosk

    k = Kiosk(load(cfg), start_workers=False)
    k.auth.add_user("bench-desk", PASSWORD, "receptionist")
    with k.db.write() as conn:
        conn.execute("INSERT INTO residents (id, name, unit, phone, phone_norm, updated_at) VALUES "
                     "('R-1', '张三', '3-1-502', '13800138000', ?, '2026-01-01T00:00:00.000+00:00')",
                     (normalise("13800138000"),))
    k.stop()
    return cfg


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--calls", type=int, default=200)
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    kiosk_bin = str(Path(sys.executable).parent / "kiosk")
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        port = free_port()
        link = tmp / "modem"
        modem = Modem(link)
        cfg = prepare(tmp, port, link)
        env = {**os.environ, "KIOSK_CONFIG": str(cfg)}
        server = subprocess.Popen([kiosk_bin, "serve"], env=env, cwd=ROOT, stderr=subprocess.DEVNULL)
        sse_at: dict[int, float] = {}
        try:
            deadline = time.time() + 60
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError as exc:
                    if time.time() > deadline:
                        raise SystemExit("kiosk serve did not start") from exc
                    time.sleep(0.1)
            if not modem.ready.wait(30):
                raise SystemExit("the service never sent AT+VCID=1 to the modem")

            record_sse_arrivals(port, "call.incoming", sse_at, time.time)
            base = f"http://127.0.0.1:{port}"
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS, headless=True)
                page = browser.new_page(viewport={"width": 1920, "height": 1080}, base_url=base)
                page.goto("/login?next=/desk")
                page.fill("#username", "bench-desk")
                page.fill("#password", PASSWORD)
                page.click("#login-submit")
                page.wait_for_url("**/desk*")
                page.wait_for_selector('#phone-pop[data-live="open"]', state="attached", timeout=30_000)
                time.sleep(0.5)
                to_pop, to_sse, observed = [], [], []
                for i in range(1, args.calls + 1):
                    number = "13800138000" if i % 2 else f"139{i:08d}"
                    sent = time.time()
                    modem.send(format_block(number, f"CALLER {i}"))
                    page.wait_for_selector(f'#phone-pop[data-call-id="{i}"]', state="visible", timeout=30_000)
                    seen = time.time()
                    shown = float(page.get_attribute("#phone-pop", "data-shown-at")) / 1000
                    to_pop.append((shown - sent) * 1000)
                    observed.append((seen - sent) * 1000)
                    if i in sse_at:
                        to_sse.append((sse_at[i] - sent) * 1000)
                    time.sleep(0.05)
                browser.close()
        finally:
            server.terminate()
            server.wait(10)
            os.close(modem.master)
            os.close(modem.slave)

    def line(name: str, values: list[float]) -> str:
        if not values:
            return f"{name:<12} (no samples)"
        return (f"{name:<12} n={len(values):<4} p50={pct(values, 50):6.1f} ms  p95={pct(values, 95):6.1f} ms  "
                f"p99={pct(values, 99):6.1f} ms  max={max(values):6.1f} ms")

    print(f"caller-ID event -> desk screen-pop, {args.calls} calls, kiosk serve + headless Chromium on "
          f"{os.cpu_count()} cores")
    print(line("line -> SSE", to_sse))
    print(line("line -> pop", to_pop))
    print(line("observed", observed))
    p95 = pct(to_pop, 95)
    print(f"target line -> pop p95 <= 200 ms: {'met' if p95 <= 200 else 'NOT met'} ({p95:.1f} ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
