"""Write the demo camera video shipped in kiosk/devices/media/demo-camera.avi.

Its card is signed with a throw-away key, so on a fresh box the kiosk refuses it (and
shows why); `kiosk demo load` writes a per-site copy whose card is signed with the
site key and checks in the demo resident 张女士 about 2 s into each loop.

    .venv/bin/python tools/make_demo_video.py
"""

from __future__ import annotations

import secrets
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kiosk.devices.camera import shipped_demo_video
from kiosk.devices.sim_video import write_video
from kiosk.visits import tokens


def main() -> None:
    payload = tokens.sign(secrets.token_bytes(32), tokens.RESIDENT, "demo-site", "demo-zhang", 4102444800)
    path = write_video(shipped_demo_video(), payload)
    print(f"{path}: {path.stat().st_size} bytes, card {payload}")


if __name__ == "__main__":
    main()
