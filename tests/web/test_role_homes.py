"""Each role lands on its own start page after logging in (never on a page it may not
open), and the staff's resident list shows the residents seen recently before a search."""

from __future__ import annotations

import re

import pytest

from tests.cases.test_export_cells import login
from tests.checkin.conftest import RESIDENTS_CSV, ZHANG_ID
from tests.conftest import PASSWORD

HOMES = {"receptionist": "/desk", "specialist": "/cases", "security": "/security/", "manager": "/admin/"}


@pytest.mark.parametrize("role", list(HOMES))
def test_each_role_lands_on_its_own_home(client, staff, role):
    token = re.search(r'name="csrf-token" content="([^"]+)"', client.get("/login").get_data(as_text=True)).group(1)
    r = client.post("/login", data={"username": staff[role], "password": PASSWORD, "csrf_token": token})
    assert r.status_code == 302 and r.headers["Location"] == HOMES[role]
    assert client.get(HOMES[role]).status_code == 200


def test_the_resident_list_shows_recent_residents_without_a_search(client, kiosk, staff, clock):
    kiosk.visits.import_residents(RESIDENTS_CSV)
    login(client, staff["receptionist"])
    assert "张女士" not in client.get("/residents/").get_data(as_text=True)
    kiosk.visits.checkin_id(ZHANG_ID)
    page = client.get("/residents/").get_data(as_text=True)
    assert "张女士" in page and "李先生" not in page  # seen today; the other one was not
    clock.advance(days=31)
    login(client, staff["receptionist"])  # the first session timed out meanwhile
    later = client.get("/residents/")
    assert later.status_code == 200 and "张女士" not in later.get_data(as_text=True)  # the list looks back 30 days
