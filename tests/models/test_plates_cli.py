"""``roadchief recognize`` prints one JSON line per file and survives bad files."""
import json
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from models.plates.cli import main
from models.plates.training import render

pytestmark = pytest.mark.model


def test_recognize_good_and_bad_files(tmp_path, capsys):
    crop = render.render_plate("琼A12345", "blue", np.random.default_rng(4))
    cv2.imwrite(str(tmp_path / "plate.png"), crop)
    (tmp_path / "empty.jpg").write_bytes(b"")
    (tmp_path / "text.jpg").write_text("hello")
    os.mkfifo(tmp_path / "fifo.jpg")  # would wait for a writer for ever if opened blocking
    files = [str(tmp_path / n) for n in ("plate.png", "empty.jpg", "text.jpg", "missing.jpg", "fifo.jpg")]
    assert main(files + ["--kind", "plate"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["file"] for r in rows] == files
    assert set(rows[0]) >= {"file", "plate", "confidence", "char_confidences", "box", "color"}
    assert rows[0]["color"] == "blue" and rows[0]["plate"] == "琼A12345"
    for r in rows[1:]:
        assert r["plate"] is None and r["reason"]
    assert "a FIFO" in rows[-1]["reason"]


def test_recognize_reports_a_missing_model(tmp_path, capsys):
    assert main([str(tmp_path / "x.png"), "--model", str(tmp_path / "none.keras")]) == 2
    assert "not found" in capsys.readouterr().err


class Recorded:
    """The steps and counts a command reports, as roadchief's progress line would show them."""

    def __init__(self):
        self.steps, self.advanced = [], {}

    def step(self, description, total=None, unit=""):
        self.steps.append((description, total, unit))

    def advance(self, units=1):
        self.advanced[self.steps[-1][0]] = self.advanced.get(self.steps[-1][0], 0) + units


def test_recognize_reports_its_steps_and_the_files_done(tmp_path, capsys):
    crop = render.render_plate("琼A12345", "blue", np.random.default_rng(4))
    cv2.imwrite(str(tmp_path / "plate.png"), crop)
    files = [str(tmp_path / "plate.png"), str(tmp_path / "missing.jpg")]
    progress = Recorded()
    assert main(files, progress) == 0
    assert progress.steps == [("loading the plate model", None, ""), ("decoding images", 2, "files"),
                              ("reading plates", 1, "images")]
    assert progress.advanced == {"decoding images": 2, "reading plates": 1}
    assert len(capsys.readouterr().out.splitlines()) == 2


def test_recognize_keeps_tensorflows_start_up_banner_from_the_user(tmp_path):
    crop = render.render_plate("琼A12345", "blue", np.random.default_rng(4))
    cv2.imwrite(str(tmp_path / "plate.png"), crop)
    env = {name: value for name, value in os.environ.items() if name != "TF_CPP_MIN_LOG_LEVEL"}
    done = subprocess.run([sys.executable, "-m", "pipelines.cli", "recognize", str(tmp_path / "plate.png")],
                          capture_output=True, text=True, env=env, cwd=Path(__file__).resolve().parents[2])
    assert done.returncode == 0 and json.loads(done.stdout)["plate"] == "琼A12345"
    assert done.stderr == ""


def test_recognize_with_a_region_keeps_a_confident_visitor(tmp_path, capsys):
    crop = render.render_plate("粤B12345", "blue", np.random.default_rng(4))
    cv2.imwrite(str(tmp_path / "plate.png"), crop)
    assert main([str(tmp_path / "plate.png"), "--kind", "plate", "--region", "琼"]) == 0
    assert json.loads(capsys.readouterr().out)["plate"] == "粤B12345"


def test_recognize_refuses_a_region_that_is_not_a_province(tmp_path, capsys):
    assert main([str(tmp_path / "plate.png"), "--region", "Hainan"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "province" in err
