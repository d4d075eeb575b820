"""Parse and validate camera events against the input contract (DESIGN.md).

A line either becomes a CameraEvent or a DeadLetter that says which rule it
broke; nothing escapes as an exception and nothing is dropped.
"""
import copy
import time
from collections.abc import Callable
from typing import Optional

import apache_beam as beam

from geo.shared import world_at
from models.plate_rules import normalise_plate
from models.records import DEAD_LETTERS, IMAGE_KINDS, PLATE_COLORS, CameraEvent, EventLine, at_event_time
from transforms.blocks import Block
from transforms.ingest.columns import event_block, line_fields, vouched_fields
from transforms.ingest.fields import (
    MAX_LINE_BYTES,
    InvalidRecord,
    dead_letter,
    decode_line,
    number_field,
    position_fields,
    text_field,
    time_field,
)
from transforms.stage_metrics import EVENTS_IN, counted


def parse_event(line: EventLine, cameras: dict[str, str], latest_us: int) -> CameraEvent:
    """The event on `line`, or InvalidRecord naming the broken rule.

    `cameras` maps every registered camera_id to its defence layer;
    `latest_us` is the latest acceptable capture time.
    """
    obj = decode_line(line)
    try:
        return _validate(obj, line, cameras, latest_us)
    except InvalidRecord as invalid:
        event_id = obj.get("event_id")
        invalid.record_id = event_id[:128] if isinstance(event_id, str) else None
        raise


def _validate(obj: dict, line: EventLine, cameras: dict[str, str], latest_us: int) -> CameraEvent:
    event_id = text_field(obj, "event_id", required=True)
    camera_id = text_field(obj, "camera_id", required=True)
    layer = cameras.get(camera_id)
    if layer is None:
        raise InvalidRecord("camera_id: unknown camera")
    captured_at_us = time_field(obj, "captured_at", latest_us)
    confidence = number_field(obj, "plate_confidence", 0.0, 1.0)
    color = text_field(obj, "plate_color")
    if color is not None and color not in PLATE_COLORS:
        raise InvalidRecord("plate_color: not one of " + ", ".join(sorted(PLATE_COLORS)))
    image = text_field(obj, "image", limit=MAX_LINE_BYTES)
    image_kind = text_field(obj, "image_kind") or "frame"
    if image_kind not in IMAGE_KINDS:
        raise InvalidRecord("image_kind: not frame or plate")
    raw_plate = text_field(obj, "plate", limit=64)
    plate = normalise_plate(raw_plate) if raw_plate is not None else None
    if raw_plate is not None and plate is None and image is None:
        raise InvalidRecord("plate: not a licence plate, and no image to read")
    if plate is None and image is None:
        raise InvalidRecord("neither plate nor image")
    lon, lat = position_fields(obj, required=False)
    if layer == "mobile" and lon is None:
        raise InvalidRecord("lon/lat: required for a mobile camera")
    lane = number_field(obj, "lane", 0, 64)
    return CameraEvent(
        source=line.source, event_id=event_id, camera_id=camera_id,
        captured_at_us=captured_at_us, plate=plate,
        plate_confidence=(confidence if confidence is not None else 1.0) if plate else None,
        plate_color=color, plate_source="camera" if plate else "none", plate_alternates=[],
        image=image, image_kind=image_kind, image_base=line.base_dir, lon=lon, lat=lat,
        heading_deg=number_field(obj, "heading_deg", -360.0, 360.0),
        speed_kmh=number_field(obj, "speed_kmh", 0.0, 500.0),
        lane=None if lane is None else int(lane))


class _ParseFn(beam.DoFn):
    def __init__(self, world_folder: str, max_future_s: float, clock: Callable[[], float],
                 allowed_lateness_s: Optional[float] = None):
        self._world_folder = world_folder
        self._max_future_s = max_future_s
        self._clock = clock
        self._lateness_us = None if allowed_lateness_s is None else round(allowed_lateness_s * 1_000_000)

    def setup(self):
        cameras = world_at(self._world_folder).cameras
        self._cameras = dict(zip(cameras.index.astype(str), cameras.defence_layer.astype(str)))

    def start_bundle(self):
        self._lines = 0

    def process(self, line: EventLine, timestamp=beam.DoFn.TimestampParam):
        self._lines += 1
        try:
            event = parse_event(line, self._cameras, self._latest_us())
            self._refuse_if_late(event, timestamp)
        except InvalidRecord as invalid:
            yield _rejected(line, invalid)
            return
        yield at_event_time(event, event.captured_at_us)

    def finish_bundle(self):
        EVENTS_IN.inc(self._lines)

    def _latest_us(self) -> int:
        return round((self._clock() + self._max_future_s) * 1_000_000)

    def _refuse_if_late(self, event: CameraEvent, timestamp) -> None:
        """A live source stamps a line at its watermark when the line's own time is too late."""
        if self._lateness_us is None:
            return
        behind_us = timestamp.micros - event.captured_at_us
        if behind_us > self._lateness_us:
            late = InvalidRecord(f"captured_at: late, {behind_us / 60e6:.1f} min behind the stream's "
                                 f"watermark (allowed lateness {self._lateness_us / 60e6:g} min)")
            late.record_id = event.event_id[:128]
            raise late


def _rejected(line: EventLine, invalid: InvalidRecord) -> beam.pvalue.TaggedOutput:
    return beam.pvalue.TaggedOutput(DEAD_LETTERS, counted(
        dead_letter(line, "parse", str(invalid), invalid.record_id)))


class _ParseBlocks(_ParseFn):
    """A block of lines → one block of events; each rejected line a dead letter.

    The block's fields are checked a column at a time (`columns`); a line the
    columns do not vouch for is parsed alone, which names its reason. The
    latest capture time a replay accepts is fixed when it is built, so that
    lines read twice (`quiet`) are judged alike.
    """

    def __init__(self, world_folder: str, max_future_s: float, clock: Callable[[], float]):
        super().__init__(world_folder, max_future_s, clock)
        self._latest = super()._latest_us()
        self._counting = True

    def _latest_us(self) -> int:
        return self._latest

    def quiet(self) -> "_ParseBlocks":
        """The same parsing, neither counting lines nor giving dead letters: for lines parsed again."""
        again = copy.copy(self)
        again._counting = False
        return again

    def process(self, lines):  # a Block of EventLines
        self._lines += len(lines) if self._counting else 0
        latest_us = self._latest_us()
        fields = vouched_fields(lines.column("text"), self._cameras, latest_us)
        for index in [index for index, vouched in enumerate(fields) if vouched is None]:
            line = lines[index]
            try:
                fields[index] = line_fields(parse_event(line, self._cameras, latest_us))
            except InvalidRecord as invalid:
                if self._counting:
                    yield _rejected(line, invalid)
        rows = [index for index, parsed in enumerate(fields) if parsed is not None]
        if rows:  # stamped with its earliest capture time: no event in it is late downstream
            events = event_block(lines, rows, fields)
            yield at_event_time(events, min(events.column("captured_at_us")))


class ParseEvents(beam.PTransform):
    """EventLines → CameraEvents (main output) and DeadLetters (`dead_letters`).

    `clock` gives the current time in seconds; an event captured more than
    `max_future_s` after it is refused. Tests pass a fixed clock. A live run
    gives `allowed_lateness_s`: an event the source had to stamp later than
    that after its capture time is refused as late (ReadRedisStream).
    """

    def __init__(self, world_folder: str, max_future_s: float = 300.0,
                 clock: Callable[[], float] = time.time, allowed_lateness_s: Optional[float] = None):
        super().__init__()
        self._fn = _ParseFn(world_folder, max_future_s, clock, allowed_lateness_s)

    def expand(self, lines):
        return lines | beam.ParDo(self._fn).with_outputs(DEAD_LETTERS, main="events")


class ParseEventBlocks(beam.PTransform):
    """Blocks of EventLines (a replay of files) → blocks of CameraEvents and DeadLetters, by
    the same rules as ParseEvents; a replay has no lateness, and refuses events captured more
    than `max_future_s` after it was built."""

    def __init__(self, world_folder: str, max_future_s: float = 300.0, clock: Callable[[], float] = time.time):
        super().__init__()
        self._fn = _ParseBlocks(world_folder, max_future_s, clock)

    def expand(self, blocks):
        return blocks | beam.ParDo(self._fn).with_output_types(Block).with_outputs(DEAD_LETTERS, main="events")

    def again(self) -> "ParseAgain":
        """This parsing, for lines that it also parses where they are counted (see `ParseAgain`)."""
        return ParseAgain(self._fn.quiet())


class ParseAgain(beam.PTransform):
    """Blocks of EventLines read a second time → the blocks of CameraEvents that ParseEventBlocks
    makes of them, judged alike, without counting them or giving their dead letters twice."""

    def __init__(self, fn: _ParseBlocks):
        super().__init__()
        self._fn = fn

    def expand(self, blocks):
        return blocks | beam.ParDo(self._fn).with_output_types(Block)
