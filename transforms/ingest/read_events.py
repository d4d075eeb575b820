"""Reading camera event files line by line, keeping each line's position.

Every input line must end in exactly one output row, and an analyst chasing a
dead letter needs to find its line: so lines are read with their file and line
number rather than through ReadFromText, which forgets both.

A file is read in blocks, never a whole line at a time: a "line" of gigabytes
(a file with no newline, a decompression bomb) keeps only its first
MAX_LINE_BYTES + 1 bytes, enough for ParseEvents to refuse it as too long, and
the rest is skipped as it streams past.
"""
import os
from collections.abc import Iterator
from typing import BinaryIO

import apache_beam as beam
from apache_beam.io import fileio

from models.records import EventLine
from transforms.blocks import Block, in_blocks

UNDECODABLE = "\ufffd"
MAX_LINE_BYTES = 8 * 1024 * 1024
BLOCK_BYTES = 1 << 20


def bounded_lines(handle: BinaryIO, max_bytes: int = MAX_LINE_BYTES) -> Iterator[bytes]:
    """Each line of `handle` without its newline, cut after `max_bytes` + 1 bytes.

    A last line without a newline counts, as it does for `pipelines.analysis.tables.count_lines`.
    """
    parts: list[bytes] = []
    kept = 0
    for block in iter(lambda: handle.read(BLOCK_BYTES), b""):
        start = 0
        while True:
            end = block.find(b"\n", start)
            piece = block[start:] if end < 0 else block[start:end]
            if kept <= max_bytes:
                parts.append(piece[:max_bytes + 1 - kept])
                kept += len(piece)
            if end < 0:
                break
            yield b"".join(parts)
            parts, kept, start = [], 0, end + 1
    if parts and kept:
        yield b"".join(parts)


def numbered_lines(readable: fileio.ReadableFile) -> Iterator[EventLine]:
    """Each line of a matched file, with its `file:line` source."""
    path = readable.metadata.path
    base_dir = os.path.dirname(path)
    with readable.open(compression_type=fileio.CompressionTypes.AUTO) as handle:
        for number, raw in enumerate(bounded_lines(handle), start=1):
            text = raw.removesuffix(b"\r").decode("utf-8", errors="replace")
            yield EventLine(f"{path}:{number}", base_dir, text)


class _ReadNumberedLines(beam.DoFn):
    def process(self, readable: fileio.ReadableFile):
        yield from numbered_lines(readable)


class _ReadLineBlocks(beam.DoFn):
    def process(self, readable: fileio.ReadableFile):
        yield from in_blocks(numbered_lines(readable))


def _matched_files(pbegin, patterns: list[str]):
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
        return _matched_files(pbegin, self._patterns) | "Lines" >> beam.ParDo(_ReadNumberedLines())


class ReadEventBlocks(ReadEventLines):
    """File patterns → blocks of EventLines (`transforms.blocks`), in the files' order."""

    def expand(self, pbegin):
        blocks = beam.ParDo(_ReadLineBlocks()).with_output_types(Block)
        return _matched_files(pbegin, self._patterns) | "Blocks" >> blocks
