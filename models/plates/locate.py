"""Finding plates in full frames with OpenCV, and naming a plate's colour.

Plates are bright, saturated rectangles about 3:1 wide, full of vertical
edges. We propose candidates from three cheap cues on a downscaled frame:

1. colour masks in HSV (blue, yellow, new-energy green, white), closed so the
   characters do not punch the plate apart;
2. a vertical-edge map (Sobel x), closed with a wide kernel so the characters
   merge into one blob;
3. dark strokes on a brighter ground (a black-hat), closed into text lines:
   the characters of a plate whose colour the masks miss, such as a
   new-energy plate bleached white by the sun on a silver car. A text line
   inside a plate found by the other cues is left to that plate.

Each blob's ``minAreaRect`` must look like a plate (aspect 1.5-7, sensible
size); it is then cut out of the full-resolution frame with a perspective
warp to a straight crop, with a small margin as in the crops the reader was
trained on. The reader scores candidates by reading them and keeps the most
confident valid plate, so false candidates cost time, not accuracy.

A blob is not always the plate: a colour mask may join a washed-out plate to
the grille below it and cut off the plate's top. Where the best read is
unsure, the reader reads `recut` crops of that candidate, its rectangle
shifted across the plate and resized, and keeps the most confident.
"""
from __future__ import annotations

from typing import NamedTuple

import cv2
import numpy as np

WORK_WIDTH = 640  # frames are searched at this width; crops are cut at full resolution
MAX_CANDIDATES = 8  # the text cue ranks real plates first; 8 leaves room (4 lost one CCPD plate)
# (shift across the plate, height, width) of a recut, in units of the candidate's rectangle
RECUTS = tuple(
    (shift, height, width)
    for shift in (-0.5, -0.25, 0.0, 0.25, 0.5) for height in (1.0, 1.4) for width in (0.9, 1.0)
    if (shift, height, width) != (0.0, 1.0, 1.0)
)

# Each plate colour's ranges in HSV (OpenCV hue 0..180), the loose one first.
# Blue reaches into cyan: colour casts shift it. Blue and green also have a
# stricter, darker range: a bluish bumper or a night scene joins the plate to
# its surroundings under the loose one.
PLATE_HSV = {
    "blue": (((88, 70, 40), (135, 255, 255)), ((100, 150, 60), (130, 255, 255))),
    "yellow": (((12, 80, 80), (35, 255, 255)),),
    "green": (((36, 35, 80), (90, 255, 255)), ((40, 60, 30), (90, 255, 200))),
    "white": (((0, 0, 170), (180, 40, 255)),),
}
# the loose ranges, then the strict ones
_HSV_RANGES = (
    *((name, *ranges[0]) for name, ranges in PLATE_HSV.items()),
    *((name, *strict) for name, ranges in PLATE_HSV.items() for strict in ranges[1:]),
)

# Colour blobs are whole plates; edge blobs often plates with some surroundings;
# ink blobs only the text line, so they come after a plate found another way.
_CUE_PRIOR = {"edges": 0.0, "ink": -0.3}


class Candidate(NamedTuple):
    crop: np.ndarray  # rectified BGR crop
    box: tuple[int, int, int, int]  # x1, y1, x2, y2 in frame pixels
    color: str | None  # colour mask that proposed it (None: edges)
    rect: tuple  # the plate's rotated rectangle in frame pixels, width its long side: ((cx, cy), (w, h), angle)


def plate_color(crop: np.ndarray) -> str:
    """The plate's background colour, from the central band's hue statistics."""
    h, w = crop.shape[:2]
    centre = crop[h // 5 : h - h // 5 or h, w // 10 : w - w // 10 or w]
    hsv = cv2.cvtColor(centre, cv2.COLOR_BGR2HSV)
    # counted with cv2.inRange, bounds inclusive: saturation > 60 and value > 40 is colourful
    colourful = cv2.countNonZero(cv2.inRange(hsv, (0, 61, 41), (180, 255, 255)))
    if colourful < 0.25 * hsv.shape[0] * hsv.shape[1]:
        # faded or night-time blue plates keep a weak but consistent blue hue
        hue, sat, val = (hsv[..., i].ravel() for i in range(3))
        weak = sat > 25
        if weak.mean() > 0.5 and 95 <= np.median(hue[weak]) < 135:
            return "blue"
        return "black" if np.median(val) < 70 else "white"
    votes = {
        name: cv2.countNonZero(cv2.inRange(hsv, (lo, 61, 41), (hi, 255, 255)))
        for name, lo, hi in (("yellow", 10, 35), ("green", 36, 87), ("blue", 88, 134))
    }
    return max(votes, key=votes.__getitem__)


def _order_corners(pts: np.ndarray) -> np.ndarray:
    """Corners as top-left, top-right, bottom-right, bottom-left."""
    s, d = pts.sum(1), np.diff(pts, axis=1)[:, 0]
    return np.array([pts[s.argmin()], pts[d.argmin()], pts[s.argmax()], pts[d.argmax()]], np.float32)


def _in_frame(rect, scale: float) -> tuple:
    """A minAreaRect of the downscaled frame in frame pixels, with width its long side."""
    (cx, cy), (rw, rh), angle = rect
    if rw < rh:
        rw, rh, angle = rh, rw, angle + 90
    return (cx * scale, cy * scale), (rw * scale, rh * scale), angle


def _rectify(frame: np.ndarray, rect) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """The rectangle cut out straight, with the margin the reader was trained on, and its box."""
    centre, (rw, rh), angle = rect
    rect = (centre, (rw * 1.06, rh * 1.15), angle)
    corners = _order_corners(cv2.boxPoints(rect))
    out_w = int(np.clip(rect[1][0], 40, 400))
    out_h = max(12, int(round(out_w * rect[1][1] / rect[1][0])))
    dst = np.array([[0, 0], [out_w, 0], [out_w, out_h], [0, out_h]], np.float32)
    crop = cv2.warpPerspective(frame, cv2.getPerspectiveTransform(corners, dst), (out_w, out_h),
                               borderMode=cv2.BORDER_REPLICATE)
    fh, fw = frame.shape[:2]
    x1, y1 = np.clip(corners.min(0), 0, [fw - 1, fh - 1]).astype(int)
    x2, y2 = np.clip(corners.max(0), 0, [fw - 1, fh - 1]).astype(int)
    return crop, (int(x1), int(y1), int(x2), int(y2))


def _masks(small: np.ndarray) -> list[tuple[str, np.ndarray]]:
    """(cue, mask) pairs: a colour's name, "edges" or "ink"."""
    hsv = cv2.cvtColor(small, cv2.COLOR_BGR2HSV)
    close = cv2.getStructuringElement(cv2.MORPH_RECT, (9, 3))
    masks = []
    for name, lo, hi in _HSV_RANGES:
        m = cv2.inRange(hsv, lo, hi)
        masks.append((name, cv2.morphologyEx(m, cv2.MORPH_CLOSE, close)))
    gray = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY)
    edges = cv2.convertScaleAbs(cv2.Sobel(cv2.GaussianBlur(gray, (3, 3), 0), cv2.CV_16S, 1, 0, ksize=3))
    _, edges = cv2.threshold(edges, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    edges = cv2.morphologyEx(edges, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (15, 3)))
    edges = cv2.morphologyEx(edges, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (5, 3)))
    masks.append(("edges", edges))
    # dark strokes narrower than 9 px on anything brighter: the text line of a plate
    # whose colour the masks miss (a new-energy plate bleached by the sun)
    ink = cv2.morphologyEx(gray, cv2.MORPH_BLACKHAT, cv2.getStructuringElement(cv2.MORPH_RECT, (9, 3)))
    ink = cv2.morphologyEx((ink > 40).astype(np.uint8) * 255, cv2.MORPH_CLOSE,
                           cv2.getStructuringElement(cv2.MORPH_RECT, (11, 3)))
    masks.append(("ink", cv2.morphologyEx(ink, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (3, 3)))))
    return masks


def text_score(crop: np.ndarray) -> float:
    """How much a crop looks like a line of characters, 0..1.

    A plate's middle rows cross each character's strokes: binarised, they
    switch between ink and background some 14-30 times, where a lamp, a
    grille or a patch of sky switches a few times or a hundred."""
    gray = cv2.cvtColor(cv2.resize(crop, (128, 32), interpolation=cv2.INTER_AREA), cv2.COLOR_BGR2GRAY)
    _, ink = cv2.threshold(gray, 0, 1, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    band = ink[10:23, 4:-4].astype(np.int8)
    switches = np.abs(np.diff(band, axis=1)).sum(1)
    return float(np.mean((switches >= 12) & (switches <= 34)))


def find_candidates(frame: np.ndarray, max_candidates: int = MAX_CANDIDATES) -> list[Candidate]:
    """Plate-shaped regions of a BGR frame, most plate-like first, rectified."""
    scale = max(1.0, frame.shape[1] / WORK_WIDTH)
    small = cv2.resize(frame, None, fx=1 / scale, fy=1 / scale, interpolation=cv2.INTER_AREA) if scale > 1 else frame
    area_total = small.shape[0] * small.shape[1]
    shaped = []
    for cue, mask in _masks(small):
        contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        for c in contours:
            area = cv2.contourArea(c)
            if area < 120 or area > 0.2 * area_total:
                continue
            rect = cv2.minAreaRect(c)
            w, h = max(rect[1]), min(rect[1])
            if h < 6 or not 1.5 <= w / h <= 7:
                continue
            fill = area / (w * h)
            if fill < 0.3:
                continue
            tilt = abs(((rect[2] if rect[1][0] >= rect[1][1] else rect[2] + 90) + 90) % 180 - 90)
            if tilt > 35:
                continue
            shape = 1 - min(abs(w / h - 3.2) / 3.2, 1)
            shaped.append((fill + shape + _CUE_PRIOR.get(cue, 0.3), rect, cue))
    shaped.sort(key=lambda s: -s[0])

    # the cheap shape score pre-selects; the text score on the straightened crop decides
    scored = []
    for prior, rect, cue in shaped[: 4 * max_candidates]:
        rect = _in_frame(rect, scale)
        crop, box = _rectify(frame, rect)
        text = text_score(crop)
        scored.append((2 * text + prior, text, Candidate(crop, box, None if cue in _CUE_PRIOR else cue, rect), cue))
    scored.sort(key=lambda s: -s[0])
    # an ink blob inside a plate-like region found by colour or edges is that plate's text line
    texty = [cand.box for _, text, cand, cue in scored if cue != "ink" and text >= 0.5]
    out: list[Candidate] = []
    for _, _, cand, cue in scored:
        if any(iou(cand.box, c.box) > 0.6 for c in out) or (cue == "ink" and any(_inside(cand.box, t) for t in texty)):
            continue
        out.append(cand)
        if len(out) == max_candidates:
            break
    return out


def recut(frame: np.ndarray, cand: Candidate) -> list[Candidate]:
    """``cand`` cut again from ``frame`` at each of `RECUTS`: shifted across the plate, taller, narrower."""
    (cx, cy), (rw, rh), angle = cand.rect
    across = np.array([-np.sin(np.radians(angle)), np.cos(np.radians(angle))]) * rh
    out = []
    for shift, height, width in RECUTS:
        rect = ((cx + shift * across[0], cy + shift * across[1]), (rw * width, rh * height), angle)
        out.append(Candidate(*_rectify(frame, rect), cand.color, rect))
    return out


def _inside(a, b) -> bool:
    """Whether box a's centre lies in box b."""
    cx, cy = (a[0] + a[2]) / 2, (a[1] + a[3]) / 2
    return b[0] <= cx <= b[2] and b[1] <= cy <= b[3]


def iou(a, b) -> float:
    ix = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0
