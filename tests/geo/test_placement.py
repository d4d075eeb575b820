import numpy as np
import pytest
import shapely

from geo.placement import SegmentLocator, camera_placements
from geo.shared import world_at
from models.records import Place


@pytest.fixture(scope="module")
def world(world_folder):
    return world_at(world_folder)


def test_fixed_cameras_sit_on_a_segment_or_on_none_beyond_the_limit(world):
    placements = camera_placements(world, SegmentLocator(world, 50.0))
    unplaced = sorted(cid for cid, p in placements.items() if p is None)
    assert unplaced == sorted(world.cameras.index[world.cameras.name.str.startswith("离路")])
    assert all(p.distance_m <= 50.0 for p in placements.values() if p)


def test_a_wider_limit_places_the_compound_cameras_too(world):
    placements = camera_placements(world, SegmentLocator(world, 1000.0))
    assert all(p is not None for p in placements.values())


def test_a_batch_of_positions_lands_on_the_segments_they_lie_on(world):
    sample = world.roads.iloc[::40]
    midpoints = [shapely.line_interpolate_point(g, 0.5, normalized=True) for g in sample.geometry]
    located = SegmentLocator(world, 50.0).locate([p.x for p in midpoints], [p.y for p in midpoints])
    assert [p.segment_id for p in located] == list(sample.index)
    assert all(p.distance_m < 1.0 for p in located)


def test_a_position_far_from_every_road_is_not_placed(world):
    assert SegmentLocator(world, 50.0).locate([111.5], [18.0]) == [None]


def test_ties_go_to_the_lowest_index(world):
    locator = SegmentLocator(world, 50.0)
    shared_end = shapely.get_point(locator._geometries[0], -1)
    index, _ = locator.nearest_projected(np.array([shared_end]))
    touching = [i for i, g in enumerate(locator._geometries) if g.distance(shared_end) < 1e-6]
    assert index[0] == min(touching)


def test_a_placement_is_the_place_of_a_record_on_its_segment(world):
    placement = next(p for p in camera_placements(world, SegmentLocator(world, 50.0)).values() if p)
    segment = world.roads.loc[placement.segment_id]
    assert placement.place(110.4, 19.2) == Place(placement.segment_id, segment.road_name, segment.town,
                                                 segment.area_type, 110.4, 19.2)
