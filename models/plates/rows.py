"""Double-row plates, read as one row.

Lorries, coaches and trailers carry 440x220 mm yellow plates: the province
and the series letter small on the top row, the five serial characters large
below. The reader reads one line of characters, so the top row's middle is
cut out, stretched to the bottom row's height and set before it: the plate
becomes a 7-character line the reader knows (the trained model has seen such
lines, rendered the same way, in training).
"""
from __future__ import annotations

import cv2
import numpy as np

MAX_ASPECT = 2.2  # crops of one-row plates are 2.3-4.5 times as wide as high, of double-row ones 1.4-2.1
_TOP = 0.38  # the top row's share of the plate's height
_TOP_SPAN = (0.2, 0.8)  # where the province and the letter sit across the top row
_TOP_WIDTH = 0.75  # their width in the one-row image, as a share of the plate's width


def looks_double_row(img: np.ndarray) -> bool:
    h, w = img.shape[:2]
    return w < MAX_ASPECT * h


def as_one_row(img: np.ndarray) -> np.ndarray:
    """A double-row plate crop as one line: top row's characters, then the bottom row."""
    h, w = img.shape[:2]
    cut = max(1, int(round(h * _TOP)))
    top = img[:cut, int(w * _TOP_SPAN[0]) : max(int(w * _TOP_SPAN[0]) + 1, int(round(w * _TOP_SPAN[1])))]
    bottom = img[cut:] if cut < h else img[-1:]
    top = cv2.resize(top, (max(1, int(round(w * _TOP_WIDTH))), bottom.shape[0]), interpolation=cv2.INTER_LINEAR)
    return np.hstack([top, bottom])
