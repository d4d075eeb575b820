"""Slanted characters are measured and set upright; upright ones are left alone."""
import cv2
import numpy as np
import pytest

from models.plates.slant import MIN_SLANT, slant, upright
from models.plates.training import render


def leaning(img: np.ndarray, s: float) -> np.ndarray:
    """``img`` sheared so its tops lean right by ``s`` (dx per dy)."""
    h, w = img.shape[:2]
    pad = int(abs(s) * h / 2) + 2
    big = cv2.copyMakeBorder(img, 0, 0, pad, pad, cv2.BORDER_REPLICATE)
    m = np.float32([[1, -s, s * h / 2], [0, 1, 0]])
    return cv2.warpAffine(big, m, big.shape[1::-1], borderMode=cv2.BORDER_REPLICATE)


@pytest.mark.parametrize("s", [-0.5, -0.3, 0.3, 0.6])
def test_the_slant_of_sheared_plates_is_measured(s):
    rng = np.random.default_rng(3)
    for text, color in [("琼A12345", "blue"), ("粤B8D2F7", "yellow"), ("琼AD12345", "green")]:
        plate = render.render_plate(text, color, rng)
        assert slant(plate) == pytest.approx(0, abs=0.1)
        assert slant(leaning(plate, s)) == pytest.approx(s, abs=0.1)


def test_an_upright_crop_is_returned_as_it_is_and_a_leaning_one_straightened():
    rng = np.random.default_rng(5)
    plate = render.render_plate("琼B6K301", "blue", rng)
    assert upright(plate) is plate
    leant = leaning(plate, 0.4)
    straight = upright(leant)
    assert straight.shape == leant.shape
    assert abs(slant(straight)) < MIN_SLANT


def test_gray_and_tiny_images_do_not_fail():
    assert isinstance(slant(np.zeros((8, 16), np.uint8)), float)
    assert upright(np.full((8, 16, 3), 200, np.uint8)).shape == (8, 16, 3)
