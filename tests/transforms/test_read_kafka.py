"""Camera events read from Kafka: record lines, event time against each partition's bound,
the 2.62 expansion, and dead letters from a real broker through a job on a real Flink cluster."""
import json
from types import SimpleNamespace

import apache_beam as beam
import pytest
from apache_beam.io.kafka import ReadFromKafka
from apache_beam.options.pipeline_options import PipelineOptions

from models.records import DEAD_LETTERS
from pipelines.flink.submit import flink_arguments
from tests.servers import free_port, produce
from tests.streams import AppendJsonLines, camera_line
from transforms.ingest.parse_events import ParseEvents
from transforms.ingest.read_events import MAX_LINE_BYTES
from transforms.ingest.read_kafka import (
    EVENTS_TOPIC,
    KafkaConfig,
    ReadKafkaEvents,
    _StampEventTime,
    record_line,
    unreachable,
)

MINUTE_MS = 60_000
EIGHT_AM_MS = 1_795_910_400_000  # 2026-11-29T08:00:00+08:00


def event(n: int, at: str) -> bytes:
    return camera_line(n, at).encode()


def record(value, offset=0, timestamp=EIGHT_AM_MS, partition=0):
    return SimpleNamespace(topic="cams", partition=partition, offset=offset, timestamp=timestamp, value=value)


def test_a_record_is_a_line_named_by_topic_partition_and_offset_cut_and_decoded():
    assert record_line(record(b'{"a": 1}', offset=7, partition=2), "/img") == (
        "cams/2", (EIGHT_AM_MS, ("cams/2/7", "/img", '{"a": 1}')))
    assert record_line(record(None), "")[1][1].text == ""
    assert record_line(record(b'{"x": "\xff"}'), "")[1][1].text == '{"x": "\ufffd"}'
    assert len(record_line(record(b"x" * (MAX_LINE_BYTES + 50)), "")[1][1].text) == MAX_LINE_BYTES + 1


class State:
    def __init__(self):
        self.value = None

    def read(self):
        return self.value

    def write(self, value):
        self.value = value


def stamped(fn, state, at_ms: int, text: bytes):
    partition, (record_ms, line) = record_line(record(text, timestamp=at_ms), "")
    (out,) = fn.process((partition, (record_ms, line)), latest_ms=state)
    return out.timestamp.micros // 1000


def test_a_line_is_stamped_at_its_capture_unless_later_than_allowed_behind_its_partitions_latest_record():
    fn = _StampEventTime(max_future_s=300, allowed_lateness_s=30 * 60, clock=lambda: EIGHT_AM_MS / 1000 + 86400)
    state = State()
    nine = EIGHT_AM_MS + 60 * MINUTE_MS
    assert stamped(fn, state, nine, event(1, "2026-11-29T09:00:00+08:00")) == nine
    # 20 minutes behind the partition's latest record counts; 40 minutes behind is stamped there.
    assert stamped(fn, state, nine - 20 * MINUTE_MS, event(2, "2026-11-29T08:40:00+08:00")) == nine - 20 * MINUTE_MS
    assert stamped(fn, state, nine - 40 * MINUTE_MS, event(3, "2026-11-29T08:20:00+08:00")) == nine
    assert state.value == nine
    assert stamped(fn, state, nine - 40 * MINUTE_MS, b"{not json") == nine  # undated: at the bound
    # The record's own timestamp bounds it too: a capture time 40 minutes before the send.
    assert stamped(fn, State(), nine, event(4, "2026-11-29T08:20:00+08:00")) == nine


def test_the_bound_is_capped_at_the_wall_clock_as_kafkaios_watermark_is():
    now_ms = EIGHT_AM_MS + 60 * MINUTE_MS
    fn = _StampEventTime(max_future_s=300, allowed_lateness_s=30 * 60, clock=lambda: now_ms / 1000)
    state = State()
    year_2099_ms = 4_070_908_800_000
    assert stamped(fn, state, year_2099_ms, event(1, "2099-01-01T00:00:00+00:00")) == now_ms
    assert stamped(fn, state, EIGHT_AM_MS + 45 * MINUTE_MS, event(2, "2026-11-29T08:45:00+08:00")) == (
        EIGHT_AM_MS + 45 * MINUTE_MS)


def test_servers_that_do_not_answer_are_named(kafka_broker):
    port = free_port()
    assert unreachable(f"127.0.0.1:{port}", timeout_s=1) == f"127.0.0.1:{port}: Connection refused"
    assert unreachable(f"127.0.0.1:{port},{kafka_broker.bootstrap}") is None
    assert unreachable("kafka.local") == "'kafka.local' is not host:port"


@pytest.mark.beam
def test_java_262_refuses_the_stock_read_and_expands_this_one(kafka_broker, kafka_expansion):
    with pytest.raises(RuntimeError, match="missing a setter"):
        beam.Pipeline() | ReadFromKafka({"bootstrap.servers": kafka_broker.bootstrap}, [EVENTS_TOPIC],
                                        expansion_service=kafka_expansion.address)
    p = beam.Pipeline()
    lines = p | ReadKafkaEvents(kafka_broker.bootstrap, kafka_expansion.address)
    assert lines.element_type.__name__ == "EventLine"


@pytest.mark.beam
def test_records_on_flink_become_events_in_event_time_or_dead_letters(
        flink_cluster, kafka_broker, kafka_expansion, world_folder, tmp_path):
    topic = "cameras-flink"
    kafka_broker.create_topic(topic, partitions=2)
    nine = EIGHT_AM_MS + 60 * MINUTE_MS
    late = event(3, "2026-11-29T08:20:00+08:00")
    lone = (b'{"event_id": "id\\ud800", "camera_id": "QH-BC-001", '
            b'"captured_at": "2026-11-29T08:00:00+08:00", "plate": "\xe7\x90\xbcC12345"}')
    huge = json.dumps({"event_id": "huge", "padding": "x" * (9 * 1024 * 1024)}).encode()
    produce(kafka_broker.bootstrap, topic,
            [event(1, "2026-11-29T09:00:00+08:00"), event(2, "2026-11-29T08:40:00+08:00"), late,
             b"{not json", b'{"x": "\xff"}', lone, huge, None],
            [nine, nine - 20 * MINUTE_MS, nine - 40 * MINUTE_MS, nine, nine, nine, nine, nine], partition=0)
    produce(kafka_broker.bootstrap, topic, [event(4, "2026-11-29T08:05:00+08:00")], [EIGHT_AM_MS], partition=1)
    out = tmp_path / "out"
    p = beam.Pipeline(options=PipelineOptions(flink_arguments([
        "--runner", "FlinkRunner", "--flink_master", flink_cluster.master, "--streaming",
        "--kafka_max_records", "9"])))
    lines = p | ReadKafkaEvents(kafka_broker.bootstrap, kafka_expansion.address,
                                KafkaConfig(topic, max_records=9))
    parsed = lines | ParseEvents(world_folder, allowed_lateness_s=30 * 60)
    (parsed.events
     | beam.ParDo(lambda e, at=beam.DoFn.TimestampParam: [["event", e.source, e.event_id, at.micros // 1000]])
     | "Events" >> beam.ParDo(AppendJsonLines(out)))
    (parsed[DEAD_LETTERS] | beam.Map(lambda dead: ["dead", dead.source, dead.reason, len(dead.raw)])
     | "Dead" >> beam.ParDo(AppendJsonLines(out)))
    p.run().wait_until_finish()
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert sorted(rows) == sorted([
        ["event", f"{topic}/0/0", "e1", nine],
        ["event", f"{topic}/0/1", "e2", nine - 20 * MINUTE_MS],
        ["dead", f"{topic}/0/2", "captured_at: late, 40.0 min behind the stream's watermark "
                                 "(allowed lateness 30 min)", len(late.decode())],
        ["dead", f"{topic}/0/3", "not valid JSON", 9],
        ["dead", f"{topic}/0/4", "not valid UTF-8", len('{"x": "\ufffd"}')],
        ["dead", f"{topic}/0/5", "event_id: not valid Unicode (a lone surrogate escape)", len(lone.decode())],
        ["dead", f"{topic}/0/6", f"line longer than {MAX_LINE_BYTES} bytes", 1000],
        ["dead", f"{topic}/0/7", "empty line", 0],
        ["event", f"{topic}/1/0", "e4", EIGHT_AM_MS + 5 * MINUTE_MS]])
