"""Benchmark: QR decoding per camera frame, and scan-to-check-in latency.

  1. decode time per grayscale frame, 640×480 and 1280×720, the card's QR at a quarter
     of the frame height (as HARDWARE-NOTES measures), pyzbar in binary mode and
     zxing-cpp when installed; frames/s on one core (OpenCV limited to one thread);
  2. scan-to-check-in: from the frame in which the card is read (BGR → gray → decode →
     JPEG snapshot → verify the card → visit, snapshot file and outbox row committed)
     with the real runtime on a fresh data directory (SQLite synchronous=FULL).

    .venv/bin/python bench/qr_decode.py [--frames 200] [--checkins 300]

Targets (issue #3): >= 30 frames/s at 1280×720 on one core; scan-to-check-in p95 <= 300 ms.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import cv2

from kiosk.devices.qr_decode import decode_gray_pyzbar, decode_gray_zxing
from kiosk.devices.sim_video import frame_with_qr

from benchlib import pct

PAYLOAD = "KR1:demo-site:demo-zhang:1798335000:l2JkzNWditxDPeY-JpvAKA"



def bench_decode(frames: int) -> None:
    decoders = [("pyzbar (binary)", decode_gray_pyzbar)]
    try:
        import zxingcpp  # noqa: F401
        decoders.append(("zxing-cpp", decode_gray_zxing))
    except ImportError:
        pass
    print("decode per frame (QR at 1/4 of the frame height), one core")
    print(f"{'decoder':<18} {'frame':>9} {'p50 ms':>8} {'p95 ms':>8} {'frames/s':>9}")
    for name, decode in decoders:
        for width, height in ((640, 480), (1280, 720)):
            gray = cv2.cvtColor(frame_with_qr(width, height, PAYLOAD, fraction=0.25), cv2.COLOR_BGR2GRAY)
            assert decode(gray) == [PAYLOAD], f"{name} failed to read the card at {width}x{height}"
            times = []
            for _ in range(frames):
                t0 = time.perf_counter()
                decode(gray)
                times.append((time.perf_counter() - t0) * 1000)
            print(f"{name:<18} {width:>4}×{height:<4} {pct(times, 50):8.1f} {pct(times, 95):8.1f} "
                  f"{1000 / statistics.mean(times):9.1f}")


def bench_checkin(n: int) -> None:
    from kiosk.config import Config
    from kiosk.runtime import Kiosk
    from kiosk.services.visits import Snapshot

    with tempfile.TemporaryDirectory() as tmp:
        cfg = Config()
        cfg.database.path = f"{tmp}/var/kiosk.db"
        cfg.tts.output = "off"
        cfg.camera.source = ""
        cfg.phone.port = ""
        k = Kiosk(cfg)
        try:
            k.visits.import_residents("id,name,unit,phone\ndemo-zhang,张女士,3-2-501,13800138000\n")
            card = k.visits.issue_card("demo-zhang", 30)
            frame = frame_with_qr(1280, 720, card, fraction=0.25)
            camera = k.checkin.camera
            times = []
            for _ in range(n):
                t0 = time.perf_counter()
                gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
                [payload] = decode_gray_pyzbar(gray)
                jpeg = camera.encode_jpeg(frame)
                outcome = k.visits.scan(payload, source="camera", snapshot=Snapshot(jpeg, k.clock.now()))
                times.append((time.perf_counter() - t0) * 1000)
                assert outcome["ok"], outcome
            visits = k.db.scalar("SELECT COUNT(*) FROM visits")
            assert visits == n
        finally:
            k.stop()
    print(f"\nscan-to-check-in at 1280×720 (decode + JPEG + verify + commit), {n} check-ins")
    print(f"p50 {pct(times, 50):.1f} ms   p95 {pct(times, 95):.1f} ms   p99 {pct(times, 99):.1f} ms   "
          f"max {max(times):.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--frames", type=int, default=200)
    parser.add_argument("--checkins", type=int, default=300)
    args = parser.parse_args()
    cv2.setNumThreads(1)
    bench_decode(args.frames)
    bench_checkin(args.checkins)


if __name__ == "__main__":
    main()
