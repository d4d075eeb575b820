"""Turn watchlist hits into dispatches for the officers of the road-chief system.

One dispatch is one incident: a flagged plate seen again and again within the
cooldown is the same vehicle on the move, so its hits update one dispatch
instead of opening new ones. The dispatch goes to the chief chain of the
segment where the vehicle was last seen and to the on-duty responders who
reach that place first over the roads, and carries the interception plan
(`geo.intercept`): the junctions ahead where responders can meet the vehicle
a safety margin before it passes, or the border checkpoint where it leaves
the area. Every version re-plans from all its sightings.

`dispatch_id` is a hash of the plate and the first hit's event id: replaying
the same input gives the same ids.

A replay groups each plate's hits in session windows (gap = cooldown) and
makes one dispatch per session. A live stream cannot wait for a session to
close, a whole cooldown after the last hit, so there each plate keeps its open
incident in state: the first hit is dispatched at once and every further hit
re-issues the dispatch, same id, with the sightings so far (see
`_LiveDispatch`). The live `dispatches` table therefore holds every version of
an incident; the latest is the one with the most sightings. Versions with equal
sightings come from one camera event matching several watchlist entries of the
plate: among those the latest has the most categories, then the lowest
(priority, entry_id).
"""
import hashlib
from dataclasses import dataclass

import apache_beam as beam
from apache_beam.coders import StrUtf8Coder
from apache_beam.transforms import window
from apache_beam.transforms.userstate import BagStateSpec, ReadModifyWriteStateSpec

from geo.intercept import MARGIN_S, Sighting
from geo.shared import chain_at, interceptor_at, responders_at
from models.records import Dispatch, Hit, at_event_time, place_of
from transforms.stage_metrics import DISPATCHES

INTERCEPT = "intercept"


def dispatch_id(plate: str, first_event_id: str) -> str:
    return "D-" + hashlib.sha1(f"{plate}|{first_event_id}".encode()).hexdigest()[:16]


def latest_version(versions) -> Dispatch:
    """The latest of a live dispatch's versions (see the module docstring)."""
    return min(versions, key=lambda d: (-d.sightings, -len(d.categories), d.priority, d.entry_id))


class _MakeDispatch(beam.DoFn):
    """A replay's dispatch per session; `make` builds a dispatch for both paths."""

    def __init__(self, world_folder: str, responders_k: int, margin_s: float = MARGIN_S):
        self._world_folder = world_folder
        self._k = responders_k
        self._margin_s = margin_s

    def setup(self):
        self._chains = chain_at(self._world_folder)
        self._responders = responders_at(self._world_folder)
        self._interceptor = interceptor_at(self._world_folder, self._margin_s)

    def make(self, plate: str, hits: list[Hit], opening: Hit | None = None) -> Dispatch:
        """The dispatch for `hits` of one incident, opened by `opening` (default: the
        earliest hit), which gives its id, its creation time and the place it was opened."""
        hits = sorted(hits, key=lambda hit: (hit.captured_at_us, hit.event_id, hit.entry_id))
        first, last = hits[0], hits[-1]
        opening = opening or first
        lead = min(hits, key=lambda hit: (hit.priority, hit.entry_id))
        responders = self._responders.nearest(last.lon, last.lat, last.captured_at_us, self._k)
        seen = [Sighting(hit.lon, hit.lat, hit.captured_at_us)
                for hit in hits if hit.lon is not None and hit.lat is not None]
        plan = self._interceptor.plan(seen, self._k) if seen else None
        return Dispatch(
            dispatch_id=dispatch_id(plate, opening.event_id), plate=plate,
            entry_id=lead.entry_id, category=lead.category, priority=lead.priority,
            categories=sorted({hit.category for hit in hits}),
            hit_event_ids=list(dict.fromkeys(hit.event_id for hit in hits)),
            sightings=len({hit.event_id for hit in hits}),
            first_seen_us=first.captured_at_us, last_seen_us=last.captured_at_us,
            opened_segment_id=opening.segment_id, opened_town=opening.town,
            opened_area_type=opening.area_type, opened_defence_layer=opening.defence_layer,
            camera_id=last.camera_id, **place_of(last)._asdict(), defence_layer=last.defence_layer,
            chief_chain=self._chains.get(last.segment_id, []),
            responders=responders, best_eta_s=responders[0].eta_s if responders else None,
            created_at_us=opening.captured_at_us,
            intercepts=plan.stops if plan else [], intercept_chance=plan.chance if plan else None,
            vehicle_speed_kmh=plan.speed_kmh if plan else None)

    def process(self, keyed):
        plate, hits = keyed
        dispatch = self.make(plate, list(hits))
        DISPATCHES.inc()
        yield at_event_time(dispatch, dispatch.created_at_us)


class _LiveDispatch(_MakeDispatch):
    """Per plate: dispatch the first hit at once, re-issue the dispatch on each further hit.

    State is the latest incident of the plate: its hits and the hit that
    opened it, which fixes its id, creation time and opening place. A hit a
    cooldown or more after the incident's last sighting (in event time, so a
    replay splits incidents where the batch sessions end)
    replaces it with a new incident and a new id. No timer clears the state: a
    plate's state is one incident, and only watchlisted plates reach this stage,
    so state is bounded by the watchlist. Prism runs with bundle splitting off
    (see `pipelines.job.run.pipeline_options`): a split let a second bundle read a
    plate's state before the first had committed it, and open a second incident.

    Out of order: a hit earlier than the incident's last sighting + cooldown
    joins it, even one earlier than its first hit; first_seen moves back to it,
    but the id, created_at and the opening place stay the opening hit's (the
    replay opens with the earliest hit, so there they differ). So for in-order
    input the last version of each incident equals the replay's dispatch.
    Out-of-order input also differs where a hit lands across an incident
    boundary: one filling a silence of a cooldown or more that already split two
    incidents joins the later, where the replay merges them; one older than
    first sighting − cooldown joins, where the replay keeps it apart. A version
    once issued is never withdrawn.

    Each version is stamped with the time of the hit that made it, not the
    incident's start, so it is no later for downstream windows than that hit.
    """
    HITS = BagStateSpec("hits", beam.coders.registry.get_coder(Hit))
    OPENING = ReadModifyWriteStateSpec("opening", StrUtf8Coder())  # the opening hit's event_id

    def __init__(self, world_folder: str, responders_k: int, margin_s: float, cooldown_us: int):
        super().__init__(world_folder, responders_k, margin_s)
        self._cooldown_us = cooldown_us

    def process(self, keyed, seen=beam.DoFn.StateParam(HITS), opened=beam.DoFn.StateParam(OPENING)):
        plate, hit = keyed
        hits, opening_id = list(seen.read()), opened.read()
        if hits and hit.captured_at_us >= self._last_us(hits) + self._cooldown_us:
            seen.clear()  # a new incident
            hits, opening_id = [], None
        if hit in hits:
            return  # a redelivery adds nothing
        if opening_id is None:
            opening_id = hit.event_id
            opened.write(opening_id)
        seen.add(hit)
        hits.append(hit)
        opening = next(h for h in hits if h.event_id == opening_id)
        DISPATCHES.inc()  # each version is a row of the dispatches table
        yield at_event_time(self.make(plate, hits, opening), hit.captured_at_us)

    @staticmethod
    def _last_us(hits: list[Hit]) -> int:
        return max(hit.captured_at_us for hit in hits)


@dataclass(frozen=True)
class DispatchConfig:
    """Who DispatchOfficers pages and when: hits scoring at least `min_score`, grouped per
    plate while it is seen again within `cooldown_minutes`, to the `responders_k` nearest
    on-duty responders, who meet the vehicle at least `intercept_margin_s` before it passes.
    `streaming`: one version per hit, issued at once (`_LiveDispatch`), instead of one
    dispatch per closed session."""
    cooldown_minutes: float = 30.0
    responders_k: int = 3
    min_score: float = 0.5
    streaming: bool = False
    intercept_margin_s: float = MARGIN_S


class DispatchOfficers(beam.PTransform):
    """Hits → Dispatches for the chief chain and responders of the world in `world_folder`."""

    def __init__(self, world_folder: str, config: DispatchConfig = DispatchConfig()):
        super().__init__()
        self._gap_s = config.cooldown_minutes * 60
        k, margin_s = config.responders_k, config.intercept_margin_s
        self._fn = (_LiveDispatch(world_folder, k, margin_s, round(self._gap_s * 1_000_000))
                    if config.streaming else _MakeDispatch(world_folder, k, margin_s))
        self._streaming = config.streaming
        self._min_score = config.min_score

    def expand(self, hits):
        min_score = self._min_score
        by_plate = (hits
                    | "Actionable" >> beam.Filter(
                        lambda hit: hit.action == INTERCEPT and hit.score >= min_score)
                    | "ByPlate" >> beam.Map(
                        lambda hit: at_event_time((hit.plate, hit), hit.captured_at_us)
                    ).with_output_types(tuple[str, Hit]))
        if self._streaming:
            return (by_plate
                    | "Global" >> beam.WindowInto(window.GlobalWindows())
                    | "Dispatch" >> beam.ParDo(self._fn))
        return (by_plate
                | "Cooldown" >> beam.WindowInto(
                    window.Sessions(self._gap_s),
                    timestamp_combiner=window.TimestampCombiner.OUTPUT_AT_EARLIEST)
                | "Group" >> beam.GroupByKey()
                | "Dispatch" >> beam.ParDo(self._fn))
