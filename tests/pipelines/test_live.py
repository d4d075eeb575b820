"""The same pipeline reading a Redis Stream live on Prism gives the tables of a file replay."""
import json

import pytest
import redis

from pipelines.replay import count_entries, replay
from pipelines.run import run
from pipelines.tables import connect
from tests.conftest import simulated_events
from tests.pipelines.test_prism import prism_binary

# Rows compared without `source`: a file line and a stream entry name the same event differently.
# A live dispatch keeps the id of the hit that arrived first, a replay's hashes the earliest
# hit: the same incident, with ids that differ when hits arrive out of order.
COMPARED = {"passings": "event_id, camera_id, captured_at, plate, plate_source, segment_id, watchlist_hit",
            "hits": "event_id, plate, entry_id, match, score",
            "dispatches": "plate, hit_event_ids, sightings, created_at, last_seen, segment_id, category",
            "metrics": "window_start, dimension, key, passings, unread, unique_plates, hits, dispatches",
            "dead_letters": "event_id, stage, split_part(reason, ', first delivered at', 1)"}


@pytest.fixture(scope="module")
def events(tmp_path_factory, world_folder):
    return simulated_events(tmp_path_factory.mktemp("live"), world_folder, seed=8, events=3000)


def rows(tables, name):
    # A live dispatch is written once per version; the latest has the most sightings.
    latest = (" QUALIFY row_number() OVER (PARTITION BY dispatch_id ORDER BY sightings DESC,"
              " len(categories) DESC, priority, entry_id) = 1" if name == "dispatches" else "")
    return sorted(connect(tables).execute(f"SELECT {COMPARED[name]} FROM {name}{latest}").fetchall(), key=repr)


def test_a_stream_replayed_live_on_prism_gives_the_file_runs_tables(events, redis_url, tmp_path):
    assert run(["--runner", "FnApiRunner", "--events", str(events), "--output", str(tmp_path / "file")],
               summary=False) == 0
    pushed = replay(str(events), redis_url, speed=0, end_marker=True)
    lines = sum(1 for _ in open(events, encoding="utf-8"))
    assert pushed.entries == lines + 1 and count_entries(redis_url) == lines
    assert run(["--runner", "PrismRunner", "--prism_location", prism_binary(), "--environment_type",
                "LOOPBACK", "--streaming", "--events_stream", redis_url, "--stream_until_end",
                "--publish_dispatches", redis_url, "--output", str(tmp_path / "live")], summary=False) == 0
    for name in COMPARED:
        assert rows(tmp_path / "live", name) == rows(tmp_path / "file", name), name
    assert json.loads((tmp_path / "live" / "reconciliation.json").read_text())["balanced"]
    published = {fields[b"dispatch_id"] for _, fields in redis.Redis.from_url(redis_url).xrange("roadchief:dispatches")}
    assert len(published) == len(rows(tmp_path / "file", "dispatches")) > 0


def test_a_stream_needs_a_streaming_runner(redis_url, tmp_path):
    from pipelines.errors import OptionsError
    with pytest.raises(OptionsError, match="needs --runner PrismRunner"):
        run(["--runner", "FnApiRunner", "--events_stream", redis_url, "--output", str(tmp_path)])
