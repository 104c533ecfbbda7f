"""`make install` / `make uninstall` staged into a temporary root (DESTDIR, SKIP_VENV=1):
the tree it produces, a config the kiosk accepts, idempotence, PREFIX, and what uninstall keeps."""

from __future__ import annotations

import hashlib
import os
import stat
import tomllib
from pathlib import Path

from tests.deploy.conftest import REPO, UNITS, kiosk_cli, make

EXPECTED_FILES = {
    "etc/kiosk/kiosk.toml": 0o640,
    "etc/kiosk/kiosk.toml.example": 0o640,
    "etc/udev/rules.d/70-kiosk.rules": 0o644,
    "usr/local/bin/kiosk": 0o755,
    "usr/local/bin/kiosk-sync": 0o755,
    "opt/kiosk/doc/operator-guide.md": 0o644,
    "opt/kiosk/doc/config-reference.md": 0o644,
    "opt/kiosk/doc/phone-pages.md": 0o644,
    **{f"etc/systemd/system/{unit}": 0o644 for unit in UNITS},
}
EXPECTED_DIRS = {"var/lib/kiosk": 0o750, "var/lib/kiosk/backups": 0o750, "var/lib/kiosk-browser": 0o700,
                 "etc/kiosk": 0o750, "opt/kiosk": 0o755}


def snapshot(root: Path) -> dict[str, tuple]:
    """Every file and folder under root: type, mode, mtime and content hash."""
    state = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath, name)
            st = path.lstat()
            digest = hashlib.sha256(path.read_bytes()).hexdigest() if stat.S_ISREG(st.st_mode) else None
            state[str(path.relative_to(root))] = (stat.S_IFMT(st.st_mode), stat.S_IMODE(st.st_mode),
                                                   st.st_mtime_ns, digest)
    return state


def test_staged_install_produces_the_tree(staged):
    root, _ = staged
    for rel, mode in EXPECTED_FILES.items():
        path = root / rel
        assert path.is_file(), rel
        assert stat.S_IMODE(path.stat().st_mode) == mode, rel
    for rel, mode in EXPECTED_DIRS.items():
        assert (root / rel).is_dir(), rel
        assert stat.S_IMODE((root / rel).stat().st_mode) == mode, rel
    # the units are the repository's, with the default PREFIX
    for unit in UNITS:
        assert (root / "etc/systemd/system" / unit).read_text() == (REPO / "systemd" / unit).read_text()
    # the config is the commented example, and the kiosk accepts it
    config = root / "etc/kiosk/kiosk.toml"
    assert config.read_text() == (REPO / "deploy/kiosk.toml.example").read_text()
    shown = kiosk_cli("config", "show", "--config", str(config))
    assert shown.returncode == 0, shown.stderr
    assert tomllib.loads(shown.stdout)["database"]["path"] == "/var/lib/kiosk/kiosk.db"
    # the udev rules are generated from that config
    rules = kiosk_cli("udev-rules", "--config", str(config))
    assert (root / "etc/udev/rules.d/70-kiosk.rules").read_text() == rules.stdout
    # the technician's wrapper runs the installed command as the kiosk user
    wrapper = (root / "usr/local/bin/kiosk").read_text()
    assert "runuser -u kiosk -- /opt/kiosk/venv/bin/kiosk" in wrapper and "/etc/kiosk/kiosk.toml" in wrapper


def test_staged_install_touches_nothing_on_the_system_and_says_what_it_would_do(staged):
    _, result = staged
    out = result.stdout
    assert "would run: useradd --system --user-group --home-dir /var/lib/kiosk" in out
    assert "would run: chown kiosk:kiosk /var/lib/kiosk" in out
    assert "would run: chown root:kiosk /etc/kiosk/kiosk.toml" in out
    assert "would run: systemctl enable kiosk.service kiosk-sync.service kiosk-browser.service " \
           "kiosk-backup.timer kiosk-purge.timer" in out
    assert "would run: udevadm control --reload-rules" in out
    assert "SKIP_VENV=1" in out
    for line in out.splitlines():      # every system command was only printed
        assert not line.startswith("+ "), line


def test_install_twice_changes_nothing_and_never_overwrites_the_config(tmp_path):
    root = tmp_path / "root"
    make("install", root)
    # the technician edits the config between the runs
    config = root / "etc/kiosk/kiosk.toml"
    edited = '[site]\nid = "site-42"\n[database]\npath = "/var/lib/kiosk/kiosk.db"\n'
    config.write_text(edited)
    before = snapshot(root)
    second_run = make("install", root)
    assert snapshot(root) == before          # same files, contents, modes and mtimes
    assert config.read_text() == edited
    assert "keeping the existing /etc/kiosk/kiosk.toml" in second_run.stdout


def test_prefix_moves_the_program_and_the_units_follow(tmp_path):
    root = tmp_path / "root"
    make("install", root, PREFIX="/srv/frontdesk")
    unit = (root / "etc/systemd/system/kiosk.service").read_text()
    assert "ExecStart=/srv/frontdesk/venv/bin/kiosk serve --config /etc/kiosk/kiosk.toml" in unit
    assert "/opt/kiosk" not in unit
    assert (root / "srv/frontdesk/doc/operator-guide.md").is_file()
    assert "/srv/frontdesk/venv/bin/kiosk" in (root / "usr/local/bin/kiosk").read_text()


def test_uninstall_removes_everything_but_the_data_and_the_site_config(tmp_path):
    root = tmp_path / "root"
    make("install", root)
    (root / "var/lib/kiosk/kiosk.db").write_bytes(b"the site's data")
    result = make("uninstall", root)
    assert "would run: systemctl disable --now kiosk.service" in result.stdout
    for rel in EXPECTED_FILES:
        if rel != "etc/kiosk/kiosk.toml":
            assert not (root / rel).exists(), rel
    assert not (root / "opt/kiosk").exists() and not (root / "var/lib/kiosk-browser").exists()
    assert (root / "var/lib/kiosk/kiosk.db").read_bytes() == b"the site's data"
    assert (root / "etc/kiosk/kiosk.toml").is_file()
