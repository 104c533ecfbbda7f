"""The resident directory pull: adds, updates, deactivates (never deletes), pages, and
resumes from the cursor kept in the kiosk database."""

import pytest
from click.testing import CliRunner

from kiosk.store import Database
from kiosk.store.sync_state import read_status, reset_residents_cursor
from sync.central.cli import main as central_cli

from .conftest import BACKENDS, agent_for, site_config

pytestmark = pytest.mark.parametrize("backend", BACKENDS)

CSV_HEADER = "id,name,unit,phone,id_number\n"


def import_csv(central, tmp_path, text, *extra):
    path = tmp_path / "residents.csv"
    path.write_text(CSV_HEADER + text, encoding="utf-8")
    result = CliRunner().invoke(central_cli, ["residents", "import", str(path), "--db", central.store.target, *extra])
    assert result.exit_code == 0, result.output


def residents(cfg) -> dict[str, dict]:
    db = Database(cfg.database.path)
    try:
        return {r["id"]: r for r in db.query("SELECT * FROM residents")}
    finally:
        db.close()


def test_pull_adds_updates_deactivates_and_resumes_from_its_cursor(tmp_path, central_factory):
    central = central_factory(page_size=2)  # several pages per pull
    cfg = site_config(tmp_path, central.url)
    import_csv(central, tmp_path, "r1,张三,1-101,+86 138-0013-8000,11010519491231002X\n"
                                  "r2,李四,1-102,010-12345678,\nr3,王五,2-201,13900139000,\n"
                                  "r4,赵六,2-202,,\nr5,钱七,3-301,0755-87654321,11010519491231002X\n")
    agent = agent_for(cfg)
    with agent.db.write() as conn:  # a resident the site added itself: the pull leaves it alone
        conn.execute("INSERT INTO residents (id, name, unit, updated_at) VALUES ('L1', '本地', '9-901', 'x')")
        # r5 is known here too, with an ID hash made with the site key: check-in matches by that one
        conn.execute("INSERT INTO residents (id, name, unit, id_hash, id_masked, updated_at) "
                     "VALUES ('r5', '钱七', '3-301', 'site-keyed', '4403**********1234', 'x')")

    assert agent.pull() == 5
    rows = residents(cfg)
    assert sorted(rows) == ["L1", "r1", "r2", "r3", "r4", "r5"]
    r1 = rows["r1"]
    assert (r1["name"], r1["unit"], r1["phone"], r1["phone_norm"], r1["active"], r1["source"]) == \
        ("张三", "1-101", "+86 138-0013-8000", "13800138000", 1, "central")
    assert len(r1["id_hash"]) == 64 and rows["r2"]["id_hash"] is None
    assert rows["r2"]["phone_norm"] == "1012345678" and rows["r5"]["phone_norm"] == "75587654321"
    assert rows["L1"]["source"] == "local"
    assert (rows["r5"]["id_hash"], rows["r5"]["id_masked"], rows["r5"]["source"]) == \
        ("site-keyed", "4403**********1234", "central")
    first_cursor = read_status(agent.db)["residents"]["cursor"]
    assert first_cursor == "5"

    # a local edit to r3, which the central office does not change, survives the next pull:
    # the agent asks only for what changed since its cursor
    with agent.db.write() as conn:
        conn.execute("UPDATE residents SET name = 'edited here' WHERE id = 'r3'")
    import_csv(central, tmp_path, "r1,张三,1-101,13700137000,\nr3,王五,2-201,13900139000,\n"
                                  "r4,赵六,2-202,,\nr5,钱七,3-301,0755-87654321,\nr6,孙八,3-302,13600136000,\n",
               "--replace")  # r1's phone changed, r2 left, r6 arrived
    assert agent.pull() == 3
    rows = residents(cfg)
    assert rows["r1"]["phone_norm"] == "13700137000" and rows["r1"]["id_hash"] == r1["id_hash"]
    assert rows["r2"]["active"] == 0 and rows["r2"]["name"] == "李四"  # marked inactive, not deleted
    assert rows["r6"]["active"] == 1 and rows["r6"]["source"] == "central"
    assert rows["r3"]["name"] == "edited here"
    assert read_status(agent.db)["residents"]["cursor"] == "8"

    # nothing changed: the pull is one empty page
    assert agent.pull() == 0

    # a resident removed by id, and one who comes back
    assert CliRunner().invoke(central_cli, ["residents", "remove", "r4", "--db", central.store.target]).exit_code == 0
    import_csv(central, tmp_path, "r2,李四,1-102,010-12345678,\n")
    assert agent.pull() == 2
    rows = residents(cfg)
    assert rows["r4"]["active"] == 0 and rows["r2"]["active"] == 1

    # a full pull (kiosk-sync once --full-pull) starts again from nothing
    reset_residents_cursor(agent.db)
    assert agent.pull() == 6 and read_status(agent.db)["residents"]["cursor"] == "10"
    agent.close()


def test_a_refused_pull_is_reported_and_skipped(tmp_path, central):
    cfg = site_config(tmp_path, central.url)
    agent = agent_for(cfg)
    with agent.db.write() as conn:
        conn.execute("UPDATE sync_state SET residents_cursor = 'not-a-cursor'")
    assert agent.pull(max_failures=0) == 0  # a 400 is not retried, and is not a reason to stop
    st = read_status(agent.db)
    assert "directory pull: HTTP 400 bad_cursor" in st["last_error"]["message"] and st["stopped"] is None
    agent.close()


def test_pull_retries_through_503s(tmp_path, central_factory):
    central = central_factory(fail_every=2, page_size=1)
    cfg = site_config(tmp_path, central.url)
    import_csv(central, tmp_path, "".join(f"r{i},居民{i},{i}-101,1380013800{i},\n" for i in range(5)))
    agent = agent_for(cfg)
    assert agent.pull(max_failures=10) == 5
    assert sorted(residents(cfg)) == [f"r{i}" for i in range(5)]
    assert "503" in read_status(agent.db)["last_error"]["message"]
    agent.close()
