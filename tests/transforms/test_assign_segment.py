import pytest

from geo.shared import placements_at, world_at
from tests.builders import camera_event
from transforms.blocks import Block
from transforms.enrich.assign_segment import _PlaceBlock


@pytest.fixture(scope="module")
def place_block(world_folder):
    fn = _PlaceBlock(world_folder, 50.0)
    fn.setup()

    def placed(*events):
        (passings,) = fn.process(Block(events))
        assert [p.event_id for p in passings] == [e.event_id for e in events]
        return passings
    return placed


@pytest.fixture(scope="module")
def place(place_block):
    return lambda event: place_block(event)[0]


@pytest.fixture(scope="module")
def place_by_position(place_block):
    return place_block


def test_fixed_cameras_take_their_precomputed_segment(place, world_folder):
    passing = place(camera_event()._replace(camera_id="QH-BC-001"))
    expected = placements_at(world_folder, 50.0)["QH-BC-001"]
    assert (passing.segment_id, passing.town, passing.defence_layer) == (
        expected.segment_id, expected.town, "border_checkpoint")
    assert passing.watchlist_hit is False and passing.distance_m == expected.distance_m


def test_a_camera_in_a_compound_has_no_segment_but_keeps_its_town(place, world_folder):
    cameras = world_at(world_folder).cameras
    compound = cameras.index[cameras.name.str.startswith("离路")][0]
    passing = place(camera_event()._replace(camera_id=compound))
    assert passing.segment_id is None and passing.town == cameras.loc[compound, "town"]


def test_mobile_sightings_are_placed_by_their_own_position_in_one_block(place_by_position,
                                                                         world_folder):
    roads = world_at(world_folder).roads
    middle = [roads.geometry.iloc[i].interpolate(0.5, normalized=True) for i in (0, 100, 200)]
    mobile = [camera_event()._replace(camera_id="QH-MB-001", lon=p.x, lat=p.y, event_id=f"m{i}",
                               captured_at_us=1_795_910_400_000_000 + i) for i, p in enumerate(middle)]
    passings = place_by_position(*mobile)
    assert [p.segment_id for p in passings] == [roads.index[i] for i in (0, 100, 200)]
    assert {p.defence_layer for p in passings} == {"mobile"}


def test_a_block_of_fixed_and_mobile_sightings_keeps_its_order(place_block, world_folder):
    road = world_at(world_folder).roads.geometry.iloc[100].interpolate(0.5, normalized=True)
    fixed = camera_event()._replace(camera_id="QH-BC-001", event_id="f")
    mobile = camera_event()._replace(camera_id="QH-MB-001", lon=road.x, lat=road.y, event_id="m")
    passings = place_block(fixed, mobile, fixed._replace(event_id="g"))
    assert [p.defence_layer for p in passings] == ["border_checkpoint", "mobile", "border_checkpoint"]
    assert passings[1].segment_id == world_at(world_folder).roads.index[100]
