"""Blocks: many records of one type moved through a stage as one element.

Beam's Python runtime pays a few microseconds per element for every DoFn
call, output and fused boundary, whatever the DoFn does; a dozen stages cost
more than the work they do on a camera event. So the camera events travel
as blocks, a Python list of records of one type (CameraEvent, then Passing),
from parsing to the tables, and each stage does its work a block at a time.
Only what state needs per key travels as single records: the hits, about one
event in a hundred, for dispatch; a live run's deliveries, for its
duplicate check.

A block carries no per-record time: each record has its own capture time,
and a stage that hands records on one by one stamps each with it
(`records.at_event_time`).

A block crosses a process or a shuffle as one pickle (BlockCoder), and the
runner's sampled size of it is estimated from its length: measuring it would
encode the whole block, at every stage, for every block the runner samples.

Where every event of a replay waits in a shuffle, blocks travel packed
(`pack`, `unpack`): a runner that keeps its shuffle in memory, as the
FnApiRunner does, holds each value decoded as Python objects and then again
encoded, about 1 kB an event for a block; a packed block is bytes, its
records' columns pickled and compressed, about 27 bytes an event. Columns
pack in about half the time of the records themselves, which pickle would
name and rebuild one by one.
"""
import functools
import itertools
import pickle
import struct
from collections.abc import Iterable, Iterator

import apache_beam as beam
import pyarrow as pa
from apache_beam.transforms.window import GlobalWindows

from models.records import record_by_position

BLOCK_RECORDS = 2000
RECORD_BYTES = 300  # about what a camera event or a passing takes pickled


class Block(list):
    """Records of one type, moved through the stages as one element."""


class BlockCoder(beam.coders.Coder):
    def encode(self, block: Block) -> bytes:
        return pickle.dumps(list(block), protocol=pickle.HIGHEST_PROTOCOL)

    def decode(self, encoded: bytes) -> Block:
        return Block(pickle.loads(encoded))

    def is_deterministic(self) -> bool:
        return False

    def estimate_size(self, block: Block) -> int:
        return RECORD_BYTES * len(block)

    def to_type_hint(self):
        return Block


beam.coders.registry.register_coder(Block, BlockCoder)


# Zstandard at its fastest level: a third of zlib's time both ways on a part of camera
# events, and a little smaller (about 27 bytes an event).
_CODEC = pa.Codec("zstd", compression_level=1)
_SIZE = struct.Struct("<Q")  # the pickle's length, which the codec needs to decompress


def pack(records: list) -> bytes:
    """NamedTuples of one type as compact bytes for a shuffle (see the module docstring)."""
    kind = type(records[0]) if records else None
    pickled = pickle.dumps((kind, tuple(zip(*records))), protocol=pickle.HIGHEST_PROTOCOL)
    return _SIZE.pack(len(pickled)) + _CODEC.compress(pickled, asbytes=True)


def unpack(packed: bytes) -> Block:
    (size,) = _SIZE.unpack_from(packed)
    kind, columns = pickle.loads(_CODEC.decompress(memoryview(packed)[_SIZE.size:], size, asbytes=True))
    return Block(map(functools.partial(record_by_position, kind), zip(*columns))) if kind else Block()


def in_blocks(records: Iterable, size: int = BLOCK_RECORDS) -> Iterator[Block]:
    """`records`, in their order, cut into blocks of at most `size`, as they come."""
    remaining = iter(records)
    while block := Block(itertools.islice(remaining, size)):
        yield block


class _Gather(beam.DoFn):
    """A bundle's records as blocks of up to BLOCK_RECORDS, emitted as they fill and at its end."""

    def start_bundle(self):
        self._records = Block()

    def process(self, record):
        self._records.append(record)
        if len(self._records) >= BLOCK_RECORDS:
            block, self._records = self._records, Block()
            yield block

    def finish_bundle(self):
        if self._records:
            yield GlobalWindows.windowed_value(self._records)
        self._records = Block()


class GatherBlocks(beam.PTransform):
    """Records → blocks of them, in the global window.

    Where records arrive one by one (a live stream, after its per-event
    duplicate check), the stages after this one still see blocks.
    """

    def expand(self, records):
        if not isinstance(records.windowing.windowfn, GlobalWindows):
            records = records | "Global" >> beam.WindowInto(GlobalWindows())
        return records | "Gather" >> beam.ParDo(_Gather()).with_output_types(Block)
