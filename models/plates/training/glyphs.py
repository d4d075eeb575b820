"""A plate-style typeface for the Latin letters and digits, drawn as strokes.

Why: the official plate typeface (GA 36) cannot be shipped, and the sans faces
we may ship differ from it exactly where readers go wrong: the plate's "3" and
"5" share a flat top, "0", "C", "D", "G" and "Q" are built on one narrow
stadium, "M" dips only to the middle. The plate face is a monoline design of
straight strokes and half-circles in a 45 x 90 mm cell, so it can be described
here as centre-lines and drawn with a round pen: our own drawing of the
shapes, varied per plate in pen width, roundness and proportions, so the
reader learns the shapes rather than one rendering of them.

    mask = stroke_glyph("G", 26, 52, rng)   # float32 (52, 26), 0..1
"""
from __future__ import annotations

import cv2
import numpy as np

from models.plate_rules import DIGITS, OFFICE_LETTERS

W, H = 45.0, 90.0  # the character cell, in mm
_SCALE = 4  # drawing pixels per mm before the glyph is shrunk to its slot


def _arc(cx: float, cy: float, rx: float, ry: float, a0: float, a1: float) -> list[tuple[float, float]]:
    """Points of an elliptical arc from angle a0 to a1 (degrees; 0 = right, 90 = down)."""
    n = max(4, int(abs(a1 - a0) / 10))
    t = np.deg2rad(np.linspace(a0, a1, n))
    return list(zip(cx + rx * np.cos(t), cy + ry * np.sin(t)))


def _strokes(ch: str, p: dict[str, float]) -> list[list[tuple[float, float]]]:
    """Centre-lines of one character, given the pen half-width and shape parameters."""
    e = p["half"]  # keep the pen inside the cell
    L, R, T, B = e, W - e, e, H - e
    cx, r = W / 2, (R - L) / 2  # the stadium's half-width
    M = H / 2 + p["mid"]  # height of the middle bars and joins
    ry_top, ry_bot = M - T, B - M
    top_c, bot_c = T + r * p["round"], B - r * p["round"]
    rr = r * p["round"]  # vertical radius of the stadium's ends

    def stadium() -> list[tuple[float, float]]:
        return _arc(cx, top_c, r, rr, 180, 360) + _arc(cx, bot_c, r, rr, 0, 180) + [(L, top_c)]

    lower_bowl = (cx, M + ry_bot / 2 + 1, r, ry_bot / 2 + 1)
    # C and G end on their right side, around a gap of varying height
    gap_top, gap_bottom = max(top_c, M - p["gap"] / 2), min(bot_c, M + p["gap"] / 2)
    open_arc = [(R, gap_top)] + _arc(cx, top_c, r, rr, 360, 180) + _arc(cx, bot_c, r, rr, 180, 0)
    shapes: dict[str, list[list[tuple[float, float]]]] = {
        "0": [stadium()],
        "O": [stadium()],
        "Q": [stadium(), [(cx + 3, B - 17), (R + e * 0.6, B + e * 0.4)]],
        "1": [[(cx - p["flag"], T + p["flag"]), (cx, T), (cx, B)] if p["flag"] else [(cx, T), (cx, B)]],
        "2": [_arc(cx, top_c, r, rr, 170, 385) + [(L, B), (R, B)]],
        "3": [[(L, T), (R, T), (cx - 1, M - 2)] + _arc(*lower_bowl, 270, 510)],
        "4": [[(R - 8, B), (R - 8, T), (L, B - 26), (R + e * 0.3, B - 26)]],
        "5": [[(R, T), (L + 1, T), (L + 1, M - 4)] + _arc(*lower_bowl, 225, 510)],
        "6": [_arc(cx, top_c, r, rr, 340, 180) + _arc(*lower_bowl, 180, 540)],
        "7": [[(L, T), (R, T), (cx - 2, B)]],
        "8": [
            _arc(cx, T + ry_top / 2, r * 0.88, ry_top / 2, 0, 360),
            _arc(cx, M + ry_bot / 2, r, ry_bot / 2, 0, 360),
        ],
        "A": [[(L, B), (cx, T), (R, B)], [(L + 6, B - 24), (R - 6, B - 24)]],
        "B": [
            [(L, B), (L, T), (R - r, T)] + _arc(R - r, T + ry_top / 2, r - 2, ry_top / 2, 270, 450) + [(L, M)],
            [(L, M), (R - r, M)] + _arc(R - r, M + ry_bot / 2, r, ry_bot / 2, 270, 450) + [(L, B)],
        ],
        "C": [open_arc + [(R, gap_bottom)]],
        "D": [[(L, B), (L, T), (cx, T)] + _arc(cx, top_c, r, rr, 270, 360) + _arc(cx, bot_c, r, rr, 0, 90) + [(L, B)]],
        "E": [[(R, T), (L, T), (L, B), (R, B)], [(L, M), (R - 4, M)]],
        "F": [[(R, T), (L, T), (L, B)], [(L, M), (R - 4, M)]],
        "G": [open_arc + [(R, M + 4), (cx + 2, M + 4)]],
        "H": [[(L, T), (L, B)], [(R, T), (R, B)], [(L, M), (R, M)]],
        "J": [[(R, T)] + _arc(cx, bot_c, r, rr, 0, 160)],
        "K": [[(L, T), (L, B)], [(R, T), (L + 1, M + 8)], [(L + 11, M - 2), (R, B)]],
        "L": [[(L, T), (L, B), (R, B)]],
        "M": [[(L, B), (L, T), (cx, M + 14 * p["dip"]), (R, T), (R, B)]],
        "N": [[(L, B), (L, T), (R, B), (R, T)]],
        "P": [[(L, B), (L, T), (R - r, T)] + _arc(R - r, T + ry_top / 2 + 1, r, ry_top / 2 + 1, 270, 450)
              + [(L, M + 2)]],
        "R": [
            [(L, B), (L, T), (R - r, T)] + _arc(R - r, T + ry_top / 2 + 1, r, ry_top / 2 + 1, 270, 450) + [(L, M + 2)],
            [(cx - 2, M + 2), (R, B)],
        ],
        "S": [_arc(cx, T + ry_top / 2, r, ry_top / 2, 340, 95) + _arc(cx, M + ry_bot / 2, r, ry_bot / 2, 275, 520)],
        "T": [[(L - e * 0.4, T), (R + e * 0.4, T)], [(cx, T), (cx, B)]],
        "U": [[(L, T)] + _arc(cx, bot_c, r, rr, 180, 0) + [(R, T)]],
        "V": [[(L, T), (cx, B), (R, T)]],
        "W": [[(L, T), (L + 7, B), (cx, T + 25), (R - 7, B), (R, T)]],
        "X": [[(L, T), (R, B)], [(R, T), (L, B)]],
        "Y": [[(L, T), (cx, M), (R, T)], [(cx, M), (cx, B)]],
        "Z": [[(L, T), (R, T), (L, B), (R, B)]],
    }
    if ch == "9":  # the 6 turned half a turn
        return [[(W - x, H - y) for x, y in s] for s in shapes["6"]]
    if ch == "3" and p["round_three"]:  # older plates: a "3" of two bowls
        return [_arc(cx, T + ry_top / 2, r * 0.9, ry_top / 2, 200, 450) + _arc(*lower_bowl, 270, 510)]
    return shapes[ch]


CHARACTERS = DIGITS + OFFICE_LETTERS


def random_style(rng: np.random.Generator) -> dict[str, float]:
    """One plate's pen and proportions: every character on a plate shares them."""
    return {
        "half": float(rng.uniform(3.8, 6.2)),  # pen half-width: strokes 7.6-12.4 mm
        "round": float(rng.uniform(0.75, 1.1)),  # how tall the stadium's ends are
        "mid": float(rng.uniform(-4, 3)),  # where the middle bars sit
        "dip": float(rng.uniform(-0.3, 0.7)),  # how deep M's middle reaches: about halfway, as on real plates
        "round_three": float(rng.random() < 0.15),
        "gap": float(rng.uniform(22, 50)),  # height of the opening of C and G
        "flag": 0.0,  # the "1" is a plain bar, except on new-energy plates (`with_flagged_one`)
    }


def with_flagged_one(style: dict[str, float], rng: np.random.Generator) -> dict[str, float]:
    """The style of a new-energy plate, whose "1" carries a flag at its top left
    (on the older plates it is a plain bar): read as a bar, it becomes a T."""
    return {**style, "flag": float(rng.uniform(8, 15))}


def stroke_glyph(ch: str, w: int, h: int, style: dict[str, float], rng: np.random.Generator) -> np.ndarray:
    """The character drawn with a round pen into a w x h float mask (0..1)."""
    size = (int(H * _SCALE), int(W * _SCALE))
    canvas = np.zeros(size, np.uint8)
    jitter = rng.normal(0, 0.6, 2)
    for line in _strokes(ch, style):
        pts = np.round((np.array(line) + jitter) * _SCALE * 8).astype(np.int32)  # 3 fractional bits
        cv2.polylines(canvas, [pts], False, 255, int(style["half"] * 2 * _SCALE), cv2.LINE_AA, shift=3)
    return cv2.resize(canvas, (w, h), interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0
