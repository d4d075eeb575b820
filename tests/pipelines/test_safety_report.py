"""Incidents and outcomes through the whole pipeline, then the weekly report, seen in a browser."""
import json
import math
import re
import shutil
import subprocess
from datetime import datetime

import cv2
import numpy as np
import pytest

from geo import maps
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
    assert images == ["incidents map", "hits map", "dispatch map", "coverage at 10:00", "coverage at 2:00",
                      "plans map"]
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


MONTH = ("month", "2026-11")  # the one month of the history with a year before it


def _section(page: str, heading: str) -> str:
    """The HTML from the <h2> or <h3> that starts with `heading` to the next heading."""
    start = re.search(rf"<h[23]>{re.escape(heading)}", page)
    assert start, heading
    end = re.search(r"<h[23]>", page[start.end():])
    return page[start.end():start.end() + end.start()] if end else page[start.end():]


def _rows(section: str) -> list[list[str]]:
    """Each body row of the section's first table as the text of its cells."""
    rows = re.findall(r"<tr>(.*?)</tr>", section)
    return [[re.sub(r"<[^>]+>", "", cell) for cell in re.findall(r"<td[^>]*>(.*?)</td>", row)]
            for row in rows if "<td" in row]


def _whole_per_cent(part: float, whole: float) -> int:
    """Half away from zero, as the report rounds."""
    return int(math.copysign(math.floor(abs(100 * part / whole) + 0.5), part / whole))


@pytest.fixture(scope="module")
def month_report(output, world_folder, tmp_path_factory):
    path = tmp_path_factory.mktemp("report") / "month.html"
    assert write_report(output, path, world_folder, *MONTH) == MONTH
    return path.read_text(encoding="utf-8")


def test_every_percentage_is_a_whole_per_cent_rounded_once_from_the_counts(report, output):
    page = report[0].read_text(encoding="utf-8")
    headline = _section(page, "Headline")
    columns = re.findall(r"<th>(.*?)</th>", headline)
    city = _rows(headline)[0]
    interceptions, resolved, within, arrivals = connect(output).execute(
        """SELECT interceptions, resolved, arrivals_within_target, arrivals FROM safety_metrics
           WHERE period = 'custom' AND label = ? AND dimension = 'all'""", [CUSTOM]).fetchone()
    assert city[columns.index("intercepted %")] == str(_whole_per_cent(interceptions, resolved))
    assert city[columns.index("on target %")] == str(_whole_per_cent(within, arrivals))
    per_cents = re.findall(r"<th>[^<]*(?:%|Δ pts)</th>", page)
    assert len(per_cents) > 10
    for table in re.findall(r"<table>.*?</table>", page):
        heads = re.findall(r"<th[^>]*>(.*?)</th>", table)
        for row in _rows(table):
            for head, cell in zip(heads, row):
                if head.endswith("%") or head.endswith("Δ pts"):
                    assert re.fullmatch(r"[+-]?\d+(few)?|–", cell), (head, cell)


def test_the_months_are_those_of_the_table_for_city_urban_and_rural(report, output):
    page = report[0].read_text(encoding="utf-8")
    rows = _rows(_section(page, "Month by month"))
    expected = connect(output).execute("""
        SELECT label, max(incidents) FILTER (key = 'all'), max(incidents) FILTER (key = 'urban'),
               max(incidents) FILTER (key = 'rural'), max(dispatches) FILTER (key = 'all')
        FROM safety_metrics WHERE period = 'month' AND label BETWEEN '2025-12' AND '2026-11'
          AND dimension IN ('all', 'area_type') GROUP BY label ORDER BY label""").fetchall()
    assert len(rows) == len(expected) == 12
    assert [(r[0], *(int(c.replace(",", "")) for c in r[1:4]), int(r[7].replace(",", ""))) for r in rows] == expected


def test_each_town_has_its_row_with_the_tables_counts(report, output):
    page = report[0].read_text(encoding="utf-8")
    rows = _rows(_section(page, "Towns"))
    expected = connect(output).execute("""
        SELECT key, incidents, accidents FROM safety_metrics
        WHERE period = 'custom' AND label = ? AND dimension = 'town'
        ORDER BY incidents + accidents DESC, key""", [CUSTOM]).fetchall()
    assert len(rows) == len(expected) == 12
    assert [(r[0], int(r[1].replace(",", "")), int(r[3].replace(",", ""))) for r in rows] == expected


def test_arrival_and_interception_are_set_against_a_year_earlier(month_report, output):
    headline = _section(month_report, "Headline")
    columns = re.findall(r"<th>(.*?)</th>", headline)
    city = _rows(headline)[0]
    now, ago = connect(output).execute("""
        SELECT interceptions, resolved, arrive_p50_s, arrive_p50_s_year_ago FROM safety_metrics
        WHERE period = 'month' AND label IN ('2026-11', '2025-11') AND dimension = 'all'
        ORDER BY label DESC""").fetchall()
    points = _whole_per_cent(now[0] * ago[1] - ago[0] * now[1], now[1] * ago[1])
    assert city[columns.index("intercepted Δ pts")] == f"{points:+}"
    assert city[columns.index("arrive p50 Δ min")] == f"{round((now[2] - now[3]) / 60, 1):+}"
    assert now[3] == ago[2] is not None


def test_few_dispatches_are_marked_and_take_no_league_position(month_report, output):
    rows = _rows(_section(month_report, "二级路长"))
    few = dict(connect(output).execute("""
        SELECT key, dispatches < 20 FROM safety_metrics
        WHERE period = 'month' AND label = '2026-11' AND key LIKE 'RC-L2-%'""").fetchall())
    assert sorted(row[2] for row in rows) == sorted(few)
    marked = [row for row in rows if row[5].endswith("few")]
    assert {row[2] for row in marked} == {key for key, is_few in few.items() if is_few} != set()
    assert [row[0] for row in marked] == ["–"] * len(marked)
    ranked = [row for row in rows if row not in marked]
    assert [row[0] for row in ranked] == [str(n) for n in range(1, len(ranked) + 1)] != []


def test_data_quality_counts_what_the_tables_lost(world_folder, output, tmp_path):
    page_path = tmp_path / "day.html"
    write_report(output, page_path, world_folder, "day", "2026-11-29")
    page = page_path.read_text(encoding="utf-8")
    con = connect(output)
    passings, unread, heard = con.execute("""
        SELECT count(*), count(*) FILTER (plate IS NULL), count(DISTINCT camera_id) FROM passings""").fetchone()
    cameras = len(world_at(world_folder).cameras)
    assert (f"Passings in the period: {passings:,}, of which unread plates (a frame the plate model could "
            f"not read): {unread:,}") in page
    assert f"silent in the period: {cameras - heard:,}" in page and f"<h3>Silent cameras ({cameras - heard:,})" in page
    by_stage = {(r[0], r[1]): int(r[2]) for r in _rows(_section(page, "Dead letters by input and stage"))}
    expected: dict = {}
    for source, stage in con.execute("SELECT source, stage FROM dead_letters").fetchall():
        key = (re.sub(r":\d+$", "", source.rsplit("/", 1)[-1]), stage)
        expected[key] = expected.get(key, 0) + 1
    assert by_stage == expected != {}


def test_every_map_covers_the_reports_period(output, world_folder, tmp_path, monkeypatch):
    drawn = []
    for name in ("segments_by", "dispatch_points", "responder_coverage"):
        monkeypatch.setattr(maps, name, lambda *args, name=name, **kwargs: drawn.append((name, args)) or b"")
    write_report(output, tmp_path / "r.html", world_folder)
    incidents, hits, dispatches = connect(output).execute("""
        SELECT sum(incidents + accidents) FILTER (dimension = 'segment' AND key <> 'unplaced'),
               sum(hits) FILTER (dimension = 'segment' AND key <> 'unplaced'),
               sum(dispatches) FILTER (dimension = 'all')
        FROM safety_metrics WHERE period = 'custom' AND label = ?""", [CUSTOM]).fetchone()
    (_, incidents_map), (_, hits_map), (_, dispatch_map), *coverage = drawn
    assert incidents_map[1].sum() == incidents > 0 and CUSTOM in incidents_map[2]
    assert hits_map[1].sum() == hits and CUSTOM in hits_map[2]
    assert len(dispatch_map[1]) == dispatches and CUSTOM in dispatch_map[2]
    assert [args[1].date().isoformat() for _, args in coverage] == ["2026-11-28", "2026-11-28"]


def test_the_maps_number_the_towns_busiest_first(report, world_folder):
    page = report[0].read_text(encoding="utf-8")
    world = world_at(world_folder)
    numbered = maps.towns(world)
    assert numbered[0] == "嘉积镇" and sorted(numbered) == sorted(world.roads["town"].unique())
    assert "Towns by number: " + " · ".join(f"{n} {town}" for n, town in enumerate(numbered, 1)) in page
