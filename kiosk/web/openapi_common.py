"""Schemas shared by the parts of the OpenAPI document."""

from __future__ import annotations

#: Every id in a path or a body: what the `<int:...>` route converter and the JSON body
#: checker take (SQLite's 64-bit range); larger path ids answer 404, larger body ids 400.
ID: dict = {"type": "integer", "minimum": 1, "maximum": 2**63 - 1}
#: A query parameter that is a day; empty (as an HTML form sends it) means no bound.
DAY_OR_EMPTY: dict = {"type": "string", "pattern": "^([0-9]{4}-[0-9]{2}-[0-9]{2})?$",
                      "description": "YYYY-MM-DD; empty means no bound"}
