"""Drop duplicate deliveries of the same camera event.

Cameras and message brokers redeliver. The first delivery of an event_id is
kept; every later one becomes a dead letter naming the first, so the
accounting still balances.

A replay groups the whole input at once, so a duplicate is caught however far
apart the copies are, and "first" means first by position in the input. Its
events arrive in blocks (`transforms.blocks`), and they are grouped a shard
at a time: each event goes by a hash of its event_id to one of SHARDS parts,
gathered across a bundle's blocks, the parts of a shard meet in one group,
and the shard's copies of an event_id meet there. A few hundred elements
cross the shuffle instead of one per event, each part packed
(`transforms.blocks.pack`), so that a runner that holds the whole shuffle in
memory holds about 27 bytes an event.

A live stream cannot wait for the end of its input. The first delivery of an
event_id to arrive goes on at once and later ones are dead letters; what has
been seen is kept in state per shard (the same shards as a replay's) and
event-time window of the horizon (`_KeepFirstArrival`). Keyed by event_id,
every event would start with a state read that no cache can answer, one
round trip to the runner each, which held a live run on Prism to a few
hundred events a second. A shard's state is read once per bundle that
touches it (or once per worker, where the runner hands out cache tokens for
user state, which Prism does not). It holds a 4-byte digest of each kept
event_id, written back as one packed buffer per bundle, and the (event_id,
source) pairs, appended as they come and read only when a digest matches, to
confirm the event_id and name the first delivery. The runner drops a window's
state when the window expires, which keeps memory flat on an endless stream. A
redelivery carries the same capture time as the original, so it falls in the
same window; the window's state is kept for the live run's allowed lateness
after it closes, and the source refuses lines later than that (ParseEvents),
so no copy is dropped unseen. (State cleared by a user timer would also catch
copies with different capture times, but on Prism a bundle split while timers
are pending can lose state and pass a copy twice: measured, not guessed.)

On a watermark-driven runner (Prism, Flink) the replay's groups are stamped
with their earliest event time, not the end of the window, so the events stay
on time for the event-time windows downstream. The FnApiRunner drops nothing
as late in a batch, and a non-default timestamp combiner sends it down a
general trigger path several times slower, so there the group keeps the
default. Either way each block that leaves is stamped with its earliest
capture time.
"""
import hashlib
import zlib
from dataclasses import dataclass

import apache_beam as beam
from apache_beam.coders import StrUtf8Coder, TupleCoder
from apache_beam.transforms import window
from apache_beam.transforms.userstate import BagStateSpec, ReadModifyWriteStateSpec
from apache_beam.transforms.window import GlobalWindow
from apache_beam.utils.timestamp import Timestamp
from apache_beam.utils.windowed_value import WindowedValue

from models.records import DEAD_LETTERS, CameraEvent, DeadLetter, at_event_time
from transforms.blocks import Block, cut, pack, unpack
from transforms.stage_metrics import counted

SHARDS = 64
PART_EVENTS = 500


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


def _earliest_us(events: Block) -> int:
    return min(events.column("captured_at_us"))


class _PackByShard(beam.DoFn):
    """Blocks of events → (shard, packed part): each shard's events gathered across a bundle's
    blocks, a part packed once it holds PART_EVENTS of them and the rest at the bundle's end.
    A block's share of one shard is a few dozen events, which pack at about twice the cost."""

    def start_bundle(self) -> None:
        self._parts: dict[int, list[Block]] = {}
        self._sizes: dict[int, int] = {}

    def process(self, events: Block):
        rows_of: dict[int, list[int]] = {}
        for row, event_id in enumerate(events.column("event_id")):
            rows_of.setdefault(shard_of(event_id), []).append(row)
        for shard, rows in rows_of.items():
            while rows:
                held = self._sizes.get(shard, 0)
                taken, rows = rows[:PART_EVENTS - held], rows[PART_EVENTS - held:]
                self._parts.setdefault(shard, []).append(events.take(taken))
                self._sizes[shard] = held + len(taken)
                if self._sizes[shard] == PART_EVENTS:
                    part = Block.joined(self._parts.pop(shard))
                    del self._sizes[shard]
                    yield at_event_time((shard, pack(part)), _earliest_us(part))

    def finish_bundle(self):
        for shard, parts in self._parts.items():
            part = Block.joined(parts)
            yield WindowedValue((shard, pack(part)), Timestamp(micros=_earliest_us(part)), [GlobalWindow()])
        self._parts, self._sizes = {}, {}


def _first_deliveries(keyed):
    """A shard's events: the first delivery of each event_id in blocks, later copies as dead letters."""
    _, parts = keyed
    events = Block.joined([unpack(part) for part in parts])
    first_of: dict[str, int] = {}  # event_id → the row of its first delivery
    copies: dict[str, list[int]] = {}  # only for event_ids delivered more than once
    for row, event_id in enumerate(events.column("event_id")):
        first = first_of.setdefault(event_id, row)
        if first != row:
            copies.setdefault(event_id, [first]).append(row)
    sources = events.column("source")
    for event_id, rows in copies.items():
        first, *repeats = sorted(rows, key=lambda row: input_position(sources[row]))
        first_of[event_id] = first
        for repeat in repeats:
            yield _duplicate(events[repeat], sources[first])
    for block in cut(events.take(list(first_of.values()))):
        yield at_event_time(block, _earliest_us(block))


DIGEST_BYTES = 4


def _digest(event_id: str) -> bytes:
    return hashlib.blake2b(event_id.encode(), digest_size=DIGEST_BYTES).digest()


class SeenIds:
    """Digests of the event_ids a shard has kept, packed end to end and looked up where they lie.

    Prism hands no cache token for user state, so a shard's state is read
    again in every bundle that touches it: as packed bytes it decodes to one
    buffer, not to a set rebuilt each time. A digest can be shared by two
    event_ids (about one lookup in 400,000 with 10,000 digests in a shard);
    the kept (event_id, source) pairs settle it.
    """

    def __init__(self, packed: bytes = b""):
        self.packed = bytearray(packed)

    def __contains__(self, digest: bytes) -> bool:
        at = self.packed.find(digest)
        while at > 0 and at % DIGEST_BYTES:
            at = self.packed.find(digest, at + 1)
        return at >= 0

    def add(self, digest: bytes) -> None:
        self.packed += digest


class SeenIdsCoder(beam.coders.Coder):
    def encode(self, seen: SeenIds) -> bytes:
        return bytes(seen.packed)

    def decode(self, encoded: bytes) -> SeenIds:
        return SeenIds(encoded)

    def is_deterministic(self) -> bool:
        return True


class _KeepFirstArrival(beam.DoFn):
    """Per shard and horizon window: the first delivery of each event_id to arrive passes,
    later ones are dead letters (see the module docstring).

    State is scoped to the window, so the runner drops it when the window
    expires: no user timer is needed, which matters on Prism, where a bundle
    split with timers pending can lose state and pass a copy twice.
    """
    SEEN = ReadModifyWriteStateSpec("seen", SeenIdsCoder())
    FIRSTS = BagStateSpec("firsts", TupleCoder((StrUtf8Coder(), StrUtf8Coder())))  # (event_id, source)

    def process(self, keyed, seen=beam.DoFn.StateParam(SEEN), firsts=beam.DoFn.StateParam(FIRSTS)):
        _, event = keyed
        kept = seen.read() or SeenIds()
        digest = _digest(event.event_id)
        if digest in kept:
            first_source = next((source for event_id, source in firsts.read() if event_id == event.event_id), None)
            if first_source is not None:
                yield _duplicate(event, first_source)
                return
        kept.add(digest)
        seen.write(kept)
        firsts.add((event.event_id, event.source))
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
            keyed = events | "ByShard" >> beam.Map(lambda event: (shard_of(event.event_id), event)).with_output_types(
                tuple[int, CameraEvent])
            return (keyed
                    | "Horizon" >> beam.WindowInto(window.FixedWindows(self._horizon_us / 1e6),
                                                   allowed_lateness=self._lateness_s)
                    | "KeepFirstArrival" >> beam.ParDo(_KeepFirstArrival()).with_outputs(
                        DEAD_LETTERS, main="events"))
        sharded = events | "ByShard" >> beam.ParDo(_PackByShard()).with_output_types(tuple[int, bytes])
        return (sharded
                | "Horizon" >> self._windowing
                | "Group" >> beam.GroupByKey()
                | "KeepFirst" >> beam.FlatMap(_first_deliveries).with_output_types(Block).with_outputs(
                    DEAD_LETTERS, main="events"))
