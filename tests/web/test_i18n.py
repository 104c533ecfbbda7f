"""Every user-visible string has a Chinese translation, and pages speak Chinese by
default and English with ?lang=en (remembered in the session)."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from tests.web.conftest import ROOT, TRANSLATIONS

# Flask-Babel looks the catalog up under the normalised name of zh_CN.
CATALOG = TRANSLATIONS / "zh_Hans_CN" / "LC_MESSAGES" / "messages.po"
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "lazy_gettext": None, "N_": None}


def extracted_msgids() -> dict[str, str]:
    """msgid → first place it is used, extracted as `pybabel extract -F babel.cfg kiosk` does."""
    with open(ROOT / "babel.cfg", encoding="utf-8") as fh:
        method_map, options_map = parse_mapping_cfg(fh)
    found: dict[str, str] = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
            str(ROOT / "kiosk"), method_map, options_map, keywords=KEYWORDS):
        for msgid in (message if isinstance(message, tuple) else (message,)):
            if msgid:
                found.setdefault(msgid, f"kiosk/{filename}:{lineno}")
    return found


def test_extraction_finds_templates_and_python():
    places = " ".join(extracted_msgids().values())
    assert "templates/kiosk.html" in places and "templates/desk.html" in places
    assert "auth.py" in places


def test_every_msgid_has_a_chinese_translation():
    with CATALOG.open("rb") as fh:
        catalog = read_po(fh, locale="zh_CN")
    translated = {m.id if isinstance(m.id, str) else m.id[0]: m for m in catalog if m.id}
    problems = []
    for msgid, where in sorted(extracted_msgids().items(), key=lambda kv: kv[1]):
        message = translated.get(msgid)
        strings = [] if message is None else (message.string if isinstance(message.string, tuple) else [message.string])
        if message is None:
            problems.append(f"{where}: {msgid!r} is not in {CATALOG.name} (run pybabel update)")
        elif not all(strings):
            problems.append(f"{where}: {msgid!r} has no translation")
        elif message.fuzzy:
            problems.append(f"{where}: {msgid!r} is marked fuzzy")
    assert not problems, "\n".join(problems)


def test_placeholders_survive_translation():
    """{n}, {number}, … filled in by templates and scripts must stay in the Chinese text."""
    import re

    with CATALOG.open("rb") as fh:
        catalog = read_po(fh, locale="zh_CN")
    for message in catalog:
        if message.id and message.string:
            wanted = set(re.findall(r"\{\w+\}|%\(\w+\)s", message.id))
            got = set(re.findall(r"\{\w+\}|%\(\w+\)s", message.string))
            assert wanted == got, f"{message.id!r} → {message.string!r}"


@pytest.mark.parametrize("path, zh, en", [
    ("/kiosk", "请选择办理业务", "Please choose a service"),
    ("/display", "最近叫号", "Recent calls"),
    ("/login", "员工登录", "Staff sign-in"),
])
def test_pages_render_chinese_by_default_and_english_on_request(client, path, zh, en):
    page = client.get(path).get_data(as_text=True)
    assert zh in page
    assert '<html lang="zh-CN">' in page

    english = client.get(f"{path}?lang=en").get_data(as_text=True)
    assert en in english and zh not in english
    assert '<html lang="en">' in english

    # The choice is remembered for the next page without ?lang=.
    again = client.get(path).get_data(as_text=True)
    assert en in again and '<html lang="en">' in again
    back = client.get(f"{path}?lang=zh_CN").get_data(as_text=True)
    assert zh in back


def test_service_names_and_waiting_counts_in_both_languages(client, kiosk):
    kiosk.queue.issue("A")
    zh = client.get("/kiosk").get_data(as_text=True)
    assert "咨询" in zh and "等候 1 人" in zh
    en = client.get("/kiosk?lang=en").get_data(as_text=True)
    assert "Inquiry" in en and "1 waiting" in en


def test_error_page_is_translated(client):
    resp = client.get("/no-such-page")
    assert resp.status_code == 404
    assert "页面不存在" in resp.get_data(as_text=True)
    assert "Page not found" in client.get("/no-such-page?lang=en").get_data(as_text=True)


def test_qr_route_makes_svg_and_refuses_long_data(client):
    resp = client.get("/kiosk/qr.svg?data=KT1:demo-site:1:A001")
    assert resp.status_code == 200 and resp.mimetype == "image/svg+xml"
    assert resp.data.lstrip().startswith(b"<?xml") and b"<svg" in resp.data
    assert client.get("/kiosk/qr.svg?data=" + "x" * 200).status_code == 200
    assert client.get("/kiosk/qr.svg?data=" + "x" * 201).status_code == 400
    assert client.get("/kiosk/qr.svg").status_code == 400


def test_catalog_path_is_the_one_the_app_uses(app):
    assert Path(app.config["BABEL_TRANSLATION_DIRECTORIES"]).resolve() == TRANSLATIONS.resolve()
