"""The console's figures across sites, as a `kiosk.reports.model.Report` so the page (with
its server-side SVG charts), the CSV and the XLSX come from the same rows. Pure: the
newest version of each entity, the per-site receiver stats, the period and the current
time go in; nothing is read here.

Definitions (all over the newest version of each entity whose own day is in the period):
- tickets: tickets whose `day` is in the period;
- wait: `called_at - issued_at` in minutes, over the tickets that were called; the average
  and the nearest-rank 90th percentile, one decimal;
- no-show rate: tickets whose status is `no_show`, as a share of the day's tickets (%);
- open cases: cases whose status is not `closed`, whatever day they were recorded;
- breaches: inquiries (the 5-minute clock) whose first answer came after `due_at`, or has
  not come and `due_at` has passed; complaints (the 24-hour clock) likewise with the
  feedback; counted over the cases recorded in the period;
- satisfaction: ratings (`form = rating`) given in the period: how many, the average score
  and the share of 4s and 5s;
- a site is online when it was last heard from (a batch or a directory pull; an idle agent
  still pulls every minute) at most `ONLINE_S` ago.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from kiosk.reports.model import Kpi, Report, Table, mean, p90, share

ONLINE_S = 300
TOP_CATEGORIES = 6


def _t(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def days(day_from: date, day_to: date) -> list[str]:
    return [(day_from + timedelta(days=i)).isoformat() for i in range((day_to - day_from).days + 1)]


def last_contact(stats: dict[str, Any]) -> datetime | None:
    seen = [t for t in (_t(stats.get("last_batch_at")), _t(stats.get("last_pull_at"))) if t is not None]
    return max(seen) if seen else None


def age_text(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    s = int(max(0, seconds))
    if s < 120:
        return f"{s} s"
    if s < 7200:
        return f"{s // 60} min"
    if s < 172800:
        return f"{s // 3600} h"
    return f"{s // 86400} d"


def wait_minutes(ticket: dict[str, Any]) -> float | None:
    issued, called = _t(ticket.get("issued_at")), _t(ticket.get("called_at"))
    if issued is None or called is None:
        return None
    return (called - issued).total_seconds() / 60


def breached(case: dict[str, Any], now: datetime) -> bool:
    """Whether the case missed its clock: the first answer (inquiries) or the feedback
    (every other type) after `due_at`, or none yet with `due_at` passed."""
    due = _t(case.get("due_at"))
    if due is None:
        return False
    stop = _t(case.get("first_answer_at") if case.get("type") == "inquiry" else case.get("feedback_at"))
    return (stop or now) > due


def _avg(values: Sequence[float]) -> float | None:
    return round(sum(values) / len(values), 1) if values else None


def build(latest: Iterable[dict[str, Any]], stats: Sequence[dict[str, Any]], day_from: date, day_to: date,
          now: datetime, tr: Callable[[str], str], site_id: str | None = None) -> Report:
    """The report for all sites (or one) over [day_from, day_to]. `latest` holds the newest
    version of the tickets, cases and surveys concerned (`site_id`, `kind`, `day`, `data`);
    open cases are counted from every case in it whatever its day."""
    period = days(day_from, day_to)
    lo, hi = period[0], period[-1]
    tickets: dict[str, list[dict[str, Any]]] = defaultdict(list)
    cases_in: list[dict[str, Any]] = []
    open_by_site: Counter[str] = Counter()
    ratings: list[dict[str, Any]] = []
    for r in latest:
        if site_id is not None and r["site_id"] != site_id:
            continue
        d = dict(r["data"], _site=r["site_id"])
        in_period = lo <= r["day"] <= hi
        if r["kind"] == "ticket" and in_period:
            tickets[r["day"]].append(d)
        elif r["kind"] == "case":
            if d.get("status") != "closed":
                open_by_site[r["site_id"]] += 1
            if in_period:
                cases_in.append(d)
        elif r["kind"] == "survey" and in_period and d.get("form") == "rating" and isinstance(d.get("score"), int):
            ratings.append(d)

    # per day, across sites
    daily_rows = []
    all_waits: list[float] = []
    all_tickets = no_shows = 0
    for day in period:
        ts = tickets.get(day, [])
        waits = [w for w in (wait_minutes(t) for t in ts) if w is not None]
        ns = sum(1 for t in ts if t.get("status") == "no_show")
        all_waits += waits
        all_tickets += len(ts)
        no_shows += ns
        daily_rows.append([day, len(ts), _avg(waits), p90(waits), share(ns, len(ts))])

    # sites
    site_rows = []
    online = 0
    shown = [s for s in stats if site_id is None or s["site_id"] == site_id]
    for s in shown:
        seen = last_contact(s)
        age = None if seen is None else (now - seen).total_seconds()
        is_online = age is not None and age <= ONLINE_S
        online += is_online
        site_rows.append([s["site_id"], s.get("name") or "", tr("online") if is_online else tr("offline"),
                          age_text(age), s.get("backlog"), s.get("agent") or "—", s.get("total", 0)])

    # cases and breaches per site
    per_site: dict[str, Counter[str]] = defaultdict(Counter)
    for c in cases_in:
        counts = per_site[c["_site"]]
        kind = c.get("type")
        if kind == "inquiry":
            counts["inquiries"] += 1
            counts["inquiry_breaches"] += breached(c, now)
        elif kind == "complaint":
            counts["complaints"] += 1
            counts["complaint_breaches"] += breached(c, now)
    case_sites = sorted({*per_site, *open_by_site, *(s["site_id"] for s in shown)})
    case_rows = [[sid, open_by_site.get(sid, 0), per_site[sid]["inquiries"], per_site[sid]["inquiry_breaches"],
                  per_site[sid]["complaints"], per_site[sid]["complaint_breaches"]] for sid in case_sites]

    # complaint categories per day
    complaints = [c for c in cases_in if c.get("type") == "complaint"]
    uncategorised = tr("uncategorised")
    cat_counts = Counter((c.get("category") or uncategorised) for c in complaints)
    top = [name for name, _ in cat_counts.most_common(TOP_CATEGORIES)]
    other = tr("other")
    series = top + ([other] if len(cat_counts) > len(top) else [])
    by_day: dict[str, Counter[str]] = defaultdict(Counter)
    for c in complaints:
        name = c.get("category") or uncategorised
        by_day[(c.get("created_at") or "")[:10]][name if name in top else other] += 1
    cat_rows = [[day, *(by_day[day][name] for name in series), sum(by_day[day].values())] for day in period]

    # satisfaction per site
    by_site: dict[str, list[int]] = defaultdict(list)
    for s in ratings:
        by_site[s["_site"]].append(s["score"])
    sat_rows = [[sid, mean([float(x) for x in scores]), len(scores),
                 share(sum(1 for x in scores if x >= 4), len(scores))] for sid, scores in sorted(by_site.items())]
    all_scores = [float(s["score"]) for s in ratings]

    total_open = sum(open_by_site.values())
    kpis = [
        Kpi("sites_online", tr("Sites online"), online, unit=f" / {len(shown)}"),
        Kpi("tickets", tr("Tickets"), all_tickets),
        Kpi("avg_wait_min", tr("Average wait"), _avg(all_waits), unit=" min"),
        Kpi("p90_wait_min", tr("90th percentile wait"), p90(all_waits), unit=" min"),
        Kpi("no_show_pct", tr("No-show rate"), share(no_shows, all_tickets), unit=" %"),
        Kpi("open_cases", tr("Open cases"), total_open),
        Kpi("inquiry_breaches", tr("5-minute breaches"), sum(r[3] for r in case_rows)),
        Kpi("complaint_breaches", tr("24-hour breaches"), sum(r[5] for r in case_rows)),
        Kpi("satisfaction", tr("Average satisfaction"), mean(all_scores), unit=" / 5"),
    ]
    tables = [
        Table("sites", tr("Sites"), [tr("Site"), tr("Name"), tr("Status"), tr("Last heard from"), tr("Backlog"),
                                     tr("Agent version"), tr("Records")], site_rows, collapse=False),
        Table("daily", tr("Tickets and waits per day"),
              [tr("Day"), tr("Tickets"), tr("Average wait (min)"), tr("90th percentile wait (min)"),
               tr("No-show rate (%)")], daily_rows, chart="bar"),
        Table("cases", tr("Open cases and breaches per site"),
              [tr("Site"), tr("Open cases"), tr("Inquiries"), tr("5-minute breaches"), tr("Complaints"),
               tr("24-hour breaches")], case_rows, collapse=False),
        Table("categories", tr("Complaint categories per day"), [tr("Day"), *series, tr("Total")], cat_rows,
              chart="stacked"),
        Table("satisfaction", tr("Satisfaction per site"),
              [tr("Site"), tr("Average score"), tr("Ratings"), tr("Satisfied (4-5, %)")], sat_rows, chart="bar"),
    ]
    title = tr("All sites") if site_id is None else site_id
    return Report(kind="central", period=f"{lo}..{hi}", title=title, generated_at=now.isoformat(timespec="seconds"),
                  kpis=kpis, tables=tables)
