"""CTC decoding: network logits -> text, per-character confidences, alternates.

Greedy (best-path) decoding is exact enough for plates, where the network is
confident frame by frame, and costs nothing next to the network itself.
A character's confidence is its highest softmax probability over the frames
that emitted it; the plate's confidence is the weakest character's, because
one wrong character makes the whole plate wrong. For the weakest characters
we also offer the runner-up character, so that a fuzzy watchlist match can
try those alternates.
"""
from __future__ import annotations

from itertools import product
from typing import NamedTuple

import numpy as np

from models.plates.charset import BLANK, ID_TO_CHAR


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
            row = frames[peak].copy()
            row[[BLANK, cls]] = -1.0
            alt = int(row.argmax())
            runners.append((ID_TO_CHAR[alt], float(row[alt])))
        t = end + 1

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
