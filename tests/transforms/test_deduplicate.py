import apache_beam as beam
import pytest
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to

from tests.transforms.test_recognise_plates import event
from transforms.deduplicate import DropDuplicateDeliveries


def delivery(event_id, line, minutes=0):
    return event()._replace(event_id=event_id, source=f"cams.jsonl:{line}",
                            captured_at_us=1_795_910_400_000_000 + minutes * 60_000_000)


@pytest.mark.parametrize("watermark_driven", [False, True])
def test_the_first_delivery_by_position_wins_and_keeps_its_event_time(watermark_driven):
    deliveries = [delivery("b", 12, 5), delivery("a", 10), delivery("a", 3), delivery("c", 4),
                  delivery("a", 11)]
    with TestPipeline(runner="FnApiRunner") as p:
        out = (p | beam.Create(deliveries)
               | DropDuplicateDeliveries(watermark_driven=watermark_driven))
        kept = out.events | beam.Map(
            lambda e, ts=beam.DoFn.TimestampParam: (e.event_id, e.source, ts.micros - e.captured_at_us))
        assert_that(kept, equal_to([("a", "cams.jsonl:3", 0), ("b", "cams.jsonl:12", 0),
                                    ("c", "cams.jsonl:4", 0)]), label="kept")
        assert_that(out.dead_letters | beam.Map(lambda d: (d.source, d.stage, d.reason)), equal_to([
            ("cams.jsonl:10", "deduplicate", "duplicate event_id, first delivered at cams.jsonl:3"),
            ("cams.jsonl:11", "deduplicate", "duplicate event_id, first delivered at cams.jsonl:3"),
        ]), label="dead")
