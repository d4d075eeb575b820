"""The plate grammar and the best plate in a network's output."""
import numpy as np
import pytest

from models.plates.charset import CHAR_TO_ID, ID_TO_CHAR, NUM_CLASSES
from models.plates.grammar import best_plate_paths, is_plate


@pytest.mark.parametrize("text", ["琼A12345", "粤OA9112", "琼B1234学", "京A1234警", "苏E1234挂",
                                  "皖AD12345", "皖A12345F"])
def test_plates_of_every_series_are_plates(text):
    assert is_plate(text)


@pytest.mark.parametrize("text", ["琼012345", "A琼12345", "琼A1234", "琼A123456", "琼AB2345D",
                                  "琼A1234D5", "琼A学1234", "琼AA2345F", ""])
def test_near_misses_are_not(text):
    assert not is_plate(text)


def text_of(path) -> str:
    return "".join(ID_TO_CHAR[int(c)] for i, c in enumerate(path) if c and (i == 0 or path[i - 1] != c))


def test_the_best_plate_path_of_any_output_is_a_plate_and_no_path_beats_it():
    rng = np.random.default_rng(0)
    batch = np.log(rng.dirichlet(np.full(NUM_CLASSES, 0.3), size=(6, 32)))
    hand = np.zeros(32, int)  # a plate path built by hand
    hand[1:14:2] = [CHAR_TO_ID[c] for c in "琼A12345"]
    for log_probs, (path, score) in zip(batch, best_plate_paths(batch)):
        assert is_plate(text_of(path))
        assert score == pytest.approx(log_probs[np.arange(32), path].sum(), rel=1e-5)
        assert log_probs[np.arange(32), hand].sum() <= score + 1e-6


def test_too_few_frames_hold_no_plate():
    assert best_plate_paths(np.log(np.full((1, 5, NUM_CLASSES), 1 / NUM_CLASSES))) == [None]
