"""The whole pipeline on simulated traffic: deterministic, complete, file and Redis alike."""
import subprocess
import sys
from datetime import datetime

import pytest

from geo.simulate import simulate
from geo.shared import world_at
from pipelines.options import OptionsError
from pipelines.run import run
from pipelines.tables import connect
from transforms.watchlist_store import load_into_redis, read_watchlist_file

TABLE_KEYS = {"passings": "event_id", "hits": "event_id, entry_id", "dispatches": "dispatch_id",
              "metrics": "window_start, dimension, key", "dead_letters": "source"}


@pytest.fixture(scope="module")
def events(tmp_path_factory, world_folder):
    path = tmp_path_factory.mktemp("sim") / "events.jsonl"
    simulate(world_at(world_folder), path, events=4000,
             start=datetime.fromisoformat("2026-11-29T08:00:00+08:00"), duration_s=1800, seed=3,
             watchlisted_share=0.05)
    return path


def replay(events, output, *extra):
    code = run(["--runner", "FnApiRunner", "--events", str(events), "--output", str(output), *extra],
               summary=False)
    assert code == 0
    return connect(output)


@pytest.fixture(scope="module")
def first(events, tmp_path_factory):
    return replay(events, tmp_path_factory.mktemp("first"))


def table(con, name):
    return con.execute(f"SELECT * FROM {name} ORDER BY {TABLE_KEYS[name]}").fetchall()


def test_a_replay_gives_identical_tables_and_dispatch_ids(events, first, tmp_path):
    second = replay(events, tmp_path / "second")
    for name in TABLE_KEYS:
        assert table(first, name) == table(second, name), name
    assert len(table(first, "dispatches")) > 0


def test_every_line_is_accounted_for(events, first):
    lines = sum(1 for _ in open(events, encoding="utf-8"))
    (rows,) = first.execute(
        "SELECT (SELECT count(*) FROM passings) + (SELECT count(*) FROM dead_letters)").fetchone()
    assert rows == lines


def test_watchlisted_vehicles_are_hit_and_intercepts_dispatched(first):
    hit_events = first.execute(
        "SELECT count(DISTINCT event_id) FROM hits WHERE action = 'intercept' AND score >= 0.5"
    ).fetchone()[0]
    dispatched = first.execute(
        "SELECT count(*) FROM (SELECT unnest(hit_event_ids) FROM dispatches)").fetchone()[0]
    assert hit_events > 0 and dispatched == hit_events


def test_metrics_agree_with_the_passings_table(first):
    (per_town,) = first.execute(
        "SELECT sum(passings) FROM metrics WHERE dimension = 'town'").fetchone()
    (total,) = first.execute("SELECT count(*) FROM passings").fetchone()
    assert per_town == total


def test_a_redis_watchlist_gives_the_same_hits_as_the_file(events, first, tmp_path, redis_url,
                                                           world_folder):
    load_into_redis(read_watchlist_file(world_at(world_folder).watchlist_path), redis_url, "test")
    live = replay(events, tmp_path / "redis", "--watchlist", redis_url)
    assert table(live, "hits") == table(first, "hits")


@pytest.mark.parametrize("flags, message", [
    (["--runner", "DirectRunner"], "--runner: name one of"),
    (["--events", "/nowhere/*.jsonl"], "nothing matches"),
    (["--window_minutes", "0"], "--window_minutes: must be positive"),
    (["--max_substitutions", "9"], "--max_substitutions"),
    (["--watchlist", "/nowhere.csv"], "--watchlist"),
])
def test_bad_flags_are_refused_up_front_with_every_problem_named(events, tmp_path, flags, message):
    argv = ["--runner", "FnApiRunner", "--events", str(events), "--output", str(tmp_path)]
    with pytest.raises(OptionsError, match=message):
        run(argv + flags, summary=False)


def test_the_command_line_queries_the_tables(events, first, tmp_path):
    out = tmp_path / "cli"
    done = subprocess.run([sys.executable, "-m", "pipelines.cli", "run", "--events", str(events),
                           "--output", str(out)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "balanced" in done.stdout and "Top dispatches" in done.stdout
    query = subprocess.run([sys.executable, "-m", "pipelines.cli", "query", "--tables", str(out),
                            "SELECT count(*) AS n FROM passings"], capture_output=True, text=True)
    (n,) = first.execute("SELECT count(*) FROM passings").fetchone()
    assert query.returncode == 0 and str(n) in query.stdout
