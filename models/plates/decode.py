"""CTC decoding: network logits -> text, per-character confidences, alternates.

Greedy (best-path) decoding is exact enough for plates, where the network is
confident frame by frame, and costs nothing next to the network itself.
A character's confidence is its highest softmax probability over the frames
that emitted it; the plate's confidence is the weakest character's, because
one wrong character makes the whole plate wrong. For the weakest characters
we also offer the runner-up character, so that a fuzzy watchlist match can
try those alternates.

Where the greedy text is not a plate, the grammar mends it in two ways. The
first two characters of a 7- or 8-character read are a province and a letter:
the best of those at the same frames is taken (the 粤O series' letter O is
read as the digit 0 otherwise). And for images known to be plates, the most
probable labelling that is a plate (`grammar.best_plate_paths`) is read
instead, where it is one character away and at least `PLAUSIBLE` as probable
as the greedy path: an extra character read between 粤 and the series letter,
or a missed one.
"""
from __future__ import annotations

from itertools import product
from typing import NamedTuple

import numpy as np

from models.plate_rules import OFFICE_LETTERS, PROVINCES
from models.plates.charset import BLANK, CHAR_TO_ID, ID_TO_CHAR, NUM_CLASSES
from models.plates.grammar import best_plate_paths, is_plate
from models.plates.region import with_home_prior

PLAUSIBLE = 1e-2
# Runner-ups of a plate's first two characters are a province and an office letter: no other alternate is a plate.
_SERIES = (np.array([CHAR_TO_ID[c] for c in PROVINCES]), np.array([CHAR_TO_ID[c] for c in OFFICE_LETTERS]))
_ANY = np.arange(1, NUM_CLASSES)


class Decoded(NamedTuple):
    text: str
    char_confidences: tuple[float, ...]
    alternates: tuple[str, ...]


def softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def decode_batch(logits: np.ndarray, *, alt_below: float = 0.9, max_alt_positions: int = 2,
                 repair: bool = False, region: str | None = None) -> list[Decoded]:
    """Decode (batch, time, classes) logits; alternates for characters under ``alt_below``.

    ``repair``: for images known to hold a plate, mend a read one character
    away from the grammar (`_repaired`). Not for a frame's candidate regions,
    where it would turn half the bumpers into plates. ``region``: the cameras'
    province, which decides an unsure province character (`region.with_home_prior`)."""
    probs = softmax(np.asarray(logits, np.float32))
    reads = []
    for p in probs:
        spans = _characters(p.argmax(-1))
        reads.append(spans if is_plate(_text(spans)) else _series_fixed(p, spans))
    if repair:
        off = [i for i, spans in enumerate(reads) if not is_plate(_text(spans))]
        if off:
            log_probs = np.log(np.maximum(probs[off], 1e-30))
            for i, lp, best in zip(off, log_probs, best_plate_paths(log_probs)):
                reads[i] = _repaired(lp, reads[i], best)
    if region is not None:
        return [_under_prior(p, spans, region, alt_below, max_alt_positions) for p, spans in zip(probs, reads)]
    return [_decoded(p, spans, alt_below, max_alt_positions) for p, spans in zip(probs, reads)]


def _under_prior(probs: np.ndarray, spans: list, region: str, alt_below: float, max_alt_positions: int) -> Decoded:
    """The read with the cameras' province as the prior of an unsure province character.
    Where the prior changed the province, the network's own read is the first alternate,
    so that a visitor on the watchlist is still matched."""
    d = _decoded(*with_home_prior(probs, spans, region), alt_below, max_alt_positions)
    network = _text(spans)
    if d.text == network:
        return d
    return d._replace(alternates=(network, *(a for a in d.alternates if a != network)))


def _characters(path: np.ndarray) -> list[tuple[int, int, int]]:
    """(class, first frame, last frame) of each character a frame labelling emits."""
    chars, t, n = [], 0, len(path)
    while t < n:
        end = t
        while end + 1 < n and path[end + 1] == path[t]:
            end += 1
        if path[t] != BLANK:
            chars.append((int(path[t]), t, end))
        t = end + 1
    return chars


def _text(spans) -> str:
    return "".join(ID_TO_CHAR[cls] for cls, _, _ in spans)


def _series_fixed(probs: np.ndarray, spans: list) -> list:
    """A 7- or 8-character read with the best province and letter at its first two characters' frames."""
    if len(spans) not in (7, 8):
        return spans
    fixed = list(spans)
    for i, allowed in enumerate(_SERIES):
        cls, t, end = spans[i]
        if cls not in allowed:
            peak = t + int(probs[t : end + 1, cls].argmax())
            fixed[i] = (int(allowed[probs[peak, allowed].argmax()]), t, end)
    return fixed


def _repaired(log_probs: np.ndarray, spans: list, best: tuple[np.ndarray, float] | None) -> list:
    """The most probable plate labelling ``best``, where it is one edit from the
    greedy read and at least `PLAUSIBLE` as probable; otherwise the greedy read."""
    if best is None or best[1] < log_probs.max(-1).sum() + np.log(PLAUSIBLE):
        return spans
    plate = _characters(best[0])
    return plate if _one_edit(_text(spans), _text(plate)) else spans


def _one_edit(a: str, b: str) -> bool:
    if len(a) == len(b):
        return sum(x != y for x, y in zip(a, b)) <= 1
    short, long_ = sorted((a, b), key=len)
    return len(long_) - len(short) == 1 and any(long_[:i] + long_[i + 1:] == short for i in range(len(long_)))


def _decoded(probs: np.ndarray, spans: list, alt_below: float, max_alt_positions: int) -> Decoded:
    """Text, confidences and alternates of the characters ``spans`` read from ``probs``."""
    chars = [ID_TO_CHAR[cls] for cls, _, _ in spans]
    peaks = [t + int(probs[t : end + 1, cls].argmax()) for cls, t, end in spans]  # each character's best frame
    confs = [float(probs[peak, cls]) for peak, (cls, _, _) in zip(peaks, spans)]
    weak = sorted((i for i, c in enumerate(confs) if c < alt_below), key=lambda i: confs[i])[:max_alt_positions]
    runners = {i: _runner_up(probs[peaks[i]], spans[i][0], i, len(spans)) for i in weak}
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


def _runner_up(frame: np.ndarray, cls: int, position: int, length: int) -> tuple[str, float]:
    """The next most probable character at a character's best frame, and its probability."""
    allowed = _SERIES[position] if position < 2 and length in (7, 8) else _ANY
    row = np.full_like(frame, -1.0)
    row[allowed] = frame[allowed]
    row[[BLANK, cls]] = -1.0
    alt = int(row.argmax())
    return ID_TO_CHAR[alt], float(row[alt])
