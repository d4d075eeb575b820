"""SafetyMetrics against figures counted by hand on a small month.

November 2026 (local time): two public-order incidents, one accident (1 death,
2 injuries) plus 1 injury in a fight, one hit, four dispatches. November
2025: four public-order incidents, one on a segment quiet in 2026. The data
on incidents begin in October 2025; on hits and dispatches in November 2026.
"""
import pickle
from datetime import date, datetime

import apache_beam as beam
import pytest
from apache_beam.testing.test_pipeline import TestPipeline

from geo.shared import chain_at, world_at
from models.records import Incident, Response
from tests.builders import hit
from transforms.measure.safety_metrics import SafetyMetrics

pytestmark = pytest.mark.beam

URBAN, RURAL, QUIET = "JJ-0001", "WQ-0001", "JJ-0002"


def at(day: str, hour: int = 10) -> int:
    return round(datetime.fromisoformat(f"{day}T{hour:02d}:00:00+08:00").timestamp() * 1_000_000)


@pytest.fixture(scope="module")
def roads(world_folder):
    return world_at(world_folder).roads


def incident(roads, n, day, segment, kind="public_order", deaths=0, injuries=0) -> Incident:
    road = roads.loc[segment]
    return Incident(f"incidents.jsonl:{n}", f"INC-{n}", kind, None, at(day), 110.45, 19.23, deaths, injuries,
                    segment, road.road_name, road.town, road.area_type)


def response(roads, name, day, segment, acknowledge, arrive, resolve, result) -> Response:
    road = roads.loc[segment]
    return Response(name, at(day), result is None, None, segment, road.road_name, road.town, road.area_type,
                    110.45, 19.23, acknowledge, arrive, resolve, result)


@pytest.fixture(scope="module")
def rows(roads, world_folder, tmp_path_factory):
    incidents = [incident(roads, 1, "2025-10-15", URBAN),
                 incident(roads, 2, "2025-11-05", URBAN), incident(roads, 3, "2025-11-05", URBAN),
                 incident(roads, 4, "2025-11-07", QUIET), incident(roads, 5, "2025-11-20", RURAL),
                 incident(roads, 6, "2026-11-02", URBAN, injuries=1),
                 incident(roads, 7, "2026-11-03", URBAN, kind="traffic_accident", deaths=1, injuries=2),
                 incident(roads, 8, "2026-11-10", RURAL)]
    responses = [response(roads, "D-1", "2026-11-02", URBAN, 30.0, 120.0, 600.0, "intercepted"),
                 response(roads, "D-2", "2026-11-04", URBAN, 60.0, 240.0, 900.0, "not_found"),
                 response(roads, "D-3", "2026-11-06", RURAL, 40.0, 500.0, 1000.0, "intercepted"),
                 response(roads, "D-4", "2026-11-08", URBAN, None, None, None, None)]
    road = roads.loc[URBAN]
    hits = [hit("e1", 0)._replace(captured_at_us=at("2026-11-02"), segment_id=URBAN, town=road.town,
                                  area_type=road.area_type)]
    out = tmp_path_factory.mktemp("safety") / "rows.pickle"
    with TestPipeline(runner="FnApiRunner") as p:
        inputs = tuple(p | f"In{i}" >> beam.Create(items) for i, items in enumerate((incidents, hits, responses)))
        metrics = inputs | SafetyMetrics(world_folder, custom=((date(2026, 11, 1), date(2026, 11, 15)),),
                                         targets={"urban": 180.0, "rural": 600.0})
        _ = metrics | beam.combiners.ToList() | beam.Map(lambda found: out.write_bytes(pickle.dumps(found)))
    return {(m.period, m.label, m.dimension, m.key): m for m in pickle.loads(out.read_bytes())}


def test_the_city_month_matches_a_hand_count(rows):
    month = rows[("month", "2026-11", "all", "all")]
    assert (month.incidents, month.accidents, month.deaths, month.injuries, month.hits) == (2, 1, 1, 3, 1)
    assert (month.dispatches, month.resolved, month.interceptions, month.false_hits) == (4, 3, 2, 0)
    assert month.interception_rate == pytest.approx(2 / 3, abs=1e-4)
    # Linear interpolation between ordered times: p90 of [30, 40, 60] is 40 + 0.8 × 20.
    assert (month.acknowledge_p50_s, month.acknowledge_p90_s) == (40.0, 56.0)
    assert (month.arrive_p50_s, month.arrive_p90_s) == (240.0, 448.0)
    assert (month.resolve_p50_s, month.resolve_p90_s) == (900.0, 980.0)
    # On target: 120 s urban (yes), 240 s urban (no), 500 s rural (yes, 600 s target).
    assert (month.arrivals, month.arrivals_within_target) == (3, 2)


def test_a_year_earlier_is_compared_where_the_data_reach_and_null_where_they_do_not(rows):
    month = rows[("month", "2026-11", "all", "all")]
    assert (month.incidents_year_ago, month.incidents_change_pct) == (4, -50.0)
    assert (month.accidents_year_ago, month.accidents_change_pct) == (0, None)
    assert month.hits_year_ago is None and month.dispatches_year_ago is None
    assert month.arrive_p50_s_year_ago is None
    assert rows[("month", "2025-11", "all", "all")].incidents_year_ago is None  # before October 2025: no data


def test_a_segment_that_went_quiet_gets_a_row_of_zeros_against_last_year(rows):
    quiet = rows[("month", "2026-11", "segment", QUIET)]
    assert (quiet.incidents, quiet.incidents_year_ago, quiet.incidents_change_pct) == (0, 1, -100.0)
    assert not any(key[1].startswith("2027") for key in rows)  # nothing after the data end


def test_every_chief_in_a_segments_chain_answers_for_it(rows, world_folder):
    urban_chain = [c.chief_id for c in chain_at(world_folder)[URBAN]]
    for chief in urban_chain:
        row = rows[("month", "2026-11", "chief", chief)]
        assert row.dispatches >= 3 and row.incidents >= 1
    manager = rows[("month", "2026-11", "chief", urban_chain[0])]
    assert (manager.incidents, manager.accidents, manager.dispatches, manager.interceptions) == (1, 1, 3, 1)
    assert manager.name.startswith("路管员 ")
    general = rows[("month", "2026-11", "chief", urban_chain[-1])]
    assert (general.incidents, general.dispatches) == (2, 4)  # 总路长 answers for every road


def test_areas_days_and_custom_ranges(rows):
    rural = rows[("month", "2026-11", "area_type", "rural")]
    assert (rural.incidents, rural.incidents_year_ago, rural.dispatches, rural.within_target_share) == (1, 1, 1, 1.0)
    day = rows[("day", "2026-11-02", "all", "all")]
    assert (day.incidents, day.hits, day.dispatches, day.arrive_p50_s) == (1, 1, 1, 120.0)
    custom = rows[("custom", "2026-11-01..2026-11-15", "all", "all")]
    assert (custom.incidents, custom.incidents_year_ago, custom.incidents_change_pct) == (2, 3, -33.3)
    assert ("custom", "2025-11-01..2025-11-15", "all", "all") in rows
