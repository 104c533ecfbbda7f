"""The console's figures across sites, as a `kiosk.reports.model.Report` so the page (with
its server-side SVG charts), the CSV and the XLSX come from the same rows. Pure: the
store's aggregates over the newest version of each entity (`CentralStore.aggregates`,
summed in SQL), the per-site receiver stats, the period and the current time go in.

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
from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from kiosk.reports.model import Kpi, Report, Table, share
from sync.central.storage import Aggregates

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


def _avg(total: float, n: int) -> float | None:
    return round(total / n, 1) if n else None


def _min(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / 60, 1)


def build(agg: Aggregates, stats: Sequence[dict[str, Any]], day_from: date, day_to: date,
          now: datetime, tr: Callable[[str], str], site_id: str | None = None) -> Report:
    """The report for all sites (or one) over [day_from, day_to] from the store's
    aggregates and the per-site receiver stats."""
    period = days(day_from, day_to)

    # per day, across sites
    daily_rows = []
    all_tickets = no_shows = waits_n = 0
    waits_sum = 0.0
    for day in period:
        n, ns, nw, sw = agg.daily.get(day, (0, 0, 0, 0.0))
        all_tickets += n
        no_shows += ns
        waits_n += nw
        waits_sum += sw
        daily_rows.append([day, n, _avg(sw / 60, nw), _min(agg.p90_s.get(day)), share(ns, n)])

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
    case_sites = sorted({*(k[0] for k in agg.cases), *agg.open_cases, *(s["site_id"] for s in shown)})
    case_rows = []
    for sid in case_sites:
        inq = agg.cases.get((sid, "inquiry"), (0, 0))
        com = agg.cases.get((sid, "complaint"), (0, 0))
        case_rows.append([sid, agg.open_cases.get(sid, 0), inq[0], inq[1], com[0], com[1]])

    # complaint categories per day
    uncategorised, other = tr("uncategorised"), tr("other")
    cat_counts: Counter[str] = Counter()
    for (_, name), n in agg.categories.items():
        cat_counts[name or uncategorised] += n
    top = [name for name, _ in sorted(cat_counts.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP_CATEGORIES]]
    series = top + ([other] if len(cat_counts) > len(top) else [])
    by_day: dict[str, Counter[str]] = defaultdict(Counter)
    for (day, name), n in agg.categories.items():
        name = name or uncategorised
        by_day[day][name if name in top else other] += n
    cat_rows = [[day, *(by_day[day][name] for name in series), sum(by_day[day].values())] for day in period]

    # satisfaction per site
    sat_rows = [[sid, round(total / n, 2), n, share(good, n)] for sid, (n, total, good) in sorted(agg.ratings.items())]
    ratings_n = sum(n for n, _, _ in agg.ratings.values())
    ratings_sum = sum(total for _, total, _ in agg.ratings.values())

    kpis = [
        Kpi("sites_online", tr("Sites online"), online, unit=f" / {len(shown)}"),
        Kpi("tickets", tr("Tickets"), all_tickets),
        Kpi("avg_wait_min", tr("Average wait"), _avg(waits_sum / 60, waits_n), unit=" min"),
        Kpi("p90_wait_min", tr("90th percentile wait"), _min(agg.p90_s.get("")), unit=" min"),
        Kpi("no_show_pct", tr("No-show rate"), share(no_shows, all_tickets), unit=" %"),
        Kpi("open_cases", tr("Open cases"), sum(agg.open_cases.values())),
        Kpi("inquiry_breaches", tr("5-minute breaches"), sum(r[3] for r in case_rows)),
        Kpi("complaint_breaches", tr("24-hour breaches"), sum(r[5] for r in case_rows)),
        Kpi("satisfaction", tr("Average satisfaction"), round(ratings_sum / ratings_n, 2) if ratings_n else None,
            unit=" / 5"),
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
    return Report(kind="central", period=f"{period[0]}..{period[-1]}", title=title,
                  generated_at=now.isoformat(timespec="seconds"), kpis=kpis, tables=tables)
