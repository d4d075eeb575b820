"""Place every sighting on the road segment where it happened.

Fixed cameras use the camera→segment map computed once per worker; mobile
cameras (and any event that reports its own lon/lat) are placed by that
position, a buffer at a time, with one vectorised STRtree query. A sighting
farther than the maximum distance from any road keeps a null segment: it is
still a passing, just not on the network.
"""
import apache_beam as beam

from geo.shared import locator_at, placements_at, world_at
from models.records import CameraEvent, Passing, Place
from transforms.buffered import BufferedDoFn


def _passing(event: CameraEvent, layer: str, town: str, placement, lon, lat) -> Passing:
    """The event as a passing on `placement`'s segment, or off the network in its camera's town."""
    place = placement.place(lon, lat) if placement else Place(town=town, lon=lon, lat=lat)
    return Passing(
        source=event.source, event_id=event.event_id, camera_id=event.camera_id,
        captured_at_us=event.captured_at_us, plate=event.plate,
        plate_confidence=event.plate_confidence, plate_source=event.plate_source,
        plate_alternates=event.plate_alternates, plate_color=event.plate_color,
        **place._asdict(), defence_layer=layer,
        distance_m=placement.distance_m if placement else None, watchlist_hit=False)


class _Cameras:
    """What the registry says of each camera, loaded on the worker."""

    def __init__(self, world_folder: str, max_distance_m: float):
        self._world_folder = world_folder
        self._max_distance_m = max_distance_m

    def setup(self):
        cameras = world_at(self._world_folder).cameras
        ids = cameras.index.astype(str)
        self._layer = dict(zip(ids, cameras.defence_layer.astype(str)))
        self._town = dict(zip(ids, cameras.town.astype(str)))
        self._position = dict(zip(ids, zip(cameras.lon.astype(float), cameras.lat.astype(float))))


class _PlaceFixed(_Cameras, beam.DoFn):
    def setup(self):
        super().setup()
        self._placements = placements_at(self._world_folder, self._max_distance_m)

    def process(self, event: CameraEvent):
        lon, lat = self._position[event.camera_id]
        yield _passing(event, self._layer[event.camera_id], self._town[event.camera_id],
                       self._placements.get(event.camera_id), lon, lat)


class _PlaceByPosition(_Cameras, BufferedDoFn):
    def setup(self):
        super().setup()
        self._locator = locator_at(self._world_folder, self._max_distance_m)

    def process_buffer(self, buffer):
        events = [wv.value for wv in buffer]
        placements = self._locator.locate([e.lon for e in events], [e.lat for e in events])
        for wv, placement in zip(buffer, placements):
            event = wv.value
            yield wv.with_value(_passing(event, self._layer[event.camera_id],
                                         self._town[event.camera_id], placement, event.lon, event.lat))


class AssignRoadSegment(beam.PTransform):
    """CameraEvents → Passings with segment, road, town, area type and defence layer."""

    def __init__(self, world_folder: str, max_distance_m: float = 50.0):
        super().__init__()
        self._world_folder = world_folder
        self._max_distance_m = max_distance_m

    def expand(self, events):
        fixed, positioned = events | "ByPosition" >> beam.Partition(
            lambda event, _: int(event.lon is not None), 2)
        return ((fixed | "PlaceFixed" >> beam.ParDo(_PlaceFixed(self._world_folder, self._max_distance_m)),
                 positioned | "PlaceByPosition" >> beam.ParDo(
                     _PlaceByPosition(self._world_folder, self._max_distance_m)))
                | "Together" >> beam.Flatten())
