"""The figures of the daily consolidation and the monthly analysis, read from the store.

Periods are calendar days / months of the site's time zone; stored times are UTC text,
so each period becomes a [start, end) pair of stored-time strings. Labels are bilingual
(Chinese first) because the same tables go into the page, the CSV and the XLSX.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta
from typing import Any

from kiosk.cases import rules
from kiosk.cases.rules import Deadlines
from kiosk.clock import FIRST_DAY, LAST_DAY, Clock, day_in_range, db_time, to_iso
from kiosk.config import Config
from kiosk.errors import Invalid
from kiosk.names import CASE_TYPE_NAMES, case_number
from kiosk.reports.model import Kpi, Report, Table, mean, median, p90, share
from kiosk.store.db import Database

TYPE_ZH = {t: zh for t, (zh, _en) in CASE_TYPE_NAMES.items()}
CHANNEL_ZH = {"counter": "前台", "phone": "电话", "kiosk": "自助机", "app": "APP"}
STATUS_ZH = {"open": "待处理", "in_progress": "处理中", "feedback_given": "已反馈", "closed": "已结案"}
SLA_ZH = {"ok": "未超时 on time", "due_soon": "即将到期 due soon", "overdue": "已超时 overdue",
          "met": "已达标 met", "missed": "超时完成 late"}
VERDICT_ZH = {"good": "良好", "acceptable": "合格", "poor": "不合格"}


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _bi(zh: str, en: str) -> str:
    return f"{zh} {en}"


def _parse_period(text: str, fmt: str) -> date:
    try:
        return datetime.strptime(text, fmt).date()
    except ValueError:
        raise Invalid("invalid_period", "the date is YYYY-MM-DD and the month YYYY-MM") from None


def _requested_period(text: str, fmt: str) -> date:
    """A period a report is asked for: its day (or first day) between FIRST_DAY and LAST_DAY,
    so the day after it and the month before it stay within datetime's range."""
    day = _parse_period(text, fmt)
    if not day_in_range(day):
        raise Invalid("invalid_period", f"the period must lie between {FIRST_DAY.year} and {LAST_DAY.year}")
    return day


def month_bounds(month: str) -> tuple[date, date]:
    first = _parse_period(month, "%Y-%m")
    nxt = (first.replace(day=28) + timedelta(days=4)).replace(day=1)
    return first, nxt


def previous_month(month: str) -> str:
    first, _ = month_bounds(month)
    return (first - timedelta(days=1)).strftime("%Y-%m")


class Reports:
    def __init__(self, db: Database, config: Config, clock: Clock) -> None:
        self.db = db
        self.config = config
        self.clock = clock
        self.deadlines = Deadlines.from_config(config.cases)

    # -- helpers ----------------------------------------------------------------------
    def _span(self, first: date, end: date) -> tuple[str, str]:
        tz = self.clock.tz
        return (db_time(datetime.combine(first, datetime.min.time(), tz)),
                db_time(datetime.combine(end, datetime.min.time(), tz)))

    def _local(self, text: str) -> datetime:
        """A stored time that is never NULL (a case's due_at) in the site's time zone."""
        return datetime.fromisoformat(text).astimezone(self.clock.tz)

    def _day_of(self, first: date, end: date):
        """stored time → local day ISO, by bisecting the days' stored-time boundaries (no per-row tz maths)."""
        import bisect

        days = [first + timedelta(days=i) for i in range((end - first).days)]
        bounds = [self._span(d, d)[0] for d in days]
        labels = [d.isoformat() for d in days]

        def day_of(stored: str) -> str:
            return labels[max(0, bisect.bisect_right(bounds, stored) - 1)]
        return day_of

    def _cases(self, start: str, end: str) -> list[dict]:
        return self.db.query("SELECT * FROM cases WHERE created_at >= ? AND created_at < ? ORDER BY id", (start, end))

    def _sla(self, case: dict, now: datetime) -> str:
        def utc(text: str | None) -> datetime | None:  # aware UTC times compare with `now` as they are
            return _utc(text) if text else None

        stopped = rules.clock_stopped_at(case["type"], first_answer_at=utc(case["first_answer_at"]),
                                         feedback_at=utc(case["feedback_at"]), closed_at=utc(case["closed_at"]))
        return rules.sla_state(now, _utc(case["clock_start"]), _utc(case["due_at"]), stopped, self.deadlines)

    def _service_name(self, letter: str) -> str:
        s = self.config.service(letter)
        return f"{letter} {s.name_zh}" if s else letter

    # -- daily ------------------------------------------------------------------------
    def daily(self, day: str) -> Report:
        first = _requested_period(day, "%Y-%m-%d")
        start, end = self._span(first, first + timedelta(days=1))
        now = self.clock.now()
        cases = self._cases(start, end)
        ic = [c for c in cases if c["type"] in ("inquiry", "complaint")]
        report = Report("daily", day, f"每日汇总 Daily consolidation {day}", to_iso(now))
        tickets = self.db.query(
            "SELECT service, status, issued_at, called_at FROM tickets WHERE issued_at >= ? AND issued_at < ?",
            (start, end))
        report.kpis = [
            Kpi("tickets", _bi("取号", "Tickets"), len(tickets)),
            Kpi("served", _bi("已办结号票", "Tickets served"), sum(t["status"] == "done" for t in tickets)),
            Kpi("inquiries", _bi("咨询", "Inquiries"), sum(c["type"] == "inquiry" for c in cases)),
            Kpi("complaints", _bi("投诉", "Complaints"), sum(c["type"] == "complaint" for c in cases)),
            Kpi("cases", _bi("全部事项", "All cases"), len(cases)),
            Kpi("open", _bi("未结案", "Still open"), sum(c["status"] != "closed" for c in cases)),
            Kpi("overdue", _bi("超时", "Overdue"), sum(self._sla(c, now) in ("overdue", "missed") for c in cases)),
        ]
        by_cat = Counter((c["type"], c["category"] or "—") for c in ic)
        report.tables.append(Table("by_category", _bi("咨询与投诉分类", "Inquiries and complaints by category"),
                                   [_bi("类型", "Type"), _bi("分类", "Category"), _bi("数量", "Count")],
                                   [[TYPE_ZH[t], cat, n] for (t, cat), n in sorted(by_cat.items(),
                                                                                   key=lambda kv: (-kv[1], kv[0]))],
                                   chart="bar"))
        types = ("inquiry", "complaint", "repair", "other")
        for key, field, names, title in (("by_status", "status", STATUS_ZH, _bi("按状态", "By status")),
                                         ("by_channel", "channel", CHANNEL_ZH, _bi("按渠道", "By channel"))):
            counts = Counter((c[field], c["type"]) for c in cases)
            report.tables.append(Table(key, title,
                                       [_bi("项", "Item")] + [TYPE_ZH[t] for t in types] + [_bi("合计", "Total")],
                                       [[names[v]] + [counts[(v, t)] for t in types]
                                        + [sum(counts[(v, t)] for t in types)]
                                        for v in names]))
        handlers = Counter(c["closed_by"] or c["assignee"] or c["created_by"] or "—" for c in cases)
        report.tables.append(Table("by_handler", _bi("处理人", "Handled by"),
                                   [_bi("员工", "Staff"), _bi("数量", "Count")],
                                   [[h, n] for h, n in sorted(handlers.items(), key=lambda kv: (-kv[1], kv[0]))]))
        still_open = self.db.query("SELECT * FROM cases WHERE status != 'closed' AND created_at < ? ORDER BY due_at",
                                   (end,))
        report.tables.append(Table("still_open", _bi("仍未结案", "Still open"),
                                   ["编号 No.", _bi("类型", "Type"), _bi("内容", "Description"), _bi("状态", "Status"),
                                    _bi("期限", "Due"), "SLA"],
                                   [[case_number(c["id"]), TYPE_ZH[c["type"]], c["description"][:80],
                                     STATUS_ZH[c["status"]], to_iso(self._local(c["due_at"]))[:16].replace("T", " "),
                                     SLA_ZH[self._sla(c, now)]]
                                    for c in still_open], collapse=False))
        return report

    # -- monthly ----------------------------------------------------------------------
    def _month_figures(self, month: str) -> dict[str, Any]:
        first, nxt = month_bounds(month)
        start, end = self._span(first, nxt)
        now = self.clock.now()
        # plain tuples (origin_service, status, issued_at, called_at): 20,000 rows a month
        tickets = self.db.conn.execute(
            "SELECT origin_service, status, issued_at, called_at FROM tickets WHERE issued_at >= ? AND issued_at < ?",
            (start, end)).fetchall()
        cases = self._cases(start, end)
        surveys = self.db.query("SELECT score FROM surveys WHERE created_at >= ? AND created_at < ?", (start, end))
        inquiries = [c for c in cases if c["type"] == "inquiry"]
        complaints = [c for c in cases if c["type"] == "complaint"]
        slas = {c["id"]: self._sla(c, now) for c in cases}
        return {
            "first": first, "nxt": nxt, "start": start, "end": end, "now": now, "tickets": tickets, "cases": cases,
            "surveys": surveys, "slas": slas,
            "tickets_n": len(tickets),
            "served_n": sum(t[1] == "done" for t in tickets),
            "cases_n": len(cases),
            "inquiry_5min": share(sum(slas[c["id"]] == "met" for c in inquiries), len(inquiries)),
            "complaint_24h": share(sum(slas[c["id"]] == "met" for c in complaints), len(complaints)),
            "overdue_n": sum(s in ("overdue", "missed") for s in slas.values()),
            "satisfaction": mean([s["score"] for s in surveys]),
            "surveys_n": len(surveys),
        }

    def monthly(self, month: str) -> Report:
        _requested_period(month, "%Y-%m")
        f = self._month_figures(month)
        prev_month = previous_month(month)
        p = self._month_figures(prev_month)
        report = Report("monthly", month, f"月度分析 Monthly analysis {month}", to_iso(f["now"]))
        report.kpis = [
            Kpi("tickets", _bi("取号量", "Tickets"), f["tickets_n"], p["tickets_n"]),
            Kpi("served", _bi("已办结", "Served"), f["served_n"], p["served_n"]),
            Kpi("cases", _bi("事项", "Cases"), f["cases_n"], p["cases_n"]),
            Kpi("inquiry_5min", _bi("咨询5分钟内答复率", "Inquiries answered within 5 min"), f["inquiry_5min"],
                p["inquiry_5min"], "%"),
            Kpi("complaint_24h", _bi("投诉24小时内反馈率", "Complaints fed back within 24 h"), f["complaint_24h"],
                p["complaint_24h"], "%"),
            Kpi("overdue", _bi("超时事项", "Overdue cases"), f["overdue_n"], p["overdue_n"]),
            Kpi("satisfaction", _bi("满意度均分", "Satisfaction average"), f["satisfaction"], p["satisfaction"], "/5"),
            Kpi("surveys", _bi("评价数", "Ratings"), f["surveys_n"], p["surveys_n"]),
        ]
        days = [(f["first"] + timedelta(days=i)).isoformat() for i in range((f["nxt"] - f["first"]).days)]
        letters = [s.letter for s in self.config.services]
        day_of = self._day_of(f["first"], f["nxt"])
        per_day = Counter((day_of(t[2]), t[0]) for t in f["tickets"])
        report.tables.append(Table("tickets_per_day", _bi("每日取号量（按服务）", "Tickets per day by service"),
                                   [_bi("日期", "Day")] + [self._service_name(x) for x in letters]
                                   + [_bi("合计", "Total")],
                                   [[d] + [per_day[(d, x)] for x in letters] + [sum(per_day[(d, x)] for x in letters)]
                                    for d in days], chart="stacked"))
        case_day = Counter((day_of(c["created_at"]), c["channel"]) for c in f["cases"])
        report.tables.append(Table("cases_per_day", _bi("每日事项（按渠道）", "Cases per day by channel"),
                                   [_bi("日期", "Day")] + [CHANNEL_ZH[c] for c in rules.CHANNELS]
                                   + [_bi("合计", "Total")],
                                   [[d] + [case_day[(d, c)] for c in rules.CHANNELS] +
                                    [sum(case_day[(d, c)] for c in rules.CHANNELS)] for d in days], chart="stacked"))
        waits: dict[str, list[float]] = defaultdict(list)
        for service, _status, issued_at, called_at in f["tickets"]:
            if called_at:
                waits[service].append(  # stored times are UTC: subtract them as they are
                    (_utc(called_at) - _utc(issued_at)).total_seconds() / 60.0)
        report.tables.append(Table("wait_times", _bi("等候时间（分钟）", "Wait time (minutes)"),
                                   [_bi("服务", "Service"), _bi("已叫号", "Called"), _bi("中位数", "Median"), "P90"],
                                   [[self._service_name(x), len(waits[x]), median(waits[x]), p90(waits[x])]
                                    for x in letters], chart="bar", chart_column=2))
        by_type = Counter(c["type"] for c in f["cases"])
        met = Counter(c["type"] for c in f["cases"] if f["slas"][c["id"]] == "met")
        late = Counter(c["type"] for c in f["cases"] if f["slas"][c["id"]] in ("overdue", "missed"))
        report.tables.append(Table("sla", _bi("服务时限达成", "Service-level results"),
                                   [_bi("类型", "Type"), _bi("数量", "Cases"), _bi("按时", "On time"),
                                    _bi("超时", "Overdue"), _bi("按时率%", "On-time %")],
                                   [[TYPE_ZH[t], by_type[t], met[t], late[t], share(met[t], by_type[t])]
                                    for t in rules.TYPES]))
        dist = Counter(s["score"] for s in f["surveys"])
        report.tables.append(Table("satisfaction", _bi("满意度分布", "Satisfaction distribution"),
                                   [_bi("评分", "Score"), _bi("数量", "Ratings"), _bi("占比%", "Share %")],
                                   [[s, dist[s], share(dist[s], f["surveys_n"])] for s in (5, 4, 3, 2, 1)],
                                   chart="bar"))
        q_rows = self.db.query("SELECT questionnaire_id, answers FROM questionnaire_answers WHERE created_at >= ? AND "
                               "created_at < ?", (f["start"], f["end"]))
        cfg = self.config.survey
        per_q: dict[int, list[int]] = defaultdict(list)
        for r in q_rows:
            if r["questionnaire_id"] == cfg.questionnaire_id:
                for i, v in enumerate(json.loads(r["answers"])):
                    per_q[i].append(v)
        report.tables.append(Table("questionnaire", _bi("问卷结果", "Questionnaire results"),
                                   [_bi("问题", "Question"), _bi("答卷数", "Answers"), _bi("均分", "Average")],
                                   [[f"{zh} {en}", len(per_q[i]), mean(per_q[i])]
                                    for i, (en, zh) in enumerate(zip(cfg.questions, cfg.questions_zh, strict=True))]))
        cats = Counter(c["category"] or "—" for c in f["cases"] if c["type"] == "complaint")
        prev_cats = Counter(c["category"] or "—" for c in p["cases"] if c["type"] == "complaint")
        report.tables.append(Table("top_complaints", _bi("投诉分类排行", "Top complaint categories"),
                                   [_bi("分类", "Category"), _bi("本月", "This month"), _bi("上月", "Last month")],
                                   [[cat, n, prev_cats[cat]] for cat, n in
                                    sorted(cats.items(), key=lambda kv: (-kv[1], kv[0]))[:10]], chart="bar"))
        report.tables.append(self._overdue_table(f))
        report.tables.append(self._staff_table(f))
        report.tables.append(self._spot_table(f))
        report.tables.append(self._actions_table(month))
        report.kpis.append(Kpi("spot_poor", _bi("抽查不合格率", "Spot checks judged poor"),
                               self._spot_poor_share(f), None, "%"))
        return report

    def _overdue_table(self, f: dict) -> Table:
        rows = [[case_number(c["id"]), TYPE_ZH[c["type"]], c["category"] or "—", c["description"][:60],
                 to_iso(self._local(c["due_at"]))[:16].replace("T", " "), SLA_ZH[f["slas"][c["id"]]]]
                for c in f["cases"] if f["slas"][c["id"]] in ("overdue", "missed")]
        return Table("overdue_cases", _bi("超时事项", "Overdue cases"),
                     ["编号 No.", _bi("类型", "Type"), _bi("分类", "Category"), _bi("内容", "Description"),
                      _bi("期限", "Due"), "SLA"], rows)

    def _staff_table(self, f: dict) -> Table:
        """Per staff member: tickets served (who called them), median handling time, cases closed."""
        conn = self.db.conn
        served = conn.execute(
            "SELECT id, COALESCE(started_at, called_at), finished_at FROM tickets "
            "WHERE status = 'done' AND finished_at >= ? AND finished_at < ?", (f["start"], f["end"])).fetchall()
        ids = [r[0] for r in served]
        callers: dict[int, str] = {}
        if ids:  # who called each ticket last (the event rows, in id order: the last one wins)
            for ticket_id, actor in conn.execute(
                    "SELECT ticket_id, actor FROM ticket_events WHERE action IN ('call', 'recall') AND "
                    "ticket_id BETWEEN ? AND ? ORDER BY id", (min(ids), max(ids))):
                callers[ticket_id] = actor
        handling: dict[str, list[float]] = defaultdict(list)
        for ticket_id, begun, finished in served:
            if begun:
                handling[callers.get(ticket_id) or "—"].append(
                    (_utc(finished) - _utc(begun)).total_seconds() / 60.0)
        closed = Counter(r["closed_by"] for r in self.db.query(
            "SELECT closed_by FROM cases WHERE closed_at >= ? AND closed_at < ? AND closed_by IS NOT NULL",
            (f["start"], f["end"])))
        names = {r["username"]: r["display_name"] for r in self.db.query("SELECT username, display_name FROM users")}
        staff = sorted(set(handling) | set(closed))
        return Table("staff", _bi("员工效率", "Staff efficiency"),
                     [_bi("员工", "Staff"), _bi("办结号票", "Tickets served"),
                      _bi("办理时长中位数（分钟）", "Median handling (min)"), _bi("结案数", "Cases closed")],
                     [[f"{names.get(s, '')} {s}".strip(), len(handling[s]), median(handling[s]), closed[s]]
                      for s in staff], chart="bar")

    def _spot_items(self, f: dict) -> list[dict]:
        return self.db.query("SELECT i.* FROM spot_check_items i JOIN spot_checks s ON s.id = i.spot_check_id "
                             "WHERE s.period_from >= ? AND s.period_from < ?",
                             (f["first"].isoformat(), f["nxt"].isoformat()))

    def _spot_poor_share(self, f: dict) -> float | None:
        judged = [i for i in self._spot_items(f) if i["verdict"]]
        return share(sum(i["verdict"] == "poor" for i in judged), len(judged))

    def _spot_table(self, f: dict) -> Table:
        items = self._spot_items(f)
        judged = [i for i in items if i["verdict"]]
        verdicts = Counter(i["verdict"] for i in judged)
        rows = [[VERDICT_ZH[v] + " " + v, verdicts[v], share(verdicts[v], len(judged))]
                for v in ("good", "acceptable", "poor")]
        rows.append(["未评 not yet judged", len(items) - len(judged), None])
        return Table("spot_checks", _bi("抽查结果", "Spot checks"),
                     [_bi("结论", "Verdict"), _bi("数量", "Items"), _bi("占比%", "Share %")], rows)

    def _actions_table(self, month: str) -> Table:
        """This month's improvement actions and every earlier one still open, with progress."""
        rows = self.db.query("SELECT * FROM improvement_actions WHERE month = ? OR (month < ? AND status != 'done') "
                             "ORDER BY month, id", (month, month))
        return Table("actions", _bi("改进措施", "Improvement actions"),
                     [_bi("月份", "Month"), _bi("问题", "Finding"), _bi("措施", "Action"), _bi("负责人", "Owner"),
                      _bi("期限", "Due"), _bi("状态", "Status"), _bi("进展", "Progress")],
                     [[r["month"], r["finding"], r["action"], r["owner"], r["due_date"], r["status"], r["progress"]]
                      for r in rows])
