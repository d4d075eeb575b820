"""Interception plans on hand-made roads (tests/geo/small_world.py: 10 m/s unless said).

银海路 runs east from x = 0 to a junction J at x = 2000, and on to a dead end at
x = 3500 (the border); 东风路 leaves J northwards to a dead end at y = 1500. The
vehicle is seen at x = 100 and, 40 s later, at x = 500: it drives east at 10 m/s
and reaches J 150 s after its last sighting (two sightings give the direction
with odds of 0.85: DIRECTION_TRUST).
"""
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from geo.intercept import Interceptor, Sighting
from geo.responders import ResponderIndex
from tests.geo.small_world import camera, lonlat, responder, road, small_world

T = round(datetime(2026, 11, 29, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai")).timestamp() * 1e6)
ROADS = [road("W", (0, 0), (2000, 0)), road("E", (2000, 0), (3500, 0)),
         road("N", (2000, 0), (2000, 1500), name="东风路", speed_kmh=72)]
CAMERAS = [camera("SG-1", (2500, 8)), camera("BC-1", (3400, 8), layer="border_checkpoint", name="银海路出市卡口")]


def plan(responders, sightings=((100, 0), (500, 40)), k=3):
    world = small_world(ROADS, responders, CAMERAS)
    interceptor = Interceptor(world, ResponderIndex(world), margin_s=60)
    return interceptor.plan([Sighting(*lonlat(x, 0), T + round(s * 1e6)) for x, s in sightings], k)


def test_a_closer_responder_on_foot_loses_the_junction_to_a_farther_car():
    # At J 150 s after the sighting: on foot from 150 m up 东风路, 108 s + 60 s margin is too late;
    # the car 1,200 m up it (72 km/h road, the car's own 60 km/h) needs 72 s + 60 s.
    result = plan([responder("walker", (2000, 150), mode="foot"), responder("car", (2000, 1200), mode="car")], k=1)
    (stop,) = result.stops
    assert (stop.kind, stop.place, stop.from_direction) == ("intercept", "东风路/银海路", "west")
    assert [r.responder_id for r in stop.responders] == ["car"]
    assert stop.responders[0].eta_s == pytest.approx(72, abs=1)
    assert stop.vehicle_eta_s == pytest.approx(150, abs=1)
    assert stop.vehicle_at_us == T + 40_000_000 + round(stop.vehicle_eta_s * 1e6)
    assert stop.probability == 0.85 and result.chance == 0.85
    assert result.speed_kmh == pytest.approx(36, abs=0.5)


def test_the_vehicle_keeps_to_its_road_three_times_as_often_as_it_turns_off():
    # An e-bike 1,450 m up 东风路 (261 s) cannot reach J in time, but waits at its far end,
    # which only the turn leads to (the vehicle comes 150 s + 75 s later).
    result = plan([responder("ebike", (2000, 1450), mode="ebike")])
    (stop,) = [s for s in result.stops if s.kind == "intercept"]
    assert stop.probability == pytest.approx(0.85 * 0.25, abs=1e-3) and result.chance == stop.probability
    assert stop.from_direction == "south"


def test_a_vehicle_nobody_can_meet_is_handed_over_at_the_border_checkpoint():
    result = plan([])
    (stop,) = result.stops
    assert (stop.kind, stop.place, stop.responders) == ("handover", "银海路出市卡口", [])
    assert stop.probability == pytest.approx(0.85 * 0.75, abs=1e-3) and result.chance == 0.0
    assert stop.vehicle_eta_s == pytest.approx(290, abs=2)  # 2,900 m at 10 m/s
    assert stop.cameras == ["SG-1", "BC-1"]  # the street camera confirms it on the way


def test_a_single_sighting_plans_for_both_directions():
    # Seen once at x = 1900, either way at even odds. West, the car standing at x = 0 meets it
    # (190 s); east, nobody can, and three in four of those paths leave by the checkpoint.
    result = plan([responder("car", (0, 0), mode="car")], sightings=((1900, 0),))
    west, east = result.stops
    assert (west.kind, west.from_direction, west.probability) == ("intercept", "east", 0.5)
    assert west.vehicle_eta_s == pytest.approx(190, abs=1)
    assert (east.kind, east.from_direction, east.probability) == ("handover", "west", 0.375)
    assert result.chance == 0.5 and result.speed_kmh == pytest.approx(36, abs=0.5)


def test_the_ways_on_never_turn_back_and_their_odds_add_up_to_one():
    world = small_world(ROADS, [], CAMERAS)
    interceptor = Interceptor(world, ResponderIndex(world), margin_s=60)
    # Edge 0 is 银海路 eastwards into J; on: 银海路 east (edge 2) or 东风路 north (edge 4), not back (1).
    assert dict(interceptor.turns(0)) == {2: 0.75, 4: 0.25}
    assert interceptor.turns(1) == []  # 银海路 westwards from J to x = 0: a dead end
    assert interceptor.turns(0) is interceptor.turns(0)  # worked out once per edge
