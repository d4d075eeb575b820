"""The lines of a replay that hold an event_id written on more than one line: the only
events its duplicate check must bring together.

A replay's duplicate check needs every copy of an event_id to meet, and
grouping every event to make them meet cost more than any other stage and
held the whole input in the FnApiRunner's memory (docs/performance.md). Yet
about one event in two hundred is a redelivery. So a replay first scans its
event files for the event_ids written on them (`ids_in`, no parsing), finds
those written more than once (`RepeatedEventIds`), and then reads the files
again for the lines that hold one of them (`ReadRepeatedLines`); parsed as
every line is, those lines give the copies that
`deduplicate.FindLaterCopies` brings together, and every other event goes on
where it was parsed.

Both scans read a file's bytes as they are (`read_events.line_chunks`): the
ids are UTF-8, and a line is decoded only where it holds a backslash or one
of the repeated ids. An id as written holds no quote, backslash or newline,
all of them ASCII, so its bytes are the UTF-8 of the text that reading the
line gives; a line that is not valid UTF-8 is one that parsing refuses.

The scan may find more ids than parsing vouches for (an id on a line parsing
refuses, a second "event_id" key, the text of another field): an extra id
only brings its events together for nothing. It never finds fewer: every id
that parsing reads off a line is on that line as written or, where the line
holds a backslash, as the standard JSON reader decodes it, as parsing does.
"""
import json
import os
import pickle
import re
import zlib
from collections.abc import Iterable, Iterator

import apache_beam as beam
from apache_beam.transforms.window import GlobalWindow
from apache_beam.utils.timestamp import MIN_TIMESTAMP
from apache_beam.utils.windowed_value import WindowedValue

from models.records import EventLine
from transforms.blocks import Block
from transforms.ingest.read_events import chunks_of, line_text, matched_files
from transforms.packed import packed, unpacked
from transforms.sides import UnionOfSides

SHARDS = 64
PART_IDS = 20_000  # ids of one shard packed as one part, gathered across a bundle
# JSON's white space within a line, and an id without an escape: never past the end of its line
_WRITTEN_ID = re.compile(rb'"event_id"[ \t\r]*:[ \t\r]*"([^"\\\n]*)"')


def shard_of(event_id: str | bytes) -> int:
    """The shard whose group sees every copy of `event_id` (text, or its UTF-8): the same in
    every worker process."""
    return zlib.crc32(event_id if isinstance(event_id, bytes) else event_id.encode()) % SHARDS


def ids_in(chunk: bytes) -> list[bytes]:
    """Every event_id written on a chunk of lines, as UTF-8 (and perhaps a few more): see the
    module docstring. An id is found once on its line, as written or as decoded."""
    found = _WRITTEN_ID.findall(chunk)
    for start, end in _escaped_lines(chunk):
        found += _decoded_only(chunk[start:end])
    return found


def _escaped_lines(chunk: bytes) -> Iterator[tuple[int, int]]:
    """(start, end) of each line of a chunk that holds a backslash, once each."""
    escape = chunk.find(b"\\")
    while escape >= 0:
        start, end = chunk.rfind(b"\n", 0, escape) + 1, _end_of_line(chunk, escape)
        yield start, end
        escape = chunk.find(b"\\", end)


def _decoded_only(line: bytes) -> list[bytes]:
    """The id that decoding a line with an escape finds, where it is not also written as it is."""
    return [event_id for event_id in _decoded_id(line_text(line)) if event_id not in _WRITTEN_ID.findall(line)]


def _decoded_id(text: str) -> list[bytes]:
    """The event_id the standard JSON reader finds on a line, as UTF-8; none where it spells
    half a UTF-16 pair, which parsing refuses (and no coder can carry)."""
    try:
        obj = json.loads(text)
    except (ValueError, RecursionError):
        return []
    event_id = obj.get("event_id") if isinstance(obj, dict) else None
    if not isinstance(event_id, str):
        return []
    try:
        return [event_id.encode("utf-8")]
    except UnicodeEncodeError:
        return []


def lines_holding(chunk: bytes, repeated: frozenset[bytes]) -> list[tuple[int, bytes]]:
    """(row, line) for each line of a chunk on which `ids_in` finds one of the `repeated`
    event_ids, in order."""
    starts = {chunk.rfind(b"\n", 0, written.start()) + 1
              for written in _WRITTEN_ID.finditer(chunk) if written.group(1) in repeated}
    starts.update(start for start, end in _escaped_lines(chunk)
                  if not repeated.isdisjoint(_decoded_only(chunk[start:end])))
    held, row, counted_to = [], 0, 0
    for start in sorted(starts):
        row += chunk.count(b"\n", counted_to, start)
        counted_to = start
        held.append((row, chunk[start:_end_of_line(chunk, start)]))
    return held


def _end_of_line(chunk: bytes, position: int) -> int:
    end = chunk.find(b"\n", position)
    return len(chunk) if end < 0 else end


def pack_ids(ids: list[bytes]) -> bytes:
    """Ids as they cross the shuffle: a few bytes an id."""
    return packed(pickle.dumps(ids, protocol=pickle.HIGHEST_PROTOCOL))


def unpack_ids(part: bytes) -> list[bytes]:
    return pickle.loads(unpacked(part))


class _IdsOfFiles(beam.DoFn):
    """A matched file → the ids written on its lines, a chunk of lines at a time."""

    def process(self, readable):
        for chunk in chunks_of(readable):
            yield ids_in(chunk)


class ReadEventIds(beam.PTransform):
    """File patterns → lists of the event_ids written in them, as UTF-8, for `RepeatedEventIds`."""

    def __init__(self, patterns: Iterable[str]):
        super().__init__()
        self._patterns = list(patterns)

    def expand(self, pbegin):
        return matched_files(pbegin, self._patterns) | "Ids" >> beam.ParDo(_IdsOfFiles()).with_output_types(
            list[bytes])


class _PackIdsByShard(beam.DoFn):
    """Lists of ids → (shard, packed part), each shard's ids gathered across a bundle."""

    def start_bundle(self) -> None:
        self._ids: dict[int, list[bytes]] = {}

    def process(self, ids: list[bytes]):
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


def _repeated_in(keyed) -> Iterable[frozenset[bytes]]:
    """The ids of one shard that occur more than once."""
    _, parts = keyed
    seen: set[bytes] = set()
    repeated: set[bytes] = set()
    for part in parts:
        for event_id in unpack_ids(part):
            if event_id in seen:
                repeated.add(event_id)
            else:
                seen.add(event_id)
    if repeated:
        yield frozenset(repeated)


class RepeatedEventIds(beam.PTransform):
    """Lists of event_ids → those that occur more than once, a frozenset for each shard that
    has any: for use as a list side input, whose union (`UnionOfSides`) is every repeated
    id. Each shard's ids meet in one group, so no worker holds every id of the replay at once."""

    def expand(self, ids):
        return (ids
                | "ByShard" >> beam.ParDo(_PackIdsByShard()).with_output_types(tuple[int, bytes])
                | "Group" >> beam.GroupByKey()
                | "Repeated" >> beam.FlatMap(_repeated_in).with_output_types(frozenset[bytes]))


class _ReadLinesHolding(beam.DoFn):
    """A matched file → blocks of its lines that hold a repeated event_id. The side input is
    taken where the file is read: a runner that fuses its stages as Beam's portable
    runners do (Flink) cannot fuse a stage with side inputs into the stage before it, and
    here that boundary carries only the file's name."""

    def setup(self) -> None:
        self._union = UnionOfSides()

    def process(self, readable, repeated_in_shards: list[frozenset[bytes]]) -> Iterator[Block]:
        if repeated := self._union(repeated_in_shards):
            yield from lines_of_chunks_holding(readable.metadata.path, chunks_of(readable), repeated)


def lines_of_chunks_holding(path: str, chunks: Iterable[bytes], repeated: frozenset[bytes]) -> Iterator[Block]:
    """The file's lines that hold a repeated event_id, as blocks of EventLines, from its chunks."""
    base_dir = os.path.dirname(path)
    first = 1  # the number of the chunk's first line
    for chunk in chunks:
        if held := lines_holding(chunk, repeated):
            sources = [f"{path}:{first + row}" for row, _ in held]
            yield Block.of(EventLine, (sources, [base_dir] * len(held), [line_text(line) for _, line in held]))
        first += chunk.count(b"\n") + 1


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
            _ReadLinesHolding(), beam.pvalue.AsList(repeated)).with_output_types(Block)
