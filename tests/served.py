"""A real `kiosk serve` in its own process on 127.0.0.1, for tests that talk only HTTP to it
(the schemathesis run). A throw-away data directory, the preview printer, no speech, no
camera, the simulated phone: nothing it is sent can reach a device or another test."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from tests.peers import free_port

ROOT = Path(__file__).resolve().parents[1]
KIOSK = str(Path(sys.executable).parent / "kiosk")


class ServedKiosk:
    """`kiosk serve` with its own config under `data_dir`; `token(role)` mints a bearer
    token through the CLI (`kiosk token create`), as an operator would."""

    def __init__(self, data_dir: Path, extra_toml: str = "", *, server_toml: str = "",
                 printer_toml: str = "wait_s = 0.5\n") -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        data_dir.mkdir(parents=True, exist_ok=True)
        self.config = data_dir / "kiosk.toml"
        self.config.write_text(
            f'[database]\npath = "{data_dir}/var/kiosk.db"\n[server]\nport = {self.port}\n{server_toml}'
            f'[printer]\nbackend = "preview"\n{printer_toml}[tts]\noutput = "off"\n[camera]\nsource = ""\n'
            + extra_toml)
        self.env = {**os.environ, "KIOSK_CONFIG": str(self.config)}
        self.log = data_dir / "serve.log"
        self.process: subprocess.Popen | None = None

    def token(self, role: str) -> str:
        return subprocess.run([KIOSK, "token", "create", "--role", role, "--name", f"served-{role}"], env=self.env,
                              check=True, capture_output=True, text=True).stdout.strip()

    def start(self, timeout_s: float = 30.0) -> ServedKiosk:
        with self.log.open("wb") as log:
            self.process = subprocess.Popen([KIOSK, "serve"], env=self.env, cwd=ROOT, stdout=log,
                                            stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"kiosk serve exited: {self.log.read_text()[-2000:]}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return self
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("kiosk serve did not listen in time")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)

    def errors_logged(self) -> list[str]:
        """Tracebacks and ERROR lines the server wrote to its log."""
        return [line for line in self.log.read_text(errors="replace").splitlines()
                if " ERROR " in line or line.startswith("Traceback")]
