"""Real labelled plate crops: the half the reader may learn from, and how it is varied.

No font we may ship draws Chinese characters the way plate printers do, and a
reader trained only on synthetic plates misreads the province most (粤 as 鄂).
So the synthetic reader is fine-tuned on half of the real EasyPR crops, and
the other half stays a test it has never seen, as do all the CCPD frames.

The halves are fixed by a hash of the plate string: a vehicle photographed
twice falls in one half, and a crop's half does not change when crops are
added. Training crops are varied afresh each time they are drawn (cut,
tilt, scale, light, blur, resolution, noise, JPEG) so that 160 crops teach
the printers' design, not these photographs.
"""
from __future__ import annotations

import csv
import hashlib
from pathlib import Path

import cv2
import numpy as np

from models.plates.rows import as_one_row, looks_double_row
from models.plates.training import render


def is_test_plate(plate: str) -> bool:
    """Whether ``plate`` belongs to the half of the real crops kept for testing."""
    return int(hashlib.sha1(plate.encode("utf-8")).hexdigest(), 16) % 2 == 1


def load_easypr(root: Path) -> tuple[list[np.ndarray], list[str], list[str]]:
    """Crops, plates and colours of ``root``/easypr_gdts_crops. Three labels write the
    粤O series' letter O as a digit 0, which no plate has in second place
    (PROVENANCE.md): read as O."""
    folder = Path(root) / "easypr_gdts_crops"
    rows = list(csv.DictReader(open(folder / "labels.csv", encoding="utf-8")))
    images = [_read_crop(folder / r["crop"]) for r in rows]
    plates = [r["plate"][0] + "O" + r["plate"][2:] if r["plate"][1] == "0" else r["plate"] for r in rows]
    return images, plates, [r["color"] for r in rows]


def _read_crop(path: Path) -> np.ndarray:
    """The crop at ``path``; a missing or unreadable one stops the load rather than
    slipping into training as None."""
    crop = cv2.imread(str(path))
    if crop is None:
        raise FileNotFoundError(f"{path}: missing or not an image")
    return crop


def training_half(root: Path) -> tuple[list[np.ndarray], list[str]]:
    """The real crops, and their plates, that fine-tuning may use; double-row
    plates (yellow, and shaped so) laid out as one row, as the reader reads them."""
    images, plates, colors = load_easypr(root)
    kept = [(img, p, c) for img, p, c in zip(images, plates, colors) if not is_test_plate(p)]
    one_row = [as_one_row(img) if c == "yellow" and looks_double_row(img) else img for img, _, c in kept]
    return one_row, [p for _, p, _ in kept]


def vary(crop: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A fresh camera-like variant of a real crop (BGR uint8)."""
    h, w = crop.shape[:2]
    pad = int(0.3 * h) + 2
    big: np.ndarray = cv2.copyMakeBorder(crop, pad, pad, pad, pad, cv2.BORDER_REPLICATE).astype(np.float32)
    m = cv2.getRotationMatrix2D((pad + w / 2, pad + h / 2), rng.normal(0, 2), rng.uniform(0.93, 1.07))
    m[0, 1] += rng.normal(0, 0.05)  # slant
    m[:, 2] += rng.uniform(-1, 1, 2) * [0.04 * w, 0.08 * h]
    big = cv2.warpAffine(big, m, big.shape[1::-1], borderMode=cv2.BORDER_REPLICATE)
    x0, x1 = (pad + rng.uniform(-0.04, 0.04, 2) * w + [0, w]).astype(int)
    y0, y1 = (pad + np.array([rng.uniform(-0.12, 0.1), 1 + rng.uniform(-0.1, 0.12)]) * h).astype(int)
    img = render.degrade(big[y0:y1, x0:x1].copy(), rng, harsh=rng.random() < 0.4)
    out_w = int(np.clip(w * rng.uniform(0.5, 1.3), 40, 300))
    img = cv2.resize(img, (out_w, max(8, round(img.shape[0] * out_w / img.shape[1]))), interpolation=cv2.INTER_AREA)
    img = np.clip(img + rng.normal(0, rng.uniform(0, 6), img.shape), 0, 255).astype(np.uint8)
    return render.jpeg(img, int(rng.integers(30, 95))) if rng.random() < 0.5 else img


FAR_CAMERA_SIZE = (94, 24)  # width, height in px: a whole plate as a distant camera delivers it


def far_camera(crop: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The crop as a distant camera delivers it: 94x24 px, a little blurred, JPEG-compressed.
    What the reader is measured on at low resolution (`bench/bench_region.py`)."""
    small = cv2.resize(crop, FAR_CAMERA_SIZE, interpolation=cv2.INTER_AREA)
    small = cv2.GaussianBlur(small, (0, 0), rng.uniform(0.3, 0.7))
    return render.jpeg(small, int(rng.integers(40, 80)))
