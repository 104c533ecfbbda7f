"""`delete` records at the reference receiver over HTTP on 127.0.0.1: a delete removes
every earlier version of its record, is idempotent, and an older version arriving after
it (a resend, a requeued dead letter) does not bring the record back; a newer version
(an anonymised case) is stored."""

from .conftest import SITE
from .test_central import post, record


def upsert(kind, i, version, **data):
    return record(i, kind=kind, key=f"{SITE}:{kind}:{i}:{version}", data={"id": i, "version": version, **data})


def delete(kind, i, version):
    return record(i, kind=kind, op="delete", key=f"{SITE}:{kind}:{i}:{version}",
                  data={"id": i, "version": version, "reason": "erasure"})


def test_a_delete_removes_every_earlier_version_and_only_that_record(central):
    post(central, [upsert("visit", 7, 1, name="MARK-A"), upsert("visit", 7, 2, name="MARK-A"),
                   upsert("visit", 70, 1, name="other"), upsert("visit", 8, 1, name="other")])
    answer = post(central, [delete("visit", 7, 3)], batch_id="b-2").json()
    assert answer == {"accepted": [f"{SITE}:visit:7:3"], "rejected": []}
    assert central.store.keys(SITE) == [f"{SITE}:visit:70:1", f"{SITE}:visit:8:1", f"{SITE}:visit:7:3"]
    assert central.store.record(f"{SITE}:visit:7:3")["data"] == {"id": 7, "version": 3, "reason": "erasure"}


def test_a_delete_is_idempotent_and_older_versions_arriving_later_stay_out(central):
    post(central, [upsert("call", 3, 1, number="138")])
    post(central, [delete("call", 3, 2)], batch_id="b-2")
    again = post(central, [delete("call", 3, 2), upsert("call", 3, 1, number="138")], batch_id="b-3").json()
    assert sorted(again["accepted"]) == [f"{SITE}:call:3:1", f"{SITE}:call:3:2"]  # acknowledged, so the agent moves on
    assert central.store.keys(SITE) == [f"{SITE}:call:3:2"]


def test_in_one_batch_the_order_does_not_matter(central):
    post(central, [upsert("ticket", 5, 1, resident_id="R1"), delete("ticket", 5, 2),
                   upsert("ticket", 5, 3, resident_id=None)])
    post(central, [upsert("ticket", 6, 2, resident_id="R1"), delete("ticket", 6, 3), upsert("ticket", 6, 1)],
         batch_id="b-2")
    assert central.store.keys(SITE) == [f"{SITE}:ticket:5:2", f"{SITE}:ticket:5:3", f"{SITE}:ticket:6:3"]


def test_an_anonymised_record_keeps_its_newer_version(central):
    post(central, [upsert("case", 1, 1, contact_name="MARK-A"), upsert("case", 1, 2, contact_name="MARK-A")])
    post(central, [delete("case", 1, 3), upsert("case", 1, 4, contact_name=""), upsert("case", 1, 5, status="closed")],
         batch_id="b-2")
    assert central.store.keys(SITE) == [f"{SITE}:case:1:3", f"{SITE}:case:1:4", f"{SITE}:case:1:5"]
    assert "MARK-A" not in str([central.store.record(k) for k in central.store.keys(SITE)])
