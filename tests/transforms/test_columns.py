"""A block's columns vouch only for lines that parse_event accepts, as the very record it makes."""
import json
from datetime import datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from models.records import CameraEvent, EventLine
from transforms.blocks import Block
from transforms.ingest.columns import capture_times, event_block, flat_objects, vouched_fields
from transforms.ingest.fields import InvalidRecord, time_field
from transforms.ingest.parse_events import _ParseBlocks, parse_event
from transforms.ingest.read_events import MAX_LINE_BYTES

CAMERAS = {"CAM-1": "street_grid", "MOB-1": "mobile"}
NOW_US = 1_796_500_000_000_000
GOOD = {"event_id": "e1", "camera_id": "CAM-1", "captured_at": "2026-11-29T08:00:00.250+08:00",
        "plate": "琼C12345", "plate_confidence": 0.9, "plate_color": "blue", "lane": 2}

numbers = (st.none() | st.booleans() | st.integers(-1000, 1000) | st.floats()
           | st.integers(10 ** 18, 10 ** 30) | st.sampled_from(["1", [1], {"a": 1}]))
times = st.sampled_from([
    "2026-11-29T08:00:00+08:00", "2026-11-29T08:00:00.5Z", "2024-02-29T23:59:59.999999-23:59",
    "2026-02-29T08:00:00+08:00", "2026-11-29T24:00:00+08:00", "2026-11-29T08:00:60+08:00",
    "2026-11-29T08:00:00+24:00", "0000-01-01T00:00:00Z", "0001-01-01T00:00:00Z", "2026-11-29T08:00:00",
    "2026-11-29 08:00:00+08:00", "2026-11-29t08:00:00+08:00", "2026-11-29T08:00:00.1234567+08:00",
    "2099-01-01T00:00:00Z", "２０２６-11-29T08:00:00Z", " 2026-11-29T08:00:00Z", "2026-13-01T00:00:00Z",
    "2026-11-29T08:00:00.000*08:00", "2026-11-29T08:00:00,000+08:00", "2026-11-29T08:00:00.000+08-00",
    "2026-11-29T08:00:00.0a0+08:00", "2026-11-29T08:00:00.000+08:00\x00",
]) | st.builds(
    "{:04d}-{:02d}-{:02d}T{:02d}:{:02d}:{:02d}{}{}".format,
    st.integers(0, 9999), st.integers(0, 13), st.integers(0, 32), st.integers(0, 24), st.integers(0, 60),
    st.integers(0, 60), st.sampled_from(["", ".1", ".25", ".123456", ".1234567"]),
    st.sampled_from(["Z", "+08:00", "-00:00", "+23:59", "-12:30", "+24:00", "+08:60", ""]))
# the shape nearly every camera writes, days, hours and offsets out of range too
written_as_cameras_do = st.builds(
    "{:04d}-{:02d}-{:02d}T{:02d}:{:02d}:{:02d}.{:03d}{}{:02d}:{:02d}".format,
    st.integers(0, 9999), st.integers(0, 13), st.integers(0, 32), st.integers(0, 24), st.integers(0, 60),
    st.integers(0, 60), st.integers(0, 999), st.sampled_from("+-"), st.integers(0, 24), st.integers(0, 60))


FIELDS = {
    "event_id": st.sampled_from(["e1", "", " ", "x" * 129]) | numbers,
    "camera_id": st.sampled_from(["CAM-1", "MOB-1", "nope", ""]) | numbers,
    "captured_at": times | numbers,
    "plate": st.sampled_from(["琼C12345", "琼c 1234s", "junk", "", "琼C" + "1" * 70]) | numbers,
    "plate_confidence": numbers, "plate_color": st.sampled_from(["blue", "red", ""]) | numbers,
    "image": st.sampled_from(["frames/1.jpg", ""]) | numbers,
    "image_kind": st.sampled_from(["frame", "plate", "", "crop"]) | numbers,
    "lon": numbers, "lat": numbers, "heading_deg": numbers, "speed_kmh": numbers, "lane": numbers,
    "extra": numbers | st.sampled_from(["{", "}", "[", "\\ud800"]),
}
events = st.fixed_dictionaries({}, optional=FIELDS)
IMAGE_ONLY = {**{key: value for key, value in GOOD.items() if key != "plate"}, "image": "frames/1.jpg"}
# a good event with one field changed, added or dropped: the lines that test each rule alone
near_good = st.tuples(st.sampled_from([GOOD, IMAGE_ONLY]), st.sampled_from(sorted(FIELDS))).flatmap(
    lambda base_field: (lambda base, field: FIELDS[field].map(lambda value: {**base, field: value})
                        | st.just({key: value for key, value in base.items() if key != field}))(*base_field))
lines = (events.map(lambda event: json.dumps(event, ensure_ascii=False))
         | st.builds(lambda event, cut: json.dumps(event)[:cut], events, st.integers(0, 60))
         | st.sampled_from(["", "{}", '{"a":"x}', '{","b":1}', "{'event_id':'e1'}", "{\ufffd}", "{NaN}"])
         | st.text(max_size=40))


def as_lines(texts: list[str]) -> list[EventLine]:
    return [EventLine(f"f:{number}", "/d", text) for number, text in enumerate(texts, 1)]


def vouched_events(lines: list[EventLine], cameras: dict[str, str], latest_us: int) -> list:
    """Each line's event as the block's columns build it where they vouch for the line, else None."""
    block = Block(lines)
    fields = vouched_fields(block.column("text"), cameras, latest_us)
    rows = [row for row, vouched in enumerate(fields) if vouched is not None]
    events = iter(event_block(block, rows, fields) if rows else ())
    return [None if vouched is None else next(events) for vouched in fields]


def parsed(line: EventLine):
    try:
        return parse_event(line, CAMERAS, NOW_US)
    except InvalidRecord as refused:
        return refused


def typed(record) -> list:
    """The record's fields with their types: 1 and 1.0 are equal, but not the same column."""
    return [(type(value), value) for value in record]


def vouched_as_parsed(texts: list[str]) -> None:
    block = as_lines(texts)
    for line, vouched in zip(block, vouched_events(block, CAMERAS, NOW_US), strict=True):
        if vouched is not None:
            event = parsed(line)
            assert isinstance(event, CameraEvent), (line.text, event)
            assert typed(vouched) == typed(event), line.text


@settings(max_examples=300, deadline=None)
@given(st.lists(lines, max_size=40))
def test_what_the_columns_vouch_for_is_exactly_what_parse_event_makes(texts):
    vouched_as_parsed(texts)


@settings(max_examples=500, deadline=None)
@given(st.lists(near_good.map(lambda event: json.dumps(event, ensure_ascii=False)), min_size=1, max_size=10))
def test_each_rule_alone_keeps_a_line_from_the_columns_as_it_keeps_it_from_the_events(texts):
    vouched_as_parsed(texts)


@settings(max_examples=300, deadline=None)
@given(st.lists(times | written_as_cameras_do | numbers, max_size=20))
def test_capture_times_are_read_as_the_standard_library_reads_them(values):
    latest_us = NOW_US
    for value, micros in zip(values, capture_times(values, latest_us), strict=True):
        if micros is not None:
            assert micros == time_field({"t": value}, "t", latest_us), value


@settings(max_examples=300, deadline=None)
@given(st.lists(written_as_cameras_do | times | numbers, max_size=30))
def test_a_time_written_as_cameras_write_it_is_read_exactly_when_the_standard_library_reads_it(values):
    for value, micros in zip(values, capture_times(values, NOW_US), strict=True):
        # (an offset's 60 minutes, which the standard library carries into its hours, are left to parse_event)
        if isinstance(value, str) and len(value) == 29 and value[19] == "." and value[23] in "+-" and value[27] < "6":
            try:
                expected = time_field({"t": value}, "t", NOW_US)
            except InvalidRecord:
                expected = None
            assert micros == expected, value


def test_the_common_shapes_of_a_capture_time_are_all_vouched_for():
    values = ["2026-11-29T08:00:00.250+08:00", "2026-11-29T00:00:00Z", "2024-02-29T23:59:59.999999-05:30",
              "1970-01-01T00:00:00+00:00"]
    expected = [round((datetime.fromisoformat(value).timestamp()) * 1_000_000) for value in values]
    assert capture_times(values, NOW_US) == expected
    assert capture_times(["2026-11-29T08:00:00+08:00"], NOW_US - 10 ** 15) == [None]  # after the latest


def test_a_clean_block_is_vouched_for_whole_and_a_bad_line_costs_only_itself():
    texts = [json.dumps({**GOOD, "event_id": f"e{n}"}, ensure_ascii=False) for n in range(300)]
    texts[150] = "{'event_id': 'single quotes'}"
    texts[151] = texts[151][:-1] + ', "note": "[braces]"}'
    vouched = vouched_events(as_lines(texts), CAMERAS, NOW_US)
    assert [index for index, event in enumerate(vouched) if event is None] == [150, 151]
    assert vouched[0].lane == 2 and type(vouched[0].lane) is int and vouched[0].captured_at_us == 1_795_910_400_250_000


def test_a_line_over_the_byte_limit_is_left_to_parse_event_however_well_formed():
    texts = [json.dumps(GOOD, ensure_ascii=False)] * 8  # a run whose characters are few enough on average
    texts[1] = json.dumps({**GOOD, "image": "x" * MAX_LINE_BYTES})  # valid JSON, 8 MiB and more
    vouched = vouched_events(as_lines(texts), CAMERAS, NOW_US)
    assert vouched[1] is None and all(event is not None for event in vouched[:1] + vouched[2:])
    assert str(parsed(as_lines(texts)[1])) == f"line longer than {MAX_LINE_BYTES} bytes"


def test_lines_that_only_parse_together_are_each_left_to_decode_alone():
    assert flat_objects(['{"a":"x}', '{","b":1}']) == [None, None]
    assert flat_objects(['{"a":1}', '{"b":2}']) == [{"a": 1}, {"b": 2}]


def test_the_stage_keeps_every_line_as_an_event_or_a_dead_letter_with_its_reason(world_folder):
    sample_camera = "QH-SG-025"
    good = {**GOOD, "camera_id": sample_camera}
    texts = [json.dumps({**good, "event_id": f"e{n}"}, ensure_ascii=False) for n in range(10)]
    texts[3] = json.dumps({**good, "lane": "two"})
    texts[7] = "{not json"
    stage = _ParseBlocks(world_folder, 300.0, lambda: NOW_US / 1e6)
    stage.setup()
    stage.start_bundle()
    outputs = list(stage.process(Block(as_lines(texts))))
    [stamped] = [output for output in outputs if not hasattr(output, "tag")]
    events = list(stamped.value)
    reasons = [output.value.reason for output in outputs if hasattr(output, "tag")]
    assert [event.event_id for event in events] == [f"e{n}" for n in range(10) if n not in (3, 7)]
    assert stamped.timestamp.micros == min(event.captured_at_us for event in events)  # none is late
    assert reasons == ["lane: expected a number, got str", "not valid JSON"]
