"""No input line, file or image crashes, hangs, exhausts or silently thins a run.

One run of the real command line over files that an attacker or an unlucky
operator could hand it: strings JSON can carry but no UTF-8 coder can (lone
surrogates), NUL characters, numbers of hundreds of digits, NaN, lines of
megabytes without a newline, images that are FIFOs, devices, folders, symlink
loops or decompression bombs. Every line must end in exactly one row, the
run must finish within its time limit and under 2 GB of memory, and the raw
lines kept in dead letters must hold no plain plate.
"""
import json
import os
import re
import stat
import struct
import subprocess
import sys
import unicodedata
import zlib

import cv2
import numpy as np
import pytest

from pipelines.analysis.tables import connect

pytestmark = pytest.mark.beam

MEMORY_CAP = 2 * 1024 ** 3
GOOD = {"event_id": "good", "camera_id": "QH-BC-001", "captured_at": "2026-11-29T08:00:00+08:00",
        "plate": "琼C12345", "plate_confidence": 0.97}
NO_READ = {key: value for key, value in GOOD.items() if key not in ("plate", "plate_confidence")}
PLATES = ("琼B66688", "琼B66689", "琼B66690", "琼B66691", "琼B66692", "粤A77701")
LONE = "\ud800"


def line(obj) -> str:
    return json.dumps(obj, ensure_ascii=True, allow_nan=True)


def _png_bomb(side=6300) -> bytes:
    """A valid 16-bit RGBA PNG of about 300 kB that decodes to 317 MB."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    packer = zlib.compressobj(9)
    row = b"\x00" * (1 + side * 8)
    idat = b"".join(packer.compress(row) for _ in range(side)) + packer.flush()
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 16, 6, 0, 0, 0))
            + chunk(b"IDAT", idat) + chunk(b"IEND", b""))


def _jpeg_12_bit_header(side=6000) -> bytes:
    """A JPEG whose frame header claims 12-bit samples, 3 components, side × side."""
    sof = struct.pack(">BHHB", 12, side, side, 3) + b"\x01\x11\x00\x02\x11\x00\x03\x11\x00"
    return b"\xff\xd8" + b"\xff\xc1" + struct.pack(">H", len(sof) + 2) + sof + b"\x00" * 64 + b"\xff\xd9"


def _images(folder) -> None:
    images = folder / "images"
    images.mkdir()
    (images / "bomb.png").write_bytes(_png_bomb())
    (images / "deep.jpg").write_bytes(_jpeg_12_bit_header())
    os.mkfifo(images / "fifo.jpg")
    os.mknod(images / "zero.jpg", 0o644 | stat.S_IFCHR, os.makedev(1, 5))  # /dev/zero's numbers
    (images / "folder.jpg").mkdir()
    os.symlink("loop-b.jpg", images / "loop-a.jpg")
    os.symlink("loop-a.jpg", images / "loop-b.jpg")
    ramp = np.linspace(0, 255, 3000, dtype=np.uint8)
    frame = np.dstack([np.tile(ramp, (2400, 1))] * 3)
    cv2.imwrite(str(images / "large.png"), frame)  # 21.6 MB decoded: under the caps, read by the model


EVENTS = [
    (line(GOOD), None),
    *[(line({**GOOD, "event_id": f"lone-{field}", field: f"x{LONE}y"}), f"{field}: not valid Unicode")
      for field in ("plate", "camera_id", "captured_at", "plate_color", "image", "image_kind", "note")],
    (line({**GOOD, "event_id": f"id{LONE}"}), "event_id: not valid Unicode"),
    (line({**GOOD, "event_id": "low-surrogate", "note": "\udc00"}), "note: not valid Unicode"),
    (line({**GOOD, "event_id": "reversed-pair", "note": "\udc00\ud800"}), "note: not valid Unicode"),
    (line({**GOOD, "event_id": "surrogate-key", f"k{LONE}": 1}), "a key: not valid Unicode"),
    (line({**GOOD, "event_id": "nested", "extra": {"deep": [LONE]}}), "extra: not valid Unicode"),
    (line({**GOOD, "event_id": "emoji", "note": "\U0001F600"}), None),
    (line({**GOOD, "event_id": "nul\u0000id"}), None),
    (line({**NO_READ, "event_id": "nul-image", "image": "images/a\u0000.jpg"}), "NUL character"),
    (line({**NO_READ, "event_id": "loop", "image": "images/loop-a.jpg"}), "cannot be resolved"),
    (line({**NO_READ, "event_id": "fifo", "image": "images/fifo.jpg"}), "a FIFO, not a regular file"),
    (line({**NO_READ, "event_id": "device", "image": "images/zero.jpg"}), "a character device"),
    (line({**NO_READ, "event_id": "folder", "image": "images/folder.jpg"}), "a folder, not a regular file"),
    *[(line({**NO_READ, "event_id": f"bomb-{n}", "image": "images/bomb.png"}), "would decode to")
      for n in range(40)],
    (line({**NO_READ, "event_id": "12-bit", "image": "images/deep.jpg"}), "would decode to"),
    *[(line({**NO_READ, "event_id": f"large-{n}", "image": "images/large.png"}), None) for n in range(12)],
    (line({**GOOD, "event_id": "huge-lane", "lane": 10 ** 400}), "lane: a huge number outside"),
    ('{"event_id": "nan", "camera_id": "QH-BC-001", "captured_at": "2026-11-29T08:00:00+08:00", '
     '"plate": "琼C12345", "plate_confidence": NaN}', "plate_confidence: nan outside"),
    (line({**GOOD, "event_id": "inf-lon", "lon": float("-inf"), "lat": 19.2}), "lon: -inf outside"),
    ("[" * 200_000, "not valid JSON"),
    (line({**GOOD, "event_id": "long", "padding": "x" * (9 * 1024 * 1024)}), "line longer than"),
    # Refused lines that carry plates, in the ways a plate is written: none may be kept plain.
    (line({**GOOD, "event_id": "plate-1", "camera_id": "nowhere", "plate": PLATES[0]}), "unknown camera"),
    (json.dumps({**GOOD, "event_id": "plate-2", "lane": -1, "plate": "琼ｂ６６６８９"}, ensure_ascii=False),
     "lane"),
    (line({**GOOD, "event_id": "plate-3", "captured_at": "2099-01-01T00:00:00+08:00", "plate": PLATES[2]}),
     "too far in the future"),
    ('{"event_id": "plate-4", "plate": "琼B 666 91", "camera_id": ', "not valid JSON"),
    (line({**NO_READ, "event_id": "plate-5", "image": f"images/{PLATES[4]}.jpg"}), "image file not found"),
    (json.dumps({**GOOD, "event_id": "plate-6", "camera_id": 7, "note": "seen 粤A-777·01 too"},
                ensure_ascii=False), "camera_id: expected a string"),
]
INCIDENTS = [
    (line({"incident_id": f"i{LONE}", "kind": "public_order", "reported_at": "2026-11-29T08:00:00+08:00",
           "lon": 110.46, "lat": 19.25}), "incident_id: not valid Unicode"),
    (line({"incident_id": "i-huge", "kind": "traffic_accident", "reported_at": "2026-11-29T08:00:00+08:00",
           "lon": 110.46, "lat": 19.25, "deaths": 10 ** 500}), "deaths: a huge number outside"),
]
OUTCOMES = [
    (line({"dispatch_id": "D-1", "status": "acknowledged", "at": "2026-11-29T08:01:00+08:00",
           "dispatched_at": "2026-11-29T08:00:00+08:00", "responder_id": LONE, "lon": 110.46,
           "lat": 19.25}), "responder_id: not valid Unicode"),
]
LAST_LINE = "y" * (20 * 1024 * 1024)  # the file ends in a line of 20 MB without a newline


def _write(path, rows, tail=None):
    text = "\n".join(text for text, _ in rows) + "\n" + (tail or "")
    path.write_text(text, encoding="utf-8")


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hostile")
    _images(folder)
    _write(folder / "events.jsonl", EVENTS, tail=LAST_LINE)
    _write(folder / "incidents.jsonl", INCIDENTS)
    _write(folder / "outcomes.jsonl", OUTCOMES)
    output = folder / "out"
    measured = [sys.executable, "-c",
                "import resource, subprocess, sys\n"
                "code = subprocess.run(sys.argv[1:]).returncode\n"
                "print('peak_rss_kb', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
                "sys.exit(code)",
                sys.executable, "-m", "pipelines.cli", "run", "--runner", "FnApiRunner",
                "--events", str(folder / "events.jsonl"), "--incidents", str(folder / "incidents.jsonl"),
                "--outcomes", str(folder / "outcomes.jsonl"), "--output", str(output)]
    finished = subprocess.run(measured, capture_output=True, text=True, timeout=600)
    peak_kb = int(re.search(r"peak_rss_kb (\d+)", finished.stdout).group(1))
    return folder, output, finished, peak_kb * 1024


def test_the_run_finishes_balanced_without_a_traceback(hostile):
    _, _, finished, _ = hostile
    assert finished.returncode == 0, finished.stderr[-3000:]
    assert "Traceback" not in finished.stderr
    assert "balanced" in finished.stdout and "UNBALANCED" not in finished.stdout


def test_the_run_stays_under_the_memory_cap(hostile):
    *_, peak = hostile
    assert peak < MEMORY_CAP, f"peak RSS {peak / 1024 ** 2:.0f} MB"


def test_every_line_of_every_input_is_exactly_one_row(hostile):
    folder, output, _, _ = hostile
    con = connect(output)
    sources = sorted(s for (s,) in con.execute(
        "SELECT source FROM passings UNION ALL SELECT source FROM incidents "
        "UNION ALL SELECT source FROM outcomes UNION ALL SELECT source FROM dead_letters").fetchall())
    expected = sorted([f"{folder}/events.jsonl:{n}" for n in range(1, len(EVENTS) + 2)]
                      + [f"{folder}/incidents.jsonl:{n}" for n in range(1, len(INCIDENTS) + 1)]
                      + [f"{folder}/outcomes.jsonl:{n}" for n in range(1, len(OUTCOMES) + 1)])
    assert sources == expected


@pytest.mark.parametrize("name, rows", [("events", EVENTS), ("incidents", INCIDENTS), ("outcomes", OUTCOMES)])
def test_each_refused_line_says_why(hostile, name, rows):
    folder, output, _, _ = hostile
    reasons = dict(connect(output).execute("SELECT source, reason FROM dead_letters").fetchall())
    for number, (_, reason) in enumerate(rows, start=1):
        source = f"{folder}/{name}.jsonl:{number}"
        if reason is None:
            assert source not in reasons, reasons.get(source)
        else:
            assert reason in reasons.get(source, ""), (source, reasons.get(source))
    if name == "events":
        assert "line longer than" in reasons[f"{folder}/events.jsonl:{len(EVENTS) + 1}"]


def test_images_under_the_caps_are_read_by_the_model(hostile):
    _, output, _, _ = hostile
    (read,) = connect(output).execute(
        "SELECT count(*) FROM passings WHERE event_id LIKE 'large-%'").fetchone()
    assert read == 12


def _plain(text: str) -> str:
    """The text as a plate reader would see it: escapes decoded, full-width folded, no separators."""
    text = re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), text)
    return re.sub(r"[\s·•\-_.]", "", unicodedata.normalize("NFKC", text)).upper()


def test_no_plain_plate_is_kept_in_dead_letters(hostile):
    _, output, _, _ = hostile
    raws = [text for row in connect(output).execute("SELECT raw, reason FROM dead_letters").fetchall()
            for text in row]
    assert len(raws) > 100
    leaked = [(plate, raw[:120]) for raw in raws for plate in PLATES + ("琼C12345",) if plate in _plain(raw)]
    assert not leaked


def test_files_that_would_block_or_never_end_are_refused_up_front(tmp_path):
    os.mkfifo(tmp_path / "fifo.jsonl")
    os.mknod(tmp_path / "zero.jsonl", 0o644 | stat.S_IFCHR, os.makedev(1, 5))
    (tmp_path / "folder.jsonl").mkdir()
    os.symlink("loop.jsonl", tmp_path / "loop.jsonl")
    finished = subprocess.run(
        [sys.executable, "-m", "pipelines.cli", "run", "--events", str(tmp_path / "*.jsonl"),
         "--output", str(tmp_path / "out")], capture_output=True, text=True, timeout=120)
    assert finished.returncode == 2 and "Traceback" not in finished.stderr
    for name, kind in (("fifo", "a FIFO"), ("zero", "a character device"), ("folder", "a folder"),
                       ("loop", "Too many levels of symbolic links")):
        assert f"{tmp_path / name}.jsonl" in finished.stderr and kind in finished.stderr
