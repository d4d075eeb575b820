"""Typed records that flow between the stages.

Every record is a NamedTuple registered with Beam's RowCoder, so the stages
exchange compact, schema'd rows instead of dicts. Times are integers in
microseconds since the Unix epoch (UTC): exact, cheap to compare, and what the
Parquet tables store.
"""
from typing import NamedTuple, Optional, Sequence

import apache_beam as beam
from apache_beam.transforms.window import TimestampedValue
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


class Dispatch(NamedTuple):
    """One incident to act on: a flagged plate seen within one cooldown."""
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


class DeadLetter(NamedTuple):
    """An input that could not be accepted, and why."""
    source: str
    event_id: Optional[str]
    stage: str
    reason: str
    raw: str


def at_event_time(value, micros: int) -> TimestampedValue:
    """`value` stamped with an event time given in microseconds since the epoch."""
    return TimestampedValue(value, Timestamp(micros=micros))


for _record in (EventLine, CameraEvent, Passing, Hit, ChiefOnDuty, AssignedResponder,
                Dispatch, MetricRow, DeadLetter):
    beam.coders.registry.register_coder(_record, beam.coders.RowCoder)
