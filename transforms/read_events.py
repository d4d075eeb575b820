"""Reading camera event files line by line, keeping each line's position.

Every input line must end in exactly one output row, and an analyst chasing a
dead letter needs to find its line: so lines are read with their file and line
number rather than through ReadFromText, which forgets both.
"""
import os

import apache_beam as beam
from apache_beam.io import fileio

from transforms.records import EventLine

UNDECODABLE = "\ufffd"


class _ReadNumberedLines(beam.DoFn):
    def process(self, readable: fileio.ReadableFile):
        path = readable.metadata.path
        base_dir = os.path.dirname(path)
        with readable.open(compression_type=fileio.CompressionTypes.AUTO) as handle:
            for number, raw in enumerate(iter(handle.readline, b""), start=1):
                text = raw.rstrip(b"\r\n").decode("utf-8", errors="replace")
                yield EventLine(f"{path}:{number}", base_dir, text)


class ReadEventLines(beam.PTransform):
    """File patterns (JSON Lines, optionally gzipped) → one EventLine per line."""

    def __init__(self, patterns):
        super().__init__()
        self._patterns = list(patterns)

    def expand(self, pbegin):
        return (pbegin
                | "Patterns" >> beam.Create(self._patterns)
                | "Match" >> fileio.MatchAll()
                | "Open" >> fileio.ReadMatches()
                | "Lines" >> beam.ParDo(_ReadNumberedLines()))
