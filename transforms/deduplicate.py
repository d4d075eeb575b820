"""Drop duplicate deliveries of the same camera event.

Cameras and message brokers redeliver. The first delivery of an event_id (by
position in the input) is kept; every later one becomes a dead letter naming
the first, so the accounting still balances.

A replay groups the whole input at once, so a duplicate is caught however far
apart the copies are. A live stream cannot wait for the end of its input: it
groups within event-time windows of the dedup horizon, which bounds the state
it keeps. (Per-event grouping in the global window is also several times
cheaper on the local batch runner than in event-time windows.)

On a watermark-driven runner (Prism, Flink) groups are stamped with their
earliest event time, not the end of the window, so the events stay on time
for the event-time windows downstream. The FnApiRunner drops nothing as late
in a batch, and a non-default timestamp combiner sends it down a general
trigger path several times slower, so there the group keeps the default and
each event is stamped back with its capture time after grouping.
"""
import apache_beam as beam
from apache_beam.transforms import window

from transforms.parse_events import DEAD_LETTERS
from transforms.records import CameraEvent, DeadLetter, at_event_time


def input_position(source: str) -> tuple[str, int]:
    path, _, number = source.rpartition(":")
    """(file, line number) of a `file:line` source, to order copies as they arrived."""
    return path, int(number) if number.isdigit() else 0


def _first_delivery(keyed):
    event_id, events = keyed
    first, *repeats = sorted(events, key=lambda event: input_position(event.source))
    yield at_event_time(first, first.captured_at_us)
    for repeat in repeats:
        yield beam.pvalue.TaggedOutput(DEAD_LETTERS, DeadLetter(
            repeat.source, event_id, "deduplicate",
            f"duplicate event_id, first delivered at {first.source}", ""))


class DropDuplicateDeliveries(beam.PTransform):
    """CameraEvents → unique CameraEvents (main) and DeadLetters (`dead_letters`)."""

    def __init__(self, horizon_minutes: float = 10.0, streaming: bool = False,
                 watermark_driven: bool = True):
        super().__init__()
        horizon = window.FixedWindows(horizon_minutes * 60) if streaming else window.GlobalWindows()
        self._windowing = beam.WindowInto(horizon, timestamp_combiner=(
            window.TimestampCombiner.OUTPUT_AT_EARLIEST if watermark_driven or streaming
            else window.TimestampCombiner.OUTPUT_AT_EOW))

    def expand(self, events):
        keyed = events | "ByEventId" >> beam.Map(lambda event: (event.event_id, event)).with_output_types(
            tuple[str, CameraEvent])
        if keyed.windowing != self._windowing.get_windowing(None):
            keyed = keyed | "Horizon" >> self._windowing
        return (keyed
                | "Group" >> beam.GroupByKey()
                | "KeepFirst" >> beam.FlatMap(_first_delivery).with_outputs(DEAD_LETTERS, main="events"))
