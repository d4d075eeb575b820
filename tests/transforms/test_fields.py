"""Every field of every input survives any string or number JSON can carry."""
import io
import json

import pytest
from apache_beam.coders import RowCoder

from models.records import EventLine
from transforms.ingest.fields import InvalidRecord, decode_line, number_field
from transforms.ingest.parse_events import parse_event
from transforms.ingest.parse_reports import parse_incident, parse_outcome
from transforms.ingest.read_events import line_texts

NOW_US = 1_796_500_000_000_000
EVENT = {"event_id": "e1", "camera_id": "CAM-1", "captured_at": "2026-11-29T08:00:00+08:00",
         "plate": "琼C12345", "plate_color": "blue", "image": "a.jpg", "image_kind": "frame", "note": "x"}
INCIDENT = {"incident_id": "i1", "kind": "public_order", "category": "theft",
            "reported_at": "2026-11-29T08:00:00+08:00", "lon": 110.46, "lat": 19.25}
OUTCOME = {"dispatch_id": "D-1", "status": "acknowledged", "at": "2026-11-29T08:01:00+08:00",
           "dispatched_at": "2026-11-29T08:00:00+08:00", "responder_id": "R1", "lon": 110.46, "lat": 19.25}
PARSERS = {
    "event": (EVENT, lambda line: parse_event(line, {"CAM-1": "street_grid"}, NOW_US)),
    "incident": (INCIDENT, lambda line: parse_incident(line, NOW_US)),
    "outcome": (OUTCOME, lambda line: parse_outcome(line, NOW_US, frozenset({"R1"}))),
}
CASES = [(kind, field) for kind, (obj, _) in PARSERS.items() for field, value in obj.items()
         if isinstance(value, str)]


def parsed(kind: str, obj: dict):
    return PARSERS[kind][1](EventLine("f:1", "/d", json.dumps(obj, ensure_ascii=True)))


@pytest.mark.parametrize("kind", PARSERS)
def test_each_valid_line_parses_and_its_record_passes_beams_coder(kind):
    record = parsed(kind, PARSERS[kind][0])
    coder = RowCoder.from_type_hint(type(record), None)
    assert coder.decode(coder.encode(record)) == record


@pytest.mark.parametrize("kind, field", CASES)
@pytest.mark.parametrize("surrogates", ["\ud800", "a\udfffb", "\udc00\ud800"])
def test_a_lone_surrogate_in_any_string_field_is_refused_by_name(kind, field, surrogates):
    obj = {**PARSERS[kind][0], field: surrogates}
    with pytest.raises(InvalidRecord, match=f"^{field}: not valid Unicode"):
        parsed(kind, obj)


def test_a_surrogate_pair_is_a_character_like_any_other():
    event = parsed("event", {**EVENT, "event_id": "\ud83d\ude00"})
    assert event.event_id == "\U0001F600"


def test_a_lone_surrogate_in_a_key_or_nested_value_is_refused():
    with pytest.raises(InvalidRecord, match="a key: not valid Unicode"):
        decode_line(EventLine("f:1", "/d", '{"\\ud800": 1}'))
    with pytest.raises(InvalidRecord, match="extra: not valid Unicode"):
        decode_line(EventLine("f:1", "/d", '{"extra": [{"x": "\\udbff"}]}'))


@pytest.mark.parametrize("value, shown", [(10 ** 400, "a huge number"), (-(10 ** 400), "a huge number"),
                                          (float("nan"), "nan"), (float("inf"), "inf"), (2, "2")])
def test_numbers_out_of_range_are_refused_whatever_their_size(value, shown):
    with pytest.raises(InvalidRecord, match=f"lane: {shown} outside"):
        number_field({"lane": value}, "lane", 0, 1)


@pytest.mark.parametrize("text", [
    '{"lane": 123456789012345678901234567890}', '{"lane": -9223372036854775809}', '{"lane": 18446744073709551615}',
    '{"lane": NaN}', '{"lane": -Infinity}', '{"lane": 1e400}', '{"lane": 2.5, "lane": 3}', '{"lane": -0.0}',
    '{"a": "\\ud800"}', '{"a": "\\ud83d\\ude00"}', '{"a": [1, {"b": 12345678901234567890123}]}', '[1, 2]', '"x"'])
def test_a_line_is_read_as_the_standard_librarys_json_reads_it(text):
    obj = json.loads(text)
    if not isinstance(obj, dict):
        with pytest.raises(InvalidRecord, match="not a JSON object"):
            decode_line(EventLine("f:1", "/d", text))
    elif "a" in obj and "\\ud800" in text:
        with pytest.raises(InvalidRecord, match="a: not valid Unicode"):
            decode_line(EventLine("f:1", "/d", text))
    else:
        assert repr(decode_line(EventLine("f:1", "/d", text))) == repr(obj)


@pytest.mark.parametrize("text", ['{"lane": 1,}', '{"lane": 01}', '{"lane": "\t"}', "\ufeff{}", '{"a": ' * 2000])
def test_a_line_the_standard_library_refuses_is_not_valid_json(text):
    with pytest.raises((json.JSONDecodeError, RecursionError)):
        json.loads(text)
    with pytest.raises(InvalidRecord, match="^not valid JSON$"):
        decode_line(EventLine("f:1", "/d", text))


def test_a_line_over_the_byte_limit_is_refused_even_when_its_characters_are_few():
    wide = "琼" * (3 * 1024 * 1024)  # 3 M characters, 9 MB of UTF-8
    with pytest.raises(InvalidRecord, match="line longer than 8388608 bytes"):
        decode_line(EventLine("f:1", "/d", wide))


def test_lines_are_cut_as_they_stream_and_counted_like_newlines():
    data = b"a\n" + b"x" * 50 + b"\n\nlast"
    assert list(line_texts(io.BytesIO(data), max_bytes=10)) == ["a", "x" * 11, "", "last"]
    assert list(line_texts(io.BytesIO(b"one\ntwo\n"), max_bytes=10)) == ["one", "two"]
    assert list(line_texts(io.BytesIO(b""), max_bytes=10)) == []
