"""Drop duplicate deliveries of the same camera event.

Cameras and message brokers redeliver. The first delivery of an event_id is
kept; every later one becomes a dead letter naming the first, so the
accounting still balances.

A replay groups the whole input at once, so a duplicate is caught however far
apart the copies are, and "first" means first by position in the input. Its
events arrive in blocks (`transforms.blocks`), and they are grouped a shard
at a time: each block is cut by a hash of the event_id into SHARDS parts,
the parts of a shard meet in one group, and the shard's copies of an
event_id meet there. A few thousand elements cross the shuffle instead of one
per event.

A live stream cannot wait for the end of its input. Each event_id keeps, in
state scoped to its event-time window of the horizon, the source of the first
delivery to arrive: that delivery goes on at once and later ones are dead
letters. The runner drops a window's state when the window expires, which
keeps memory flat on an endless stream. A redelivery carries the same capture
time as the original, so it falls in the same window; the window's state is
kept for the live run's allowed lateness after it closes, and the source
refuses lines later than that (ParseEvents), so no copy is dropped unseen. (State
cleared by a user timer would also catch copies with different capture times, but on Prism a bundle split while timers
are pending can lose state and pass a copy twice: measured, not guessed.)

On a watermark-driven runner (Prism, Flink) the replay's groups are stamped
with their earliest event time, not the end of the window, so the events stay
on time for the event-time windows downstream. The FnApiRunner drops nothing
as late in a batch, and a non-default timestamp combiner sends it down a
general trigger path several times slower, so there the group keeps the
default. Either way each block that leaves is stamped with its earliest
capture time.
"""
import zlib
from dataclasses import dataclass

import apache_beam as beam
from apache_beam.coders import StrUtf8Coder
from apache_beam.transforms import window
from apache_beam.transforms.userstate import ReadModifyWriteStateSpec

from models.records import DEAD_LETTERS, CameraEvent, DeadLetter, at_event_time
from transforms.blocks import Block, in_blocks
from transforms.stage_metrics import counted

SHARDS = 64


def input_position(source: str) -> tuple[str, int]:
    """(file, line number) of a `file:line` source, to order copies as they arrived."""
    path, _, number = source.rpartition(":")
    return path, int(number) if number.isdigit() else 0


def _duplicate(repeat: CameraEvent, first_source: str) -> beam.pvalue.TaggedOutput:
    return beam.pvalue.TaggedOutput(DEAD_LETTERS, counted(DeadLetter(
        repeat.source, repeat.event_id, "deduplicate",
        f"duplicate event_id, first delivered at {first_source}", "")))


def shard_of(event_id: str) -> int:
    """The shard whose group sees every copy of `event_id`: the same in every worker process."""
    return zlib.crc32(event_id.encode()) % SHARDS


def _earliest_us(events: list[CameraEvent]) -> int:
    return min(event.captured_at_us for event in events)


def _by_shard(events):
    shards: dict = {}
    for event in events:
        shards.setdefault(shard_of(event.event_id), []).append(event)
    for shard, part in shards.items():
        yield at_event_time((shard, Block(part)), _earliest_us(part))


def _first_deliveries(keyed):
    """A shard's events: the first delivery of each event_id in blocks, later copies as dead letters."""
    _, parts = keyed
    copies: dict = {}
    for part in parts:
        for event in part:
            copies.setdefault(event.event_id, []).append(event)
    unique = []
    for events in copies.values():
        first = events[0]
        if len(events) > 1:
            first, *repeats = sorted(events, key=lambda event: input_position(event.source))
            for repeat in repeats:
                yield _duplicate(repeat, first.source)
        unique.append(first)
    for block in in_blocks(unique):
        yield at_event_time(block, _earliest_us(block))


class _KeepFirstArrival(beam.DoFn):
    """Per event_id and horizon window: the first delivery to arrive passes, later ones are dead letters.

    State is scoped to the window, so the runner drops it when the window
    expires: no user timer is needed, which matters on Prism, where a bundle
    split with timers pending can lose state and pass a copy twice.
    """
    FIRST_SOURCE = ReadModifyWriteStateSpec("first_source", StrUtf8Coder())

    def process(self, keyed, first_source=beam.DoFn.StateParam(FIRST_SOURCE)):
        _, event = keyed
        seen = first_source.read()
        if seen is not None:
            yield _duplicate(event, seen)
            return
        first_source.write(event.source)
        yield event  # at once, at its capture time


@dataclass(frozen=True)
class DeduplicationConfig:
    """How DropDuplicateDeliveries groups deliveries (see the module docstring): live
    (`streaming`) within event-time windows of `horizon_minutes`, kept `allowed_lateness_s`
    after they close; a replay stamped for a `watermark_driven` runner or the FnApiRunner."""
    horizon_minutes: float = 10.0
    streaming: bool = False
    watermark_driven: bool = True
    allowed_lateness_s: float = 0.0


class DropDuplicateDeliveries(beam.PTransform):
    """Live: CameraEvents → unique CameraEvents (main) and DeadLetters (`dead_letters`).
    A replay: blocks of CameraEvents → blocks of unique ones, and DeadLetters."""

    def __init__(self, config: DeduplicationConfig = DeduplicationConfig()):
        super().__init__()
        self._horizon_us = round(config.horizon_minutes * 60_000_000)
        self._streaming = config.streaming
        self._lateness_s = config.allowed_lateness_s
        self._windowing = beam.WindowInto(window.GlobalWindows(), timestamp_combiner=(
            window.TimestampCombiner.OUTPUT_AT_EARLIEST if config.watermark_driven
            else window.TimestampCombiner.OUTPUT_AT_EOW))

    def expand(self, events):
        if self._streaming:
            keyed = events | "ByEventId" >> beam.Map(lambda event: (event.event_id, event)).with_output_types(
                tuple[str, CameraEvent])
            return (keyed
                    | "Horizon" >> beam.WindowInto(window.FixedWindows(self._horizon_us / 1e6),
                                                   allowed_lateness=self._lateness_s)
                    | "KeepFirstArrival" >> beam.ParDo(_KeepFirstArrival()).with_outputs(
                        DEAD_LETTERS, main="events"))
        sharded = events | "ByShard" >> beam.FlatMap(_by_shard).with_output_types(tuple[int, Block])
        return (sharded
                | "Horizon" >> self._windowing
                | "Group" >> beam.GroupByKey()
                | "KeepFirst" >> beam.FlatMap(_first_deliveries).with_output_types(Block).with_outputs(
                    DEAD_LETTERS, main="events"))
