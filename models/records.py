"""Typed records that flow between the stages.

Every record is a NamedTuple registered with Beam's RowCoder, so the stages
exchange compact, schema'd rows instead of dicts. Times are integers in
microseconds since the Unix epoch (UTC): exact, cheap to compare, and what the
Parquet tables store.
"""
import uuid
from collections.abc import Sequence
from typing import NamedTuple, Optional

import apache_beam as beam
from apache_beam.transforms.window import TimestampedValue
from apache_beam.typehints import schemas
from apache_beam.utils.timestamp import Timestamp


class EventLine(NamedTuple):
    """One raw input line and where it came from (`file:line`)."""
    source: str
    base_dir: str
    text: str


class CameraEvent(NamedTuple):
    """A camera event that passed validation (DESIGN.md, input contract)."""
    source: str
    event_id: str
    camera_id: str
    captured_at_us: int
    plate: Optional[str]
    plate_confidence: Optional[float]
    plate_color: Optional[str]
    plate_source: str
    plate_alternates: Sequence[str]
    image: Optional[str]
    image_kind: str
    image_base: str
    lon: Optional[float]
    lat: Optional[float]
    heading_deg: Optional[float]
    speed_kmh: Optional[float]
    lane: Optional[int]


# The values a CameraEvent's plate_color and image_kind may take (the input contract).
PLATE_COLORS = frozenset({"blue", "yellow", "green", "white", "black"})
IMAGE_KINDS = frozenset({"frame", "plate"})


class Place(NamedTuple):
    """Where a record happened: the road segment it was placed on, and its position.

    Passings, hits, dispatches, incidents, outcome reports and responses each
    carry these fields flat among their own, so every table keeps its columns
    where they have always been; code moves them from record to record in one
    piece, `place_of(source)` to read them and `**place._asdict()` to write
    them. A position beyond reach of every road has no segment, road or area
    type (and a town only where its camera's registry entry names one).
    """
    segment_id: Optional[str] = None
    road_name: Optional[str] = None
    town: Optional[str] = None
    area_type: Optional[str] = None
    lon: Optional[float] = None
    lat: Optional[float] = None


def place_of(record) -> Place:
    """The place fields of any record that carries them."""
    return Place._make(getattr(record, field) for field in Place._fields)


class Passing(NamedTuple):
    """One accepted event placed on the road network (车过留牌)."""
    source: str
    event_id: str
    camera_id: str
    captured_at_us: int
    plate: Optional[str]
    plate_confidence: Optional[float]
    plate_source: str
    plate_alternates: Sequence[str]
    plate_color: Optional[str]
    segment_id: Optional[str]
    road_name: Optional[str]
    town: Optional[str]
    area_type: Optional[str]
    defence_layer: str
    lon: Optional[float]
    lat: Optional[float]
    distance_m: Optional[float]
    watchlist_hit: bool
    list_version: Optional[str] = None  # the watchlist version the plate was checked against


class Hit(NamedTuple):
    """A passing whose plate matched a watchlist entry."""
    event_id: str
    captured_at_us: int
    plate: str
    read_plate: str
    entry_id: str
    category: str
    priority: int
    action: str
    match: str
    substitutions: int
    score: float
    camera_id: str
    segment_id: Optional[str]
    road_name: Optional[str]
    town: Optional[str]
    area_type: Optional[str]
    defence_layer: str
    lon: Optional[float]
    lat: Optional[float]
    list_version: str


class ChiefOnDuty(NamedTuple):
    """One link of a segment's chief chain, as its public signboard shows it."""
    level: str
    title: str
    chief_id: str
    name: str
    phone: str
    unit: str


class AssignedResponder(NamedTuple):
    """A nearby on-duty officer sent to intercept, with a travel estimate."""
    responder_id: str
    name: str
    kind: str
    unit: str
    phone: str
    distance_m: float
    eta_s: float


class Intercept(NamedTuple):
    """Where a responder can meet a flagged vehicle, or where it leaves the area.

    `kind` is ``intercept`` (the responders reach `place` a safety margin
    before the vehicle) or ``handover`` (nobody can: the border checkpoint
    where the next jurisdiction takes over). `probability` is the chance the
    vehicle passes here within the plan's horizon, `cameras` the fixed cameras
    that confirm its passage on the way, in order.
    """
    kind: str
    place: str
    lon: float
    lat: float
    vehicle_at_us: int
    vehicle_eta_s: float
    from_direction: str
    probability: float
    responders: Sequence[AssignedResponder]
    cameras: Sequence[str]


class Dispatch(NamedTuple):
    """One incident to act on: a flagged plate seen within one cooldown.

    Officers go where it was last seen (segment_id, …); the metrics count it
    when and where it was opened (created_at, opened_segment_id, …), which do
    not move as a live dispatch is updated.
    """
    dispatch_id: str
    plate: str
    entry_id: str
    category: str
    priority: int
    categories: Sequence[str]
    hit_event_ids: Sequence[str]
    sightings: int
    first_seen_us: int
    last_seen_us: int
    opened_segment_id: Optional[str]
    opened_town: Optional[str]
    opened_area_type: Optional[str]
    opened_defence_layer: str
    camera_id: str
    segment_id: Optional[str]
    road_name: Optional[str]
    town: Optional[str]
    area_type: Optional[str]
    defence_layer: str
    lon: Optional[float]
    lat: Optional[float]
    chief_chain: Sequence[ChiefOnDuty]
    responders: Sequence[AssignedResponder]
    best_eta_s: Optional[float]
    created_at_us: int
    intercepts: Sequence[Intercept] = ()  # the plan: where to meet the vehicle (geo.intercept)
    intercept_chance: Optional[float] = None  # the share of its likely paths the plan covers
    vehicle_speed_kmh: Optional[float] = None  # as two sightings show it; one: the road's speed


class MetricRow(NamedTuple):
    """Aggregates for one event-time window and one value of one dimension."""
    window_start_us: int
    window_end_us: int
    dimension: str
    key: str
    passings: int
    unread: int
    unique_plates: int
    hits: int
    hits_overdue_inspection: int
    hits_stolen: int
    hits_wanted: int
    hits_unpaid_violations: int
    hits_scrapped: int
    hits_fake_plate: int
    dispatches: int


class Incident(NamedTuple):
    """A police incident report (警情): a public-order incident or a traffic accident."""
    source: str
    incident_id: str
    kind: str
    category: Optional[str]
    reported_at_us: int
    lon: float
    lat: float
    deaths: int
    injuries: int
    segment_id: Optional[str]
    road_name: Optional[str]
    town: Optional[str]
    area_type: Optional[str]


class OutcomeReport(NamedTuple):
    """One step of a dispatch's life as the dispatch system reports it."""
    source: str
    dispatch_id: str
    status: str
    at_us: int
    dispatched_at_us: int
    responder_id: Optional[str]
    lon: float
    lat: float
    segment_id: Optional[str]
    road_name: Optional[str]
    town: Optional[str]
    area_type: Optional[str]


class Response(NamedTuple):
    """One dispatch from issue to result: who went, how fast, what came of it.

    Seconds are counted from the dispatch; null where that step was not reported.
    """
    dispatch_id: str
    dispatched_at_us: int
    made_by_run: bool
    responder_id: Optional[str]
    segment_id: Optional[str]
    road_name: Optional[str]
    town: Optional[str]
    area_type: Optional[str]
    lon: Optional[float]
    lat: Optional[float]
    acknowledge_s: Optional[float]
    arrive_s: Optional[float]
    resolve_s: Optional[float]
    result: Optional[str]


class SafetyMetric(NamedTuple):
    """Safety figures for one period and one chief, segment, town or area type.

    `*_year_ago` hold the same period a year earlier (null where the data do
    not reach back that far); `*_change_pct` the change against it.
    """
    period: str
    label: str
    period_start_us: int
    period_end_us: int
    dimension: str
    key: str
    name: Optional[str]
    incidents: int
    accidents: int
    deaths: int
    injuries: int
    hits: int
    dispatches: int
    resolved: int
    interceptions: int
    false_hits: int
    interception_rate: Optional[float]
    acknowledge_p50_s: Optional[float]
    acknowledge_p90_s: Optional[float]
    arrive_p50_s: Optional[float]
    arrive_p90_s: Optional[float]
    resolve_p50_s: Optional[float]
    resolve_p90_s: Optional[float]
    arrivals: int
    arrivals_within_target: int
    within_target_share: Optional[float]
    incidents_year_ago: Optional[int]
    accidents_year_ago: Optional[int]
    deaths_year_ago: Optional[int]
    injuries_year_ago: Optional[int]
    hits_year_ago: Optional[int]
    dispatches_year_ago: Optional[int]
    interceptions_year_ago: Optional[int]
    arrive_p50_s_year_ago: Optional[float]
    incidents_change_pct: Optional[float]
    accidents_change_pct: Optional[float]
    deaths_change_pct: Optional[float]
    injuries_change_pct: Optional[float]
    interceptions_change_pct: Optional[float]


class DeadLetter(NamedTuple):
    """An input that could not be accepted, and why."""
    source: str
    event_id: Optional[str]
    stage: str
    reason: str
    raw: str


DEAD_LETTERS = "dead_letters"  # the output tag that every stage sends its DeadLetters under


# `Record._make(fields)` without its check of the length, for the stages that build every event's
# record by position from fields in a known order (each asserts the order it relies on).
record_by_position = tuple.__new__


def at_event_time(value, micros: int) -> TimestampedValue:
    """`value` stamped with an event time given in microseconds since the epoch."""
    return TimestampedValue(value, Timestamp(micros=micros))


# Each record type gets a schema id fixed by its name and fields, registered when this module is
# imported. Beam otherwise draws a random id while the pipeline is built, and a worker in another
# process (EXTERNAL, PROCESS or DOCKER environments) that does not know the id decodes rows into
# look-alike generated classes: `isinstance(row, Hit)` is then false and the stages that tell
# records apart by type fail. In-process workers (LOOPBACK, FnApiRunner) never noticed.
_SCHEMA_IDS = uuid.UUID("5b1d3f0e-6a43-4c39-9a0e-2f6d5c1e7a10")
for _record in (EventLine, CameraEvent, Passing, Hit, ChiefOnDuty, AssignedResponder,
                Intercept, Dispatch, MetricRow, Incident, OutcomeReport, Response, SafetyMetric, DeadLetter):
    if "_beam_schema_id" not in _record.__dict__:
        # Beam's own attribute, read by its schema inference; no record class declares it
        _record._beam_schema_id = str(uuid.uuid5(  # type: ignore[union-attr]
            _SCHEMA_IDS, f"{_record.__module__}.{_record.__qualname__}{_record.__annotations__}"))
        schemas.typing_to_runner_api(_record)  # registers the schema under that id
    beam.coders.registry.register_coder(_record, beam.coders.RowCoder)
