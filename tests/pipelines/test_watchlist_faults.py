"""An empty, missing, refused or stale live watchlist is a fault, never an empty answer.

Redis restarted without its data answers MGET with nothing, exactly as a list
that lists nobody would. These runs restart a real redis-server empty in the
middle of a replay and check that no hit is lost without the run saying so.
"""
import json
import socket
import threading
import time

import pytest

from pipelines.analysis.tables import connect
from pipelines.errors import OptionsError, RunFailed
from pipelines.job.run import run
from tests.builders import ZONE, simulated_events
from tests.servers import RedisServer
from transforms.enrich.watchlist_store import RedisWatchlist, WatchlistUnavailable, load_into_redis, read_watchlist_file

pytestmark = [pytest.mark.beam, pytest.mark.redis]

HITS = "SELECT event_id, entry_id, match, score FROM hits ORDER BY ALL"


@pytest.fixture(scope="module")
def events(tmp_path_factory, world_folder):
    return simulated_events(tmp_path_factory.mktemp("watchlist-faults"), world_folder, seed=11)


@pytest.fixture(scope="module")
def baseline(events, tmp_path_factory, world_folder):
    """The same events matched against the list as a file: the hits nothing may lose."""
    output = tmp_path_factory.mktemp("baseline")
    assert run(["--events", str(events), "--output", str(output)], summary=False) == 0
    return connect(output).execute(HITS).fetchall()


@pytest.fixture
def entries(world_folder):
    return read_watchlist_file(f"{world_folder}/watchlist.csv", ZONE)


def replay(events, output, *extra):
    return run(["--events", str(events), "--output", str(output), *extra], summary=False)


class EmptyRestart:
    """Once the run has started, stop Redis; when the pipeline next connects, start it again
    on the same port without its data, as a crashed server with persistence off comes back."""

    def __init__(self, server: RedisServer, output, workdir, reload_after_s=None, entries=None):
        self.server, self.output, self.workdir = server, output, workdir
        self.reload_after_s, self.entries = reload_after_s, entries
        self.revived = None
        self._thread = threading.Thread(target=self._restart)

    def __enter__(self):
        self._thread.start()
        return self

    def _restart(self):
        deadline = time.monotonic() + 120
        while not (self.output / ".versions").is_dir() and time.monotonic() < deadline:
            time.sleep(0.02)
        self.server.stop()
        with socket.create_server(("127.0.0.1", self.server.port)) as stand_in:
            stand_in.settimeout(120)
            first_attempt, _ = stand_in.accept()
            first_attempt.close()
        self.revived = RedisServer(self.workdir, port=self.server.port)
        if self.reload_after_s is not None:
            time.sleep(self.reload_after_s)
            load_into_redis(self.entries, self.revived.url, "reloaded")

    def __exit__(self, *exc):
        self._thread.join()
        if self.revived:
            self.revived.stop()


def test_an_empty_restart_without_a_snapshot_fails_the_run_and_changes_no_table(
        events, tmp_path, entries):
    server = RedisServer(tmp_path)
    load_into_redis(entries, server.url, "test")
    output = tmp_path / "out"
    with EmptyRestart(server, output, tmp_path), \
            pytest.raises(RunFailed, match="changed no table.*Redis holds no watchlist.*waited 2 s"):
        replay(events, output, "--watchlist", server.url, "--watchlist_wait_s", "2")
    assert not (output / "current").exists()


def test_a_list_reloaded_after_an_empty_restart_loses_no_hit(events, tmp_path, entries, baseline):
    server = RedisServer(tmp_path)
    load_into_redis(entries, server.url, "test")
    output = tmp_path / "out"
    with EmptyRestart(server, output, tmp_path, reload_after_s=1.4, entries=entries):
        assert replay(events, output, "--watchlist", server.url) == 0
    con = connect(output)
    assert con.execute(HITS).fetchall() == baseline
    versions = con.execute("SELECT DISTINCT list_version FROM passings WHERE plate IS NOT NULL").fetchall()
    assert versions and not [v for (v,) in versions if v.startswith("stale:")]


def test_an_empty_restart_covered_by_the_snapshot_marks_it_and_fails_unless_accepted(
        events, tmp_path, entries, baseline, world_folder):
    server = RedisServer(tmp_path)
    load_into_redis(entries, server.url, "test")
    output = tmp_path / "out"
    with EmptyRestart(server, output, tmp_path):
        code = replay(events, output, "--watchlist", server.url,
                      "--watchlist_snapshot", f"{world_folder}/watchlist.csv")
    assert code == 1
    con = connect(output)
    assert con.execute(HITS).fetchall() == baseline
    (stale,) = con.execute("SELECT count(*) FROM passings WHERE list_version LIKE 'stale:%'").fetchone()
    assert stale > 0
    accounts = json.loads((output / "reconciliation.json").read_text())
    assert accounts["balanced"] and not accounts["ok"]
    assert accounts["watchlist"]["stale_passings"] == stale
    assert not con.execute("SELECT * FROM hits WHERE list_version = 'empty'").fetchall()


def test_a_wrong_password_with_a_snapshot_is_refused_unless_stale_data_are_accepted(
        events, tmp_path, entries, world_folder, capsys):
    server = RedisServer(tmp_path, password="right-password")
    try:
        load_into_redis(entries, server.url, "test")
        wrong = server.url_for("", "wrong-password")
        snapshot = ("--watchlist_snapshot", f"{world_folder}/watchlist.csv")
        with pytest.raises(OptionsError, match="Redis refused.*--accept_stale_watchlist"):
            replay(events, tmp_path / "out", "--watchlist", wrong, *snapshot)
        assert replay(events, tmp_path / "out", "--watchlist", wrong, *snapshot,
                      "--accept_stale_watchlist") == 0
        assert "WARNING: the live watchlist cannot answer" in capsys.readouterr().err
    finally:
        server.stop()


def test_a_missing_or_empty_list_at_start_is_refused(events, tmp_path, redis_url):
    with pytest.raises(OptionsError, match="Redis holds no watchlist"):
        replay(events, tmp_path / "out", "--watchlist", redis_url)
    with pytest.raises(ValueError, match="no entries"):
        load_into_redis([], redis_url, "empty")
    empty = tmp_path / "empty.csv"
    empty.write_text("entry_id,plate,plate_color,category,priority,action,valid_from,valid_to,note\n")
    with pytest.raises(OptionsError, match="--watchlist: .*no entries"):
        replay(events, tmp_path / "out", "--watchlist", str(empty))


def test_a_list_older_than_allowed_is_a_fault(redis_url, entries):
    meta = load_into_redis(entries, redis_url, "test")
    loaded = time.time()
    fresh = RedisWatchlist(redis_url, max_age_s=3600, wall_clock=lambda: loaded + 1800)
    assert fresh.answer([]).version == meta["version"]
    old = RedisWatchlist(redis_url, max_age_s=3600, wall_clock=lambda: loaded + 7200)
    with pytest.raises(WatchlistUnavailable, match="loaded 2.0 h ago"):
        old.answer([])
