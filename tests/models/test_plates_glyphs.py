"""The stroke-drawn plate face: every plate letter and digit, distinct, varied by style."""
import numpy as np
import pytest

from models.plate_rules import DIGITS, OFFICE_LETTERS
from models.plates.training.glyphs import CHARACTERS, random_style, stroke_glyph, with_flagged_one

STYLE = random_style(np.random.default_rng(0))


def draw(ch: str, style=STYLE) -> np.ndarray:
    return stroke_glyph(ch, 45, 90, style, np.random.default_rng(1))


def test_covers_every_plate_letter_and_digit():
    assert set(CHARACTERS) == set(OFFICE_LETTERS + DIGITS)


@pytest.mark.parametrize("ch", CHARACTERS)
def test_each_glyph_fills_its_cell_with_ink(ch):
    m = draw(ch)
    assert m.shape == (90, 45) and m.dtype == np.float32
    assert 0.0 <= m.min() and m.max() <= 1.0
    ink = m > 0.5
    ys, xs = np.nonzero(ink)
    assert ys.min() <= 8 and ys.max() >= 81  # every plate character spans the cell's height
    assert 0.05 < ink.mean() < 0.7


def test_glyphs_that_readers_confuse_are_drawn_apart():
    for a, b in [("3", "5"), ("0", "Q"), ("0", "D"), ("C", "G"), ("M", "H"), ("8", "B"), ("6", "9"), ("2", "Z")]:
        diff = np.abs(draw(a) - draw(b)).mean()
        assert diff > 0.03, (a, b, diff)


def test_flat_topped_three_and_five_share_their_top_bar():
    top = slice(2, 10)
    assert (draw("3")[top] > 0.5).mean() > 0.5 and (draw("5")[top] > 0.5).mean() > 0.5


def test_style_varies_the_pen_and_is_seeded():
    a, b = random_style(np.random.default_rng(3)), random_style(np.random.default_rng(3))
    assert a == b
    thin = dict(STYLE, half=3.8)
    bold = dict(STYLE, half=6.2)
    assert (draw("8", bold) > 0.5).mean() > 1.3 * (draw("8", thin) > 0.5).mean()


def test_m_dips_about_halfway_as_on_real_plates():
    """Drawn deeper, a real plate's M (middle about halfway down) read as W."""
    rng = np.random.default_rng(4)
    bottoms = []
    for _ in range(60):
        centre = draw("M", random_style(rng))[:, 22] > 0.5  # the column through the middle vertex
        bottoms.append(np.nonzero(centre)[0].max() / 90)
    assert 0.4 < min(bottoms) and max(bottoms) < 0.75
    assert np.median(bottoms) < 0.62


def test_a_new_energy_plates_one_carries_a_flag_and_an_older_plates_is_a_bar():
    top_left = (slice(8, 22), slice(4, 16))
    plain, flagged = draw("1"), draw("1", with_flagged_one(STYLE, np.random.default_rng(5)))
    assert (plain[top_left] > 0.5).sum() == 0
    assert (flagged[top_left] > 0.5).sum() > 10
    assert np.array_equal(plain[40:] > 0.5, flagged[40:] > 0.5)  # the stem is the same bar
