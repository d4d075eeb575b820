"""Camera events published to Kafka, read live on a real Flink session cluster, give the tables
of a file replay; a Kafka run is refused up front when its pieces are missing.

The broker is Kafka 3.9.1 in KRaft mode and the expansion service Beam's 2.62, both from
Maven Central (`make kafka`); `roadchief run` starts the expansion service itself.
"""
import json

import pytest

from pipelines.errors import OptionsError
from pipelines.run import run
from tests.conftest import LIVE_COMPARED, counted_once, free_port, live_rows, produce_events, simulated_events

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


def test_a_topic_read_live_on_flink_gives_the_file_runs_tables(flink_cluster, kafka_broker, events, tmp_path):
    key = tmp_path / "plate.key"
    key.write_text("cd" * 32)
    file_run = tmp_path / "file"
    assert run(["--events", str(events), "--output", str(file_run), "--plate_key_file", str(key)],
               summary=False) == 0
    topic = "flink-events"
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
    from pipelines.tables import connect
    bad = connect(tmp_path / "live").execute(
        "SELECT source, reason FROM dead_letters WHERE reason IN ('not valid JSON', 'not valid UTF-8') "
        "OR reason LIKE '%lone surrogate%' ORDER BY source").fetchall()
    assert bad == [(f"{topic}/0/10", "not valid JSON"), (f"{topic}/0/1500", "event_id: not valid Unicode "
                   "(a lone surrogate escape)"), (f"{topic}/0/700", "not valid UTF-8")]


def test_a_kafka_run_without_its_pieces_is_refused_up_front(monkeypatch, tmp_path):
    import pipelines.options
    monkeypatch.setattr(pipelines.options, "EXPANSION_SERVICE_JAR", tmp_path / "no-expansion-service.jar")
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
