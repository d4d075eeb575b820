import json
from collections import defaultdict

import apache_beam as beam
import pytest
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.test_stream import TestStream
from apache_beam.testing.util import assert_that, equal_to
from apache_beam.utils.timestamp import Timestamp

from models.records import Dispatch, Hit, at_event_time
from pipelines.job.run import pipeline_options
from tests.builders import MINUTE, T0, hit
from transforms.act.dispatch import DispatchConfig, DispatchOfficers, _MakeDispatch, dispatch_id, latest_version


@pytest.mark.beam
def test_hits_within_the_cooldown_update_one_dispatch_and_a_later_one_opens_another(world_folder):
    hits = [hit("a", 0), hit("b", 10), hit("c", 50)]
    with TestPipeline(runner="FnApiRunner") as p:
        out = p | beam.Create(hits) | DispatchOfficers(world_folder, DispatchConfig(cooldown_minutes=30))
        assert_that(out | beam.Map(lambda d: (d.dispatch_id, d.sightings, tuple(d.hit_event_ids))),
                    equal_to([(dispatch_id("琼C12345", "a"), 2, ("a", "b")),
                              (dispatch_id("琼C12345", "c"), 1, ("c",))]))


@pytest.mark.beam
def test_observe_entries_and_weak_matches_dispatch_nobody(world_folder):
    hits = [hit("a", 0, action="observe"), hit("b", 1, plate="琼C99999", score=0.3)]
    with TestPipeline(runner="FnApiRunner") as p:
        out = p | beam.Create(hits) | DispatchOfficers(world_folder, DispatchConfig(min_score=0.5))
        assert_that(out, equal_to([]))


def test_a_dispatch_names_the_chain_and_the_fastest_on_duty_responders(world_folder):
    fn = _MakeDispatch(world_folder, responders_k=3)
    fn.setup()
    (stamped,) = list(fn.process(("琼C12345", [
        hit("b", 5, category="unpaid_violations", priority=4, entry_id="W9"), hit("a", 0)])))
    d = stamped.value
    assert d.dispatch_id == dispatch_id("琼C12345", "a")
    assert (d.category, d.priority, d.entry_id) == ("stolen", 1, "W1")
    assert d.categories == ["stolen", "unpaid_violations"]
    assert [c.title for c in d.chief_chain] == ["路管员", "三级路长", "二级路长", "一级路长", "总路长"]
    assert len(d.responders) == 3 and d.best_eta_s == d.responders[0].eta_s
    assert [r.eta_s for r in d.responders] == sorted(r.eta_s for r in d.responders)
    assert d.created_at_us == T0 and d.last_seen_us == T0 + 5 * MINUTE
    assert stamped.timestamp.micros == T0




def test_a_dispatch_plans_the_interception_and_each_new_sighting_replans(world_folder):
    fn = _MakeDispatch(world_folder, responders_k=3, margin_s=60)
    fn.setup()
    first = fn.make("琼C12345", [hit("a", 0)])
    intercepts = [s for s in first.intercepts if s.kind == "intercept"]
    assert intercepts and first.intercept_chance == pytest.approx(sum(s.probability for s in intercepts))
    for stop in intercepts:
        assert stop.responders[0].eta_s + 60 <= stop.vehicle_eta_s
        assert stop.vehicle_at_us == first.last_seen_us + round(stop.vehicle_eta_s * 1e6)
    there = first.intercepts[0]  # the vehicle is seen again where the first plan expected it
    later = hit("b", 2)._replace(lon=there.lon, lat=there.lat)
    second = fn.make("琼C12345", [hit("a", 0), later])
    assert second.dispatch_id == first.dispatch_id and second.intercepts != first.intercepts
    assert all(stop.vehicle_at_us > second.last_seen_us for stop in second.intercepts)

# Live: TestStream on Prism, the local runner with real watermarks and event-time timers.
P2 = "琼A77777"


def on_prism(steps, prism: str) -> tuple[beam.Pipeline, beam.PCollection]:
    """A streaming pipeline on Prism and its input: `steps` are hits (stamped with their
    capture time) and watermark advances in minutes after T0, in arrival order.

    Prism hands a stateful stage its pending input only when the watermark moves, and per
    key in event-time order, so hits meant to arrive out of order are split by an advance.
    """
    stream = TestStream(coder=beam.coders.registry.get_coder(Hit))
    for step in steps:
        if isinstance(step, Hit):
            stream.add_elements([at_event_time(step, step.captured_at_us)])
        else:
            stream.advance_watermark_to(Timestamp(micros=T0 + round(step * MINUTE)))
    p = beam.Pipeline(options=pipeline_options([
        "--runner", "PrismRunner", "--prism_location", prism,
        "--environment_type", "LOOPBACK", "--streaming"]))
    return p, p | stream.advance_watermark_to_infinity().with_output_types(Hit)


def dispatch_live(steps, expected, world_folder, prism):
    """Checks every version dispatched live: (dispatch_id, sightings, hit_event_ids, created)."""
    p, hits = on_prism(steps, prism)
    with p:
        out = hits | DispatchOfficers(world_folder, DispatchConfig(cooldown_minutes=30, streaming=True))
        assert_that(out | beam.Map(lambda d: (d.dispatch_id, d.sightings, tuple(d.hit_event_ids),
                                              (d.created_at_us - T0) // MINUTE)),
                    equal_to([(dispatch_id(plate, first), sightings, events, created)
                              for plate, first, sightings, events, created in expected]))


class _Note(beam.DoFn):
    """Appends a line per element to a file, as the elements pass: what a run emitted, and
    in what order beside other notes to the same file."""

    def __init__(self, path: str, line):
        self._path = path
        self._line = line

    def process(self, element):
        with open(self._path, "a", encoding="utf-8") as notes:
            notes.write(self._line(element) + "\n")


@pytest.mark.parametrize("streaming,order", [
    (True, ["hit a", "dispatch 1", "hit tick"]),
    (False, ["hit a", "hit tick", "dispatch 1"]),  # a replay waits for the session to close
])
def test_the_first_hit_is_dispatched_before_the_stream_moves_on(world_folder, tmp_path, streaming, order, prism):
    # Prism hands out the next TestStream event only once the pipeline has done all it can
    # with the last, so a dispatch noted before "hit tick" went out while the watermark
    # stood at one minute after the hit, far short of the 30-minute cooldown.
    notes = tmp_path / "notes.txt"
    p, hits = on_prism([-1, hit("a", 0), 1, hit("tick", 1, action="observe"), 2], prism)
    with p:
        hits | "NoteHits" >> beam.ParDo(_Note(str(notes), lambda h: f"hit {h.event_id}"))
        (hits | DispatchOfficers(world_folder, DispatchConfig(cooldown_minutes=30, streaming=streaming))
         | "NoteDispatches" >> beam.ParDo(_Note(str(notes), lambda d: f"dispatch {d.sightings}")))
    assert notes.read_text(encoding="utf-8").splitlines() == order


def test_each_hit_within_the_cooldown_reissues_the_dispatch_under_its_first_id(world_folder, prism):
    dispatch_live([-1, hit("a", 0), 1, hit("b", 10), 12, hit("c", 25), 26], [
        ("琼C12345", "a", 1, ("a",), 0), ("琼C12345", "a", 2, ("a", "b"), 0),
        ("琼C12345", "a", 3, ("a", "b", "c"), 0)], world_folder, prism)


def test_a_hit_earlier_than_the_first_joins_the_incident_under_the_id_first_issued(world_folder, prism):
    # Within the source's out-of-orderness: b arrives first, a (two minutes earlier) after it.
    # b opened the incident: its id and creation time stay.
    dispatch_live([5, hit("b", 10), 6, hit("a", 8), 20], [
        ("琼C12345", "b", 1, ("b",), 10), ("琼C12345", "b", 2, ("a", "b"), 10)], world_folder, prism)


def test_a_late_hit_within_the_cooldown_still_joins_and_a_hit_after_it_opens_a_new_dispatch(world_folder, prism):
    # c arrives late (the watermark is past b + 30) but was seen within 30 minutes of b, so it
    # joins the incident, as in the replay; d, 30 minutes after c, opens a new one.
    dispatch_live([-1, hit("a", 0), 1, hit("b", 10), 41, hit("c", 39), 42, hit("d", 69), 80], [
        ("琼C12345", "a", 1, ("a",), 0), ("琼C12345", "a", 2, ("a", "b"), 0),
        ("琼C12345", "a", 3, ("a", "b", "c"), 0), ("琼C12345", "d", 1, ("d",), 69)], world_folder, prism)


def _as_json(dispatch) -> str:
    """JSON turns the lists and tuples of either runner's records into the same arrays."""
    return json.dumps(dispatch, ensure_ascii=False)


def test_the_latest_live_versions_are_the_replays_dispatches(world_folder, tmp_path, prism):
    # c comes exactly one cooldown after b: a new incident, as in the replay. b2 arrives after b,
    # which it precedes. Event e matches two entries of P2: two versions with one sighting each.
    # The replay runs on the FnApiRunner: Prism merges streaming sessions by arrival and joins
    # touching ones.
    steps = [-1, hit("a", 0), hit("e", 5, plate=P2, entry_id="W2", category="wanted", priority=2),
             hit("e", 5, plate=P2), 1, hit("b", 10), 2, hit("b2", 7), hit("x", 9, action="observe"),
             35, hit("c", 40), 36, hit("d", 55), 100]
    p, hits = on_prism(steps, prism)
    with p:
        (hits | DispatchOfficers(world_folder, DispatchConfig(cooldown_minutes=30, streaming=True))
         | beam.ParDo(_Note(str(tmp_path / "live"), _as_json)))
    with TestPipeline(runner="FnApiRunner") as p:
        (p | beam.Create([step for step in steps if isinstance(step, Hit)])
         | DispatchOfficers(world_folder, DispatchConfig(cooldown_minutes=30))
         | beam.ParDo(_Note(str(tmp_path / "replay"), _as_json)))
    live, replay = (
        [Dispatch(*json.loads(line)) for line in (tmp_path / name).read_text("utf-8").splitlines()]
        for name in ("live", "replay"))
    by_id = defaultdict(list)
    for version in live:
        by_id[version.dispatch_id].append(version)
    assert len(replay) == 3
    assert {id_: latest_version(versions) for id_, versions in by_id.items()} == {d.dispatch_id: d for d in replay}
