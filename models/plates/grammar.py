"""The plate grammar: which strings are plates, and the best plate in a CTC output.

A civil plate is a province, a letter, then one of: five letters or digits
(blue and yellow); four and a suffix 警, 学 or 挂; D or F and five (small
new-energy vehicles); five digits and D or F (large new-energy vehicles).

Greedy CTC decoding reads most crops straight into this grammar. Where it
does not (an extra stroke read as a character between 粤 and the series
letter, the 粤O series' letter O read as the digit 0), `best_plate_path`
finds the most probable frame labelling whose text is a plate: a Viterbi
search over the network's frames through the grammar's states.
"""
from __future__ import annotations

import re

import numpy as np

from models.plates.charset import BLANK, CHAR_TO_ID, DIGITS, LETTERS, NUM_CLASSES, PROVINCES, SUFFIXES

_AN = f"[{LETTERS}{DIGITS}]"
PLATE_PATTERN = re.compile(
    f"^[{PROVINCES}][{LETTERS}]"
    f"(?:{_AN}{{5}}"  # ordinary blue / yellow
    f"|{_AN}{{4}}[{SUFFIXES}]"  # police 警, coach 学, trailer 挂
    f"|[DF]{_AN}{{5}}|[0-9]{{5}}[DF])$"  # new energy, small and large vehicles
)


def is_plate(text: str) -> bool:
    return PLATE_PATTERN.match(text) is not None


def _grammar() -> tuple[list[tuple[int, str, int]], list[int]]:
    """The grammar as (state, characters, next state) steps from state 0, and its final states.

    Every state has one way in, so a (state, character) pair names its step."""
    steps: list[tuple[int, str, int]] = []
    finals: list[int] = []

    def chain(start: int, sets: list[str]) -> int:
        state = start
        for chars in sets:
            steps.append((state, chars, len(steps) + 1))
            state = len(steps)
        return state

    an = LETTERS + DIGITS
    series = chain(0, [PROVINCES, LETTERS])
    four = chain(series, [an] * 4)
    finals.append(chain(four, [an]))
    finals.append(chain(four, [SUFFIXES]))
    finals.append(chain(series, ["DF"] + [an] * 5))
    finals.append(chain(series, [DIGITS] * 5 + ["DF"]))
    return steps, finals


_STEPS, _FINALS = _grammar()
_N_STATES = len(_STEPS) + 1
_FROM = np.array([s for s, chars, _ in _STEPS for _ in chars])
_CLASS = np.array([CHAR_TO_ID[c] for _, chars, _ in _STEPS for c in chars])
_TO = np.array([t for _, chars, t in _STEPS for _ in chars])


def best_plate_path(log_probs: np.ndarray) -> tuple[np.ndarray, float] | None:
    """The most probable frame labels (T,) whose CTC text is a plate, and their log-probability.

    Viterbi over (grammar state, last frame's class): a blank keeps the state,
    the last class repeated keeps it too, any other class must be a grammar step."""
    n_frames = len(log_probs)
    score = np.full((_N_STATES, NUM_CLASSES), -np.inf)
    score[0, BLANK] = 0.0
    back = np.zeros((n_frames, _N_STATES, NUM_CLASSES, 2), np.int16)  # previous (state, class)
    states = np.arange(_N_STATES)
    for t, lp in enumerate(log_probs):
        order = np.argsort(score, axis=1)
        first, second = order[:, -1], order[:, -2]
        new = np.full_like(score, -np.inf)
        new[:, BLANK] = score[states, first] + lp[BLANK]
        back[t, :, BLANK] = np.stack([states, first], 1)
        new[:, 1:] = score[:, 1:] + lp[1:]
        back[t, :, 1:, 0] = states[:, None]
        back[t, :, 1:, 1] = np.arange(1, NUM_CLASSES)
        prev = np.where(first[_FROM] != _CLASS, first[_FROM], second[_FROM])  # a new character, not a repeat
        emit = score[_FROM, prev] + lp[_CLASS]
        better = emit > new[_TO, _CLASS]
        new[_TO[better], _CLASS[better]] = emit[better]
        back[t, _TO[better], _CLASS[better]] = np.stack([_FROM[better], prev[better]], 1)
        score = new
    finals = score[_FINALS]
    best = np.unravel_index(np.argmax(finals), finals.shape)
    total = float(finals[best])
    if not np.isfinite(total):
        return None  # too few frames for a plate
    state, cls = _FINALS[best[0]], int(best[1])
    path = np.empty(n_frames, np.int64)
    for t in range(n_frames - 1, -1, -1):
        path[t] = cls
        state, cls = (int(v) for v in back[t, state, cls])
    return path, total
