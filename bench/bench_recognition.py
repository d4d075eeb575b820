"""Plate-recognition figures on real validation data (prints figures; not a test).

    python bench/bench_recognition.py [--model PATH] [--tesseract-limit N] [--skip-tesseract]

Measures, against the issue's targets:

- exact-plate accuracy on the real EasyPR crops of the test half, which the
  reader never trained on (target >= 95%), and on the half it was fine-tuned
  with, for contrast; the same for each member of the committee alone and
  for the synthetic-only weights they started from;
- end-to-end (localise + read) accuracy on the 27 CCPD frames (>= 90%),
  and localisation IoU against the labelled plate corners;
- beside each exact figure, the reads at most one character off: what the
  watchlist's fuzzy match (one substitution) still catches;
- crops/s batched by 128 (>= 1,000/s), frames/s end to end on 1280x720
  synthetic frames (>= 50/s), model load time (< 3 s), peak RSS (< 1 GB);
- synthetic crops cut at the plate, as plate croppers cut them, and the
  same plates with a wide margin of their surroundings;
- the enhancement ablation (none / always / only dark or flat) on degraded
  synthetic crops and on the real crops;
- Tesseract 5 (chi_sim, --psm 7) on the same crops, for comparison.

Real data lives in ``../shared/data`` beside the repository, or in
``$ROADCHIEF_SHARED_DATA``. Only the EasyPR training half
(`models.plates.training.real`) is ever trained on.
"""
from __future__ import annotations

import argparse
import csv
import os
import re
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from models.plates.locate import find_candidates, iou  # noqa: E402
from models.plates.reader import DEFAULT_WEIGHTS, SECOND_OPINIONS, WEIGHTS, PlateReader, to_read  # noqa: E402
from models.plates.training import render  # noqa: E402
from models.plates.training.real import is_test_plate, load_easypr  # noqa: E402

SYNTHETIC_WEIGHTS = WEIGHTS / "plate_reader_synthetic.keras"


def shared_data() -> Path:
    env = os.environ.get("ROADCHIEF_SHARED_DATA")
    return Path(env) if env else Path(__file__).resolve().parents[1].parent / "shared" / "data"


def load_ccpd(root: Path) -> tuple[list[np.ndarray], list[str], list[tuple[int, int, int, int]]]:
    rows = list(csv.DictReader(open(root / "ccpd_samples" / "labels.csv", encoding="utf-8")))
    images, plates, boxes = [], [], []
    for r in rows:
        images.append(cv2.imread(str(root / "ccpd_samples" / "images" / r["file"])))
        plates.append(r["plate"])
        xs = [int(r[k]) for k in ("rb_x", "lb_x", "lt_x", "rt_x")]
        ys = [int(r[k]) for k in ("rb_y", "lb_y", "lt_y", "rt_y")]
        boxes.append((min(xs), min(ys), max(xs), max(ys)))
    return images, plates, boxes


def exact(reads, truth) -> float:
    return float(np.mean([r.plate == t for r, t in zip(reads, truth)]))


def one_off(reads, truth) -> float:
    """Reads equal to the truth but for at most one substituted character."""
    return float(np.mean([r.plate is not None and len(r.plate) == len(t)
                          and sum(a != b for a, b in zip(r.plate, t)) <= 1
                          for r, t in zip(reads, truth)]))


def bench_enhancement(reader: PlateReader, crops: list[np.ndarray], truth: list[str]) -> dict[str, float]:
    """Accuracy with enhancement off (the reader's default), always on, and only for dark/flat crops."""
    from models.plates.enhance import enhance

    out = {}
    reader.enhance = False
    out["none"] = exact(reader.read_crops(crops), truth)
    out["always"] = exact(reader.read_crops([enhance(c) for c in crops]), truth)
    reader.enhance = True
    out["auto"] = exact(reader.read_crops(crops), truth)
    reader.enhance = False
    return out


def hard_synthetic(n: int, seed: int) -> tuple[list[np.ndarray], list[str]]:
    """Degraded synthetic crops for the enhancement test: darkened and blurred."""
    rng = np.random.default_rng(seed)
    crops, truth = [], []
    for _ in range(n):
        text, color = render.random_plate(rng)
        img = render.render_crop(text, color, rng).astype(np.float32)
        img = cv2.GaussianBlur(img * rng.uniform(0.15, 0.5), (0, 0), rng.uniform(0.6, 1.5))
        crops.append(np.clip(img, 0, 255).astype(np.uint8))
        truth.append(text)
    return crops, truth


def bench_double_row(reader: PlateReader, n: int, seed: int) -> tuple[float, float]:
    """Exact reads of synthetic double-row yellow plates: as they are, and as the reader reads them."""
    rng = np.random.default_rng(seed)
    texts: list[str] = []
    while len(texts) < n:
        text, color = render.random_plate(rng)
        if color == "yellow" and len(text) == 7:
            texts.append(text)
    crops = [render.render_crop(text, "yellow", rng, rows=2) for text in texts]
    as_they_are = [to_read(d) for d in reader.decode(crops, repair=True)]
    return exact(as_they_are, texts), exact(reader.read_crops(crops), texts)


def bench_margins(reader: PlateReader, n: int, seed: int) -> tuple[float, float]:
    """Exact reads of the same synthetic plates cut as plate croppers cut them and with a wide margin."""
    rng = np.random.default_rng(seed)
    plates = [render.random_plate(rng) for _ in range(n)]
    tight = [render.render_crop(text, color, rng) for text, color in plates]
    loose = [render.render_crop(text, color, rng, loose=True) for text, color in plates]
    truth = [text for text, _ in plates]
    return exact(reader.read_crops(tight), truth), exact(reader.read_crops(loose), truth)


def tesseract(crops: list[np.ndarray], truth: list[str], limit: int) -> tuple[float, float] | None:
    exe = shutil.which("tesseract")
    if not exe:
        return None
    tmp = Path("/tmp/roadchief_bench_tess.png")
    hits, t0 = 0, time.perf_counter()
    for img, plate in list(zip(crops, truth))[:limit]:
        cv2.imwrite(str(tmp), img)
        res = subprocess.run([exe, str(tmp), "stdout", "-l", "chi_sim", "--psm", "7"], capture_output=True, text=True)
        text = re.sub(r"[\s·.\-_:,'\"|]", "", res.stdout).upper()
        hits += text == plate
    n = min(limit, len(crops))
    return hits / n, n / (time.perf_counter() - t0)


# The peak is read from /proc (VmHWM, this process's own address space): ru_maxrss
# survives exec, so a child of this large bench would report the bench's peak.
_SERVING = """
import re, sys, numpy as np
sys.path.insert(0, {repo!r})
from models.plates.training import render
from models.plates.reader import PlateReader
reader = PlateReader.load({model!r})
rng = np.random.default_rng(0)
reader.read_crops([render.render_crop("琼A12345", "blue", rng) for _ in range(256)])
reader.read_frames([render.render_frame("琼A12345", "blue", rng)[0] for _ in range(8)])
print(int(re.search(r"VmHWM:\\s+(\\d+) kB", open("/proc/self/status").read()).group(1)) // 1024)
"""


def serving_rss_mb(model: str | None) -> int:
    """Peak RSS of a process that only loads the reader and reads batches, as a pipeline worker does."""
    code = _SERVING.format(repo=str(Path(__file__).resolve().parents[1]), model=model)
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return int(res.stdout.split()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model")
    ap.add_argument("--tesseract-limit", type=int, default=297)
    ap.add_argument("--skip-tesseract", action="store_true")
    args = ap.parse_args()
    root = shared_data()

    t0 = time.perf_counter()
    reader = PlateReader.load(args.model)
    reader.read_crops([np.full((40, 140, 3), 128, np.uint8)])  # first call traces the graph
    load_s = time.perf_counter() - t0
    print(f"model load + first call: {load_s:.2f} s (target < 3 s)")

    all_crops, all_truth, all_colors = load_easypr(root)
    test = [is_test_plate(t) for t in all_truth]
    crops, truth, colors = ([v for v, t in zip(values, test) if t] for values in (all_crops, all_truth, all_colors))
    seen = [(c, t) for c, t, is_test in zip(all_crops, all_truth, test) if not is_test]
    reads = reader.read_crops(crops)
    chars = np.mean([sum(a == b for a, b in zip(r.plate or "", t)) / len(t) for r, t in zip(reads, truth)])
    right = sum(r.plate == t for r, t in zip(reads, truth))
    print(f"EasyPR test half, never trained on: exact {exact(reads, truth):.1%} ({right}/{len(truth)}), "
          f"char {chars:.1%}, colour {np.mean([r.color == c for r, c in zip(reads, colors)]):.1%} (target >= 95%); "
          f"at most one character off {one_off(reads, truth):.1%}")
    for col in sorted(set(colors)):
        idx = [i for i, c in enumerate(colors) if c == col]
        print(f"  {col}: {np.mean([reads[i].plate == truth[i] for i in idx]):.1%} of {len(idx)}")
    wrong_conf = [r.confidence for r, t in zip(reads, truth) if r.plate != t]
    right_conf = [r.confidence for r, t in zip(reads, truth) if r.plate == t]
    if right_conf and wrong_conf:
        print(f"  median confidence: right {np.median(right_conf):.2f}, wrong {np.median(wrong_conf):.2f}")
        in_alt = sum(t in r.alternates for r, t in zip(reads, truth) if r.plate != t)
        print(f"  wrong reads whose truth is among the alternates: {in_alt}/{len(wrong_conf)}")
        print("  wrong: " + ", ".join(f"{t}->{r.plate}" for r, t in zip(reads, truth) if r.plate != t))
    seen_exact = exact(reader.read_crops([c for c, _ in seen]), [t for _, t in seen])
    print(f"EasyPR training half, seen in fine-tuning: exact {seen_exact:.1%} of {len(seen)} (not a test)")

    batch = (all_crops * 4)[:1024]
    readers = {reader.precision: reader}
    other = "float32" if reader.precision == "bfloat16" else "bfloat16"
    readers[other] = PlateReader.load(args.model, precision=other)
    if not args.model:
        readers["first member alone"] = PlateReader.load(DEFAULT_WEIGHTS)
    rates = {}
    for name, r in readers.items():
        r.read_crops(batch[:128])
        t0 = time.perf_counter()
        for i in range(0, len(batch), 128):
            r.read_crops(batch[i : i + 128])
        rates[name] = len(batch) / (time.perf_counter() - t0)
    other_exact = exact(readers[other].read_crops(crops), truth)
    print(f"throughput crops (batch 128, incl. preprocessing and colour), target >= 1000: "
          f"{reader.precision} (this reader) {rates[reader.precision]:.0f} plates/s; "
          f"{other} {rates[other]:.0f} plates/s "
          f"(EasyPR exact {other_exact:.1%}); ratio bfloat16/float32 {rates['bfloat16'] / rates['float32']:.2f}")
    if not args.model:
        alone = rates["first member alone"]
        print(f"  the committee's first member alone, {reader.precision}: {alone:.0f} plates/s; "
              f"ratio committee/alone {rates[reader.precision] / alone:.2f}")

    frames, plates, boxes = load_ccpd(root)
    t0 = time.perf_counter()
    freads = reader.read_frames(frames)
    ccpd_s = time.perf_counter() - t0
    ious = [iou(r.box, b) if r.box else 0.0 for r, b in zip(freads, boxes)]
    covered = [any(iou(c.box, b) > 0.5 for c in find_candidates(f)) for f, b in zip(frames, boxes)]
    right = sum(r.plate == p for r, p in zip(freads, plates))
    print(f"CCPD end-to-end: exact {exact(freads, plates):.1%} ({right}/{len(plates)}), "
          f"located (IoU>0.5) {np.mean([i > 0.5 for i in ious]):.1%}, mean IoU {np.mean(ious):.2f} (target >= 90%); "
          f"{len(frames) / ccpd_s:.1f} frames/s at 720x1160; a candidate region on the plate {np.mean(covered):.1%}; "
          f"at most one character off {one_off(freads, plates):.1%}")
    for r, p in zip(freads, plates):
        if r.plate != p:
            print(f"  {p}: read {r.plate} ({r.reason or f'conf {r.confidence:.2f}'})")

    if not args.model:
        for weights in (DEFAULT_WEIGHTS, *SECOND_OPINIONS, SYNTHETIC_WEIGHTS):
            alone = readers["first member alone"] if weights == DEFAULT_WEIGHTS else PlateReader.load(weights)
            kind = ("the synthetic-only weights they were fine-tuned from" if weights == SYNTHETIC_WEIGHTS
                    else "committee member alone")
            print(f"{kind}, {weights.name}: EasyPR test half {exact(alone.read_crops(crops), truth):.1%}, "
                  f"all {len(all_crops)} crops {exact(alone.read_crops(all_crops), all_truth):.1%}; "
                  f"CCPD end-to-end {exact(alone.read_frames(frames), plates):.1%}")

    rng = np.random.default_rng(7)
    synth = [render.render_frame(*render.random_plate(rng), rng) for _ in range(40)]
    t0 = time.perf_counter()
    sreads = reader.read_frames([f for f, _ in synth])
    fps = len(synth) / (time.perf_counter() - t0)
    print(f"synthetic 1280x720 frames: {fps:.1f} frames/s end to end (target >= 50), "
          f"located (IoU>0.5) "
          f"{np.mean([r.box is not None and iou(r.box, b) > 0.5 for r, (_, b) in zip(sreads, synth)]):.1%}")

    plain, one_row = bench_double_row(reader, 200, seed=5)
    print(f"synthetic double-row yellow plates (200): exact {one_row:.1%} as the reader reads them "
          f"(also as one row), {plain:.1%} read only as they are")

    tight, loose = bench_margins(reader, 400, seed=13)
    print(f"synthetic crops (400), exact: cut at the plate {tight:.1%}, with a wide margin of surroundings {loose:.1%}")

    hard, hard_truth = hard_synthetic(400, seed=11)
    print("enhancement, exact plate accuracy (none / always / only dark or flat):")
    sets = {"dark+blurred synthetic (400)": (hard, hard_truth), f"EasyPR test half ({len(crops)})": (crops, truth)}
    for name, (c, t) in sets.items():
        e = bench_enhancement(reader, c, t)
        print(f"  {name}: {e['none']:.1%} / {e['always']:.1%} / {e['auto']:.1%}")

    if not args.skip_tesseract:
        tess = tesseract(crops, truth, args.tesseract_limit)
        if tess is None:
            print("tesseract: not installed")
        else:
            print(f"tesseract 5 chi_sim --psm 7 on {min(args.tesseract_limit, len(crops))} crops: "
                  f"exact {tess[0]:.1%}, {tess[1]:.1f} plates/s (one process per crop)")

    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS: reader process {serving_rss_mb(args.model)} MB (target < 1024 MB); "
          f"this bench with all data loaded {rss_mb:.0f} MB")


if __name__ == "__main__":
    main()
