"""Check-in fixtures: demo residents in the directory, their cards, snapshot JPEGs."""

from __future__ import annotations

import pytest

from kiosk.visits.id_number import with_check_char

ZHANG_ID = with_check_char("11010519800101002")
RESIDENTS_CSV = (
    "id,name,unit,phone,id_number\n"
    f"r-zhang,张女士,3-2-501,13800138000,{ZHANG_ID}\n"
    "r-li,李先生,1-1-1203,+86 139-0013-9000,\n"
)


@pytest.fixture
def residents(kiosk) -> None:
    kiosk.visits.import_residents(RESIDENTS_CSV)


@pytest.fixture
def card(kiosk, residents) -> str:
    """A valid QR card of 张女士."""
    return kiosk.visits.issue_card("r-zhang", 30)


def count(kiosk, table: str, where: str = "1") -> int:
    return kiosk.db.scalar(f"SELECT COUNT(*) FROM {table} WHERE {where}")


def jpeg(text: str = "snap") -> bytes:
    import io

    from PIL import Image, ImageDraw

    img = Image.new("RGB", (320, 240), (40, 50, 60))
    ImageDraw.Draw(img).text((10, 10), text, fill=(255, 255, 255))
    out = io.BytesIO()
    img.save(out, "JPEG")
    return out.getvalue()
