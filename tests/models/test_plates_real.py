"""The real crops split into a training and a test half by plate, and training crops vary."""
import numpy as np
import pytest

from models.plates.rows import looks_double_row
from models.plates.training.real import is_test_plate, load_easypr, training_half, vary


def test_halves_split_by_plate_and_hold_about_half_of_the_crops(shared_data):
    images, plates, colors = load_easypr(shared_data)
    assert len(images) == len(plates) == len(colors) == 297
    test = [p for p in plates if is_test_plate(p)]
    assert 0.35 < len(test) / len(plates) < 0.65
    # every crop of a plate falls in the same half, so a twice-photographed car is never in both
    assert not set(test) & {p for p in plates if not is_test_plate(p)}
    # the shipped weights were fine-tuned on this split: changing the hash would test on trained-on crops
    assert len(test) == 137


def test_the_training_half_holds_no_test_plate(shared_data):
    crops, plates = training_half(shared_data)
    assert len(crops) == len(plates) > 100
    assert not any(is_test_plate(p) for p in plates)
    assert all(c is not None and c.ndim == 3 for c in crops)


def test_the_series_letter_o_is_read_as_a_letter_in_the_labels(shared_data):
    _, plates, _ = load_easypr(shared_data)
    assert not any(p[1] == "0" for p in plates)
    assert sum(p[1] == "O" for p in plates) == 3


def test_varied_crops_are_plate_shaped_seeded_and_differ_from_one_another(shared_data):
    crops, _ = training_half(shared_data)
    crop = crops[0]
    a = [vary(crop, np.random.default_rng(s)) for s in range(20)]
    b = [vary(crop, np.random.default_rng(s)) for s in range(20)]
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    for img in a:
        assert img.dtype == np.uint8 and img.shape[2] == 3
        assert 40 <= img.shape[1] <= 300 and 2.0 < img.shape[1] / img.shape[0] < 6.5
    assert len({img.shape for img in a}) > 5


def test_double_row_plates_in_the_training_half_come_as_one_row_and_others_as_they_are(shared_data):
    images, plates, _ = load_easypr(shared_data)
    crops, kept = training_half(shared_data)
    double, blue = kept.index("粤AB2893"), kept.index("粤A696L6")  # the blue one is merely cut tall
    assert looks_double_row(images[plates.index("粤AB2893")]) and not looks_double_row(crops[double])
    assert np.array_equal(crops[blue], images[plates.index("粤A696L6")])


def test_a_missing_crop_stops_the_load_instead_of_entering_training_as_none(tmp_path):
    folder = tmp_path / "easypr_gdts_crops"
    folder.mkdir()
    (folder / "labels.csv").write_text("crop,plate,color\ncrops/gone.png,粤AB2893,yellow\n", encoding="utf-8")
    with pytest.raises(FileNotFoundError, match="gone.png"):
        load_easypr(tmp_path)
