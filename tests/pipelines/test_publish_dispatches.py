"""Dispatches published to a Redis Stream, once per version, and followed with `roadchief watch`."""
import subprocess
import sys

import pytest
import redis

from pipelines.analysis.tables import connect
from pipelines.errors import OptionsError
from pipelines.job.run import run
from tests.builders import simulated_events
from transforms.redis_contract import DISPATCHES_STREAM, PUBLISHED_DISPATCHES

pytestmark = pytest.mark.beam


@pytest.fixture(scope="module")
def events(tmp_path_factory, world_folder):
    return simulated_events(tmp_path_factory.mktemp("publish"), world_folder, seed=3)


def test_each_dispatch_is_published_once_even_when_the_run_is_replayed(events, tmp_path, redis_url):
    for attempt in ("first", "again"):
        assert run(["--events", str(events), "--output", str(tmp_path / attempt),
                    "--publish_dispatches", redis_url], summary=False) == 0
    ids = sorted(i for (i,) in connect(tmp_path / "first").execute(
        "SELECT dispatch_id FROM dispatches").fetchall())
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    published = client.xrange(DISPATCHES_STREAM)
    assert ids and sorted(fields["dispatch_id"] for _, fields in published) == ids
    assert client.scard(PUBLISHED_DISPATCHES) == len(ids)
    first = dict(published[0][1])
    assert first["chief_chain"].startswith("[{") and first["plate"] and first["last_seen"]


def test_watch_prints_one_line_per_dispatch(events, tmp_path, redis_url):
    assert run(["--events", str(events), "--output", str(tmp_path / "out"),
                "--publish_dispatches", redis_url], summary=False) == 0
    (n,) = connect(tmp_path / "out").execute("SELECT count(*) FROM dispatches").fetchone()
    shown = subprocess.run([sys.executable, "-m", "pipelines.cli", "watch", "--redis", redis_url,
                            "--from-start", "--count", str(n)], capture_output=True, text=True,
                           timeout=60)
    lines = shown.stdout.strip().splitlines()
    assert shown.returncode == 0 and len(lines) == n
    assert all("路管员" in line and "-> " in line and "[D-" in line for line in lines)


def test_an_unreachable_stream_is_refused_up_front(events, tmp_path):
    with pytest.raises(OptionsError, match="--publish_dispatches: ConnectionError"):
        run(["--events", str(events), "--output", str(tmp_path),
             "--publish_dispatches", "redis://127.0.0.1:1/0"], summary=False)
