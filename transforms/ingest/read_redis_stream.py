"""Live camera events from a Redis Stream, as EventLines with an event-time watermark.

Each stream entry carries one event, as its JSON line, in the field `event`
(`roadchief replay` writes them so). The reader is an unbounded splittable
DoFn whose restriction is a range of stream offsets: an entry id `ms-seq` maps
to the sortable integer ms * 2^20 + seq (`entry_offset` in the Redis contract,
`transforms.redis_contract`, which also names the stream and its fields).

Delivery is at-least-once with replayable offsets. Redis keeps the entries, so
the offset where reading resumes is all a checkpoint needs: the runner stores
the rest of the restriction (from the first unread offset) with its state, and
after a failure reads again from there. Entries read after the last checkpoint
are read a second time; downstream deduplication by event_id removes them. A
fresh pipeline starts after the entry id `after` ("0": the start of the stream).

The watermark follows event time. The reader parses each entry's `captured_at`
cheaply (a pattern, no validation: ParseEvents validates) and holds the
watermark `out_of_orderness_s` behind the latest event time seen. A quiet
stream must not hold windows open for ever, so after `idle_advance_s` without
new entries the watermark moves on as if event time kept pace with the wall
clock: latest event time + idle time − out_of_orderness. This is chosen over
"wall clock − out_of_orderness" because it also holds for a replay of old
traffic, whose event times are hours or years behind the wall clock. Event
times beyond the wall clock + `max_future_s` (ParseEvents refuses them) and
entries with no readable time do not move the watermark; those entries are
stamped at the watermark so that they are not late.

Nothing is dropped: an entry without the field `event` becomes an EventLine
whose text is its fields as a JSON list of [field, value] pairs, which
ParseEvents dead-letters ("not a JSON object"); bytes that are not UTF-8 are
replaced, which ParseEvents dead-letters too ("not valid UTF-8").

No entry can exhaust a worker: entries are read by a short server-side script
that cuts every field after MAX_LINE_BYTES + 1 bytes (ParseEvents refuses the
cut line as too long) and stops a read once it holds `READ_BUDGET_BYTES`.
Only when the stream has nothing new does the reader block on XREAD, for one
entry, so that a new entry is read as soon as it arrives.

Replay and test mode: with `stop_at_end`, an entry with the field `end` and no
`event` (an end marker, as `replay(..., end_marker=True)` appends) ends the
read, so the pipeline finishes once its windows have fired. Without it, end
markers are skipped: they carry no event.
"""
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Optional

import apache_beam as beam
from apache_beam.io.iobase import WatermarkEstimator
from apache_beam.io.restriction_trackers import OffsetRange, OffsetRestrictionTracker
from apache_beam.transforms.core import RestrictionProvider, WatermarkEstimatorProvider
from apache_beam.transforms.window import TimestampedValue
from apache_beam.utils.timestamp import Duration, Timestamp

from models.records import EventLine
from transforms.ingest.fields import EPOCH, MICROSECOND
from transforms.ingest.read_events import MAX_LINE_BYTES
from transforms.redis_contract import END_FIELD, EVENT_FIELD, EVENTS_STREAM, READ_CUT, connect, entry_id, entry_offset

OPEN_END = 2 ** 63 - 1
_EVENT, _END = EVENT_FIELD.encode(), END_FIELD.encode()
_CAPTURED_AT = re.compile(r'"captured_at"\s*:\s*"([^"\\]{1,64})"')
READ_BUDGET_BYTES = 32 * 1024 * 1024


def captured_at_us(text: str) -> Optional[int]:
    """The event time in `text` (µs since the epoch), if a `captured_at` with offset is found."""
    found = _CAPTURED_AT.search(text)
    if found is None:
        return None
    try:
        moment = datetime.fromisoformat(found.group(1))
    except ValueError:
        return None
    return None if moment.tzinfo is None else (moment - EPOCH) // MICROSECOND


def event_time_us(text: str, latest_us: int) -> Optional[int]:
    """The line's captured_at, unless unreadable or after `latest_us` (ParseEvents refuses those)."""
    event_us = captured_at_us(text)
    return event_us if event_us is not None and event_us <= latest_us else None


def stamp(event_us: Optional[int], watermark: Optional[Timestamp], lateness_us: int,
          now_s: float) -> Timestamp:
    """Where a live line goes in event time: at its captured_at while that is within the allowed
    lateness behind the source's watermark; at the watermark when later (too late for the windows
    downstream: ParseEvents dead-letters it as late) or undated (on time there; before there is a
    watermark, at the wall clock)."""
    if event_us is not None and (watermark is None or event_us >= watermark.micros - lateness_us):
        return Timestamp(micros=event_us)
    return watermark if watermark is not None else Timestamp.of(now_s)


class _StreamOffsets(OffsetRestrictionTracker):
    """Offsets from a start to the open end; it only splits to checkpoint.

    A split at a fraction of an open range would cut at an offset centuries
    ahead, leaving a second reader that polls for nothing.
    """

    def try_split(self, fraction_of_remainder):
        return super().try_split(0) if fraction_of_remainder == 0 else None

    def is_bounded(self):
        return False


class EventTimeWatermark(WatermarkEstimator):
    """Latest event time − out-of-orderness, carried on by idle time (module docstring).

    The reader reports entries with saw() and empty polls with idle(); output
    timestamps are not evidence, since undated entries are stamped at the
    watermark. State: (watermark µs, latest event µs, clock second of the last
    entry), each None until known.
    """

    def __init__(self, state, out_of_orderness_s: float, idle_advance_s: float,
                 clock: Callable[[], float]):
        self._watermark_us, self._latest_us, self._arrived_s = state
        self._lag_us = round(out_of_orderness_s * 1_000_000)
        self._idle_advance_s = idle_advance_s
        self._clock = clock

    def observe_timestamp(self, timestamp):
        pass

    def saw(self, event_us: Optional[int]):
        self._arrived_s = self._clock()
        if event_us is not None and (self._latest_us is None or event_us > self._latest_us):
            self._latest_us = event_us
            self._advance_to(event_us - self._lag_us)

    def idle(self):
        if self._latest_us is None:
            return
        idle_s = self._clock() - self._arrived_s
        if idle_s >= self._idle_advance_s:
            self._advance_to(self._latest_us + round(idle_s * 1_000_000) - self._lag_us)

    def _advance_to(self, micros: int):
        if self._watermark_us is None or micros > self._watermark_us:
            self._watermark_us = micros

    def current_watermark(self):
        return None if self._watermark_us is None else Timestamp(micros=self._watermark_us)

    def get_estimator_state(self):
        return self._watermark_us, self._latest_us, self._arrived_s


def _fields(flat) -> dict[bytes, bytes]:
    """A field list as XRANGE returns it (a list, or already a dict), each value cut to size."""
    pairs = flat.items() if isinstance(flat, dict) else zip(flat[::2], flat[1::2])
    return {k[:MAX_LINE_BYTES + 1]: v[:MAX_LINE_BYTES + 1] for k, v in pairs}


def _entry_line(stream: str, entry: str, fields: dict[bytes, bytes], image_base: str) -> EventLine:
    text = fields.get(_EVENT)
    if text is None:
        pairs = [[k.decode(errors="replace"), v.decode(errors="replace")] for k, v in fields.items()]
        return EventLine(f"{stream}:{entry}", image_base, json.dumps(pairs, ensure_ascii=False))
    return EventLine(f"{stream}:{entry}", image_base, text.decode(errors="replace"))


@dataclass(frozen=True)
class StreamConfig:
    """Which stream ReadRedisStream reads, from where, and how it keeps event time.

    Reading starts after entry `after` ("0": from the start) and ends at the end
    marker only if `stop_at_end`. `image_base` is the folder that relative image
    paths in events refer to. At most `batch` entries are read per read; a quiet
    stream waits up to `block_ms`; an empty poll retries after `resume_delay_s`.
    The watermark trails the latest event time by `out_of_orderness_s` and moves
    on with the clock after `idle_advance_s` without entries; `max_future_s` and
    `allowed_lateness_s` bound the event times it trusts (module docstring).
    """
    stream: str = EVENTS_STREAM
    after: str = "0"
    image_base: str = ""
    out_of_orderness_s: float = 5.0
    idle_advance_s: float = 10.0
    max_future_s: float = 300.0
    allowed_lateness_s: float = 1800.0
    stop_at_end: bool = False
    batch: int = 1000
    block_ms: int = 100
    resume_delay_s: float = 0.2


class _ReadStream(beam.DoFn, RestrictionProvider, WatermarkEstimatorProvider):
    """Reads one stream; it is its own restriction and watermark estimator provider."""

    def __init__(self, url: str, config: StreamConfig, clock: Callable[[], float]):
        self._url = url
        self._start = entry_offset(config.after) + 1
        self._image_base = config.image_base
        self._stop_at_end = config.stop_at_end
        self._batch = config.batch
        self._block_ms = config.block_ms
        self._resume_delay = Duration.of(config.resume_delay_s)
        self._watermark_args = (config.out_of_orderness_s, config.idle_advance_s, clock)
        self._max_future_us = round(config.max_future_s * 1_000_000)
        self._lateness_us = round(config.allowed_lateness_s * 1_000_000)
        self._clock = clock

    def initial_restriction(self, stream):
        return OffsetRange(self._start, OPEN_END)

    def create_tracker(self, restriction):
        return _StreamOffsets(restriction)

    def restriction_size(self, stream, restriction):
        # The backlog is unknown without asking Redis; there is one restriction per stream.
        return 0 if restriction.start >= restriction.stop else 1

    def truncate(self, stream, restriction):
        # On drain, stop reading: the stream keeps the entries for the next run.
        return None

    def initial_estimator_state(self, stream, restriction):
        return None, None, None

    def create_watermark_estimator(self, estimator_state):
        return EventTimeWatermark(estimator_state, *self._watermark_args)

    def setup(self):
        self._client = connect(self._url, timeout_s=5 + self._block_ms / 1000)
        self._read_cut = self._client.register_script(READ_CUT)

    def _read(self, stream: str, after: str) -> list:
        """The entries after `after`: a bounded batch, or, on a quiet stream, the next to arrive."""
        entries = self._read_cut(keys=[stream],
                                 args=[after, self._batch, MAX_LINE_BYTES + 1, READ_BUDGET_BYTES])
        if entries:
            return entries
        reply = self._client.xread({stream: after}, count=1, block=self._block_ms)
        return reply[0][1] if reply else []

    @beam.DoFn.unbounded_per_element()
    def process(self, stream: str, tracker=beam.DoFn.RestrictionParam(),
                watermark=beam.DoFn.WatermarkEstimatorParam()):
        after = entry_id(tracker.current_restriction().start - 1)
        entries = self._read(stream, after)
        if not entries:
            watermark.idle()
            tracker.defer_remainder(self._resume_delay)
            return
        latest_us = round(self._clock() * 1_000_000) + self._max_future_us
        for raw_id, flat in entries:
            entry = raw_id.decode()
            fields = _fields(flat)
            if not tracker.try_claim(entry_offset(entry)):
                return
            if _EVENT not in fields and _END in fields:
                if self._stop_at_end:
                    tracker.try_claim(OPEN_END)
                    return
                continue
            line = _entry_line(stream, entry, fields, self._image_base)
            event_us = event_time_us(line.text, latest_us)
            watermark.saw(event_us)
            yield TimestampedValue(
                line, stamp(event_us, watermark.current_watermark(), self._lateness_us, self._clock()))
        tracker.defer_remainder()

    def teardown(self):
        self._client.close()


class ReadRedisStream(beam.PTransform):
    """The Redis Stream at `url` → EventLines (source `stream:entry-id`), unbounded, in event
    time. `clock` gives the wall-clock second, as in ParseEvents."""

    def __init__(self, url: str, config: StreamConfig = StreamConfig(), clock: Callable[[], float] = time.time):
        super().__init__()
        self._stream = config.stream
        self._fn = _ReadStream(url, config, clock)

    def expand(self, pbegin):
        return (pbegin
                | "Stream" >> beam.Create([self._stream])
                | "Read" >> beam.ParDo(self._fn))
