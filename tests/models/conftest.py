"""Shared fixtures: one loaded reader per test module, and the real validation data."""
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


def ccpd_frame(shared_data: Path, plate: str):
    """The CCPD frame of ``plate`` (BGR) and its labelled box (x1, y1, x2, y2)."""
    import cv2

    root = shared_data / "ccpd_samples"
    row = next(r for r in csv.DictReader(open(root / "labels.csv", encoding="utf-8")) if r["plate"] == plate)
    xs = [int(row[k]) for k in ("rb_x", "lb_x", "lt_x", "rt_x")]
    ys = [int(row[k]) for k in ("rb_y", "lb_y", "lt_y", "rt_y")]
    return cv2.imread(str(root / "images" / row["file"])), (min(xs), min(ys), max(xs), max(ys))
