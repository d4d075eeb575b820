"""Placing sightings on the road network.

Fixed cameras never move, so their segment is computed once per run with a
geopandas nearest join (`camera_placements`). Mobile cameras report their own
position with each event; `SegmentLocator` places a whole batch of positions
with one vectorised STRtree query. Both refuse a segment farther than the
configured maximum distance: a camera inside a compound is not on the road
outside it.
"""
from collections.abc import Sequence
from typing import NamedTuple, Optional

import geopandas as gpd
import numpy as np
import shapely
from pyproj import Transformer

from models.records import Place


class Placement(NamedTuple):
    segment_id: str
    road_name: str
    town: str
    area_type: str
    speed_kmh: float
    distance_m: float

    def place(self, lon: float, lat: float) -> Place:
        """The place of a record at (lon, lat) that lies on this segment."""
        return Place(self.segment_id, self.road_name, self.town, self.area_type, lon, lat)


def _placement(row, distance_m: float) -> Placement:
    return Placement(str(row.Index), str(row.road_name), str(row.town),
                     str(row.area_type), float(row.speed_kmh), round(float(distance_m), 1))


def camera_placements(world, locator: "SegmentLocator") -> dict[str, Optional[Placement]]:
    """camera_id → the nearest segment within the locator's range, or None."""
    cameras = gpd.GeoDataFrame(
        world.cameras[[]], geometry=gpd.points_from_xy(world.cameras.lon, world.cameras.lat),
        crs="EPSG:4326").to_crs(world.metric_crs)
    index, distance = locator.nearest_projected(cameras.geometry.values)
    placements = {}
    for camera_id, i, d in zip(cameras.index, index, distance):
        placements[str(camera_id)] = None if i < 0 else _placement(locator.row(i), d)
    return placements


class SegmentLocator:
    """Nearest road segment for batches of WGS84 positions."""

    def __init__(self, world, max_distance_m: float):
        self._roads = world.roads.to_crs(world.metric_crs)
        self._rows = list(self._roads.itertuples())
        self._geometries = self._roads.geometry.values
        self._tree = shapely.STRtree(self._geometries)
        self._to_metric = Transformer.from_crs("EPSG:4326", world.metric_crs, always_xy=True)
        self._max_distance_m = max_distance_m

    def row(self, i: int):
        return self._rows[i]

    def nearest_projected(self, points) -> tuple[np.ndarray, np.ndarray]:
        """Index of the nearest segment (-1 if none in range) and its distance.

        Ties go to the lowest index, so a point equidistant from two segments
        is placed the same way on every run.
        """
        points = np.asarray(points)
        index = np.full(len(points), -1, dtype=np.int64)
        distance = np.full(len(points), np.nan)
        if len(points) == 0:
            return index, distance
        (point_i, segment_i), d = self._tree.query_nearest(
            points, max_distance=self._max_distance_m, return_distance=True, all_matches=True)
        order = np.lexsort((segment_i, point_i))
        points_found, first = np.unique(point_i[order], return_index=True)
        index[points_found] = segment_i[order][first]
        distance[points_found] = d[order][first]
        return index, distance

    def locate(self, lons: Sequence[float], lats: Sequence[float]) -> list[Optional[Placement]]:
        x, y = self._to_metric.transform(np.asarray(lons, float), np.asarray(lats, float))
        index, distance = self.nearest_projected(shapely.points(x, y))
        return [None if i < 0 else _placement(self._rows[i], d) for i, d in zip(index, distance)]
