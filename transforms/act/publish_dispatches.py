"""Publish every dispatch to a Redis Stream, where command-centre consoles read it.

`roadchief watch` (or any Redis client) follows the stream. Publishing is
idempotent: a dispatch is published once per version (its id and number of
sightings), checked and appended atomically in Redis, so a replay or a retry
after a failure does not page the officers twice.

Stream entry fields: dispatch_id, plate, category, priority, sightings,
last_seen (ISO, local time), town, road_name, segment_id, lon, lat,
chief_chain and responders (JSON lists), best_eta_s.
"""
import json
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import apache_beam as beam

from models.records import Dispatch
from transforms.redis_retry import with_backoff

STREAM = "roadchief:dispatches"
PUBLISHED = "roadchief:dispatches:published"
ZONE = ZoneInfo("Asia/Shanghai")

# KEYS[1] published set, KEYS[2] stream; ARGV[1] version; ARGV[2..] field, value pairs.
_PUBLISH_ONCE = """
if redis.call('SADD', KEYS[1], ARGV[1]) == 1 then
  return redis.call('XADD', KEYS[2], '*', unpack(ARGV, 2))
end
return false
"""


def stream_fields(dispatch: Dispatch) -> dict[str, str]:
    last_seen = datetime.fromtimestamp(dispatch.last_seen_us / 1e6, tz=timezone.utc).astimezone(ZONE)
    return {
        "dispatch_id": dispatch.dispatch_id, "plate": dispatch.plate, "category": dispatch.category,
        "priority": str(dispatch.priority), "sightings": str(dispatch.sightings),
        "last_seen": last_seen.isoformat(timespec="seconds"), "town": dispatch.town or "",
        "road_name": dispatch.road_name or "", "segment_id": dispatch.segment_id or "",
        "lon": "" if dispatch.lon is None else f"{dispatch.lon:.6f}",
        "lat": "" if dispatch.lat is None else f"{dispatch.lat:.6f}",
        "chief_chain": json.dumps([c._asdict() for c in dispatch.chief_chain], ensure_ascii=False),
        "responders": json.dumps([r._asdict() for r in dispatch.responders], ensure_ascii=False),
        "best_eta_s": "" if dispatch.best_eta_s is None else str(dispatch.best_eta_s),
    }


class _Publish(beam.DoFn):
    def __init__(self, url: str, stream: str, retries: int = 5):
        self._url = url
        self._stream = stream
        self._retries = retries

    def setup(self):
        import redis
        self._client = redis.Redis.from_url(self._url, socket_timeout=5, socket_connect_timeout=5)
        self._publish_once = self._client.register_script(_PUBLISH_ONCE)

    def process(self, dispatch: Dispatch):
        version = f"{dispatch.dispatch_id}:{dispatch.sightings}"
        args = [version] + [part for pair in stream_fields(dispatch).items() for part in pair]
        with_backoff(lambda: self._publish_once(keys=[PUBLISHED, self._stream], args=args),
                     self._retries)

    def teardown(self):
        self._client.close()


class PublishDispatches(beam.PTransform):
    """Dispatches → entries of a Redis Stream (nothing downstream).

    A reshuffle first puts publishing in a stage of its own: while Redis is
    down, the retries stall only that stage, not the stage that keeps each
    plate's open incident (on Prism, a stalled bundle gets split, and a split
    stateful bundle can lose its state).
    """

    def __init__(self, url: str, stream: str = STREAM):
        super().__init__()
        self._fn = _Publish(url, stream)

    def expand(self, dispatches):
        return dispatches | "OwnStage" >> beam.Reshuffle() | "Publish" >> beam.ParDo(self._fn)
