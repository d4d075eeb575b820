import apache_beam as beam
import pytest
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to

from models.records import AssignedResponder, OutcomeReport
from tests.builders import T0, dispatch
from transforms.act.responses import FollowDispatches, follow_dispatch

SECOND = 1_000_000


def report(status, seconds, line, dispatch_id="H-1", responder="RSP-0001"):
    return OutcomeReport(f"outcomes.jsonl:{line}", dispatch_id, status, T0 + seconds * SECOND, T0,
                         responder, 110.45, 19.23, "JJ-0001", "嘉积大道", "嘉积镇", "urban")


def test_times_are_counted_from_the_dispatch_and_the_place_comes_from_the_reports():
    response, accepted, refused = follow_dispatch(
        "H-1", [], [report("intercepted", 600, 3), report("acknowledged", 30, 1), report("on_scene", 150, 2)])
    assert (response.acknowledge_s, response.arrive_s, response.resolve_s) == (30.0, 150.0, 600.0)
    assert response.result == "intercepted" and response.responder_id == "RSP-0001"
    assert (response.dispatched_at_us, response.segment_id, response.made_by_run) == (T0, "JJ-0001", False)
    assert [r.status for r in accepted] == ["acknowledged", "on_scene", "intercepted"] and refused == []


def test_a_repeated_step_and_a_contradicting_result_are_refused_not_guessed():
    response, accepted, refused = follow_dispatch("H-1", [], [
        report("acknowledged", 30, 1), report("acknowledged", 30, 2), report("not_found", 900, 3),
        report("intercepted", 950, 4)])
    assert response.result == "not_found" and len(accepted) == 2
    assert [(d.source, d.stage, d.reason) for d in refused] == [
        ("outcomes.jsonl:2", "outcome_follow", "repeated acknowledged report, first at outcomes.jsonl:1"),
        ("outcomes.jsonl:4", "outcome_follow", "a second result (intercepted) after not_found")]


def test_a_dispatch_of_this_run_without_reports_is_pending_with_its_first_responder():
    made = dispatch(5)._replace(responders=[AssignedResponder("RSP-0007", "李", "patrol", "u", "1", 10.0, 60.0)])
    response, accepted, refused = follow_dispatch("D-1", [made], [])
    assert response.result is None and response.made_by_run
    assert (response.responder_id, response.acknowledge_s, response.arrive_s) == ("RSP-0007", None, None)
    assert response.dispatched_at_us == made.created_at_us and accepted == refused == []


@pytest.mark.beam
def test_the_transform_joins_this_runs_dispatches_with_their_reports():
    made = dispatch(0)  # D-1, created at T0
    reports = [report("on_scene", 200, 1, dispatch_id="D-1"), report("intercepted", 500, 2, dispatch_id="H-9"),
               report("intercepted", 500, 3, dispatch_id="H-9")]
    with TestPipeline(runner="FnApiRunner") as p:
        followed = (p | "Made" >> beam.Create([made]), p | "Reports" >> beam.Create(reports)) | FollowDispatches()
        assert_that(followed["responses"] | beam.Map(lambda r: (r.dispatch_id, r.made_by_run, r.arrive_s, r.result)),
                    equal_to([("D-1", True, 200.0, None), ("H-9", False, None, "intercepted")]), label="responses")
        assert_that(followed["outcomes"] | beam.Map(lambda r: r.source),
                    equal_to(["outcomes.jsonl:1", "outcomes.jsonl:2"]), label="accepted")
        assert_that(followed["dead_letters"] | beam.Map(lambda d: d.source), equal_to(["outcomes.jsonl:3"]),
                    label="refused")
