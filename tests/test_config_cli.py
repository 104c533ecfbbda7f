"""The config schema and the `kiosk` command line."""

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner

from kiosk import config as cfgmod
from kiosk.cli import main
from kiosk.config import ConfigError

CONTRACT_KEYS = """site.id site.name site.timezone site.locale server.host server.port database.path
printer.backend printer.host printer.port printer.path printer.device printer.baudrate camera.source
camera.decoder phone.port phone.baudrate phone.init scanner.port tts.enabled tts.output tts.voice_zh
tts.voice_en sync.url sync.secret sync.interval_s sync.batch_size retention.snapshots_days
retention.visits_days""".split()  # noqa: SIM905


def test_contract_keys_exist_with_design_defaults():
    described = {key: default for key, default, _ in cfgmod.describe()}
    for key in CONTRACT_KEYS:
        assert key in described, key
    assert described["server.port"] == 8080 and described["database.path"] == "var/kiosk.db"
    assert described["printer.backend"] == "preview" and described["phone.init"] == ["ATZ", "AT+VCID=1"]
    assert described["sync.batch_size"] == 500 and described["retention.snapshots_days"] == 90
    assert described["printer.status"] == "auto" and described["printer.status_timeout_s"] == 2


def test_every_key_has_help():
    for key, _, help_text in cfgmod.describe():
        assert help_text.strip(), f"{key} is undocumented"


@pytest.mark.parametrize("text,message", [
    ("[printer]\nbackend = 'laser'\n", "printer.backend"),
    ("[printer]\nstatus = 'gs_r'\n", "printer.status 'gs_r' is not one of auto, dle_eot, none"),
    ("[printer]\nstatus_timeout_s = 0\n", "printer.status_timeout_s must be more than 0"),
    ("[printer]\ncolour = 'red'\n", "unknown key printer.colour"),
    ("[bogus]\nx = 1\n", "unknown section [bogus]"),
    ("[server]\nport = '80'\n", "server.port"),
    ("[[counters]]\nid = '3'\nservices = ['Q']\n", "unknown service"),
    ("[site\n", "kiosk.toml"),
])
def test_bad_config_is_refused_with_the_key_named(tmp_path, text, message):
    path = tmp_path / "kiosk.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message.replace("[", r"\[")):
        cfgmod.load(path)


def test_config_show_round_trips(tmp_path):
    path = tmp_path / "kiosk.toml"
    path.write_text('[site]\nid = "site-7"\n[printer]\nbackend = "network"\nport = 9101\n')
    result = CliRunner().invoke(main, ["config", "show", "--config", str(path)])
    assert result.exit_code == 0, result.output
    shown = tomllib.loads(result.output)
    assert shown["site"]["id"] == "site-7" and shown["printer"]["port"] == 9101
    assert shown["server"]["port"] == 8080
    again = tmp_path / "again.toml"
    again.write_text(result.output)
    assert cfgmod.to_dict(cfgmod.load(again)) == cfgmod.to_dict(cfgmod.load(path))


def test_config_show_reports_errors_cleanly(tmp_path):
    path = tmp_path / "kiosk.toml"
    path.write_text("[printer]\ncolour = 1\n")
    result = CliRunner().invoke(main, ["config", "show", "--config", str(path)])
    assert result.exit_code != 0 and "unknown key printer.colour" in result.output


def _config_file(tmp_path: Path) -> Path:
    path = tmp_path / "kiosk.toml"
    path.write_text(f'[database]\npath = "{tmp_path}/var/kiosk.db"\n[tts]\noutput = "off"\n')
    return path


def test_token_create_prints_only_the_token_and_it_works(tmp_path):
    path = _config_file(tmp_path)
    out = subprocess.run([sys.executable, "-m", "kiosk.cli", "token", "create", "--role", "receptionist",
                          "--config", str(path)], capture_output=True, text=True, check=True).stdout
    token = out.strip()
    assert out == token + "\n" and token.startswith("kst_") and len(token) > 30
    from kiosk.runtime import Kiosk
    k = Kiosk(cfgmod.load(path), start_workers=False)
    try:
        assert k.auth.from_token(token).role == "receptionist"
        assert k.db.scalar("SELECT COUNT(*) FROM api_tokens WHERE token_hash = ?", (token,)) == 0
    finally:
        k.stop()


def test_token_create_refuses_unknown_role(tmp_path):
    result = CliRunner().invoke(main, ["token", "create", "--role", "janitor", "--config", str(_config_file(tmp_path))])
    assert result.exit_code != 0 and "unknown role" in result.output


def test_user_add_then_login(tmp_path):
    path = _config_file(tmp_path)
    result = CliRunner().invoke(main, ["user", "add", "wang", "--role", "receptionist", "--name", "王丽",
                                       "--config", str(path)], input="s3cret-pass\ns3cret-pass\n")
    assert result.exit_code == 0, result.output
    result = CliRunner().invoke(main, ["user", "add", "wang", "--role", "receptionist", "--password", "another-pw",
                                       "--config", str(path)])
    assert result.exit_code != 0 and "exists" in result.output
    from kiosk.runtime import Kiosk
    k = Kiosk(cfgmod.load(path), start_workers=False)
    try:
        assert k.auth.login("wang", "s3cret-pass").display_name == "王丽"
        assert k.auth.login("wang", "wrong") is None
    finally:
        k.stop()


def test_demo_load_is_idempotent(tmp_path):
    path = _config_file(tmp_path)
    first = CliRunner().invoke(main, ["demo", "load", "--config", str(path)])
    assert first.exit_code == 0, first.output
    second = CliRunner().invoke(main, ["demo", "load", "--config", str(path)])
    assert second.output == first.output
    assert "reception1\treceptionist\t" in first.output
    creds = (tmp_path / "var" / "demo-credentials.txt")
    assert oct(creds.stat().st_mode & 0o777) == "0o600"
