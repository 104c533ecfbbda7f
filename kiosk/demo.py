"""Demo data: staff accounts with fresh random passwords and a few waiting tickets."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

from kiosk.services.auth import AuthError

DEMO_USERS = [
    ("reception1", "receptionist", "前台 王丽"),
    ("reception2", "receptionist", "前台 李强"),
    ("specialist", "specialist", "客服 陈静"),
    ("security", "security", "保安 刘军"),
    ("manager", "manager", "经理 张敏"),
]


def load_demo(kiosk) -> Iterator[str]:
    """Idempotent: existing accounts keep their passwords; credentials go to data_dir/demo-credentials.txt."""
    creds_path = kiosk.config.data_dir / "demo-credentials.txt"
    lines = []
    for username, role, name in DEMO_USERS:
        password = secrets.token_urlsafe(9)
        try:
            kiosk.auth.add_user(username, password, role, name)
        except AuthError:
            continue
        lines.append(f"{username}\t{role}\t{password}")
    if lines:
        with open(creds_path, "a", encoding="utf-8") as fh:
            fh.write("".join(line + "\n" for line in lines))
        creds_path.chmod(0o600)
        if not kiosk.queue.queued():
            for service, priority in (("A", False), ("B", False), ("A", True), ("D", False), ("E", False)):
                kiosk.queue.issue(service, priority=priority)
        if not kiosk.db.scalar("SELECT COUNT(*) FROM cases"):  # a few cases for the case board
            for ctype, channel, category, text in (
                    ("complaint", "counter", "噪音", "楼上夜间装修噪音，希望物业协调"),
                    ("repair", "phone", "水电", "厨房水龙头漏水"),
                    ("inquiry", "counter", "停车", "停车月卡如何办理？")):
                kiosk.cases.create(type=ctype, description=text, channel=channel, category=category,
                                   actor="reception1")
    from kiosk.demo_visits import load_demo_residents

    yield from load_demo_residents(kiosk)
    yield f"demo staff accounts (user, role, password) are in {creds_path}:"
    if creds_path.exists():
        yield from creds_path.read_text(encoding="utf-8").splitlines()
