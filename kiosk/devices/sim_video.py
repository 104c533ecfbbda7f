"""Videos that play a camera: a plain scene, then a QR card held up from `qr_from_s`.

Used for the demo video shipped in kiosk/devices/media/ (tools/make_demo_video.py), the
per-site demo video `kiosk demo load` writes (its card is signed with the site key),
and the tests. MJPG in .avi: OpenCV writes and reads it back everywhere.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import qrcode
from qrcode.constants import ERROR_CORRECT_M


def qr_image(payload: str, size: int) -> np.ndarray:
    """A white card with the QR code of `payload`, `size` pixels square, grayscale."""
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=3, box_size=1)
    code.add_data(payload)
    code.make(fit=True)
    matrix = np.array(code.get_matrix(), dtype=bool)
    modules = matrix.shape[0]
    scale = max(1, size // modules)
    img = np.where(matrix, 0, 255).astype(np.uint8)
    img = np.kron(img, np.ones((scale, scale), dtype=np.uint8))
    out = np.full((size, size), 255, dtype=np.uint8)
    off = (size - img.shape[0]) // 2
    out[off:off + img.shape[0], off:off + img.shape[1]] = img[:size - off, :size - off]
    return out


def scene(width: int, height: int, t: float, label: str = "") -> np.ndarray:
    import cv2

    frame = np.full((height, width, 3), (70, 62, 52), dtype=np.uint8)
    cv2.rectangle(frame, (0, int(height * 0.72)), (width, height), (96, 88, 80), -1)  # the desk
    cv2.putText(frame, f"{label} {t:4.1f}s", (12, 28), cv2.FONT_HERSHEY_SIMPLEX, 0.7, (220, 220, 220), 1)
    return frame


def frame_with_qr(width: int, height: int, payload: str, *, fraction: float = 0.45, t: float = 0.0,
                  label: str = "") -> np.ndarray:
    """A BGR frame with the card in its middle, the QR `fraction` of the frame height."""
    frame = scene(width, height, t, label)
    size = int(height * fraction)
    card = qr_image(payload, size)
    y, x = (height - size) // 2, (width - size) // 2
    frame[y:y + size, x:x + size] = card[:, :, None]
    return frame


def frame_with_unreadable_qr(width: int, height: int, payload: str, *, fraction: float = 0.45, t: float = 0.0,
                             label: str = "") -> np.ndarray:
    """A frame whose card keeps the QR code's three corner squares but has noise where its
    data is: a code in view that no decoder reads (a card held tilted, wet or torn)."""
    frame = frame_with_qr(width, height, payload, fraction=fraction, t=t, label=label)
    size = int(height * fraction)
    y, x = (height - size) // 2, (width - size) // 2
    lo, hi = size // 3, 2 * size // 3
    noise = np.random.default_rng(7).integers(0, 2, (hi - lo, hi - lo), dtype=np.uint8) * 255
    frame[y + lo:y + hi, x + lo:x + hi] = noise[:, :, None]
    return frame


def write_video(path: str | Path, payload: str | None, *, seconds: float = 8.0, fps: int = 8,
                size: tuple[int, int] = (640, 480), qr_from_s: float = 2.0, qr_until_s: float | None = 6.0,
                label: str = "camera sim") -> Path:
    """Write an MJPG .avi: `seconds` long, the QR of `payload` visible from `qr_from_s`."""
    import cv2

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.tmp.avi")
    width, height = size
    writer = cv2.VideoWriter(str(tmp), cv2.VideoWriter.fourcc(*"MJPG"), fps, (width, height))
    if not writer.isOpened():
        raise RuntimeError(f"cannot write {path}")
    writer.set(cv2.VIDEOWRITER_PROP_QUALITY, 50)
    for i in range(int(seconds * fps)):
        t = i / fps
        visible = t >= qr_from_s and (qr_until_s is None or t < qr_until_s)
        frame = (frame_with_qr(width, height, payload, t=t, label=label) if payload and visible
                 else scene(width, height, t, label))
        writer.write(frame)
    writer.release()
    tmp.replace(path)
    return path
