"""kiosk-central over HTTP on 127.0.0.1: authentication, per-record rejection,
storing each key once, the directory endpoint, the summary page and its CLI."""

import json
import re
import time

import httpx
import pytest
from click.testing import CliRunner

from sync import protocol
from sync.central.cli import main as central_cli
from sync.central.console import hash_password

from .conftest import BACKENDS, SECRET, SITE

pytestmark = pytest.mark.parametrize("backend", BACKENDS)


def record(i, kind="ticket", **change):
    return {"key": f"{SITE}:{kind}:{i}:1", "kind": kind, "op": "upsert",
            "occurred_at": "2026-11-27T09:45:00+08:00", "data": {"id": i}, **change}


def post(central, records, *, secret=SECRET, site=SITE, ts=None, ts_offset=0, body=None, headers=None,
         batch_id="b-1"):
    body = body if body is not None else json.dumps({"batch_id": batch_id, "records": records}).encode()
    h = protocol.signed_headers(site, secret, int(ts if ts is not None else time.time() + ts_offset), body,
                                {protocol.H_BACKLOG: str(len(records) + 5)})
    h.update(headers or {})
    return httpx.post(f"{central.url}/api/v1/sites/{SITE}/batches", content=body, headers=h)


def test_batch_is_stored_once_per_key_and_resending_changes_nothing(central):
    r = post(central, [record(1), record(2)])
    assert r.status_code == 200 and r.json() == {"accepted": [f"{SITE}:ticket:1:1", f"{SITE}:ticket:2:1"],
                                                 "rejected": []}
    again = post(central, [record(1), record(2), record(3)], batch_id="b-2")
    assert again.status_code == 200 and len(again.json()["accepted"]) == 3
    assert central.store.keys(SITE) == [f"{SITE}:ticket:{i}:1" for i in (1, 2, 3)]
    assert central.store.record(f"{SITE}:ticket:1:1")["data"] == {"id": 1}
    summary = logged_in(central).get(f"{central.url}/api/v1/sites").json()["sites"][0]
    assert summary["site_id"] == SITE and summary["counts"] == {"ticket": 3} and summary["duplicates"] == 2
    assert summary["backlog"] == 5  # what the agent reported minus this batch


def test_records_it_cannot_accept_are_rejected_one_by_one(central):
    records = [record(1), record(2, kind="parcel"), record(3, occurred_at="yesterday"),
               record(4, key="other-site:ticket:4:1"), record(5, kind="visit")]
    answer = post(central, records).json()
    assert answer["accepted"] == [f"{SITE}:ticket:1:1", f"{SITE}:visit:5:1"]
    errors = {r["key"]: r["error"] for r in answer["rejected"]}
    assert "unknown kind 'parcel'" in errors[f"{SITE}:parcel:2:1"]
    assert "occurred_at" in errors[f"{SITE}:ticket:3:1"]
    assert "key must be" in errors["other-site:ticket:4:1"]
    assert central.store.record_count(SITE) == 2
    assert {r["key"] for r in central.store.rejections(SITE)} == set(errors)


@pytest.mark.parametrize("kwargs,code", [
    ({"secret": "wrong"}, "bad_signature"),
    ({"ts_offset": -301}, "timestamp_skew"),  # relative to the time of the request, not of collection
    ({"ts_offset": 400}, "timestamp_skew"),
    ({"headers": {protocol.H_SIGNATURE: ""}}, "bad_signature"),
    ({"headers": {protocol.H_SITE: "someone-else"}}, "site_mismatch"),
])
def test_bad_credentials_get_401_with_a_json_error_and_store_nothing(central, kwargs, code):
    r = post(central, [record(1)], **kwargs)
    assert r.status_code == 401 and r.json()["error"]["code"] == code
    assert central.store.record_count() == 0
    assert central.store.summary()[0]["auth_failures"] == 1


def test_unknown_site_is_401(central):
    body = b'{"batch_id": "b", "records": []}'
    h = protocol.signed_headers("nobody", SECRET, int(time.time()), body)
    r = httpx.post(f"{central.url}/api/v1/sites/nobody/batches", content=body, headers=h)
    assert r.status_code == 401 and r.json()["error"]["code"] == "unknown_site"


@pytest.mark.parametrize("body,status,code", [
    (b"not json", 400, "bad_json"),
    (b'{"records": []}', 400, "bad_batch"),
    (b'{"batch_id": "b", "records": {}}', 400, "bad_batch"),
    (b'["x"]', 400, "bad_batch"),
])
def test_malformed_batches_get_4xx_json(central, body, status, code):
    r = post(central, [], body=body)
    assert r.status_code == status and r.json()["error"]["code"] == code


def test_too_many_records_is_413(central_factory):
    central = central_factory(max_records=3)
    r = post(central, [record(i) for i in range(4)])
    assert r.status_code == 413 and r.json()["error"]["code"] == "too_many_records"


def test_unknown_paths_and_methods_answer_json(central):
    # without a login nothing but the signed endpoints answers, not even with a 404
    r = httpx.get(f"{central.url}/api/v1/nothing")
    assert r.status_code == 401 and r.json()["error"]["code"] == "login_required"
    client = logged_in(central)
    r = client.get(f"{central.url}/api/v1/nothing")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    r = client.get(f"{central.url}/api/v1/sites/{SITE}/batches")
    assert r.status_code == 405 and "error" in r.json()


def test_fault_knob_fails_every_third_request(central_factory):
    central = central_factory(fail_every=3)
    statuses = [post(central, [record(i)], batch_id=f"b{i}").status_code for i in range(6)]
    assert statuses == [200, 200, 503, 200, 200, 503]
    assert central.store.record_count() == 4


def test_overview_page_lists_sites_with_status_backlog_agent_and_records(central):
    post(central, [record(1), record(2), record(3, kind="case")], headers={protocol.H_AGENT: "kiosk-sync/1"})
    assert httpx.get(central.url + "/").status_code == 302  # to the login
    page = logged_in(central).get(central.url + "/?lang=en")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    row = next(r for r in page.text.split("<tr>") if f"<td>{SITE}</td>" in r)
    assert "online" in row and "<td class=n>5</td>" in row and "kiosk-sync/1" in row and "<td class=n>3</td>" in row


def logged_in(central) -> httpx.Client:
    """An httpx client with a console session of a new office manager."""
    central.store.add_user("ops", "office_manager", hash_password("password-1"))
    client = httpx.Client()
    form = client.get(f"{central.url}/login").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    r = client.post(f"{central.url}/login", data={"csrf_token": token, "username": "ops", "password": "password-1"})
    assert r.status_code == 302
    return client


def _get_directory(central, since, secret=SECRET):
    h = protocol.signed_headers(SITE, secret, int(time.time()), b"")
    return httpx.get(f"{central.url}/api/v1/sites/{SITE}/residents", params={"since": since}, headers=h)


def test_directory_import_and_cursor(central, tmp_path):
    db = str(central.store.target)
    csv = tmp_path / "residents.csv"
    csv.write_text("id,name,unit,phone,id_number\nr1,张三,1-101,13800138000,11010519491231002X\n"
                   "r2,李四,1-102,010-12345678,\n", encoding="utf-8")
    runner = CliRunner()
    result = runner.invoke(central_cli, ["residents", "import", str(csv), "--db", db])
    assert result.exit_code == 0, result.output
    first = _get_directory(central, "").json()
    assert [r["id"] for r in first["residents"]] == ["r1", "r2"]
    assert first["residents"][0]["active"] is True and len(first["residents"][0]["id_hash"]) == 64
    assert "11010519491231002X" not in json.dumps(first)
    assert "id_hash" not in first["residents"][1]
    assert _get_directory(central, first["cursor"]).json() == {"residents": [], "cursor": first["cursor"]}

    # re-importing the same file changes nothing; a changed phone and a removal move the cursor
    assert runner.invoke(central_cli, ["residents", "import", str(csv), "--db", db]).exit_code == 0
    assert _get_directory(central, first["cursor"]).json()["residents"] == []
    csv.write_text("id,name,unit,phone\nr1,张三,1-101,13900139000\n", encoding="utf-8")
    assert runner.invoke(central_cli, ["residents", "import", str(csv), "--db", db, "--replace"]).exit_code == 0
    changes = _get_directory(central, first["cursor"]).json()["residents"]
    assert [(r["id"], r["phone"], r["active"]) for r in changes] == [("r1", "13900139000", True),
                                                                      ("r2", "010-12345678", False)]
    assert changes[0]["id_hash"] == first["residents"][0]["id_hash"]  # kept when the file has no id_number


def test_directory_needs_a_signature_and_a_valid_cursor(central):
    assert _get_directory(central, "", secret="wrong").status_code == 401
    r = _get_directory(central, "abc")
    assert r.status_code == 400 and r.json()["error"]["code"] == "bad_cursor"


def test_bad_csv_imports_nothing(central, tmp_path):
    csv = tmp_path / "bad.csv"
    csv.write_text("id,name,unit,phone,id_number\nr1,A,1,1,\nr2,B,1,1,110105194912310021\n")
    result = CliRunner().invoke(central_cli, ["residents", "import", str(csv), "--db", str(central.store.target)])
    assert result.exit_code == 1 and "line 3" in result.output and "nothing imported" in result.output
    assert _get_directory(central, "").json()["residents"] == []


def test_site_add_generates_a_secret_that_then_authenticates(central_factory, tmp_path):
    db = tmp_path / "c2.db"
    result = CliRunner().invoke(central_cli, ["site", "add", "north-gate", "--db", str(db)])
    assert result.exit_code == 0
    secret = result.stdout.strip()
    assert len(secret) >= 32
    central = central_factory(db_path=db, secrets={})
    body = json.dumps({"batch_id": "b", "records": [{**record(1), "key": "north-gate:ticket:1:1"}]}).encode()
    h = protocol.signed_headers("north-gate", secret, int(time.time()), body)
    r = httpx.post(f"{central.url}/api/v1/sites/north-gate/batches", content=body, headers=h)
    assert r.status_code == 200 and r.json()["accepted"] == ["north-gate:ticket:1:1"]
    listed = CliRunner().invoke(central_cli, ["site", "list", "--db", str(db)])
    assert "north-gate" in listed.output and "1 records" in listed.output
