"""Place every sighting on the road segment where it happened.

Fixed cameras use the camera→segment map computed once per worker; mobile
cameras (and any event that reports its own lon/lat) are placed by that
position, a batch at a time, with one STRtree
query per batch. A sighting farther than the maximum distance from any road
keeps a null segment: it is still a passing, just not on the network.
"""
import apache_beam as beam

from geo.shared import locator_at, placements_at, world_at
from transforms.records import CameraEvent, Passing, at_event_time

def _passing(event: CameraEvent, layer: str, placement, lon, lat) -> Passing:
    return Passing(
        source=event.source, event_id=event.event_id, camera_id=event.camera_id,
        captured_at_us=event.captured_at_us, plate=event.plate,
        plate_confidence=event.plate_confidence, plate_source=event.plate_source,
        plate_alternates=event.plate_alternates, plate_color=event.plate_color,
        segment_id=placement.segment_id if placement else None,
        road_name=placement.road_name if placement else None,
        town=placement.town if placement else None,
        area_type=placement.area_type if placement else None,
        defence_layer=layer, lon=lon, lat=lat,
        distance_m=placement.distance_m if placement else None)


class _CameraContext(beam.DoFn):
    def __init__(self, world_folder: str, max_distance_m: float):
        self._world_folder = world_folder
        self._max_distance_m = max_distance_m

    def setup(self):
        cameras = world_at(self._world_folder).cameras
        self._layer = dict(zip(cameras.index.astype(str), cameras.defence_layer.astype(str)))
        self._town = dict(zip(cameras.index.astype(str), cameras.town.astype(str)))
        self._position = dict(zip(cameras.index.astype(str), zip(cameras.lon, cameras.lat)))


class _PlaceFixed(_CameraContext):
    def setup(self):
        super().setup()
        self._placements = placements_at(self._world_folder, self._max_distance_m)

    def process(self, event: CameraEvent):
        placement = self._placements.get(event.camera_id)
        lon, lat = self._position[event.camera_id]
        passing = _passing(event, self._layer[event.camera_id], placement, float(lon), float(lat))
        if placement is None:
            passing = passing._replace(town=self._town[event.camera_id])
        yield passing


class _PlaceByPosition(_CameraContext):
    def setup(self):
        super().setup()
        self._locator = locator_at(self._world_folder, self._max_distance_m)

    def process(self, batch: list[CameraEvent]):
        placements = self._locator.locate([e.lon for e in batch], [e.lat for e in batch])
        for event, placement in zip(batch, placements):
            passing = _passing(event, self._layer[event.camera_id], placement, event.lon, event.lat)
            yield at_event_time(passing, event.captured_at_us)


class AssignRoadSegment(beam.PTransform):
    """CameraEvents → Passings with segment, road, town, area type and defence layer."""

    def __init__(self, world_folder: str, max_distance_m: float = 50.0):
        super().__init__()
        self._world_folder = world_folder
        self._max_distance_m = max_distance_m

    def expand(self, events):
        fixed, positioned = events | "Split" >> beam.Partition(
            lambda event, _: int(event.lon is not None), 2)
        placed_fixed = fixed | "PlaceFixed" >> beam.ParDo(
            _PlaceFixed(self._world_folder, self._max_distance_m))
        placed_positioned = (positioned
                         | "Batch" >> beam.BatchElements(min_batch_size=1, max_batch_size=512)
                         | "PlaceByPosition" >> beam.ParDo(
                             _PlaceByPosition(self._world_folder, self._max_distance_m)))
        return (placed_fixed, placed_positioned) | beam.Flatten()
