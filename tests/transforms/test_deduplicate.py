"""Duplicate deliveries: a replay's by input position, found before its files are read for their
events (FnApiRunner), a live stream's by arrival (TestStream on Prism, the local runner with real
watermarks and event-time timers)."""
import json

import apache_beam as beam
import pytest
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.test_stream import TestStream
from apache_beam.testing.util import assert_that, equal_to
from apache_beam.utils.timestamp import Timestamp

from models.records import CameraEvent, at_event_time
from pipelines.job.run import pipeline_options
from tests.builders import camera_event
from transforms.ingest import deduplicate
from transforms.ingest.deduplicate import DeduplicationConfig, DropDuplicateDeliveries, FindLaterCopies
from transforms.ingest.parse_events import ParseEventBlocks
from transforms.ingest.read_events import ReadEventBlocks

EIGHT_O_CLOCK_US = 1_795_910_400_000_000  # 2026-11-29T08:00:00+08:00, a boundary of 10-minute windows
SECOND_US = 1_000_000
HORIZON_US = 10 * 60 * SECOND_US
CAMERA = "QH-SG-025"  # a camera of the sample world


def delivery(event_id, line, minutes=0, seconds=0):
    return camera_event()._replace(event_id=event_id, source=f"cams.jsonl:{line}",
                            captured_at_us=EIGHT_O_CLOCK_US + (minutes * 60 + seconds) * SECOND_US)


def line(event_id, minutes=0, **changed):
    return json.dumps({"event_id": event_id, "camera_id": CAMERA, "plate": "琼C12345",
                       "captured_at": f"2026-11-29T08:{minutes:02d}:00+08:00", **changed})


@pytest.mark.beam
def test_a_replays_later_copies_are_dead_letters_and_left_out_as_its_lines_are_read(tmp_path, world_folder):
    # by position: a.jsonl before b.jsonl; b's line 2 is refused by parsing, so it is no copy
    (tmp_path / "a.jsonl").write_text("\n".join([line("x", 5), line("y"), line("x", 5), line("z")]) + "\n")
    (tmp_path / "b.jsonl").write_text("\n".join([line("y"), line("z", camera_id="nope"), line("x", 5)]) + "\n")
    patterns = [str(tmp_path / "*.jsonl")]
    parse = ParseEventBlocks(world_folder, clock=lambda: EIGHT_O_CLOCK_US / 1e6)
    with TestPipeline(runner="FnApiRunner") as p:
        later = p | FindLaterCopies(patterns, parse.again())
        first_x, first_y = f"{tmp_path}/a.jsonl:1", f"{tmp_path}/a.jsonl:2"
        assert_that(later.dead_letters | beam.Map(lambda d: (d.source.rsplit("/")[-1], d.event_id, d.stage, d.reason)),
                    equal_to([("a.jsonl:3", "x", "deduplicate", f"duplicate event_id, first delivered at {first_x}"),
                              ("b.jsonl:1", "y", "deduplicate", f"duplicate event_id, first delivered at {first_y}"),
                              ("b.jsonl:3", "x", "deduplicate", f"duplicate event_id, first delivered at {first_x}")]),
                    label="dead")
        read = p | "Read" >> ReadEventBlocks(patterns, beam.pvalue.AsList(later.sources))
        assert_that(read | beam.FlatMap(lambda block: [line.source.rsplit("/")[-1] for line in block]),
                    equal_to(["a.jsonl:1", "a.jsonl:2", "a.jsonl:4", "b.jsonl:2"]), label="read")
        # the events each block carries keep their time: a block is stamped with its earliest
        events = read | parse
        assert_that(events.events | beam.Map(lambda block, ts=beam.DoFn.TimestampParam: (
            len(block), ts.micros == min(block.column("captured_at_us")))), equal_to([(3, True)]), label="stamped")


def test_an_event_ids_first_delivery_is_its_first_by_position_across_files():
    out = list(deduplicate._later_copies(("a", ["f2:1", "f1:10", "f1:9"])))
    assert [o.value.source for o in out[:-1]] == ["f1:10", "f2:1"] and out[-1] == frozenset(["f1:10", "f2:1"])
    assert {o.value.reason for o in out[:-1]} == {"duplicate event_id, first delivered at f1:9"}
    assert list(deduplicate._later_copies(("b", ["f1:3"]))) == []


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
               | DropDuplicateDeliveries(DeduplicationConfig(horizon_minutes=10)))
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
