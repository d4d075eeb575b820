"""Turning untrusted image references and bytes into BGR arrays, or a reason why not.

Camera events carry images as a path relative to the events file or as a
``data:`` URI. Both come from outside, so every failure is an ``ImageError``
with a short human reason that ends up in ``dead_letters`` -- never a crash,
never a silent drop, never a hang:

- only regular files are read, opened without blocking (a FIFO would wait for
  a writer for ever, a device would stream without end), and never more than
  ``max_bytes`` of them;
- what decoding would allocate (pixels × channels × bytes per channel) is
  read from the PNG/JPEG header *before* decoding, so a 309 kB PNG that
  inflates to 300 MB, or a 100000x100000 "image" of a few bytes, is refused
  instead of decoded.
"""
from __future__ import annotations

import base64
import binascii
import errno
import os
import stat
import struct
from pathlib import Path
from typing import NamedTuple

import numpy as np

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# JPEG start-of-frame markers carry the dimensions (C4 DHT, C8 JPG, CC DAC are not SOF).
_SOF_MARKERS = set(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
# PNG colour type → channels as OpenCV decodes it unchanged (palette and grey+alpha come out as BGRA).
_PNG_CHANNELS = {0: 1, 2: 3, 3: 4, 4: 4, 6: 4}
MAX_DECODED_BYTES = 64 * 1024 * 1024
_FILE_KINDS = ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"),
               (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))


class ImageError(ValueError):
    """An image that cannot be used; ``reason`` says why, in words for dead letters."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class ImageHeader(NamedTuple):
    format: str
    width: int
    height: int
    channels: int
    bytes_per_channel: int

    @property
    def decoded_bytes(self) -> int:
        return self.width * self.height * self.channels * self.bytes_per_channel


def file_kind(mode: int) -> str:
    """What a file that is not a regular file is, in words."""
    return next((kind for test, kind in _FILE_KINDS if test(mode)), "not a regular file")


def read_regular_file(path: str | Path, max_bytes: int) -> bytes:
    """The bytes of a regular file of at most `max_bytes`; OSError or ImageError otherwise.

    Opened with O_NONBLOCK so that a FIFO answers at once instead of waiting
    for a writer; its type is checked on the open descriptor, so it cannot be
    swapped between the check and the read.
    """
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ImageError(f"image path is {file_kind(info.st_mode)}, not a regular file")
        if info.st_size > max_bytes:
            raise ImageError(f"image file larger than {max_bytes} bytes")
        chunks, size = [], 0
        while chunk := os.read(fd, min(1 << 20, max_bytes + 1 - size)):
            chunks.append(chunk)
            size += len(chunk)
            if size > max_bytes:  # grew since fstat
                raise ImageError(f"image file larger than {max_bytes} bytes")
        return b"".join(chunks)
    finally:
        os.close(fd)


def image_header(data: bytes) -> ImageHeader:
    """Format, size and sample layout from the header alone; ImageError if not PNG/JPEG."""
    if data.startswith(PNG_SIGNATURE):
        if len(data) < 26 or data[12:16] != b"IHDR":
            raise ImageError("truncated PNG header")
        width, height, depth, colour = struct.unpack(">IIBB", data[16:26])
        if colour not in _PNG_CHANNELS:
            raise ImageError(f"corrupt PNG: colour type {colour}")
        return ImageHeader("png", width, height, _PNG_CHANNELS[colour], 2 if depth == 16 else 1)
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
                if i + 10 > len(data):
                    break
                precision, height, width, components = struct.unpack(">BHHB", data[i + 4 : i + 10])
                return ImageHeader("jpeg", width, height, max(components, 1), 2 if precision > 8 else 1)
            i += 2 + length
        raise ImageError("truncated or corrupt JPEG: no frame header")
    raise ImageError("not a JPEG or PNG image")


def checked_header(data: bytes, *, max_pixels: int = 40_000_000,
                   max_decoded_bytes: int = MAX_DECODED_BYTES) -> ImageHeader:
    """The header of an image that may be decoded; ImageError saying which limit it breaks."""
    if not data:
        raise ImageError("empty image (0 bytes)")
    header = image_header(data)
    width, height = header.width, header.height
    if width == 0 or height == 0 or width * height > max_pixels:
        raise ImageError(f"image dimensions {width}x{height} out of range (max {max_pixels} pixels)")
    if header.decoded_bytes > max_decoded_bytes:
        raise ImageError(f"image would decode to {header.decoded_bytes:,} bytes ({width}x{height}, "
                         f"{header.channels} channels of {8 * header.bytes_per_channel} bits; "
                         f"max {max_decoded_bytes:,})")
    if header.format == "jpeg" and not data.rstrip(b"\x00\r\n ").endswith(b"\xff\xd9"):
        raise ImageError("truncated JPEG (no end-of-image marker)")
    if header.format == "png" and b"IEND" not in data[-32:]:
        raise ImageError("truncated PNG (no IEND chunk)")
    return header


def decode_image(data: bytes, *, max_pixels: int = 40_000_000,
                 max_decoded_bytes: int = MAX_DECODED_BYTES) -> np.ndarray:
    """Decode JPEG/PNG bytes to a BGR uint8 array (gray and alpha are converted)."""
    import cv2
    header = checked_header(data, max_pixels=max_pixels, max_decoded_bytes=max_decoded_bytes)
    try:
        img: np.ndarray | None = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    except cv2.error:
        img = None
    if img is None or img.size == 0:
        raise ImageError(f"corrupt {header.format.upper()} image")
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
    no symlinks out) and name a regular file; data URIs must be base64 and
    decode to at most ``max_bytes``.
    """
    if not ref:
        raise ImageError("empty image reference")
    if "\x00" in ref:
        raise ImageError("image reference contains a NUL character")
    if ref.startswith("data:"):
        return _data_uri(ref, max_bytes)
    rel = Path(ref)
    if rel.is_absolute() or ref.startswith(("/", "\\")) or rel.drive:
        raise ImageError("absolute image paths are not allowed")
    try:
        base = Path(base_dir).resolve()
        path = (base / rel).resolve()
    except (OSError, RuntimeError):  # a symlink loop: RuntimeError up to Python 3.12, OSError after
        raise ImageError(f"image path cannot be resolved (a symlink loop?): {ref}") from None
    if ".." in rel.parts or not path.is_relative_to(base):
        raise ImageError("image path escapes the events folder")
    try:
        return read_regular_file(path, max_bytes)
    except FileNotFoundError:
        raise ImageError(f"image file not found: {ref}") from None
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise ImageError(f"image path cannot be resolved (a symlink loop?): {ref}") from None
        raise ImageError(f"cannot read image file {ref}: {e.strerror or e}") from None


def _data_uri(ref: str, max_bytes: int) -> bytes:
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
