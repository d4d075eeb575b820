"""The plate grammar: which strings are plates, and the best plate in a CTC output.

The grammar of `models.plate_rules`, spelled as the plate reads: a province,
the office letter (O included, for the 粤O series), then one of: five
letters or digits (blue and yellow); four and a suffix; D or F and five
(small new-energy vehicles); five digits and D or F (large new-energy
vehicles). Only the suffixes the model was trained to emit (警, 学, 挂) are
searched for: it cannot read 港 or 澳. A serial holds no O or I: where the
network reads one there, the search takes the most probable plate instead.

Greedy CTC decoding reads most crops straight into this grammar. Where it
does not (an extra stroke read as a character between 粤 and the series
letter, the 粤O series' letter O read as the digit 0), `best_plate_paths`
finds the most probable frame labelling whose text is a plate: a Viterbi
search over the network's frames through the grammar's states.
"""
from __future__ import annotations

import numpy as np

from models.plate_rules import DIGITS, LETTERS, NEW_ENERGY, OFFICE_LETTERS, PROVINCES, SUFFIXES
from models.plates.charset import BLANK, CHAR_TO_ID, NUM_CLASSES

READ_SUFFIXES = "".join(c for c in SUFFIXES if c in CHAR_TO_ID)


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
    series = chain(0, [PROVINCES, OFFICE_LETTERS])
    four = chain(series, [an] * 4)
    finals.append(chain(four, [an]))  # ordinary blue / yellow
    finals.append(chain(four, [READ_SUFFIXES]))
    finals.append(chain(series, [NEW_ENERGY] + [an] * 5))  # small vehicles
    finals.append(chain(series, [DIGITS] * 5 + [NEW_ENERGY]))  # large vehicles
    return steps, finals


_STEPS, _FINALS = _grammar()
_NEXT: dict[tuple[int, str], list[int]] = {}
for _state, _chars, _to in _STEPS:
    for _ch in _chars:
        _NEXT.setdefault((_state, _ch), []).append(_to)


def is_plate(text: str) -> bool:
    states = {0}
    for ch in text:
        states = {to for state in states for to in _NEXT.get((state, ch), ())}
    return not states.isdisjoint(_FINALS)

_N_STATES = len(_STEPS) + 1
_FROM = np.array([s for s, chars, _ in _STEPS for _ in chars])
_CLASS = np.array([CHAR_TO_ID[c] for _, chars, _ in _STEPS for c in chars])
_TO = np.array([t for _, chars, t in _STEPS for _ in chars])


def best_plate_paths(log_probs: np.ndarray) -> list[tuple[np.ndarray, float] | None]:
    """Per (T, classes) output of a batch: the most probable frame labels (T,) whose
    CTC text is a plate, and their log-probability; None where no plate fits.

    Viterbi over (grammar state, last frame's class): a blank keeps the state,
    the last class repeated keeps it too, any other class must be a grammar step.
    The batch is searched at once: the cost is in the frame loop, not the batch."""
    n, n_frames, _ = log_probs.shape
    rows = np.arange(n)[:, None]
    score = np.full((n, _N_STATES, NUM_CLASSES), -np.inf)
    score[:, 0, BLANK] = 0.0
    same_state = np.broadcast_to(np.arange(_N_STATES)[None, :, None], score.shape)
    same_class = np.broadcast_to(np.arange(NUM_CLASSES)[None, None, :], score.shape)
    back = np.zeros((n_frames, 2, n, _N_STATES, NUM_CLASSES), np.int8)  # previous state and class
    for t in range(n_frames):
        lp = log_probs[:, t]
        first = score.argmax(2)
        masked = score.copy()
        np.put_along_axis(masked, first[..., None], -np.inf, 2)
        second = masked.argmax(2)
        new = score + lp[:, None, :]  # the last class repeated
        state, cls = same_state.copy(), same_class.copy()
        new[:, :, BLANK] = np.take_along_axis(score, first[..., None], 2)[..., 0] + lp[:, None, BLANK]
        cls[:, :, BLANK] = first
        prev = np.where(first[:, _FROM] != _CLASS, first[:, _FROM], second[:, _FROM])  # a new character
        emit = score[rows, _FROM, prev] + lp[:, _CLASS]
        kept = new[:, _TO, _CLASS]
        better = emit > kept
        new[:, _TO, _CLASS] = np.where(better, emit, kept)
        state[:, _TO, _CLASS] = np.where(better, _FROM, state[:, _TO, _CLASS])
        cls[:, _TO, _CLASS] = np.where(better, prev, cls[:, _TO, _CLASS])
        back[t, 0], back[t, 1], score = state, cls, new
    finals = score[:, _FINALS].reshape(n, -1)
    out: list[tuple[np.ndarray, float] | None] = []
    for i, best in enumerate(finals.argmax(1)):
        total = float(finals[i, best])
        if not np.isfinite(total):
            out.append(None)  # too few frames for a plate
            continue
        at_state, at_class = _FINALS[best // NUM_CLASSES], int(best % NUM_CLASSES)
        path = np.empty(n_frames, np.int64)
        for t in range(n_frames - 1, -1, -1):
            path[t] = at_class
            at_state, at_class = int(back[t, 0, i, at_state, at_class]), int(back[t, 1, i, at_state, at_class])
        out.append((path, total))
    return out
