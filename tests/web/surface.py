"""Shared by the public-surface tests: a site seeded with residents, visitors, calls,
tickets, cases and ratings whose personal fields carry marker strings, and test clients
that play each kind of caller (anonymous, unenrolled, enrolled devices, staff)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from kiosk.devices.callerid import CallerId
from kiosk.queue.rules import Action
from tests.checkin.conftest import with_check_char
from tests.conftest import PASSWORD

#: An address that is neither loopback nor in server.kiosk_addresses: someone on the hall's LAN.
OUTSIDER = "192.0.2.10"
#: The address the matrix test lists in server.kiosk_addresses (the stand-in's kiosk).
KIOSK_ADDRESS = "192.0.2.50"

RESIDENT_ID_NUMBER = with_check_char("11010519800202003")
VISITOR_ID_NUMBER = with_check_char("11010519900303004")


def masked_id(number: str) -> str:
    return number[:4] + "*" * 10 + number[-4:]


#: Every string that must never leave through the public surface. ASCII, so neither JSON
#: escapes nor HTML entities hide them; none survives name masking (first letter + stars).
MARKERS = {
    "resident name": "QZRESNAMEA", "resident name 2": "QZRESNAMEB", "resident unit": "QZUNITA",
    "resident unit 2": "QZUNITB", "resident phone": "13957770101", "resident phone 2": "13957770102",
    "resident id": "rQZRIDA", "resident id 2": "rQZRIDB",
    "resident ID number": RESIDENT_ID_NUMBER, "resident ID number masked": masked_id(RESIDENT_ID_NUMBER),
    "visitor name": "QZVISITOR", "visitor phone": "13957770404", "visitor unit": "QZVUNIT",
    "visitor purpose": "QZPURPOSE", "visitor ID number": VISITOR_ID_NUMBER,
    "visitor ID number masked": masked_id(VISITOR_ID_NUMBER),
    "caller name": "QZCALLER", "caller number": "13957770303",
    "case description": "QZCASEDESC", "case category": "QZCATEGORY", "case contact": "QZCONTACT",
    "case phone": "13957770202", "case unit": "QZCASEUNIT", "case answer": "QZANSWER", "case feedback": "QZFEEDBACK",
    "case note": "QZCASENOTE", "rating comment": "QZCOMMENT", "questionnaire comment": "QZQCOMMENT",
}


@dataclass
class Seeded:
    tickets: list[int] = field(default_factory=list)
    cases: list[int] = field(default_factory=list)
    visits: list[int] = field(default_factory=list)
    calls: list[int] = field(default_factory=list)
    resident_ids: list[str] = field(default_factory=list)
    spot_check: int | None = None


def seed(kiosk) -> Seeded:
    """Residents, check-ins of every method, a visitor, calls, tickets (one finished and
    rated), cases through their life, a questionnaire answer and a spot check, all
    through the services' real code paths."""
    m = MARKERS
    s = Seeded(resident_ids=[m["resident id"], m["resident id 2"]])
    kiosk.visits.import_residents(
        "id,name,unit,phone,id_number\n"
        f"{m['resident id']},{m['resident name']},{m['resident unit']},{m['resident phone']},"
        f"{m['resident ID number']}\n"
        f"{m['resident id 2']},{m['resident name 2']},{m['resident unit 2']},{m['resident phone 2']},\n")
    card = kiosk.visits.issue_card(m["resident id 2"], 30)
    s.visits.append(kiosk.visits.checkin_qr(card)["id"])
    s.visits.append(kiosk.visits.checkin_id(m["resident ID number"])["id"])
    s.visits.append(kiosk.visits.checkin_visitor({"name": m["visitor name"], "phone": m["visitor phone"],
                                                  "unit": m["visitor unit"], "purpose": m["visitor purpose"],
                                                  "id_number": m["visitor ID number"]})["id"])
    kiosk.visits.scan(card, source="camera")
    for number, name in ((m["resident phone"], ""), (m["caller number"], m["caller name"])):
        call = kiosk.calls.incoming(CallerId(number=number, name=name, kind="normal", date=None, time=None, at=0.0))
        s.calls.append(call["id"])
    q = kiosk.queue
    first = q.issue("A", visit_id=s.visits[0], resident_id=m["resident id 2"]).ticket
    kiosk.visits.link_ticket(s.visits[0], first["id"])
    q.call(first["id"], "1", "reception1")
    q.act(first["id"], Action.FINISH, actor="reception1")
    kiosk.surveys.answer(score=2, ticket_id=first["id"], comment=m["rating comment"], channel="tablet")
    second = q.issue("B", resident_id=m["resident id"]).ticket
    q.call(second["id"], "1", "reception1")
    third = q.issue("A", visit_id=s.visits[2]).ticket
    s.tickets += [first["id"], second["id"], third["id"]]
    complaint = kiosk.cases.create(type="complaint", description=m["case description"], channel="counter",
                                   resident_id=m["resident id"], category=m["case category"],
                                   contact_name=m["case contact"], contact_phone=m["case phone"], unit=m["case unit"],
                                   ticket_id=first["id"], actor="reception1")
    kiosk.cases.act(complaint["id"], "answer", actor="specialist1", has_role=lambda *r: True, text=m["case answer"])
    kiosk.cases.act(complaint["id"], "feedback", actor="specialist1", has_role=lambda *r: True,
                    text=m["case feedback"], method="phone")
    kiosk.cases.act(complaint["id"], "note", actor="specialist1", has_role=lambda *r: True, text=m["case note"])
    repair = kiosk.cases.create(type="repair", description=m["case description"] + " kiosk", channel="kiosk",
                                visit_id=s.visits[1], contact_phone=m["case phone"], unit=m["case unit"],
                                actor="kiosk")
    inquiry = kiosk.cases.create(type="inquiry", description=m["case description"], channel="phone",
                                 call_id=s.calls[1], contact_name=m["case contact"], actor="reception1")
    s.cases += [complaint["id"], repair["id"], inquiry["id"]]
    kiosk.surveys.answer(score=1, case_id=complaint["id"], comment=m["rating comment"], channel="phone")
    kiosk.surveys.answer_questionnaire([5, 4, 3], m["questionnaire comment"])
    day = kiosk.clock.now().date().isoformat()
    s.spot_check = kiosk.quality.draw(period_from=day, period_to=day, size=5, seed=1, actor="boss")["id"]
    return s


def csrf_of(client) -> str:
    """The CSRF token of the client's session (from the login page, which anyone may open)."""
    page = client.get("/login").get_data(as_text=True)
    found = re.search(r'name="csrf-token" content="([^"]+)"', page)
    assert found, "no CSRF token on the login page"
    return found.group(1)


def login(client, username: str) -> None:
    r = client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": csrf_of(client)})
    assert r.status_code == 302, f"login of {username} failed"


def path_values(rule, seeded: Seeded, kiosk, day: str, month: str) -> list[dict[str, Any]]:
    """Sensible values for a rule's path variables: every seeded id, real names and periods."""
    options: dict[str, list[Any]] = {}
    for arg in rule.arguments:
        if arg == "ticket_id":
            options[arg] = seeded.tickets
        elif arg == "case_id":
            options[arg] = seeded.cases
        elif arg == "visit_id":
            options[arg] = seeded.visits
        elif arg == "call_id":
            options[arg] = seeded.calls
        elif arg == "resident_id":
            options[arg] = seeded.resident_ids
        elif arg in ("check_id",):
            options[arg] = [seeded.spot_check]
        elif arg in ("item_id", "action_id"):
            options[arg] = [1]
        elif arg == "counter":
            options[arg] = ["1"]
        elif arg == "kind":
            options[arg] = ["daily", "monthly"]
        elif arg == "period":
            options[arg] = [day, month]
        elif arg == "fmt":
            options[arg] = ["csv", "xlsx", "html"]
        elif arg == "filename":
            options[arg] = ["js/app.js"]
        elif arg == "name":
            previews = sorted((kiosk.config.data_dir / "prints").glob("*.png"))
            options[arg] = [p.stem for p in previews[:3]] or ["none"]
        elif arg == "cap":
            options[arg] = ["AAAAAAAAAAAAAAAAAAAAAA"]
        elif arg == "token":
            options[arg] = ["not-a-pairing-token"]
        elif arg == "action":
            options[arg] = ["note"] if "case" in rule.rule else ["recall"]
        else:
            raise AssertionError(f"no sensible value for <{arg}> in {rule.rule}: add one to tests/web/surface.py")
    combos: list[dict[str, Any]] = [{}]
    for arg, values in options.items():
        combos = [{**c, arg: v} for c in combos for v in values]
    # a report's period must fit its kind
    return [c for c in combos if "period" not in c or (len(c["period"]) == 10) == (c.get("kind") == "daily")]


def url_of(rule, values: dict[str, Any]) -> str:
    built = rule.build(values, append_unknown=False)
    assert built is not None, f"cannot build {rule.rule} from {values}"
    url = built[1]
    return url + "?data=A001" if rule.rule == "/kiosk/qr.svg" else url
