"""The history simulator: determinism, the report contracts, consistent dispatches, year-on-year trends."""
import json
from collections import defaultdict
from datetime import datetime, timedelta, timezone

import pytest

from geo.shared import world_at
from geo.synthetic.history import HistoryRates, simulate_history
from models.records import EventLine
from transforms.ingest.fields import InvalidRecord
from transforms.ingest.parse_reports import RESULTS, parse_incident, parse_outcome

END = datetime(2026, 11, 29, 8, 0, tzinfo=timezone(timedelta(hours=8)))
FAR_FUTURE_US = 4_000_000_000_000_000


@pytest.fixture(scope="module")
def history(world_folder, tmp_path_factory):
    folder = tmp_path_factory.mktemp("history")
    summary = simulate_history(world_at(world_folder), folder / "i.jsonl", folder / "o.jsonl",
                               end=END, days=730, seed=11)
    return summary, folder / "i.jsonl", folder / "o.jsonl"


def parsed(path, parse):
    good, bad = [], 0
    for n, text in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        try:
            good.append(parse(EventLine(f"{path.name}:{n}", "", text)))
        except InvalidRecord:
            bad += 1
    return good, bad


def test_the_same_seed_writes_the_same_bytes(world_folder, tmp_path, history):
    _, incidents, outcomes = history
    simulate_history(world_at(world_folder), tmp_path / "i.jsonl", tmp_path / "o.jsonl", end=END, days=730, seed=11)
    assert (tmp_path / "i.jsonl").read_bytes() == incidents.read_bytes()
    assert (tmp_path / "o.jsonl").read_bytes() == outcomes.read_bytes()


def test_every_line_but_the_malformed_ones_keeps_the_contracts(history, world_folder):
    summary, incidents, outcomes = history
    good_incidents, bad_incidents = parsed(incidents, lambda line: parse_incident(line, FAR_FUTURE_US))
    roster = frozenset(world_at(world_folder).responders.index)
    good_outcomes, bad_outcomes = parsed(outcomes, lambda line: parse_outcome(line, FAR_FUTURE_US, roster))
    assert bad_incidents + bad_outcomes == summary.malformed > 0
    assert len(good_incidents) == summary.incidents + summary.accidents - bad_incidents
    assert all(i.reported_at_us < END.timestamp() * 1e6 for i in good_incidents)
    assert len(good_outcomes) + bad_outcomes == summary.outcome_lines


def test_each_dispatch_is_acknowledged_then_reached_then_resolved_once(history, world_folder):
    _, _, outcomes = history
    roster = frozenset(world_at(world_folder).responders.index)
    steps = defaultdict(dict)
    for report in parsed(outcomes, lambda line: parse_outcome(line, FAR_FUTURE_US, roster))[0]:
        steps[report.dispatch_id].setdefault(report.status, report.at_us)
    complete = [s for s in steps.values() if {"acknowledged", "on_scene"} <= set(s)]
    assert len(complete) > 0.9 * len(steps)
    for s in complete:
        results = [status for status in RESULTS if status in s]
        assert len(results) <= 1
        assert s["acknowledged"] <= s["on_scene"] <= (s[results[0]] if results else s["on_scene"])


def test_rates_fall_year_on_year_by_about_the_configured_factors(history):
    _, incidents, _ = history
    split = (END - timedelta(days=365)).isoformat()
    counts = defaultdict(int)
    for line in incidents.read_text(encoding="utf-8").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        counts[(record["kind"], record["reported_at"] >= split)] += 1
    rates = HistoryRates()
    expected_order = ((rates.urban_incidents * rates.urban_incidents_yoy
                       + rates.rural_incidents * rates.rural_incidents_yoy)
                      / (rates.urban_incidents + rates.rural_incidents))
    assert counts[("public_order", True)] / counts[("public_order", False)] == pytest.approx(expected_order, abs=0.05)
    assert counts[("traffic_accident", True)] / counts[("traffic_accident", False)] == pytest.approx(
        rates.accidents_yoy, abs=0.08)
