"""Follow each dispatch from issue to result: the `responses` table.

A dispatch made by this run and the outcome reports that name it meet here by
dispatch_id. Dispatches made before (history exported from the dispatch
system) arrive only as outcome reports, which carry the dispatch's time and
place. The time to acknowledge, to arrive and to resolve are counted from the
dispatch; each step counts once:

- a second report of a step already reported is a duplicate delivery;
- a second, different result (intercepted after not_found) contradicts the
  first and is refused rather than guessed at.

Both become dead letters, so every outcome line still ends in exactly one row.
A dispatch of this run with no report yet is a response with no result.
"""
from collections.abc import Iterable
from typing import Optional

import apache_beam as beam
from apache_beam.transforms.window import GlobalWindows

from models.records import DEAD_LETTERS, DeadLetter, Dispatch, OutcomeReport, Response, at_event_time, place_of
from transforms.ingest.deduplicate import input_position
from transforms.ingest.parse_reports import RESULTS
from transforms.stage_metrics import counted

ACCEPTED = "outcomes"


def _seconds(at_us: Optional[int], since_us: int) -> Optional[float]:
    return None if at_us is None else round((at_us - since_us) / 1e6, 3)


def follow_dispatch(dispatch_id: str, made: list[Dispatch], reports: Iterable[OutcomeReport]):
    """(Response or None, accepted reports, DeadLetters) for one dispatch_id."""
    ordered = sorted(reports, key=lambda r: (r.at_us, input_position(r.source)))
    accepted: dict[str, OutcomeReport] = {}
    refused = []
    for report in ordered:
        result = next((s for s in RESULTS if s in accepted), None)
        if report.status in accepted:
            reason = f"repeated {report.status} report, first at {accepted[report.status].source}"
        elif report.status in RESULTS and result is not None:
            reason = f"a second result ({report.status}) after {result}"
        else:
            accepted[report.status] = report
            continue
        refused.append(counted(DeadLetter(report.source, dispatch_id, "outcome_follow", reason, "")))
    if not made and not accepted:
        return None, [], refused
    if made:
        dispatch = made[0]
        since_us, place = dispatch.created_at_us, place_of(dispatch)
        first_responder = dispatch.responders[0].responder_id if dispatch.responders else None
    else:
        first = min(accepted.values(), key=lambda r: (r.at_us, input_position(r.source)))
        since_us, place, first_responder = first.dispatched_at_us, place_of(first), None

    def step_us(status: str) -> Optional[int]:
        return accepted[status].at_us if status in accepted else None
    result = next((s for s in RESULTS if s in accepted), None)
    responder = next((accepted[s].responder_id for s in ("on_scene", "acknowledged") + RESULTS
                      if s in accepted and accepted[s].responder_id), first_responder)
    response = Response(
        dispatch_id=dispatch_id, dispatched_at_us=since_us, made_by_run=bool(made),
        responder_id=responder, **place._asdict(),
        acknowledge_s=_seconds(step_us("acknowledged"), since_us),
        arrive_s=_seconds(step_us("on_scene"), since_us),
        resolve_s=_seconds(step_us(result), since_us) if result else None, result=result)
    return response, list(accepted.values()), refused


def _follow(keyed):
    dispatch_id, grouped = keyed
    response, accepted, refused = follow_dispatch(dispatch_id, list(grouped["made"]), grouped["reports"])
    if response is not None:
        yield at_event_time(response, response.dispatched_at_us)
    for report in accepted:
        yield beam.pvalue.TaggedOutput(ACCEPTED, at_event_time(report, report.at_us))
    for letter in refused:
        yield beam.pvalue.TaggedOutput(DEAD_LETTERS, letter)


class FollowDispatches(beam.PTransform):
    """(Dispatches, OutcomeReports) → {"responses", "outcomes" accepted, "dead_letters"}."""

    def expand(self, inputs):
        dispatches, reports = inputs
        made = (dispatches
                | "MadeGlobal" >> beam.WindowInto(GlobalWindows())
                | "MadeById" >> beam.Map(lambda d: (d.dispatch_id, d)).with_output_types(tuple[str, Dispatch]))
        reported = (reports
                    | "ReportsGlobal" >> beam.WindowInto(GlobalWindows())
                    | "ReportsById" >> beam.Map(lambda r: (r.dispatch_id, r)
                                                ).with_output_types(tuple[str, OutcomeReport]))
        followed = ({"made": made, "reports": reported}
                    | "ById" >> beam.CoGroupByKey()
                    | "Follow" >> beam.FlatMap(_follow).with_outputs(ACCEPTED, DEAD_LETTERS, main="responses"))
        return {"responses": followed.responses, "outcomes": followed[ACCEPTED],
                "dead_letters": followed[DEAD_LETTERS]}
