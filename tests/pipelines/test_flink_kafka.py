"""Camera events published to Kafka, read live on a real Flink session cluster, give the tables
of a file replay; a Kafka run is refused up front when its pieces are missing.

The broker is Kafka 3.9.1 in KRaft mode and the expansion service Beam's 2.62, both from
Maven Central (`make kafka`); `roadchief run` starts the expansion service itself.
"""
import json
import subprocess
import sys
import time

import pytest

from pipelines.analysis.tables import connect
from pipelines.errors import OptionsError
from pipelines.flink.submit import flink_arguments
from pipelines.job.run import run
from tests.builders import simulated_events
from tests.servers import free_port, produce_events, stop_run
from tests.tables import LIVE_COMPARED, counted_once, live_rows

pytestmark = [pytest.mark.beam, pytest.mark.flink, pytest.mark.kafka]

BAD_LINES = [b"{not json", b'{"event_id": "latin1", "camera_id": "QH-BC-001", "plate": "\xc7\xed"}',
             b'{"event_id": "half\\udc00", "camera_id": "QH-BC-001", '
             b'"captured_at": "2026-11-29T08:10:00+08:00", "plate": "\xe7\x90\xbcC12345"}']


@pytest.fixture(scope="module")
def events(tmp_path_factory, world_folder):
    """Simulated traffic with a line that is not JSON, one that is not UTF-8 and one with a lone
    surrogate escape among it."""
    path = simulated_events(tmp_path_factory.mktemp("kafka-events"), world_folder, seed=21, events=2000)
    lines = path.read_bytes().splitlines()
    for at, bad in zip((10, 700, 1500), BAD_LINES):
        lines.insert(at, bad)
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


@pytest.fixture(scope="module")
def key(tmp_path_factory):
    path = tmp_path_factory.mktemp("kafka-key") / "plate.key"
    path.write_text("cd" * 32)
    return path


@pytest.fixture(scope="module")
def file_run(events, key, tmp_path_factory):
    """The tables of the same lines read from the file."""
    output = tmp_path_factory.mktemp("kafka-file-run")
    assert run(["--events", str(events), "--output", str(output), "--plate_key_file", str(key)], summary=False) == 0
    return output


def test_a_topic_replayed_on_flink_gives_the_file_runs_tables(flink_cluster, kafka_broker, events, key, file_run,
                                                               tmp_path):
    topic = "replayed-events"
    records = produce_events(kafka_broker.bootstrap, topic, events)
    assert run(["--runner", "FlinkRunner", "--flink_master", flink_cluster.master, "--streaming",
                "--events_kafka", kafka_broker.bootstrap, "--kafka_topic", topic,
                "--kafka_max_records", str(records), "--plate_key_file", str(key),
                "--output", str(tmp_path / "live")], summary=False) == 0
    for name in LIVE_COMPARED:
        assert live_rows(tmp_path / "live", name) == live_rows(file_run, name), name
    assert counted_once(tmp_path / "live")
    accounts = json.loads((tmp_path / "live" / "reconciliation.json").read_text())
    assert accounts["ok"] and accounts["inputs"]["events"]["lines_in"] == records
    bad = connect(tmp_path / "live").execute(
        "SELECT source, reason FROM dead_letters WHERE reason IN ('not valid JSON', 'not valid UTF-8') "
        "OR reason LIKE '%lone surrogate%' ORDER BY source").fetchall()
    assert bad == [(f"{topic}/0/10", "not valid JSON"), (f"{topic}/0/1500", "event_id: not valid Unicode "
                   "(a lone surrogate escape)"), (f"{topic}/0/700", "not valid UTF-8")]


def test_a_live_run_writes_every_window_while_its_job_runs_on(flink_cluster, kafka_broker, events, key, file_run,
                                                             tmp_path):
    """Without --kafka_max_records the job never ends. Once the reader has caught up, KafkaIO's
    watermark moves on with the wall clock: every window of the traffic closes and is written."""
    topic = "live-events"
    produce_events(kafka_broker.bootstrap, topic, events)
    live = subprocess.Popen(
        [sys.executable, "-m", "pipelines.cli", "run", "--runner", "FlinkRunner", "--flink_master",
         flink_cluster.master, "--streaming", "--events_kafka", kafka_broker.bootstrap, "--kafka_topic", topic,
         "--plate_key_file", str(key), "--output", str(tmp_path / "live")],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + 420
        while time.monotonic() < deadline and live.poll() is None and not _same_tables(tmp_path / "live", file_run):
            time.sleep(5)
        assert live.poll() is None, live.stderr.read()[-2000:]
        for name in LIVE_COMPARED:
            assert live_rows(tmp_path / "live", name) == live_rows(file_run, name), name
    finally:  # cancelled, the run fails and stops the job server and the expansion service it started
        flink_cluster.cancel_running_jobs()
        err = stop_run(live)
    assert live.returncode != 0 and "the run failed" in err, err[-2000:]


def _same_tables(live, file_run) -> bool:
    try:
        return all(live_rows(live, name) == live_rows(file_run, name) for name in LIVE_COMPARED)
    except Exception:  # no window written yet: a table without files cannot be read
        return False


def test_a_replay_job_is_not_checkpointed_so_that_it_ends_with_its_read():
    assert "--checkpointing_interval" in flink_arguments(["--streaming", "--events_kafka", "k:9092"])
    assert "--checkpointing_interval" not in flink_arguments(
        ["--streaming", "--events_kafka", "k:9092", "--kafka_max_records", "5"])


def test_a_streaming_run_closes_its_bundles_within_a_tenth_of_a_second_unless_told():
    live = flink_arguments(["--streaming"])
    assert live[live.index("--max_bundle_time_mills") + 1] == "100"
    assert "--max_bundle_time_mills" not in flink_arguments(["--events", "e.jsonl"])
    told = flink_arguments(["--streaming", "--max_bundle_time_mills=500"])
    assert [arg for arg in told if arg.startswith("--max_bundle_time_mills")] == ["--max_bundle_time_mills=500"]


def test_a_kafka_run_without_its_pieces_is_refused_up_front(monkeypatch, tmp_path):
    import pipelines.job.options
    monkeypatch.setattr(pipelines.job.options, "EXPANSION_SERVICE_JAR", tmp_path / "no-expansion-service.jar")
    port = free_port()
    with pytest.raises(OptionsError) as refused:
        run(["--runner", "PrismRunner", "--events_kafka", f"127.0.0.1:{port}", "--kafka_topic", "cams/1",
             "--kafka_max_records", "0", "--events", __file__, "--output", str(tmp_path / "out")])
    problems = str(refused.value)
    for expected in ("--events_kafka: read either files", "give --runner FlinkRunner and --streaming",
                     f"--events_kafka: no broker answers (127.0.0.1:{port}: Connection refused)",
                     "--kafka_topic: 'cams/1' is not a Kafka topic name", "--kafka_max_records: must be positive",
                     "no-expansion-service.jar is missing: run `make kafka`"):
        assert expected in problems


def test_a_named_expansion_service_must_answer(kafka_broker, tmp_path):
    port = free_port()
    with pytest.raises(OptionsError, match=f"--kafka_expansion_service: nothing answers .*{port}"):
        run(["--runner", "FlinkRunner", "--streaming", "--events_kafka", kafka_broker.bootstrap,
             "--kafka_expansion_service", f"localhost:{port}", "--output", str(tmp_path / "out")])
