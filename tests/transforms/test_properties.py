"""Property tests: no input makes a stage raise anything but its own refusal."""
import json

from apache_beam.coders import RowCoder
from hypothesis import given, settings
from hypothesis import strategies as st

from models.plate_rules import canonical, normalise_plate, substitutions
from models.records import CameraEvent, EventLine
from tests.builders import WATCHLIST_INDEX, passing_of
from transforms.ingest.fields import InvalidRecord
from transforms.ingest.parse_events import parse_event
from transforms.ingest.parse_reports import parse_incident, parse_outcome

CAMERAS = {"CAM-1": "street_grid", "MOB-1": "mobile"}
NOW_US = 1_796_500_000_000_000

# Any string JSON can carry: lone UTF-16 surrogates and NUL included, and integers of any size.
any_text = (st.text(alphabet=st.characters(codec=None, exclude_categories=()), max_size=40)
            | st.sampled_from(["\ud800", "id\udfff", "\udc00\ud800", "nul\x00"]))
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.integers(min_value=10 ** 300, max_value=10 ** 400)
    | st.floats() | any_text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=20)
fields = st.fixed_dictionaries({}, optional={
    "event_id": json_values | st.text(max_size=20),
    "camera_id": st.sampled_from(["CAM-1", "MOB-1", "nope"]) | json_values,
    "captured_at": st.sampled_from(["2026-11-29T08:00:00+08:00", "2026-11-29T08:00:00"]) | json_values,
    "plate": st.sampled_from(["琼C12345", "琼c 1234s"]) | st.text(max_size=12) | json_values,
    "plate_confidence": json_values, "plate_color": json_values, "image": json_values,
    "image_kind": json_values, "lon": json_values, "lat": json_values, "speed_kmh": json_values,
    "heading_deg": json_values, "lane": json_values,
})


def as_read(text: str) -> EventLine:
    """The line as the readers hand it on: encoded to bytes, decoded as UTF-8 with replacement."""
    return EventLine("f:1", "/d", text.encode("utf-8", "surrogatepass").decode("utf-8", errors="replace"))


def outcome(text: str):
    try:
        event = parse_event(as_read(text), CAMERAS, NOW_US)
    except InvalidRecord as refused:
        assert str(refused)
        return refused
    assert round_trips(event)
    return event


def round_trips(record) -> bool:
    """Every accepted record must pass through Beam's coder: the next stage encodes it."""
    coder = RowCoder.from_type_hint(type(record), None)
    return coder.decode(coder.encode(record)) == record


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=200))
def test_any_text_is_an_event_or_a_reasoned_refusal(text):
    assert isinstance(outcome(text), (CameraEvent, InvalidRecord))


@settings(max_examples=400, deadline=None)
@given(fields)
def test_any_json_object_is_an_event_or_a_reasoned_refusal(obj):
    result = outcome(json.dumps(obj, allow_nan=True, ensure_ascii=bool(obj) and len(obj) % 2 == 0))
    if isinstance(result, CameraEvent):
        assert result.plate or result.image
        assert result.camera_id in CAMERAS and result.captured_at_us <= NOW_US


@given(st.text(max_size=20))
def test_normalisation_is_idempotent_and_never_raises(text):
    plate = normalise_plate(text)
    assert plate is None or normalise_plate(plate) == plate


@given(st.sampled_from(["琼C12345", "粤B80D17", "京A1234学"]), st.data())
def test_substitutions_are_symmetric_and_count_differences(plate, data):
    positions = data.draw(st.sets(st.integers(1, len(plate) - 1), max_size=3))
    swap = {"0": "D", "D": "0", "8": "B", "B": "8", "1": "7", "7": "1", "2": "Z", "5": "S"}
    misread = "".join(swap.get(c, c) if i in positions else c for i, c in enumerate(plate))
    expected = sum(a != b for a, b in zip(plate, misread))
    assert canonical(misread) == canonical(plate)
    assert substitutions(misread, plate) == substitutions(plate, misread) == expected


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=12), st.lists(st.text(max_size=12), max_size=3),
       st.floats(0, 1), st.integers(0, 3))
def test_the_matcher_takes_any_read_and_alternates_without_raising(read, alternates, confidence, k):
    from transforms.enrich.match_watchlist import hits_for
    plate = normalise_plate(read) or "琼C12345"
    hits = hits_for(passing_of(plate, confidence, [normalise_plate(a) or a for a in alternates]),
                    WATCHLIST_INDEX, k, "v")
    assert all(h.substitutions <= k and 0 <= h.score <= 1 for h in hits)
    assert len({h.entry_id for h in hits}) == len(hits)


report_fields = st.fixed_dictionaries({}, optional={
    name: json_values | st.sampled_from(values) for name, values in {
        "incident_id": ["i1"], "kind": ["public_order", "traffic_accident"],
        "reported_at": ["2026-11-29T08:00:00+08:00"], "dispatch_id": ["D-1"],
        "status": ["acknowledged", "intercepted"], "at": ["2026-11-29T08:01:00+08:00"],
        "dispatched_at": ["2026-11-29T08:00:00+08:00"], "responder_id": ["R1"],
        "lon": [110.46], "lat": [19.25], "deaths": [0, 2], "injuries": [1], "category": ["theft"]}.items()})


@settings(max_examples=300, deadline=None)
@given(report_fields)
def test_any_report_is_a_record_or_a_reasoned_refusal(obj):
    line = as_read(json.dumps(obj, allow_nan=True, ensure_ascii=len(obj) % 2 == 0))
    for parse in (lambda: parse_incident(line, NOW_US), lambda: parse_outcome(line, NOW_US, frozenset({"R1"}))):
        try:
            record = parse()
        except InvalidRecord as refused:
            assert str(refused)
            continue
        assert round_trips(record)
