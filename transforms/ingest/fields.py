"""Validating one JSON line of any input: camera events, incident reports, dispatch outcomes.

A line either yields its record or raises InvalidRecord with the reason that
ends up in `dead_letters`; nothing else escapes, whatever the line holds.
"""
import json
import math
import re
from datetime import UTC, datetime, timedelta
from typing import Literal, Optional, overload

import orjson

from models.records import DeadLetter, EventLine
from transforms.ingest.read_events import MAX_LINE_BYTES, UNDECODABLE

RAW_LIMIT = 1000
# A lone UTF-16 surrogate can only come from a JSON escape: the line itself was decoded from UTF-8.
SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)


class InvalidRecord(ValueError):
    """The reason a line breaks its contract, as it appears in dead_letters."""

    record_id: Optional[str] = None


def dead_letter(line: EventLine, stage: str, reason: str, record_id: Optional[str] = None) -> DeadLetter:
    return DeadLetter(line.source, record_id, stage, reason, line.text[:RAW_LIMIT])


def decode_line(line: EventLine) -> dict:
    """The line's JSON object."""
    if not line.text.strip():
        raise InvalidRecord("empty line")
    if too_long(line.text):
        raise InvalidRecord(f"line longer than {MAX_LINE_BYTES} bytes")
    if UNDECODABLE in line.text:
        raise InvalidRecord("not valid UTF-8")
    try:
        obj = _loads(line.text)
    except (ValueError, RecursionError):
        raise InvalidRecord("not valid JSON") from None
    if not isinstance(obj, dict):
        raise InvalidRecord("not a JSON object")
    if SURROGATE_ESCAPE.search(line.text):
        _refuse_lone_surrogates(obj)
    return obj


def _loads(text: str):
    """The JSON value of `text`, exactly as the standard library reads it, in half the time.

    orjson reads a flat object, as nearly every line is. What it refuses (NaN,
    Infinity, a lone surrogate escape, a number past a double), a line that
    may nest a value, and one with a number orjson may have read otherwise (an
    integer past 64 bits becomes a float) go to the standard library, so a
    field check names the same problem whichever reader answered.
    """
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)
    if type(value) is not dict or text.find("{", 1) >= 0 or text.find("[", 1) >= 0:
        return json.loads(text)
    for item in value.values():
        if type(item) is float and not -_INT64 < item < _INT64:
            return json.loads(text)
    return value


_INT64 = 2.0 ** 63


def too_long(text: str) -> bool:
    """Over MAX_LINE_BYTES in UTF-8; encoded only when the length alone cannot tell."""
    if len(text) > MAX_LINE_BYTES:
        return True
    return len(text) * 4 > MAX_LINE_BYTES and len(text.encode("utf-8", "surrogatepass")) > MAX_LINE_BYTES


def _refuse_lone_surrogates(value, where: str = "") -> None:
    """JSON escapes can spell half a UTF-16 pair, which no UTF-8 coder, file or table can hold."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidRecord(f"{where or 'a key'}: not valid Unicode (a lone surrogate escape)") from None
    elif isinstance(value, dict):
        for key, item in value.items():
            _refuse_lone_surrogates(key)
            _refuse_lone_surrogates(item, where or key)
    elif isinstance(value, list):
        for item in value:
            _refuse_lone_surrogates(item, where)


def number_field(obj: dict, field: str, low: float, high: float) -> Optional[float]:
    value = obj.get(field)
    if type(value) is float and low <= value <= high:  # most values: NaN and infinities fail the range
        return value
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidRecord(f"{field}: expected a number, got {type(value).__name__}")
    if isinstance(value, float) and not math.isfinite(value) or not low <= value <= high:
        raise InvalidRecord(f"{field}: {_shown(value)} outside [{low}, {high}]")
    return float(value)


def _shown(value) -> str:
    """A number as a reason shows it: a JSON integer may have thousands of digits."""
    return repr(value) if isinstance(value, float) or abs(value) < 10 ** 30 else "a huge number"


def count_field(obj: dict, field: str, high: int = 10_000) -> int:
    """A whole number of people or things, 0 when absent."""
    value = number_field(obj, field, 0, high)
    if value is None:
        return 0
    if value != int(value):
        raise InvalidRecord(f"{field}: {value!r} is not a whole number")
    return int(value)


@overload
def text_field(obj: dict, field: str, required: Literal[True], limit: int = 128) -> str: ...


@overload
def text_field(obj: dict, field: str, required: bool = False, limit: int = 128) -> Optional[str]: ...


def text_field(obj: dict, field: str, required: bool = False, limit: int = 128) -> Optional[str]:
    """The field's string, None where it is absent; a required field is present and not blank."""
    value = obj.get(field)
    if type(value) is str and len(value) <= limit and (not required or value.strip()):  # most values
        return value
    if value is None:
        if required:
            raise InvalidRecord(f"{field}: missing")
        return None
    if not isinstance(value, str):
        raise InvalidRecord(f"{field}: expected a string, got {type(value).__name__}")
    if required and not value.strip():
        raise InvalidRecord(f"{field}: empty")
    if len(value) > limit:
        raise InvalidRecord(f"{field}: longer than {limit} characters")
    return value


def choice_field(obj: dict, field: str, allowed: frozenset) -> str:
    value = text_field(obj, field, required=True)
    if value not in allowed:
        raise InvalidRecord(f"{field}: not one of " + ", ".join(sorted(allowed)))
    return value


def time_field(obj: dict, field: str, latest_us: int) -> int:
    """An ISO-8601 time with UTC offset, in microseconds since the epoch."""
    text = text_field(obj, field, required=True, limit=64)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidRecord(f"{field}: not an ISO-8601 timestamp") from None
    if moment.tzinfo is None:
        raise InvalidRecord(f"{field}: no UTC offset")
    micros = (moment - EPOCH) // MICROSECOND
    if micros > latest_us:
        raise InvalidRecord(f"{field}: too far in the future")
    return micros


def position_fields(obj: dict, required: bool) -> tuple[Optional[float], Optional[float]]:
    """(lon, lat) in WGS84, both or neither."""
    lon = number_field(obj, "lon", -180.0, 180.0)
    lat = number_field(obj, "lat", -90.0, 90.0)
    if (lon is None) != (lat is None):
        raise InvalidRecord("lon and lat: give both or neither")
    if required and lon is None:
        raise InvalidRecord("lon/lat: missing")
    return lon, lat
