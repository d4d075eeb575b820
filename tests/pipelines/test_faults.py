"""Fault scenarios: each ends in a clear error or a complete run, never in silent loss."""
import socket
import subprocess
import threading
import time

import pytest

from models.plate_rules import canonical
from pipelines.analysis.tables import connect
from pipelines.errors import OptionsError, RunFailed
from pipelines.job.run import run
from tests.builders import ZONE, simulated_events
from tests.servers import RedisServer
from transforms.enrich.watchlist_store import RedisWatchlist, load_into_redis, read_watchlist_file

pytestmark = [pytest.mark.beam, pytest.mark.redis]


@pytest.fixture(scope="module")
def events(tmp_path_factory, world_folder):
    return simulated_events(tmp_path_factory.mktemp("faults"), world_folder, seed=9)


def replay(events, output, *extra):
    return run(["--events", str(events), "--output", str(output), *extra], summary=False)


def test_redis_down_at_start_is_a_clear_error(events, tmp_path):
    closed = RedisServer(tmp_path)
    url = closed.url
    closed.stop()
    with pytest.raises(OptionsError, match="Redis unreachable.*--watchlist_snapshot"):
        replay(events, tmp_path / "out", "--watchlist", url)


def test_redis_down_at_start_with_a_snapshot_is_refused_unless_stale_data_are_accepted(
        events, tmp_path, world_folder):
    closed = RedisServer(tmp_path)
    url = closed.url
    closed.stop()
    snapshot = f"{world_folder}/watchlist.csv"
    with pytest.raises(OptionsError, match="Redis unreachable.*--accept_stale_watchlist"):
        replay(events, tmp_path / "out", "--watchlist", url, "--watchlist_snapshot", snapshot)
    assert replay(events, tmp_path / "out", "--watchlist", url, "--watchlist_snapshot", snapshot,
                  "--accept_stale_watchlist") == 0
    con = connect(tmp_path / "out")
    versions = con.execute("SELECT DISTINCT list_version FROM hits").fetchall()
    assert versions and all(v.startswith("stale:") for (v,) in versions)
    checked = con.execute("SELECT DISTINCT list_version FROM passings WHERE plate IS NOT NULL").fetchall()
    assert checked and all(v.startswith("stale:") for (v,) in checked)


def test_redis_restarting_mid_lookup_is_retried_and_answers(tmp_path, world_folder):
    server = RedisServer(tmp_path, persist=True)
    load_into_redis(read_watchlist_file(f"{world_folder}/watchlist.csv", ZONE), server.url, "test")
    plate = read_watchlist_file(f"{world_folder}/watchlist.csv", ZONE)[0].plate
    live = RedisWatchlist(server.url, ttl_s=0)
    port = server.port
    server.stop(save=True)
    revived = {}

    def restart():  # the restarted server loads its dump before it answers: no empty window
        time.sleep(0.5)
        revived["server"] = RedisServer(tmp_path, port=port, persist=True)

    restarter = threading.Thread(target=restart)
    restarter.start()
    try:
        found = live.lookup([canonical(plate)])
    finally:
        restarter.join()
        revived["server"].stop()
    assert plate in {entry.plate for entry in found[canonical(plate)]}


def test_an_unwritable_output_folder_is_refused_up_front(events, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(OptionsError, match="--output: cannot write"):
        replay(events, blocker / "out")


def test_a_full_disk_fails_clearly_and_keeps_the_previous_tables(events, tmp_path):
    disk = tmp_path / "disk"
    disk.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=160k", "tmpfs", str(disk)], check=True)
    try:
        small = tmp_path / "small.jsonl"
        small.write_text("".join(open(events, encoding="utf-8").readlines()[:20]), encoding="utf-8")
        assert replay(small, disk) == 0
        with pytest.raises(RunFailed, match="changed no table.*No space left on device"):
            replay(events, disk)
        con = connect(disk)
        assert con.execute("SELECT count(*) FROM passings").fetchone()[0] <= 20
        assert [p.name for p in (disk / ".versions").iterdir()] == [(disk / "current").resolve().name]
    finally:
        subprocess.run(["umount", "--lazy", str(disk)], check=True)  # a failed writer may hold a file open


@pytest.mark.parametrize("content, message", [
    (b"", "not a readable Keras model"),
    (b"PK\x03\x04 broken zip", "not a readable Keras model"),
])
def test_a_corrupt_model_file_is_refused_at_start(events, tmp_path, content, message):
    model = tmp_path / "plate_reader.keras"
    model.write_bytes(content)
    with pytest.raises(OptionsError, match=message):
        replay(events, tmp_path / "out", "--model", str(model))


def test_a_missing_model_file_is_refused_at_start(events, tmp_path):
    with pytest.raises(OptionsError, match="--model"):
        replay(events, tmp_path / "out", "--model", str(tmp_path / "nowhere.keras"))


def test_redis_down_mid_run_is_retried_and_the_run_loses_nothing(events, tmp_path, world_folder):
    import apache_beam as beam
    from apache_beam.metrics.metric import MetricsFilter

    from pipelines.job.graph import build
    from pipelines.job.options import validate
    from pipelines.job.run import pipeline_options

    baseline = tmp_path / "file"
    assert replay(events, baseline) == 0
    server = RedisServer(tmp_path, persist=True)
    load_into_redis(read_watchlist_file(f"{world_folder}/watchlist.csv", ZONE), server.url, "test")
    options = pipeline_options(["--events", str(events), "--output", str(tmp_path / "live"),
                                "--watchlist", server.url])
    app = validate(options)
    server.stop(save=True)
    revived = {}

    def restart_after_the_first_lookup_fails():
        with socket.create_server(("127.0.0.1", server.port)) as stand_in:
            stand_in.settimeout(120)
            first_attempt, _ = stand_in.accept()
            first_attempt.close()
        revived["server"] = RedisServer(tmp_path, port=server.port, persist=True)

    restarter = threading.Thread(target=restart_after_the_first_lookup_fails)
    restarter.start()
    try:
        pipeline = beam.Pipeline(options=options)
        build(pipeline, app, str(tmp_path / "live"))
        result = pipeline.run()
        result.wait_until_finish()
    finally:
        restarter.join()
        revived["server"].stop()
    retries = result.metrics().query(MetricsFilter().with_name("redis_retries"))["counters"]
    assert sum(counter.committed for counter in retries) > 0
    key = "event_id, entry_id, match, score"
    assert (connect(tmp_path / "live").execute(f"SELECT {key} FROM hits ORDER BY ALL").fetchall()
            == connect(baseline).execute(f"SELECT {key} FROM hits ORDER BY ALL").fetchall())
