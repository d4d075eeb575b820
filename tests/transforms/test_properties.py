"""Property tests: no input makes a stage raise anything but its own refusal."""
import json

from hypothesis import given, settings, strategies as st

from transforms.fields import InvalidRecord
from transforms.parse_events import parse_event
from transforms.plates import canonical, normalise_plate, substitutions
from transforms.records import CameraEvent, EventLine

CAMERAS = {"CAM-1": "street_grid", "MOB-1": "mobile"}
NOW_US = 1_796_500_000_000_000

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=40),
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


def outcome(text: str):
    try:
        return parse_event(EventLine("f:1", "/d", text), CAMERAS, NOW_US)
    except InvalidRecord as refused:
        assert str(refused)
        return refused


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=200))
def test_any_text_is_an_event_or_a_reasoned_refusal(text):
    assert isinstance(outcome(text), (CameraEvent, InvalidRecord))


@settings(max_examples=400, deadline=None)
@given(fields)
def test_any_json_object_is_an_event_or_a_reasoned_refusal(obj):
    result = outcome(json.dumps(obj, allow_nan=True))
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
    from tests.transforms.test_match_watchlist import INDEX, passing
    from transforms.match_watchlist import hits_for
    plate = normalise_plate(read) or "琼C12345"
    hits = hits_for(passing(plate, confidence, [normalise_plate(a) or a for a in alternates]),
                    INDEX, k, "v")
    assert all(h.substitutions <= k and 0 <= h.score <= 1 for h in hits)
    assert len({h.entry_id for h in hits}) == len(hits)
