"""Plate localisation: the text cue ranks real plates first, in synthetic and real frames."""
import numpy as np

from models.plates.locate import RECUTS, find_candidates, iou, recut, text_score
from models.plates.training import render


def test_text_score_tells_a_plate_from_plain_and_striped_patches():
    rng = np.random.default_rng(4)
    plates = [render.render_plate(*render.random_plate(rng), rng) for _ in range(10)]
    flat = np.full((40, 130, 3), 120, np.uint8)
    grille = np.zeros((40, 130, 3), np.uint8)
    grille[::6] = 255  # horizontal bars of a radiator grille
    noise = rng.integers(0, 256, (40, 130, 3), dtype=np.uint8)
    assert min(text_score(p) for p in plates) >= 0.6
    assert text_score(flat) == 0 and text_score(grille) == 0 and text_score(noise) < 0.3


def test_synthetic_frames_put_the_plate_first():
    rng = np.random.default_rng(11)
    for _ in range(10):
        frame, box = render.render_frame(*render.random_plate(rng), rng)
        assert iou(find_candidates(frame)[0].box, box) > 0.5


def test_real_night_frame_with_a_blue_lit_bumper(ccpd_frame):
    """The loose blue range swallows this whole frame; the strict one and the text cue find the plate."""
    frame, box = ccpd_frame("皖A5P237")
    assert iou(find_candidates(frame)[0].box, box) > 0.5


def test_real_sunlit_new_energy_plate_on_a_silver_car(ccpd_frame):
    """The sun bleaches the plate's green to white, the colour of the car: its text line finds it."""
    frame, box = ccpd_frame("皖AD11166")
    assert iou(find_candidates(frame)[0].box, box) > 0.5


def test_recuts_move_across_the_plate_and_back():
    """A recut half a plate across, recut again, gives back the candidate's own cut."""
    frame, box = render.render_frame("琼A12345", "blue", np.random.default_rng(11))
    cand = find_candidates(frame)[0]
    recuts = recut(frame, cand)
    assert len(recuts) == len(RECUTS) and all(r.color == cand.color for r in recuts)
    shifted = recuts[RECUTS.index((0.5, 1.0, 1.0))]
    assert iou(shifted.box, box) < 0.6 < iou(cand.box, box)
    back = recut(frame, shifted)[RECUTS.index((-0.5, 1.0, 1.0))]
    assert iou(back.box, cand.box) > 0.95 and back.crop.shape == cand.crop.shape
