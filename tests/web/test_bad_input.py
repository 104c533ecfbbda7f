"""No 5xx for bad input (issue 15, item 1): integers beyond SQLite's 64-bit range, NULs and
lone surrogates, deeply nested JSON, FTS syntax in the visit search, other scripts' digits
in ID numbers, unknown fields on bodiless POSTs, 405 with Allow, and query parameters the
code and the OpenAPI document agree on. Every request goes through the real app."""

from __future__ import annotations

import re

import pytest

from kiosk.errors import Invalid
from kiosk.visits import id_number
from kiosk.web.api import MAX_JSON_DEPTH
from tests.conftest import PASSWORD, bearer

BIG = 10**30
HUGE_ID = "100000000000000000000"  # 10**20: more than SQLite's largest integer
ARABIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
JSON = "application/json"


def _refused(resp, status: int, code: str) -> None:
    assert resp.status_code == status, (resp.status_code, resp.get_data(as_text=True))
    assert resp.json["error"]["code"] == code, resp.json


@pytest.mark.parametrize("path", [
    f"/api/v1/tickets/{HUGE_ID}", f"/api/v1/visits/{HUGE_ID}", f"/api/v1/cases/{HUGE_ID}",
    f"/api/v1/calls/{HUGE_ID}", f"/api/v1/spot-checks/{HUGE_ID}", f"/api/v1/tickets/{2**63}",
    "/api/v1/tickets/" + "9" * 5000, "/api/v1/tickets/١٢"])
def test_a_path_id_that_cannot_exist_is_404(client, tokens, path):
    _refused(client.get(path, headers=bearer(tokens["manager"])), 404, "not_found")


def test_a_path_id_at_sqlites_limit_is_looked_up(client):
    resp = client.get(f"/api/v1/tickets/{2**63 - 1}")
    _refused(resp, 404, "not_found")
    assert resp.json["error"]["message"] == f"ticket {2**63 - 1} not found"


def test_actions_on_a_huge_path_id_are_404(client, tokens):
    staff = bearer(tokens["manager"])
    for path in (f"/api/v1/tickets/{HUGE_ID}/finish", f"/api/v1/visits/{HUGE_ID}/checkout",
                 f"/api/v1/calls/{HUGE_ID}/handled", f"/api/v1/cases/{HUGE_ID}/start"):
        _refused(client.post(path, headers=staff), 404, "not_found")


@pytest.mark.parametrize("path,body", [
    ("/api/v1/tickets", {"service": "A", "visit_id": BIG}),
    ("/api/v1/tickets", {"service": "A", "visit_id": 2**63}),
    ("/api/v1/cases", {"type": "complaint", "description": "leak", "ticket_id": BIG}),
    ("/api/v1/cases", {"type": "inquiry", "description": "x", "visit_id": -(2**63) - 1}),
    ("/api/v1/surveys", {"score": 3, "ticket_id": BIG}),
    ("/api/v1/surveys", {"score": BIG}),
    ("/api/v1/questionnaire", {"answers": [5, BIG, 5]}),
    ("/api/v1/residents/r1/card", {"days": BIG}),
    ("/api/v1/spot-checks", {"from": "2026-11-01", "to": "2026-11-30", "size": 5, "seed": BIG}),
])
def test_integers_beyond_64_bits_in_a_body_are_400(client, tokens, path, body):
    _refused(client.post(path, json=body, headers=bearer(tokens["manager"])), 400, "invalid_field")


def test_card_days_are_bounded(client, tokens):
    manager = bearer(tokens["manager"])
    for days in (10**6, 2**62):
        _refused(client.post("/api/v1/residents/r1/card", json={"days": days}, headers=manager), 400, "invalid_field")


@pytest.mark.parametrize("path,raw", [
    ("/api/v1/cases", '{"type": "complaint", "description": "water \\ud800 leak"}'),
    ("/api/v1/questionnaire", '{"answers": [5, 5, 5], "comment": "\\udfff"}'),
    ("/api/v1/checkins", '{"method": "manual", "visitor": {"name": "\\ud800", "phone": "13800138000", '
                         '"unit": "1-101"}}'),
    ("/api/v1/tickets", '{"service": "\\ud800"}'),
    ("/api/v1/tickets", '{"service": "A\\u0000"}'),
    ("/api/v1/cases", '{"type": "complaint", "description": "a\\u0000b"}'),
    ("/api/v1/checkins", '{"method": "manual", "visitor": {"name": "Wang", "phone": "13800138000", '
                         '"unit": "1-101", "\\ud800": 1}}'),
])
def test_lone_surrogates_and_nuls_in_json_strings_are_400(client, kiosk, path, raw):
    _refused(client.post(path, data=raw, content_type=JSON), 400, "invalid_field")
    assert kiosk.db.conn.execute("SELECT COUNT(*) FROM cases").fetchone()[0] == 0
    assert kiosk.db.conn.execute("SELECT COUNT(*) FROM visits").fetchone()[0] == 0


def test_a_surrogate_pair_is_one_character_and_accepted(client, kiosk):
    resp = client.post("/api/v1/cases", data='{"type": "complaint", "description": "leak \\ud83d\\udca7"}',
                       content_type=JSON)
    assert resp.status_code == 201
    assert kiosk.db.conn.execute("SELECT description FROM cases").fetchone()[0] == "leak \U0001f4a7"


@pytest.mark.parametrize("path", ["/api/v1/tickets", "/api/v1/checkins", "/api/v1/cases", "/api/v1/surveys",
                                  "/api/v1/questionnaire", "/api/v1/scans", "/api/v1/checkouts"])
@pytest.mark.parametrize("nested", ["[" * 5000 + "]" * 5000, '{"a":' * 5000 + "1" + "}" * 5000,
                                    "[" * 60_000])
def test_deeply_nested_json_on_public_posts_is_malformed(client, path, nested):
    _refused(client.post(path, data=nested, content_type=JSON), 400, "malformed_json")


def test_nesting_up_to_the_cap_is_parsed_and_brackets_in_strings_do_not_count(client):
    deep_enough = "[" * (MAX_JSON_DEPTH - 1) + "]" * (MAX_JSON_DEPTH - 1)
    _refused(client.post("/api/v1/tickets", data='{"service": ' + deep_enough + "}", content_type=JSON),
             400, "invalid_field")  # parsed, then refused for its type
    text = '"\\"' + "[" * 100 + '"'
    _refused(client.post("/api/v1/tickets", data='{"service": ' + text + "}", content_type=JSON),
             400, "unknown_service")


@pytest.mark.parametrize("raw", ['{"score": NaN}', '{"score": Infinity}', '{"score": ' + "9" * 5000 + "}"])
def test_non_json_numbers_are_malformed(client, raw):
    _refused(client.post("/api/v1/surveys", data=raw, content_type=JSON), 400, "malformed_json")


def test_body_that_is_not_utf8_is_malformed(client):
    _refused(client.post("/api/v1/tickets", data=b'{"service": "\xed\xa0\x80"}', content_type=JSON),
             400, "malformed_json")


@pytest.mark.parametrize("q", ["%00abc", "abc%00", "%00", "%22", "%22%22%22", "AND", "a%20OR%20b", "NEAR(",
                               "*", "name:x", "abc%22def", "^abc", "-abc"])
def test_fts_syntax_and_nul_in_the_visit_search_are_plain_text(client, tokens, q):
    resp = client.get(f"/api/v1/visits?q={q}", headers=bearer(tokens["security"]))
    assert resp.status_code == 200, resp.get_data(as_text=True)


def test_the_visit_search_finds_text_with_quotes_and_operators_literally(client, kiosk, tokens):
    kiosk.visits.checkin_visitor({"name": 'Li "Tiger" AND Co', "phone": "13911112222", "unit": "7-1-101"})
    kiosk.visits.checkin_visitor({"name": "Wang", "phone": "13933334444", "unit": "7-1-102"})
    security = bearer(tokens["security"])

    def total(q: str) -> int:
        resp = client.get("/api/v1/visits", query_string={"q": q}, headers=security)
        assert resp.status_code == 200, resp.json
        return resp.json["total"]

    assert total('"Tiger"') == 1 and total("AND Co") == 1 and total("AND") == 1
    assert total("\x00Tiger") == 1 and total('r" AND C') == 1 and total("OR") == 0


def test_the_store_drops_nul_from_an_fts_query(kiosk):
    kiosk.visits.checkin_visitor({"name": "Zhou Jie", "phone": "13911112222", "unit": "7-1-101"})
    rows, total = kiosk.visits.search(q="Zh\x00ou")
    assert total == 1 and rows[0]["name"] == "Zhou Jie"
    assert kiosk.visits.search(q='"\x00"')[1] == 0


def test_id_numbers_in_other_scripts_digits_fail_the_check(client, kiosk):
    number = id_number.with_check_char("11010519491231002")
    arabic = number.translate(ARABIC)
    with pytest.raises(Invalid) as refused:
        id_number.parse(arabic)
    assert refused.value.code == "id_format"
    resp = client.post("/api/v1/checkins", json={"method": "id", "id_number": arabic, "name": "Zhang"})
    _refused(resp, 400, "id_format")
    assert kiosk.db.conn.execute("SELECT COUNT(*) FROM visits").fetchone()[0] == 0
    full_width = number.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    assert id_number.parse(full_width).number == number  # NFKC still maps full-width digits


def test_a_card_payload_with_other_digits_in_its_expiry_is_malformed(client):
    resp = client.post("/api/v1/checkins", json={"method": "qr", "payload": "KR1:site:r1:²:sig"})
    _refused(resp, 400, "token_malformed")


@pytest.mark.parametrize("path", ["/api/v1/counters/1/call-next", "/api/v1/tickets/{id}/recall",
                                  "/api/v1/tickets/{id}/cancel", "/api/v1/calls/1/handled",
                                  "/api/v1/visits/1/checkout", "/api/v1/cases/1/start"])
def test_posts_without_fields_refuse_unknown_fields(client, tokens, path):
    ticket = client.post("/api/v1/tickets", json={"service": "A"}).json
    resp = client.post(path.format(id=ticket["id"]), json={"x": 1}, headers=bearer(tokens["manager"]))
    _refused(resp, 400, "unknown_field")


def test_call_next_takes_no_body_or_an_empty_object(client, tokens):
    staff = bearer(tokens["receptionist"])
    client.post("/api/v1/tickets", json={"service": "A"})
    assert client.post("/api/v1/counters/1/call-next", headers=staff).status_code == 200
    assert client.post("/api/v1/counters/1/call-next", json={}, headers=staff).status_code == 204
    _refused(client.post("/api/v1/counters/1/call-next", data="x", headers=staff), 415, "unsupported_media_type")
    _refused(client.post("/api/v1/counters/1/call-next", data="[" * 5000, content_type=JSON, headers=staff),
             400, "malformed_json")


@pytest.mark.parametrize("method", ["TRACE", "PUT", "DELETE", "PATCH"])
def test_unsupported_methods_answer_405_with_allow(client, method):
    resp = client.open("/api/v1/tickets", method=method)
    _refused(resp, 405, "method_not_allowed")
    assert set(resp.headers["Allow"].replace(" ", "").split(",")) >= {"GET", "POST"}
    page = client.open("/healthz", method=method)
    assert page.status_code == 405 and "GET" in page.headers["Allow"]


def test_405_on_a_page_carries_allow_too(client):
    resp = client.open("/login", method="TRACE")
    assert resp.status_code == 405 and "POST" in resp.headers["Allow"] and resp.mimetype == "text/html"


def _param(doc, path: str, name: str) -> dict:
    return next(p["schema"] for p in doc["paths"][path]["get"]["parameters"] if p["name"] == name)


def test_query_limits_agree_with_the_openapi_document(client, tokens):
    doc = client.get("/api/v1/openapi.json").json
    manager = bearer(tokens["manager"])
    for path, low, high in (("/api/v1/audit", 1, 1000), ("/api/v1/visits", 1, 200), ("/api/v1/calls", 1, 500),
                            ("/api/v1/cases", 1, 1000)):
        schema = _param(doc, path, "limit")
        assert (schema["type"], schema["minimum"], schema["maximum"]) == ("integer", low, high), path
        assert client.get(f"{path}?limit={low}", headers=manager).status_code == 200, path
        assert client.get(f"{path}?limit={high}", headers=manager).status_code == 200, path
        for bad in (low - 1, high + 1, "²", "١", "9" * 5000, "-1", "1.0"):
            assert client.get(f"{path}?limit={bad}", headers=manager).status_code == 400, (path, bad)
    assert _param(doc, "/api/v1/audit", "offset")["minimum"] == 0


def test_empty_query_parameters_mean_not_given_in_code_and_document(client, tokens):
    doc = client.get("/api/v1/openapi.json").json
    manager = bearer(tokens["manager"])
    for name in ("from", "to"):
        schema = _param(doc, "/api/v1/visits", name)
        assert schema.get("format") is None and "pattern" in schema
        assert client.get(f"/api/v1/visits?{name}=", headers=manager).status_code == 200
        # the document says YYYY-MM-DD, so the other forms date.fromisoformat takes are refused
        for bad in ("20261127", "2026-W48-5", "2026-11-27T00:00", "２０２６-11-27"):
            resp = client.get(f"/api/v1/visits?{name}={bad}", headers=manager)
            _refused(resp, 400, "invalid_date")
    assert "" in _param(doc, "/api/v1/visits", "method")["enum"]
    assert _param(doc, "/api/v1/calls", "status")["enum"] == ["", "missed"]
    assert client.get("/api/v1/calls?status=", headers=manager).status_code == 200
    _refused(client.get("/api/v1/calls?status=x", headers=manager), 400, "invalid_status")


def test_path_ids_in_the_document_are_bounded_as_the_routes_are(client):
    doc = client.get("/api/v1/openapi.json").json
    for path, item in doc["paths"].items():
        for op in item.values():
            for param in op.get("parameters", []):
                if param["in"] == "path" and param["schema"]["type"] == "integer":
                    assert param["schema"]["maximum"] == 2**63 - 1, (path, param)


def test_last_event_id_in_other_digits_is_ignored(client):
    resp = client.get("/api/v1/events", headers={"Last-Event-ID": "²"}, buffered=False)
    try:
        assert resp.status_code == 200
    finally:
        resp.close()


def test_security_pages_ignore_a_page_number_that_is_no_number(client, staff):
    token = re.search(r'name="csrf-token" content="([^"]+)"', client.get("/login").get_data(as_text=True)).group(1)
    client.post("/login", data={"username": staff["manager"], "password": PASSWORD, "csrf_token": token})
    for page in ("²", "1" * 30, "0"):
        assert client.get(f"/security/audit?page={page}").status_code == 200, page
