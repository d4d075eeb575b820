"""The whole pipeline on simulated traffic: deterministic, complete, file and Redis alike."""
import contextlib
import io
import itertools
import subprocess
import sys
from collections import Counter

import pytest

from pipelines.analysis.tables import connect
from pipelines.errors import OptionsError
from pipelines.job.run import run
from tests.builders import ZONE, simulated_events
from tests.tables import TABLE_KEYS, table
from transforms.enrich.watchlist_store import load_into_redis, read_watchlist_file
from transforms.stage_metrics import DEAD_LETTERS, reason_class

pytestmark = pytest.mark.beam


@pytest.fixture(scope="module")
def events(tmp_path_factory, world_folder):
    return simulated_events(tmp_path_factory.mktemp("sim"), world_folder, seed=3, events=4000)


def replay(events, output, *extra):
    code = run(["--runner", "FnApiRunner", "--events", str(events), "--output", str(output), *extra],
               summary=False)
    assert code == 0
    return connect(output)


@pytest.fixture(scope="module")
def first_run(events, tmp_path_factory):
    """The first replay's output folder and what it printed: the summary and the stage metrics."""
    output = tmp_path_factory.mktemp("first")
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        assert run(["--runner", "FnApiRunner", "--events", str(events), "--output", str(output)]) == 0
    return output, printed.getvalue()


@pytest.fixture(scope="module")
def first_output(first_run):
    return first_run[0]


@pytest.fixture(scope="module")
def first(first_output):
    return connect(first_output)


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


def stage_metrics_printed(printed: str) -> dict[str, str]:
    """Metric name → value as the table after the summary shows them."""
    rows = printed.split("Stage metrics (roadchief)\n", 1)[1].splitlines()[2:]  # after the header and rule
    return dict(row.split(None, 1) for row in itertools.takewhile(lambda row: not row.startswith("("), rows))


def test_the_printed_stage_metrics_agree_with_the_tables(events, first, first_run):
    _, printed = first_run
    assert printed.index("Stage metrics") > printed.index("Per town")
    shown = {name: int(value.replace(",", "")) for name, value in stage_metrics_printed(printed).items()}
    assert shown.pop("events_in") == sum(1 for _ in open(events, encoding="utf-8"))
    dead = Counter(reason_class(stage, reason)
                   for stage, reason in first.execute("SELECT stage, reason FROM dead_letters").fetchall())
    assert {name.removeprefix(DEAD_LETTERS): n for name, n in shown.items() if name.startswith(DEAD_LETTERS)} == dead
    assert {"duplicate", "no_plate_or_image"} <= set(dead)
    (hits,), (dispatches,), (lookups,) = (first.execute(sql).fetchone() for sql in (
        "SELECT count(*) FROM hits", "SELECT count(*) FROM dispatches",
        "SELECT sum(1 + len(list_filter(plate_alternates, lambda a: a != plate))) FROM passings "
        "WHERE plate IS NOT NULL"))
    assert (shown["hits"], shown["dispatches"], shown["watchlist_lookups"]) == (hits, dispatches, lookups)


def test_a_redis_watchlist_gives_the_same_hits_as_the_file(events, first, tmp_path, redis_url,
                                                           world_folder):
    load_into_redis(read_watchlist_file(f"{world_folder}/watchlist.csv", ZONE), redis_url, "test")
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
    log = tmp_path / "audit.jsonl"
    query = subprocess.run([sys.executable, "-m", "pipelines.cli", "query", "--tables", str(out),
                            "--reason", "case 2026-118", "--audit-log", str(log),
                            "SELECT count(*) AS n FROM passings"], capture_output=True, text=True)
    (n,) = first.execute("SELECT count(*) FROM passings").fetchone()
    assert query.returncode == 0 and str(n) in query.stdout
    assert "case 2026-118" in log.read_text(encoding="utf-8")
    verified = subprocess.run([sys.executable, "-m", "pipelines.cli", "audit", "verify", str(log)],
                              capture_output=True, text=True)
    assert verified.returncode == 0 and "1 entries" in verified.stdout
    unexplained = subprocess.run([sys.executable, "-m", "pipelines.cli", "query", "--tables", str(out),
                                  "--reason", " ", "--audit-log", str(log), "SELECT 1"],
                                 capture_output=True, text=True)
    assert unexplained.returncode == 2 and "a reason is required" in unexplained.stderr


def test_non_hit_plates_are_stored_as_keyed_tokens_and_hits_keep_theirs(first, first_output,
                                                                        plate_key):
    import pyarrow.parquet as pq

    from transforms.enrich.privacy import key_id, plate_token
    rows = first.execute("SELECT plate, watchlist_hit FROM passings WHERE plate IS NOT NULL").fetchall()
    assert all(plate.startswith("h:") != hit for plate, hit in rows)
    hit_plates = {p for (p,) in first.execute("SELECT read_plate FROM hits").fetchall()}
    stored_hits = {plate for plate, hit in rows if hit}
    assert stored_hits and stored_hits <= hit_plates
    for part in (first_output / "passings").glob("*.parquet"):
        metadata = pq.read_schema(part).metadata
        assert metadata[b"roadchief.plate_key_id"].decode() == key_id(bytes.fromhex(plate_key))
    (token,) = first.execute(
        "SELECT plate FROM passings WHERE NOT watchlist_hit AND plate IS NOT NULL LIMIT 1").fetchone()
    assert len(token) == len(plate_token("琼C12345", bytes.fromhex(plate_key)))


def test_without_a_key_the_run_refuses_to_start(events, tmp_path, monkeypatch):
    from transforms.enrich.privacy import KEY_ENV
    monkeypatch.delenv(KEY_ENV)
    with pytest.raises(OptionsError, match="no plate key"):
        run(["--events", str(events), "--output", str(tmp_path)], summary=False)
    assert run(["--events", str(events), "--output", str(tmp_path), "--plain_plates"],
               summary=False) == 0
    plates = connect(tmp_path).execute("SELECT plate FROM passings WHERE plate LIKE 'h:%'").fetchall()
    assert plates == []


def test_purge_deletes_passings_past_retention(events, tmp_path):
    out = tmp_path / "purge"
    replay(events, out)
    done = subprocess.run([sys.executable, "-m", "pipelines.cli", "purge", "--tables", str(out),
                           "--keep", "passings=0"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert connect(out).execute("SELECT count(*) FROM passings").fetchone()[0] == 0
    assert connect(out).execute("SELECT count(*) FROM hits").fetchone()[0] > 0
    assert "passings" in done.stdout and "deleted" in done.stdout


def test_a_portable_runner_keeps_following_a_long_job():
    from apache_beam.options.pipeline_options import PortableOptions

    from pipelines.job.run import pipeline_options
    # Beam ends the job's state stream after 300 s by default, and a live run with it.
    assert pipeline_options(["--runner", "PrismRunner"]).view_as(PortableOptions).job_server_timeout >= 86400
    assert pipeline_options(["--job_server_timeout", "60"]).view_as(PortableOptions).job_server_timeout == 60


def test_prism_never_splits_a_running_bundle():
    from apache_beam.options.pipeline_options import DebugOptions

    from pipelines.job.run import PRISM_NO_SPLITS, pipeline_options
    # A split bundle let a second bundle read a plate's dispatch state before the first committed it.
    assert pipeline_options(["--runner", "PrismRunner"]).view_as(DebugOptions).lookup_experiment(PRISM_NO_SPLITS)
    assert not pipeline_options(["--runner", "FnApiRunner"]).view_as(DebugOptions).lookup_experiment(PRISM_NO_SPLITS)
