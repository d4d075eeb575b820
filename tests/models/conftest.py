"""Shared fixtures: one loaded reader per test module, and the real validation data."""
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
