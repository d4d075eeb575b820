"""A plate crop with a wide margin of its surroundings, cut again at the plate.

The reader was trained on crops cut at the plate's edges, give or take a few
per cent. A crop with a wide margin (a detector's box padded before it is
shrunk to a fixed size, the upright box of a tilted plate) shrinks the
characters and sets the province glyph beside car body and shadow: most of
its errors are the province read as another one. A coloured plate's
background is one blob of its colour, its characters inside it; where that
blob's box is clearly smaller than the crop, the box is the plate. The
colour's ranges are those that find plates in frames (`locate.PLATE_HSV`).
White and black plates have no colour of their own to find and are read as
they come.
"""
from __future__ import annotations

import cv2
import numpy as np

from models.plates.locate import PLATE_HSV

KEEP = (0.92, 0.85)  # a blob this share of the crop's width and height: the crop is cut at the plate already
MIN_BOX = 0.15  # a blob whose box is a smaller share of the crop is a patch of colour, not the plate
MIN_FILL = 0.35  # the blob's share of its box: the background fills most of a plate, the characters the rest
ASPECT = (1.8, 7.0)  # width / height of a one-row plate's box, tilted or seen askew included
_COLOURED = ("blue", "yellow", "green")


def cut_to_plate(crop: np.ndarray, color: str) -> np.ndarray | None:
    """``crop`` cut at the box of its ``color``'s largest blob, or None where it
    looks cut at the plate already, or no blob looks like a plate. A colour's
    strict range is tried where its loose one finds no plate: under the loose
    one a bluish car joins a blue plate to the car."""
    if color not in _COLOURED:
        return None
    hsv = cv2.cvtColor(crop, cv2.COLOR_BGR2HSV)
    for bounds in PLATE_HSV[color]:
        box = _plate_box(cv2.inRange(hsv, *bounds))
        if box is not None:
            x, y, w, h = box
            return crop[y : y + h, x : x + w]
    return None


def _plate_box(mask: np.ndarray) -> tuple[int, int, int, int] | None:
    """(x, y, w, h) of the mask's largest blob where it is a plate inside a wide margin."""
    h, w = mask.shape
    # close the gaps that a character's strokes or a bolt cut into the background
    close = cv2.getStructuringElement(cv2.MORPH_RECT, (max(3, w // 30) | 1, max(3, h // 12) | 1))
    count, _, stats, _ = cv2.connectedComponentsWithStats(cv2.morphologyEx(mask, cv2.MORPH_CLOSE, close))
    if count < 2:
        return None
    x, y, bw, bh, area = (int(v) for v in stats[1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))])
    if bw >= KEEP[0] * w and bh >= KEEP[1] * h:
        return None
    if bw * bh < MIN_BOX * w * h or area < MIN_FILL * bw * bh or not ASPECT[0] <= bw / bh <= ASPECT[1]:
        return None
    return x, y, bw, bh
