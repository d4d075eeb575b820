"""The place block that six records carry flat, and the helpers that move it."""
import typing

import pytest

from models.records import Dispatch, Hit, Incident, OutcomeReport, Passing, Place, Response, place_of
from tests.builders import dispatch

PLACED = (Passing, Hit, Dispatch, Incident, OutcomeReport, Response)


def _required(hint):
    """`Optional[X]` as X: a record may promise a value its Place leaves open."""
    present = [arg for arg in typing.get_args(hint) if arg is not type(None)]
    return present[0] if present else hint


@pytest.mark.parametrize("record", PLACED, ids=lambda record: record.__name__)
def test_every_placed_record_carries_the_place_fields_with_their_types(record):
    place, hints = typing.get_type_hints(Place), typing.get_type_hints(record)
    assert {field: _required(hints.get(field)) for field in Place._fields} == \
        {field: _required(hint) for field, hint in place.items()}


def test_place_of_reads_the_place_back_from_a_record():
    made = dispatch(0)
    assert place_of(made) == Place(made.segment_id, made.road_name, made.town, made.area_type,
                                   made.lon, made.lat)


def test_a_place_moves_between_records_whatever_their_field_order():
    report = OutcomeReport("outcomes.jsonl:1", "D-1", "on_scene", 2, 1, None, 110.4, 19.2,
                           "JJ-0001", "嘉积大道", "嘉积镇", "urban")
    response = Response("D-1", 1, False, None, **place_of(report)._asdict(), acknowledge_s=None,
                        arrive_s=1e-6, resolve_s=None, result=None)
    assert (response.segment_id, response.town, response.lon, response.lat) == \
        ("JJ-0001", "嘉积镇", 110.4, 19.2)


def test_a_position_alone_is_a_place_off_the_network():
    assert Place(lon=110.4, lat=19.2) == Place(None, None, None, None, 110.4, 19.2)
