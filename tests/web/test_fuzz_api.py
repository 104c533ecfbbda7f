"""Schemathesis over every operation of /api/v1/openapi.json against a real `kiosk serve`
on 127.0.0.1: a seeded, bounded run as the manager (bearer token) and anonymously. It fails
on any 5xx, any answer whose body breaks the documented schema or content type, and any
status code the document does not list for the operation.

The server is a throw-away kiosk (its own data directory, the preview printer, no speech,
no camera, the simulated phone), one per test worker. `bench/fuzz.py` is the longer run
with every check for before a release."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis

from kiosk.web.openapi import openapi_document
from tests.served import ServedKiosk

#: What `make test` affords: every operation in both auth modes within about two minutes
#: on two cores with `-n 2` (the coverage phase adds its boundary and negative cases).
CONFIG = schemathesis.Config.from_dict({
    "seed": 20261204,
    "generation": {"max-examples": 8, "mode": "all", "database": "none", "deterministic": True},
    "phases": {"stateful": {"enabled": False}},
    "checks": {"enabled": False, "not_a_server_error": {"enabled": True},
               "status_code_conformance": {"enabled": True}, "content_type_conformance": {"enabled": True},
               "response_schema_conformance": {"enabled": True}},
    "request-timeout": 10,
    # An event stream never ends: each request reads it for one second (its first event or
    # the `: connected` comment is all there is to check), so it gets fewer examples. The
    # staff stream too: as the manager it stays open, and took 10 s per example.
    "operations": [{"include-path-regex": "^/api/v1/(staff/)?events$", "request-timeout": 1,
                    "max-stream-events": 1, "generation": {"max-examples": 3}}],
})
schema = schemathesis.openapi.from_dict(openapi_document(), config=CONFIG)


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Iterator[ServedKiosk]:
    server = ServedKiosk(Path(tmp_path_factory.mktemp("fuzz"))).start()
    server.manager = server.token("manager")  # type: ignore[attr-defined]
    yield server
    server.stop()
    assert not server.errors_logged(), "\n".join(server.errors_logged()[:20])


@schema.parametrize()
def test_as_manager(case, served):
    case.call_and_validate(base_url=served.url, headers={"Authorization": f"Bearer {served.manager}"})


@schema.parametrize()
def test_anonymously(case, served):
    case.call_and_validate(base_url=served.url)
