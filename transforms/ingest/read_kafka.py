"""Live camera events from a Kafka topic, as EventLines in event time.

Each record's value is one event, its JSON line (the key is not read); the line's source is
`topic/partition/offset`. The contract, the dead letters and the late handling are
ReadRedisStream's.

The reading is Beam's Java KafkaIO, a cross-language transform: an expansion service turns
it into Java stages (pipelines/flink/expansion.py) that the Flink job server runs inside the
job, so this source runs on FlinkRunner only. The job server is Beam Java 2.62 and the SDK
Python 2.77: 2.77's ReadFromKafka always sends three settings 2.62 does not know
(dynamic_read_poll_interval_seconds, consumer_factory_fn_class and _params), and 2.62
refuses the whole request ("missing a setter"), so this source sends the read's settings
itself, as 2.62 names them. 2.62's cross-language read sets the limits below.

Delivery is at-least-once. Flink's checkpoints hold each partition's next offset, and a job
restored from one reads on from there; records read again are deduplicated downstream by
event_id. Offsets are not committed to Kafka (no consumer group): a job started without a
savepoint reads the topic from its start. The partitions are those of the topic when the
job starts (no partition discovery).

Event time and watermark. KafkaIO's record time is the record's timestamp (CreateTime): the
capture time where the producer sets it, else the time it sent the record. KafkaIO holds
each partition's watermark at the latest record time read (2.62 allows no delay behind
it), capped at the wall clock; a partition that has caught up moves on with the wall
clock, and one that has never held a record holds the job's watermark back. Each line is
stamped at its captured_at (ReadRedisStream's `stamp`) against its partition's bound in
place of a watermark Python cannot see: the latest record time of the partition so far
(kept per partition, in Flink's checkpoints too), capped at the wall clock. A line more
than the allowed lateness behind it is stamped there, so ParseEvents dead-letters it as
late instead of the windows dropping it unseen; an undated line is stamped there too.
Records stamped by their send time always meet this. Backdated records (stamped with
their capture time, as a replay of old traffic is) must be in the topic before the run
catches up with them: one published after that is behind KafkaIO's wall-clock watermark
but not behind the bound, and the windows drop it unseen.

Nothing is dropped here: a record without a value is an empty line, a value that is not
UTF-8 is replaced (ParseEvents: "not valid UTF-8"), and a value is cut after MAX_LINE_BYTES
+ 1 bytes (ParseEvents: too long). The broker refuses records over its message.max.bytes
(1 MiB by default) before that.

Replay and test mode: with `max_records` the read is a bounded one that ends after that
many records (waiting for them if the topic holds fewer), and the pipeline once its
windows have fired; its watermark stays back until the read ends. Kafka has no end marker
that KafkaIO could stop at.
"""
import socket
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import NamedTuple, Optional

import apache_beam as beam
from apache_beam.coders import VarIntCoder
from apache_beam.transforms.external import ExternalTransform, NamedTupleBasedPayloadBuilder
from apache_beam.transforms.userstate import ReadModifyWriteStateSpec
from apache_beam.utils.timestamp import Timestamp

from models.records import EventLine
from transforms.ingest.read_events import MAX_LINE_BYTES
from transforms.ingest.read_redis_stream import event_time_us, stamp

EVENTS_TOPIC = "roadchief.events"
READ_WITH_METADATA = "beam:transform:org.apache.beam:kafka_read_with_metadata:v1"
BYTES = "org.apache.kafka.common.serialization.ByteArrayDeserializer"
CREATE_TIME = "CreateTime"
MS = 1000


class KafkaReadSettings(NamedTuple):
    """KafkaIO's cross-language read settings, those this source sets, as Beam Java 2.62 names them.

    2.62 reads commit_offset_in_finalize and timestamp_policy without a default: both are sent."""
    consumer_config: Mapping[str, str]
    topics: list[str]
    key_deserializer: str
    value_deserializer: str
    max_num_records: Optional[int]
    commit_offset_in_finalize: bool
    timestamp_policy: str


def record_line(record, image_base: str) -> tuple[str, tuple[int, EventLine]]:
    """A KafkaIO record → (its partition, (its timestamp in ms, its line))."""
    partition = f"{record.topic}/{record.partition}"
    text = (record.value or b"")[:MAX_LINE_BYTES + 1].decode(errors="replace")
    return partition, (record.timestamp, EventLine(f"{partition}/{record.offset}", image_base, text))


class _StampEventTime(beam.DoFn):
    """Stamps each line in event time against its partition's bound (module docstring)."""

    LATEST_MS = ReadModifyWriteStateSpec("latest_record_ms", VarIntCoder())

    def __init__(self, max_future_s: float, allowed_lateness_s: float, clock: Callable[[], float]):
        self._max_future_us = round(max_future_s * 1_000_000)
        self._lateness_us = round(allowed_lateness_s * 1_000_000)
        self._clock = clock

    def process(self, keyed, latest_ms=beam.DoFn.StateParam(LATEST_MS)):
        _, (record_ms, line) = keyed
        seen_ms = latest_ms.read()
        if seen_ms is None or record_ms > seen_ms:
            seen_ms = record_ms
            latest_ms.write(seen_ms)
        now_s = self._clock()
        now_us = round(now_s * 1_000_000)
        bound = Timestamp(micros=min(seen_ms * MS, now_us))
        event_us = event_time_us(line.text, now_us + self._max_future_us)
        yield beam.window.TimestampedValue(line, stamp(event_us, bound, self._lateness_us, now_s))


def unreachable(servers: str, timeout_s: float = 3.0) -> Optional[str]:
    """Why none of `servers` (host:port, comma-separated: brokers, a service) takes a connection, or None."""
    refusals = []
    for server in servers.split(","):
        host, _, port = server.strip().rpartition(":")
        if not host or not port.isdigit():
            return f"{server.strip()!r} is not host:port"
        try:
            socket.create_connection((host.strip("[]"), int(port)), timeout=timeout_s).close()
            return None
        except OSError as refused:
            refusals.append(f"{server.strip()}: {refused.strerror or refused}")
    return "; ".join(refusals)


@dataclass(frozen=True)
class KafkaConfig:
    """Which topic ReadKafkaEvents reads and how it keeps event time: `image_base` is the
    folder that relative image paths in events refer to; `max_records` ends the read (replay
    and test mode); `max_future_s` and `allowed_lateness_s` bound the event times it trusts."""
    topic: str = EVENTS_TOPIC
    image_base: str = ""
    max_records: Optional[int] = None
    max_future_s: float = 300.0
    allowed_lateness_s: float = 1800.0


class ReadKafkaEvents(beam.PTransform):
    """A Kafka topic → EventLines (source `topic/partition/offset`), unbounded, in event time.

    `bootstrap` is the brokers' host:port list; `expansion_service` what ExternalTransform takes
    (pipelines/flink/expansion.py). `clock` gives the wall-clock second, as in ParseEvents.
    See the module docstring for the rest.
    """

    def __init__(self, bootstrap: str, expansion_service, config: KafkaConfig = KafkaConfig(),
                 clock: Callable[[], float] = time.time):
        super().__init__()
        self._settings = KafkaReadSettings(
            consumer_config={"bootstrap.servers": bootstrap, "auto.offset.reset": "earliest"},
            topics=[config.topic], key_deserializer=BYTES, value_deserializer=BYTES,
            max_num_records=config.max_records, commit_offset_in_finalize=False, timestamp_policy=CREATE_TIME)
        self._expansion_service = expansion_service
        self._image_base = config.image_base
        self._stamp = _StampEventTime(config.max_future_s, config.allowed_lateness_s, clock)

    def expand(self, pbegin):
        return (pbegin
                | "Kafka" >> ExternalTransform(READ_WITH_METADATA, NamedTupleBasedPayloadBuilder(self._settings),
                                               self._expansion_service)
                | "Lines" >> beam.Map(record_line, self._image_base).with_output_types(
                    tuple[str, tuple[int, EventLine]])
                | "EventTime" >> beam.ParDo(self._stamp).with_output_types(EventLine))
