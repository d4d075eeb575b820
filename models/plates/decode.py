"""CTC decoding: network logits -> text, per-character confidences, alternates.

Greedy (best-path) decoding is exact enough for plates, where the network is
confident frame by frame, and costs nothing next to the network itself.
A character's confidence is its highest softmax probability over the frames
that emitted it; the plate's confidence is the weakest character's, because
one wrong character makes the whole plate wrong. For the weakest characters
we also offer the runner-up character, so that a fuzzy watchlist match can
try those alternates.

The first two characters are fixed by the plate grammar, a province and then
a letter: where greedy decoding puts another class there (the 粤O series'
letter O read as the digit 0), the most probable allowed class at the same
frame is taken instead, with its own, lower, confidence.
"""
from __future__ import annotations

from itertools import product
from typing import NamedTuple

import numpy as np

from models.plates.charset import BLANK, CHAR_TO_ID, ID_TO_CHAR, LETTERS, PROVINCES


# Classes allowed at each grammar-fixed position of a 7- or 8-character plate.
_ALLOWED = {0: np.array([CHAR_TO_ID[c] for c in PROVINCES]), 1: np.array([CHAR_TO_ID[c] for c in LETTERS])}


class Decoded(NamedTuple):
    text: str
    char_confidences: tuple[float, ...]
    alternates: tuple[str, ...]


def softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def decode_batch(logits: np.ndarray, *, alt_below: float = 0.9, max_alt_positions: int = 2) -> list[Decoded]:
    """Decode (batch, time, classes) logits; alternates for characters under ``alt_below``."""
    probs = softmax(np.asarray(logits, np.float32))
    return [_decode_one(p, alt_below, max_alt_positions) for p in probs]


def _decode_one(probs: np.ndarray, alt_below: float, max_alt_positions: int) -> Decoded:
    best = probs.argmax(-1)
    chars: list[str] = []
    confs: list[float] = []
    runners: list[tuple[str, float]] = []  # runner-up character at the char's best frame
    rows: list[np.ndarray] = []  # the probabilities at each character's best frame
    t, n = 0, len(best)
    while t < n:
        cls = best[t]
        end = t
        while end + 1 < n and best[end + 1] == cls:
            end += 1
        if cls != BLANK:
            frames = probs[t : end + 1]
            peak = int(frames[:, cls].argmax())
            chars.append(ID_TO_CHAR[int(cls)])
            confs.append(float(frames[peak, cls]))
            rows.append(frames[peak])
            row = frames[peak].copy()
            row[[BLANK, cls]] = -1.0
            alt = int(row.argmax())
            runners.append((ID_TO_CHAR[alt], float(row[alt])))
        t = end + 1
    if len(chars) in (7, 8):
        for i, allowed in _ALLOWED.items():
            if CHAR_TO_ID[chars[i]] not in allowed:
                first, second = allowed[np.argsort(rows[i][allowed])[::-1][:2]]
                chars[i], confs[i] = ID_TO_CHAR[int(first)], float(rows[i][first])
                runners[i] = (ID_TO_CHAR[int(second)], float(rows[i][second]))

    weak = sorted((i for i, c in enumerate(confs) if c < alt_below), key=lambda i: confs[i])[:max_alt_positions]
    alternates = []
    for choice in product((False, True), repeat=len(weak)):
        if not any(choice):
            continue
        text = list(chars)
        score = 1.0
        for i, use in zip(weak, choice):
            if use:
                text[i] = runners[i][0]
                score *= runners[i][1]
            else:
                score *= confs[i]
        alternates.append((score, "".join(text)))
    alternates.sort(key=lambda a: -a[0])
    return Decoded("".join(chars), tuple(confs), tuple(a for _, a in alternates))
