"""What views may use (kiosk/services/registry.py) and the services that took over what
views used to do themselves: print previews, resident search, the simulated call."""

from __future__ import annotations

import dataclasses

import pytest

from kiosk.errors import Invalid
from kiosk.services.registry import Services


def test_views_get_services_not_the_devices_or_the_database(kiosk):
    names = {f.name for f in dataclasses.fields(Services)}
    assert not names & {"db", "printer", "phone", "spooler", "speaker", "checkin", "camera"}
    assert kiosk.services.queue is kiosk.queue and kiosk.services.visits is kiosk.visits
    with pytest.raises(dataclasses.FrozenInstanceError):
        kiosk.services.queue = None


def test_print_previews_list_and_render_and_refuse_names_outside_the_folder(kiosk, config):
    previews = kiosk.services.previews
    assert previews.recent() == []
    kiosk.queue.issue("A")
    kiosk.queue.issue("B")
    names = previews.recent()
    assert len(names) == 2 and names == sorted(names, reverse=True)
    assert previews.png(names[0])[:8] == b"\x89PNG\r\n\x1a\n"
    (config.data_dir / "outside.bin").write_bytes(b"\x1b@x\n")
    for name in ("../outside", "..", ".hidden", "a/b", "", "x" * 200, names[0] + ".bin", "missing"):
        assert previews.png(name) is None, name


def test_resident_directory_and_search(kiosk):
    kiosk.visits.import_residents("id,name,unit,phone\nr-1,张三,3-201,13800138000\nr-2,李四,5-102,13900139000\n")
    residents = kiosk.services.residents
    assert [r["id"] for r in residents.directory("3-2")] == ["r-1"]
    assert [r["id"] for r in residents.directory()] == ["r-1", "r-2"]
    assert [r["id"] for r in residents.search("0013900")] == ["r-2"]
    assert residents.search("") == []
    assert residents.profile("r-1")["resident"]["name"] == "张三"
    assert residents.profile("nobody") is None


def test_simulated_call_is_checked_by_the_call_service(kiosk):
    calls = kiosk.services.calls
    with pytest.raises(Invalid) as err:
        calls.simulate("not a number")
    assert err.value.code == "invalid_number"
    with pytest.raises(Invalid) as err:
        calls.simulate("13800138000", "<script>")
    assert err.value.code == "invalid_name"
    assert kiosk.config.phone.port == "sim"  # the default: the simulated modem
    assert calls.simulate(" 13800138000 ", "WANG") == {"status": "ringing", "number": "13800138000", "name": "WANG"}


def test_printer_health_is_read_without_the_database(kiosk):
    """`Services.printer_health`: what screens use to say whether tickets print (issue 14)."""
    assert kiosk.services.printer_health().status == "ok"
    kiosk.printer.set_fault("paper_out")
    kiosk.queue.issue("A")
    health = kiosk.services.printer_health()
    assert (health.status, health.reason) == ("down", "paper_out")
    assert "pending" not in health.details  # the count of pending jobs is /healthz's (a query)
