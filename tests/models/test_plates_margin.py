"""A crop with a wide margin is cut again at its plate; a crop cut at the plate is left as it is."""
import cv2
import numpy as np
import pytest

from models.plates.locate import PLATE_HSV, plate_color
from models.plates.margin import _plate_box, cut_to_plate
from models.plates.reader import to_read
from models.plates.training import render
from models.plates.training.real import FAR_CAMERA_SIZE

PLATES = (("琼A12345", "blue"), ("琼B6789学", "yellow"), ("琼AD12345", "green"))


def in_margin(plate: np.ndarray, left: int, top: int, right: int, bottom: int) -> np.ndarray:
    """``plate`` on a dark grey car body, with that many pixels of it on each side."""
    h, w = plate.shape[:2]
    crop = np.full((top + h + bottom, left + w + right, 3), 60, np.uint8)
    crop[top : top + h, left : left + w] = plate
    return crop


def far_in_margin(frame: np.ndarray, box: tuple[int, int, int, int], margin: float) -> np.ndarray:
    """A frame's plate cut at its box widened by ``margin`` of it on every side, at a far camera's size."""
    x1, y1, x2, y2 = box
    mx, my = round(margin * (x2 - x1)), round(margin * (y2 - y1))
    return cv2.resize(frame[y1 - my : y2 + my, x1 - mx : x2 + mx], FAR_CAMERA_SIZE, interpolation=cv2.INTER_AREA)


@pytest.mark.parametrize("text, color", PLATES)
def test_a_coloured_plate_in_a_wide_margin_is_cut_at_the_plate(text, color):
    plate = render.render_plate(text, color, np.random.default_rng(3))
    h, w = plate.shape[:2]
    crop = in_margin(plate, w // 6, h // 2, w // 10, h // 3)
    assert plate_color(crop) == color
    cut = cut_to_plate(crop, color)
    assert cut is not None
    assert abs(cut.shape[1] - w) <= 0.03 * w
    # a new-energy plate's pale top may be left out: the reader's training crops cut into it too
    assert 0.8 * h <= cut.shape[0] <= 1.06 * h


# a new-energy plate's top fades to white: cut at the plate, it may be cut again at
# its green, as the reader's training crops cut into a plate's top too
@pytest.mark.parametrize("text, color", PLATES[:2])
def test_a_crop_cut_at_the_plate_is_left_as_it_is(text, color):
    plate = render.render_plate(text, color, np.random.default_rng(3))
    assert cut_to_plate(plate, color) is None
    assert cut_to_plate(in_margin(plate, 2, 1, 2, 1), color) is None


def test_no_cut_without_a_plate_coloured_blob_shaped_like_a_plate():
    white = render.render_plate("琼A1234警", "white", np.random.default_rng(3))
    assert cut_to_plate(in_margin(white, 40, 30, 40, 30), "white") is None
    blue = np.full((60, 200, 3), 60, np.uint8)
    blue[20:40, 90:110] = (200, 80, 20)  # a square patch of blue, not a plate
    assert cut_to_plate(blue, "blue") is None
    assert cut_to_plate(np.full((24, 94, 3), 60, np.uint8), "blue") is None


@pytest.mark.model
@pytest.mark.parametrize("plate, misread", (("皖A0N718", "琼"), ("皖A158Y2", "粤")))
def test_a_real_plate_in_a_wide_margin_is_read_with_its_own_province(reader, ccpd_frame, plate, misread):
    """Cut at its box widened by a tenth on every side and shrunk to a far camera's 94x24,
    the plate's province is read as another; cut again at the plate, it is read right."""
    crop = far_in_margin(*ccpd_frame(plate), 0.1)
    (as_it_is,) = [to_read(d) for d in reader.decode([crop], repair=True)]
    (read,) = reader.read_crops([crop])
    assert as_it_is.plate == misread + plate[1:]
    assert read.plate == plate and read.confidence > 0.9


def test_a_blue_plate_joined_to_a_bluish_car_is_cut_under_the_strict_blue(ccpd_frame):
    crop = far_in_margin(*ccpd_frame("皖A5P237"), 0.2)
    loose = cv2.inRange(cv2.cvtColor(crop, cv2.COLOR_BGR2HSV), *PLATE_HSV["blue"][0])
    assert _plate_box(loose) is None  # the loose blue's blob runs over the whole crop
    cut = cut_to_plate(crop, "blue")
    assert cut is not None
    assert cut.shape[1] <= 0.8 * FAR_CAMERA_SIZE[0] and cut.shape[1] / cut.shape[0] >= 2.5
