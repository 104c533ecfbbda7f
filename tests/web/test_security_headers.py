"""Security headers on every response (issue 13 item 5): a CSP that allows only the
kiosk's own resources and no framing, X-Frame-Options, nosniff and a same-origin
Referrer-Policy; session cookies marked Secure when `server.https = true`. The browser
tests (console errors fail them) prove the pages still work under this CSP."""

from __future__ import annotations

import re

import pytest

from kiosk.web import create_app
from tests.conftest import PASSWORD


def assert_secured(response, what: str) -> None:
    h = response.headers
    csp = [d.strip() for d in h.get("Content-Security-Policy", "").split(";")]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp, what
    assert not [d for d in csp if "unsafe" in d or "*" in d], what  # no inline script/style, no wildcard
    assert h.get("X-Frame-Options") == "DENY", what
    assert h.get("X-Content-Type-Options") == "nosniff", what
    assert h.get("Referrer-Policy") in ("same-origin", "no-referrer", "strict-origin"), what


def login(client, username: str) -> None:
    token = re.search(r'name="csrf-token" content="([^"]+)"', client.get("/login").get_data(as_text=True)).group(1)
    r = client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token})
    assert r.status_code == 302
    return r


@pytest.mark.parametrize("role", [None, "manager"])
def test_every_get_route_answers_with_the_security_headers(app, client, staff, role):
    """Every GET route without URL arguments (pages, API, downloads, redirects, 401/403
    answers), a static file, a 404, a 405 and a CSRF failure, anonymous and as a manager."""
    if role:
        login(client, staff[role])
    seen = 0
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.arguments or rule.rule == "/api/v1/events":
            continue
        response = client.get(rule.rule)
        assert_secured(response, f"{rule.rule} -> {response.status_code}")
        seen += 1
    assert seen > 20
    stream = client.get("/api/v1/events", buffered=False)  # the SSE stream's headers, then hang up
    assert_secured(stream, "/api/v1/events")
    stream.close()
    for response, what in ((client.get("/static/js/app.js"), "static"), (client.get("/no/such/page"), "404"),
                           (client.delete("/login"), "405"), (client.post("/login", data={}), "csrf")):
        assert_secured(response, what)


def test_session_cookie_is_secure_only_when_server_https(kiosk, staff):
    client = create_app(kiosk.services, TESTING=True).test_client()
    assert "secure" not in login(client, staff["manager"]).headers["Set-Cookie"].lower()
    kiosk.config.server.https = True
    client = create_app(kiosk.services, TESTING=True).test_client()
    cookie = login(client, staff["manager"]).headers["Set-Cookie"]
    assert "; Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_visit_page_back_link_is_not_a_javascript_url(client, kiosk, staff):
    """A `javascript:` link is inline script, which the CSP blocks: the visit page links back
    to the list of the visit's day instead."""
    visit = kiosk.visits.checkin_visitor({"name": "王五", "phone": "1390000", "unit": "1"})
    login(client, staff["security"])
    page = client.get(f"/security/visits/{visit['id']}").get_data(as_text=True)
    assert "javascript:" not in page
    back = re.search(r'href="([^"]+)" id="back-to-list"', page).group(1)
    assert client.get(back.replace("&amp;", "&")).status_code == 200


CSP_LISTENER = """document.addEventListener('securitypolicyviolation',
  e => (window.__csp = window.__csp || []).push(e.violatedDirective + ' ' + e.blockedURI));"""


@pytest.mark.browser
def test_pages_load_in_chromium_without_a_csp_violation(open_page, login, kiosk, staff, browser, live_server):
    """The pages run under the CSP: no violation on the kiosk, display, rating, desk, cases,
    reports, admin and security pages (open_page also fails on any console error), while
    an injected inline script is refused."""
    visit = kiosk.visits.checkin_visitor({"name": "王五", "phone": "1390000", "unit": "1"})
    pages = {None: ["/kiosk", "/display", "/rate?counter=1", "/login"],
             "manager": ["/desk?counter=1", "/cases", "/reports/", "/reports/monthly", "/residents/", "/admin/",
                         "/security/audit"],
             "security": ["/security/", f"/security/visits/{visit['id']}"]}
    for role, paths in pages.items():
        page = open_page()
        page.add_init_script(CSP_LISTENER)
        if role:
            login(page, role, next=paths[0])
        for path in paths:
            page.goto(path)
            page.wait_for_load_state("load")
            assert page.evaluate("() => window.__csp || []") == [], path
    # the policy is enforced: an injected inline script is refused (in a context of its own,
    # as open_page would fail the test on the console error the refusal logs)
    context = browser.new_context(base_url=live_server.url)
    try:
        page = context.new_page()
        page.add_init_script(CSP_LISTENER)
        page.goto("/kiosk")
        page.evaluate("() => { const s = document.createElement('script'); s.textContent = 'window.__ran = 1';"
                      " document.body.appendChild(s); }")
        page.wait_for_function("() => (window.__csp || []).length > 0")
        assert page.evaluate("() => window.__ran") is None
    finally:
        context.close()
