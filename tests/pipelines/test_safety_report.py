"""Incidents and outcomes through the whole pipeline, then the weekly report, seen in a browser."""
import json
import re
import shutil
import subprocess
from datetime import datetime

import cv2
import numpy as np
import pytest

from geo.shared import world_at
from geo.synthetic.history import simulate_history
from pipelines.analysis.report import write_report
from pipelines.analysis.tables import connect
from pipelines.job.run import run
from tests.builders import simulated_events

pytestmark = pytest.mark.beam

START = datetime.fromisoformat("2026-11-29T08:00:00+08:00")
CUSTOM = "2025-12-01..2026-11-28"


@pytest.fixture(scope="module")
def output(tmp_path_factory, world_folder):
    folder = tmp_path_factory.mktemp("safety")
    events = simulated_events(folder, world_folder, seed=4, events=2000)
    simulate_history(world_at(world_folder), folder / "incidents.jsonl", folder / "outcomes.jsonl",
                     end=START, days=400, seed=4)
    out = folder / "tables"
    assert run(["--runner", "FnApiRunner", "--events", str(events), "--output", str(out),
                "--incidents", str(folder / "incidents.jsonl"), "--outcomes", str(folder / "outcomes.jsonl"),
                "--custom_period", CUSTOM], summary=False) == 0
    return out


def test_every_line_of_every_input_is_accounted_for(output):
    accounts = json.loads((output / "reconciliation.json").read_text())
    assert accounts["balanced"] and set(accounts["inputs"]) == {"events", "incidents", "outcomes"}
    assert accounts["inputs"]["outcomes"]["dead_letters"].get("outcome_follow", 0) > 0  # repeated reports


def test_the_city_figures_agree_with_the_raw_rows(output):
    con = connect(output)
    metric = con.execute("""SELECT incidents, accidents, deaths, injuries, dispatches, interceptions
                            FROM safety_metrics WHERE period = 'custom' AND label = ? AND dimension = 'all'""",
                         [CUSTOM]).fetchone()
    raw = con.execute("""
        WITH i AS (SELECT * FROM incidents WHERE (reported_at AT TIME ZONE 'Asia/Shanghai')::DATE
                                               BETWEEN DATE '2025-12-01' AND DATE '2026-11-28'),
             r AS (SELECT * FROM responses WHERE (dispatched_at AT TIME ZONE 'Asia/Shanghai')::DATE
                                               BETWEEN DATE '2025-12-01' AND DATE '2026-11-28')
        SELECT (SELECT count(*) FILTER (kind = 'public_order') FROM i),
               (SELECT count(*) FILTER (kind = 'traffic_accident') FROM i),
               (SELECT sum(deaths) FROM i), (SELECT sum(injuries) FROM i),
               (SELECT count(*) FROM r), (SELECT count(*) FILTER (result = 'intercepted') FROM r)""").fetchone()
    assert metric == raw and metric[0] > 1000


def test_the_towns_add_up_to_the_city(output):
    con = connect(output)
    city, towns = con.execute("""
        SELECT sum(incidents) FILTER (dimension = 'all'), sum(incidents) FILTER (dimension = 'town')
        FROM safety_metrics WHERE period = 'month' AND label = '2026-10'""").fetchone()
    assert city == towns > 0


def test_this_runs_dispatches_are_followed_and_still_open(output):
    con = connect(output)
    made, open_ = con.execute("""SELECT count(*), count(*) FILTER (result IS NULL)
                                 FROM responses WHERE made_by_run""").fetchone()
    (dispatches,) = con.execute("SELECT count(*) FROM dispatches").fetchone()
    assert made == dispatches == open_ > 0


@pytest.fixture(scope="module")
def written(output, world_folder, tmp_path_factory):
    """The report's file, its period and the steps it told its progress line."""
    path = tmp_path_factory.mktemp("report") / "weekly.html"
    steps: list[str] = []
    period = write_report(output, path, world_folder, progress=steps.append)
    return path, period, steps


@pytest.fixture(scope="module")
def report(written):
    path, period, _ = written
    return path, period


def test_the_report_tells_its_steps_as_they_begin(written):
    assert written[2] == ["reading the tables", "loading the world", "league tables", "drawing the maps"]


def test_the_report_is_one_self_contained_page(report):
    path, period = report
    assert period == ("custom", CUSTOM)
    page = path.read_text(encoding="utf-8")
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", page)
    images = re.findall(r'<img alt="([^"]+)" src="data:image/png;base64,', page)
    assert images == ["incidents map", "hits map", "dispatch map", "coverage at 10:00", "coverage at 2:00"]
    assert "whole city" in page and "urban (街面)" in page and "一级路长" in page


def test_the_report_renders_in_headless_chromium(report, tmp_path):
    browser = shutil.which("chromium")
    assert browser, "chromium is not installed: apt-get install chromium"
    path, _ = report
    shot = tmp_path / "report.png"
    subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                    "--window-size=1400,3600", f"--screenshot={shot}", path.as_uri()],
                   check=True, capture_output=True, timeout=120)
    image = cv2.imread(str(shot))
    assert image.shape == (3600, 1400, 3)
    ink = (image < 200).any(axis=2)
    assert ink[:400].mean() > 0.01  # headline tables near the top
    colour = np.ptp(image.astype(int), axis=2) > 60  # the maps' saturated reds and greens
    assert colour[1400:].mean() > 0.002
