from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from geo.responders import DETOUR_FACTOR, MODE_SPEED_KMH, ResponderIndex
from geo.shared import world_at

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


def test_nearest_are_on_duty_ranked_by_eta_with_the_stated_formula(world, index):
    at = micros("2026-11-29T09:00:00")
    chosen = index.nearest(110.466, 19.245, at, 3, road_speed_kmh=40.0)
    assert len(chosen) == 3
    assert [r.eta_s for r in chosen] == sorted(r.eta_s for r in chosen)
    on_duty = set(world.responders.index[index.on_duty(at)])
    for r in chosen:
        assert r.responder_id in on_duty
        mode = world.responders.loc[r.responder_id, "mode"]
        speed = min(MODE_SPEED_KMH[mode], 40.0) / 3.6
        assert r.eta_s == pytest.approx(r.distance_m * DETOUR_FACTOR / speed, abs=0.2)


def test_no_position_no_responders(index):
    assert index.nearest(None, None, 0, 3, 40.0) == []
