"""A DoFn that handles its bundle's elements a buffer at a time.

Vectorised work (one STRtree query, one Redis MGET, one Arrow table per
buffer) is many times cheaper than the same work per element. Beam's own
batching transforms cost a shuffle-free but per-element stage of their own;
buffering inside the DoFn that needs the batch costs nothing extra. Each
buffered element keeps its timestamp and window, so outputs stay in event time.
"""
from collections.abc import Iterable

import apache_beam as beam
from apache_beam.utils.windowed_value import WindowedValue


class BufferedDoFn(beam.DoFn):
    """Subclasses implement `process_buffer(buffer) -> WindowedValues`."""

    buffer_size = 512

    def start_bundle(self) -> None:
        self._buffer: list[WindowedValue] = []

    def process(self, element, timestamp=beam.DoFn.TimestampParam, win=beam.DoFn.WindowParam):
        self._buffer.append(WindowedValue(element, timestamp, (win,)))
        if len(self._buffer) >= self.buffer_size:
            yield from self._flush()

    def finish_bundle(self):
        yield from self._flush()

    def _flush(self) -> Iterable[WindowedValue]:
        buffer, self._buffer = self._buffer, []
        if buffer:
            yield from self.process_buffer(buffer)

    def process_buffer(self, buffer: list[WindowedValue]) -> Iterable[WindowedValue]:
        raise NotImplementedError
