"""Fixtures for the web tests: compiled translations, Debian's Chromium driven by
Playwright (never `playwright install`), pages that fail the test on a JavaScript
error, a staff login through the real form, and the screenshot directory."""

from __future__ import annotations

import contextlib
import os
import socket
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.conftest import PASSWORD

ROOT = Path(__file__).resolve().parents[2]
TRANSLATIONS = ROOT / "kiosk" / "web" / "translations"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--disable-dev-shm-usage",
    "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
]

KIOSK_PORTRAIT = {"width": 1080, "height": 1920}
LANDSCAPE = {"width": 1920, "height": 1080}
LAPTOP = {"width": 1366, "height": 768}


def compile_catalogs() -> None:
    """Compile each .po next to it when its .mo is missing or older (as `make translations` does).

    Written to a temporary file and renamed, so parallel test workers never read half a file.
    """
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    for po in TRANSLATIONS.glob("*/LC_MESSAGES/messages.po"):
        mo = po.with_suffix(".mo")
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        with po.open("rb") as fh:
            catalog = read_po(fh, locale=po.parent.parent.name)
        fd, tmp = tempfile.mkstemp(dir=po.parent, suffix=".mo.tmp")
        with os.fdopen(fd, "wb") as out:
            write_mo(out, catalog)
        os.replace(tmp, mo)


@pytest.fixture(scope="session", autouse=True)
def compiled_translations() -> None:
    compile_catalogs()


@pytest.fixture(scope="session")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    # Generous waits for a loaded CI box (two workers, print previews rendering);
    # they only bound how long a failing test takes, a passing one never waits them out.
    sync_api.expect.set_options(timeout=15_000)
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def open_page(browser, live_server) -> Iterator[Callable]:
    """open_page(viewport, touch=False) → a page in its own browser context (own cookies).

    Uncaught JavaScript errors and console errors fail the test at teardown. Contexts are
    closed before the live server stops, so no SSE stream outlives the test.
    """
    contexts = []
    errors: list[str] = []

    def make(viewport: dict | None = None, touch: bool = False, locale: str = "zh-CN", base_url: str | None = None):
        context = browser.new_context(viewport=viewport or LANDSCAPE, has_touch=touch, locale=locale,
                                      base_url=base_url or live_server.url)
        context.set_default_timeout(15_000)
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda exc: errors.append(f"{page.url}: {exc}"))
        page.on("console", lambda msg: msg.type == "error" and not _expected_console_error(msg.text)
                and errors.append(f"{page.url}: console: {msg.text}"))
        return page

    yield make
    for context in contexts:
        context.close()
    assert not errors, "JavaScript errors:\n" + "\n".join(errors)


def _expected_console_error(text: str) -> bool:
    # Chromium logs failed requests that the page handles itself: 4xx answers to API
    # calls shown as toasts, and the SSE stream dropping while the browser is offline.
    return "Failed to load resource" in text or "net::ERR_INTERNET_DISCONNECTED" in text


class TcpProxy:
    """A TCP relay in front of the live server whose connections the test can cut, as a
    flaky network between the hall display and the box does. Nothing is faked: the
    browser and the server see real connections being closed."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.refusing = False
        self.closed = False
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if self.refusing:
                client.close()
                continue
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port))
            except OSError:
                client.close()
                continue
            with self._lock:
                self._sockets.update((client, upstream))
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(src, dst), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while chunk := src.recv(65536):
                dst.sendall(chunk)
        except OSError:
            pass
        finally:
            for sock in (src, dst):
                self._drop(sock)

    def _drop(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.discard(sock)
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
        sock.close()

    def cut(self) -> None:
        """Drop every open connection and refuse new ones until restore()."""
        self.refusing = True
        with self._lock:
            sockets = list(self._sockets)
        for sock in sockets:
            self._drop(sock)

    def restore(self) -> None:
        self.refusing = False

    def close(self) -> None:
        self.closed = True
        self.cut()
        self.listener.close()


@pytest.fixture
def flaky_network(live_server) -> Iterator[TcpProxy]:
    proxy = TcpProxy(int(live_server.url.rsplit(":", 1)[1]))
    yield proxy
    proxy.close()


@pytest.fixture
def enrolled_page(open_page, kiosk) -> Callable:
    """enrolled_page(kind, viewport, touch=False, locale="zh-CN", name=None) → a page whose
    browser was enrolled as a kiosk, display or tablet through the real pairing link (the
    page the manager's `kiosk device add` link opens, and its button), so it holds the device
    cookie as a real device does rather than passing as the box's own address."""
    count = iter(range(1, 1000))

    def make(kind: str, viewport: dict | None = None, touch: bool = False, locale: str = "zh-CN",
             name: str | None = None):
        page = open_page(viewport, touch=touch, locale=locale)
        pairing = kiosk.devices.add(name or f"{kind}-{next(count)}", kind)
        page.goto(f"/pair/{pairing.token}")
        page.click("#pair-submit")
        page.wait_for_selector("#pair-done")
        return page

    return make


@pytest.fixture
def lan_only(kiosk) -> None:
    """`server.kiosk_addresses = []`: the browsers on this box count as nobody until enrolled."""
    kiosk.config.server.kiosk_addresses = []


@pytest.fixture
def login(staff) -> Callable:
    """login(page, role, next="/desk") signs in through the real /login form."""

    def do(page, role: str = "receptionist", next: str = "/desk") -> None:
        page.goto(f"/login?next={quote(next)}")
        page.fill("#username", staff[role])
        page.fill("#password", PASSWORD)
        page.click("#login-submit")
        page.wait_for_url(f"**{next.split('?')[0]}*")

    return do


#: Visible elements sticking out sideways past the box that clips them (or the viewport).
CLIPPED_JS = """() => {
  const bad = [];
  for (const el of document.querySelectorAll('body *')) {
    const r = el.getBoundingClientRect();
    if (!r.width || !r.height || el.closest('[hidden], .sr-only, .skip-link')) continue;
    let clip = el.parentElement;
    while (clip && clip !== document.body) {
      const s = getComputedStyle(clip);
      if (s.overflowX !== 'visible') break;
      clip = clip.parentElement;
    }
    const right = clip && clip !== document.body ? clip.getBoundingClientRect().right : window.innerWidth;
    const left = clip && clip !== document.body ? clip.getBoundingClientRect().left : 0;
    if (r.right > right + 1 || r.left < left - 1) {
      bad.push(el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + '.' + [...el.classList].join('.') +
               ' (' + Math.round(r.left) + '..' + Math.round(r.right) + ' in ' +
               Math.round(left) + '..' + Math.round(right) + ')');
    }
  }
  return bad.slice(0, 8);
}"""


@pytest.fixture(scope="session")
def screenshot_dir(tmp_path_factory) -> Path:
    """$KIOSK_SCREENSHOTS, or a temporary directory."""
    wanted = os.environ.get("KIOSK_SCREENSHOTS")
    path = Path(wanted) if wanted else tmp_path_factory.mktemp("screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture
def shot(screenshot_dir) -> Callable:
    """shot(page, name) saves a full-viewport PNG as <name>.png and checks nothing overflows sideways."""

    def take(page, name: str, full_page: bool = False) -> Path:
        page.evaluate("document.fonts.ready")
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{name}: the page is {overflow}px wider than the viewport"
        clipped = page.evaluate(CLIPPED_JS)
        assert not clipped, f"{name}: content cut off at the side: {clipped}"
        path = screenshot_dir / f"{name}.png"
        page.screenshot(path=str(path), animations="disabled", full_page=full_page)
        return path

    return take
