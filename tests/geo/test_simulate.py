"""The traffic simulator: exact line counts, determinism, the event contract, faults."""

import csv
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import geopandas
import pytest

from geo.synthetic.simulate import simulate
from geo.world import load_world
from models.plate_rules import CONFUSABLE

SHIPPED = Path(__file__).resolve().parents[2] / "geo" / "data" / "qionghai"
START = datetime(2026, 11, 29, 8, 0, tzinfo=timezone(timedelta(hours=8)))
FAULTY = {"ocr_error_rate": 0.05, "missing_read_rate": 0.04, "duplicate_rate": 0.03,
          "malformed_rate": 0.02}
COLOURS = {"blue", "yellow", "green", "white", "black"}


@pytest.fixture(scope="module")
def world():
    return load_world(SHIPPED)


def run(world, folder: Path, name="events.jsonl", **options):
    options = {"events": 2000, "start": START, "duration_s": 3600, "seed": 3, **options}
    out = folder / name
    summary = simulate(world, out, **options)
    lines = out.read_text(encoding="utf-8").splitlines()
    with open(f"{out}.truth.csv", encoding="utf-8", newline="") as f:
        truth = list(csv.DictReader(f))
    return summary, lines, truth


@pytest.fixture(scope="module")
def faulty(world, tmp_path_factory):
    """5,000 lines with every fault common enough to count, and images for missing reads."""
    folder = tmp_path_factory.mktemp("faulty")

    def image_writer(plate, colour, path):
        path.write_bytes(f"{plate} {colour}".encode())

    return (folder, *run(world, folder, events=5000, image_writer=image_writer, **FAULTY))


def check_contract(event: dict, cameras) -> None:
    """The input contract of shared/DESIGN.md, for a line meant to be good."""
    assert isinstance(event["event_id"], str) and event["event_id"]
    assert event["camera_id"] in cameras.index
    captured = datetime.fromisoformat(event["captured_at"])
    assert captured.utcoffset() == timedelta(hours=8)
    assert len(event["captured_at"].split(".")[1]) == len("123+08:00")
    assert "plate" in event or "image" in event
    if "plate" in event:
        assert isinstance(event["plate"], str) and 0 <= event["plate_confidence"] <= 1
    assert event["plate_color"] in COLOURS
    for field in ("heading_deg", "speed_kmh", "lane"):
        assert isinstance(event[field], (int, float)) and not isinstance(event[field], bool)
    mobile = cameras.loc[event["camera_id"], "defence_layer"] == "mobile"
    assert mobile == ("lon" in event) == ("lat" in event)


def test_writes_exactly_the_events_asked_for(world, tmp_path):
    for events in (0, 10, 2000):
        summary, lines, truth = run(world, tmp_path, events=events)
        assert summary.lines == len(lines) == len(truth) == events
        assert summary.ok + summary.ocr_errors + summary.missing + summary.duplicates \
            + summary.malformed == events


def test_same_seed_same_bytes_other_seed_other_bytes(world, tmp_path):
    run(world, tmp_path, "a.jsonl")
    run(world, tmp_path, "b.jsonl")
    run(world, tmp_path, "c.jsonl", seed=4)
    for suffix in ("", ".truth.csv"):
        a, b, c = ((tmp_path / f"{n}.jsonl{suffix}").read_bytes() for n in "abc")
        assert a == b != c


def test_good_lines_keep_the_contract_in_time_order(world, faulty):
    _, summary, lines, truth = faulty
    latest = START + timedelta(seconds=3600 + summary.max_trip_s)
    previous = START
    ids = set()
    for line, row in zip(lines, truth):
        if row["kind"] == "malformed":
            continue
        event = json.loads(line)
        check_contract(event, world.cameras)
        assert event["event_id"] == row["event_id"]
        captured = datetime.fromisoformat(event["captured_at"])
        assert START <= captured <= latest
        if row["kind"] == "duplicate":
            assert event["event_id"] in ids
        else:
            assert event["event_id"] not in ids and captured >= previous
            ids.add(event["event_id"])
            previous = captured


def test_fault_rates_are_roughly_honoured(faulty):
    _, summary, lines, truth = faulty
    kinds = [row["kind"] for row in truth]
    n = len(lines)
    assert kinds.count("ocr_error") == summary.ocr_errors
    for kind, rate in (("ocr_error", 0.05), ("missing", 0.04), ("duplicate", 0.03),
                       ("malformed", 0.02)):
        assert 0.6 * rate * n <= kinds.count(kind) <= 1.4 * rate * n, kind


def test_misreads_swap_confusable_characters_only(faulty):
    _, _, lines, truth = faulty
    misreads = [(json.loads(line)["plate"], row["true_plate"])
                for line, row in zip(lines, truth) if row["kind"] == "ocr_error"]
    assert misreads
    for read, true in misreads:
        swaps = [(t, r) for t, r in zip(true, read) if t != r]
        assert len(read) == len(true) and 1 <= len(swaps) <= 2
        assert all(r in CONFUSABLE[t] for t, r in swaps)


def test_missing_reads_carry_an_image_of_the_true_plate(faulty):
    folder, _, lines, truth = faulty
    for line, row in zip(lines, truth):
        if row["kind"] == "missing":
            event = json.loads(line)
            assert "plate" not in event and event["image_kind"] == "frame"
            image = (folder / event["image"]).read_bytes().decode()
            assert image == f"{row['true_plate']} {event['plate_color']}"


def test_missing_reads_without_a_writer_have_neither_plate_nor_image(world, tmp_path):
    _, lines, truth = run(world, tmp_path, missing_read_rate=0.2)
    missing = [json.loads(line) for line, row in zip(lines, truth) if row["kind"] == "missing"]
    assert missing and all("plate" not in e and "image" not in e for e in missing)


def test_malformed_lines_break_the_contract(world, faulty):
    _, _, lines, truth = faulty
    for line, row in zip(lines, truth):
        if row["kind"] == "malformed":
            with pytest.raises((ValueError, KeyError, AssertionError, TypeError)):
                event = json.loads(line)
                check_contract(event, world.cameras)
                assert datetime.fromisoformat(event["captured_at"]).year < 2099


def test_mobile_sightings_lie_near_a_road(world, faulty):
    _, _, lines, truth = faulty
    events = [json.loads(line) for line, row in zip(lines, truth) if row["kind"] != "malformed"]
    mobile = [e for e in events if "lon" in e]
    assert mobile
    points = geopandas.GeoDataFrame(
        geometry=geopandas.points_from_xy([e["lon"] for e in mobile], [e["lat"] for e in mobile]),
        crs="EPSG:4326").to_crs(world.metric_crs)
    near = geopandas.sjoin_nearest(points, world.roads[["geometry"]].to_crs(world.metric_crs),
                                   distance_col="metres")
    assert near["metres"].max() <= 30


def test_watchlisted_vehicles_carry_watchlist_plates(world, tmp_path):
    summary, _, truth = run(world, tmp_path, watchlisted_share=0.2)
    with open(world.watchlist_path, encoding="utf-8", newline="") as f:
        listed = {row["plate"] for row in csv.DictReader(f)}
    flagged = [row for row in truth if row["watchlisted"] == "1"]
    assert all(row["true_plate"] in listed for row in flagged)
    assert all(row["true_plate"] not in listed for row in truth if row["watchlisted"] == "0")
    assert 0.1 <= len(flagged) / len(truth) <= 0.3


def test_pending_sightings_follow_the_traffic_not_the_file(world, tmp_path):
    """Ten times the events at the same traffic density: the heap does not grow."""
    small, _, _ = run(world, tmp_path, "small.jsonl", events=2000, duration_s=1800)
    large, _, _ = run(world, tmp_path, "large.jsonl", events=20000, duration_s=18000)
    assert large.max_pending < 2 * small.max_pending
    assert large.max_pending < large.lines / 5


def test_progress_hears_the_lines_written_as_they_grow(world, tmp_path):
    heard = []
    simulate(world, tmp_path / "events.jsonl", events=2000, start=START, duration_s=3600, seed=3,
             progress=heard.append)
    assert len(heard) > 10 and heard == sorted(heard) and 0 < heard[-1] <= 2000
