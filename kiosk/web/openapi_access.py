"""What the OpenAPI document says about enrolled devices and limits, added to the operations
`device_or_staff` guards (kiosk/web/access.py; a test checks this table against the app's
URL map) and to every operation in general for 429."""

from __future__ import annotations

import copy
from typing import Any

#: (path, method) -> (device kinds that may call it, whether it prints)
DEVICE_WRITES: dict[tuple[str, str], tuple[tuple[str, ...], bool]] = {
    ("/api/v1/tickets", "post"): (("kiosk",), True),
    ("/api/v1/checkins", "post"): (("kiosk",), True),
    ("/api/v1/scans", "post"): (("kiosk",), False),
    ("/api/v1/checkouts", "post"): (("kiosk",), False),
    ("/api/v1/cases", "post"): (("kiosk",), True),
    ("/api/v1/surveys", "post"): (("kiosk", "tablet"), False),
    ("/api/v1/questionnaire", "post"): (("kiosk", "tablet"), False),
    ("/kiosk/prompt", "post"): (("kiosk", "tablet"), False),
}

_ERROR = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
_RETRY_AFTER = {"Retry-After": {"description": "seconds to wait before trying again",
                                "schema": {"type": "integer", "minimum": 1}}}


def add_access(document: dict[str, Any]) -> dict[str, Any]:
    """`document` with the device credential scheme, and 401 `device_required` and 429 (with
    Retry-After) on every operation an enrolled device, staff or a bearer token may call."""
    doc = copy.deepcopy(document)
    schemes = doc.setdefault("components", {}).setdefault("securitySchemes", {})
    schemes["device"] = {
        "type": "apiKey", "in": "cookie", "name": "kiosk_device",
        "description": "An enrolled device's credential, set by its pairing link (`kiosk device add`). Requests "
                       "from `server.kiosk_addresses` count as the enrolled kiosk \"local\" without it."}
    for (path, method), (kinds, prints) in DEVICE_WRITES.items():
        op = doc["paths"].get(path, {}).get(method)
        if op is None:
            continue
        op["security"] = [{"device": []}, {"bearer": []}, {"session": []}]
        responses = op.setdefault("responses", {})
        responses["401"] = {
            "description": f"`device_required`: not an enrolled {' or '.join(kinds)} and no staff login or bearer "
                           "token (the message is translated for the screen); `unauthorized`: the bearer token "
                           "is not valid", **_ERROR}
        responses["403"] = {"description": "`csrf`: a staff login's write without its X-CSRFToken header", **_ERROR}
        limited = ("`rate_limited`: this device (or address) made too many of these requests; the limit is "
                   "`[limits]` in the config, staff are not counted")
        if prints:
            limited += ("; `print_queue_full`: `limits.max_pending_prints` print jobs wait for the printer "
                        "(for everyone), nothing was made")
        responses["429"] = {"description": limited, "headers": _RETRY_AFTER, **_ERROR}
    return doc
