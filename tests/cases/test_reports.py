"""The daily and monthly reports against a seeded two-month history generated in the test
through the real services (tickets issued, called and finished; cases recorded, answered,
fed back and closed; ratings; a questionnaire; spot checks; improvement actions) with the
settable clock. Every figure is recomputed here by hand from the test's own log of what
it did, then compared with the page, the CSV, the XLSX and the command line."""

from __future__ import annotations

import csv
import io
import math
import random
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

from kiosk.queue.rules import Action
from kiosk.runtime import Kiosk
from kiosk.web import create_app
from tests.conftest import PASSWORD

TZ = ZoneInfo("Asia/Shanghai")
LETTERS = "ABCDEF"
CATEGORIES = ["噪音", "停车", "卫生", "电梯", "物业费"]


@dataclass
class Log:
    tickets: dict = field(default_factory=dict)  # id -> {service, issued, called, finished, actor}
    # id -> {type, channel, category, created, start, stop, closed, closed_by}
    cases: dict = field(default_factory=dict)
    surveys: list = field(default_factory=list)  # (when, score)


def seed_history(k: Kiosk, clock, seed: int = 7) -> Log:
    rnd = random.Random(seed)
    log = Log()
    days = [datetime(2026, 10, d, 9, 0, tzinfo=TZ) for d in range(2, 31, 4)] + \
           [datetime(2026, 11, d, 9, 0, tzinfo=TZ) for d in range(1, 30, 3)]
    for start in days:
        clock.set(start)
        issued = []
        for _ in range(rnd.randint(14, 20)):
            clock.advance(minutes=rnd.randint(0, 6), seconds=rnd.randint(0, 59))
            service = rnd.choice(LETTERS)
            t = k.queue.issue(service).ticket
            log.tickets[t["id"]] = {"service": service, "issued": clock.now(), "called": None, "finished": None,
                                    "actor": None}
            issued.append(t["id"])
        for _ in range(len(issued)):
            if rnd.random() < 0.1:
                continue  # some are never called
            clock.advance(minutes=rnd.randint(1, 9), seconds=rnd.randint(0, 59))
            counter, actor = rnd.choice([("1", "reception1"), ("2", "reception2")])
            called = k.queue.call_next(counter, actor)
            if called is None:
                break
            # call_next finishes what the counter had: log it at this moment
            for _tid, entry in log.tickets.items():
                if entry["called"] and entry["finished"] is None and entry["counter"] == counter:
                    entry["finished"] = clock.now()
            entry = log.tickets[called["id"]]
            entry.update(called=clock.now(), actor=actor, counter=counter)
            clock.advance(minutes=rnd.randint(1, 12), seconds=rnd.randint(0, 59))
            if rnd.random() < 0.8:
                k.queue.act(called["id"], Action.FINISH, actor=actor)
                entry["finished"] = clock.now()
                if rnd.random() < 0.6:
                    score = rnd.choice([1, 2, 3, 3, 4, 4, 4, 5, 5, 5])
                    k.surveys.answer(ticket_id=called["id"], score=score, channel="tablet")
                    log.surveys.append((clock.now(), score))
            if rnd.random() < 0.45:
                add_case(k, clock, rnd, log, called["id"], entry)
        # close the day: finish what counters still have
        clock.advance(minutes=5)
        for counter in ("1", "2"):
            for t in k.queue.at_counter(counter):
                k.queue.act(t["id"], Action.FINISH, actor="reception1")
                log.tickets[t["id"]]["finished"] = clock.now()
        for _ in range(rnd.randint(0, 3)):
            k.surveys.answer_questionnaire([rnd.randint(1, 5) for _ in k.config.survey.questions])
    return log


def add_case(k, clock, rnd, log, ticket_id, ticket_entry):
    ctype = rnd.choice(["inquiry", "inquiry", "complaint", "complaint", "repair", "other"])
    channel = rnd.choice(["counter", "counter", "phone", "kiosk", "app"]) if ctype != "inquiry" else "counter"
    category = rnd.choice(CATEGORIES)
    link = ctype == "inquiry" and rnd.random() < 0.5
    c = k.cases.create(type=ctype, description=f"{category} 问题", channel=channel, category=category,
                       ticket_id=ticket_id if link else None, actor="reception1")
    start = ticket_entry["issued"] if link else clock.now()
    entry = {"type": ctype, "channel": channel, "category": category, "created": clock.now(), "start": start,
             "stop": None, "closed": None, "closed_by": None}
    log.cases[c["id"]] = entry
    has = lambda *roles: True  # noqa: E731  (a manager-level actor)
    roll = rnd.random()
    if ctype == "inquiry":
        if roll < 0.85:
            k.cases.act(c["id"], "answer", actor="reception1", has_role=has, text="已答复")
            entry["stop"] = clock.now()
            if rnd.random() < 0.7:
                k.cases.act(c["id"], "close", actor="reception1", has_role=has)
                entry["closed"], entry["closed_by"] = clock.now(), "reception1"
        return
    later = clock.now() + timedelta(hours=rnd.choice([2, 10, 20, 30, 60]))
    if roll < 0.75:
        saved = clock.now()
        clock.set(later)
        k.cases.act(c["id"], "feedback", actor="specialist1", has_role=has, text="已处理", method="phone")
        entry["stop"] = clock.now()
        if rnd.random() < 0.6:
            k.cases.act(c["id"], "close", actor="specialist1", has_role=has)
            entry["closed"], entry["closed_by"] = clock.now(), "specialist1"
        clock.set(saved)


# -- figures by hand ------------------------------------------------------------------------
MINUTES = {"inquiry": 5, "complaint": 1440, "repair": 2880, "other": 1440}


def in_month(moment, month):
    return moment is not None and moment.astimezone(TZ).strftime("%Y-%m") == month


def pct(part, whole):
    return round(100.0 * part / whole, 1) if whole else None


def nearest_rank_p90(values):
    s = sorted(values)
    return round(s[math.ceil(0.9 * len(s)) - 1], 1)


def expected_month(log: Log, month: str, now: datetime) -> dict:
    tickets = {i: t for i, t in log.tickets.items() if in_month(t["issued"], month)}
    cases = {i: c for i, c in log.cases.items() if in_month(c["created"], month)}

    def state(c):
        due = c["start"] + timedelta(minutes=MINUTES[c["type"]])
        stop = c["stop"]
        if stop is not None:
            return "met" if stop <= due else "missed"
        return "overdue" if now >= due else "open"

    states = {i: state(c) for i, c in cases.items()}
    inq = [i for i, c in cases.items() if c["type"] == "inquiry"]
    comp = [i for i, c in cases.items() if c["type"] == "complaint"]
    scores = [s for when, s in log.surveys if in_month(when, month)]
    waits = defaultdict(list)
    for t in tickets.values():
        if t["called"]:
            waits[t["service"]].append((t["called"] - t["issued"]).total_seconds() / 60)
    handling = defaultdict(list)
    for t in log.tickets.values():
        if t["finished"] and in_month(t["finished"], month):
            handling[t["actor"]].append((t["finished"] - t["called"]).total_seconds() / 60)
    closed = Counter(c["closed_by"] for c in log.cases.values() if c["closed"] and in_month(c["closed"], month))
    return {
        "tickets": len(tickets),
        "served": sum(1 for t in tickets.values() if t["finished"]),
        "cases": len(cases),
        "inquiry_5min": pct(sum(states[i] == "met" for i in inq), len(inq)),
        "complaint_24h": pct(sum(states[i] == "met" for i in comp), len(comp)),
        "overdue": sum(s in ("overdue", "missed") for s in states.values()),
        "satisfaction": round(sum(scores) / len(scores), 2) if scores else None,
        "surveys": len(scores),
        "score_counts": Counter(scores),
        "waits": {s: (len(v), round(statistics.median(v), 1), nearest_rank_p90(v)) for s, v in waits.items()},
        "staff": {a: (len(v), round(statistics.median(v), 1), closed[a]) for a, v in handling.items()},
        "closed": closed,
        "complaint_categories": Counter(c["category"] for c in cases.values() if c["type"] == "complaint"),
        "per_day": Counter((t["issued"].astimezone(TZ).date().isoformat(), t["service"]) for t in tickets.values()),
    }


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    """One seeded history for the module (generating it takes a few seconds)."""
    from kiosk.clock import FixedClock
    from kiosk.config import Config

    cfg = Config()
    cfg.database.path = str(tmp_path_factory.mktemp("seeded") / "var" / "kiosk.db")
    cfg.tts.output = "off"
    cfg.cases.watch_interval_s = 3600.0
    clock = FixedClock(datetime(2026, 10, 1, 8, 0, tzinfo=TZ))
    k = Kiosk(cfg, clock=clock, start_workers=False)  # no spooler: issuing does not wait for prints
    log = seed_history(k, clock)
    # spot checks and improvement actions
    k.quality.add_action(month="2026-10", finding="投诉反馈慢", action="每日下午复核投诉", owner="经理 张敏",
                         due_date="2026-11-15")
    done = k.quality.add_action(month="2026-10", finding="电梯报修多", action="联系维保", owner="后勤",
                                due_date="2026-11-10")
    k.quality.update_action(done["id"], status="done", progress="已完成")
    check = k.quality.draw(period_from="2026-11-01", period_to="2026-11-30", size=12, seed=42)
    verdicts = ["good", "acceptable", "poor"]
    for n, item in enumerate(check["items"][:9]):
        k.quality.judge(item["id"], verdicts[n % 3], "抽查")
    clock.set(datetime(2026, 12, 1, 10, 0, tzinfo=TZ))
    yield k, clock, log, check
    k.stop()


def test_seeded_history_is_big_enough(seeded):
    k, clock, log, _ = seeded
    assert len(log.tickets) >= 250 and len(log.cases) >= 80 and len(log.surveys) >= 100
    assert {c["type"] for c in log.cases.values()} == {"inquiry", "complaint", "repair", "other"}


@pytest.mark.parametrize("month", ["2026-11", "2026-10"])
def test_monthly_figures_equal_the_hand_computed_ones(seeded, month):
    k, clock, log, check = seeded
    report = k.reports.monthly(month)
    exp = expected_month(log, month, clock.now())
    kpi = {x.key: x.value for x in report.kpis}
    for key in ("tickets", "served", "cases", "inquiry_5min", "complaint_24h", "overdue", "satisfaction", "surveys"):
        assert kpi[key] == exp[key], key
    waits = {row[0][0]: tuple(row[1:]) for row in report.table("wait_times").rows if row[1]}
    assert waits == exp["waits"]
    dist = {row[0]: row[1] for row in report.table("satisfaction").rows}
    assert dist == {s: exp["score_counts"][s] for s in (1, 2, 3, 4, 5)}
    staff = {row[0]: tuple(row[1:]) for row in report.table("staff").rows}
    for actor, figures in exp["staff"].items():
        assert staff[actor] == figures, actor
    tops = {row[0]: row[1] for row in report.table("top_complaints").rows}
    assert tops == dict(exp["complaint_categories"])
    per_day = report.table("tickets_per_day")
    for row in per_day.rows:
        assert row[1:-1] == [exp["per_day"][(row[0], s)] for s in LETTERS]
    assert sum(r[-1] for r in per_day.rows) == exp["tickets"]
    if month == "2026-11":
        prev = expected_month(log, "2026-10", clock.now())
        assert report.kpi("tickets").previous == prev["tickets"]
        assert report.kpi("satisfaction").previous == prev["satisfaction"]
        judged = [i for i in k.quality.spot_check(check["id"])["items"] if i["verdict"]]
        assert kpi["spot_poor"] == pct(sum(i["verdict"] == "poor" for i in judged), len(judged)) == 33.3
        actions = report.table("actions").rows
        assert [r[1] for r in actions] == ["投诉反馈慢"]  # the done one from October is not carried over


def test_daily_figures_equal_the_hand_computed_ones(seeded):
    k, clock, log, _ = seeded
    day = "2026-11-04"
    report = k.reports.daily(day)
    cases = [c for c in log.cases.values() if c["created"].astimezone(TZ).date().isoformat() == day]
    assert report.kpi("cases").value == len(cases)
    assert report.kpi("inquiries").value == sum(c["type"] == "inquiry" for c in cases)
    assert report.kpi("complaints").value == sum(c["type"] == "complaint" for c in cases)
    assert report.kpi("tickets").value == sum(t["issued"].astimezone(TZ).date().isoformat() == day
                                              for t in log.tickets.values())
    assert report.kpi("open").value == sum(c["closed"] is None for c in cases)
    by_cat = Counter((c["type"], c["category"]) for c in cases if c["type"] in ("inquiry", "complaint"))
    names = {"inquiry": "咨询", "complaint": "投诉"}
    assert {(r[0], r[1]): r[2] for r in report.table("by_category").rows} == \
        {(names[t], cat): n for (t, cat), n in by_cat.items()}
    channels = Counter(c["channel"] for c in cases)
    totals = {r[0]: r[-1] for r in report.table("by_channel").rows}
    assert totals == {"前台": channels["counter"], "电话": channels["phone"], "自助机": channels["kiosk"],
                      "APP": channels["app"]}


def login(client, username: str) -> None:
    import re

    token = re.search(r'name="csrf-token" content="([^"]+)"', client.get("/login").get_data(as_text=True)).group(1)
    r = client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token})
    assert r.status_code == 302


def _csv_sections(text: str) -> dict[str, list[list[str]]]:
    sections, current = {}, None
    for row in csv.reader(io.StringIO(text.lstrip("\ufeff"))):
        if row and row[0].startswith("# "):
            current = row[0][2:]
            sections[current] = []
        elif current and row:
            sections[current].append(row)
    return sections


def test_page_csv_xlsx_and_cli_hold_the_same_numbers(seeded, tmp_path):
    k, clock, log, _ = seeded
    k.auth.add_user("boss", PASSWORD, "manager")
    app = create_app(k.services, TESTING=True)
    client = app.test_client()
    login(client, "boss")
    page = client.get("/reports/monthly?month=2026-11")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "<svg" in html and "cdn" not in html.lower()
    report = k.reports.monthly("2026-11")
    from kiosk.reports.render import fmt

    for kpi in report.kpis:
        assert f'data-kpi="{kpi.key}"><div class="v"><span data-value>{fmt(kpi.value)}</span>' in html
    csv_text = client.get("/reports/monthly/2026-11.csv").get_data(as_text=True)
    sections = _csv_sections(csv_text)
    csv_kpis = {r[0]: r[2] for r in sections["kpis"][1:]}
    xlsx = load_workbook(io.BytesIO(client.get("/reports/monthly/2026-11.xlsx").data))
    xlsx_kpis = {r[0]: r[2] for r in xlsx["kpis"].iter_rows(min_row=3, values_only=True)}
    for kpi in report.kpis:
        assert csv_kpis[kpi.key] == ("" if kpi.value is None else str(kpi.value))
        assert xlsx_kpis[kpi.key] == kpi.value
    for table in report.tables:
        def norm(rows):
            return [["" if v is None else str(v) for v in r] for r in rows]

        assert norm(table.rows) == sections[table.key][1:], table.key
        sheet = [list(r) for r in xlsx[table.key].iter_rows(min_row=3, values_only=True)]
        assert len(sheet) == len(table.rows), table.key
        for got, want in zip(sheet, table.rows, strict=False):
            for g, w in zip(got, want, strict=False):
                if isinstance(w, (int, float)):
                    assert isinstance(g, (int, float)) and float(g) == float(w), table.key  # numbers stay numbers
                else:
                    assert ("" if g is None else str(g)) == ("" if w is None else str(w)), table.key
    # the command line writes the same three files
    config_path = tmp_path / "kiosk.toml"
    config_path.write_text(f'[database]\npath = "{k.config.database.path}"\n')
    result = CliRunner().invoke(__import__("kiosk.cli", fromlist=["main"]).main,
                                ["report", "monthly", "--month", "2026-11", "--out", str(tmp_path / "out"),
                                 "--config", str(config_path)])
    assert result.exit_code == 0, result.output
    written = _csv_sections((tmp_path / "out" / "monthly-2026-11.csv").read_text(encoding="utf-8"))
    # (the command line runs on the real clock, so only the figures that do not depend on "now" are compared)
    for key in ("wait_times", "tickets_per_day", "satisfaction", "staff", "top_complaints"):
        assert written[key] == sections[key], key
    assert (tmp_path / "out" / "monthly-2026-11.xlsx").stat().st_size > 0
    assert "<svg" in (tmp_path / "out" / "monthly-2026-11.html").read_text(encoding="utf-8")
    result = CliRunner().invoke(__import__("kiosk.cli", fromlist=["main"]).main,
                                ["report", "daily", "--date", "2026-11-04", "--out", str(tmp_path / "out"),
                                 "--config", str(config_path)])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out" / "daily-2026-11-04.xlsx").exists()


def test_spot_check_sample_is_reproducible(seeded):
    k, clock, log, check = seeded
    again = k.quality.draw(period_from="2026-11-01", period_to="2026-11-30", size=12, seed=42)
    assert [(i["item_kind"], i["item_id"]) for i in again["items"]] == \
        [(i["item_kind"], i["item_id"]) for i in check["items"]]
    other = k.quality.draw(period_from="2026-11-01", period_to="2026-11-30", size=12, seed=43)
    assert [(i["item_kind"], i["item_id"]) for i in other["items"]] != \
        [(i["item_kind"], i["item_id"]) for i in check["items"]]
    assert {i["item_kind"] for i in check["items"]} == {"ticket", "case"}
