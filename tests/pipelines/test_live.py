"""The same pipeline reading a Redis Stream live on Prism gives the tables of a file replay."""
import json
import subprocess
import sys
import threading
import time

import pytest
import redis

from pipelines.analysis.tables import connect
from pipelines.job.run import run
from pipelines.operate.replay import count_entries, replay
from tests.builders import simulated_events
from tests.servers import RedisServer
from tests.tables import LIVE_COMPARED as COMPARED
from tests.tables import counted_once
from tests.tables import live_rows as rows
from transforms.redis_contract import DISPATCHES_STREAM, END_FIELD, EVENT_FIELD, EVENTS_STREAM

pytestmark = [pytest.mark.beam, pytest.mark.prism, pytest.mark.redis]


@pytest.fixture(scope="module")
def events(tmp_path_factory, world_folder):
    return simulated_events(tmp_path_factory.mktemp("live"), world_folder, seed=8, events=3000)


def test_a_stream_replayed_live_on_prism_gives_the_file_runs_tables(events, redis_url, tmp_path, prism):
    assert run(["--runner", "FnApiRunner", "--events", str(events), "--output", str(tmp_path / "file")],
               summary=False) == 0
    pushed = replay(str(events), redis_url, speed=0, end_marker=True)
    lines = sum(1 for _ in open(events, encoding="utf-8"))
    assert pushed.entries == lines + 1 and count_entries(redis_url) == lines
    assert run(["--runner", "PrismRunner", "--prism_location", prism, "--environment_type",
                "LOOPBACK", "--streaming", "--events_stream", redis_url, "--stream_until_end",
                "--publish_dispatches", redis_url, "--output", str(tmp_path / "live")], summary=False) == 0
    for name in COMPARED:
        assert rows(tmp_path / "live", name) == rows(tmp_path / "file", name), name
    assert counted_once(tmp_path / "live") and counted_once(tmp_path / "file")
    assert json.loads((tmp_path / "live" / "reconciliation.json").read_text())["balanced"]
    published = {fields[b"dispatch_id"] for _, fields in redis.Redis.from_url(redis_url).xrange(DISPATCHES_STREAM)}
    assert len(published) == len(rows(tmp_path / "file", "dispatches")) > 0


def test_a_stream_needs_a_streaming_runner(redis_url, tmp_path):
    from pipelines.errors import OptionsError
    with pytest.raises(OptionsError, match="needs --runner PrismRunner"):
        run(["--runner", "FnApiRunner", "--events_stream", redis_url, "--output", str(tmp_path)])


def test_redis_restarted_during_a_live_run_loses_nothing_and_pages_nobody_twice(events, tmp_path, prism):
    assert run(["--runner", "FnApiRunner", "--events", str(events), "--output", str(tmp_path / "file")],
               summary=False) == 0
    lines = events.read_text(encoding="utf-8").splitlines(keepends=True)
    halves = [tmp_path / "first.jsonl", tmp_path / "second.jsonl"]
    halves[0].write_text("".join(lines[: len(lines) // 2]), encoding="utf-8")
    halves[1].write_text("".join(lines[len(lines) // 2:]), encoding="utf-8")
    server = RedisServer(tmp_path, persist=True)
    replay(str(halves[0]), server.url, speed=0)
    outcome = {}
    live = threading.Thread(target=lambda: outcome.update(code=run(
        ["--runner", "PrismRunner", "--prism_location", prism, "--environment_type", "LOOPBACK",
         "--streaming", "--events_stream", server.url, "--stream_until_end", "--publish_dispatches",
         server.url, "--output", str(tmp_path / "live")], summary=False)))
    live.start()
    client = redis.Redis.from_url(server.url)
    deadline = time.monotonic() + 120
    while not client.exists(DISPATCHES_STREAM) and time.monotonic() < deadline:
        time.sleep(0.2)  # the job is reading and has published a dispatch
    server.stop(save=True)
    time.sleep(1.0)  # down: the reader and the publisher retry with backoff
    revived = RedisServer(tmp_path, port=server.port, persist=True)
    try:
        replay(str(halves[1]), revived.url, speed=0, end_marker=True)
        live.join(timeout=300)
        published = [(fields[b"dispatch_id"], fields[b"sightings"])
                     for _, fields in redis.Redis.from_url(revived.url).xrange(DISPATCHES_STREAM)]
    finally:
        revived.stop()
    assert outcome["code"] == 0
    for name in COMPARED:
        assert rows(tmp_path / "live", name) == rows(tmp_path / "file", name), name
    assert counted_once(tmp_path / "live")
    assert len(published) == len(set(published))  # each version once
    assert len({dispatch for dispatch, _ in published}) == len(rows(tmp_path / "file", "dispatches"))


def test_a_late_event_counts_within_the_allowed_lateness_and_is_a_dead_letter_beyond_it(redis_url, tmp_path, prism):
    """Windowed stages drop what arrives after their window has closed; the run must say so instead."""
    def event(name, minute, second=0):
        return json.dumps({"event_id": name, "camera_id": "QH-BC-001", "plate": "琼C12345",
                           "captured_at": f"2026-11-29T08:{minute:02d}:{second:02d}+08:00"}, ensure_ascii=False)

    client = redis.Redis.from_url(redis_url)
    for n in range(120):
        client.xadd(EVENTS_STREAM, {EVENT_FIELD: event(f"early-{n}", 40 + n // 12, n % 12 * 5)})
    live = subprocess.Popen(
        [sys.executable, "-m", "pipelines.cli", "run", "--runner", "PrismRunner", "--prism_location",
         prism, "--environment_type", "LOOPBACK", "--streaming", "--events_stream", redis_url,
         "--stream_until_end", "--idle_advance_s", "1", "--output", str(tmp_path / "live")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not list((tmp_path / "live").glob("passings/window-*.parquet")) and time.monotonic() < deadline:
        time.sleep(0.2)  # a window has closed: the watermark is past 08:45
    client.xadd(EVENTS_STREAM, {EVENT_FIELD: event("late-but-allowed", 30)})
    client.xadd(EVENTS_STREAM, {EVENT_FIELD: event("too-late", 0)})
    client.xadd(EVENTS_STREAM, {EVENT_FIELD: event("on-time", 50)})
    client.xadd(EVENTS_STREAM, {END_FIELD: "1"})
    out, err = live.communicate(timeout=300)
    assert live.returncode == 0, err[-2000:]  # balanced: every entry is a passing or a dead letter
    con = connect(tmp_path / "live")
    passed = {e for (e,) in con.execute("SELECT event_id FROM passings").fetchall()}
    assert {"late-but-allowed", "on-time"} <= passed and "too-late" not in passed and len(passed) == 122
    (reason,) = con.execute("SELECT reason FROM dead_letters WHERE event_id = 'too-late'").fetchone()
    assert reason.startswith("captured_at: late, ") and "allowed lateness 30 min" in reason
