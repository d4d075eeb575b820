"""Camera events read live from a Redis Stream: offsets, event-time watermark, dead letters.

The pipelines run on Prism in streaming mode, the runner with real watermarks;
results go to a file from a DoFn, read once the pipeline has ended.
"""
import json
import time
from pathlib import Path

import apache_beam as beam
import pytest
from apache_beam.runners.runner import PipelineState

from models.records import DEAD_LETTERS
from tests.streams import STREAM, AppendJsonLines, camera_line, push, streaming_pipeline
from transforms.ingest.parse_events import ParseEvents
from transforms.ingest.read_redis_stream import EventTimeWatermark, ReadRedisStream, StreamConfig, captured_at_us
from transforms.redis_contract import END_FIELD, EVENT_FIELD, entry_id, entry_offset

MINUTE_US = 60_000_000


def rows(path: Path) -> list:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def read_sources(url: str, out: Path, prism: str, **options) -> list[str]:
    """The sources of the lines one bounded (stop_at_end) read of the stream gives."""
    p = streaming_pipeline(prism)
    (p | ReadRedisStream(url, StreamConfig(STREAM, stop_at_end=True, **options))
       | beam.Map(lambda line: line.source) | beam.ParDo(AppendJsonLines(out)))
    p.run().wait_until_finish()
    return rows(out)


def test_entry_ids_map_to_sortable_offsets_and_back():
    ids = ["0-1", "1795950830008-0", "1795950830008-11", "1795950830009-0"]
    offsets = [entry_offset(i) for i in ids]
    assert offsets == sorted(offsets) and [entry_id(o) for o in offsets] == ids
    assert entry_offset("0") == 0 and entry_offset("5") == entry_offset("5-0")
    with pytest.raises(ValueError):
        entry_offset(f"1-{2 ** 20}")


def test_captured_at_is_read_without_validating_the_event():
    assert captured_at_us('{"captured_at": "1970-01-01T08:00:01.5+08:00", "x": [') == 1_500_000
    for text in ('{"captured_at": "2026-11-29T08:00:00"}', '{"captured_at": "soon"}', "not json", ""):
        assert captured_at_us(text) is None


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_watermark_trails_event_time_and_moves_on_when_the_stream_is_idle():
    clock = Clock()
    watermark = EventTimeWatermark((None, None, None), out_of_orderness_s=2, idle_advance_s=5, clock=clock)
    watermark.idle()
    assert watermark.current_watermark() is None
    watermark.saw(None)
    assert watermark.current_watermark() is None
    watermark.saw(MINUTE_US)
    assert watermark.current_watermark().micros == MINUTE_US - 2_000_000
    watermark.saw(MINUTE_US - 10_000_000)
    assert watermark.current_watermark().micros == MINUTE_US - 2_000_000
    clock.now += 4.9
    watermark.idle()
    assert watermark.current_watermark().micros == MINUTE_US - 2_000_000
    clock.now += 0.1
    watermark.idle()
    assert watermark.current_watermark().micros == MINUTE_US + 3_000_000
    resumed = EventTimeWatermark(watermark.get_estimator_state(), 2, 5, clock)
    clock.now += 1
    resumed.idle()
    assert resumed.current_watermark().micros == MINUTE_US + 4_000_000


def test_windows_fire_as_the_watermark_advances_and_the_replay_ends(tmp_path, redis_url, world_folder, prism):
    out = tmp_path / "windows.jsonl"
    p = streaming_pipeline(prism)
    lines = p | ReadRedisStream(redis_url, StreamConfig(STREAM, out_of_orderness_s=2, idle_advance_s=1,
                                                        stop_at_end=True))
    parsed = lines | ParseEvents(world_folder)
    (parsed.events
     | beam.WindowInto(beam.window.FixedWindows(60))
     | beam.combiners.Count.Globally().without_defaults()
     | beam.ParDo(lambda n, w=beam.DoFn.WindowParam: [(w.start.micros // MINUTE_US % 60, n)])
     | "Windows" >> beam.ParDo(AppendJsonLines(out)))
    (parsed[DEAD_LETTERS] | beam.Map(lambda dead: ["dead", dead.reason])
     | "Dead" >> beam.ParDo(AppendJsonLines(out)))
    result = p.run()
    try:
        push(redis_url, *({EVENT_FIELD: camera_line(n, f"2026-11-29T08:0{at}+08:00")}
                          for n, at in enumerate(("0:05", "0:30", "0:59", "1:10", "1:59"))),
             {"camera": "QH-BC-001"})
        # Minute 0 closes on event time (08:01:59 − 2 s); minute 1 only once the idle stream moves it on.
        deadline = time.monotonic() + 30
        while len([row for row in rows(out) if row[0] != "dead"]) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert [row for row in rows(out) if row[0] != "dead"] == [[0, 3], [1, 2]]
        assert result.state == PipelineState.RUNNING
        push(redis_url, {EVENT_FIELD: camera_line(5, "2026-11-29T08:02:30+08:00")}, {END_FIELD: "1"})
        assert result.wait_until_finish() == PipelineState.DONE
    finally:
        if result.state == PipelineState.RUNNING:
            result.cancel()
    assert rows(out)[-1] == [2, 1]
    assert [row for row in rows(out) if row[0] == "dead"] == [["dead", "not a JSON object"]]


def test_a_restart_after_a_checkpointed_entry_reads_only_later_entries(tmp_path, redis_url, prism):
    first = push(redis_url, *({EVENT_FIELD: camera_line(n, "2026-11-29T08:00:00+08:00")} for n in range(5)))
    marker, = push(redis_url, {END_FIELD: "1"})
    later = push(redis_url, *({EVENT_FIELD: camera_line(n, "2026-11-29T08:00:00+08:00")} for n in range(5, 8)),
                 {END_FIELD: "1"})
    # Two entries a read: every batch ends in a checkpoint, and none is lost or read twice.
    assert read_sources(redis_url, tmp_path / "first", prism, batch=2) == [f"{STREAM}:{i}" for i in first]
    assert read_sources(redis_url, tmp_path / "again", prism, after=marker) == [f"{STREAM}:{i}" for i in later[:-1]]


def test_entries_that_are_not_events_become_dead_letters(tmp_path, redis_url, world_folder, prism):
    good, no_event, broken, undecodable = push(
        redis_url, {EVENT_FIELD: camera_line(1, "2026-11-29T08:00:00+08:00")}, {"camera": "QH-BC-001", "n": 7},
        {EVENT_FIELD: "{not json"}, {EVENT_FIELD: b'{"x": "\xff"}'}, {END_FIELD: "1"})[:4]
    out = tmp_path / "out"
    p = streaming_pipeline(prism)
    parsed = p | ReadRedisStream(redis_url, StreamConfig(STREAM, stop_at_end=True)) | ParseEvents(world_folder)
    parsed.events | beam.Map(lambda e: ["event", e.source, e.event_id]) | "Events" >> beam.ParDo(AppendJsonLines(out))
    (parsed[DEAD_LETTERS] | beam.Map(lambda dead: ["dead", dead.source, dead.reason, dead.raw])
     | "Dead" >> beam.ParDo(AppendJsonLines(out)))
    p.run().wait_until_finish()
    assert sorted(rows(out)) == sorted([
        ["event", f"{STREAM}:{good}", "e1"],
        ["dead", f"{STREAM}:{no_event}", "not a JSON object", '[["camera", "QH-BC-001"], ["n", "7"]]'],
        ["dead", f"{STREAM}:{broken}", "not valid JSON", "{not json"],
        ["dead", f"{STREAM}:{undecodable}", "not valid UTF-8", '{"x": "\ufffd"}']])


def test_entries_no_coder_could_carry_or_too_large_to_hold_are_dead_letters(tmp_path, redis_url, world_folder, prism):
    huge = json.dumps({"event_id": "huge", "padding": "x" * (9 * 1024 * 1024)})
    good, lone, big, long_name = push(
        redis_url, {EVENT_FIELD: camera_line(1, "2026-11-29T08:00:00+08:00")},
        {EVENT_FIELD: '{"event_id": "id\\ud800", "camera_id": "QH-BC-001", '
                      '"captured_at": "2026-11-29T08:00:00+08:00", "plate": "琼C12345"}'},
        {EVENT_FIELD: huge}, {"f" * 10_000_000: "1"}, {END_FIELD: "1"})[:4]
    out = tmp_path / "out"
    p = streaming_pipeline(prism)
    parsed = p | ReadRedisStream(redis_url, StreamConfig(STREAM, stop_at_end=True)) | ParseEvents(world_folder)
    parsed.events | beam.Map(lambda e: ["event", e.source]) | "Events" >> beam.ParDo(AppendJsonLines(out))
    (parsed[DEAD_LETTERS] | beam.Map(lambda dead: ["dead", dead.source, dead.reason, len(dead.raw)])
     | "Dead" >> beam.ParDo(AppendJsonLines(out)))
    p.run().wait_until_finish()
    assert sorted(rows(out)) == sorted([
        ["event", f"{STREAM}:{good}"],
        ["dead", f"{STREAM}:{lone}", "event_id: not valid Unicode (a lone surrogate escape)", 114],
        ["dead", f"{STREAM}:{big}", "line longer than 8388608 bytes", 1000],
        ["dead", f"{STREAM}:{long_name}", "line longer than 8388608 bytes", 1000]])
