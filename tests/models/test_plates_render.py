"""The synthetic renderer: right shapes, colours, characters, and determinism."""
from collections import Counter

import numpy as np
import pytest
from fontTools.ttLib import TTFont
from PIL import Image, ImageDraw, ImageFont

from models.plate_rules import OFFICE_LETTERS, PROVINCES
from models.plates import charset
from models.plates.locate import plate_color
from models.plates.training import render


def test_random_plate_is_deterministic_and_well_formed():
    a = [render.random_plate(np.random.default_rng(5)) for _ in range(2)]
    assert a[0] == a[1]
    rng = np.random.default_rng(0)
    for _ in range(500):
        text, color = render.random_plate(rng)
        assert len(text) == (8 if color == "green" else 7)
        assert text[0] in PROVINCES and text[1] in OFFICE_LETTERS
        assert all(c in charset.CHARS for c in text)
        assert ("警" in text) == (color == "white")
        if text[-1] in "学挂":
            assert color == "yellow"


def test_provinces_weighted_to_hainan_but_cover_the_country():
    rng = np.random.default_rng(1)
    counts = Counter(render.random_plate(rng)[0][0] for _ in range(3000))
    assert counts.most_common(1)[0][0] == "琼"
    assert counts["琼"] / 3000 < 0.3
    assert len(counts) == len(PROVINCES)


@pytest.mark.parametrize(
    "text,color,width",
    [("琼A12345", "blue", 220), ("京B6789学", "yellow", 220), ("粤AD12345", "green", 240), ("琼A1234警", "white", 220)],
)
def test_clean_plate_size_and_colour(text, color, width):
    img = render.render_plate(text, color, np.random.default_rng(3))
    assert img.dtype == np.uint8 and img.shape[2] == 3
    assert abs(img.shape[1] - width) <= width * 0.12
    assert 2.8 < img.shape[1] / img.shape[0] < 3.8
    assert plate_color(img) == color


def test_crop_and_frame_are_deterministic():
    a = render.render_crop("琼A12345", "blue", np.random.default_rng(9))
    b = render.render_crop("琼A12345", "blue", np.random.default_rng(9))
    assert np.array_equal(a, b) and a.dtype == np.uint8 and a.ndim == 3
    frame, box = render.render_frame("苏E88888", "yellow", np.random.default_rng(9))
    again, box2 = render.render_frame("苏E88888", "yellow", np.random.default_rng(9))
    assert np.array_equal(frame, again) and box == box2
    assert frame.shape == (720, 1280, 3)
    x1, y1, x2, y2 = box
    assert 0 <= x1 < x2 <= 1280 and 0 <= y1 < y2 <= 720 and 2 < (x2 - x1) / (y2 - y1) < 5


def test_a_loose_crop_holds_the_plate_in_a_wide_margin_of_its_surroundings():
    def blue_share_and_aspect(loose: bool) -> tuple[float, float]:
        rng = np.random.default_rng(11)
        crops = [render.render_crop("琼A12345", "blue", rng, loose=loose) for _ in range(40)]
        blue = [(crop[..., 0].astype(int) > crop[..., 2].astype(int) + 40).mean() for crop in crops]
        return float(np.mean(blue)), float(np.mean([crop.shape[1] / crop.shape[0] for crop in crops]))

    (tight_blue, tight_aspect), (loose_blue, loose_aspect) = blue_share_and_aspect(False), blue_share_and_aspect(True)
    assert loose_blue < 0.75 * tight_blue  # less of the crop is plate
    assert loose_aspect < 0.8 * tight_aspect  # the margin above and below widens it least


def test_double_row_plate_puts_province_and_letter_small_on_top():
    img = render.render_plate("琼A12345", "yellow", np.random.default_rng(4), rows=2)
    assert 1.8 < img.shape[1] / img.shape[0] < 2.2 and plate_color(img) == "yellow"
    ink = (img.astype(int).sum(2) < 200).mean(1)  # dark text on yellow, per pixel row
    h = img.shape[0]
    top, gap = ink[int(h * 0.1) : int(h * 0.32)], ink[int(h * 0.36) : int(h * 0.42)]
    bottom = ink[int(h * 0.45) : int(h * 0.9)]
    assert top.mean() > 0.02 and bottom.mean() > 2 * top.mean() and gap.mean() < top.mean()


@pytest.mark.parametrize("text,color", [("琼A12345", "blue"), ("琼AD12345", "yellow"), ("琼A1234学", "yellow")])
def test_only_seven_character_yellow_plates_come_in_two_rows(text, color):
    if color == "yellow" and len(text) == 7:
        assert render.render_plate(text, color, np.random.default_rng(0), rows=2).shape[0] > 0
    else:
        with pytest.raises(ValueError, match="double-row"):
            render.render_plate(text, color, np.random.default_rng(0), rows=2)


CHINESE_DESIGNS = render.NOTO_CJK + (render.DROID_CJK, render.ZENHEI_CJK, render.SMILEY_CJK)


@pytest.mark.parametrize("font", CHINESE_DESIGNS, ids=lambda p: p.stem)
def test_every_chinese_design_has_every_chinese_plate_character(font):
    cmap = TTFont(font).getBestCmap()
    chinese = [c for c in charset.CHARS if not c.isascii()]
    assert [c for c in chinese if ord(c) not in cmap] == []


def _lean(mask: np.ndarray) -> float:
    """How far right the top quarter's ink sits of the bottom quarter's, in pixels."""
    q = mask.shape[0] // 4
    centre = [(m * np.arange(m.shape[1])).sum() / m.sum() for m in (mask[:q], mask[-q:])]
    return centre[0] - centre[1]


def test_the_oblique_design_is_set_upright():
    font = ImageFont.truetype(str(render.SMILEY_CJK), 96)
    img = Image.new("L", (160, 160), 0)
    ImageDraw.Draw(img).text((20, 10), "H", font=font, fill=255)
    as_shipped = np.asarray(img, np.float32)
    as_shipped = as_shipped[np.any(as_shipped > 25, 1)]
    assert _lean(as_shipped) > 5
    assert abs(_lean(render._glyph("H", str(render.SMILEY_CJK)))) < 1.5


def test_bent_strokes_keep_the_character_in_its_box():
    glyph = render._glyph("粤", str(render.NOTO_CJK[2]))
    bent = render._elastic(glyph, np.random.default_rng(2))
    assert bent.shape == glyph.shape and not np.allclose(bent, glyph)
    assert abs(bent.sum() / glyph.sum() - 1) < 0.1
    assert np.abs(bent - glyph).mean() < 0.2
