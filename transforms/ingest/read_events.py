"""Reading camera event files line by line, keeping each line's position.

Every input line must end in exactly one output row, and an analyst chasing a
dead letter needs to find its line: so lines are read with their file and line
number rather than through ReadFromText, which forgets both.

A file is read in blocks, never a whole line at a time: a "line" of gigabytes
(a file with no newline, a decompression bomb) keeps only its first
MAX_LINE_BYTES + 1 bytes, enough for ParseEvents to refuse it as too long, and
the rest is skipped as it streams past.
"""
import itertools
import os
from collections.abc import Iterator
from typing import BinaryIO

import apache_beam as beam
from apache_beam.io import fileio

from models.records import EventLine
from transforms.blocks import BLOCK_RECORDS, Block
from transforms.sides import UnionOfSides
from transforms.stage_metrics import EVENTS_IN

UNDECODABLE = "\ufffd"
MAX_LINE_BYTES = 8 * 1024 * 1024
BLOCK_BYTES = 1 << 20


def line_texts(handle: BinaryIO, max_bytes: int = MAX_LINE_BYTES, block_bytes: int = BLOCK_BYTES) -> Iterator[str]:
    """Each line of `handle` as text, without its newline or a carriage return before it, cut
    after `max_bytes` + 1 bytes; an undecodable byte becomes U+FFFD.

    A chunk's lines are decoded and split together: a newline is never part
    of a multi-byte character, so each line reads as it would alone. A last
    line without a newline counts, as it does for
    `pipelines.analysis.tables.count_lines`.
    """
    for chunk in line_chunks(handle, max_bytes, block_bytes):
        yield from chunk_texts(chunk)


def chunk_texts(chunk: bytes) -> list[str]:
    """The lines of a `line_chunks` chunk, each as `line_text` reads it."""
    chunk = chunk.replace(b"\r\n", b"\n").removesuffix(b"\r")  # "a\r\r\n" keeps one: "a\r"
    return chunk.decode("utf-8", errors="replace").split("\n")


def line_text(line: bytes) -> str:
    """A line's bytes, without its newline, as `line_texts` reads them."""
    return line.removesuffix(b"\r").decode("utf-8", errors="replace")


def line_chunks(handle: BinaryIO, max_bytes: int = MAX_LINE_BYTES, block_bytes: int = BLOCK_BYTES) -> Iterator[bytes]:
    """The lines of `handle`, a block at a time, as bytes joined by newlines, each cut after
    `max_bytes` + 1 bytes: `chunk.split(b"\n")` gives the next lines, and `line_text` reads
    each as `line_texts` does. For scans that need not decode every line. Only a line that
    runs across blocks is gathered by itself, and cut as it streams past.
    """
    head = b""  # the start of a line that runs on into the next block, at most max_bytes + 1 of it
    for block in iter(lambda: handle.read(block_bytes), b""):
        last = block.rfind(b"\n")
        if last < 0:
            head = (head + block)[:max_bytes + 1] if len(head) <= max_bytes else head
            continue
        lines = head + block[:last]
        if len(lines) > max_bytes + 1:  # perhaps a line too long: each cut on its own
            lines = b"\n".join(line[:max_bytes + 1] for line in lines.split(b"\n"))
        yield lines
        head = block[last + 1:last + 2 + max_bytes]
    if head:
        yield head


def numbered_lines(readable: fileio.ReadableFile) -> Iterator[EventLine]:
    """Each line of a matched file, with its `file:line` source."""
    for block in line_blocks(readable):
        yield from block


def line_blocks(readable: fileio.ReadableFile, size: int = BLOCK_RECORDS) -> Iterator[Block]:
    """The lines of a matched file as blocks of EventLines, in order, built a column at a time."""
    path = readable.metadata.path
    base_dir = os.path.dirname(path)
    first = 1
    for block in text_blocks(readable, size):
        sources = [f"{path}:{number}" for number in range(first, first + len(block))]
        yield Block.of(EventLine, (sources, [base_dir] * len(block), block))
        first += len(block)


def text_blocks(readable: fileio.ReadableFile, size: int = BLOCK_RECORDS) -> Iterator[list[str]]:
    """The texts of a matched file's lines, `size` at a time, in order."""
    texts = itertools.chain.from_iterable(map(chunk_texts, chunks_of(readable)))
    while block := list(itertools.islice(texts, size)):
        yield block


def chunks_of(readable: fileio.ReadableFile) -> Iterator[bytes]:
    """A matched file's `line_chunks`, in order."""
    with readable.open(compression_type=fileio.CompressionTypes.AUTO) as handle:
        yield from line_chunks(handle)


class _ReadNumberedLines(beam.DoFn):
    def process(self, readable: fileio.ReadableFile):
        yield from numbered_lines(readable)


class _ReadLineBlocks(beam.DoFn):
    def process(self, readable: fileio.ReadableFile):
        yield from line_blocks(readable)


class _ReadLineBlocksLeavingOut(beam.DoFn):
    """Line blocks less the lines at `left_out` sources (a list side input of sets of them), each
    counted in as parsing counts the rest. The side input is taken where the file is read (see
    `repeated_ids._ReadLinesHolding`)."""

    def setup(self) -> None:
        self._union = UnionOfSides()

    def process(self, readable: fileio.ReadableFile, left_out_sets: list[frozenset[str]]):
        left_out = self._union(left_out_sets)
        for block in line_blocks(readable):
            sources = block.column("source")
            if left_out.isdisjoint(sources):
                yield block
                continue
            kept = [row for row, source in enumerate(sources) if source not in left_out]
            EVENTS_IN.inc(len(sources) - len(kept))
            if kept:
                yield block.take(kept)


def matched_files(pbegin, patterns: list[str]):
    return (pbegin
            | "Patterns" >> beam.Create(patterns)
            | "Match" >> fileio.MatchAll()
            | "Open" >> fileio.ReadMatches())


class ReadEventLines(beam.PTransform):
    """File patterns (JSON Lines, optionally gzipped) → one EventLine per line."""

    def __init__(self, patterns):
        super().__init__()
        self._patterns = list(patterns)

    def expand(self, pbegin):
        if not self._patterns:  # no file given (a replay without incident reports): no stages either
            return pbegin | "None" >> beam.Create([]).with_output_types(EventLine)
        return matched_files(pbegin, self._patterns) | "Lines" >> beam.ParDo(_ReadNumberedLines())


class ReadEventBlocks(ReadEventLines):
    """File patterns → blocks of EventLines (`transforms.blocks`), in the files' order; less the
    lines at the sources in `left_out`, a list side input of sets of sources, where it is given."""

    def __init__(self, patterns, left_out=None):
        super().__init__(patterns)
        self._left_out = left_out

    def expand(self, pbegin):
        blocks = beam.ParDo(_ReadLineBlocks()) if self._left_out is None else beam.ParDo(
            _ReadLineBlocksLeavingOut(), self._left_out)
        return matched_files(pbegin, self._patterns) | "Blocks" >> blocks.with_output_types(Block)
