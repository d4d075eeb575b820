import pytest
from apache_beam.transforms.window import GlobalWindow
from apache_beam.utils.timestamp import Timestamp
from apache_beam.utils.windowed_value import WindowedValue

from geo.shared import placements_at, world_at
from tests.builders import camera_event
from transforms.enrich.assign_segment import _PlaceByPosition, _PlaceFixed


@pytest.fixture(scope="module")
def place(world_folder):
    fn = _PlaceFixed(world_folder, 50.0)
    fn.setup()
    return lambda event: next(fn.process(event))


@pytest.fixture(scope="module")
def place_by_position(world_folder):
    fn = _PlaceByPosition(world_folder, 50.0)
    fn.setup()

    def placed(*events):
        fn.start_bundle()
        out = [o for e in events for o in fn.process(e, Timestamp(micros=e.captured_at_us), GlobalWindow())]
        out += list(fn.finish_bundle())
        assert all(isinstance(o, WindowedValue) for o in out)
        assert [o.timestamp.micros for o in out] == [e.captured_at_us for e in events]
        return [o.value for o in out]
    return placed


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


def test_mobile_sightings_are_placed_by_their_own_position_in_one_buffer(place_by_position,
                                                                         world_folder):
    roads = world_at(world_folder).roads
    middle = [roads.geometry.iloc[i].interpolate(0.5, normalized=True) for i in (0, 100, 200)]
    mobile = [camera_event()._replace(camera_id="QH-MB-001", lon=p.x, lat=p.y, event_id=f"m{i}",
                               captured_at_us=1_795_910_400_000_000 + i) for i, p in enumerate(middle)]
    passings = place_by_position(*mobile)
    assert [p.segment_id for p in passings] == [roads.index[i] for i in (0, 100, 200)]
    assert {p.defence_layer for p in passings} == {"mobile"}
