"""The systemd units: `systemd-analyze verify` passes on every installed unit, and each one
carries the settings the deployment relies on (user, groups, hardening, watchdog, timers).

How verify is made to work here: `systemd-analyze verify` loads each unit like systemd
would (syntax, every key and value, dependencies against the host's real units such as
network-online.target, timers.target, getty@tty1.service) and also insists that every
Exec*= binary exists and is executable. The units name /opt/kiosk/venv/bin/…, which does
not exist on a development or CI machine. So we verify copies of the units as *staged* by
`make install DESTDIR=…`, with only the first word of each Exec line re-pointed: the venv
console scripts to this checkout's own venv when it has them (a real `kiosk` entry point),
anything else missing (cage, chromium, kiosk-sync before it is installed…) to a stub
executable in a temp folder. Every other line is verified exactly as installed. Verify's
warnings (e.g. an unknown key) exit 0, so the test also requires that it prints nothing
about our units. `--root=` is not used: it would need a copy of the host's whole unit tree.
"""

from __future__ import annotations

import configparser
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.deploy.conftest import UNITS

SYSTEMD_ANALYZE = shutil.which("systemd-analyze")
EXEC_KEYS = ("ExecStart", "ExecStartPre", "ExecStartPost", "ExecStop", "ExecStopPost", "ExecReload")


def unit_settings(path: Path) -> dict[str, dict[str, list[str]]]:
    """section → key → values (a key may repeat), continuation lines joined."""
    text = re.sub(r"\\\n\s*", " ", path.read_text())
    out: dict[str, dict[str, list[str]]] = {}
    section = None
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = out.setdefault(line.strip("[]"), {})
            continue
        key, _, value = line.partition("=")
        section.setdefault(key.strip(), []).append(value.strip())
    return out


def one(settings: dict, section: str, key: str) -> str:
    values = settings[section][key]
    assert len(values) == 1, (section, key, values)
    return values[0]


def repoint_exec(units_dir: Path, stubs: Path) -> dict[str, str]:
    """Point each Exec line's binary at something that exists; returns old → new."""
    venv_bin = Path(sys.prefix) / "bin"
    mapping: dict[str, str] = {}
    for unit in units_dir.iterdir():
        lines = unit.read_text().splitlines(keepends=True)
        for i, line in enumerate(lines):
            key, sep, value = line.partition("=")
            if not sep or key.strip() not in EXEC_KEYS:
                continue
            m = re.match(r"([-@:+!]*)(\S+)(.*)", value, re.DOTALL)
            prefix, binary, rest = m.groups()
            if Path(binary).is_file() and shutil.which(binary):
                continue
            name = Path(binary).name
            if binary.startswith("/opt/kiosk/venv/bin/") and (venv_bin / name).is_file():
                target = venv_bin / name
            else:
                target = stubs / name
                target.write_text("#!/bin/sh\nexit 0\n")
                target.chmod(0o755)
            mapping[binary] = str(target)
            lines[i] = f"{key}={prefix}{target}{rest}"
        unit.write_text("".join(lines))
    return mapping


@pytest.mark.skipif(SYSTEMD_ANALYZE is None,
                    reason="systemd-analyze missing (Debian package systemd; make test installs it)")
def test_systemd_analyze_verify_passes_on_every_installed_unit(staged, tmp_path):
    root, _ = staged
    units_dir, stubs = tmp_path / "units", tmp_path / "stubs"
    units_dir.mkdir()
    stubs.mkdir()
    for unit in UNITS:
        shutil.copy(root / "etc/systemd/system" / unit, units_dir / unit)
    mapping = repoint_exec(units_dir, stubs)
    # the web service's ExecStart names a real console script of this project
    assert mapping.get("/opt/kiosk/venv/bin/kiosk", "").startswith(sys.prefix)
    result = subprocess.run([SYSTEMD_ANALYZE, "verify", "--man=no", *sorted(str(p) for p in units_dir.iterdir())],
                            check=False, capture_output=True, text=True, timeout=60)
    output = (result.stdout + result.stderr).strip()
    assert result.returncode == 0, output
    ours = [line for line in output.splitlines() if "kiosk" in line]
    assert not ours, output


def test_verify_would_catch_a_mistake(staged, tmp_path):
    """The verify test is not vacuous: a misspelt key is reported."""
    if SYSTEMD_ANALYZE is None:
        pytest.skip("systemd-analyze missing")
    root, _ = staged
    unit = tmp_path / "kiosk-backup.service"
    unit.write_text((root / "etc/systemd/system/kiosk-backup.service").read_text()
                    .replace("NoNewPrivileges=yes", "NoNewPrivilege=yes")
                    .replace("/opt/kiosk/venv/bin/kiosk", "/bin/true"))
    result = subprocess.run([SYSTEMD_ANALYZE, "verify", "--man=no", str(unit)], check=False,
                            capture_output=True, text=True)
    assert "Unknown key" in result.stdout + result.stderr


HARDENING = {"NoNewPrivileges": "yes", "PrivateTmp": "yes", "ProtectSystem": "strict"}


@pytest.mark.parametrize("unit", [u for u in UNITS if u.endswith(".service")])
def test_every_service_is_unprivileged_and_hardened(staged, unit):
    root, _ = staged
    s = unit_settings(root / "etc/systemd/system" / unit)
    assert one(s, "Service", "User") == "kiosk" and one(s, "Service", "Group") == "kiosk"
    for key, value in HARDENING.items():
        assert one(s, "Service", key) == value, key
    rw = one(s, "Service", "ReadWritePaths").split()
    assert rw[0] in ("/var/lib/kiosk", "/var/lib/kiosk-browser"), rw
    assert all(p in ("/var/lib/kiosk", "/var/lib/kiosk-browser", "-/run/user") for p in rw), rw
    exec_start = one(s, "Service", "ExecStart")
    if unit != "kiosk-browser.service":
        assert exec_start.startswith("/opt/kiosk/venv/bin/")
        assert exec_start.endswith("--config /etc/kiosk/kiosk.toml")
        assert "KIOSK_CONFIG=/etc/kiosk/kiosk.toml" in s["Service"]["Environment"]


def test_the_web_service_is_a_watched_notify_service_with_only_the_device_groups(staged):
    root, _ = staged
    s = unit_settings(root / "etc/systemd/system/kiosk.service")
    assert one(s, "Service", "Type") == "notify"
    assert int(one(s, "Service", "WatchdogSec")) >= 10
    assert one(s, "Service", "Restart") == "on-failure"
    assert one(s, "Service", "ExecStart") == "/opt/kiosk/venv/bin/kiosk serve --config /etc/kiosk/kiosk.toml"
    assert sorted(one(s, "Service", "SupplementaryGroups").split()) == ["audio", "dialout", "lp", "video"]
    assert one(s, "Service", "ReadWritePaths") == "/var/lib/kiosk"
    assert one(s, "Install", "WantedBy") == "multi-user.target"     # back by itself after a power cut
    # these would close the device cgroup and cut the service off its devices
    assert not {"PrivateDevices", "DeviceAllow", "DevicePolicy", "ProtectClock"} & set(s["Service"])


def test_sync_browser_and_timers(staged):
    root, _ = staged
    d = root / "etc/systemd/system"
    sync = unit_settings(d / "kiosk-sync.service")
    assert one(sync, "Service", "ExecStart") == "/opt/kiosk/venv/bin/kiosk-sync run --config /etc/kiosk/kiosk.toml"
    assert one(sync, "Service", "Restart") == "on-failure"
    assert set(one(sync, "Service", "RestartPreventExitStatus").split()) == {"1", "3"}   # config error, 401/403
    assert "SupplementaryGroups" not in sync["Service"]              # no devices, no device groups

    browser = unit_settings(d / "kiosk-browser.service")
    cmd = one(browser, "Service", "ExecStart")
    assert "/usr/bin/chromium --kiosk" in cmd and cmd.endswith("http://127.0.0.1:8080/kiosk")
    assert one(browser, "Service", "Restart") == "always"           # restarted whenever it dies
    assert "kiosk.service" in one(browser, "Unit", "After")

    for name, command, at in (("backup", "kiosk backup", "02:30"), ("purge", "kiosk purge", "03:30")):
        service = unit_settings(d / f"kiosk-{name}.service")
        assert one(service, "Service", "Type") == "oneshot"
        assert one(service, "Service", "ExecStart") == f"/opt/kiosk/venv/bin/{command} --config /etc/kiosk/kiosk.toml"
        timer = configparser.ConfigParser(strict=False)
        timer.read(d / f"kiosk-{name}.timer")
        assert timer["Timer"]["OnCalendar"] == f"*-*-* {at}:00"
        assert timer["Timer"]["Persistent"] == "true"
        assert timer["Timer"]["Unit"] == f"kiosk-{name}.service"
        assert timer["Install"]["WantedBy"] == "timers.target"


def test_the_central_office_unit_is_installed_hardened_and_not_enabled(staged):
    root, result = staged
    s = unit_settings(root / "etc/systemd/system/kiosk-central.service")
    assert one(s, "Service", "ExecStart") == "/opt/kiosk/venv/bin/kiosk-central serve --config /etc/kiosk/kiosk.toml"
    assert one(s, "Service", "EnvironmentFile") == "-/etc/kiosk/central.env"  # KIOSK_CENTRAL_DB=postgresql://...
    assert one(s, "Service", "PrivateDevices") == "yes" and one(s, "Service", "CapabilityBoundingSet") == ""
    assert "SupplementaryGroups" not in s["Service"]
    assert "postgresql.service" in one(s, "Unit", "After")
    assert (root / "opt/kiosk/doc/central.md").is_file()
    wants = root / "etc/systemd/system/multi-user.target.wants"
    assert not (wants / "kiosk-central.service").exists()  # the office server enables it, not the front desk
