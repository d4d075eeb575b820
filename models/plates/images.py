"""Turning untrusted image references and bytes into BGR arrays, or a reason why not.

Camera events carry images as a path relative to the events file or as a
``data:`` URI. Both come from outside, so every failure is an ``ImageError``
with a short human reason that ends up in ``dead_letters`` -- never a crash,
never a silent drop. Image dimensions are read from the PNG/JPEG header
*before* decoding, so a 100000x100000 "image" of a few bytes cannot make the
decoder allocate 30 GB.
"""
from __future__ import annotations

import base64
import binascii
import struct
from pathlib import Path

import cv2
import numpy as np

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# JPEG start-of-frame markers carry the dimensions (C4 DHT, C8 JPG, CC DAC are not SOF).
_SOF_MARKERS = set(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}


class ImageError(ValueError):
    """An image that cannot be used; ``reason`` says why, in words for dead letters."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def image_size(data: bytes) -> tuple[str, int, int]:
    """(format, width, height) from the header alone; ImageError if not PNG/JPEG."""
    if data.startswith(PNG_SIGNATURE):
        if len(data) < 24 or data[12:16] != b"IHDR":
            raise ImageError("truncated PNG header")
        width, height = struct.unpack(">II", data[16:24])
        return "png", width, height
    if data.startswith(b"\xff\xd8"):
        i = 2
        while i + 4 <= len(data):
            if data[i] != 0xFF:
                raise ImageError("corrupt JPEG: bad marker")
            marker = data[i + 1]
            if marker == 0xFF:  # fill byte
                i += 1
                continue
            (length,) = struct.unpack(">H", data[i + 2 : i + 4])
            if marker in _SOF_MARKERS:
                if i + 9 > len(data):
                    break
                height, width = struct.unpack(">HH", data[i + 5 : i + 9])
                return "jpeg", width, height
            i += 2 + length
        raise ImageError("truncated or corrupt JPEG: no frame header")
    raise ImageError("not a JPEG or PNG image")


def decode_image(data: bytes, *, max_pixels: int = 40_000_000) -> np.ndarray:
    """Decode JPEG/PNG bytes to a BGR uint8 array (gray and alpha are converted)."""
    if not data:
        raise ImageError("empty image (0 bytes)")
    fmt, width, height = image_size(data)
    if width == 0 or height == 0 or width * height > max_pixels:
        raise ImageError(f"image dimensions {width}x{height} out of range (max {max_pixels} pixels)")
    if fmt == "jpeg" and not data.rstrip(b"\x00\r\n ").endswith(b"\xff\xd9"):
        raise ImageError("truncated JPEG (no end-of-image marker)")
    if fmt == "png" and b"IEND" not in data[-32:]:
        raise ImageError("truncated PNG (no IEND chunk)")
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if img is None or img.size == 0:
        raise ImageError(f"corrupt {fmt.upper()} image")
    if img.dtype == np.uint16:
        img = (img >> 8).astype(np.uint8)
    if img.ndim == 2:
        return cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
    if img.shape[2] == 4:
        return cv2.cvtColor(img, cv2.COLOR_BGRA2BGR)
    return img


def load_image_ref(ref: str, base_dir: Path, *, max_bytes: int) -> bytes:
    """The bytes an event's ``image`` field points to: a relative path or a data: URI.

    Paths must stay inside ``base_dir`` (no absolute paths, no ``..`` escapes,
    no symlinks out); data URIs must be base64 and decode to at most ``max_bytes``.
    """
    if not ref:
        raise ImageError("empty image reference")
    if ref.startswith("data:"):
        header, sep, payload = ref.partition(",")
        if not sep or not header.endswith(";base64"):
            raise ImageError("data: URI is not base64")
        if len(payload) * 3 // 4 > max_bytes + 2:
            raise ImageError(f"data: URI image larger than {max_bytes} bytes")
        try:
            data = base64.b64decode(payload, validate=True)
        except (binascii.Error, ValueError):
            raise ImageError("data: URI has invalid base64") from None
        if len(data) > max_bytes:
            raise ImageError(f"data: URI image larger than {max_bytes} bytes")
        return data
    rel = Path(ref)
    if rel.is_absolute() or ref.startswith(("/", "\\")) or rel.drive:
        raise ImageError("absolute image paths are not allowed")
    base = Path(base_dir).resolve()
    path = (base / rel).resolve()
    if ".." in rel.parts or not path.is_relative_to(base):
        raise ImageError("image path escapes the events folder")
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise ImageError(f"image file larger than {max_bytes} bytes")
        return path.read_bytes()
    except FileNotFoundError:
        raise ImageError(f"image file not found: {ref}") from None
    except IsADirectoryError:
        raise ImageError(f"image path is a folder: {ref}") from None
    except OSError as e:
        raise ImageError(f"cannot read image file {ref}: {e.strerror}") from None
