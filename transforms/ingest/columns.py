"""Checking a block of camera event lines a column at a time (ParseEventBlocks).

Nearly every line of a camera feed is a flat JSON object that keeps every
rule, and a function call per field of each line cost more than any other
stage's work on the event (docs/performance.md). Here a block's lines are
decoded as one JSON array, each field is checked down its column, the
capture times are parsed together, and the events are built as a block's
columns. These checks only ever vouch for a line: one that breaks a rule, or
takes a shape they do not know, is left to `parse_event`, which names its
reason. A line they vouch for becomes exactly the record `parse_event` makes
of it; the property tests hold the two side by side on any lines.
"""
from collections.abc import Sequence
from typing import Optional

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from models.plate_rules import normalise_plate
from models.records import IMAGE_KINDS, PLATE_COLORS, CameraEvent
from transforms.blocks import Block
from transforms.ingest.fields import SURROGATE_ESCAPE
from transforms.ingest.read_events import MAX_LINE_BYTES, UNDECODABLE


def vouched_fields(texts: Sequence[str], cameras: dict[str, str], latest_us: int) -> list[Optional[tuple]]:
    """Each line's LINE_FIELDS, as `parse_event` takes them, where the columns vouch for the
    line; None where `parse_event` must look."""
    objects = flat_objects(texts)
    rows = [index for index, record in enumerate(objects) if record is not None]
    found = [record for record in objects if record is not None]
    event_id, camera_id, captured_at, raw_plate, confidence, color, image, image_kind, lon, lat, \
        heading, speed, lane = ([record.get(field) for record in found] for field in _KEYS)
    # each field as parse_event takes it, REFUSED where it would not
    camera_id = [camera if layer is not None and (layer != "mobile" or x is not None) else REFUSED
                 for camera, layer, x in zip(_texts(camera_id, required=True), _layers(camera_id, cameras), lon)]
    raw_plate, image = _texts(raw_plate, limit=64), _texts(image, limit=MAX_LINE_BYTES)
    read = [normalise_plate(raw) if type(raw) is str else None for raw in raw_plate]
    plates = [REFUSED if raw is REFUSED or plate is None and picture is None else plate
              for raw, plate, picture in zip(raw_plate, read, image)]
    confidence = [value if value is REFUSED else (1.0 if value is None else value) if plate else None
                  for value, plate in zip(_numbers(confidence, 0.0, 1.0), plates)]
    lon, lat = _numbers(lon, -180.0, 180.0), _numbers(lat, -90.0, 90.0)
    lon = [x if (x is None) == (y is None) else REFUSED for x, y in zip(lon, lat)]
    kinds = [kind or "frame" for kind in _texts(image_kind)]
    columns = zip(
        _texts(event_id, required=True), camera_id, capture_times(captured_at, latest_us), plates, confidence,
        [value if value is None or value in PLATE_COLORS else REFUSED for value in _texts(color)],
        image, [kind if kind in IMAGE_KINDS else REFUSED for kind in kinds], lon, lat,
        _numbers(heading, -360.0, 360.0), _numbers(speed, 0.0, 500.0), _whole(_numbers(lane, 0, 64)))
    vouched: list[Optional[tuple]] = [None] * len(texts)
    for index, fields in zip(rows, columns):
        if REFUSED not in fields and fields[2] is not None:
            vouched[index] = fields
    return vouched


REFUSED = object()  # a value that keeps its line from the columns' path
# The fields of a CameraEvent that its line gives, in the order of vouched_fields' tuples.
LINE_FIELDS = ("event_id", "camera_id", "captured_at_us", "plate", "plate_confidence", "plate_color", "image",
               "image_kind", "lon", "lat", "heading_deg", "speed_kmh", "lane")
# Their keys on the line, where the capture time is written as text.
_KEYS = tuple("captured_at" if name == "captured_at_us" else name for name in LINE_FIELDS)


def line_fields(event: CameraEvent) -> tuple:
    """The LINE_FIELDS of an event that `parse_event` made, as vouched_fields gives them."""
    return tuple(getattr(event, name) for name in LINE_FIELDS)


assert CameraEvent._fields == (
    "source", "event_id", "camera_id", "captured_at_us", "plate", "plate_confidence", "plate_color", "plate_source",
    "plate_alternates", "image", "image_kind", "image_base", "lon", "lat", "heading_deg", "speed_kmh", "lane",
), "event_block builds CameraEvents' columns by position"


def event_block(lines: Block, rows: list[int], fields: list[Optional[tuple]]) -> Block:
    """The CameraEvents of lines[rows], whose LINE_FIELDS are fields[row]: a column at a time,
    each as `parse_event` makes it."""
    sources, bases = lines.column("source"), lines.column("base_dir")
    (event_id, camera_id, captured_at_us, plate, confidence, color, image, kind, lon, lat, heading, speed,
     lane) = zip(*[fields[row] for row in rows])
    return Block.of(CameraEvent, (
        [sources[row] for row in rows], event_id, camera_id, captured_at_us, plate, confidence, color,
        ["camera" if read else "none" for read in plate], [[] for _ in rows], image, kind,
        [bases[row] for row in rows], lon, lat, heading, speed, lane))


def _layers(camera_ids: list, cameras: dict[str, str]) -> list[Optional[str]]:
    return [cameras.get(camera) if type(camera) is str else None for camera in camera_ids]


def _texts(values: list, required: bool = False, limit: int = 128) -> list:
    """The values `fields.text_field` takes as they are: a string within `limit`, not blank
    where required, and absent (None) where not."""
    if required:
        return [value if type(value) is str and len(value) <= limit and value.strip() != "" else REFUSED
                for value in values]
    return [value if value is None or type(value) is str and len(value) <= limit else REFUSED
            for value in values]


def _whole(numbers: list) -> list:
    """Lanes as `parse_event` keeps them: whole numbers."""
    return [int(value) if type(value) is float else value for value in numbers]


def _numbers(values: list, low: float, high: float) -> list:
    """`fields.number_field`'s values: absent (None), or a JSON number in [low, high] as a float."""
    return [None if value is None else float(value)
            if (type(value) is float or type(value) is int) and low <= value <= high else REFUSED
            for value in values]


def flat_objects(texts: Sequence[str]) -> list[Optional[dict]]:
    """Each line's object where it is one flat JSON object that needs no check but decoding;
    None where `fields.decode_line` must read it alone.

    A line that opens and closes with its only braces, holds no bracket, no
    replacement character, no escaped lone surrogate and is short enough is
    one object or not JSON at all. Runs of such lines are decoded as arrays of
    up to RUN_LINES, so that a line which breaks its array, left for
    decode_line, costs its neighbours a second decoding only within its run.
    """
    objects: list[Optional[dict]] = [None] * len(texts)
    for start in range(0, len(texts), RUN_LINES):
        end = min(start + RUN_LINES, len(texts))
        joined = ",".join(texts[start:end])
        if _plain(joined, end - start) and all(map(_braced, texts[start:end])):
            _decode(texts, start, end, objects, joined)
            continue
        run = start
        for index in range(start, end + 1):  # runs of plain lines between the others
            if index == end or not _plain_line(texts[index]):
                _decode(texts, run, index, objects)
                run = index + 1
    return objects


RUN_LINES = 128
_RETRIES = 4  # lines a run may break its array on before the rest of it is read line by line


def _plain(text: str, lines: int) -> bool:
    """Whether `text`, `lines` lines each opening and closing with a brace, holds no other brace
    nor anything decode_line checks for: so few characters that no line of them can be over
    MAX_LINE_BYTES in UTF-8 (a line near the limit is read alone), and no undecodable byte."""
    return (text.count("{") == lines and text.count("}") == lines and "[" not in text
            and len(text) * 4 <= MAX_LINE_BYTES and UNDECODABLE not in text
            and not SURROGATE_ESCAPE.search(text))


def _braced(text: str) -> bool:
    return text[:1] == "{" and text[-1:] == "}"


def _plain_line(text: str) -> bool:
    return _braced(text) and _plain(text, 1)


def _decode(texts: Sequence[str], start: int, end: int, objects: list, joined: Optional[str] = None) -> None:
    """objects[start:end] from one array of those plain lines, less any line that breaks it."""
    for _ in range(_RETRIES):
        if start >= end:
            return
        try:
            values = orjson.loads("[" + (joined or ",".join(texts[start:end])) + "]")
        except orjson.JSONDecodeError as broken:
            bad = _line_at(texts, start, end, broken.pos)
            _decode(texts, start, bad, objects)
            start, joined = bad + 1, None
            continue
        # one object per line, or the lines did not keep to themselves: leave them all to decode_line
        if len(values) == end - start and all(type(value) is dict for value in values):
            objects[start:end] = values
        return


def _line_at(texts: Sequence[str], start: int, end: int, position: int) -> int:
    """The line of texts[start:end] at `position` in their array, its comma counting as its own."""
    edge = 1
    for index in range(start, end):
        edge += len(texts[index]) + 1
        if position < edge:
            return index
    return end - 1


# What datetime.fromisoformat reads, with a UTC offset, in the shape cameras write.
_ISO_TIME = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?([+-]\d\d:\d\d|Z)$"
_MONTH_DAYS = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])
# The one of those shapes nearly every camera writes, in milliseconds: 2026-11-29T08:00:08.563+08:00,
# read as an array of characters; the places of its digits and of its marks.
_COMMON = "0000-00-00T00:00:00.000+00:00"
_COMMON_DIGITS = np.array([at for at, char in enumerate(_COMMON) if char == "0"])
_COMMON_MARKS = np.array([at for at, char in enumerate(_COMMON) if char not in "0+"])
_COMMON_MARK_CODES = np.array([ord(_COMMON[at]) for at in _COMMON_MARKS])
_SIGN = _COMMON.index("+")


def capture_times(values: list, latest_us: int) -> list[Optional[int]]:
    """Microseconds since the epoch of each ISO-8601 time with a UTC offset, as
    `fields.time_field` reads it; None where it is not one in this shape, or
    is after `latest_us`. Times in the shape most cameras write are read as one
    array of characters; the others, a few, as Arrow strings."""
    times: list[Optional[int]] = [None] * len(values)
    shaped, parts = _common_times(values)
    _set_times(times, np.flatnonzero(shaped), parts, latest_us)
    others = [row for row in np.flatnonzero(~shaped).tolist() if type(values[row]) is str]
    if others:
        rows, parts = _written_times([values[row] for row in others])
        _set_times(times, np.array(others)[rows], parts, latest_us)
    return times


def _common_times(values: list) -> tuple[np.ndarray, tuple[np.ndarray, ...]]:
    """Which values are in `_COMMON`'s shape, and the (year, month, day, hour, minute, second,
    micros, offset hours, offset minutes, west of Greenwich) of each that is."""
    texts = [value if type(value) is str and len(value) == len(_COMMON) else "" for value in values]
    codes = np.array(texts, dtype=f"U{len(_COMMON)}").view(np.uint32).reshape(len(texts), len(_COMMON))
    digits = codes.astype(np.int64) - ord("0")
    shaped = (((digits[:, _COMMON_DIGITS] >= 0) & (digits[:, _COMMON_DIGITS] <= 9)).all(axis=1)
              & (codes[:, _COMMON_MARKS] == _COMMON_MARK_CODES).all(axis=1)
              & ((codes[:, _SIGN] == ord("+")) | (codes[:, _SIGN] == ord("-"))))
    d = digits[shaped]

    def number(start: int, stop: int) -> np.ndarray:
        value = np.zeros(len(d), dtype=np.int64)
        for at in range(start, stop):
            value = value * 10 + d[:, at]
        return value

    return shaped, (number(0, 4), number(5, 7), number(8, 10), number(11, 13), number(14, 16), number(17, 19),
                  number(20, 23) * 1000, number(24, 26), number(27, 29), codes[shaped, _SIGN] == ord("-"))


def _written_times(values: list) -> tuple[np.ndarray, tuple[np.ndarray, ...]]:
    """The rows of any shape `_ISO_TIME` allows, and their parts as `_common_times` gives them."""
    texts = pa.array([value if type(value) is str else None for value in values], pa.string())
    shaped = pc.fill_null(pc.match_substring_regex(texts, _ISO_TIME), False)
    # 2026-11-29T08:00:08.563+08:00: fixed places but for the fraction, Z written as an offset
    written = pc.replace_substring_regex(texts.filter(shaped), "Z$", "+00:00")

    def number(start: int, stop: Optional[int], width: int = 0) -> np.ndarray:
        digits = pc.utf8_slice_codeunits(written, start, stop)
        if width:  # ".5" is 500,000 microseconds, and no fraction none
            digits = pc.utf8_rpad(digits, width, "0")
        return pc.cast(digits, pa.int64()).to_numpy()

    rows = np.flatnonzero(shaped.to_numpy(zero_copy_only=False))
    if not len(rows):
        return rows, ()
    west = pc.equal(pc.utf8_slice_codeunits(written, -6, -5), "-").to_numpy(zero_copy_only=False)
    return rows, (number(0, 4), number(5, 7), number(8, 10), number(11, 13), number(14, 16), number(17, 19),
                  number(20, -6, 6), number(-5, -3), number(-2, None), west)


def _set_times(times: list, rows: np.ndarray, parts: tuple[np.ndarray, ...], latest_us: int) -> None:
    """times[row] for each row whose parts make a valid moment no later than `latest_us`."""
    if not len(rows):
        return
    year, month, day, hour, minute, second, micros, offset_hours, offset_minutes, west = parts
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    month_days = _MONTH_DAYS[np.clip(month, 1, 12) - 1] + (leap & (month == 2))
    offset_s = np.where(west, -1, 1) * (offset_hours * 3600 + offset_minutes * 60)
    seconds = _days_since_epoch(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second - offset_s
    moments = seconds * 1_000_000 + micros
    valid = ((year >= 1) & (month >= 1) & (month <= 12) & (day >= 1) & (day <= month_days) & (hour <= 23)
             & (minute <= 59) & (second <= 59) & (offset_hours <= 23) & (offset_minutes <= 59)
             & (moments <= latest_us))
    for row, moment, ok in zip(rows.tolist(), moments.tolist(), valid.tolist()):
        if ok:
            times[row] = moment


def _days_since_epoch(year: np.ndarray, month: np.ndarray, day: np.ndarray) -> np.ndarray:
    """Days from 1970-01-01 to each proleptic Gregorian date, counted in 400-year eras from March."""
    shifted = year - (month <= 2)
    era = shifted // 400
    year_of_era = shifted - era * 400
    day_of_year = (153 * ((month + 9) % 12) + 2) // 5 + day - 1
    day_of_era = year_of_era * 365 + year_of_era // 4 - year_of_era // 100 + day_of_year
    return era * 146_097 + day_of_era - 719_468
