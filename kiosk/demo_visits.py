"""Demo residents and the site's demo camera video (its QR card is signed with this
site's key), so `make run` checks 张女士 in from the simulated camera."""

from __future__ import annotations

from collections.abc import Iterator

from kiosk.visits.id_number import with_check_char

DEMO_RESIDENTS = [
    # id, name, unit, phone, ID number (made-up, valid check digit)
    ("demo-zhang", "张女士", "3-2-501", "13800138000", with_check_char("11010519800101002")),
    ("demo-li", "李先生", "1-1-1203", "13900139000", with_check_char("31010419751212003")),
    ("demo-wang", "王阿姨", "5-3-302", "13700137000", with_check_char("44030519520607004")),
]


def load_demo_residents(kiosk) -> Iterator[str]:
    """Idempotent: upserts the demo residents and (re)writes data_dir/media/demo-camera.avi."""
    import csv
    import io

    from kiosk.devices.camera import DEMO_VIDEO
    from kiosk.devices.sim_video import write_video

    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["id", "name", "unit", "phone", "id_number"])
    writer.writerows(DEMO_RESIDENTS)
    kiosk.visits.import_residents(buf.getvalue(), source="demo")
    payload = kiosk.visits.issue_card("demo-zhang", 365, actor="demo")
    video = write_video(kiosk.config.data_dir / "media" / DEMO_VIDEO, payload, label="demo camera")
    yield f"demo residents: {', '.join(f'{n} {u}' for _, n, u, _, _ in DEMO_RESIDENTS)}"
    yield f"demo camera video (张女士's QR card from second 2): {video}"
    yield f"ID number of 张女士 for the kiosk's ID check-in: {DEMO_RESIDENTS[0][4]}"
