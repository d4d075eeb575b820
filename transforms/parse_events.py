"""Parse and validate camera events against the input contract (DESIGN.md).

A line either becomes a CameraEvent or a DeadLetter that says which rule it
broke; nothing escapes as an exception and nothing is dropped.
"""
import json
import math
import time
from datetime import datetime, timedelta, timezone
from typing import Callable, Optional

import apache_beam as beam

from geo.shared import world_at
from transforms.plates import normalise_plate
from transforms.read_events import UNDECODABLE
from transforms.records import CameraEvent, DeadLetter, EventLine, at_event_time

DEAD_LETTERS = "dead_letters"
RAW_LIMIT = 1000
MAX_LINE_CHARS = 8 * 1024 * 1024
PLATE_COLORS = frozenset({"blue", "yellow", "green", "white", "black"})
IMAGE_KINDS = frozenset({"frame", "plate"})
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
MICROSECOND = timedelta(microseconds=1)


class InvalidEvent(ValueError):
    """The reason an event breaks the contract, as it appears in dead_letters."""

    event_id: Optional[str] = None


def dead_letter(line: EventLine, stage: str, reason: str, event_id: Optional[str] = None) -> DeadLetter:
    return DeadLetter(line.source, event_id, stage, reason, line.text[:RAW_LIMIT])


def _number(obj: dict, field: str, low: float, high: float) -> Optional[float]:
    value = obj.get(field)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidEvent(f"{field}: expected a number, got {type(value).__name__}")
    if not math.isfinite(value) or not low <= value <= high:
        raise InvalidEvent(f"{field}: {value!r} outside [{low}, {high}]")
    return float(value)


def _text(obj: dict, field: str, required: bool = False, limit: int = 128) -> Optional[str]:
    value = obj.get(field)
    if value is None:
        if required:
            raise InvalidEvent(f"{field}: missing")
        return None
    if not isinstance(value, str):
        raise InvalidEvent(f"{field}: expected a string, got {type(value).__name__}")
    if required and not value.strip():
        raise InvalidEvent(f"{field}: empty")
    if len(value) > limit:
        raise InvalidEvent(f"{field}: longer than {limit} characters")
    return value


def _captured_at_us(obj: dict, latest_us: int) -> int:
    text = _text(obj, "captured_at", required=True, limit=64)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidEvent("captured_at: not an ISO-8601 timestamp") from None
    if moment.tzinfo is None:
        raise InvalidEvent("captured_at: no UTC offset")
    captured = (moment - EPOCH) // MICROSECOND
    if captured > latest_us:
        raise InvalidEvent("captured_at: too far in the future")
    return captured


def parse_event(line: EventLine, cameras: dict[str, str], latest_us: int) -> CameraEvent:
    """The event on `line`, or InvalidEvent naming the broken rule.

    `cameras` maps every registered camera_id to its defence layer;
    `latest_us` is the latest acceptable capture time.
    """
    obj = _decode(line)
    try:
        return _validate(obj, line, cameras, latest_us)
    except InvalidEvent as invalid:
        event_id = obj.get("event_id")
        invalid.event_id = event_id[:128] if isinstance(event_id, str) else None
        raise


def _decode(line: EventLine) -> dict:
    if not line.text.strip():
        raise InvalidEvent("empty line")
    if len(line.text) > MAX_LINE_CHARS:
        raise InvalidEvent(f"line longer than {MAX_LINE_CHARS} characters")
    if UNDECODABLE in line.text:
        raise InvalidEvent("not valid UTF-8")
    try:
        obj = json.loads(line.text)
    except (ValueError, RecursionError):
        raise InvalidEvent("not valid JSON") from None
    if not isinstance(obj, dict):
        raise InvalidEvent("not a JSON object")
    return obj


def _validate(obj: dict, line: EventLine, cameras: dict[str, str], latest_us: int) -> CameraEvent:
    event_id = _text(obj, "event_id", required=True)
    camera_id = _text(obj, "camera_id", required=True)
    layer = cameras.get(camera_id)
    if layer is None:
        raise InvalidEvent("camera_id: unknown camera")
    captured_at_us = _captured_at_us(obj, latest_us)
    confidence = _number(obj, "plate_confidence", 0.0, 1.0)
    color = _text(obj, "plate_color")
    if color is not None and color not in PLATE_COLORS:
        raise InvalidEvent("plate_color: not one of " + ", ".join(sorted(PLATE_COLORS)))
    image = _text(obj, "image", limit=MAX_LINE_CHARS)
    image_kind = _text(obj, "image_kind") or "frame"
    if image_kind not in IMAGE_KINDS:
        raise InvalidEvent("image_kind: not frame or plate")
    raw_plate = _text(obj, "plate", limit=64)
    plate = normalise_plate(raw_plate) if raw_plate is not None else None
    if raw_plate is not None and plate is None and image is None:
        raise InvalidEvent("plate: not a licence plate, and no image to read")
    if plate is None and image is None:
        raise InvalidEvent("neither plate nor image")
    lon = _number(obj, "lon", -180.0, 180.0)
    lat = _number(obj, "lat", -90.0, 90.0)
    if (lon is None) != (lat is None):
        raise InvalidEvent("lon and lat: give both or neither")
    if layer == "mobile" and lon is None:
        raise InvalidEvent("lon/lat: required for a mobile camera")
    lane = _number(obj, "lane", 0, 64)
    return CameraEvent(
        source=line.source, event_id=event_id, camera_id=camera_id,
        captured_at_us=captured_at_us, plate=plate,
        plate_confidence=(confidence if confidence is not None else 1.0) if plate else None,
        plate_color=color, plate_source="camera" if plate else "none", plate_alternates=[],
        image=image, image_kind=image_kind, image_base=line.base_dir, lon=lon, lat=lat,
        heading_deg=_number(obj, "heading_deg", -360.0, 360.0),
        speed_kmh=_number(obj, "speed_kmh", 0.0, 500.0),
        lane=None if lane is None else int(lane))


class _ParseFn(beam.DoFn):
    def __init__(self, world_folder: str, max_future_s: float, clock: Callable[[], float]):
        self._world_folder = world_folder
        self._max_future_s = max_future_s
        self._clock = clock

    def setup(self):
        cameras = world_at(self._world_folder).cameras
        self._cameras = dict(zip(cameras.index.astype(str), cameras.defence_layer.astype(str)))

    def process(self, line: EventLine):
        latest_us = round((self._clock() + self._max_future_s) * 1_000_000)
        try:
            event = parse_event(line, self._cameras, latest_us)
        except InvalidEvent as invalid:
            yield beam.pvalue.TaggedOutput(DEAD_LETTERS, dead_letter(line, "parse", str(invalid), invalid.event_id))
            return
        yield at_event_time(event, event.captured_at_us)


class ParseEvents(beam.PTransform):
    """EventLines → CameraEvents (main output) and DeadLetters (`dead_letters`).

    `clock` gives the current time in seconds; an event captured more than
    `max_future_s` after it is refused. Tests pass a fixed clock.
    """

    def __init__(self, world_folder: str, max_future_s: float = 300.0,
                 clock: Callable[[], float] = time.time):
        super().__init__()
        self._fn = _ParseFn(world_folder, max_future_s, clock)

    def expand(self, lines):
        return lines | beam.ParDo(self._fn).with_outputs(DEAD_LETTERS, main="events")
