"""Write the output tables window by window, so analysts can query them while a stream runs.

`WriteTables` puts every record in the global window, whose one pane fires only
when the input ends: on a live stream it never writes. `WriteTableWindows`
writes each event-time window as soon as the watermark has passed it, with the
same columns as `WriteTables` (`arrow_schema`), as flat files that
`pipelines.analysis.tables.connect` and DuckDB's `read_parquet('<table>/*.parquet')` pick
up as they appear.

Windows, panes and files:

- The tables that arrive as blocks (`BLOCK_TABLES`: the passings) are cut
  into one block per window, stamped at its earliest capture time, and cross
  the grouping a block at a time rather than a record at a time.
- Records go into `FixedWindows(window_minutes)` by event time, whatever
  windows they had (global, or the dispatches' sessions), so that a table is a
  few files per window rather than one per session. Records already in fixed
  windows (the metrics rows) keep their windows and trigger: their window is
  what they describe, and a file per metrics window is already coarse.
- The trigger is `AfterWatermark(late=AfterCount(1))`, discarding fired panes,
  with `allowed_lateness_minutes`: the on-time pane fires when the watermark
  passes the window's end, and each later batch of late records fires one more
  pane holding only the new records. Records later than the allowed lateness
  are dropped by Beam before they reach the writer. Early (processing-time)
  firings are left out on purpose: processing-time timers beside an unbounded
  source run on no local runner.
- An empty pane writes no file. Beam Python asks for an empty closing pane
  (ClosingBehavior EMIT_ALWAYS), and Flink's WindowDoFnOperator hands the
  runner's ReduceFnRunner one timer at a time: when the watermark leaps past a
  window's end + allowed lateness (a backlog, the end of a replay), the
  end-of-window timer emits the rows as the final pane (index 0) and clears
  the window's state, and the garbage-collection timer then finds the window
  open again and emits an empty pane, also index 0, which would overwrite
  the rows' file.
- Each non-empty pane of each window becomes one file,
  `<table>/window-<start>-<end>-pane<index>.parquet`, times in UTC. A late
  pane has a higher pane index, so it adds a file and never replaces one: a
  table is the union of its files. A retried bundle rewrites the same name
  with the same rows, so a retry neither loses nor duplicates rows.
- Records with no event time are stamped at Beam's minimum timestamp (dead
  letters of file inputs) or at the end of the global window (whole-run
  aggregates such as the safety metrics, and their dead letters): their
  windows lie outside the calendar and are named `min` and `max`. The latter
  are written only when the input ends, as `WriteTables` writes everything.
- A file is written under a temporary name ending in `.tmp` and renamed once
  complete (atomic on a local file system; object stores publish an object
  whole), so a reader globbing `*.parquet` never sees half a file. A failed
  write deletes its temporary file.

One worker writes each window of a table, which suits this project's
traffic. Many late records arriving one by one make many small files; compact
old windows offline if that matters.
"""
import itertools
import uuid

import apache_beam as beam
import pyarrow.parquet as pq
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems
from apache_beam.transforms.trigger import AccumulationMode, AfterCount, AfterWatermark
from apache_beam.transforms.window import FixedWindows
from apache_beam.utils.timestamp import Timestamp

from models.records import at_event_time
from transforms.blocks import Block
from transforms.store.write_tables import BLOCK_TABLES, TABLES, arrow_schema, as_table

ROWS_PER_GROUP = 20_000


def _bound(t: Timestamp) -> str:
    try:
        return t.to_utc_datetime().strftime("%Y%m%dT%H%M%SZ")
    except OverflowError:
        return "min" if t.micros < 0 else "max"


def window_file_name(window, pane_index: int) -> str:
    """Sorts by window start, then pane: the order in which the files were written."""
    return f"window-{_bound(window.start)}-{_bound(window.end)}-pane{pane_index:03d}.parquet"


def _by_window(block: Block, window_us: int):
    """A block of records → a block per fixed event-time window, each stamped at its earliest capture time."""
    times = block.column("captured_at_us")
    rows_of: dict[int, list[int]] = {}
    for row, at in enumerate(times):
        rows_of.setdefault(at - at % window_us, []).append(row)
    for rows in rows_of.values():
        yield at_event_time(block.take(rows), min(times[row] for row in rows))


class _WritePane(beam.DoFn):
    """Writes one pane of one window as a Parquet file, atomically."""

    def __init__(self, folder: str, schema, blocks: bool = False):
        self._folder = folder
        self._schema = schema
        self._blocks = blocks

    def process(self, keyed, window=beam.DoFn.WindowParam, pane=beam.DoFn.PaneInfoParam):
        _, records = keyed
        records = iter(records) if not self._blocks else (record for block in records for record in block)
        first = next(records, None)
        if first is None:
            # An empty pane adds no rows. Beam Python asks for every closing pane
            # (EMIT_ALWAYS), and on Flink an empty one can come with the index of the
            # pane that held the rows (see module docstring): never write it.
            return
        records = itertools.chain((first,), records)
        path = FileSystems.join(self._folder, window_file_name(window, pane.index))
        temporary = f"{path}.{uuid.uuid4().hex}.tmp"
        try:
            with FileSystems.create(temporary, compression_type=CompressionTypes.UNCOMPRESSED) as out:
                with pq.ParquetWriter(out, self._schema) as writer:
                    batch = []
                    for record in records:
                        batch.append(record)
                        if len(batch) == ROWS_PER_GROUP:
                            writer.write_table(as_table(batch, self._schema))
                            batch = []
                    if batch:
                        writer.write_table(as_table(batch, self._schema))
            FileSystems.rename([temporary], [path])
        except BaseException:
            if FileSystems.exists(temporary):
                FileSystems.delete([temporary])
            raise
        yield path


class WriteTableWindows(beam.PTransform):
    """{table name: PCollection of records, or of blocks for BLOCK_TABLES} → Parquet files per
    window under `output/<table>/`.

    `metadata` goes into every file's schema, as in `WriteTables`. Returns
    {table name: PCollection of the paths written}.
    """

    def __init__(self, output: str, metadata: dict[str, str] | None = None, window_minutes: float = 15.0,
                 allowed_lateness_minutes: float = 30.0):
        super().__init__()
        self._output = output
        self._metadata = metadata or {}
        self._window_s = window_minutes * 60
        self._lateness_s = allowed_lateness_minutes * 60

    def expand(self, tables: dict):
        results = {}
        for name, records in tables.items():
            blocks = name in BLOCK_TABLES
            element_type = Block if blocks else TABLES[name]
            schema = arrow_schema(TABLES[name]).with_metadata(self._metadata)
            if blocks:
                records = records | f"{name}:ByWindow" >> beam.FlatMap(
                    _by_window, round(self._window_s * 1_000_000)).with_output_types(Block)
            if not isinstance(records.windowing.windowfn, FixedWindows):
                records = records | f"{name}:Window" >> beam.WindowInto(
                    FixedWindows(self._window_s), trigger=AfterWatermark(late=AfterCount(1)),
                    allowed_lateness=self._lateness_s, accumulation_mode=AccumulationMode.DISCARDING)
            results[name] = (
                records
                | f"{name}:Key" >> beam.Map(lambda r, key=name: (key, r)).with_output_types(
                    # a type hint for Beam built at run time from the table's record type
                    tuple[str, element_type])  # type: ignore[valid-type]
                | f"{name}:Group" >> beam.GroupByKey()
                | f"{name}:Write" >> beam.ParDo(
                    _WritePane(FileSystems.join(self._output, name), schema, blocks)))
        return results
