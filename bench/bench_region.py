"""The regional prior, low-resolution crops and calibration, on real plates (prints figures; not a test).

    python bench/bench_region.py [--model PATH]

Measures, on the EasyPR test half (never trained on) at full size and
down-sampled as a far camera delivers it (94x24 px, blurred, JPEG):

- the search that chose `models.plates.region`'s two constants, half by
  half: each half of the test crops picks the setting with the largest gain
  on in-region plates whose harm on out-of-region plates stays within 0.5
  points, and that setting is measured on the other half;
- exact accuracy without the prior, with the region set to where each plate
  was registered (in region), and with it set to each of the other
  provinces in turn (out of region: a visitor), per province too;
- the same on the CCPD plates cut at their labelled corners' box and shrunk
  to 94x24, as sets of low-resolution crops store them, tight and with a
  margin of 10% and of 20% of the box on every side (real, never trained
  on), with how many of them hold a margin that the reader cuts off when
  it reads them unsure (`models.plates.margin`);
- the same on synthetic plates of every province seen by a far camera,
  where province misreads are common enough to count (not real plates);
- the reliability table (confidence bins against the share read right) on
  the test half and on the CCPD frames end to end, which `min_dispatch_score`
  is judged by;
- crops/s with and without the prior, and the peak memory of a reader process.

Real data lives in ``../shared/data`` beside the repository, or in
``$ROADCHIEF_SHARED_DATA``.
"""
from __future__ import annotations

import argparse
import hashlib
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from bench.bench_recognition import load_ccpd, serving_rss_mb, shared_data  # noqa: E402
from models.plate_rules import PROVINCES  # noqa: E402
from models.plates import region  # noqa: E402
from models.plates.locate import plate_color  # noqa: E402
from models.plates.margin import cut_to_plate  # noqa: E402
from models.plates.reader import PlateRead, PlateReader  # noqa: E402
from models.plates.training import render  # noqa: E402
from models.plates.training.real import FAR_CAMERA_SIZE, far_camera, is_test_plate, load_easypr  # noqa: E402

UNSURE_GRID = (0.5, 0.6, 0.7, 0.8, 0.9)
SHARE_GRID = (0.3, 0.5, 0.8, 0.9, 0.99)
MAX_HARM = 0.005  # the bound on what the prior may cost out-of-region plates
BINS = (0.0, 0.3, 0.5, 0.7, 0.8, 0.9, 0.95, 0.99, 1.01)


def fold(plate: str) -> int:
    """Which half of the test crops a plate is in for the search (independent of the test split)."""
    return int(hashlib.sha1(plate.encode("utf-8")).hexdigest(), 16) // 2 % 2


def right(reads: list[PlateRead], truth: list[str]) -> np.ndarray:
    return np.array([r.plate == t for r, t in zip(reads, truth)])


def in_region(reader: PlateReader, crops: list[np.ndarray], truth: list[str]) -> np.ndarray:
    """Per crop, read right with the region set to the plate's own province."""
    out = np.zeros(len(crops), bool)
    for province in sorted({t[0] for t in truth}):
        idx = [i for i, t in enumerate(truth) if t[0] == province]
        out[idx] = right(reader.read_crops([crops[i] for i in idx], region=province), [truth[i] for i in idx])
    return out


def out_of_region(reader: PlateReader, crops: list[np.ndarray], truth: list[str]) -> np.ndarray:
    """Per crop, the share of the other 30 provinces that, set as the region, still leave it read right."""
    hits, tries = np.zeros(len(crops)), np.zeros(len(crops))
    for province in PROVINCES:
        idx = [i for i, t in enumerate(truth) if t[0] != province]
        hits[idx] += right(reader.read_crops([crops[i] for i in idx], region=province), [truth[i] for i in idx])
        tries[idx] += 1
    return hits / tries


def box_crops(frames: list[np.ndarray], boxes: list[tuple[int, int, int, int]], margin: float) -> list[np.ndarray]:
    """Each frame's plate cut at its box widened by ``margin`` of the box on every side, at 94x24."""
    crops = []
    for frame, (x1, y1, x2, y2) in zip(frames, boxes):
        mx, my = round(margin * (x2 - x1)), round(margin * (y2 - y1))
        plate = frame[max(0, y1 - my) : y2 + my, max(0, x1 - mx) : x2 + mx]
        crops.append(cv2.resize(plate, FAR_CAMERA_SIZE, interpolation=cv2.INTER_AREA))
    return crops


def with_constants(unsure_below: float, local_share: float, measure: Callable[[], np.ndarray]) -> np.ndarray:
    """``measure()`` with the prior's two constants set for the search, then restored."""
    kept = region.UNSURE_BELOW, region.LOCAL_SHARE
    region.UNSURE_BELOW, region.LOCAL_SHARE = unsure_below, local_share
    try:
        return measure()
    finally:
        region.UNSURE_BELOW, region.LOCAL_SHARE = kept


def search(reader: PlateReader, sets: dict[str, tuple[list[np.ndarray], list[str]]]) -> None:
    """Choose the constants on each half, measure them on the other; print every setting."""
    crops = [c for cs, _ in sets.values() for c in cs]
    truth = [t for _, ts in sets.values() for t in ts]
    folds = np.array([fold(t) for t in truth])
    base = right(reader.read_crops(crops), truth)
    results = {}
    for unsure in UNSURE_GRID:
        for share in SHARE_GRID:
            results[unsure, share] = (with_constants(unsure, share, lambda: in_region(reader, crops, truth)),
                                      with_constants(unsure, share, lambda: out_of_region(reader, crops, truth)))
    print(f"search over {len(truth)} reads (test half, full size and low resolution), "
          "gain in region / harm out of region, points, per half:")
    print("  unsure_below local_share   half 0: gain  harm   half 1: gain  harm")
    for (unsure, share), (inside, outside) in results.items():
        cells = []
        for f in (0, 1):
            m = folds == f
            gain, harm = inside[m].mean() - base[m].mean(), base[m].mean() - outside[m].mean()
            cells.append(f"{100 * gain:+5.1f} {100 * harm:5.2f}")
        print(f"  {unsure:12.2f} {share:11.2f}   {cells[0]:>14}   {cells[1]:>14}")
    pooled = {k: (i.mean() - base.mean(), max(base[folds == f].mean() - o[folds == f].mean() for f in (0, 1)))
              for k, (i, o) in results.items()}
    best = max((k for k, (_, harm) in pooled.items() if harm <= MAX_HARM), key=lambda k: (pooled[k][0], -pooled[k][1]))
    print(f"  chosen (largest gain on both halves, harm within {100 * MAX_HARM} points on each, then least harm): "
          f"unsure_below {best[0]}, local_share {best[1]}")
    for chosen_on in (0, 1):
        m, other = folds == chosen_on, folds != chosen_on
        allowed = [k for k, (i, o) in results.items() if base[m].mean() - o[m].mean() <= MAX_HARM]
        cross = max(allowed, key=lambda k: (results[k][0][m].mean(), results[k][1][m].mean()))
        inside, outside = results[cross]
        print(f"  chosen on half {chosen_on} alone: unsure_below {cross[0]}, local_share {cross[1]}; "
              f"on half {1 - chosen_on}: gain {100 * (inside[other].mean() - base[other].mean()):+.1f} points, "
              f"harm {100 * (base[other].mean() - outside[other].mean()):.2f} points")

def per_province(name: str, truth: list[str], *columns: tuple[str, np.ndarray]) -> None:
    print(f"  per province, {name} ({' / '.join(c for c, _ in columns)}):")
    for province in sorted({t[0] for t in truth}, key=lambda p: -sum(t[0] == p for t in truth)):
        m = np.array([t[0] == province for t in truth])
        print(f"    {province} {m.sum():3d}: " + " / ".join(f"{v[m].mean():6.1%}" for _, v in columns))


def reliability(name: str, reads: list[PlateRead], truth: list[str]) -> None:
    """Confidence bins against the share of reads in them that are right."""
    conf = np.array([r.confidence for r in reads])
    ok = right(reads, truth)
    print(f"  {name}: " + "; ".join(
        f"[{lo:.2f},{min(hi, 1):.2f}{')' if hi < 1 else ']'} {ok[m].mean():.0%} of {m.sum()}"
        for lo, hi in zip(BINS, BINS[1:]) if (m := (conf >= lo) & (conf < hi)).any()))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model")
    ap.add_argument("--skip-search", action="store_true", help="only the figures of the shipped constants")
    args = ap.parse_args()
    root = shared_data()
    reader = PlateReader.load(args.model)

    images, plates, _ = load_easypr(root)
    crops = [c for c, p in zip(images, plates) if is_test_plate(p)]
    truth = [p for p in plates if is_test_plate(p)]
    rng = np.random.default_rng(0)
    sets = {"full size": (crops, truth), "94x24, blur, JPEG": ([far_camera(c, rng) for c in crops], truth)}

    if not args.skip_search:
        search(reader, sets)
    print(f"shipped constants: unsure_below {region.UNSURE_BELOW}, local_share {region.LOCAL_SHARE}")
    reliability_sets = {}
    for name, (cs, ts) in sets.items():
        reads = reader.read_crops(cs)
        none, inside, outside = right(reads, ts), in_region(reader, cs, ts), out_of_region(reader, cs, ts)
        print(f"EasyPR test half, {name} ({len(ts)}): exact without the prior {none.mean():.1%}, "
              f"in region {inside.mean():.1%}, out of region {outside.mean():.1%} "
              f"(gain {100 * (inside.mean() - none.mean()):+.1f}, "
              f"harm {100 * (none.mean() - outside.mean()):.2f} points)")
        per_province(name, ts, ("no prior", none), ("in region", inside), ("out of region", outside))
        reliability_sets[f"test half, {name}"] = (reads, ts)

    frames, frame_plates, boxes = load_ccpd(root)
    for margin in (0.0, 0.1, 0.2):
        cs = box_crops(frames, boxes, margin)
        reads = reader.read_crops(cs)
        none, inside, outside = (right(reads, frame_plates), in_region(reader, cs, frame_plates),
                                 out_of_region(reader, cs, frame_plates))
        cut = sum(cut_to_plate(c, plate_color(c)) is not None for c in cs)
        print(f"CCPD plates cut at their box, margin {margin:.0%}, 94x24 ({len(cs)}; a margin to cut found in "
              f"{cut}): exact without the prior {none.mean():.1%}, in region {inside.mean():.1%}, "
              f"out of region {outside.mean():.1%} (harm {100 * (none.mean() - outside.mean()):.2f} points)")
        wrong = [f"{t} read {r.plate} ({r.confidence:.2f})" for r, t in zip(reads, frame_plates) if r.plate != t]
        print("  wrong without the prior: " + ", ".join(wrong))
        reliability_sets[f"CCPD plates at 94x24, margin {margin:.0%}"] = (reads, frame_plates)

    rng = np.random.default_rng(3)
    synthetic = [province + render.random_plate(rng)[0][1:] for province in PROVINCES for _ in range(20)]
    far = [far_camera(render.render_crop(plate, "blue", rng), rng) for plate in synthetic]
    none, inside, outside = (right(reader.read_crops(far), synthetic), in_region(reader, far, synthetic),
                             out_of_region(reader, far, synthetic))
    print(f"synthetic plates at 94x24, 20 of each province ({len(far)}; not real plates): exact without the prior "
          f"{none.mean():.1%}, in region {inside.mean():.1%}, out of region {outside.mean():.1%}")

    freads = reader.read_frames(frames)
    home, visitors = reader.read_frames(frames, region="皖"), reader.read_frames(frames, region="琼")
    print(f"CCPD frames end to end ({len(frames)}, all 皖): "
          f"exact without the prior {right(freads, frame_plates).mean():.1%}, "
          f"region 皖 {right(home, frame_plates).mean():.1%}, region 琼 {right(visitors, frame_plates).mean():.1%}")
    for name, reads in (("without the prior", freads), ("region 琼", visitors)):
        wrong = [f"{t} read {r.plate}" for r, t in zip(reads, frame_plates) if r.plate != t]
        print(f"  wrong {name}: " + ", ".join(wrong))
    reliability_sets["CCPD frames"] = (freads, frame_plates)

    print("reliability: confidence bin, share of reads right, reads")
    for name, (reads, ts) in reliability_sets.items():
        reliability(name, reads, ts)

    batch = (images * 4)[:1024]
    for name, home_region in (("without the prior", None), ("region 琼", "琼")):
        reader.read_crops(batch[:128], region=home_region)
        t0 = time.perf_counter()
        for i in range(0, len(batch), 128):
            reader.read_crops(batch[i:i + 128], region=home_region)
        print(f"crops/s, batch 128, {name}: {len(batch) / (time.perf_counter() - t0):.0f}")
    print(f"peak RSS of a reader process: {serving_rss_mb(args.model)} MB (target < 1024 MB)")


if __name__ == "__main__":
    main()
