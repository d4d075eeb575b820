"""Hit recall end to end on images (prints figures; not a test).

    python bench/bench_hit_recall.py [--model PATH] [--frames N]

Of watchlisted vehicles whose passing arrives as an image only (no camera
read), the share that becomes a hit with the right watchlist entry: the
image is read by the plate reader, the read becomes the event's plate as
`RecognisePlates` makes it (`apply_read`), and the passing is matched as
`MatchWatchlist` matches it (`hits_for`, one substitution), against a list of
the vehicles' plates among 1,500 others drawn as the sample world draws its
watchlist. Also: the share of those hits that the dispatcher would act on
(score at least `min_dispatch_score`'s default), and hits on a wrong entry.

Sets: the CCPD frames and the EasyPR test-half crops (full size and 94x24),
which the reader never trained on, and the sample world's traffic rendered
as 1280x720 frames and as 94x24 crops of a far camera; each without a region
and with the region the plates were registered in (皖 for CCPD, each crop's
own province, 琼 for the rendered). Each recall is given with the matcher's
province rule and, in brackets, without it (no province tried for an unsure
read but the reader's alternates).

Last, why the matcher tries every province for an unsure read rather than
classes of look-alike provinces: the province misreads on synthetic plates
of every province seen by a far camera, and how many pairs they spread over.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from bench.bench_recognition import load_ccpd, shared_data  # noqa: E402
from geo.synthetic.build_world import random_plates  # noqa: E402
from models.plate_rules import PROVINCES, normalise_plate  # noqa: E402
from models.plates.reader import PlateRead, PlateReader  # noqa: E402
from models.plates.training import render  # noqa: E402
from models.plates.training.real import far_camera, is_test_plate, load_easypr  # noqa: E402
from models.records import CameraEvent, Passing  # noqa: E402
from pipelines.job.options import RoadchiefOptions  # noqa: E402
from transforms.enrich import match_watchlist  # noqa: E402
from transforms.enrich.recognise_plates import apply_read  # noqa: E402
from transforms.enrich.watchlist_store import WatchEntry, index_by_canonical  # noqa: E402

AT_US = 1_780_000_000_000_000
OTHER_ENTRIES = 1500


def min_dispatch_score() -> float:
    from apache_beam.options.pipeline_options import PipelineOptions
    return PipelineOptions([]).view_as(RoadchiefOptions).min_dispatch_score


def watchlist(plates: list[str], seed: int) -> dict[str, tuple[WatchEntry, ...]]:
    """The vehicles' plates (entry ids W0...) among others, indexed as the matcher indexes them."""
    others = [p for p, _ in random_plates(np.random.default_rng(seed), OTHER_ENTRIES)]
    entries = [WatchEntry(f"W{i}", plate, "blue", "stolen", 1, "intercept", 0, 2 * AT_US, "")
               for i, plate in enumerate(dict.fromkeys([*plates, *others]))]
    return index_by_canonical(entries)


def passing_of(read: PlateRead) -> Passing | None:
    """The passing an image-only event becomes once the reader has read it."""
    event = apply_read(CameraEvent("bench", "e", "CAM", AT_US, None, None, None, "none", [], "img", "auto", "",
                                   None, None, None, None, None), read)
    if event.plate is None:
        return None
    return Passing("bench", "e", "CAM", AT_US, event.plate, event.plate_confidence, event.plate_source,
                   event.plate_alternates, event.plate_color, None, None, None, None, "border_checkpoint",
                   None, None, None, False)


def recall(reads: list[PlateRead], truth: list[str], index, min_score: float) -> str:
    """Hit recall with the matcher's province rule, then (in brackets) without it."""
    kept = match_watchlist.UNSURE_READ_BELOW
    try:
        match_watchlist.UNSURE_READ_BELOW = 0.0  # no read is unsure enough to try other provinces
        without = _recall(reads, truth, index, min_score)
    finally:
        match_watchlist.UNSURE_READ_BELOW = kept
    return f"{_recall(reads, truth, index, min_score)} [{without}]"


def _recall(reads: list[PlateRead], truth: list[str], index, min_score: float) -> str:
    right = acted = wrong = 0
    by_plate = {entry.plate: entry.entry_id for entries in index.values() for entry in entries}
    for read, plate in zip(reads, truth):
        passing = passing_of(read)
        hits = match_watchlist.hits_for(passing, index, 1, "v") if passing else []
        mine = [h for h in hits if h.entry_id == by_plate[plate]]
        right += bool(mine)
        acted += any(h.score >= min_score for h in mine)
        wrong += any(h.entry_id != by_plate[plate] for h in hits)
    n = len(truth)
    return f"hit recall {right / n:.1%} ({right}/{n}), acted on {acted / n:.1%}, hits on a wrong entry {wrong}"


def province_misreads(reader: PlateReader, per_province: int = 40, seed: int = 11) -> None:
    rng = np.random.default_rng(seed)
    plates = [province + render.random_plate(rng)[0][1:] for province in PROVINCES for _ in range(per_province)]
    crops = [far_camera(render.render_crop(plate, "blue", rng), rng) for plate in plates]
    misread = [(plate[0], read.plate[0]) for plate, read in zip(plates, reader.read_crops(crops))
               if read.plate and read.plate[0] != plate[0]]
    print(f"synthetic plates at 94x24, {per_province} of each province: province misread on {len(misread)} of "
          f"{len(plates)}, over {len(set(misread))} (true, read) pairs; read as {len({r for _, r in misread})} "
          f"provinces, from {len({t for t, _ in misread})}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model")
    ap.add_argument("--frames", type=int, default=200, help="rendered frames of the sample world's traffic")
    args = ap.parse_args()
    root = shared_data()
    reader = PlateReader.load(args.model)
    min_score = min_dispatch_score()

    frames, frame_plates, _ = load_ccpd(root)
    images, plates, _ = load_easypr(root)
    crops = [c for c, p in zip(images, plates) if is_test_plate(p)]
    crop_plates = [p for p in plates if is_test_plate(p)]
    rng = np.random.default_rng(0)
    small = [far_camera(c, rng) for c in crops]
    rendered_rng = np.random.default_rng(3)
    traffic = random_plates(rendered_rng, args.frames)
    rendered = [render.render_frame(plate, color, rendered_rng)[0] for plate, color in traffic]
    rendered_plates = [plate for plate, _ in traffic]
    far_traffic = random_plates(rendered_rng, 2 * args.frames)
    far = [far_camera(render.render_crop(plate, color, rendered_rng), rendered_rng) for plate, color in far_traffic]
    far_plates = [plate for plate, _ in far_traffic]

    def by_province(images, truth):
        """Each image read with the region of its own plate."""
        reads: list[PlateRead | None] = [None] * len(images)
        for province in {t[0] for t in truth}:
            idx = [i for i, t in enumerate(truth) if t[0] == province]
            for i, read in zip(idx, reader.read_crops([images[i] for i in idx], region=province)):
                reads[i] = read
        return reads

    sets = [
        ("CCPD frames", frame_plates, lambda: reader.read_frames(frames), lambda: reader.read_frames(frames, "皖")),
        ("EasyPR test half, full size", crop_plates, lambda: reader.read_crops(crops),
         lambda: by_province(crops, crop_plates)),
        ("EasyPR test half, 94x24", crop_plates, lambda: reader.read_crops(small),
         lambda: by_province(small, crop_plates)),
        (f"rendered 1280x720 frames of the sample world's traffic ({args.frames})", rendered_plates,
         lambda: reader.read_frames(rendered), lambda: reader.read_frames(rendered, "琼")),
        (f"the sample world's traffic as 94x24 crops ({2 * args.frames})", far_plates,
         lambda: reader.read_crops(far), lambda: reader.read_crops(far, "琼")),
    ]
    print(f"hit recall, one substitution, against {OTHER_ENTRIES} other entries; acted on: a hit scored at least "
          f"min_dispatch_score's default {min_score}; [without the matcher's province rule]")
    for name, truth, plain, local in sets:
        standard = [normalise_plate(t) or t for t in truth]
        index = watchlist(standard, seed=1)
        print(f"{name}:")
        print(f"  no region:   {recall(plain(), standard, index, min_score)}")
        print(f"  home region: {recall(local(), standard, index, min_score)}")
    province_misreads(reader)


if __name__ == "__main__":
    main()
