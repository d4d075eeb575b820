"""Image-only events through the whole pipeline: the plate model reads the frames."""
import csv
import subprocess
import sys

import pytest

from pipelines.analysis.tables import connect
from pipelines.job.run import run

pytestmark = [pytest.mark.beam, pytest.mark.model]


@pytest.fixture(scope="module")
def replay(tmp_path_factory):
    folder = tmp_path_factory.mktemp("frames")
    events = folder / "events.jsonl"
    made = subprocess.run([sys.executable, "-m", "pipelines.cli", "simulate", "--out", str(events),
                           "--events", "400", "--seed", "21", "--missing-read-rate", "0.15",
                           "--images"], capture_output=True, text=True, timeout=300)
    assert made.returncode == 0, made.stderr
    assert run(["--events", str(events), "--output", str(folder / "out"), "--plain_plates"],
               summary=False) == 0
    truth = {row["event_id"]: row["true_plate"]
             for row in csv.DictReader(open(f"{events}.truth.csv", encoding="utf-8"))}
    return connect(folder / "out"), truth, folder


def test_every_frame_is_read_by_the_model_and_most_reads_are_right(replay):
    con, truth, _ = replay
    reads = con.execute("SELECT event_id, plate, plate_confidence FROM passings "
                        "WHERE plate_source = 'model'").fetchall()
    (frames,) = con.execute("SELECT count(*) FROM passings WHERE plate_source != 'camera'").fetchone()
    assert len(reads) >= 40 and len(reads) == frames
    right = sum(truth[event_id] == plate for event_id, plate, _ in reads)
    assert right / len(reads) >= 0.6
    assert all(0 < confidence <= 1 for _, _, confidence in reads)


def test_a_wrong_model_read_is_less_confident_than_a_right_one_on_average(replay):
    con, truth, _ = replay
    reads = con.execute("SELECT event_id, plate, plate_confidence FROM passings "
                        "WHERE plate_source = 'model'").fetchall()
    right = [c for e, p, c in reads if truth[e] == p]
    wrong = [c for e, p, c in reads if truth[e] != p]
    assert not wrong or sum(wrong) / len(wrong) < sum(right) / len(right)


def test_the_recognize_command_prints_one_json_object_per_file(replay, tmp_path):
    frame = sorted((replay[2] / "events_images").glob("*.jpg"))[0]
    done = subprocess.run([sys.executable, "-m", "pipelines.cli", "recognize", str(frame),
                           str(tmp_path / "missing.jpg")], capture_output=True, text=True, timeout=120)
    lines = done.stdout.strip().splitlines()
    assert done.returncode == 0 and len(lines) == 2
    assert '"plate": null' in lines[1] and "reason" in lines[1]
