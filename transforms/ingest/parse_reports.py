"""Parse and validate the two safety inputs: incident reports and dispatch outcomes.

Incident reports (警情) are public-order incidents and traffic accidents with
their deaths and injuries; dispatch outcomes are the steps of a dispatch as
the command centre's dispatch system records them (acknowledged, on scene,
and a result). Their contracts are in docs/safety-metrics.md. As with camera events,
every line becomes one record or one dead letter with the rule it broke; a
repeated incident_id is a duplicate delivery and its later copies are dead
letters, so an incident is never counted twice.
"""
import time
from collections.abc import Callable

import apache_beam as beam

from geo.shared import world_at
from models.records import DEAD_LETTERS, DeadLetter, EventLine, Incident, OutcomeReport, Place, at_event_time
from transforms.ingest.deduplicate import input_position
from transforms.ingest.fields import (
    InvalidRecord,
    choice_field,
    count_field,
    dead_letter,
    decode_line,
    position_fields,
    text_field,
    time_field,
)
from transforms.stage_metrics import counted

INCIDENT_KINDS = frozenset({"public_order", "traffic_accident"})
STEPS = ("acknowledged", "on_scene")
RESULTS = ("intercepted", "not_found", "false_hit")
STATUSES = frozenset(STEPS + RESULTS)


def _with_id(obj: dict, field: str, validate):
    """validate(), with the record's id attached to the refusal when it has one."""
    try:
        return validate()
    except InvalidRecord as invalid:
        value = obj.get(field)
        invalid.record_id = value[:128] if isinstance(value, str) else None
        raise


def parse_incident(line: EventLine, latest_us: int) -> Incident:
    """The incident on `line`, or InvalidRecord naming the broken rule."""
    obj = decode_line(line)

    def validate() -> Incident:
        incident_id = text_field(obj, "incident_id", required=True)
        kind = choice_field(obj, "kind", INCIDENT_KINDS)
        reported_at_us = time_field(obj, "reported_at", latest_us)
        lon, lat = position_fields(obj, required=True)
        return Incident(
            source=line.source, incident_id=incident_id, kind=kind,
            category=text_field(obj, "category"), reported_at_us=reported_at_us,
            deaths=count_field(obj, "deaths"), injuries=count_field(obj, "injuries"),
            **Place(lon=lon, lat=lat)._asdict())  # placed on its segment by PlaceReports
    return _with_id(obj, "incident_id", validate)


def parse_outcome(line: EventLine, latest_us: int, responders: frozenset) -> OutcomeReport:
    """The dispatch outcome on `line`, or InvalidRecord naming the broken rule."""
    obj = decode_line(line)

    def validate() -> OutcomeReport:
        dispatch_id = text_field(obj, "dispatch_id", required=True)
        status = choice_field(obj, "status", STATUSES)
        at_us = time_field(obj, "at", latest_us)
        dispatched_at_us = time_field(obj, "dispatched_at", latest_us)
        if at_us < dispatched_at_us:
            raise InvalidRecord("at: earlier than dispatched_at")
        responder_id = text_field(obj, "responder_id")
        if responder_id is not None and responder_id not in responders:
            raise InvalidRecord("responder_id: not in the responder roster")
        lon, lat = position_fields(obj, required=True)
        return OutcomeReport(
            source=line.source, dispatch_id=dispatch_id, status=status, at_us=at_us,
            dispatched_at_us=dispatched_at_us, responder_id=responder_id,
            **Place(lon=lon, lat=lat)._asdict())  # placed on its segment by PlaceReports
    return _with_id(obj, "dispatch_id", validate)


class _ParseFn(beam.DoFn):
    """Parse one kind of report; refusals go to `dead_letters` under `stage`."""

    def __init__(self, kind: str, world_folder: str, max_future_s: float, clock: Callable[[], float]):
        self._kind = kind
        self._world_folder = world_folder
        self._max_future_s = max_future_s
        self._clock = clock

    def setup(self):
        responders = frozenset(world_at(self._world_folder).responders.index.astype(str))
        self._parse = ((lambda line, latest: parse_incident(line, latest)) if self._kind == "incident"
                       else (lambda line, latest: parse_outcome(line, latest, responders)))

    def process(self, line: EventLine):
        latest_us = round((self._clock() + self._max_future_s) * 1_000_000)
        try:
            record = self._parse(line, latest_us)
        except InvalidRecord as invalid:
            yield beam.pvalue.TaggedOutput(DEAD_LETTERS, counted(dead_letter(
                line, f"{self._kind}_parse", str(invalid), invalid.record_id)))
            return
        yield at_event_time(record, record.reported_at_us if self._kind == "incident" else record.at_us)


def _first_report(keyed):
    incident_id, copies = keyed
    first, *repeats = sorted(copies, key=lambda incident: input_position(incident.source))
    yield at_event_time(first, first.reported_at_us)
    for repeat in repeats:
        yield beam.pvalue.TaggedOutput(DEAD_LETTERS, counted(DeadLetter(
            repeat.source, incident_id, "incident_deduplicate",
            f"duplicate incident_id, first delivered at {first.source}", "")))


class ParseIncidents(beam.PTransform):
    """Lines → {"incidents": each incident_id once, "dead_letters": the refused lines}."""

    def __init__(self, world_folder: str, max_future_s: float = 300.0,
                 clock: Callable[[], float] = time.time):
        super().__init__()
        self._fn = _ParseFn("incident", world_folder, max_future_s, clock)

    def expand(self, lines):
        parsed = lines | "Parse" >> beam.ParDo(self._fn).with_outputs(DEAD_LETTERS, main="incidents")
        unique = (parsed.incidents
                  | "ById" >> beam.Map(lambda incident: (incident.incident_id, incident)
                                       ).with_output_types(tuple[str, Incident])
                  | "Group" >> beam.GroupByKey()
                  | "KeepFirst" >> beam.FlatMap(_first_report).with_outputs(DEAD_LETTERS, main="incidents"))
        dead = (parsed.dead_letters, unique.dead_letters) | "DeadLetters" >> beam.Flatten()
        return {"incidents": unique.incidents, "dead_letters": dead}


class ParseOutcomes(beam.PTransform):
    """Lines → {"outcomes": OutcomeReports, "dead_letters": the refused lines}."""

    def __init__(self, world_folder: str, max_future_s: float = 300.0,
                 clock: Callable[[], float] = time.time):
        super().__init__()
        self._fn = _ParseFn("outcome", world_folder, max_future_s, clock)

    def expand(self, lines):
        parsed = lines | beam.ParDo(self._fn).with_outputs(DEAD_LETTERS, main="outcomes")
        return {"outcomes": parsed.outcomes, "dead_letters": parsed.dead_letters}
