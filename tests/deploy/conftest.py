"""Helpers for the deployment tests: the repository, a staged `make install`, a config file."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
KIOSK_CMD = f"{sys.executable} -m kiosk.cli"
UNITS = ["kiosk.service", "kiosk-sync.service", "kiosk-browser.service", "kiosk-backup.service",
         "kiosk-backup.timer", "kiosk-purge.service", "kiosk-purge.timer", "kiosk-central.service"]


def make(target: str, destdir: Path, **variables: str) -> subprocess.CompletedProcess:
    """`make TARGET DESTDIR=… SKIP_VENV=1` in the repository: staged, offline, no venv."""
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS", "DESTDIR", "PREFIX")}
    args = {"DESTDIR": str(destdir), "SKIP_VENV": "1", "KIOSK_CMD": KIOSK_CMD, **variables}
    result = subprocess.run(["make", "--no-print-directory", "-C", str(REPO), target,
                             *[f"{k}={v}" for k, v in args.items()]],
                            check=False, capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def kiosk_cli(*args: str, env: dict | None = None, input: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "kiosk.cli", *args], check=False, capture_output=True,
                          text=True, cwd=REPO, env=env, input=input, timeout=120)


@pytest.fixture(scope="module")
def staged(tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    """One `make install DESTDIR=… SKIP_VENV=1` shared by a module's tests."""
    root = tmp_path_factory.mktemp("stage")
    return root, make("install", root)


def write_config(tmp_path: Path, extra: str = "") -> Path:
    path = tmp_path / "kiosk.toml"
    path.write_text(f'[database]\npath = "{tmp_path}/var/kiosk.db"\n[tts]\noutput = "off"\n'
                    f'[printer]\nwait_s = 0.0\n{extra}')
    return path
