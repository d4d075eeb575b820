"""Untrusted image bytes and references fail with a reason, never a crash."""
import base64
import os
import stat
import struct
import time
import zlib

import cv2
import numpy as np
import pytest

from models.plates.images import ImageError, decode_image, image_header, load_image_ref


def _png(img: np.ndarray) -> bytes:
    return cv2.imencode(".png", img)[1].tobytes()


def _jpeg(img: np.ndarray) -> bytes:
    return cv2.imencode(".jpg", img)[1].tobytes()


IMG = np.random.default_rng(0).integers(0, 255, (40, 120, 3), dtype=np.uint8)


def test_decodes_jpeg_png_gray_and_alpha_to_bgr():
    assert decode_image(_jpeg(IMG)).shape == (40, 120, 3)
    assert np.array_equal(decode_image(_png(IMG)), IMG)
    gray = decode_image(_png(IMG[..., 0]))
    assert gray.shape == (40, 120, 3) and np.array_equal(gray[..., 0], IMG[..., 0])
    rgba = np.dstack([IMG, np.full((40, 120), 128, np.uint8)])
    assert np.array_equal(decode_image(_png(rgba)), IMG)


def _chunk(kind: bytes, data: bytes) -> bytes:
    """One PNG chunk: its length, type, data and CRC."""
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _absurd_png(w=100_000, h=100_000) -> bytes:
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", zlib.compress(b"\x00" * 10))
            + _chunk(b"IEND", b""))


@pytest.mark.parametrize(
    "data,words",
    [
        (b"", "empty"),
        (b"hello, not an image at all", "not a JPEG or PNG"),
        (_jpeg(IMG)[: len(_jpeg(IMG)) // 2], "truncated"),
        (_jpeg(IMG)[:2] + b"\x00" * 50, "corrupt"),
        (_png(IMG)[:60], "truncated"),
        (_absurd_png(), "100000x100000"),
    ],
    ids=["0-byte", "non-image", "truncated-jpeg", "corrupt-jpeg", "truncated-png", "absurd-dimensions"],
)
def test_bad_bytes_raise_image_error_with_reason(data, words):
    with pytest.raises(ImageError) as e:
        decode_image(data)
    assert words in e.value.reason


def test_load_image_ref_paths(tmp_path):
    (tmp_path / "cam").mkdir()
    (tmp_path / "cam" / "a.png").write_bytes(_png(IMG))
    (tmp_path / "secret.txt").write_text("no")
    base = tmp_path / "cam"
    assert load_image_ref("a.png", base, max_bytes=1 << 20) == _png(IMG)
    for ref, words in [("../secret.txt", "escapes"), ("/etc/passwd", "absolute"), ("missing.png", "not found"),
                       ("", "empty")]:
        with pytest.raises(ImageError) as e:
            load_image_ref(ref, base, max_bytes=1 << 20)
        assert words in e.value.reason
    with pytest.raises(ImageError, match="larger"):
        load_image_ref("a.png", base, max_bytes=10)


def test_load_image_ref_data_uri():
    data = _png(IMG)
    uri = "data:image/png;base64," + base64.b64encode(data).decode()
    assert load_image_ref(uri, None, max_bytes=len(data)) == data
    with pytest.raises(ImageError, match="larger than"):
        load_image_ref(uri, None, max_bytes=len(data) // 2)
    with pytest.raises(ImageError, match="invalid base64"):
        load_image_ref("data:image/png;base64,@@@@", None, max_bytes=1000)
    with pytest.raises(ImageError, match="not base64"):
        load_image_ref("data:text/plain,hello", None, max_bytes=1000)


def _header_only_png(width, height, depth, colour) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", zlib.compress(b"\x00")) + _chunk(b"IEND", b"")


@pytest.mark.parametrize("depth, colour, decoded", [
    (16, 6, 6300 * 6300 * 8),  # 16-bit RGBA: the 309 kB PNG that inflates to 317 MB
    (8, 2, 6300 * 6300 * 3),
    (8, 3, 6300 * 6300 * 4),  # palette, decoded with its alpha
])
def test_the_decoded_size_is_read_from_the_header_and_capped(depth, colour, decoded):
    data = _header_only_png(6300, 6300, depth, colour)
    assert image_header(data).decoded_bytes == decoded
    with pytest.raises(ImageError, match=f"would decode to {decoded:,} bytes"):
        decode_image(data)
    assert decode_image(_png(IMG), max_decoded_bytes=IMG.size).shape == IMG.shape
    with pytest.raises(ImageError, match="would decode to"):
        decode_image(_png(IMG), max_decoded_bytes=IMG.size - 1)


def test_a_12_bit_jpeg_counts_two_bytes_a_sample():
    sof = struct.pack(">BHHB", 12, 100, 200, 3) + b"\x01\x11\x00\x02\x11\x00\x03\x11\x00"
    data = b"\xff\xd8\xff\xc1" + struct.pack(">H", len(sof) + 2) + sof + b"\xff\xd9"
    assert image_header(data) == ("jpeg", 200, 100, 3, 2)


@pytest.mark.parametrize("make, words", [
    (lambda p: os.mkfifo(p), "a FIFO, not a regular file"),
    (lambda p: os.mknod(p, 0o644 | stat.S_IFCHR, os.makedev(1, 5)), "a character device"),
    (lambda p: p.mkdir(), "a folder, not a regular file"),
    (lambda p: os.symlink(p.name, p), "cannot be resolved"),
], ids=["fifo", "device", "folder", "symlink-loop"])
def test_only_regular_files_are_read_and_nothing_blocks(tmp_path, make, words):
    make(tmp_path / "odd.jpg")
    started = time.monotonic()
    with pytest.raises(ImageError, match=words):
        load_image_ref("odd.jpg", tmp_path, max_bytes=1 << 20)
    assert time.monotonic() - started < 5


def test_a_nul_character_in_a_reference_is_refused(tmp_path):
    with pytest.raises(ImageError, match="NUL character"):
        load_image_ref("a\x00.jpg", tmp_path, max_bytes=1 << 20)
