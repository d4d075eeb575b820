"""The lines of a replay that hold an event_id written on more than one line: the only
events its duplicate check must bring together.

A replay's duplicate check needs every copy of an event_id to meet, and
grouping every event to make them meet cost more than any other stage and
held the whole input in the FnApiRunner's memory (docs/performance.md). Yet
about one event in two hundred is a redelivery. So a replay first scans its
event files for the event_ids written on them (`ids_on`, no parsing), finds
those written more than once (`RepeatedEventIds`), and then reads the files
again for the lines that hold one of them (`ReadRepeatedLines`); parsed as
every line is, those lines give the copies that
`deduplicate.FindLaterCopies` brings together, and every other event goes on
where it was parsed.

The scan may find more ids than parsing vouches for (an id on a line parsing
refuses, a second "event_id" key, the text of another field): an extra id
only brings its events together for nothing. It never finds fewer: every id
that parsing reads off a line is on that line as written or, where the line
holds a backslash, as the standard JSON reader decodes it, as parsing does.
"""
import bisect
import itertools
import json
import pickle
import re
import struct
import zlib
from collections.abc import Iterable, Sequence

import apache_beam as beam
import pyarrow as pa
from apache_beam.transforms.window import GlobalWindow
from apache_beam.utils.timestamp import MIN_TIMESTAMP
from apache_beam.utils.windowed_value import WindowedValue

from transforms.blocks import Block
from transforms.ingest.read_events import line_blocks, matched_files, text_blocks

SHARDS = 64
PART_IDS = 20_000  # ids of one shard packed as one part, gathered across a bundle
# JSON's white space within a line, and an id without an escape: never past the end of its line
_WRITTEN_ID = re.compile(r'"event_id"[ \t\r]*:[ \t\r]*"([^"\\\n]*)"')


def shard_of(event_id: str) -> int:
    """The shard whose group sees every copy of `event_id`: the same in every worker process."""
    return zlib.crc32(event_id.encode()) % SHARDS


def ids_on(texts: Sequence[str]) -> list[str]:
    """Every event_id written on these lines (and perhaps a few more): see the module docstring."""
    joined = "\n".join(texts)
    if "\\" not in joined:
        return _WRITTEN_ID.findall(joined)
    found: list[str] = []
    for text in texts:  # a line with an escape: its ids as written and as decoded, each once
        found += {*_WRITTEN_ID.findall(text), *_decoded_id(text)} if "\\" in text else _WRITTEN_ID.findall(text)
    return found


def _decoded_id(text: str) -> list[str]:
    """The event_id the standard JSON reader finds on a line; none where it spells half a
    UTF-16 pair, which parsing refuses (and no coder can carry)."""
    try:
        obj = json.loads(text)
    except (ValueError, RecursionError):
        return []
    event_id = obj.get("event_id") if isinstance(obj, dict) else None
    if not isinstance(event_id, str):
        return []
    try:
        event_id.encode("utf-8")
    except UnicodeEncodeError:
        return []
    return [event_id]


# Zstandard at its fastest level: a runner that keeps its shuffle in memory, as the FnApiRunner
# does, holds a few bytes an id.
_CODEC = pa.Codec("zstd", compression_level=1)
_SIZE = struct.Struct("<Q")  # the pickle's length, which the codec needs to decompress


def pack_ids(ids: list[str]) -> bytes:
    pickled = pickle.dumps(ids, protocol=pickle.HIGHEST_PROTOCOL)
    return _SIZE.pack(len(pickled)) + _CODEC.compress(pickled, asbytes=True)


def unpack_ids(packed: bytes) -> list[str]:
    (size,) = _SIZE.unpack_from(packed)
    return pickle.loads(_CODEC.decompress(memoryview(packed)[_SIZE.size:], size, asbytes=True))


class _IdsOfFiles(beam.DoFn):
    """A matched file → the ids written on its lines, a block of lines at a time."""

    def process(self, readable):
        for texts in text_blocks(readable):
            yield ids_on(texts)


class ReadEventIds(beam.PTransform):
    """File patterns → lists of the event_ids written in them, for `RepeatedEventIds`."""

    def __init__(self, patterns: Iterable[str]):
        super().__init__()
        self._patterns = list(patterns)

    def expand(self, pbegin):
        return matched_files(pbegin, self._patterns) | "Ids" >> beam.ParDo(_IdsOfFiles()).with_output_types(
            list[str])


class _PackIdsByShard(beam.DoFn):
    """Lists of ids → (shard, packed part), each shard's ids gathered across a bundle."""

    def start_bundle(self) -> None:
        self._ids: dict[int, list[str]] = {}

    def process(self, ids: list[str]):
        for event_id in ids:
            shard = shard_of(event_id)
            held = self._ids.setdefault(shard, [])
            held.append(event_id)
            if len(held) == PART_IDS:
                yield shard, pack_ids(self._ids.pop(shard))

    def finish_bundle(self):
        for shard, ids in self._ids.items():
            yield WindowedValue((shard, pack_ids(ids)), MIN_TIMESTAMP, [GlobalWindow()])
        self._ids = {}


def _repeated_in(keyed) -> Iterable[frozenset[str]]:
    """The ids of one shard that occur more than once."""
    _, parts = keyed
    seen: set[str] = set()
    repeated: set[str] = set()
    for part in parts:
        for event_id in unpack_ids(part):
            if event_id in seen:
                repeated.add(event_id)
            else:
                seen.add(event_id)
    if repeated:
        yield frozenset(repeated)


class UnionOfSets(beam.CombineFn):
    """Sets → their union, as one frozenset (empty where there are none)."""

    def create_accumulator(self) -> set[str]:
        return set()

    def add_input(self, union: set[str], ids: frozenset[str]) -> set[str]:
        union |= ids
        return union

    def merge_accumulators(self, unions: Iterable[set[str]]) -> set[str]:
        return set().union(*unions)

    def extract_output(self, union: set[str]) -> frozenset[str]:
        return frozenset(union)


class RepeatedEventIds(beam.PTransform):
    """Lists of event_ids → one frozenset: those that occur more than once (empty if none),
    for use as a singleton side input. Each shard's ids meet in one group, so no worker
    holds every id of the replay at once."""

    def expand(self, ids):
        return (ids
                | "ByShard" >> beam.ParDo(_PackIdsByShard()).with_output_types(tuple[int, bytes])
                | "Group" >> beam.GroupByKey()
                | "Repeated" >> beam.FlatMap(_repeated_in).with_output_types(frozenset[str])
                | "Union" >> beam.CombineGlobally(UnionOfSets()))



def lines_holding(texts: Sequence[str], repeated: frozenset[str]) -> list[int]:
    """The rows of `texts` on which `ids_on` finds one of the `repeated` event_ids."""
    joined = "\n".join(texts)
    starts = list(itertools.accumulate((len(text) + 1 for text in texts[:-1]), initial=0))
    rows = {bisect.bisect_right(starts, written.start()) - 1
            for written in _WRITTEN_ID.finditer(joined) if written.group(1) in repeated}
    if "\\" in joined:
        rows.update(row for row, text in enumerate(texts) if "\\" in text and not repeated.isdisjoint(ids_on([text])))
    return sorted(rows)


class _ReadLinesHolding(beam.DoFn):
    """A matched file → blocks of its lines that hold a repeated event_id. The side input is
    taken where the file is read: a runner that fuses its stages as Beam's portable
    runners do (Flink) cannot fuse a stage with side inputs into the stage before it, and
    here that boundary carries only the file's name."""

    def process(self, readable, repeated: frozenset[str]):
        if not repeated:
            return
        for lines in line_blocks(readable):
            if rows := lines_holding(lines.column("text"), repeated):
                yield lines.take(rows)


class ReadRepeatedLines(beam.PTransform):
    """File patterns → blocks of the lines that hold an event_id written on more than one
    line of the files, which are read twice: for their ids, then for those lines."""

    def __init__(self, patterns: Iterable[str]):
        super().__init__()
        self._patterns = list(patterns)

    def expand(self, pbegin):
        repeated = (pbegin
                    | "ReadIds" >> ReadEventIds(self._patterns)
                    | "Repeated" >> RepeatedEventIds())
        return matched_files(pbegin, self._patterns) | "Lines" >> beam.ParDo(
            _ReadLinesHolding(), beam.pvalue.AsSingleton(repeated)).with_output_types(Block)
