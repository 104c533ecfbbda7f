"""Every stylesheet a page uses is linked from its <head>, so the page is laid out once
with all its styles; none is linked from a part included inside <body>."""

from __future__ import annotations

import re

import pytest

from tests.conftest import PASSWORD

PAGES = {  # path → the feature stylesheets it needs, in cascade order after kiosk.css
    "/kiosk": ["cases.css"],
    "/rate?counter=1": ["cases.css"],
    "/desk?counter=1": ["cases.css", "phone.css"],
    "/desk/calls": ["phone.css"],
    "/cases": ["cases.css"],
    "/cases/1": ["cases.css"],
    "/reports/": ["cases.css"],
    "/reports/daily": ["cases.css"],
    "/residents/": ["cases.css"],
    "/admin/": ["phone.css"],
    "/admin/residents/": ["security.css"],
    "/security/": ["security.css"],
    "/security/audit": ["security.css"],
    "/display": [],
}


@pytest.fixture
def manager(client, staff):
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
    assert client.post("/login", data={"username": staff["manager"], "password": PASSWORD,
                                       "csrf_token": token}).status_code == 302
    return client


@pytest.mark.parametrize("path, feature_css", PAGES.items())
def test_stylesheets_are_linked_from_the_head(manager, kiosk, path, feature_css):
    kiosk.cases.create(type="repair", description="电梯异响", channel="counter")
    r = manager.get(path)
    assert r.status_code == 200, path
    head, body = r.get_data(as_text=True).split("<body", 1)
    in_head = re.findall(r'<link rel="stylesheet" href="/static/([\w.]+)"', head)
    assert in_head == ["kiosk.css", *feature_css]
    assert "<link" not in body
