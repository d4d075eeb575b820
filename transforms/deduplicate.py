"""Drop duplicate deliveries of the same camera event.

Cameras and message brokers redeliver. The first delivery of an event_id (by
position in the input) is kept; every later one becomes a dead letter naming
the first, so the accounting still balances. Duplicates carry the capture time
of the original, so grouping within event-time windows finds them in batch and
in streaming alike, while state stays bounded by the window.
"""
import apache_beam as beam
from apache_beam.transforms import window

from transforms.parse_events import DEAD_LETTERS
from transforms.records import CameraEvent, DeadLetter


def _position(source: str) -> tuple[str, int]:
    path, _, number = source.rpartition(":")
    return path, int(number) if number.isdigit() else 0


def _first_delivery(keyed):
    event_id, events = keyed
    first, *repeats = sorted(events, key=lambda event: _position(event.source))
    yield window.TimestampedValue(first, first.captured_at_us / 1e6)
    for repeat in repeats:
        yield beam.pvalue.TaggedOutput(DEAD_LETTERS, DeadLetter(
            repeat.source, event_id, "deduplicate",
            f"duplicate event_id, first delivered at {first.source}", ""))


class DropDuplicateDeliveries(beam.PTransform):
    """CameraEvents → unique CameraEvents (main) and DeadLetters (`dead_letters`)."""

    def __init__(self, window_minutes: float = 10.0):
        super().__init__()
        self._window_s = window_minutes * 60

    def expand(self, events):
        return (events
                | "ByEventId" >> beam.Map(lambda event: (event.event_id, event)).with_output_types(
                    tuple[str, CameraEvent])
                | "Window" >> beam.WindowInto(window.FixedWindows(self._window_s))
                | "Group" >> beam.GroupByKey()
                | "KeepFirst" >> beam.FlatMap(_first_delivery).with_outputs(DEAD_LETTERS, main="events"))
