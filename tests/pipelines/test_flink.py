"""The same tables on a real Flink session cluster as on the FnApiRunner: batch, scaled out,
with workers outside the submitting process, and live from a Redis Stream.

The cluster is Flink 1.19.3 from its PyPI distribution (`roadchief flink up`); jobs go
through Beam's job server from Maven Central, which `roadchief run` starts itself.
"""
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis

from pipelines.analysis.tables import connect
from pipelines.job.run import run
from pipelines.operate.replay import replay
from tests.builders import simulated_events
from tests.servers import RedisServer, children_running, free_port, stop_run
from tests.tables import LIVE_COMPARED, all_tables, counted_once, live_rows
from transforms.redis_contract import DISPATCHES_STREAM
from transforms.store.write_tables import TABLES

pytestmark = [pytest.mark.beam, pytest.mark.flink, pytest.mark.redis]

PROCESS_WORKERS = ["--environment_type", "PROCESS", "--environment_config",
                   json.dumps({"command": str(Path(sys.executable).with_name("roadchief-worker-boot"))})]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    """Camera events with frames for the plate model, and 60 days of incidents and outcomes."""
    folder = tmp_path_factory.mktemp("flink-inputs")
    done = subprocess.run(
        [sys.executable, "-m", "pipelines.cli", "simulate", "--out", str(folder / "events.jsonl"),
         "--events", "2000", "--seed", "13", "--images", "--watchlisted-share", "0.05",
         "--incidents", str(folder / "incidents.jsonl"), "--outcomes", str(folder / "outcomes.jsonl"),
         "--history-days", "60"], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    key = folder / "plate.key"
    key.write_text("ab" * 32)  # workers outside this process read the key from a file
    return folder


def arguments(inputs, output, *extra) -> list[str]:
    return ["--events", str(inputs / "events.jsonl"), "--incidents", str(inputs / "incidents.jsonl"),
            "--outcomes", str(inputs / "outcomes.jsonl"), "--plate_key_file", str(inputs / "plate.key"),
            "--custom_period", "2026-10-01..2026-11-28", "--output", str(output), *extra]


@pytest.fixture(scope="module")
def expected(inputs, tmp_path_factory):
    output = tmp_path_factory.mktemp("fnapi")
    assert run(arguments(inputs, output, "--runner", "FnApiRunner"), summary=False) == 0
    tables = all_tables(output)
    assert all(tables[name] for name in TABLES), [name for name in TABLES if not tables[name]]
    return tables


def on_flink(cluster, inputs, output, *extra) -> dict:
    assert run(arguments(inputs, output, "--runner", "FlinkRunner", "--flink_master", cluster.master, *extra),
               summary=False) == 0
    return all_tables(output)


def assert_same(tables, expected):
    for name in TABLES:
        assert tables[name] == expected[name], name


def test_a_batch_run_on_the_session_cluster_writes_the_fnapi_runners_tables(flink_cluster, inputs, expected,
                                                                             tmp_path):
    assert_same(on_flink(flink_cluster, inputs, tmp_path / "out"), expected)
    (read_by_model,) = connect(tmp_path / "out").execute(
        "SELECT count(*) FROM passings WHERE plate_source = 'model'").fetchone()
    assert read_by_model > 0  # the frames were read by the plate model on the cluster
    assert children_running("beam-flink-job-server") == []  # the run stopped the job server it started


def test_two_taskmanagers_at_parallelism_two_give_the_same_tables(flink_cluster, inputs, expected, tmp_path):
    second = flink_cluster.add_taskmanager()
    try:
        assert flink_cluster.overview()["taskmanagers"] == 2
        assert_same(on_flink(flink_cluster, inputs, tmp_path / "out", "--parallelism", "2", *PROCESS_WORKERS),
                    expected)
    finally:
        flink_cluster.kill_taskmanager(second)


def test_workers_from_an_external_pool_give_the_same_tables(flink_cluster, inputs, expected, tmp_path):
    port = free_port()
    pool = subprocess.Popen([sys.executable, "-m", "pipelines.cli", "worker-pool", "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert "listening" in pool.stdout.readline()
        tables = on_flink(flink_cluster, inputs, tmp_path / "out", "--environment_type", "EXTERNAL",
                          "--environment_config", f"localhost:{port}")
    finally:
        pool.kill()
        pool.wait()
    assert_same(tables, expected)


def test_a_stream_replayed_live_on_flink_gives_the_file_runs_tables(flink_cluster, inputs, redis_url, tmp_path):
    events = inputs / "events.jsonl"
    file_run = tmp_path / "file"
    assert run(["--events", str(events), "--output", str(file_run), "--plate_key_file",
                str(inputs / "plate.key")], summary=False) == 0
    replay(str(events), redis_url, speed=0, end_marker=True)
    started = time.monotonic()
    assert run(["--runner", "FlinkRunner", "--flink_master", flink_cluster.master, "--streaming",
                "--events_stream", redis_url, "--stream_until_end", "--image_root", str(inputs),
                "--publish_dispatches", redis_url, "--plate_key_file", str(inputs / "plate.key"),
                "--output", str(tmp_path / "live")], summary=False) == 0
    assert time.monotonic() - started < 600
    for name in LIVE_COMPARED:
        assert live_rows(tmp_path / "live", name) == live_rows(file_run, name), name
    assert counted_once(tmp_path / "live")
    assert json.loads((tmp_path / "live" / "reconciliation.json").read_text())["ok"]
    published = [(fields[b"dispatch_id"], fields[b"sightings"])
                 for _, fields in redis.Redis.from_url(redis_url).xrange(DISPATCHES_STREAM)]
    assert published and len(published) == len(set(published))  # each version paged once
    assert len({dispatch for dispatch, _ in published}) == len(live_rows(file_run, "dispatches"))


def _until_equal(live, file_run, timeout_s: float) -> None:
    """Live windows are written as they close: wait until every compared table is the file run's."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            if all(live_rows(live, name) == live_rows(file_run, name) for name in LIVE_COMPARED):
                return
        except Exception:  # a table not written yet
            pass
        if time.monotonic() > deadline:
            for name in LIVE_COMPARED:
                assert live_rows(live, name) == live_rows(file_run, name), name
        time.sleep(2)


def _published(url) -> list:
    return [(fields[b"dispatch_id"], fields[b"sightings"])
            for _, fields in redis.Redis.from_url(url).xrange(DISPATCHES_STREAM)]


@pytest.fixture
def halves(tmp_path, world_folder):
    events = simulated_events(tmp_path, world_folder, seed=8, events=3000)
    lines = events.read_text(encoding="utf-8").splitlines(keepends=True)
    first, second = tmp_path / "first.jsonl", tmp_path / "second.jsonl"
    first.write_text("".join(lines[: len(lines) // 2]), encoding="utf-8")
    second.write_text("".join(lines[len(lines) // 2:]), encoding="utf-8")
    file_run = tmp_path / "file"
    assert run(["--events", str(events), "--output", str(file_run)], summary=False) == 0
    return first, second, file_run


def test_a_taskmanager_killed_mid_stream_is_replaced_and_the_job_resumes_from_its_checkpoint(
        flink_cluster, halves, redis_url, tmp_path):
    first, second, file_run = halves
    replay(str(first), redis_url, speed=0)
    live = subprocess.Popen(
        [sys.executable, "-m", "pipelines.cli", "run", "--runner", "FlinkRunner", "--flink_master",
         flink_cluster.master, "--streaming", "--events_stream", redis_url, "--stream_until_end",
         "--checkpointing_interval", "2000", "--finish_bundle_before_checkpointing",
         "--publish_dispatches", redis_url, "--output", str(tmp_path / "live")],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        job = _job_with_checkpoints(flink_cluster, completed=2)
        (doomed,) = flink_cluster.state["taskmanagers"]
        flink_cluster.kill_taskmanager(doomed)
        flink_cluster.add_taskmanager()
        replay(str(second), redis_url, speed=0, end_marker=True)
        _until_equal(tmp_path / "live", file_run, timeout_s=600)
        assert flink_cluster.checkpoints(job)["counts"]["restored"] >= 1
    finally:
        flink_cluster.cancel_running_jobs()  # a checkpointed job runs on until cancelled
        stop_run(live)
    published = _published(redis_url)
    assert len(published) == len(set(published))  # no version paged twice after the restart
    assert len({dispatch for dispatch, _ in published}) == len(live_rows(file_run, "dispatches")) > 0


def _job_with_checkpoints(cluster, completed: int, timeout_s: float = 300) -> str:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for job in cluster.jobs():
            if job["state"] == "RUNNING" and cluster.checkpoints(job["jid"])["counts"]["completed"] >= completed:
                return job["jid"]
        time.sleep(1)
    raise AssertionError(f"no running job with {completed} checkpoints after {timeout_s} s")


def test_redis_restarted_during_a_flink_stream_loses_nothing_and_pages_nobody_twice(flink_cluster, halves,
                                                                                     tmp_path):
    first, second, file_run = halves
    server = RedisServer(tmp_path, persist=True)
    replay(str(first), server.url, speed=0)
    live = subprocess.Popen(
        [sys.executable, "-m", "pipelines.cli", "run", "--runner", "FlinkRunner", "--flink_master",
         flink_cluster.master, "--streaming", "--events_stream", server.url, "--stream_until_end",
         "--publish_dispatches", server.url, "--output", str(tmp_path / "live")],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True)
    revived = None
    try:
        client = redis.Redis.from_url(server.url)
        deadline = time.monotonic() + 300
        while not client.exists(DISPATCHES_STREAM) and time.monotonic() < deadline:
            time.sleep(0.5)  # the job is reading and has paged someone
        server.stop(save=True)
        time.sleep(2.0)  # down: the reader and the publisher retry with backoff
        revived = RedisServer(tmp_path, port=server.port, persist=True)
        replay(str(second), revived.url, speed=0, end_marker=True)
        _, err = live.communicate(timeout=600)
        assert live.returncode == 0, err[-2000:]
        published = _published(revived.url)
    finally:
        if live.poll() is None:
            flink_cluster.cancel_running_jobs()
            stop_run(live)
        if revived:
            revived.stop()
    for name in LIVE_COMPARED:
        assert live_rows(tmp_path / "live", name) == live_rows(file_run, name), name
    assert len(published) == len(set(published))
    assert len({dispatch for dispatch, _ in published}) == len(live_rows(file_run, "dispatches")) > 0
