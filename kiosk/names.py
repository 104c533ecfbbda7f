"""How records are named to people, in one place for the pages, the printed slips and the
reports: the case number (C00012) and each case type's name in Chinese and English.

Pure and dependency-free, so every layer may use it: the device layer's slip layouts
included, which may not import the case rules.
"""

from __future__ import annotations

#: Each case type's name (zh, en): the printed slip and the reports show both, a web page
#: the one of its language.
CASE_TYPE_NAMES: dict[str, tuple[str, str]] = {"inquiry": ("咨询", "Inquiry"), "complaint": ("投诉", "Complaint"),
                                               "repair": ("报修", "Repair"), "other": ("其他", "Other")}


def case_number(case_id: int) -> str:
    """The number a case is known by on screens, slips and reports: C and five digits (C00012)."""
    return f"C{case_id:05d}"
