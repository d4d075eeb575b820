from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from geo.responders import ResponderIndex
from geo.shared import world_at
from tests.geo.small_world import lonlat, responder, road, small_world

ZONE = ZoneInfo("Asia/Shanghai")


def micros(text: str) -> int:
    return round(datetime.fromisoformat(text).replace(tzinfo=ZONE).timestamp() * 1e6)


@pytest.fixture(scope="module")
def world(world_folder):
    return world_at(world_folder)


@pytest.fixture(scope="module")
def index(world):
    return ResponderIndex(world)


def test_shifts_that_wrap_midnight_cover_the_night(world, index):
    night = world.responders.index.get_loc(
        world.responders.index[(world.responders.shift_start == "20:00")
                               & (world.responders.shift_end == "08:00")][0])
    assert index.on_duty(micros("2026-11-29T23:30:00"))[night]
    assert index.on_duty(micros("2026-11-30T07:59:00"))[night]
    assert not index.on_duty(micros("2026-11-30T12:00:00"))[night]


def test_nearest_are_on_duty_ranked_by_network_eta(world, index):
    at = micros("2026-11-29T09:00:00")
    chosen = index.nearest(110.466, 19.245, at, 3)
    assert len(chosen) == 3
    assert [r.eta_s for r in chosen] == sorted(r.eta_s for r in chosen)
    on_duty = set(world.responders.index[index.on_duty(at)])
    for r in chosen:
        assert r.responder_id in on_duty
        assert r.distance_m <= (r.eta_s + 0.05) * 60 / 3.6 + 0.05  # nobody outruns a car (60 km/h)


def test_a_closer_responder_on_foot_loses_to_a_farther_one_by_car():
    # The sighting is 1 km along a 36 km/h road: the walker stands 200 m short of it
    # (144 s), the patrol car 1 km short (100 s).
    world = small_world([road("AB", (0, 0), (2000, 0))],
                        [responder("foot", (800, 0), mode="foot"), responder("car", (0, 0), mode="car")])
    index = ResponderIndex(world)
    first, second = index.nearest(*lonlat(1000, 0), micros("2026-11-29T09:00:00"), 2)
    assert (first.responder_id, second.responder_id) == ("car", "foot")
    assert first.eta_s == pytest.approx(100, abs=1) and second.eta_s == pytest.approx(144, abs=1)
    assert second.distance_m == pytest.approx(200, abs=1)


def test_a_responder_off_duty_is_not_sent():
    world = small_world([road("AB", (0, 0), (2000, 0))], [
        responder("day", (900, 0), shift=("08:00", "20:00")), responder("night", (0, 0), shift=("20:00", "08:00"))])
    sent = ResponderIndex(world).nearest(*lonlat(1000, 0), micros("2026-11-29T23:00:00"), 3)
    assert [r.responder_id for r in sent] == ["night"]


def test_no_position_no_responders(index):
    assert index.nearest(None, None, 0, 3) == []


def test_a_responders_route_runs_from_the_end_of_his_segment_he_heads_for_to_the_place():
    # He stands 10 m from A on AB and drives to B (99 s), never back through A (1 s + 100 s).
    world = small_world([road("AB", (0, 0), (1000, 0)), road("BC", (1000, 0), (2000, 0)),
                         road("CD", (2000, 0), (3000, 0))], [responder("car", (10, 0))])
    index = ResponderIndex(world)
    network = index.network
    a, b, c, d = network.edges[0].tail, network.edges[0].head, network.edges[2].head, network.edges[4].head
    assert index.route(0, d) == [b, c, d]
    assert index.route(0, a) == [a]
