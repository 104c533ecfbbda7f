"""Schemas shared by the parts of the OpenAPI document."""

from __future__ import annotations

#: Every id in a path or a body: what the `<int:...>` route converter and the JSON body
#: checker take (SQLite's 64-bit range); larger path ids answer 404, larger body ids 400.
ID: dict = {"type": "integer", "minimum": 1, "maximum": 2**63 - 1}
#: A query parameter that is a day; empty (as an HTML form sends it) means no bound.
#: A check-in's single-use token, as the check-in answered it.
CHECKIN_TOKEN: dict = {"type": "string", "maxLength": 64,
                       "description": "the `checkin_token` of a check-in made in the last 10 minutes on the same "
                                      "device (or by the same staff login): links this to that visit; used once"}
#: What a public answer shows of the person who checked in.
GREETING: dict = {"type": "object", "required": ["name"], "properties": {"name": {
    "type": "string", "example": "张**",
    "description": "the display name masked (first character and stars); empty for an ID-number check-in, which "
                   "never tells whether the number is a resident's"}}}
DAY_OR_EMPTY: dict = {"type": "string", "pattern": "^([0-9]{4}-[0-9]{2}-[0-9]{2})?$",
                      "description": "YYYY-MM-DD; empty means no bound"}
