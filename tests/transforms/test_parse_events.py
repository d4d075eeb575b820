import json

import pytest

from models.records import EventLine
from transforms.ingest.fields import InvalidRecord
from transforms.ingest.parse_events import parse_event

CAMERAS = {"CAM-1": "street_grid", "MOB-1": "mobile"}
NOW_US = 1_796_000_000_000_000
GOOD = {"event_id": "e1", "camera_id": "CAM-1", "captured_at": "2026-11-29T08:00:00.250+08:00",
        "plate": "琼C12345", "plate_confidence": 0.9, "plate_color": "blue"}


def line(obj_or_text) -> EventLine:
    text = obj_or_text if isinstance(obj_or_text, str) else json.dumps(obj_or_text, ensure_ascii=False)
    return EventLine("events.jsonl:7", "/data", text)


def parse(obj_or_text):
    return parse_event(line(obj_or_text), CAMERAS, NOW_US)


def test_a_good_event_becomes_a_typed_record_in_utc_microseconds():
    event = parse(GOOD)
    assert event.event_id == "e1"
    assert event.captured_at_us == 1_795_910_400_250_000
    assert event.plate == "琼C12345" and event.plate_source == "camera"
    assert event.source == "events.jsonl:7" and event.image_kind == "frame"


def test_an_image_only_event_waits_for_the_recogniser():
    event = parse({**GOOD, "plate": None, "image": "frames/1.jpg"})
    assert event.plate is None and event.plate_source == "none" and event.image == "frames/1.jpg"


@pytest.mark.parametrize("text, reason", [
    ("", "empty line"),
    ("{not json", "not valid JSON"),
    ('{"event_id": "e1", "camera_id": "CAM-1", "captured_at": "2026-11-2', "not valid JSON"),
    ("[1, 2]", "not a JSON object"),
    ("\ufffd{}", "not valid UTF-8"),
    ("[" * 100_000, "not valid JSON"),
])
def test_unreadable_lines_are_refused_with_a_reason(text, reason):
    with pytest.raises(InvalidRecord, match=reason):
        parse(text)


@pytest.mark.parametrize("change, reason", [
    ({"event_id": None}, "event_id: missing"),
    ({"event_id": 17}, "event_id: expected a string"),
    ({"camera_id": "CAM-404"}, "unknown camera"),
    ({"captured_at": "yesterday"}, "not an ISO-8601"),
    ({"captured_at": "2026-11-29T08:00:00"}, "no UTC offset"),
    ({"captured_at": "2099-01-01T00:00:00+08:00"}, "too far in the future"),
    ({"plate_confidence": "high"}, "plate_confidence: expected a number"),
    ({"plate_confidence": 1.5}, "outside"),
    ({"plate_confidence": True}, "expected a number"),
    ({"plate_color": "purple"}, "plate_color"),
    ({"plate": "💥💥💥"}, "not a licence plate"),
    ({"plate": None}, "neither plate nor image"),
    ({"image": "x.jpg", "image_kind": "poster"}, "image_kind"),
    ({"lon": 110.4}, "give both or neither"),
    ({"camera_id": "MOB-1"}, "required for a mobile camera"),
    ({"speed_kmh": "fast"}, "speed_kmh"),
    ({"lat": 1e308, "lon": 110.0}, "outside"),
])
def test_contract_violations_name_the_rule_and_keep_the_event_id(change, reason):
    with pytest.raises(InvalidRecord, match=reason) as refused:
        parse({**GOOD, **change})
    expected_id = change.get("event_id", "e1")
    assert refused.value.record_id == (expected_id if isinstance(expected_id, str) else None)


def test_nan_is_not_a_number_here():
    with pytest.raises(InvalidRecord, match="outside"):
        parse('{"event_id": "e1", "camera_id": "CAM-1", "captured_at": '
              '"2026-11-29T08:00:00+08:00", "plate": "琼C12345", "plate_confidence": NaN}')


def test_junk_plate_with_an_image_falls_back_to_the_image():
    event = parse({**GOOD, "plate": "##", "image": "x.jpg"})
    assert event.plate is None and event.image == "x.jpg"
