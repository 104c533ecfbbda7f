"""Elder mode on the touchscreen: the toggle raises every text on the home screen to at
least 32 px (the service tiles included) and has the screen's prompt spoken through the
real speaker back-end (espeak-ng writing WAV files); it ends after the idle timeout."""

from __future__ import annotations

import re
import shutil
import time

import pytest

from tests.web.conftest import KIOSK_PORTRAIT
from tests.web.layout import SMALLEST_TEXT_JS

pytestmark = pytest.mark.browser
expect = pytest.importorskip("playwright.sync_api").expect


@pytest.fixture
def spoken(config, tmp_path):
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed")
    out = tmp_path / "spoken"
    config.tts.output = f"wav:{out}"
    return out


def wait_for_wav(folder, name: str, timeout: float = 30.0) -> list:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = sorted(folder.glob(f"*{name}*.wav")) if folder.exists() else []
        if found:
            return found
        time.sleep(0.2)
    return []


def test_elder_mode_makes_text_large_and_speaks_each_prompt(spoken, open_page, kiosk, shot):
    page = open_page(KIOSK_PORTRAIT, touch=True)
    page.goto("/kiosk")
    assert page.evaluate(SMALLEST_TEXT_JS, ["#home"])[0] >= 20
    page.locator("#elder").tap()
    expect(page.locator("body")).to_have_class(re.compile(r"\belder\b"))
    size, text = page.evaluate(SMALLEST_TEXT_JS, [".topbar", "#home"])
    assert size >= 32, f"{text!r} is {size}px in elder mode"
    tile_sizes = page.evaluate(
        "[...document.querySelectorAll('.tile *')].map(e => parseFloat(getComputedStyle(e).fontSize))")
    assert min(tile_sizes) >= 32
    assert wait_for_wav(spoken, "prompt-elder_on"), "the elder-mode prompt was not spoken"
    shot(page, "kiosk-elder-home")

    page.locator('.tile[data-letter="A"]').tap()
    expect(page.locator("#result")).to_be_visible()
    assert wait_for_wav(spoken, "prompt-ticket"), "the ticket screen's prompt was not spoken"

    page.reload()  # the next screen load keeps it until the kiosk is left alone
    expect(page.locator("#elder")).to_have_attribute("aria-pressed", "true")


def test_unknown_prompts_are_refused(client):
    r = client.post("/kiosk/prompt", json={"prompt": "say something rude"})
    assert r.status_code in (400, 422)
