"""Shared fixtures: one loaded reader per test module, and the real validation data
with a look-up of its CCPD frames."""
import csv
import os
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


@pytest.fixture(scope="module")
def reader():
    from models.plates.reader import PlateReader

    return PlateReader.load()


@pytest.fixture(scope="session")
def shared_data() -> Path:
    env = os.environ.get("ROADCHIEF_SHARED_DATA")
    root = Path(env) if env else Path(__file__).resolve().parents[2].parent / "shared" / "data"
    if not (root / "easypr_gdts_crops" / "labels.csv").exists():
        pytest.fail(f"real validation data not found under {root}: the shared/ folder belongs "
                    f"beside the repository, or set ROADCHIEF_SHARED_DATA")
    return root


@pytest.fixture(scope="session")
def ccpd_frame(shared_data: Path):
    """A function from a plate to its CCPD frame (BGR) and its labelled box (x1, y1, x2, y2)."""
    import cv2

    root = shared_data / "ccpd_samples"
    with open(root / "labels.csv", encoding="utf-8") as labels:
        rows = {row["plate"]: row for row in csv.DictReader(labels)}

    def frame(plate: str):
        row = rows[plate]
        xs = [int(row[k]) for k in ("rb_x", "lb_x", "lt_x", "rt_x")]
        ys = [int(row[k]) for k in ("rb_y", "lb_y", "lt_y", "rt_y")]
        return cv2.imread(str(root / "images" / row["file"])), (min(xs), min(ys), max(xs), max(ys))
    return frame
