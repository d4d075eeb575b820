"""Untrusted image bytes and references fail with a reason, never a crash."""
import base64
import struct
import zlib

import cv2
import numpy as np
import pytest

from models.plates.images import ImageError, decode_image, load_image_ref


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


def _absurd_png(w=100_000, h=100_000) -> bytes:
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    chunk = lambda kind, data: struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 10)) + chunk(b"IEND", b"")


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
    for ref, words in [("../secret.txt", "escapes"), ("/etc/passwd", "absolute"), ("missing.png", "not found"), ("", "empty")]:
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
