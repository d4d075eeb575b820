"""Turn watchlist hits into dispatches for the officers of the road-chief system.

One dispatch is one incident: a flagged plate seen again and again within the
cooldown is the same vehicle on the move, so its hits share a session window
(gap = cooldown) and update one dispatch instead of opening new ones. The
dispatch goes to the chief chain of the segment where the vehicle was last
seen and to the nearest on-duty responders there, fastest first.

`dispatch_id` is a hash of the plate and the first hit's event id: replaying
the same input gives the same ids.
"""
import hashlib

import apache_beam as beam
from apache_beam.transforms import window

from geo.shared import chain_at, responders_at, world_at
from transforms.records import Dispatch, Hit, at_event_time

INTERCEPT = "intercept"


def dispatch_id(plate: str, first_event_id: str) -> str:
    return "D-" + hashlib.sha1(f"{plate}|{first_event_id}".encode()).hexdigest()[:16]


class _MakeDispatch(beam.DoFn):
    def __init__(self, world_folder: str, responders_k: int):
        self._world_folder = world_folder
        self._k = responders_k

    def setup(self):
        roads = world_at(self._world_folder).roads
        self._speed = dict(zip(roads.index.astype(str), roads.speed_kmh.astype(float)))
        self._chains = chain_at(self._world_folder)
        self._responders = responders_at(self._world_folder)

    def process(self, keyed):
        plate, hits = keyed
        hits = sorted(hits, key=lambda hit: (hit.captured_at_us, hit.event_id, hit.entry_id))
        first, last = hits[0], hits[-1]
        lead = min(hits, key=lambda hit: (hit.priority, hit.entry_id))
        responders = self._responders.nearest(
            last.lon, last.lat, last.captured_at_us, self._k, self._speed.get(last.segment_id, 40.0))
        yield at_event_time(Dispatch(
            dispatch_id=dispatch_id(plate, first.event_id), plate=plate,
            entry_id=lead.entry_id, category=lead.category, priority=lead.priority,
            categories=sorted({hit.category for hit in hits}),
            hit_event_ids=list(dict.fromkeys(hit.event_id for hit in hits)),
            sightings=len({hit.event_id for hit in hits}),
            first_seen_us=first.captured_at_us, last_seen_us=last.captured_at_us,
            camera_id=last.camera_id, segment_id=last.segment_id, road_name=last.road_name,
            town=last.town, area_type=last.area_type, defence_layer=last.defence_layer,
            lon=last.lon, lat=last.lat, chief_chain=self._chains.get(last.segment_id, []),
            responders=responders, best_eta_s=responders[0].eta_s if responders else None,
            created_at_us=first.captured_at_us), first.captured_at_us)


class DispatchOfficers(beam.PTransform):
    """Hits → Dispatches: intercept-action hits scoring at least `min_score`."""

    def __init__(self, world_folder: str, cooldown_minutes: float = 30.0,
                 responders_k: int = 3, min_score: float = 0.5):
        super().__init__()
        self._fn = _MakeDispatch(world_folder, responders_k)
        self._gap_s = cooldown_minutes * 60
        self._min_score = min_score

    def expand(self, hits):
        min_score = self._min_score
        return (hits
                | "Actionable" >> beam.Filter(
                    lambda hit: hit.action == INTERCEPT and hit.score >= min_score)
                | "ByPlate" >> beam.Map(
                    lambda hit: at_event_time((hit.plate, hit), hit.captured_at_us)
                ).with_output_types(tuple[str, Hit])
                | "Cooldown" >> beam.WindowInto(
                    window.Sessions(self._gap_s),
                    timestamp_combiner=window.TimestampCombiner.OUTPUT_AT_EARLIEST)
                | "Group" >> beam.GroupByKey()
                | "Dispatch" >> beam.ParDo(self._fn))
