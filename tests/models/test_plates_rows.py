"""Double-row plates are recognised by shape and laid out as one row."""
import numpy as np

from models.plates.rows import as_one_row, looks_double_row
from models.plates.training import render


def test_crops_of_double_row_plates_look_double_row_and_one_row_crops_do_not():
    rng = np.random.default_rng(2)
    doubles = [render.render_crop("琼A12345", "yellow", rng, rows=2) for _ in range(100)]
    singles = [render.render_crop("琼A12345", "yellow", rng) for _ in range(100)]
    assert sum(map(looks_double_row, doubles)) >= 90
    assert sum(map(looks_double_row, singles)) <= 10


def test_one_row_puts_the_top_row_before_the_bottom_row():
    plate = render.render_plate("琼A12345", "yellow", np.random.default_rng(4), rows=2)
    line = as_one_row(plate)
    h, w = plate.shape[:2]
    assert line.shape[0] == h - round(h * 0.38) and line.shape[2] == 3
    assert line.shape[1] / line.shape[0] > 3  # as wide as a one-row plate
    assert np.array_equal(line[:, -w:], plate[h - line.shape[0]:])  # the bottom row, untouched, on the right


def test_one_row_of_a_sliver_is_still_an_image():
    assert as_one_row(np.zeros((1, 2, 3), np.uint8)).ndim == 3
