"""Place incident reports and dispatch outcomes on the road segment they belong to.

Under the road-chief system every stretch of road has someone answerable for
it, so an incident counts against the segment nearest to where it happened,
and through the segment against its road manager and the chiefs above him.
Incidents happen beside roads as well as on them (a shop, a village square),
so the reach here is wider than a camera's. Beyond it a report keeps a null
segment and counts as `unplaced`.
"""
import apache_beam as beam

from geo.shared import locator_at
from transforms.buffered import BufferedDoFn


class _Place(BufferedDoFn):
    def __init__(self, world_folder: str, max_distance_m: float):
        self._world_folder = world_folder
        self._max_distance_m = max_distance_m

    def setup(self):
        self._locator = locator_at(self._world_folder, self._max_distance_m)

    def process_buffer(self, buffer):
        records = [wv.value for wv in buffer]
        placements = self._locator.locate([r.lon for r in records], [r.lat for r in records])
        for wv, placement in zip(buffer, placements):
            if placement is not None:
                report = wv.value
                yield wv.with_value(report._replace(**placement.place(report.lon, report.lat)._asdict()))
            else:
                yield wv


class PlaceReports(beam.PTransform):
    """Incidents or OutcomeReports → the same records with segment, road, town and area type."""

    def __init__(self, world_folder: str, max_distance_m: float = 500.0):
        super().__init__()
        self._fn = _Place(world_folder, max_distance_m)

    def expand(self, reports):
        return reports | beam.ParDo(self._fn)
