"""Publish every dispatch to a Redis Stream, where command-centre consoles read it.

`roadchief watch` (or any Redis client) follows the stream. Publishing is
idempotent: a dispatch is published once per version (its id and number of
sightings), checked and appended atomically in Redis (`APPEND_ONCE` in
`transforms.redis_contract`), so a replay or a retry after a failure does not
page the officers twice.

Stream entry fields: dispatch_id, plate, category, priority, sightings,
last_seen (ISO, in the world's local time with its offset), town, road_name, segment_id, lon, lat,
chief_chain and responders (JSON lists), best_eta_s, and the interception plan:
intercepts (a JSON list of stops, each with its vehicle_at in local time) and
intercept_chance.
"""
import json
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import apache_beam as beam

from geo.world import world_zone
from models.records import Dispatch, Intercept
from transforms.redis_contract import APPEND_ONCE, DISPATCHES_STREAM, PUBLISHED_DISPATCHES, connect


def _local(micros: int, zone: ZoneInfo) -> str:
    return datetime.fromtimestamp(micros / 1e6, tz=UTC).astimezone(zone).isoformat(timespec="seconds")


def _stop(stop: Intercept, zone: ZoneInfo) -> dict:
    fields = stop._asdict()
    fields["vehicle_at"] = _local(fields.pop("vehicle_at_us"), zone)
    fields["responders"] = [r._asdict() for r in stop.responders]
    return fields


def stream_fields(dispatch: Dispatch, zone: ZoneInfo) -> dict[str, str]:
    return {
        "dispatch_id": dispatch.dispatch_id, "plate": dispatch.plate, "category": dispatch.category,
        "priority": str(dispatch.priority), "sightings": str(dispatch.sightings),
        "last_seen": _local(dispatch.last_seen_us, zone), "town": dispatch.town or "",
        "road_name": dispatch.road_name or "", "segment_id": dispatch.segment_id or "",
        "lon": "" if dispatch.lon is None else f"{dispatch.lon:.6f}",
        "lat": "" if dispatch.lat is None else f"{dispatch.lat:.6f}",
        "chief_chain": json.dumps([c._asdict() for c in dispatch.chief_chain], ensure_ascii=False),
        "responders": json.dumps([r._asdict() for r in dispatch.responders], ensure_ascii=False),
        "best_eta_s": "" if dispatch.best_eta_s is None else str(dispatch.best_eta_s),
        "intercepts": json.dumps([_stop(stop, zone) for stop in dispatch.intercepts], ensure_ascii=False),
        "intercept_chance": "" if dispatch.intercept_chance is None else str(dispatch.intercept_chance),
    }


class _Publish(beam.DoFn):
    def __init__(self, url: str, stream: str, world_folder: str):
        self._url = url
        self._stream = stream
        self._world_folder = world_folder

    def setup(self):
        self._zone = world_zone(self._world_folder)
        self._client = connect(self._url)
        self._publish_once = self._client.register_script(APPEND_ONCE)

    def process(self, dispatch: Dispatch):
        version = f"{dispatch.dispatch_id}:{dispatch.sightings}"
        args = [version] + [part for pair in stream_fields(dispatch, self._zone).items() for part in pair]
        self._publish_once(keys=[PUBLISHED_DISPATCHES, self._stream], args=args)

    def teardown(self):
        self._client.close()


class PublishDispatches(beam.PTransform):
    """Dispatches → entries of a Redis Stream (nothing downstream).

    A reshuffle first puts publishing in a stage of its own: while Redis is
    down, the retries stall only that stage, not the stage that keeps each
    plate's open incident (on Prism, a stalled bundle gets split, and a split
    stateful bundle can lose its state).
    """

    def __init__(self, url: str, world_folder: str, stream: str = DISPATCHES_STREAM):
        super().__init__()
        self._fn = _Publish(url, stream, world_folder)

    def expand(self, dispatches):
        return dispatches | "OwnStage" >> beam.Reshuffle() | "Publish" >> beam.ParDo(self._fn)
