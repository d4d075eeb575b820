"""Blocks: many records of one type moved through a stage as one element, held as columns.

Beam's Python runtime pays a few microseconds per element for every DoFn
call, output and fused boundary, whatever the DoFn does; a dozen stages cost
more than the work they do on a camera event. So the camera events travel
as blocks, from parsing to the tables, and each stage does its work a block
at a time. Only what state needs per key travels as single records: the
hits, about one event in a hundred, for dispatch; a live run's deliveries,
for its duplicate check.

A block holds its records as columns, one tuple or list of values per field
of its record type, as the tables do: a stage reads the columns it needs and
replaces the ones it changes, and never builds or takes apart a record per
event, which cost more than most stages' own work (docs/performance.md).
Iterating a block still gives its records, for the few a stage handles one
by one (a hit, an image to read, a duplicate) and for tests.

A block carries no per-record time: each record has its own capture time,
and a stage that hands records on one by one stamps each with it
(`records.at_event_time`).

A block crosses a process or a shuffle as one pickle of its columns
(BlockCoder), and the runner's sampled size of it is estimated from its
length: measuring it would encode the whole block, at every stage, for
every block the runner samples.
"""
import functools
import itertools
import operator
import pickle
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import apache_beam as beam
from apache_beam.transforms.window import GlobalWindows

from models.records import record_by_position

BLOCK_RECORDS = 2000
RECORD_BYTES = 300  # about what a camera event or a passing takes pickled


class Block:
    """Records of one type (`kind`, a NamedTuple) as its columns, in the fields' order.

    `Block(records)` gathers records; `Block.of(kind, columns)` takes columns
    as they are. An empty block has no kind and no columns.
    """
    __slots__ = ("kind", "columns")

    def __init__(self, records: Iterable = ()):
        records = records if isinstance(records, list) else list(records)
        self.kind: Any = type(records[0]) if records else None
        self.columns: tuple[Sequence, ...] = tuple(zip(*records))

    @classmethod
    def of(cls, kind, columns: Sequence[Sequence]) -> "Block":
        assert len(columns) == len(kind._fields), f"a {kind.__name__} block takes a column per field"
        block = cls.__new__(cls)
        block.kind, block.columns = (kind, tuple(columns)) if len(columns[0]) else (None, ())
        return block

    @classmethod
    def joined(cls, blocks: Sequence["Block"]) -> "Block":
        """The records of `blocks`, one after the other, as one block."""
        blocks = [block for block in blocks if block]
        if len(blocks) < 2:
            return blocks[0] if blocks else cls()
        return cls.of(blocks[0].kind, [tuple(itertools.chain.from_iterable(parts))
                                       for parts in zip(*(block.columns for block in blocks))])

    def column(self, name: str) -> Sequence:
        return self.columns[self.kind._fields.index(name)] if self.columns else ()

    def with_columns(self, **replaced: Sequence) -> "Block":
        """The same records with the named columns replaced."""
        if not self.columns:
            return self
        fields = self.kind._fields
        assert set(replaced) <= set(fields), f"{self.kind.__name__} has no field {set(replaced) - set(fields)}"
        return Block.of(self.kind, [replaced.get(name, column) for name, column in zip(fields, self.columns)])

    def take(self, rows: Sequence[int]) -> "Block":
        """The records at `rows`, in that order."""
        if not rows:
            return Block()
        if len(rows) == 1:
            return Block.of(self.kind, [(column[rows[0]],) for column in self.columns])
        pick = operator.itemgetter(*rows)
        return Block.of(self.kind, [pick(column) for column in self.columns])

    def __len__(self) -> int:
        return len(self.columns[0]) if self.columns else 0

    def __iter__(self) -> Iterator:
        return map(functools.partial(record_by_position, self.kind), zip(*self.columns)) if self.columns \
            else iter(())

    def __getitem__(self, row: int):
        return record_by_position(self.kind, tuple(column[row] for column in self.columns))

    def __eq__(self, other) -> bool:
        return isinstance(other, (Block, list)) and list(self) == list(other)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Block({list(self)!r})"


class BlockCoder(beam.coders.Coder):
    def encode(self, block: Block) -> bytes:
        return pickle.dumps((block.kind, block.columns), protocol=pickle.HIGHEST_PROTOCOL)

    def decode(self, encoded: bytes) -> Block:
        kind, columns = pickle.loads(encoded)
        return Block.of(kind, columns) if kind else Block()

    def is_deterministic(self) -> bool:
        return False

    def estimate_size(self, block: Block) -> int:
        return RECORD_BYTES * len(block)

    def to_type_hint(self):
        return Block


beam.coders.registry.register_coder(Block, BlockCoder)


def cut(block: Block, size: int = BLOCK_RECORDS) -> Iterator[Block]:
    """`block` cut into blocks of at most `size` records."""
    for start in range(0, len(block), size):
        yield block.take(range(start, min(start + size, len(block))))


class _Gather(beam.DoFn):
    """A bundle's records as blocks of up to BLOCK_RECORDS, emitted as they fill and at its end."""

    def start_bundle(self):
        self._records: list = []

    def process(self, record):
        self._records.append(record)
        if len(self._records) >= BLOCK_RECORDS:
            records, self._records = self._records, []
            yield Block(records)

    def finish_bundle(self):
        if self._records:
            yield GlobalWindows.windowed_value(Block(self._records))
        self._records = []


class GatherBlocks(beam.PTransform):
    """Records → blocks of them, in the global window.

    Where records arrive one by one (a live stream, after its per-event
    duplicate check), the stages after this one still see blocks.
    """

    def expand(self, records):
        if not isinstance(records.windowing.windowfn, GlobalWindows):
            records = records | "Global" >> beam.WindowInto(GlobalWindows())
        return records | "Gather" >> beam.ParDo(_Gather()).with_output_types(Block)
