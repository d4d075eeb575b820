"""Duplicate deliveries: a replay's blocks by input position (FnApiRunner), a live stream by arrival
(TestStream on Prism, the local runner with real watermarks and event-time timers)."""
import apache_beam as beam
import pytest
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.test_stream import TestStream
from apache_beam.testing.util import assert_that, equal_to
from apache_beam.utils.timestamp import Timestamp

from models.records import CameraEvent, at_event_time
from pipelines.job.run import pipeline_options
from tests.builders import camera_event
from transforms.blocks import Block
from transforms.ingest import deduplicate
from transforms.ingest.deduplicate import DeduplicationConfig, DropDuplicateDeliveries

EIGHT_O_CLOCK_US = 1_795_910_400_000_000  # 2026-11-29T08:00:00+08:00, a boundary of 10-minute windows
SECOND_US = 1_000_000
HORIZON_US = 10 * 60 * SECOND_US


def delivery(event_id, line, minutes=0, seconds=0):
    return camera_event()._replace(event_id=event_id, source=f"cams.jsonl:{line}",
                            captured_at_us=EIGHT_O_CLOCK_US + (minutes * 60 + seconds) * SECOND_US)


@pytest.mark.beam
@pytest.mark.parametrize("watermark_driven", [False, True])
def test_the_first_delivery_by_position_wins_and_keeps_its_event_time(watermark_driven):
    deliveries = [delivery("b", 12, 5), delivery("a", 10), delivery("a", 3), delivery("c", 4),
                  delivery("a", 11)]
    with TestPipeline(runner="FnApiRunner") as p:
        blocks = p | beam.Create([Block(deliveries[:2]), Block(deliveries[2:])]).with_output_types(Block)
        out = blocks | DropDuplicateDeliveries(DeduplicationConfig(watermark_driven=watermark_driven))
        # each block leaves stamped with its earliest capture time: no event in it is late
        kept = out.events | beam.FlatMap(lambda block, ts=beam.DoFn.TimestampParam: [
            (e.event_id, e.source, ts.micros == min(e.captured_at_us for e in block)) for e in block])
        assert_that(kept, equal_to([("a", "cams.jsonl:3", True), ("b", "cams.jsonl:12", True),
                                    ("c", "cams.jsonl:4", True)]), label="kept")
        assert_that(out.dead_letters | beam.Map(lambda d: (d.source, d.stage, d.reason)), equal_to([
            ("cams.jsonl:10", "deduplicate", "duplicate event_id, first delivered at cams.jsonl:3"),
            ("cams.jsonl:11", "deduplicate", "duplicate event_id, first delivered at cams.jsonl:3"),
        ]), label="dead")


def deduplicate_live(steps, kept, dead, prism):
    """Runs a live dedup on Prism over `steps` (deliveries, stamped with their capture
    time, lists of deliveries that arrive together, and watermark advances in µs, in
    arrival order) and checks what comes out."""
    stream = TestStream(coder=beam.coders.registry.get_coder(CameraEvent))
    for step in steps:
        if isinstance(step, CameraEvent):
            stream.add_elements([at_event_time(step, step.captured_at_us)])
        elif isinstance(step, list):
            stream.add_elements([at_event_time(event, event.captured_at_us) for event in step])
        else:
            stream.advance_watermark_to(Timestamp(micros=step))
    with beam.Pipeline(options=pipeline_options([
            "--runner", "PrismRunner", "--prism_location", prism,
            "--environment_type", "LOOPBACK", "--streaming"])) as p:
        out = (p | stream.advance_watermark_to_infinity().with_output_types(CameraEvent)
               | DropDuplicateDeliveries(DeduplicationConfig(horizon_minutes=10, streaming=True)))
        assert_that(out.events | beam.Map(
            lambda e, ts=beam.DoFn.TimestampParam: (e.source, ts.micros - e.captured_at_us)),
            equal_to([(f"cams.jsonl:{line}", 0) for line in kept]), label="kept")
        assert_that(out.dead_letters | beam.Map(lambda d: (d.source, d.event_id, d.stage, d.reason)),
                    equal_to([(f"cams.jsonl:{line}", "a", "deduplicate",
                               f"duplicate event_id, first delivered at cams.jsonl:{first}")
                              for line, first in dead]), label="dead")


def test_live_copies_are_dead_letters_and_the_first_to_arrive_wins(prism):
    # Line 7 arrives before line 3: live, arrival decides, not the position in a file.
    deduplicate_live([EIGHT_O_CLOCK_US - 60 * SECOND_US, delivery("a", 7, seconds=-2),
                      delivery("b", 8), delivery("a", 3, seconds=-2), EIGHT_O_CLOCK_US + HORIZON_US],
                     kept=[7, 8], dead=[(3, 7)], prism=prism)


def test_live_a_copy_that_arrives_with_its_first_delivery_is_a_dead_letter(prism):
    deduplicate_live([[delivery("a", 5), delivery("b", 6), delivery("a", 2)], delivery("a", 9),
                      EIGHT_O_CLOCK_US + HORIZON_US], kept=[5, 6], dead=[(2, 5), (9, 5)], prism=prism)


def test_live_state_lasts_the_horizon_window_and_a_new_window_starts_afresh(prism):
    # 07:59:58 and 08:00:05 lie in different 10-minute windows: the second window has
    # its own state, so an event_id reused with another capture time there is a new event.
    deduplicate_live([delivery("a", 1, seconds=-2), delivery("a", 2, seconds=-2),
                      delivery("a", 3, seconds=5), delivery("a", 4, seconds=5),
                      EIGHT_O_CLOCK_US + HORIZON_US + SECOND_US],
                     kept=[1, 3], dead=[(2, 1), (4, 3)], prism=prism)


def test_live_a_digest_shared_by_two_event_ids_is_not_a_duplicate(prism, monkeypatch):
    # Every event_id gets the same digest: the kept (event_id, source) pairs of the
    # shard still tell a copy of "a" from the first delivery of another event_id.
    monkeypatch.setattr(deduplicate, "_digest", lambda event_id: b"\0" * 8)
    other = next(event_id for event_id in (f"b{n}" for n in range(1000))
                 if deduplicate.shard_of(event_id) == deduplicate.shard_of("a"))
    deduplicate_live([delivery("a", 1), delivery(other, 2), delivery("a", 3),
                      EIGHT_O_CLOCK_US + HORIZON_US + SECOND_US],
                     kept=[1, 2], dead=[(3, 1)], prism=prism)


def test_seen_ids_survive_their_coder():
    seen = deduplicate.SeenIds()
    for event_id in ("a", "b", "a"):
        seen.add(deduplicate._digest(event_id))
    again = deduplicate.SeenIdsCoder().decode(deduplicate.SeenIdsCoder().encode(seen))
    assert deduplicate._digest("a") in again and deduplicate._digest("b") in again
    assert deduplicate._digest("c") not in again


def test_a_digest_counts_only_where_a_kept_one_begins():
    seen = deduplicate.SeenIds(b"\x01\x02\x03\x04\x05\x06\x07\x08")
    assert b"\x05\x06\x07\x08" in seen and b"\x01\x02\x03\x04" in seen
    assert b"\x03\x04\x05\x06" not in seen  # the end of one and the start of the next


def test_a_shards_events_from_many_blocks_cross_the_shuffle_as_one_part_until_it_is_full(monkeypatch):
    monkeypatch.setattr(deduplicate, "PART_EVENTS", 3)
    same_shard = [f"ev-{n}" for n in range(200) if deduplicate.shard_of(f"ev-{n}") == 5][:4]
    first, second = Block([delivery(same_shard[0], 1, 2), delivery(same_shard[1], 2, 1)]), Block([
        delivery(same_shard[2], 3), delivery(same_shard[3], 4, 3)])
    by_shard = deduplicate._PackByShard()
    by_shard.start_bundle()
    assert list(by_shard.process(first)) == []  # two of three: held for the next block
    full = list(by_shard.process(second))
    rest = list(by_shard.finish_bundle())
    assert [(part.value[0], part.timestamp.micros) for part in full] == [(5, EIGHT_O_CLOCK_US)]
    assert [e.event_id for e in deduplicate.unpack(full[0].value[1])] == same_shard[:3]
    assert [(part.value[0], part.timestamp.micros) for part in rest] == [(5, EIGHT_O_CLOCK_US + 180 * SECOND_US)]
    assert deduplicate.unpack(rest[0].value[1]) == [second[1]]

