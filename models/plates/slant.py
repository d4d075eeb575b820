"""Setting slanted characters upright: the shear a plate's rectangle leaves.

A plate seen from one side and cut out along its rotated rectangle (or by a
camera's own cropper) keeps its characters leaning, as in italics: a
rotation or a rectangle's perspective cannot undo a shear. The reader was
trained with some slant, but crops leaning by more than about 10° lose
characters (川A019W2 read as 川A82MA2).

The slant is found as the shear under which the vertical strokes line up:
sheared by the right amount, the column sums of the horizontal gradient are
sharpest, so their sum of squares is largest. It is measured on the 32x128
image the network reads, with fixed index tables, so it costs about 70
microseconds a crop; only crops leaning by `MIN_SLANT` or more are sheared.
"""
from __future__ import annotations

import cv2
import numpy as np

from models.plates.model import INPUT_H, INPUT_W

SHEARS = np.linspace(-0.8, 0.8, 17)  # dx/dy; 0.8 is a lean of 39 degrees
MIN_SLANT = 0.15  # about 8.5 degrees; the network reads smaller slants as they are
_ROWS = slice(6, INPUT_H - 6, 2)  # every other row of the band the characters fill in a loose crop
_PAD = int(np.ceil(SHEARS.max() * INPUT_H / 2))


def _tables() -> np.ndarray:
    """For each shear, row and column of the sheared image: where in the row-padded
    gradient image (a flat index) its pixel comes from."""
    rows = np.arange(INPUT_H)[_ROWS]
    shift = np.rint(SHEARS[:, None] * (rows - (INPUT_H - 1) / 2)).astype(int)  # (shears, rows)
    source = np.arange(INPUT_W)[None, None, :] + _PAD - shift[:, :, None]
    return (np.arange(len(rows))[None, :, None] * (INPUT_W + 2 * _PAD) + source).astype(np.intp)


_SOURCE = _tables()


def slant(img: np.ndarray) -> float:
    """The shear (dx per dy, positive when the tops lean right) of a crop's characters."""
    gray = img if img.ndim == 2 else cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
    small = cv2.resize(gray, (INPUT_W, INPUT_H), interpolation=cv2.INTER_AREA).astype(np.float32)
    edges = np.abs(cv2.Sobel(small, cv2.CV_32F, 1, 0, ksize=3))[_ROWS]
    padded = cv2.copyMakeBorder(edges, 0, 0, _PAD, _PAD, cv2.BORDER_CONSTANT, value=0)
    columns = padded.ravel()[_SOURCE].sum(1)  # (shears, columns)
    return float(SHEARS[int(np.square(columns).sum(1).argmax())])


def upright(img: np.ndarray) -> np.ndarray:
    """``img`` with its characters' slant undone, or ``img`` itself if it leans little."""
    s = slant(img)
    if abs(s) < MIN_SLANT:
        return img
    h, w = img.shape[:2]
    unshear = np.array([[1, s, -s * h / 2], [0, 1, 0]], np.float32)
    return cv2.warpAffine(img, unshear, (w, h), borderMode=cv2.BORDER_REPLICATE)
