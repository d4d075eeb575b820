"""Tables written per event-time window on Prism in streaming mode, readable while the pipeline runs.

Minute windows: T0 (2026-11-29 08:00 +08:00) is 00:00 UTC, so the file of the
first window is `window-20261129T000000Z-20261129T000100Z-pane000.parquet`.
"""
import json
import time
from pathlib import Path

import apache_beam as beam
import duckdb
import pyarrow.parquet as pq
import pytest
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.test_stream import TestStream
from apache_beam.transforms.window import IntervalWindow, Sessions, TimestampedValue
from apache_beam.utils.timestamp import Timestamp
from apache_beam.utils.windowed_value import PaneInfo, PaneInfoTiming

from models.records import DeadLetter, Passing
from pipelines.analysis.tables import connect
from tests.builders import MINUTE, T0, dispatch, passing
from tests.streams import STREAM, camera_line, push, streaming_pipeline
from transforms.blocks import Block
from transforms.ingest.read_redis_stream import ReadRedisStream, StreamConfig
from transforms.measure.metrics import WindowedMetrics
from transforms.redis_contract import END_FIELD, EVENT_FIELD
from transforms.store.write_table_windows import ROWS_PER_GROUP, WriteTableWindows, _WritePane, window_file_name
from transforms.store.write_tables import WriteTables, arrow_schema

METADATA = {"roadchief.plate_key_id": "test-key"}
SECOND = 1_000_000


def passing_at(event_id: str, at_us: int) -> Passing:
    return passing(event_id, 0, "琼C12345")._replace(captured_at_us=at_us)


def file_of(minute: int, pane: int = 0) -> str:
    start, end = (Timestamp(micros=T0 + m * MINUTE) for m in (minute, minute + 1))
    return window_file_name(IntervalWindow(start, end), pane)


def event_ids(*paths: Path) -> list[str]:
    return sorted(i for path in paths
                  for i in pq.read_table(path, columns=["event_id"])["event_id"].to_pylist())


def union_ids(folder: Path) -> list[str]:
    """What an analyst sees: DuckDB over every Parquet file of the table."""
    query = f"SELECT event_id FROM read_parquet('{folder}/**/*.parquet') ORDER BY event_id"
    return [row[0] for row in duckdb.sql(query).fetchall()]


def assert_parquet_files_are_whole(folder: Path):
    """What a reader globbing *.parquet can see mid-run: finished files only."""
    for path in folder.rglob("*.parquet"):
        pq.read_metadata(path)


def assert_only_whole_parquet_files(folder: Path):
    """Once the pipeline is done, no temporary file is left behind."""
    assert all(path.suffix == ".parquet" for path in folder.rglob("*") if path.is_file())
    assert_parquet_files_are_whole(folder)


class _ToPassing(beam.DoFn):
    def process(self, line, at=beam.DoFn.TimestampParam):
        yield passing_at(json.loads(line.text)["event_id"], at.micros)


def test_a_closed_window_is_queryable_while_the_stream_runs(tmp_path, redis_url, prism):
    out = tmp_path / "tables"
    p = streaming_pipeline(prism)
    live = StreamConfig(STREAM, out_of_orderness_s=2, idle_advance_s=30, stop_at_end=True)
    ({"passings": p | ReadRedisStream(redis_url, live)
                    | beam.ParDo(_ToPassing()).with_output_types(Passing)
                    | beam.Map(lambda passing: Block([passing])).with_output_types(Block)}
     | WriteTableWindows(str(out), METADATA, window_minutes=1))
    result = p.run()
    try:
        # 08:01:10 moves the watermark to 08:01:08: minute 0 closes, minute 1 stays open.
        push(redis_url, *({EVENT_FIELD: camera_line(n, f"2026-11-29T08:0{at}+08:00")}
                          for n, at in enumerate(("0:05", "0:30", "0:59", "1:10"))))
        first = out / "passings" / file_of(0)
        deadline = time.monotonic() + 30
        while not first.exists() and time.monotonic() < deadline:
            assert_parquet_files_are_whole(out)
            time.sleep(0.1)
        assert result.state == "RUNNING"
        assert event_ids(first) == ["e0", "e1", "e2"]
        schema = pq.read_schema(first)
        assert schema.equals(arrow_schema(Passing), check_metadata=False)
        assert schema.metadata[b"roadchief.plate_key_id"] == b"test-key"
        assert union_ids(out / "passings") == ["e0", "e1", "e2"]
        push(redis_url, {EVENT_FIELD: camera_line(4, "2026-11-29T08:01:40+08:00")}, {END_FIELD: "1"})
        assert result.wait_until_finish() == "DONE"
    finally:
        if result.state == "RUNNING":
            result.cancel()
    assert event_ids(out / "passings" / file_of(1)) == ["e3", "e4"]
    assert union_ids(out / "passings") == [f"e{n}" for n in range(5)]
    assert_only_whole_parquet_files(out)


def test_late_records_add_files_and_metrics_keep_their_windows(tmp_path, prism):
    """Lateness 5 minutes: d and e are late but kept, each in a file of its own; f is too late."""
    out = tmp_path / "tables"
    at = {"a": 0, "b": 30, "c": 70, "d": 40, "e": 50, "f": 20}

    def records(*ids):
        return [TimestampedValue(passing_at(i, T0 + at[i] * SECOND), Timestamp(micros=T0 + at[i] * SECOND))
                for i in ids]

    def watermark(minutes):
        return Timestamp(micros=T0 + minutes * MINUTE)
    stream = (TestStream(coder=beam.coders.registry.get_coder(Passing))
              .advance_watermark_to(watermark(0)).add_elements(records("a", "b", "c"))
              .advance_watermark_to(watermark(2)).add_elements(records("d"))
              .advance_watermark_to(watermark(3)).add_elements(records("e"))
              .advance_watermark_to(watermark(10)).add_elements(records("f"))
              .advance_watermark_to(watermark(20)).advance_watermark_to_infinity())
    with streaming_pipeline(prism) as p:
        passings = p | stream.with_output_types(Passing)
        nothing = p | beam.Create([]).with_output_types(Passing)
        blocks = passings | "Blocks" >> beam.Map(lambda passing: Block([passing])).with_output_types(Block)
        metrics = (blocks, nothing, nothing) | WindowedMetrics(window_minutes=5, streaming=True)
        ({"passings": blocks, "metrics": metrics}
         | WriteTableWindows(str(out), METADATA, window_minutes=1, allowed_lateness_minutes=5))
    tables = out / "passings"
    assert sorted(path.name for path in tables.iterdir()) == [
        file_of(0, pane=0), file_of(0, pane=1), file_of(0, pane=2), file_of(1)]
    assert [event_ids(tables / file_of(0, pane)) for pane in range(3)] == [["a", "b"], ["d"], ["e"]]
    assert union_ids(tables) == ["a", "b", "c", "d", "e"]
    metric_files = [path.name for path in (out / "metrics").iterdir()]
    assert metric_files == ["window-20261129T000000Z-20261129T000500Z-pane000.parquet"]
    everything = connect(out).execute(
        "SELECT passings FROM metrics WHERE dimension = 'all'").fetchall()
    assert everything == [(5,)]
    assert_only_whole_parquet_files(out)


@pytest.mark.beam
def test_on_fn_api_the_window_files_hold_the_batch_tables(tmp_path):
    """Same rows and columns as WriteTables; a block of passings is cut at window bounds;
    dispatch sessions are regrouped into the fixed windows; a record without event time
    goes to the `min` window's file."""
    def stamped(label, records, time_field):
        return (p | label >> beam.Create(records) | f"{label}Stamp" >> beam.Map(
            lambda r: TimestampedValue(r, Timestamp(micros=getattr(r, time_field)))))
    with TestPipeline(runner="FnApiRunner") as p:
        dated = [passing(i, m, "琼C12345") for i, m in (("a", 1), ("b", 14), ("c", 16))] + [passing("z", 0, None)]
        passings = p | "Passings" >> beam.Create([Block(dated)]).with_output_types(Block)
        dispatches = (stamped("Dispatches", [dispatch(1), dispatch(3)], "created_at_us")
                      | beam.WindowInto(Sessions(60)))
        dead_letters = p | "Undated" >> beam.Create([DeadLetter("f:9", None, "parse", "not valid JSON", "{")])
        tables = {"passings": passings, "dispatches": dispatches, "dead_letters": dead_letters}
        tables | "Batch" >> WriteTables(str(tmp_path / "batch"), METADATA)
        tables | "Windows" >> WriteTableWindows(str(tmp_path / "windows"), METADATA, window_minutes=15)
    first, second = (tmp_path / "windows" / "passings" / f"window-{bounds}-pane000.parquet" for bounds in (
        "20261129T000000Z-20261129T001500Z", "20261129T001500Z-20261129T003000Z"))
    assert sorted((tmp_path / "windows" / "passings").iterdir()) == [first, second]
    assert (event_ids(first), event_ids(second)) == (["a", "b", "z"], ["c"])
    assert [path.name for path in (tmp_path / "windows" / "dead_letters").iterdir()] == [
        "window-min-min-pane000.parquet"]
    assert len(list((tmp_path / "windows" / "dispatches").iterdir())) == 1
    batch, windows = connect(tmp_path / "batch"), connect(tmp_path / "windows")
    for name in tables:
        query = f"SELECT * FROM {name} ORDER BY ALL"
        assert windows.execute(query).fetchall() == batch.execute(query).fetchall(), name
        assert windows.execute(f"DESCRIBE {name}").fetchall() == batch.execute(f"DESCRIBE {name}").fetchall()


def test_a_file_is_invisible_until_complete_and_a_failed_write_leaves_nothing(tmp_path):
    window = IntervalWindow(Timestamp(micros=T0), Timestamp(micros=T0 + MINUTE))
    pane = PaneInfo(True, True, PaneInfoTiming.ON_TIME, 0, 0)
    seen = {}

    def records():
        for n in range(ROWS_PER_GROUP):
            yield passing_at(f"e{n}", T0)
        # The first row group is on disk, under a name no *.parquet glob matches.
        seen["files"] = [(path.name, path.stat().st_size) for path in tmp_path.iterdir()]
        raise OSError("worker lost")
    writer = _WritePane(str(tmp_path), arrow_schema(Passing))
    with pytest.raises(OSError, match="worker lost"):
        list(writer.process((0, records()), window, pane))
    (name, size), = seen["files"]
    assert name.startswith(file_of(0)) and name.endswith(".tmp") and size > 0
    assert list(tmp_path.iterdir()) == []
    written, = writer.process((0, [passing_at("e0", T0)]), window, pane)
    assert Path(written).name == file_of(0) and event_ids(written) == ["e0"]


def test_an_empty_pane_writes_nothing_and_keeps_the_rows_of_its_index(tmp_path):
    # On Flink, when the watermark leaps past a window's end + allowed lateness, the
    # end-of-window timer emits the rows as the final pane (index 0) and clears the window;
    # the garbage-collection timer then emits an empty pane with index 0 again (Beam Python
    # asks for closing panes EMIT_ALWAYS). It must not replace the rows' file.
    window = IntervalWindow(Timestamp(micros=T0), Timestamp(micros=T0 + MINUTE))
    pane = PaneInfo(True, True, PaneInfoTiming.ON_TIME, 0, 0)
    writer = _WritePane(str(tmp_path), arrow_schema(Passing))
    written, = writer.process((0, [passing_at("e0", T0)]), window, pane)
    assert list(writer.process((0, []), window, pane)) == []
    assert [path.name for path in tmp_path.iterdir()] == [file_of(0)]
    assert event_ids(written) == ["e0"]
