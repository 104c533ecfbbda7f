"""QR decoding, one way for the whole project: zbar in *binary* mode so UTF-8 payloads
(Chinese included) come back exact (HARDWARE-NOTES.md "pyzbar and UTF-8"), or zxing-cpp.

`decode_gray` takes a grayscale frame (numpy array, as the camera worker has it);
`find_qr_payloads` takes a PIL image (printed receipts) and pads/enlarges it first.
"""

from __future__ import annotations

from collections.abc import Callable
from ctypes import c_char_p, c_void_p, cast
from types import ModuleType
from typing import Any

from PIL import Image, ImageOps

ZBAR_CFG_BINARY = 4  # libzbar >= 0.23.1; pyzbar's enum lacks it


class DecoderUnavailable(RuntimeError):
    """The configured decoder's library is not installed."""


def _zbar() -> tuple[ModuleType, Any, Any]:
    """pyzbar's module and its ZBarConfig and ZBarSymbol enums (pyzbar ships no types)."""
    try:
        from pyzbar import pyzbar
        from pyzbar.wrapper import ZBarConfig, ZBarSymbol
    except Exception as exc:  # noqa: BLE001 - ImportError, or libzbar0 missing (OSError)
        raise DecoderUnavailable(f"pyzbar/libzbar0 not available: {exc}") from None
    return pyzbar, ZBarConfig, ZBarSymbol


def decode_bytes(pixels: bytes, width: int, height: int) -> list[bytes]:
    """Raw payloads of the QR codes in an 8-bit grayscale buffer (zbar, binary mode)."""
    pyzbar, ZBarConfig, ZBarSymbol = _zbar()
    found: list[bytes] = []
    with pyzbar._image_scanner() as scanner:
        pyzbar.zbar_image_scanner_set_config(scanner, ZBarSymbol.NONE, ZBarConfig.CFG_ENABLE, 0)
        pyzbar.zbar_image_scanner_set_config(scanner, ZBarSymbol.QRCODE, ZBarConfig.CFG_ENABLE, 1)
        pyzbar.zbar_image_scanner_set_config(scanner, ZBarSymbol.QRCODE, ZBAR_CFG_BINARY, 1)
        with pyzbar._image() as zimage:
            pyzbar.zbar_image_set_format(zimage, pyzbar._FOURCC["L800"])
            pyzbar.zbar_image_set_size(zimage, width, height)
            pyzbar.zbar_image_set_data(zimage, cast(c_char_p(pixels), c_void_p), len(pixels), None)
            if pyzbar.zbar_scan_image(scanner, zimage) > 0:
                for symbol in pyzbar._decode_symbols(pyzbar._symbols_for_image(zimage)):
                    found.append(symbol.data)
    return found


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", errors="replace")


def decode_gray_pyzbar(gray: Any) -> list[str]:
    """QR payloads in a 2-D uint8 numpy frame."""
    height, width = gray.shape[:2]
    return [_text(b) for b in decode_bytes(gray.tobytes(), width, height)]


def decode_gray_zxing(gray: Any) -> list[str]:
    try:
        import zxingcpp
    except ImportError:
        raise DecoderUnavailable("zxing-cpp is not installed (pip install zxing-cpp)") from None
    return [r.text for r in zxingcpp.read_barcodes(gray, formats=zxingcpp.BarcodeFormat.QRCode)]


def frame_decoder(name: str = "pyzbar") -> Callable[[Any], list[str]]:
    """The decode function for `camera.decoder` (checked now, so a missing library fails early)."""
    if name == "zxing":
        try:
            import zxingcpp  # noqa: F401
        except ImportError:
            raise DecoderUnavailable("zxing-cpp is not installed (pip install zxing-cpp)") from None
        return decode_gray_zxing
    _zbar()
    return decode_gray_pyzbar


def code_detector() -> Callable[[Any], bool]:
    """A function telling whether a grayscale frame shows a QR code, readable or not (OpenCV
    finds its three corner squares without decoding it; ~5 ms at 640×480). One per thread."""
    import cv2

    detector = cv2.QRCodeDetector()

    def in_view(gray: Any) -> bool:
        found, _points = detector.detect(gray)
        return bool(found)

    return in_view


def find_qr_payloads(image: Image.Image) -> list[str]:
    """QR payloads in `image`, decoded by zbar in binary mode so UTF-8 comes back exact."""
    try:
        _zbar()
    except DecoderUnavailable:
        return []
    grey = image.convert("L")
    factor = 300 // max(grey.width, grey.height, 1)
    if factor > 1:
        grey = grey.resize((grey.width * factor, grey.height * factor), Image.Resampling.NEAREST)
    grey = ImageOps.expand(grey, border=32, fill=255)
    return [_text(b) for b in decode_bytes(grey.tobytes(), grey.width, grey.height)]
