"""Drop duplicate deliveries of the same camera event.

Cameras and message brokers redeliver. The first delivery of an event_id is
kept; every later one becomes a dead letter naming the first, so the
accounting still balances.

A replay sees its whole input before it decides, so a duplicate is caught
however far apart the copies are, and "first" means first by position in
the input. Its events never meet in groups, which cost more than any other
stage and held the whole input in the FnApiRunner's memory: the copies are
found first (`FindLaterCopies`), from the lines that hold an event_id written
on more than one line of the files (`repeated_ids`), about one in a hundred,
parsed as every line is. Their (event_id, source) pairs meet; each delivery
after the first becomes a dead letter here, and the reading of the files
leaves its line out (`read_events.ReadEventBlocks`).

A live stream cannot wait for the end of its input. The first delivery of an
event_id to arrive goes on at once and later ones are dead letters; what has
been seen is kept in state per shard (`repeated_ids.shard_of`) and
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
"""
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import NamedTuple

import apache_beam as beam
from apache_beam.coders import StrUtf8Coder, TupleCoder
from apache_beam.transforms import window
from apache_beam.transforms.userstate import BagStateSpec, ReadModifyWriteStateSpec

from models.records import DEAD_LETTERS, CameraEvent, DeadLetter
from transforms.blocks import Block
from transforms.ingest.repeated_ids import ReadRepeatedLines, shard_of
from transforms.stage_metrics import counted


def input_position(source: str) -> tuple[str, int]:
    """(file, line number) of a `file:line` source, to order copies as they arrived."""
    path, _, number = source.rpartition(":")
    return path, int(number) if number.isdigit() else 0


def _duplicate(repeat: CameraEvent, first_source: str) -> beam.pvalue.TaggedOutput:
    return beam.pvalue.TaggedOutput(DEAD_LETTERS, counted(DeadLetter(
        repeat.source, repeat.event_id, "deduplicate",
        f"duplicate event_id, first delivered at {first_source}", "")))


def _deliveries(copies: Block) -> Iterable[tuple[str, str]]:
    return zip(copies.column("event_id"), copies.column("source"))


def _later_copies(keyed):
    """An event_id's deliveries → the sources of all but the first, as one set, and a dead
    letter for each of them."""
    event_id, sources = keyed
    first, *later = sorted(sources, key=input_position)
    for source in later:
        yield beam.pvalue.TaggedOutput(DEAD_LETTERS, counted(DeadLetter(
            source, event_id, "deduplicate", f"duplicate event_id, first delivered at {first}", "")))
    if later:
        yield frozenset(later)


class LaterCopies(NamedTuple):
    """What FindLaterCopies gives."""
    dead_letters: beam.PCollection  # one for each delivery of an event_id after its first
    sources: beam.PCollection  # theirs, a frozenset per event_id: a list side input (`UnionOfSides`)


class FindLaterCopies(beam.PTransform):
    """A replay's event file patterns → LaterCopies, its copies parsed by `parse_again`
    (`ParseEventBlocks.again` of the parsing that reads every line), so that a line the
    replay refuses is no delivery here either."""

    def __init__(self, patterns: list[str], parse_again: beam.PTransform):
        super().__init__()
        self._patterns = patterns
        self._parse = parse_again

    def expand(self, pbegin):
        later = (pbegin
                 | "RepeatedLines" >> ReadRepeatedLines(self._patterns)
                 | "Parse" >> self._parse
                 | "Deliveries" >> beam.FlatMap(_deliveries).with_output_types(tuple[str, str])
                 | "ByEventId" >> beam.GroupByKey()
                 | "Later" >> beam.FlatMap(_later_copies).with_outputs(DEAD_LETTERS, main="sources"))
        return LaterCopies(later.dead_letters, later.sources)


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
    """How DropDuplicateDeliveries keeps the first delivery to arrive: within event-time
    windows of `horizon_minutes`, kept `allowed_lateness_s` after they close."""
    horizon_minutes: float = 10.0
    allowed_lateness_s: float = 0.0


class DropDuplicateDeliveries(beam.PTransform):
    """Live: CameraEvents → unique CameraEvents (main) and DeadLetters (`dead_letters`)."""

    def __init__(self, config: DeduplicationConfig = DeduplicationConfig()):
        super().__init__()
        self._horizon_us = round(config.horizon_minutes * 60_000_000)
        self._lateness_s = config.allowed_lateness_s

    def expand(self, events):
        keyed = events | "ByShard" >> beam.Map(lambda event: (shard_of(event.event_id), event)).with_output_types(
            tuple[int, CameraEvent])
        return (keyed
                | "Horizon" >> beam.WindowInto(window.FixedWindows(self._horizon_us / 1e6),
                                               allowed_lateness=self._lateness_s)
                | "KeepFirstArrival" >> beam.ParDo(_KeepFirstArrival()).with_outputs(DEAD_LETTERS, main="events"))
