import json

import apache_beam as beam
import pytest
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to

from models.records import EventLine
from transforms.ingest.fields import InvalidRecord
from transforms.ingest.parse_reports import ParseIncidents, ParseOutcomes, parse_incident, parse_outcome

NOW_US = 1_796_000_000_000_000  # 2026-11-29T09:33:20Z
RESPONDERS = frozenset({"RSP-0001"})
INCIDENT = {"incident_id": "INC-1", "kind": "traffic_accident", "category": "collision",
            "reported_at": "2026-11-29T08:00:00+08:00", "lon": 110.466, "lat": 19.245,
            "deaths": 1, "injuries": 3}
OUTCOME = {"dispatch_id": "D-1", "status": "on_scene", "at": "2026-11-29T08:02:30+08:00",
           "dispatched_at": "2026-11-29T08:00:00+08:00", "responder_id": "RSP-0001",
           "lon": 110.466, "lat": 19.245}


def line(obj_or_text, number: int = 4, name: str = "reports.jsonl") -> EventLine:
    text = obj_or_text if isinstance(obj_or_text, str) else json.dumps(obj_or_text, ensure_ascii=False)
    return EventLine(f"{name}:{number}", "/data", text)


def test_an_incident_becomes_a_typed_record_not_yet_placed():
    incident = parse_incident(line(INCIDENT), NOW_US)
    assert (incident.incident_id, incident.kind, incident.deaths, incident.injuries) == (
        "INC-1", "traffic_accident", 1, 3)
    assert incident.reported_at_us == 1_795_910_400_000_000
    assert incident.segment_id is None and incident.source == "reports.jsonl:4"


def test_an_outcome_keeps_both_its_time_and_the_dispatch_time():
    outcome = parse_outcome(line(OUTCOME), NOW_US, RESPONDERS)
    assert outcome.at_us - outcome.dispatched_at_us == 150_000_000
    assert (outcome.dispatch_id, outcome.status, outcome.responder_id) == ("D-1", "on_scene", "RSP-0001")


@pytest.mark.parametrize("change, reason", [
    ({"kind": "riot"}, "kind: not one of public_order, traffic_accident"),
    ({"kind": None}, "kind: missing"),
    ({"reported_at": "2026-11-29 08:00"}, "reported_at: no UTC offset"),
    ({"reported_at": "2099-01-01T00:00:00+08:00"}, "reported_at: too far in the future"),
    ({"lon": None, "lat": None}, "lon/lat: missing"),
    ({"lat": None}, "lon and lat: give both or neither"),
    ({"lon": 500}, "lon: 500 outside"),
    ({"deaths": -1}, "deaths: -1 outside"),
    ({"injuries": 1.5}, "injuries: 1.5 is not a whole number"),
    ({"injuries": "two"}, "injuries: expected a number"),
    ({"incident_id": ""}, "incident_id: empty"),
])
def test_incident_contract_violations_name_the_rule_and_keep_the_id(change, reason):
    with pytest.raises(InvalidRecord, match=reason) as refused:
        parse_incident(line({**INCIDENT, **change}), NOW_US)
    expected = change.get("incident_id", "INC-1")
    assert refused.value.record_id == (expected if isinstance(expected, str) else None)


@pytest.mark.parametrize("change, reason", [
    ({"status": "arrived"}, "status: not one of acknowledged, false_hit, intercepted, not_found, on_scene"),
    ({"at": "2026-11-29T07:59:59+08:00"}, "at: earlier than dispatched_at"),
    ({"dispatched_at": None}, "dispatched_at: missing"),
    ({"responder_id": "RSP-9999"}, "responder_id: not in the responder roster"),
    ({"dispatch_id": 7}, "dispatch_id: expected a string"),
])
def test_outcome_contract_violations_name_the_rule(change, reason):
    with pytest.raises(InvalidRecord, match=reason):
        parse_outcome(line({**OUTCOME, **change}), NOW_US, RESPONDERS)


@pytest.mark.parametrize("text, reason", [("", "empty line"), ("[1]", "not a JSON object"),
                                          ('{"incident_id": "I', "not valid JSON")])
def test_lines_that_are_not_objects_are_refused(text, reason):
    with pytest.raises(InvalidRecord, match=reason):
        parse_incident(line(text), NOW_US)


@pytest.mark.beam
def test_a_repeated_incident_counts_once_and_every_line_ends_in_one_row(world_folder):
    lines = [line(INCIDENT, 1), line({**INCIDENT, "incident_id": "INC-2"}, 2), line(INCIDENT, 3),
             line("not json", 4)]
    with TestPipeline(runner="FnApiRunner") as p:
        parsed = p | beam.Create(lines) | ParseIncidents(world_folder, clock=lambda: NOW_US / 1e6)
        assert_that(parsed["incidents"] | beam.Map(lambda i: (i.incident_id, i.source)),
                    equal_to([("INC-1", "reports.jsonl:1"), ("INC-2", "reports.jsonl:2")]), label="kept")
        assert_that(parsed["dead_letters"] | beam.Map(lambda d: (d.source, d.stage, d.reason)), equal_to([
            ("reports.jsonl:3", "incident_deduplicate", "duplicate incident_id, first delivered at reports.jsonl:1"),
            ("reports.jsonl:4", "incident_parse", "not valid JSON")]), label="dead")


@pytest.mark.beam
def test_outcomes_check_responders_against_the_world_roster(world_folder):
    lines = [line({**OUTCOME, "responder_id": "RSP-9999"}, 1), line({**OUTCOME, "responder_id": "RSP-0368"}, 2)]
    with TestPipeline(runner="FnApiRunner") as p:
        parsed = p | beam.Create(lines) | ParseOutcomes(world_folder, clock=lambda: NOW_US / 1e6)
        assert_that(parsed["outcomes"] | beam.Map(lambda o: o.source), equal_to(["reports.jsonl:2"]), label="kept")
        assert_that(parsed["dead_letters"] | beam.Map(lambda d: (d.source, d.stage, d.event_id)),
                    equal_to([("reports.jsonl:1", "outcome_parse", "D-1")]), label="dead")
