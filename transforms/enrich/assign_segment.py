"""Place every sighting on the road segment where it happened.

Fixed cameras use the camera→segment map computed once per worker; mobile
cameras (and any event that reports its own lon/lat) are placed by that
position, a block at a time, with one vectorised STRtree query. A sighting
farther than the maximum distance from any road keeps a null segment: it is
still a passing, just not on the network.
"""
from typing import Optional

import apache_beam as beam

from geo.shared import locator_at, placements_at, world_at
from models.records import Passing, Place
from transforms.blocks import Block

PLACE_FIELDS = ("segment_id", "road_name", "town", "area_type", "defence_layer", "lon", "lat", "distance_m")
# a passing's PLACE_FIELDS, in order
Where = tuple[Optional[str], Optional[str], Optional[str], Optional[str], str, Optional[float], Optional[float],
              Optional[float]]


def _where(layer: str, town: str, placement, lon, lat) -> Where:
    """A passing's place fields on `placement`'s segment, or off the network in its camera's town."""
    place = placement.place(lon, lat) if placement else Place(town=town, lon=lon, lat=lat)
    return (place.segment_id, place.road_name, place.town, place.area_type, layer, place.lon, place.lat,
            placement.distance_m if placement else None)


assert Passing._fields == ("source", "event_id", "camera_id", "captured_at_us", "plate", "plate_confidence",
                           "plate_source", "plate_alternates", "plate_color", *PLACE_FIELDS, "watchlist_hit",
                           "list_version"), "a block of passings is built by position"
READING_FIELDS = Passing._fields[:9]  # what a passing takes from its event, by name


class _PlaceBlock(beam.DoFn):
    """What the registry says of each camera and where the roads are, loaded on the worker."""

    def __init__(self, world_folder: str, max_distance_m: float):
        self._world_folder = world_folder
        self._max_distance_m = max_distance_m

    def setup(self):
        cameras = world_at(self._world_folder).cameras
        ids = cameras.index.astype(str)
        self._layer = dict(zip(ids, cameras.defence_layer.astype(str)))
        self._town = dict(zip(ids, cameras.town.astype(str)))
        position = dict(zip(ids, zip(cameras.lon.astype(float), cameras.lat.astype(float))))
        placements = placements_at(self._world_folder, self._max_distance_m)
        # a fixed camera's passings all share its place: worked out once per camera, not per passing
        self._at_camera = {camera: _where(self._layer[camera], self._town[camera], placements.get(camera),
                                          *position[camera]) for camera in ids}
        self._locator = locator_at(self._world_folder, self._max_distance_m)  # the one placements_at used

    def process(self, events: Block):
        cameras, lons, lats = (events.column(name) for name in ("camera_id", "lon", "lat"))
        positioned = [row for row, lon in enumerate(lons) if lon is not None]
        by_position = iter(self._locator.locate([lons[row] for row in positioned],
                                                [lats[row] for row in positioned]) if positioned else ())
        at_camera = self._at_camera
        places = zip(*[at_camera[camera] if lon is None else _where(
            self._layer[camera], self._town[camera], next(by_position), lon, lat)
            for camera, lon, lat in zip(cameras, lons, lats)])
        unchecked = [False] * len(events), [None] * len(events)  # watchlist_hit, list_version
        yield Block.of(Passing, [*(events.column(name) for name in READING_FIELDS), *places, *unchecked])


class AssignRoadSegment(beam.PTransform):
    """Blocks of CameraEvents → blocks of Passings with segment, road, town, area type and
    defence layer."""

    def __init__(self, world_folder: str, max_distance_m: float = 50.0):
        super().__init__()
        self._fn = _PlaceBlock(world_folder, max_distance_m)

    def expand(self, blocks):
        return blocks | beam.ParDo(self._fn).with_output_types(Block)
