"""What fuzzing the API found, each pinned by a plain request through the real app: days at
datetime's limits in reports, filters and spot checks, other scripts' digits in periods
and due dates; and the shape of the OpenAPI document's error answers, generated in one
place (kiosk/web/openapi_common.py) for every operation."""

from __future__ import annotations

import pytest

from tests.conftest import bearer

EDGE_DAYS = ("0001-01-01", "9999-12-31", "1899-12-31", "3000-01-01")


def _refused(resp, status: int, code: str) -> None:
    assert resp.status_code == status, (resp.status_code, resp.get_data(as_text=True))
    assert resp.json["error"]["code"] == code, resp.json


@pytest.mark.parametrize("day", EDGE_DAYS)
def test_reports_for_days_at_datetimes_limits_are_400(client, tokens, day):
    manager = bearer(tokens["manager"])
    _refused(client.get(f"/api/v1/reports/daily/{day}", headers=manager), 400, "invalid_period")
    _refused(client.get(f"/api/v1/reports/monthly/{day[:7]}", headers=manager), 400, "invalid_period")


def test_reports_at_the_bounds_are_answered(client, tokens):
    manager = bearer(tokens["manager"])
    for path in ("daily/1900-01-01", "daily/2999-12-31", "monthly/1900-01", "monthly/2999-12"):
        assert client.get(f"/api/v1/reports/{path}", headers=manager).status_code == 200, path


@pytest.mark.parametrize("period", ["daily/٢٠٢٦-١١-٢٧", "daily/2026-11-27x", "monthly/２０２６-11"])
def test_report_periods_take_ascii_digits_only(client, tokens, period):
    _refused(client.get(f"/api/v1/reports/{period}", headers=bearer(tokens["manager"])), 400, "invalid_period")


@pytest.mark.parametrize("day", EDGE_DAYS)
def test_visit_filters_at_datetimes_limits_are_400(client, tokens, day):
    security = bearer(tokens["security"])
    for name in ("from", "to"):
        _refused(client.get(f"/api/v1/visits?{name}={day}", headers=security), 400, "invalid_date")


@pytest.mark.parametrize("day", EDGE_DAYS)
def test_spot_checks_over_days_at_datetimes_limits_are_400(client, tokens, day):
    resp = client.post("/api/v1/spot-checks", json={"from": day, "to": day, "size": 5},
                       headers=bearer(tokens["manager"]))
    _refused(resp, 400, "invalid_date")


@pytest.mark.parametrize("month,due", [("9999-12", "2026-12-31"), ("2026-12", "9999-12-31"),
                                       ("٢٠٢٦-١٢", "2026-12-31"), ("2026-12", "2026-1-5")])
def test_improvement_actions_refuse_months_and_days_out_of_range_or_script(client, kiosk, tokens, month, due):
    resp = client.post("/api/v1/improvement-actions", headers=bearer(tokens["manager"]),
                       json={"month": month, "finding": "f", "action": "a", "owner": "o", "due_date": due})
    assert resp.status_code == 400, resp.json
    assert resp.json["error"]["code"] in ("invalid_month", "invalid_date")
    assert kiosk.db.conn.execute("SELECT COUNT(*) FROM improvement_actions").fetchone()[0] == 0


def _operations(doc):
    for path, item in doc["paths"].items():
        for method, op in item.items():
            yield path, method, op


def test_every_operation_documents_the_errors_its_shape_implies(client):
    doc = client.get("/api/v1/openapi.json").json
    for path, method, op in _operations(doc):
        codes = set(op["responses"])
        assert "429" in codes and "Retry-After" in op["responses"]["429"]["headers"], (method, path)
        if "requestBody" in op:
            assert {"400", "413", "415"} <= codes, (method, path)
        if op.get("security"):
            assert {"401", "403"} <= codes, (method, path)
        if method == "post":
            assert {"401", "503"} <= codes, (method, path)
        if any(p["in"] == "path" for p in op.get("parameters", [])):
            assert "404" in codes, (method, path)
        for code, answer in op["responses"].items():
            if code.startswith(("4", "5")):
                assert answer["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}


def test_the_document_covers_every_api_route(app, client):
    doc = client.get("/api/v1/openapi.json").json
    documented = {(method.upper(), path) for path, method, _ in _operations(doc)}
    for rule in app.url_map.iter_rules():
        if not (rule.rule.startswith("/api/") or rule.rule == "/healthz"):
            continue
        path = rule.rule.replace("<int:", "{").replace("<", "{").replace(">", "}")
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            if "{action}" in path:  # the per-action routes are documented one path per action
                assert any(m == method and p.startswith(path.split("{action}")[0]) for m, p in documented), path
                continue
            assert (method, path) in documented, (method, path)


def test_null_in_an_optional_body_field_means_not_given_in_code_and_document(client):
    doc = client.get("/api/v1/openapi.json").json
    body = doc["paths"]["/api/v1/tickets"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body["properties"]["visit_id"]["nullable"] is True and "nullable" not in body["properties"]["service"]
    resp = client.post("/api/v1/tickets", json={"service": "A", "visit_id": None, "priority": None})
    assert resp.status_code == 201 and resp.json["priority"] is False
    _refused(client.post("/api/v1/tickets", json={"service": None}), 400, "missing_field")
    ticket_id = doc["paths"]["/api/v1/tickets/{ticket_id}"]["get"]["parameters"][0]["schema"]
    assert "nullable" not in ticket_id  # the shared id schema is copied, not changed
