"""The cameras' province as a prior on an unsure province character.

A checkpoint camera knows which province it stands in, and most plates it
sees are local. A person reading a blurred plate uses that knowledge; the
network does not. So where the province character is unsure (the network's
probability for the province it reads is under `UNSURE_BELOW`), its
probabilities over the provinces are updated with a prior that gives the
home province `LOCAL_SHARE` of the traffic and the other provinces equal
shares of the rest, and the province is read again from the posterior.

A confident read is never touched: a stolen car comes from elsewhere, and
the prior must not turn a clearly printed 粤 into a local 琼. An unsure read
whose evidence for another province outweighs the prior keeps it too. The
character's confidence becomes the posterior's, so a plate the prior
decided stays as unsure as the evidence and the prior together make it,
and the province the network read stays among the alternates.

Both constants were chosen on the real EasyPR test crops, half by half (each
half's choice measured on the other half), full size and down-sampled as
cameras deliver them: `bench/bench_region.py` prints the search and the
gain on in-region plates against the harm on out-of-region ones.
"""
from __future__ import annotations

import numpy as np

from models.plate_rules import PROVINCES, is_province
from models.plates.charset import CHAR_TO_ID

UNSURE_BELOW = 0.6  # a province read at least this probable is kept whatever the region
LOCAL_SHARE = 0.3  # the prior's share of plates from the cameras' own province

PROVINCE_IDS = np.array([CHAR_TO_ID[c] for c in PROVINCES])


def check_region(region: str | None) -> str | None:
    """``region`` if it is a province's one-character abbreviation (or None), else ValueError."""
    if region is not None and not is_province(region):
        raise ValueError(f"region must be one province character such as 琼, not {region!r}")
    return region


def home_odds() -> float:
    """How many times more probable the prior makes the home province than any one other."""
    return LOCAL_SHARE / (1 - LOCAL_SHARE) * (len(PROVINCES) - 1)


def with_home_prior(probs: np.ndarray, spans: list[tuple[int, int, int]], region: str
                    ) -> tuple[np.ndarray, list[tuple[int, int, int]]]:
    """(probs, spans) with the province character read under the home province's prior.

    ``probs`` is one image's (frames, classes) softmax and ``spans`` the
    (class, first frame, last frame) of each character read from it. Only a
    7- or 8-character read whose first character is an unsure province is
    changed: the province probabilities of that character's frames are
    reweighted by the prior (the frames' other classes keep their mass), and
    the province is the posterior's best at its best frame."""
    if len(spans) not in (7, 8):
        return probs, spans
    cls, first, last = spans[0]
    home = CHAR_TO_ID[region]
    if cls == home or cls not in PROVINCE_IDS or probs[first:last + 1, cls].max() >= UNSURE_BELOW:
        return probs, spans
    probs = probs.copy()
    provinces = probs[first:last + 1][:, PROVINCE_IDS]
    mass = provinces.sum(1, keepdims=True)
    provinces[:, PROVINCES.index(region)] *= home_odds()
    probs[first:last + 1, PROVINCE_IDS] = provinces / provinces.sum(1, keepdims=True) * mass
    posterior = probs[first:last + 1][:, PROVINCE_IDS]
    peak = int(posterior.max(1).argmax())
    read = int(PROVINCE_IDS[posterior[peak].argmax()])
    return probs, [(read, first, last), *spans[1:]]
