"""The udev rules generated from the config: stable /dev/kiosk-* names by USB id, and lines
that parse. `udevadm verify` (systemd ≥ 254) checks them when available; Debian 12's udevadm
(252) has no verify, so every line is also checked against udev's rule grammar here."""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest

from kiosk import config as cfgmod
from kiosk.config import ConfigError
from kiosk.deploy import udev_rules
from tests.deploy.conftest import kiosk_cli, write_config

MATCH_KEYS = {"SUBSYSTEM", "SUBSYSTEMS", "KERNEL", "KERNELS", "ATTR", "ATTRS", "ENV", "DRIVERS", "ACTION"}
ASSIGN_KEYS = {"SYMLINK", "GROUP", "MODE", "OWNER", "ENV", "TAG"}
TOKEN = re.compile(r'^(?P<key>[A-Z_]+)(?:\{(?P<attr>[A-Za-z0-9_]+)\})?(?P<op>==|!=|\+=|-=|:=|=)"(?P<value>[^"]*)"$')
ATTR_KEYS = {"ATTR", "ATTRS", "ENV"}


def parse_rule(line: str) -> list[tuple[str, str | None, str, str]]:
    """Split one rule line into (key, attr, op, value) like udev does, failing on anything odd."""
    tokens = []
    for part in line.split(", "):
        m = TOKEN.match(part.strip())
        assert m, f"bad token {part!r} in {line!r}"
        key, attr, op, value = m["key"], m["attr"], m["op"], m["value"]
        assert (attr is not None) == (key in ATTR_KEYS), part
        if op in ("==", "!="):
            assert key in MATCH_KEYS, part
        else:
            assert key in ASSIGN_KEYS, part
        tokens.append((key, attr, op, value))
    assert any(op == "==" for _, _, op, _ in tokens) and any(op != "==" for _, _, op, _ in tokens), line
    return tokens


def rules_of(text: str) -> list[list[tuple]]:
    return [parse_rule(line) for line in text.splitlines() if line.strip() and not line.startswith("#")]


def symlinks(rules: list[list[tuple]]) -> dict[str, set[tuple[str, str]]]:
    out: dict[str, set[tuple[str, str]]] = {}
    for rule in rules:
        d = {(k, a): v for k, a, _, v in rule}
        for k, _, _op, v in rule:
            if k == "SYMLINK":
                out.setdefault(v, set()).add((d[("ATTRS", "idVendor")], d[("ATTRS", "idProduct")]))
    return out


def test_rules_name_each_device_by_its_usb_id(tmp_path):
    path = write_config(tmp_path, '[devices]\nmodem_usb = "0572:1340"\nscanner_usb = "1A86:7523:A1B2"\n')
    text = udev_rules(cfgmod.load(path))
    rules = rules_of(text)
    links = symlinks(rules)
    assert links == {"kiosk-printer": {("0416", "5011")}, "kiosk-modem": {("0572", "1340")},
                     "kiosk-scanner": {("1a86", "7523")}}
    scanner = next(r for r in rules if ("SYMLINK", None, "+=", "kiosk-scanner") in r)
    assert ("ATTRS", "serial", "==", "A1B2") in scanner
    for rule in rules:          # serial ports are kept away from ModemManager, groups match the unit's
        d = {(k, a): v for k, a, _, v in rule}
        if d.get(("SUBSYSTEM", None)) == "tty":
            assert d[("ENV", "ID_MM_DEVICE_IGNORE")] == "1" and d[("GROUP", None)] == "dialout"
        assert d[("GROUP", None)] in ("dialout", "lp") and d[("MODE", None)] == "0660"


def test_printer_id_falls_back_to_the_printer_section_and_can_be_overridden(tmp_path):
    cfg = cfgmod.load(write_config(tmp_path, "usb_vendor_id = 0x04b8\nusb_product_id = 0x0202\n"))
    assert symlinks(rules_of(udev_rules(cfg))) == {"kiosk-printer": {("04b8", "0202")}}
    cfg.devices.printer_usb = "0fe6:811e"
    assert symlinks(rules_of(udev_rules(cfg))) == {"kiosk-printer": {("0fe6", "811e")}}


@pytest.mark.parametrize("value", ["0572", "0572:13400", "modem", "0572:1340:has space", "0x0572:0x1340"])
def test_a_bad_usb_id_is_refused_with_the_key_named(tmp_path, value):
    cfg = cfgmod.load(write_config(tmp_path))
    cfg.devices.modem_usb = value
    with pytest.raises(ConfigError, match="devices.modem_usb"):
        udev_rules(cfg)


def test_udev_rules_command(tmp_path):
    good = kiosk_cli("udev-rules", "--config", str(write_config(tmp_path, '[devices]\nmodem_usb = "0572:1340"\n')))
    assert good.returncode == 0 and 'SYMLINK+="kiosk-modem"' in good.stdout
    rules_of(good.stdout)
    bad = kiosk_cli("udev-rules", "--config", str(write_config(tmp_path, '[devices]\nmodem_usb = "nope"\n')))
    assert bad.returncode != 0 and "devices.modem_usb" in bad.stderr


def udevadm_can_verify() -> bool:
    udevadm = shutil.which("udevadm")
    return bool(udevadm) and subprocess.run([udevadm, "verify", "--help"], capture_output=True,
                                            check=False).returncode == 0


@pytest.mark.skipif(not udevadm_can_verify(), reason="udevadm verify needs systemd >= 254 (Debian 12 has 252)")
def test_udevadm_verify_accepts_the_rules(tmp_path):
    cfg = cfgmod.load(write_config(tmp_path, '[devices]\nmodem_usb = "0572:1340"\nscanner_usb = "1a86:7523"\n'))
    rules = tmp_path / "70-kiosk.rules"
    rules.write_text(udev_rules(cfg))
    result = subprocess.run(["udevadm", "verify", str(rules)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_udev_itself_parses_the_rules(tmp_path):
    """Debian 12's udev parses the generated file: `udevadm test` in a private mount namespace
    where /etc/udev/rules.d is our folder and /dev, /run/udev are empty tmpfs, so nothing on the
    real system is read from or written to. A deliberately bad file proves the parser ran."""
    udevadm, unshare = shutil.which("udevadm"), shutil.which("unshare")
    if not udevadm or not unshare or not os.path.exists("/sys/class/tty/tty0"):
        pytest.skip("needs udevadm, unshare and /sys/class/tty/tty0")
    cfg = cfgmod.load(write_config(tmp_path, '[devices]\nmodem_usb = "0572:1340"\nscanner_usb = "1a86:7523:X1"\n'))
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "70-kiosk.rules").write_text(udev_rules(cfg))
    (rules / "71-control.rules").write_text('SUBSYSTEM=="tty", FOO="x"\n')
    script = (f"mount --bind {rules} /etc/udev/rules.d && mount -t tmpfs none /run/udev && "
              f"mount -t tmpfs none /dev && exec {udevadm} test --action=add /sys/class/tty/tty0")
    result = subprocess.run([unshare, "--mount", "--propagation", "private", "sh", "-c", script],
                            capture_output=True, text=True, check=False, timeout=60)
    output = result.stdout + result.stderr
    if "/etc/udev/rules.d/71-control.rules" not in output:
        pytest.skip(f"cannot run udevadm test in a mount namespace here: {output[-300:]}")
    assert "/etc/udev/rules.d/71-control.rules:1 Invalid key 'FOO'" in output
    assert "Reading rules file: /etc/udev/rules.d/70-kiosk.rules" in output
    complaints = [line for line in output.splitlines() if line.startswith("/etc/udev/rules.d/70-kiosk.rules")]
    assert not complaints, complaints
